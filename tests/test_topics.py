"""Topics with names: topics.toml, and every surface that shows a topic to a reader.

The loader reads real files; the pages, the form, the confirmation email and the
feeds are the ASGI app over a real SQLite store, the email read back from the
outbox, the feed parsed by feedparser; `check` is the command line.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlencode

import feedparser
import httpx
import pytest
from typer.testing import CliRunner

from pressdispatch import pipeline
from pressdispatch.cli import app as cli
from pressdispatch.content.topics import load_topics
from pressdispatch.model import Tier, TopicNames, Variant
from pressdispatch.runtime import Runtime
from pressdispatch.web.app import create_app
from pressdispatch.web.signup import OUTBOX_FOLDER

from .dispatching import ROOT, Clock, Newsroom, dedent, make_newsroom, runtime, sqlite_url, utc

LANGUAGES = ("en", "fr", "ru", "ar", "es", "zh")
PASSWORD = "correct horse battery staple"
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
    newsroom = make_newsroom(tmp_path, sqlite_url(tmp_path))
    newsroom.release("sahel", publish_at=utc(3600), topics=("food", "water"))
    newsroom.subscribers("desk", ["a@example.org,A,en,world,climate,no"])
    path = write_topics(tmp_path)

    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "config.toml"), "check"])
    lines = [line for line in result.output.splitlines() if line.startswith(str(path))]
    assert lines == [
        f"{path}: warning: climate: no name in en, fr, ru, ar, es, zh: the slug is shown there",
        f"{path}:9: warning: water: no name in fr, ru, ar, es: the en name 'Water' is shown there",
    ]
    assert result.exit_code == 0, result.output  # a warning: the slug is shown, nothing breaks
    strict = ["--config", str(tmp_path / "config.toml"), "check", "--strict"]
    assert CliRunner().invoke(cli, strict).exit_code == 1

    (tmp_path / "topics.toml").unlink()  # no file: slugs by choice, nothing to say
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "config.toml"), "check"])
    assert "topics.toml" not in result.output
    assert result.exit_code == 0, result.output


# -- what readers see -----------------------------------------------------------------


@dataclass
class Site:
    newsroom: Newsroom
    rt: Runtime
    client: httpx.AsyncClient

    def outbox(self) -> list[EmailMessage]:
        folder = self.newsroom.root / "var" / "outbox" / OUTBOX_FOLDER
        found = []
        for path in sorted(folder.glob("*.eml")):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(message, EmailMessage)
            found.append(message)
        return found


@pytest.fixture
async def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Site]:
    """The app over a newsroom with topics.toml, one public release on food and water,
    and one journalist who follows them."""
    monkeypatch.setenv("PRESSDISPATCH_ADMIN_TOKEN", PASSWORD)
    newsroom = make_newsroom(tmp_path, sqlite_url(tmp_path))
    write_topics(tmp_path)
    newsroom.subscribers("desk", ["ana@example.org,Ana,fr,world,water food,no"])
    newsroom.release(
        "sahel", publish_at=utc(-3600), languages=("en", "fr", "ar"), topics=("food", "water")
    )
    settings = newsroom.settings()
    clock = Clock(utc())
    async with runtime(settings) as rt:
        report = pipeline.TickReport()
        await pipeline.sync_files(rt, clock(), report)
        assert not report.problems, report.problems
        app = create_app(rt, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            base = settings.newsroom.base_url
            async with httpx.AsyncClient(transport=transport, base_url=base) as client:
                yield Site(newsroom, rt, client)


async def test_the_chinese_subscription_form_offers_topics_by_their_chinese_names(
    site: Site,
) -> None:
    html = (await site.client.get("/subscribe?lang=zh")).text
    offered = re.findall(r'name="topics" value="([^"]+)"[^>]*> ([^<]+)</label>', html)
    assert offered == [("water", "水资源"), ("food", "粮食安全")]  # in the order of the names


async def test_the_french_confirmation_email_names_the_chosen_topics_in_french(
    site: Site,
) -> None:
    fields = [("lang", "fr"), ("email", "claire@example.com"), ("languages", "fr")]
    fields += [("topics", "food")]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = await site.client.post("/subscribe", content=urlencode(fields), headers=form)
    assert response.status_code == 200
    (mail,) = site.outbox()
    for kind in ("plain", "html"):
        body = mail.get_body(preferencelist=(kind,))
        assert isinstance(body, EmailMessage)
        text = body.get_content()
        assert "Sécurité alimentaire" in text
        assert ">food<" not in text and ": food" not in text
    plain = mail.get_body(preferencelist=("plain",))
    assert isinstance(plain, EmailMessage)
    assert "Thèmes\u202f: Sécurité alimentaire" in plain.get_content()


async def test_an_atom_entry_labels_its_topics_and_an_rss_item_names_them(site: Site) -> None:
    atom = feedparser.parse((await site.client.get("/feeds/fr/all.atom")).content)
    (entry,) = atom.entries
    topics = [tag for tag in entry.tags if tag.scheme.endswith("/topics/")]
    assert [(tag.term, tag.label) for tag in topics] == [
        ("food", "Sécurité alimentaire"),
        ("water", "Water"),  # no French name: the default language's
    ]
    rss = feedparser.parse((await site.client.get("/feeds/fr/all.rss")).content)
    (item,) = rss.entries
    names = [tag.term for tag in item.tags if (tag.scheme or "").endswith("/topics/")]
    assert names == ["Sécurité alimentaire", "Water"]
    titled = feedparser.parse((await site.client.get("/feeds/fr/all.atom?topic=food")).content)
    assert titled.feed.title.endswith("· Français · Sécurité alimentaire")


async def test_a_page_in_arabic_names_the_topics_in_arabic(site: Site) -> None:
    page = (await site.client.get("/releases/sahel/ar")).text
    assert "الأمن الغذائي" in page
    assert "الأمن الغذائي" in (await site.client.get("/?lang=ar")).text  # the topic filter
    listing = (await site.client.get("/?lang=fr&topic=food")).text
    assert '<option value="food" selected>Sécurité alimentaire</option>' in listing


async def test_the_console_shows_a_journalists_topics_by_name_and_slug(site: Site) -> None:
    login = await site.client.post("/admin/login", data={"password": PASSWORD})
    assert login.status_code == 303, login.text
    page = (await site.client.get("/admin/subscribers/ana@example.org")).text
    assert "<dt>Topics</dt><dd>Food security (food), Water (water)</dd>" in page


async def test_a_press_offices_email_template_gets_the_topics_by_name(site: Site) -> None:
    release = await site.rt.catalog.snapshot("sahel")
    context = site.rt.renderer.context(release, Variant("ar", Tier.PUBLIC))
    assert context["topics"] == ["الأمن الغذائي", "Water"]  # release order; no Arabic "Water"
    assert context["release"].topics == ("food", "water")  # the slugs, as the files say
