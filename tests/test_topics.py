"""Topics with names: topics.toml, and every surface that shows a topic to a reader.

The loader reads real files; the pages, the form, the confirmation email and the
feeds are the ASGI app over a real SQLite store, the email read back from the
outbox, the feed parsed by feedparser; `check` is the command line.
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pressdispatch.cli import app as cli
from pressdispatch.content.topics import load_topics
from pressdispatch.model import TopicNames

from .dispatching import ROOT, dedent, make_newsroom, utc

LANGUAGES = ("en", "fr", "ru", "ar", "es", "zh")
NAMES = dedent(
    """
    [food]
    en = "Food security"
    fr = "Sécurité alimentaire"
    ru = "Продовольственная безопасность"
    ar = "الأمن الغذائي"
    es = "Seguridad alimentaria"
    zh = "粮食安全"

    [water]
    en = "Water"
    zh = "水资源"
    """
)


def write_topics(root: Path, text: str = NAMES) -> Path:
    path = root / "topics.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- the file -------------------------------------------------------------------------


def test_a_good_file_names_each_topic_and_falls_back_to_the_default_then_the_slug(
    tmp_path: Path,
) -> None:
    names, problems = load_topics(
        write_topics(tmp_path), languages=LANGUAGES, default_language="en"
    )
    assert problems == []
    assert names.name("food", "fr") == "Sécurité alimentaire"
    assert names.name("water", "zh") == "水资源"
    assert names.name("water", "fr") == "Water"  # no French name: the default language's
    assert names.name("climate", "fr") == "climate"  # not in the file: the slug
    assert names.named(["water", "food"], "en") == [("food", "Food security"), ("water", "Water")]


def test_a_missing_file_means_no_names_and_no_problem(tmp_path: Path) -> None:
    names, problems = load_topics(
        tmp_path / "topics.toml", languages=LANGUAGES, default_language="en"
    )
    assert problems == []
    assert names.name("food", "fr") == "food"


def test_malformed_entries_are_problems_with_line_and_field_and_the_rest_loads(
    tmp_path: Path,
) -> None:
    path = write_topics(
        tmp_path,
        dedent(
            """
            lonely = "Lonely"

            [Food]
            en = "Food"

            [water]
            en = "Water"
            fr = 3
            de = "Wasser"
            xx = "?"
            es = ""
            zh = "水\\u0000"
            ru = "Водные ресурсы"
            """
        ),
    )
    names, problems = load_topics(path, languages=LANGUAGES, default_language="en")
    found = [(p.path, p.line, p.field) for p in problems]
    assert found == [
        (path, 1, "lonely"),
        (path, 3, "Food"),
        (path, 8, "water.fr"),
        (path, 9, "water.de"),
        (path, 10, "water.xx"),
        (path, 11, "water.es"),
        (path, 12, "water.zh"),
    ]
    messages = [p.message for p in problems]
    assert "expected a table of names" in messages[0]
    assert "not a topic" in messages[1]
    assert "quoted string" in messages[2]
    assert "not one of the newsroom's languages" in messages[3]
    assert "unknown language 'xx'" in messages[4]
    assert messages[5] == "the name is empty"
    assert "NUL" in messages[6]
    assert names.name("water", "ru") == "Водные ресурсы"  # the good names still load
    assert names.name("water", "zh") == "Water"


def test_a_file_that_is_not_toml_is_one_problem_at_its_line(tmp_path: Path) -> None:
    path = write_topics(tmp_path, '[food]\nen = "Food\n')
    names, problems = load_topics(path, languages=LANGUAGES, default_language="en")
    assert [(p.line, p.field) for p in problems] == [(2, "food.en")]
    assert names == TopicNames(default_language="en")


def test_the_sample_newsroom_names_every_topic_it_uses_in_every_language() -> None:
    result = CliRunner().invoke(cli, ["--config", str(ROOT / "config.toml"), "check"])
    assert "topics.toml" not in result.output
    names, problems = load_topics(ROOT / "topics.toml", languages=LANGUAGES, default_language="en")
    assert problems == []
    for slug in ("climate", "food", "funding", "health", "water"):
        assert all(lang in names.names[slug] for lang in LANGUAGES), slug


# -- check ----------------------------------------------------------------------------


def test_check_warns_on_a_topic_without_a_name_in_a_newsroom_language(tmp_path: Path) -> None:
    newsroom = make_newsroom(tmp_path, f"sqlite:///{tmp_path / 'var' / 'pressdispatch.db'}")
    newsroom.release("sahel", publish_at=utc(3600), topics=("food", "water"))
    newsroom.subscribers("desk", ["a@example.org,A,en,world,climate,no"])
    path = write_topics(tmp_path)

    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "config.toml"), "check"])
    lines = [line for line in result.output.splitlines() if line.startswith(str(path))]
    assert lines == [
        f"{path}: climate: no name in en, fr, ru, ar, es, zh: the slug is shown there",
        f"{path}:9: water: no name in fr, ru, ar, es: the en name 'Water' is shown there",
    ]
    assert result.exit_code == 1  # a Problem for now; a warning once check tells them apart

    (tmp_path / "topics.toml").unlink()  # no file: slugs by choice, nothing to say
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "config.toml"), "check"])
    assert "topics.toml" not in result.output
    assert result.exit_code == 0, result.output
