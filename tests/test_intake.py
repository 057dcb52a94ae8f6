# ruff: noqa: RUF001 - the en dash of a dateline is meant
"""`pressdispatch import`: a press office's pages, served by the test's own website, become
release folders that `check` passes, field by field."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pressdispatch.cli import app

from .dispatching import Newsroom, cli
from .website import Site, cms_page, website

pytestmark = pytest.mark.databases("sqlite")

FR = [
    "L'agence a livré aujourd'hui de l'eau potable à 40 000 personnes en Haïti, où les "
    "pluies ont détruit les réseaux de distribution dans le sud du pays.",
    "Les équipes travaillent avec les autorités locales pour réparer les puits et former "
    "des techniciens avant la saison sèche.",
    "Une deuxième phase doit commencer en janvier au Niger, avec le soutien des donateurs.",
]
EN = [
    "The agency delivered safe drinking water today to 40,000 people in Haiti, where the "
    "rains destroyed the distribution networks in the south of the country.",
    "Teams are working with local authorities to repair wells and train technicians "
    "before the dry season.",
    "A second phase is to start in January in Niger, with the support of donors.",
]
CONTACT_FR = (
    "<p>Pour plus d'informations, veuillez contacter :</p>"
    "<p>Marie Dupont, Service de presse, Genève<br>Tél. : +41 22 917 12 34<br>"
    # obfuscated as CMSs do: entities in the link, "[at]" in its text
    'Courriel : <a href="mailto:marie&#46;dupont&#64;example&#46;org">'
    "marie.dupont [at] example.org</a></p>"
)
CONTACT_EN = (
    "<p>For more information, please contact:</p>"
    "<p>Marie Dupont, Press Office, Geneva<br>Tel: +41 22 917 12 34<br>"
    'Email: <a href="mailto:marie.dupont@example.org">marie.dupont@example.org</a></p>'
)


def publish(site: Site) -> str:
    """The French release and its English version, linked both ways by hreflang."""
    fr, en = site.url("/fr/news/haiti-water"), site.url("/en/news/haiti-water")
    alternates = {"fr": fr, "en": en, "x-default": en}
    site.page(
        "/fr/news/haiti-water",
        cms_page(
            lang="fr-FR",
            title="De l'eau potable pour 40 000 personnes en Haïti",
            paragraphs=FR,
            dateline="GENÈVE",
            alternates=alternates,
            contact_html=CONTACT_FR,
        ),
    )
    site.page(
        "/en/news/haiti-water",
        cms_page(
            lang="en",
            title="Safe water for 40,000 people in Haiti",
            paragraphs=EN,
            dateline="GENEVA",
            alternates=alternates,
            contact_html=CONTACT_EN,
        ),
    )
    return fr


def folder_of(output: str) -> Path:
    return Path(output.splitlines()[0].strip())


def read_toml(folder: Path) -> dict[str, object]:
    return tomllib.loads((folder / "release.toml").read_text(encoding="utf-8"))


def test_a_page_and_its_translation_become_one_draft_that_check_passes(
    newsroom: Newsroom,
) -> None:
    with website() as site:
        url = publish(site)
        output = cli(newsroom, "import", url).output
    folder = folder_of(output)
    assert folder.parent == newsroom.root / "releases"
    assert folder.name == "2026-11-20-de-l-eau-potable-pour-40-000-personnes-en-haiti"
    meta = read_toml(folder)
    assert meta["status"] == "draft"
    assert meta["original_language"] == "fr"
    assert meta["regions"] == ["HT", "NE"]
    toml_text = (folder / "release.toml").read_text(encoding="utf-8")
    assert "Haïti" in toml_text and "Niger" in toml_text  # the evidence, as comments
    assert meta["contacts"] == [
        {
            "name": "Marie Dupont",
            "role": "Service de presse, Genève",
            "phone": "+41 22 917 12 34",
            "email": "marie.dupont@example.org",
        }
    ]
    source = meta["source"]
    assert isinstance(source, dict)
    assert source["url"] == url and len(source["sha256"]) == 64
    assert sorted(p.name for p in folder.glob("*.md")) == ["en.md", "fr.md"]
    fr = (folder / "fr.md").read_text(encoding="utf-8")
    assert 'title = "De l\'eau potable pour 40 000 personnes en Haïti"' in fr
    assert 'dateline = "GENÈVE"' in fr
    for chrome in ("cookies", "Search", "Related", "Copyright", "Careers", "Pour plus d'inf"):
        assert chrome not in fr, chrome
    body = fr.split("+++\n", 2)[2]
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    assert paragraphs[0].startswith("L'agence a livré") and len(paragraphs) == 3
    en = (folder / "en.md").read_text(encoding="utf-8")
    assert "Safe water for 40,000 people in Haiti" in en and "For more information" not in en
    cli(newsroom, "check")


def test_importing_the_same_page_again_reports_its_folder(newsroom: Newsroom) -> None:
    with website() as site:
        url = publish(site)
        first = folder_of(cli(newsroom, "import", url).output)
        again = cli(newsroom, "import", url).output
    assert folder_of(again) == first
    assert "imported before" in again
    assert len(list((newsroom.root / "releases").iterdir())) == 1


def test_update_rewrites_a_draft_with_what_the_page_says_now(newsroom: Newsroom) -> None:
    with website() as site:
        url = publish(site)
        first = folder_of(cli(newsroom, "import", url, "--no-translations").output)
        site.page(
            "/fr/news/haiti-water",
            cms_page(lang="fr", title="De l'eau pour 50 000 personnes en Haïti", paragraphs=FR),
        )
        again = folder_of(cli(newsroom, "import", url, "--update", "--no-translations").output)
    assert again == first
    assert "50 000" in (first / "fr.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("path", "resource", "said"),
    [
        ("/missing", None, "404"),
        ("/feed.json", ("application/json", b"{}"), "not a web page"),
        ("/huge", ("text/html", b"<p>" + b"x" * (6 * 1024 * 1024)), "too big"),
        ("/away", ("redirect", b"https://elsewhere.example/page"), "another site"),
    ],
)
def test_a_source_that_fails_writes_nothing_and_says_why(
    newsroom: Newsroom, path: str, resource: tuple[str, bytes] | None, said: str
) -> None:
    with website() as site:
        if resource is not None:
            kind, body = resource
            if kind == "redirect":
                site.page(path, "", status=302, location=body.decode())
            else:
                site.page(path, body.decode(), content_type=kind)
        result = cli(newsroom, "import", site.url(path), code=1)
    assert said in result.output
    assert not [p for p in (newsroom.root / "releases").iterdir() if not p.name.startswith(".")]


def test_a_name_that_does_not_resolve_is_reported(newsroom: Newsroom) -> None:
    result = cli(newsroom, "import", "http://press.nonexistent.invalid/fr/news", code=1)
    assert "does not resolve" in result.output


def test_text_copied_from_a_page_becomes_a_release(newsroom: Newsroom, tmp_path: Path) -> None:
    text = tmp_path / "page.txt"
    text.write_text(
        "Accueil\nActualités\nQui sommes nous\nQui sommes nousL'Organisation et ses missions\n"
        "Contact\n\n"
        "Des puits réparés au Niger avant la saison sèche\n"
        "20 novembre 2026\n\n"
        "NIAMEY – L'agence a réparé cette semaine 120 puits dans la région de Tillabéri, au\n"
        "Niger, où la sécheresse menace l'accès à l'eau de 300 000 personnes. Les équipes\n"
        "ont formé 40 techniciens locaux.\n\n"
        "La deuxième phase commencera en janvier avec le soutien des donateurs de\n"
        "l'agence.\n\n"
        "Pour plus d'informations, veuillez contacter :\n"
        "Jean Martin, Service de presse\nTél. : +227 20 72 34 56\n"
        'Courriel : "mailto:jean.martin@example.org">jean.martin@example.org\n',
        encoding="utf-8",
    )
    folder = folder_of(cli(newsroom, "import", str(text), "--lang", "fr").output)
    meta = read_toml(folder)
    assert meta["regions"] == ["NE"]
    assert meta["contacts"][0]["email"] == "jean.martin@example.org"  # type: ignore[index]
    md = (folder / "fr.md").read_text(encoding="utf-8")
    assert 'title = "Des puits réparés au Niger avant la saison sèche"' in md
    assert "Qui sommes nous" not in md and "Accueil" not in md
    body = md.split("+++\n", 2)[2]
    first = body.split("\n\n")[0]
    assert first.startswith("L'agence a réparé") and "\n" not in first.strip()
    cli(newsroom, "check")


def test_a_page_on_standard_input(newsroom: Newsroom) -> None:
    html = cms_page(lang="en", title="Safe water for 40,000 people in Haiti", paragraphs=EN)
    args = ["--config", str(newsroom.root / "config.toml"), "import", "-", "--status", "ready"]
    result = CliRunner().invoke(app, args, input=html)
    assert result.exit_code == 0, result.output
    meta = read_toml(folder_of(result.output))
    assert meta["status"] == "ready" and meta["original_language"] == "en"


RU = [
    "Агентство доставило сегодня питьевую воду 12 000 семьям в Беларуси, где наводнения "
    "повредили водопроводные сети на юге страны.",
    "Бригады работают вместе с местными властями, чтобы отремонтировать колодцы до зимы.",
]


def test_a_russian_page_gets_a_readable_id_and_its_country(newsroom: Newsroom) -> None:
    with website() as site:
        url = site.page(
            "/ru/news/water",
            cms_page(lang="ru", title="Питьевая вода для 12 000 семей в Беларуси", paragraphs=RU),
        )
        folder = folder_of(cli(newsroom, "import", url).output)
    assert folder.name == "2026-11-20-pitevaya-voda-dlya-12-000-semei-v-belarusi"
    meta = read_toml(folder)
    assert meta["regions"] == ["BY"] and meta["original_language"] == "ru"
    assert '"Беларуси"' in (folder / "release.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("html", "said"),
    [
        (
            cms_page(
                lang="de",
                title="Trinkwasser für 40 000 Menschen in Haiti",
                paragraphs=[
                    "Die Agentur hat heute Trinkwasser an 40 000 Menschen in Haiti "
                    "geliefert, wo der Regen die Leitungen zerstört hat."
                ],
            ),
            "does not offer",
        ),
        ("<!doctype html><html lang='en'><body><nav>Home</nav></body></html>", "no article"),
    ],
)
def test_a_page_that_cannot_be_a_release_writes_nothing(
    newsroom: Newsroom, html: str, said: str
) -> None:
    with website() as site:
        url = site.page("/page", html)
        result = cli(newsroom, "import", url, code=1)
    assert said in result.output
    assert not [p for p in (newsroom.root / "releases").iterdir() if not p.name.startswith(".")]


def test_a_page_whose_text_is_not_in_its_declared_language_is_reported(
    newsroom: Newsroom,
) -> None:
    with website() as site:
        url = site.page(
            "/en/news/water",
            cms_page(lang="en", title="De l'eau potable pour 40 000 personnes", paragraphs=FR),
        )
        output = cli(newsroom, "import", url).output
    assert "check: language: the page says 'en'" in output and "'fr'" in output


def test_a_title_without_latin_letters_still_gives_a_readable_unique_id(
    newsroom: Newsroom,
) -> None:
    zh = ["联合国机构今天向海地的四万人提供了安全饮用水，那里的降雨摧毁了该国南部的供水网络。"]
    with website() as site:
        named = site.page(
            "/zh/news/haiti-water.html",
            cms_page(lang="zh", title="为海地四万人提供安全饮用水", paragraphs=zh),
        )
        numbered = site.page(
            "/zh/news/1", cms_page(lang="zh", title="海地的安全饮用水", paragraphs=zh)
        )
        output = cli(newsroom, "import", named, numbered).output
    first, second = (Path(line) for line in output.splitlines() if line.startswith("/"))
    assert first.name == "2026-11-20-haiti-water"
    assert re.fullmatch(r"2026-11-20-zh-[0-9a-f]{8}", second.name)
