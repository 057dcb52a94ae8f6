"""`pressdispatch check` on a newsroom broken on purpose (tests/fixtures/broken/EXPECTED.md)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pressdispatch.cli import app
from pressdispatch.config import load_settings
from pressdispatch.content.newsroom import Newsroom, load_newsroom
from pressdispatch.regions import load_regions

from .conftest import FIXTURES, ROOT, md, write_release

EXPECTED = {
    ("releases/Bad_Id", None, "id"),
    ("releases/bad-offset/release.toml", 3, "publish_at"),
    ("releases/crlf-title/en.md", 3, "title"),
    ("releases/embargo-after-publish/release.toml", 4, "embargo_send_at"),
    ("releases/missing-title/fr.md", 1, "title"),
    ("releases/no-offset/release.toml", 2, "publish_at"),
    ("releases/original-missing/release.toml", 3, "original_language"),
    ("releases/script-body/en.md", 9, "body"),
    ("releases/script-body/en.md", 11, "body"),
    ("releases/script-body/en.md", 13, "body"),
    ("releases/unknown-language/xx.md", None, "language"),
    ("releases/unknown-region/release.toml", 4, "regions"),
    ("subscribers/errors.csv", 3, "email"),
    ("subscribers/errors.csv", 4, "regions"),
    ("subscribers/errors.csv", 5, "languages"),
    ("subscribers/errors.csv", 6, "embargo"),
    ("subscribers/errors.csv", 7, "email"),
    ("subscribers/errors.csv", 8, "email"),
}


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A copy of the broken newsroom, so the test never writes into the repository."""
    root = tmp_path / "broken"
    shutil.copytree(FIXTURES / "broken", root)
    config = root / "config.toml"
    text = config.read_text(encoding="utf-8").replace("../../../templates", str(ROOT / "templates"))
    config.write_text(
        text.replace("../../../var/broken-fixtures", str(tmp_path / "var")), encoding="utf-8"
    )
    return root


def load(root: Path) -> Newsroom:
    return load_newsroom(load_settings(root / "config.toml"), load_regions())


def test_every_defect_is_reported_with_path_line_and_field(broken: Path) -> None:
    newsroom = load(broken)
    found = {(p.path.relative_to(broken).as_posix(), p.line, p.field) for p in newsroom.problems}
    assert found == EXPECTED


def test_valid_parts_still_load(broken: Path) -> None:
    newsroom = load(broken)
    assert sorted(newsroom.releases) == ["script-body", "valid-release"]
    assert newsroom.releases["valid-release"].languages == ("en", "fr")
    people = {s.email: s for s in newsroom.subscribers}
    assert sorted(people) == [
        "amina.kone@example.com",
        "helene.girard@example.com",
        "marta.kowalska@example.net",
        "pavel.novikov@example.net",
        "tariq.hassan@example.com",
    ]
    assert people["pavel.novikov@example.net"].name == "Павел Новиков"  # BOM + ';' file read right
    assert people["helene.girard@example.com"].languages == ("fr", "en")


def test_a_journalist_listed_twice_is_merged(broken: Path) -> None:
    marta = next(s for s in load(broken).subscribers if s.key == "marta.kowalska@example.net")
    assert marta.name == "Marta Kowalska"
    assert marta.languages == ("pl", "en", "de")
    assert marta.regions == {"europe", "pl"}
    assert marta.topics == frozenset()  # an empty cell means every topic, and wins
    assert marta.embargo is True  # granted by the second row


def test_unsafe_html_is_removed_and_the_text_survives(broken: Path) -> None:
    html = load(broken).releases["script-body"].translations["en"].body_html
    lowered = html.lower()
    for gone in ("<script", "alert(1)", "onerror", "alert(2)", "<iframe"):
        assert gone not in lowered
    for kept in (
        "This paragraph comes before the script and must survive.",
        "and the sentence goes on after it.",
        "Still here",
        "This paragraph comes after the frame and must survive too.",
    ):
        assert kept in html


def test_check_prints_problems_and_exits_1(broken: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(broken)
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "2 releases (2 ready), 5 journalists on 2 lists; 14 errors, 4 warnings"
    assert "releases/crlf-title/en.md:3: error: title: line breaks are not allowed" in result.stdout
    assert (
        "releases/unknown-language/xx.md: error: language: unknown language 'xx'" in result.stdout
    )
    assert all(re.match(r"^[\w/.-]+(:\d+)?: (error|warning): \w+: ", line) for line in lines[:-1])
    warnings = sorted(line.split(": warning: ")[0] for line in lines if ": warning: " in line)
    assert warnings == [  # what was used all the same: HTML removed, a row merged
        "releases/script-body/en.md:11",
        "releases/script-body/en.md:13",
        "releases/script-body/en.md:9",
        "subscribers/errors.csv:8",
    ]


META = 'publish_at = 2030-12-01T10:00:00+01:00\noriginal_language = "en"\nregions = ["world"]\n'
SCRIPT_BODY = "Before the script.\n\n<script>alert(1)</script>\n\nAfter it.\n"


def check(root: Path, *args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["--config", str(root / "config.toml"), "check", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, [line.replace(f"{root}/", "") for line in result.stdout.splitlines()]


def test_a_release_used_with_html_removed_is_a_warning_and_passes(newsroom_dir: Path) -> None:
    write_release(newsroom_dir, "launch", META, {"en": md("Launch", SCRIPT_BODY)})
    code, lines = check(newsroom_dir)
    assert lines == [
        "releases/launch/en.md:6: warning: body: <script> removed",
        "1 releases (1 ready), 0 journalists on 0 lists; 0 errors, 1 warning",
    ]
    assert code == 0


def test_strict_fails_on_a_warning(newsroom_dir: Path) -> None:
    write_release(newsroom_dir, "launch", META, {"en": md("Launch", SCRIPT_BODY)})
    code, lines = check(newsroom_dir, "--strict")
    assert lines[0] == "releases/launch/en.md:6: warning: body: <script> removed"
    assert code == 1


def test_a_release_that_cannot_be_used_is_an_error_and_fails(newsroom_dir: Path) -> None:
    write_release(newsroom_dir, "launch", META, {"en": md("Launch", SCRIPT_BODY)})
    write_release(newsroom_dir, "broken", META.replace('"world"', '"atlantis"'), {"en": md("B")})
    code, lines = check(newsroom_dir)
    assert lines[0].startswith("releases/broken/release.toml:3: error: regions: unknown region")
    assert lines[1:] == [
        "releases/launch/en.md:6: warning: body: <script> removed",
        "1 releases (1 ready), 0 journalists on 0 lists; 1 error, 1 warning",
    ]
    assert code == 1


def test_a_list_column_nobody_knows_is_a_warning(newsroom_dir: Path) -> None:
    (newsroom_dir / "subscribers" / "press.csv").write_text(
        "email,name,notes\nana@example.org,Ana,met at COP\n", encoding="utf-8"
    )
    code, lines = check(newsroom_dir)
    assert lines[0].startswith("subscribers/press.csv:1: warning: notes: unknown column, ignored")
    assert lines[1] == "0 releases (none), 1 journalists on 1 lists; 0 errors, 1 warning"
    assert code == 0


def test_unsafe_html_is_not_in_the_text_part_either(broken: Path) -> None:
    runner = CliRunner()
    config = str(broken / "config.toml")
    result = runner.invoke(app, ["--config", config, "preview", "script-body", "--format", "text"])
    assert result.exit_code == 0, result.output
    assert "<script" not in result.stdout
    assert "onerror" not in result.stdout
    assert "<iframe" not in result.stdout
    assert "This paragraph comes after the frame and must survive too." in result.stdout
