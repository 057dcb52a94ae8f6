"""Release folders as a press officer writes them: what loads, and what `check` points at."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pressdispatch.content.releases import load_release, load_releases
from pressdispatch.errors import Problem
from pressdispatch.model import Contact, Release, ReleaseStatus
from pressdispatch.regions import load_regions

from .conftest import WriteRelease, md

REGIONS = load_regions()
LANGUAGES = ("en", "fr", "ru", "ar", "es", "zh")
META = "publish_at = 2026-12-02T10:00:00+03:00\n"


def load(folder: Path) -> tuple[Release | None, list[Problem]]:
    return load_release(folder, regions=REGIONS, languages=LANGUAGES, default_language="en")


def load_all(root: Path) -> tuple[list[Release], list[Problem]]:
    return load_releases(root, regions=REGIONS, languages=LANGUAGES, default_language="en")


def where(problems: list[Problem]) -> list[tuple[str, int | None, str]]:
    return [(p.path.name, p.line, p.field) for p in problems]


def loads(folder: Path) -> Release:
    release, problems = load(folder)
    assert problems == []
    assert release is not None
    return release


# -- release.toml ---------------------------------------------------------------------


def test_valid_release_loads_with_every_field(release_writer: WriteRelease) -> None:
    folder = release_writer(
        "minsk-vaccination",
        """\
        publish_at = 2026-12-02T10:00:00+03:00
        embargo_send_at = 2026-12-01T09:00:00+03:00
        status = "draft"
        original_language = "ru"
        regions = ["BY"]
        topics = ["health", "vaccination"]

        [[contacts]]
        name = "Iryna Zhuk"
        role = "Press Officer, Minsk"
        phone = "+375 17 000 0000"
        email = "i.zhuk@example.org"

        [[contacts]]
        name = "Martin Keller"
        """,
        {
            "ru": md("Кампания", "Текст.", dateline="Минск"),
            "en": md("Campaign", "Text.", summary="A summary."),
        },
    )
    release = loads(folder)
    assert release.id == "minsk-vaccination"
    assert release.status is ReleaseStatus.DRAFT
    assert release.original_language == "ru"
    assert release.regions == ("by",)
    assert release.topics == ("health", "vaccination")
    assert release.contacts == (
        Contact("Iryna Zhuk", "Press Officer, Minsk", "+375 17 000 0000", "i.zhuk@example.org"),
        Contact("Martin Keller"),
    )
    assert release.translations["ru"].dateline == "Минск"
    assert release.translations["en"].summary == "A summary."
    assert release.source == folder


def test_defaults_when_optional_keys_are_left_out(release_writer: WriteRelease) -> None:
    release = loads(release_writer("plain", META, {"en": md("Title")}))
    assert release.status is ReleaseStatus.READY
    assert release.regions == ("world",)
    assert release.topics == ()
    assert release.contacts == ()
    assert release.embargo_send_at is None


def test_missing_release_toml(newsroom_dir: Path) -> None:
    folder = newsroom_dir / "releases" / "no-meta"
    folder.mkdir()
    (folder / "en.md").write_text(md("Title"), encoding="utf-8")
    release, problems = load(folder)
    assert release is None
    assert where(problems) == [("release.toml", None, "(file)")]
    assert "missing" in problems[0].message


@pytest.mark.parametrize(
    ("meta", "line", "field"),
    [
        ("publish_at = 2026-12-02T10:00:00+03:00\n\nthis is not toml\n", 3, "(file)"),
        ('publish_at = 2026-12-02T10:00:00+03:00\nregions = ["BY"\ntopics = []\n', 3, "(file)"),
        ('# comment\npublish_at = 2026-12-02T10:00:00+03:00\nstatus = "ready\n', 3, "status"),
        (
            "publish_at = 2026-12-02T10:00:00+03:00\npublish_at = 2026-12-03T10:00:00Z\n",
            2,
            "publish_at",
        ),
    ],
)
def test_release_toml_that_is_not_toml(
    release_writer: WriteRelease, meta: str, line: int, field: str
) -> None:
    release, problems = load(release_writer("bad-toml", meta, {"en": md("Title")}))
    assert release is None
    assert where(problems) == [("release.toml", line, field)]
    assert "TOML" in problems[0].message


@pytest.mark.parametrize(
    ("meta", "field", "line"),
    [
        ('publish_at = 2026-12-02T10:00:00+03:00\n\nregion = ["BY"]\n', "region", 3),
        ("publish-at = 2026-12-02T10:00:00+03:00\n", "publish-at", 1),
        ('publish_at = 2026-12-02T10:00:00+03:00\ntitle = "Belongs in en.md"\n', "title", 2),
    ],
)
def test_unknown_key_in_release_toml(
    release_writer: WriteRelease, meta: str, field: str, line: int
) -> None:
    release, problems = load(release_writer("typo", meta, {"en": md("Title")}))
    assert release is None
    assert ("release.toml", line, field) in where(problems)
    assert next(p for p in problems if p.field == field).message == "unknown key"


def test_status_outside_the_enum(release_writer: WriteRelease) -> None:
    meta = 'publish_at = 2026-12-02T10:00:00+03:00\nstatus = "published"\n'
    release, problems = load(release_writer("bad-status", meta, {"en": md("Title")}))
    assert release is None
    assert where(problems) == [("release.toml", 2, "status")]
    assert "published" in problems[0].message


@pytest.mark.parametrize("status", ["Ready", "DRAFT"])
def test_status_must_be_lowercase(release_writer: WriteRelease, status: str) -> None:
    meta = f'publish_at = 2026-12-02T10:00:00+03:00\nstatus = "{status}"\n'
    release, problems = load(release_writer("upper-status", meta, {"en": md("Title")}))
    assert release is None
    assert where(problems) == [("release.toml", 2, "status")]


@pytest.mark.parametrize("topic", ["Health", "food security", "food_security", "-health", "été"])
def test_topics_must_be_slugs(release_writer: WriteRelease, topic: str) -> None:
    meta = f'publish_at = 2026-12-02T10:00:00+03:00\n\ntopics = ["water", "{topic}"]\n'
    release, problems = load(release_writer("bad-topic", meta, {"en": md("Title")}))
    assert release is None
    assert where(problems) == [("release.toml", 3, "topics")]
    assert topic in problems[0].message


def test_empty_regions_list(release_writer: WriteRelease) -> None:
    meta = "publish_at = 2026-12-02T10:00:00+03:00\nregions = []\n"
    release, problems = load(release_writer("nowhere", meta, {"en": md("Title")}))
    assert release is None
    assert where(problems) == [("release.toml", 2, "regions")]


def test_unknown_region(release_writer: WriteRelease) -> None:
    meta = 'publish_at = 2026-12-02T10:00:00+03:00\n\n\nregions = ["BY", "atlantis"]\n'
    release, problems = load(release_writer("atlantis", meta, {"en": md("Title")}))
    assert release is None
    assert where(problems) == [("release.toml", 4, "regions")]
    assert "atlantis" in problems[0].message


def test_bad_email_in_the_second_contact(release_writer: WriteRelease) -> None:
    meta = """\
    publish_at = 2026-12-02T10:00:00+03:00

    [[contacts]]
    name = "Iryna Zhuk"
    email = "i.zhuk@example.org"

    [[contacts]]
    name = "Martin Keller"
    role = "Head of Media Relations"
    email = "m.keller.example.org"
    phone = "+41 22 000 0000"
    """
    release, problems = load(release_writer("contacts", meta, {"en": md("Title")}))
    assert release is None
    assert where(problems) == [("release.toml", 10, "contacts.1.email")]
    assert "m.keller.example.org" in problems[0].message


def test_contact_without_name(release_writer: WriteRelease) -> None:
    meta = """\
    publish_at = 2026-12-02T10:00:00+03:00

    [[contacts]]
    name = "Iryna Zhuk"

    [[contacts]]
    role = "Press Officer"
    """
    release, problems = load(release_writer("nameless", meta, {"en": md("Title")}))
    assert release is None
    assert [p.field for p in problems] == ["contacts.1.name"]


# -- times ----------------------------------------------------------------------------


def test_times_are_stored_in_utc_as_the_same_instant(release_writer: WriteRelease) -> None:
    meta = """\
    publish_at = 2026-12-02T10:00:00+03:00
    embargo_send_at = 2026-12-01T09:00:00-05:00
    """
    release = loads(release_writer("times", meta, {"en": md("Title")}))
    assert release.publish_at == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    assert (release.publish_at.hour, release.publish_at.utcoffset()) == (7, timedelta(0))
    assert release.embargo_send_at == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert release.embargo_send_at is not None
    assert release.embargo_send_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        "2026-12-01T10:00:00",
        "2026-12-01",
        "10:00:00",
        "true",
        pytest.param('"2026-12-01T10:00:00+01:00"', id="quoted"),
        pytest.param('"2026-12-01T10:00:00Z"', id="quoted-z"),
        pytest.param("1764583200", id="integer"),
    ],
)
def test_publish_at_must_be_a_toml_offset_date_time(
    release_writer: WriteRelease, value: str
) -> None:
    meta = f'status = "ready"\npublish_at = {value}\n'
    release, problems = load(release_writer("no-offset", meta, {"en": md("Title")}))
    assert release is None
    assert where(problems) == [("release.toml", 2, "publish_at")]


def test_quoted_embargo_send_at_is_refused(release_writer: WriteRelease) -> None:
    meta = 'publish_at = 2026-12-02T10:00:00+03:00\nembargo_send_at = "2026-12-01T09:00:00+03:00"\n'
    release, problems = load(release_writer("quoted-embargo", meta, {"en": md("Title")}))
    assert release is None
    assert where(problems) == [("release.toml", 2, "embargo_send_at")]


def test_embargo_must_be_before_publication(release_writer: WriteRelease) -> None:
    meta = """\
    publish_at = 2026-12-02T10:00:00+03:00
    embargo_send_at = 2026-12-02T07:00:00Z
    """
    release, problems = load(release_writer("same-instant", meta, {"en": md("Title")}))
    assert release is None
    assert where(problems) == [("release.toml", 2, "embargo_send_at")]


# -- language files -------------------------------------------------------------------


def test_md_without_front_matter(release_writer: WriteRelease) -> None:
    release, problems = load(
        release_writer("no-front", META, {"en": md("Title"), "fr": "Juste du texte.\n"})
    )
    assert release is None
    assert where(problems) == [("fr.md", 1, "(file)")]
    assert "+++" in problems[0].message


def test_front_matter_not_closed(release_writer: WriteRelease) -> None:
    text = '+++\ntitle = "Title"\n\nBody without a closing line.\n'
    release, problems = load(release_writer("not-closed", META, {"en": text}))
    assert release is None
    assert where(problems) == [("en.md", 1, "(file)")]
    assert "not closed" in problems[0].message


def test_front_matter_with_an_unknown_key(release_writer: WriteRelease) -> None:
    text = '+++\ntitle = "Title"\nsummary = "S"\nauthor = "Me"\n+++\nBody.\n'
    release, problems = load(release_writer("author", META, {"en": text}))
    assert release is None
    assert where(problems) == [("en.md", 4, "author")]
    assert problems[0].message == "unknown key"


def test_front_matter_that_is_not_toml(release_writer: WriteRelease) -> None:
    text = '+++\ntitle = "Title"\nsummary: "S"\ndateline = "Geneva"\n+++\nBody.\n'
    release, problems = load(release_writer("colon", META, {"en": text}))
    assert release is None
    assert where(problems) == [("en.md", 3, "(file)")]


def test_missing_title_is_reported_at_line_1(release_writer: WriteRelease) -> None:
    text = '+++\nsummary = "S"\n+++\nBody.\n'
    release, problems = load(release_writer("untitled", META, {"en": md("T"), "fr": text}))
    assert release is None
    assert where(problems) == [("fr.md", 1, "title")]


@pytest.mark.parametrize("body", ["", "\n\n   \n"])
def test_empty_body(release_writer: WriteRelease, body: str) -> None:
    release, problems = load(release_writer("empty-body", META, {"en": md("Title", body)}))
    assert release is None
    # Pinned: reported at the closing +++ (line 3), below which the text belongs.
    assert where(problems) == [("en.md", 3, "body")]


def test_language_the_newsroom_does_not_offer(release_writer: WriteRelease) -> None:
    release, problems = load(release_writer("german", META, {"en": md("Title"), "de": md("Titel")}))
    assert release is None
    assert where(problems) == [("de.md", None, "language")]
    assert "'de'" in problems[0].message


@pytest.mark.parametrize("stem", ["fr-CA", "fr_CA", "eng", "xx", "notes", "README"])
def test_file_names_that_are_not_two_letter_codes_are_rejected(
    release_writer: WriteRelease, stem: str
) -> None:
    # docs/releases.md: "xx.md, eng.md, fr-CA.md or notes.md are errors".
    release, problems = load(release_writer("regional", META, {"en": md("T"), stem: md("T")}))
    assert release is None
    assert where(problems) == [(f"{stem}.md", None, "language")]
    assert stem in problems[0].message


def test_other_files_are_ignored(release_writer: WriteRelease) -> None:
    folder = release_writer("with-assets", META, {"en": md("Title")})
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (folder / "notes.txt").write_text("draft", encoding="utf-8")
    assert loads(folder).languages == ("en",)


def test_folder_without_language_files(release_writer: WriteRelease) -> None:
    release, problems = load(release_writer("no-text", META, {}))
    assert release is None
    assert where(problems) == [("no-text", None, "")]


# -- original language and order ------------------------------------------------------


def test_single_file_is_the_original(release_writer: WriteRelease) -> None:
    release = loads(release_writer("french-only", META, {"fr": md("Titre")}))
    assert release.original_language == "fr"
    assert release.languages == ("fr",)


def test_several_files_default_to_the_newsroom_language(release_writer: WriteRelease) -> None:
    release = loads(
        release_writer("three", META, {"fr": md("Titre"), "ar": md("عنوان"), "en": md("Title")})
    )
    assert release.original_language == "en"
    assert release.languages[0] == "en"
    assert set(release.languages) == {"en", "fr", "ar"}


def test_several_files_without_the_default_need_original_language(
    release_writer: WriteRelease,
) -> None:
    release, problems = load(
        release_writer("two", META, {"fr": md("Titre"), "ru": md("Заголовок")})
    )
    assert release is None
    assert [(p.path.name, p.field) for p in problems] == [("release.toml", "original_language")]


def test_original_language_file_must_exist(release_writer: WriteRelease) -> None:
    meta = META + 'original_language = "de"\n'
    release, problems = load(release_writer("original-missing", meta, {"en": md("Title")}))
    assert release is None
    assert where(problems) == [("release.toml", 2, "original_language")]


def test_original_language_comes_first(release_writer: WriteRelease) -> None:
    meta = META + 'original_language = "ru"\n'
    texts = {lang: md(f"Title {lang}") for lang in ("ar", "en", "fr", "ru", "zh")}
    release = loads(release_writer("ordered", meta, texts))
    assert release.original_language == "ru"
    assert next(iter(release.translations)) == "ru"
    assert sorted(release.translations) == ["ar", "en", "fr", "ru", "zh"]
    assert release.translations["ru"].title == "Title ru"


def test_regions_are_resolved_to_canonical_slugs(release_writer: WriteRelease) -> None:
    meta = META + 'regions = ["BY", "Eastern Europe", "western_africa", "TD", "151", "by"]\n'
    release = loads(release_writer("slugs", meta, {"en": md("Title")}))
    assert release.regions == ("by", "eastern-europe", "western-africa", "td")


# -- a folder of releases -------------------------------------------------------------


def test_folder_name_with_capitals_is_refused_while_siblings_load(
    release_writer: WriteRelease, newsroom_dir: Path
) -> None:
    release_writer("Minsk_Campaign", META, {"en": md("Bad id")})
    release_writer("Minsk-Campaign", META, {"en": md("Bad id too")})
    release_writer("minsk-campaign", META, {"en": md("Good id")})
    release_writer("lima-floods", META, {"en": md("Also good")})
    release_writer(".hidden", "not = [toml", {"xx": "junk"})
    releases, problems = load_all(newsroom_dir / "releases")
    assert sorted(r.id for r in releases) == ["lima-floods", "minsk-campaign"]
    assert sorted(where(problems)) == [
        ("Minsk-Campaign", None, "id"),
        ("Minsk_Campaign", None, "id"),
    ]


@pytest.mark.parametrize("bad", ["-leading", "trailing-", "two--hyphens", "campagne-été"])
def test_other_bad_ids(release_writer: WriteRelease, bad: str) -> None:
    release, problems = load(release_writer(bad, META, {"en": md("Title")}))
    assert release is None
    assert where(problems) == [(bad, None, "id")]


def test_releases_are_sorted_by_publication_time(
    release_writer: WriteRelease, newsroom_dir: Path
) -> None:
    release_writer("a-last", "publish_at = 2026-12-03T00:30:00+01:00\n", {"en": md("A")})
    release_writer("b-first", "publish_at = 2026-11-20T10:00:00+01:00\n", {"en": md("B")})
    # 2026-12-02T23:00Z: later wall-clock day in Tokyo, but before a-last in UTC.
    release_writer("c-middle", "publish_at = 2026-12-03T08:00:00+09:00\n", {"en": md("C")})
    release_writer("d-broken", "publish_at = 2026-01-01T00:00:00Z\n", {"en": "no front\n"})
    releases, problems = load_all(newsroom_dir / "releases")
    assert [r.id for r in releases] == ["b-first", "c-middle", "a-last"]
    assert where(problems) == [("en.md", 1, "(file)")]


# -- sanitiser ------------------------------------------------------------------------

UNSAFE_BODY = """\
Intro paragraph.

<a href="javascript:alert(1)">click me</a>

<p style="color: red">Styled paragraph.</p>

<object data="movie.swf"></object>

<embed src="movie.swf">

<img src="https://example.org/x.png" onerror="alert(2)">

<div onclick="steal()">Clickable text.</div>

<a href="https://example.org/report" onmouseover="x()">Report</a>

Closing paragraph."""


def test_sanitiser_removes_unsafe_html_and_reports_each_line(
    release_writer: WriteRelease,
) -> None:
    # md(): line 1 "+++", line 2 title, line 3 "+++", body from line 4.
    release, problems = load(release_writer("unsafe", META, {"en": md("Title", UNSAFE_BODY)}))
    assert release is not None  # removals are reported, but the release still loads
    reported = [(p.path.name, p.line, p.field) for p in problems]
    assert reported == [("en.md", n, "body") for n in (6, 8, 10, 12, 14, 16, 18)]
    keywords = ["javascript", "style", "object", "embed", "onerror", "onclick", "onmouseover"]
    for problem, keyword in zip(problems, keywords, strict=True):
        assert keyword in problem.message
    html = release.translations["en"].body_html
    for gone in ("javascript", "style=", "<object", "<embed", "onerror", "onclick", "alert"):
        assert gone not in html.lower()
    for kept in (
        "Intro paragraph.",
        "click me",
        "Styled paragraph.",
        "Clickable text.",
        '<img src="https://example.org/x.png"',
        'href="https://example.org/report"',
        "Closing paragraph.",
    ):
        assert kept in html
    assert 'rel="noopener noreferrer"' in html


def test_script_and_iframe_are_removed_with_their_lines(release_writer: WriteRelease) -> None:
    body = (
        "Before.\n\n<script>alert('x')</script>\n\n"
        '<iframe src="https://example.com/"></iframe>\n\nAfter.'
    )
    release, problems = load(release_writer("script", META, {"en": md("Title", body, summary="S")}))
    assert release is not None
    # With a summary the body starts on line 5.
    assert [(p.line, p.field) for p in problems] == [(7, "body"), (9, "body")]
    html = release.translations["en"].body_html
    assert "<script" not in html and "alert" not in html and "<iframe" not in html
    assert "Before." in html and "After." in html


def test_markdown_javascript_link_is_not_a_link(release_writer: WriteRelease) -> None:
    release = loads(
        release_writer("md-link", META, {"en": md("Title", "[click](javascript:alert(1))")})
    )
    assert 'href="javascript' not in release.translations["en"].body_html


def test_fenced_code_with_script_is_shown_escaped_and_not_reported(
    release_writer: WriteRelease,
) -> None:
    body = 'How to embed our widget:\n\n```html\n<script src="https://x.org/w.js"></script>\n```\n'
    release = loads(release_writer("code", META, {"en": md("Title", body)}))
    html = release.translations["en"].body_html
    assert "&lt;script" in html
    assert "<script" not in html
    assert "<pre><code" in html


def test_inline_code_with_html_is_not_reported(release_writer: WriteRelease) -> None:
    release = loads(
        release_writer("inline-code", META, {"en": md("T", "Never paste `<iframe>` tags.")})
    )
    assert "&lt;iframe&gt;" in release.translations["en"].body_html


def test_inline_html_on_a_later_line_of_a_paragraph_is_reported_at_its_line(
    release_writer: WriteRelease,
) -> None:
    body = 'A paragraph that starts here\ncontinues here\nand <img src="x.png" onerror="alert(2)">.'
    release, problems = load(release_writer("inline", META, {"en": md("Title", body)}))
    assert release is not None
    # Lines: 4 "A paragraph...", 5 "continues here", 6 the <img>.
    assert [(p.line, p.field) for p in problems] == [(6, "body")]


def test_removed_html_comment_is_reported(release_writer: WriteRelease) -> None:
    body = "Text.\n\n<!-- internal: check figures with Geneva -->\n\nMore text."
    release, problems = load(release_writer("comment", META, {"en": md("Title", body)}))
    assert release is not None
    assert "internal" not in release.translations["en"].body_html
    assert [(p.line, p.field) for p in problems] == [(6, "body")]


def test_two_files_for_the_same_language_are_reported(release_writer: WriteRelease) -> None:
    folder = release_writer("twice", META, {"en": md("Lower case")})
    (folder / "EN.md").write_text(md("Upper case"), encoding="utf-8")
    release, problems = load(folder)
    # Whichever of the two is read second is reported; neither is silently dropped.
    assert [(name.lower(), line, field) for name, line, field in where(problems)] == [
        ("en.md", None, "language")
    ]
    assert release is None


def test_the_cache_reuses_an_unchanged_folder_and_sees_every_edit(
    release_writer: WriteRelease,
) -> None:
    from pressdispatch.content.releases import ReleaseCache  # noqa: PLC0415

    folder = release_writer("cached", META, {"en": md("First")})
    cache = ReleaseCache()
    options = {"regions": load_regions(), "languages": ("en", "fr"), "default_language": "en"}
    first = cache.load(folder, **options)  # type: ignore[arg-type]
    assert cache.load(folder, **options) is first  # type: ignore[arg-type]
    (folder / "en.md").write_text(md("Secnd"), encoding="utf-8")  # same size, same second
    edited, _ = cache.load(folder, **options)  # type: ignore[arg-type]
    assert edited is not None
    assert edited.translations["en"].title == "Secnd"


def test_a_folder_that_cannot_be_listed_is_reported_as_such(
    release_writer: WriteRelease, monkeypatch: pytest.MonkeyPatch
) -> None:
    # chmod 000 does not stop root, who runs the tests in CI: refuse the listing instead.
    folder = release_writer("locked", META, {"en": md("Title")})
    listing = Path.iterdir

    def iterdir(path: Path) -> Iterator[Path]:
        if path == folder:
            raise PermissionError(13, "Permission denied")
        return listing(path)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    release, problems = load(folder)
    assert release is None
    assert [str(p).removeprefix(f"{folder.parent}/") for p in problems] == [
        "locked: (file): cannot read the folder: Permission denied"
    ]
