"""One press release read from a web page or from the text copied out of it.

The pages are built here, shaped like a newsroom CMS's: menus, a search form, a
breadcrumb, a "related news" box, a footer and a cookie banner around the article.
"""

# The pages are in the newsroom's languages: Cyrillic letters and dashes are meant.
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pressdispatch.intake.page import Page, detect_language, read_html, read_text

URL = "https://www.example.org/fr/news/refugees-freed"

META_LINE = (
    '<p class="meta">Publié le <time datetime="2026-03-05T10:30:00+01:00">5 mars 2026</time></p>'
)
SITE_NAME = '<meta property="og:site_name" content="Agence">'
ARTICLE_FR = f"""
<article>
  <h1>Le HCR salue la libération de réfugiés</h1>
  {META_LINE}
  <p>GENÈVE – L'agence des Nations Unies pour les réfugiés salue la libération de quarante
  réfugiés détenus depuis plusieurs mois. Cette décision met fin à une longue attente.</p>
  <p>« Nous nous réjouissons de cette nouvelle », a déclaré la porte-parole de l'agence lors
  d'un point de presse à Genève, ajoutant que les familles seraient bientôt réunies.</p>
  <h2>Une aide immédiate</h2>
  <p>Les équipes de l'agence fourniront une assistance dès la sortie des centres de
  détention, notamment :</p>
  <ul><li>un hébergement temporaire ;</li><li>une aide médicale ;</li>
  <li>un soutien psychosocial.</li></ul>
  <p>L'agence appelle les autorités à poursuivre dans cette voie et à respecter le
  <a href="/fr/convention">droit international des réfugiés</a>.</p>
</article>
"""

CHROME = {
    "before": """
<div id="cookie-banner">Nous utilisons des cookies pour améliorer votre expérience.
  <button>Accepter</button></div>
<header><nav><ul><li><a href="/fr/">Accueil</a></li><li><a href="/fr/about">Qui sommes nous</a></li>
  <li><a href="/fr/news">Salle de presse</a></li>
  <li><a href="/fr/contact">Contact</a></li></ul></nav>
  <form role="search" action="/fr/search"><input type="search" name="q"
  placeholder="Rechercher sur le site"><button>Rechercher</button></form></header>
<nav class="breadcrumb"><a href="/fr/">Accueil</a> &gt; <a href="/fr/news">Salle de presse</a>
  &gt; Communiqués</nav>
<main>""",
    "after": """
<aside class="related"><h3>Actualités liées</h3><ul>
  <li><a href="/fr/news/a">Le HCR lance un appel de fonds pour le Sahel</a>
    <time datetime="2025-01-01">1er janvier 2025</time></li>
  <li><a href="/fr/news/b">Rapport annuel sur les tendances mondiales</a></li></ul></aside>
</main>
<footer><p>© 2026 Agence. Tous droits réservés.</p><ul>
  <li><a href="/fr/legal">Mentions légales</a></li>
  <li><a href="/fr/privacy">Confidentialité</a></li>
</ul></footer>""",
}

HEAD_FR = """
<title>Le HCR salue la libération de réfugiés | Agence</title>
<meta property="og:title" content="Le HCR salue la libération de réfugiés | Agence">
<meta property="og:site_name" content="Agence">
<meta property="og:description" content="L'agence se félicite de la décision annoncée mardi.">
<meta property="article:published_time" content="2026-03-05T10:30:00+01:00">
<link rel="alternate" hreflang="en" href="/en/news/refugees-freed">
<link rel="alternate" hreflang="ru" href="https://www.example.org/ru/news/refugees-freed">
<link rel="alternate" hreflang="fr" href="https://www.example.org/fr/news/refugees-freed">
<link rel="alternate" hreflang="x-default" href="https://www.example.org/news/refugees-freed">
"""

BODY_FR = (
    "L'agence des Nations Unies pour les réfugiés salue la libération de quarante réfugiés "
    "détenus depuis plusieurs mois. Cette décision met fin à une longue attente.\n\n"
    "« Nous nous réjouissons de cette nouvelle », a déclaré la porte-parole de l'agence lors "
    "d'un point de presse à Genève, ajoutant que les familles seraient bientôt réunies.\n\n"
    "## Une aide immédiate\n\n"
    "Les équipes de l'agence fourniront une assistance dès la sortie des centres de "
    "détention, notamment :\n\n"
    "- un hébergement temporaire ;\n"
    "- une aide médicale ;\n"
    "- un soutien psychosocial.\n\n"
    "L'agence appelle les autorités à poursuivre dans cette voie et à respecter le "
    "[droit international des réfugiés](https://www.example.org/fr/convention)."
)


def page(head: str, article: str, *, lang: str = "fr-FR", chrome: bool = True) -> str:
    around = CHROME if chrome else {"before": "<main>", "after": "</main>"}
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">{head}</head>'
        f"<body>{around['before']}{article}{around['after']}</body></html>"
    )


# -- a CMS page --------------------------------------------------------------------


def test_the_article_of_a_cms_page_without_its_chrome() -> None:
    got = read_html(page(HEAD_FR, ARTICLE_FR), URL)

    assert got.title == "Le HCR salue la libération de réfugiés"
    assert got.summary == "L'agence se félicite de la décision annoncée mardi."
    assert got.dateline == "GENÈVE"
    assert got.body_markdown == BODY_FR
    for chrome in (
        "cookies",
        "Rechercher",
        "Accueil",
        "Salle de presse",
        "Actualités liées",
        "appel de fonds",
        "Mentions légales",
        "Tous droits",
        "Publié le",
        "GENÈVE",
    ):
        assert chrome not in got.body_markdown
    assert got.declared_language == "fr"
    assert got.language_evidence == "<html lang=fr-FR>"
    assert got.published_at == datetime(2026, 3, 5, 9, 30, tzinfo=UTC)
    assert got.alternates == {
        "en": "https://www.example.org/en/news/refugees-freed",
        "ru": "https://www.example.org/ru/news/refugees-freed",
    }


def test_a_page_without_og_tags_takes_the_h1_and_the_first_sentence() -> None:
    head = "<title>Le HCR salue la libération de réfugiés - Agence des Nations Unies</title>"
    article = ARTICLE_FR.replace(
        META_LINE,
        "",
    )

    got = read_html(page(head, article, lang="fr"), URL)

    assert got.title == "Le HCR salue la libération de réfugiés"
    assert got.summary == (
        "L'agence des Nations Unies pour les réfugiés salue la libération de quarante réfugiés "
        "détenus depuis plusieurs mois."
    )
    assert got.dateline == "GENÈVE"
    assert got.body_markdown == BODY_FR
    assert got.published_at is None  # the related box's <time> is not the article's
    assert got.alternates == {}


def test_the_site_name_is_cut_from_og_title_on_either_side() -> None:
    for og_title in ("Agence · Un titre sans h1 ici", "Un titre sans h1 ici – Agence"):
        head = f'<meta property="og:title" content="{og_title}">{SITE_NAME}'
        article = ARTICLE_FR.replace("<h1>Le HCR salue la libération de réfugiés</h1>", "")
        assert read_html(page(head, article), URL).title == "Un titre sans h1 ici"


def test_a_hyphen_in_a_headline_is_not_a_site_name() -> None:
    head = f'<meta property="og:title" content="Tchad - Des réfugiés libérés | Agence">{SITE_NAME}'
    article = ARTICLE_FR.replace("<h1>Le HCR salue la libération de réfugiés</h1>", "")
    assert read_html(page(head, article), URL).title == "Tchad - Des réfugiés libérés"


@pytest.mark.parametrize(
    ("head", "article_time", "expected"),
    [
        (
            '<meta property="article:published_time" content="2026-03-05T10:30:00Z">',
            "",
            datetime(2026, 3, 5, 10, 30, tzinfo=UTC),
        ),
        (
            '<script type="application/ld+json">{"@context": "https://schema.org", "@graph": '
            '[{"@type": "WebPage"}, {"@type": "NewsArticle", '
            '"datePublished": "2026-03-05T12:00:00+03:00"}]}</script>',
            "",
            datetime(2026, 3, 5, 9, 0, tzinfo=UTC),
        ),
        (
            "",
            '<time datetime="2026-03-05T08:15:00-05:00">5 mars</time>',
            datetime(2026, 3, 5, 13, 15, tzinfo=UTC),
        ),
        ('<script type="application/ld+json">{broken</script>', "", None),
        ("", "", None),
    ],
    ids=["meta", "json-ld", "time-in-article", "broken-json-ld", "none"],
)
def test_publication_time_in_utc(head: str, article_time: str, expected: datetime | None) -> None:
    article = ARTICLE_FR.replace(
        META_LINE,
        article_time,
    )
    got = read_html(page(head, article), URL)
    assert got.published_at == expected
    if expected is not None:
        assert got.published_at is not None and got.published_at.tzinfo is UTC


def test_a_written_date_is_the_publication_day_when_the_markup_has_none() -> None:
    article = ARTICLE_FR.replace(
        '<time datetime="2026-03-05T10:30:00+01:00">5 mars 2026</time>', "5 mars 2026"
    )
    got = read_html(page("", article), URL)
    assert got.published_at == datetime(2026, 3, 5, tzinfo=UTC)
    assert "Publié le" not in got.body_markdown


# -- language clues and other versions ---------------------------------------------


@pytest.mark.parametrize(
    ("lang", "head", "url", "declared", "evidence"),
    [
        ("fr-FR", "", URL, "fr", "<html lang=fr-FR>"),
        (
            "",
            '<meta property="og:locale" content="ru_RU">',
            URL,
            "ru",
            "og:locale=ru_RU; URL path /fr/ says fr",
        ),
        ("", "", "https://www.example.org/es/noticias/x", "es", "URL path /es/"),
        ("", "", "https://www.example.org/news/x?lang=ar", "ar", "URL ?lang=ar"),
        ("", "", "https://www.example.org/news/x", None, ""),
        ("x-klingon", "", None, None, ""),
        (
            "en",
            "",
            "https://www.example.org/zh-hans/news/x",
            "en",
            "<html lang=en>; URL path /zh-hans/ says zh",
        ),
    ],
)
def test_declared_language(
    lang: str, head: str, url: str | None, declared: str | None, evidence: str
) -> None:
    got = read_html(page(head, ARTICLE_FR, lang=lang), url)
    assert (got.declared_language, got.language_evidence) == (declared, evidence)


def test_alternates_are_absolute_by_language_without_this_one() -> None:
    head = """
    <link rel="alternate" hreflang="pt-BR" href="../../pt/noticias/x">
    <link rel="alternate" hreflang="zh-Hans" href="/zh/news/x">
    <link rel="alternate" hreflang="fr-CA" href="https://www.example.ca/fr/x">
    <link rel="alternate" hreflang="x-default" href="/news/x">
    <link rel="alternate" type="application/rss+xml" href="/feed.xml">
    <link rel="canonical" hreflang="de" href="/de/x">
    """
    switcher = '<nav><a hreflang="ar" href="/ar/news/x">العربية</a><a href="/es/">Español</a></nav>'
    got = read_html(page(head, ARTICLE_FR + switcher, lang="fr"), URL)
    assert got.alternates == {
        "pt": "https://www.example.org/pt/noticias/x",
        "zh": "https://www.example.org/zh/news/x",
        "ar": "https://www.example.org/ar/news/x",
    }


def test_without_a_url_only_absolute_alternates_are_kept() -> None:
    got = read_html(page(HEAD_FR, ARTICLE_FR), None)
    assert got.alternates == {"ru": "https://www.example.org/ru/news/refugees-freed"}


# -- odd input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   ",
        "<html></html>",
        "<html><body><nav>Accueil</nav></body></html>",
        "\x00\x01\x02",
        "<?xml version='1.0' encoding='utf-8'?><html><body></body></html>",
        "<<<>>>",
        "<p",
    ],
)
def test_a_page_with_no_article_gives_an_empty_title(html: str) -> None:
    got = read_html(html, URL)
    assert isinstance(got, Page)
    assert got.title == ""


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_no_markup_makes_it_raise(html: str) -> None:
    read_html(html, URL)
    read_text(html)


def test_an_xml_declaration_and_control_characters_do_not_stop_the_reading() -> None:
    html = "<?xml version='1.0' encoding='utf-8'?>\x00" + page(
        HEAD_FR, ARTICLE_FR.replace("quarante", "qua\x07rante")
    )
    got = read_html(html, URL)
    assert got.title == "Le HCR salue la libération de réfugiés"
    assert "quarante" in got.body_markdown


# -- text copied out of a page -----------------------------------------------------

TEXT_FR = """\
Aller au contenu principal
Accueil
Qui sommes nous
Qui sommes nousL'Organisation des Nations Unies en quelques mots et nos valeurs
Salle de presse
Accueil > Salle de presse > Communiqués
- Appels d'offres et marchés publics
- Emplois et stages au siège
Communiqué de presse

Le HCR salue la libération de quarante réfugiés détenus au Tchad
5 mars 2026

GENÈVE – L'agence des Nations Unies pour les réfugiés salue la libération
de quarante réfugiés détenus depuis plusieurs mois dans des conditions
difficiles. Cette décision met fin à une longue attente pour les familles
qui étaient séparées depuis le début de l'année.

« Nous nous réjouissons de cette nouvelle », a déclaré la porte-parole de
l'agence lors d'un point de presse à Genève. Elle a ajouté que les équipes
seraient présentes dès la sortie des centres de détention.
Les équipes de l'agence fourniront une assistance immédiate, notamment :
- un hébergement temporaire ;
- une aide médicale et un soutien psychosocial pour les familles les plus
  vulnérables ;
- des documents d'identité.
L'agence appelle les autorités à poursuivre dans cette voie et à respecter
le droit international des réfugiés.
"""


def test_text_with_chrome_before_the_title_and_hard_wrapped_paragraphs() -> None:
    got = read_text(TEXT_FR)

    assert got.title == "Le HCR salue la libération de quarante réfugiés détenus au Tchad"
    assert got.dateline == "GENÈVE"
    assert got.published_at == datetime(2026, 3, 5, tzinfo=UTC)
    assert got.summary == (
        "L'agence des Nations Unies pour les réfugiés salue la libération de quarante réfugiés "
        "détenus depuis plusieurs mois dans des conditions difficiles."
    )
    assert got.body_markdown.split("\n\n") == [
        "L'agence des Nations Unies pour les réfugiés salue la libération de quarante réfugiés "
        "détenus depuis plusieurs mois dans des conditions difficiles. Cette décision met fin à "
        "une longue attente pour les familles qui étaient séparées depuis le début de l'année.",
        "« Nous nous réjouissons de cette nouvelle », a déclaré la porte-parole de l'agence lors "
        "d'un point de presse à Genève. Elle a ajouté que les équipes seraient présentes dès la "
        "sortie des centres de détention.",
        "Les équipes de l'agence fourniront une assistance immédiate, notamment :",
        "- un hébergement temporaire ;\n"
        "- une aide médicale et un soutien psychosocial pour les familles les plus vulnérables ;\n"
        "- des documents d'identité.",
        "L'agence appelle les autorités à poursuivre dans cette voie et à respecter le droit "
        "international des réfugiés.",
    ]
    assert got.declared_language is None and got.alternates == {}


TEXT_RU = """\
Главная
О нас
Новости
Пресс-релизы
Поиск
Главная / Новости / Пресс-релизы
УВКБ ООН приветствует решение об освобождении беженцев в Беларуси
05.03.2026
{opening}
«Мы рады этой новости», – заявила официальный представитель агентства на брифинге в Женеве,
добавив, что семьи скоро воссоединятся.
Сотрудники агентства окажут помощь сразу после освобождения.
""".format(
    opening=(  # one line, as a browser copies a paragraph
        "МИНСК (Беларусь) – Управление Верховного комиссара ООН по делам беженцев приветствует "
        "решение властей освободить сорок беженцев, содержавшихся под стражей в течение "
        "нескольких месяцев. Это решение положит конец долгому ожиданию."
    )
)


def test_text_copied_from_a_browser_one_line_per_paragraph() -> None:
    got = read_text(TEXT_RU)

    assert got.title == "УВКБ ООН приветствует решение об освобождении беженцев в Беларуси"
    assert got.dateline == "МИНСК (Беларусь)"
    assert got.published_at == datetime(2026, 3, 5, tzinfo=UTC)
    assert got.body_markdown.split("\n\n") == [
        "Управление Верховного комиссара ООН по делам беженцев приветствует решение властей "
        "освободить сорок беженцев, содержавшихся под стражей в течение нескольких месяцев. "
        "Это решение положит конец долгому ожиданию.",
        "«Мы рады этой новости», – заявила официальный представитель агентства на брифинге в "
        "Женеве, добавив, что семьи скоро воссоединятся.",
        "Сотрудники агентства окажут помощь сразу после освобождения.",
    ]


TEXT_EN = """\
Skip to main content
Home
About us
News and stories
Search

UNHCR welcomes the release of refugees held in detention

Published 5 March 2026

GENEVA, 5 March 2026 – The UN Refugee Agency, UNHCR, today welcomed the
release of forty refugees who had been held in detention for several
months. The decision ends a long wait for families separated since June.
Most of them had fled fighting in the east two years ago.
"We welcome this news," said a UNHCR spokesperson at a press briefing in
Geneva.
UNHCR calls on the authorities to continue on this path and to respect
international refugee law.

For more information, please contact:
Jane Doe, UNHCR Geneva
+41 22 739 81 11
doe@example.org
"""


def test_hard_wrapped_text_without_blank_lines_between_paragraphs() -> None:
    got = read_text(TEXT_EN)

    assert got.title == "UNHCR welcomes the release of refugees held in detention"
    assert got.dateline == "GENEVA"
    assert got.published_at == datetime(2026, 3, 5, tzinfo=UTC)
    # A sentence ending where the wrapping broke the line goes on in the same paragraph;
    # a short line ending a sentence ends it; the contact lines stay lines.
    assert got.body_markdown.split("\n\n") == [
        "The UN Refugee Agency, UNHCR, today welcomed the release of forty refugees who had "
        "been held in detention for several months. The decision ends a long wait for families "
        "separated since June. Most of them had fled fighting in the east two years ago.",
        '"We welcome this news," said a UNHCR spokesperson at a press briefing in Geneva.',
        "UNHCR calls on the authorities to continue on this path and to respect international "
        "refugee law.",
        "For more information, please contact:",
        "Jane Doe, UNHCR Geneva",
        "+41 22 739 81 11",
        "doe@example.org",
    ]


TEXT_ZH = """\
首页
关于我们
新闻中心
首页 > 新闻中心 > 新闻稿
难民署欢迎释放被拘留的四十名难民
2026年3月5日
日内瓦 – 联合国难民署今天欢迎释放四十名被拘留数月的难民。这一决定结束了家人的漫长
等待。
难民署发言人在日内瓦举行的新闻发布会上表示：“我们对这一消息感到高兴。”
"""


def test_chinese_text() -> None:
    got = read_text(TEXT_ZH)

    assert got.title == "难民署欢迎释放被拘留的四十名难民"
    assert got.dateline == "日内瓦"
    assert got.published_at == datetime(2026, 3, 5, tzinfo=UTC)
    assert got.summary == "联合国难民署今天欢迎释放四十名被拘留数月的难民。"
    assert got.body_markdown.split("\n\n") == [
        "联合国难民署今天欢迎释放四十名被拘留数月的难民。这一决定结束了家人的漫长等待。",
        "难民署发言人在日内瓦举行的新闻发布会上表示：“我们对这一消息感到高兴。”",
    ]


def test_text_without_chrome_starts_with_its_title() -> None:
    got = read_text("Le HCR salue une décision historique au Tchad\n\nGENÈVE – Le texte.\n")
    assert (got.title, got.dateline, got.body_markdown) == (
        "Le HCR salue une décision historique au Tchad",
        "GENÈVE",
        "Le texte.",
    )


def test_the_dateline_after_a_standfirst() -> None:
    got = read_text(
        "Le HCR salue une décision historique au Tchad\n\n"
        "Quarante réfugiés retrouvent leurs familles.\n\n"
        "N'DJAMENA, le 5 mars 2026 – L'agence salue la décision.\n"
    )
    assert got.dateline == "N'DJAMENA"
    assert got.published_at == datetime(2026, 3, 5, tzinfo=UTC)
    assert got.body_markdown == (
        "Quarante réfugiés retrouvent leurs familles.\n\nL'agence salue la décision."
    )


def test_a_paragraph_that_starts_like_a_list_item_stays_a_paragraph() -> None:
    got = read_text("Un bilan de l'année écoulée pour le HCR\n\n2025. L'année a été difficile.\n")
    assert got.body_markdown == "2025\\. L'année a été difficile."


# -- the dateline ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opening", "dateline", "rest"),
    [
        ("GENÈVE – L'agence salue la décision.", "GENÈVE", "L'agence salue la décision."),
        ("Geneva, 5 March 2026 — The agency welcomed it.", "Geneva", "The agency welcomed it."),
        ("MINSK (Belarus) - The agency welcomed it.", "MINSK (Belarus)", "The agency welcomed it."),
        ("Minsk, Belarus – The agency welcomed it.", "Minsk, Belarus", "The agency welcomed it."),
        (
            "Женева, 5 марта — Агентство приветствует решение.",
            "Женева",
            "Агентство приветствует решение.",
        ),
        ("جنيف - ترحب المفوضية بالقرار.", "جنيف", "ترحب المفوضية بالقرار."),
        ("日内瓦 – 难民署欢迎这一决定。", "日内瓦", "难民署欢迎这一决定。"),
        (
            "Ciudad de México, 5 de marzo de 2026 – La agencia celebra.",
            "Ciudad de México",
            "La agencia celebra.",
        ),
        (
            "Abidjan, Côte d'Ivoire – L'agence salue la décision.",
            "Abidjan, Côte d'Ivoire",
            "L'agence salue la décision.",
        ),
        ("**GENEVA** — The agency welcomed it.", "GENEVA", "The agency welcomed it."),
        ("GENEVA—The agency welcomed it.", "GENEVA", "The agency welcomed it."),
        (
            "Le HCR salue la décision - une première.",
            "",
            "Le HCR salue la décision - une première.",
        ),
        (
            "The agency said - on Tuesday - that it agreed.",
            "",
            "The agency said - on Tuesday - that it agreed.",
        ),
        (
            "Porte-parole du HCR : la décision est bonne.",
            "",
            "Porte-parole du HCR : la décision est bonne.",
        ),
    ],
)
def test_dateline(opening: str, dateline: str, rest: str) -> None:
    text = f"Le HCR salue une décision historique au Tchad\n\n{opening}\n\nUn second paragraphe.\n"
    got = read_text(text)
    assert got.dateline == dateline
    assert got.body_markdown == f"{rest}\n\nUn second paragraphe."


# -- the language of the text ------------------------------------------------------

OFFERED = ("ar", "en", "es", "fr", "ru", "zh")
PARAGRAPHS = {
    "fr": "L'agence des Nations Unies pour les réfugiés salue la libération de quarante réfugiés "
    "détenus depuis plusieurs mois.",
    "ru": "Агентство ООН по делам беженцев приветствует освобождение сорока беженцев, "
    "содержавшихся под стражей несколько месяцев.",
    "ar": "ترحب وكالة الأمم المتحدة للاجئين بالإفراج عن أربعين لاجئاً كانوا محتجزين منذ عدة أشهر.",
    "zh": "联合国难民署欢迎释放四十名被拘留数月的难民，并呼吁当局继续保护寻求庇护者的权利。",
    "es": "La agencia de las Naciones Unidas para los refugiados celebra la liberación de cuarenta "
    "refugiados detenidos durante varios meses.",
    "en": "The UN Refugee Agency welcomes the release of forty refugees who had been detained for "
    "several months.",
}


@pytest.mark.parametrize("language", sorted(PARAGRAPHS))
def test_detect_language_among_the_offered(language: str) -> None:
    assert detect_language(PARAGRAPHS[language], OFFERED) == language


def test_detect_language_only_answers_with_an_offered_language() -> None:
    assert detect_language(PARAGRAPHS["es"], ("en", "fr", "ru")) is None
    german = (
        "Das Flüchtlingshilfswerk der Vereinten Nationen begrüßt die Freilassung von vierzig "
        "Flüchtlingen, die seit mehreren Monaten inhaftiert waren."
    )
    assert detect_language(german, OFFERED) is None


@pytest.mark.parametrize("text", ["", "Genève", "Merci !", "日内瓦", "  \n ", "12 345 678"])
def test_detect_language_is_unsure_of_short_text(text: str) -> None:
    assert detect_language(text, OFFERED) is None
