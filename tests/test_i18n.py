"""Interface catalogs, language codes, text direction and localised dates."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from pressdispatch import vocabulary
from pressdispatch.errors import UnknownLanguage
from pressdispatch.render import i18n

LOCALE = files("pressdispatch").joinpath("locale")
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?([a-zA-Z])")
# Plural forms per language as CLDR (and so Babel and `pybabel init`) define them.
# fr and es have a third form for exact millions ("1 million de destinataires").
PLURAL_FORMS = {"ar": 6, "en": 2, "es": 3, "fr": 3, "ru": 3, "zh": 1}

RECIPIENTS = ("%(count)d recipient", "%(count)d recipients")
NOON_PARIS = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # 10:00 CET, 12:00 in Minsk


def _read(path: str, lang: str | None = None) -> Catalog:
    with LOCALE.joinpath(path).open("rb") as handle:
        return read_po(handle, locale=lang, domain="pressdispatch", abort_invalid=True)


def _texts(value: object) -> tuple[str, ...]:
    """A message id or string as a tuple of texts: one, or one per plural form."""
    items = value if isinstance(value, tuple | list) else (value,)
    return tuple("" if item is None else str(item) for item in items)


def _strings(message: Message) -> tuple[str, ...]:
    return _texts(message.string)


def _placeholders(text: str) -> set[tuple[str, str]]:
    return set(PLACEHOLDER.findall(text))


TEMPLATE = _read("pressdispatch.pot")
MSGIDS = [message.id for message in TEMPLATE if message.id]


# -- catalogs --------------------------------------------------------------------


def test_catalog_folders_are_the_ui_languages() -> None:
    folders = {entry.name for entry in LOCALE.iterdir() if entry.is_dir()}
    assert folders == set(i18n.UI_LANGUAGES)


def test_template_has_the_interface_strings() -> None:
    assert len(MSGIDS) == 144
    assert "Embargoed until %(when)s" in MSGIDS
    assert RECIPIENTS in MSGIDS
    assert all(not any(_strings(TEMPLATE[msgid])) for msgid in MSGIDS)


def test_every_string_of_the_web_templates_is_in_the_template_catalog() -> None:
    root = Path(__file__).resolve().parent.parent / "templates" / "web"
    used = {
        match
        for path in root.glob("*.j2")
        for match in re.findall(r'_\("((?:[^"\\]|\\.)*)"', path.read_text(encoding="utf-8"))
    }
    assert used
    assert used - {str(msgid) for msgid in MSGIDS if isinstance(msgid, str)} == set()


@pytest.mark.parametrize("lang", i18n.UI_LANGUAGES)
def test_catalog_translates_every_template_message(lang: str) -> None:
    catalog = _read(f"{lang}/LC_MESSAGES/pressdispatch.po", lang)
    translated = [message.id for message in catalog if message.id]
    assert sorted(map(str, translated)) == sorted(map(str, MSGIDS)), "catalog and .pot differ"
    for msgid in MSGIDS:
        message = catalog[msgid]
        assert message is not None
        assert not message.fuzzy, msgid
        sources = _texts(msgid)
        expected = _placeholders(sources[0])
        assert all(_placeholders(source) == expected for source in sources)
        strings = _strings(message)
        if isinstance(msgid, tuple):
            assert len(strings) == catalog.num_plurals, msgid
        for text in strings:
            assert text.strip(), f"{lang}: {msgid!r} is not translated"
            assert _placeholders(text) == expected, f"{lang}: {text!r}"
            # every translation must survive %-formatting with its placeholders
            text % {name: 1 if kind == "d" else "x" for name, kind in expected}


@pytest.mark.parametrize(("lang", "forms"), sorted(PLURAL_FORMS.items()))
def test_plural_forms(lang: str, forms: int) -> None:
    catalog = _read(f"{lang}/LC_MESSAGES/pressdispatch.po", lang)
    assert catalog.num_plurals == forms
    assert catalog.num_plurals == Catalog(locale=lang).num_plurals


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("ru", {1: "1 получатель", 3: "3 получателя", 5: "5 получателей", 11: "11 получателей",
                21: "21 получатель", 22: "22 получателя", 111: "111 получателей"}),
        ("fr", {0: "0 destinataire", 1: "1 destinataire", 2: "2 destinataires"}),
        ("es", {1: "1 destinatario", 0: "0 destinatarios", 7: "7 destinatarios"}),
        ("en", {1: "1 recipient", 0: "0 recipients", 2: "2 recipients"}),
        ("zh", {1: "1位收件人", 30: "30位收件人"}),
        ("ar", {0: "0 مستلم", 1: "1 مستلم", 2: "2 مستلمان", 3: "3 مستلمين",
                10: "10 مستلمين", 11: "11 مستلما", 99: "99 مستلما", 100: "100 مستلم",
                103: "103 مستلمين"}),
    ],
)  # fmt: skip
def test_ngettext_picks_the_plural_form(lang: str, expected: dict[int, str]) -> None:
    for n, text in expected.items():
        assert i18n.ngettext(lang, *RECIPIENTS, n) == text


@pytest.mark.parametrize(
    ("lang", "message", "expected"),
    [
        ("fr", "Media contacts", "Contacts presse"),
        ("fr", "Press release", "Communiqué de presse"),
        ("ru", "Press release", "Пресс-релиз"),
        ("ar", "Press release", "بيان صحفي"),
        ("zh", "Press release", "新闻稿"),
        ("es", "Press release", "Comunicado de prensa"),
        ("ru", "Unsubscribe", "Отписаться"),
        ("en", "Unsubscribe", "Unsubscribe"),
    ],
)
def test_gettext_translates(lang: str, message: str, expected: str) -> None:
    assert i18n.gettext(lang, message) == expected


def test_gettext_fills_placeholders() -> None:
    when = "28 novembre 2026, 10:00 UTC+1"
    assert (
        i18n.gettext("fr", "Embargoed until %(when)s", when=when)
        == "Sous embargo jusqu'au 28 novembre 2026, 10:00 UTC+1"
    )
    assert i18n.gettext("es", "Dear %(name)s,", name="Ana") == "Estimado/a Ana:"
    assert i18n.gettext("zh", "Dear %(name)s,", name="李明") == "尊敬的李明："  # noqa: RUF001


@pytest.mark.parametrize("lang", ["de", "xx", "", "not a language"])
def test_unknown_language_falls_back_to_english(lang: str) -> None:
    assert i18n.gettext(lang, "Media contacts") == "Media contacts"
    assert i18n.translations(lang) is i18n.translations("en")


@pytest.mark.parametrize("lang", ["fr-CA", "fr_CA", "FR", " fr "])
def test_regional_tags_use_the_language(lang: str) -> None:
    assert i18n.translations(lang) is i18n.translations("fr")
    assert i18n.gettext(lang, "Media contacts") == "Contacts presse"


def test_translations_are_cached() -> None:
    assert i18n.translations("ru") is i18n.translations("ru")


def test_unknown_message_is_returned_unchanged() -> None:
    assert i18n.gettext("fr", "Not in the catalog %(x)s", x=1) == "Not in the catalog 1"


# -- languages -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [("fr", "fr"), ("FR", "fr"), (" fr ", "fr"), ("zh", "zh"), ("ar", "ar"), ("de", "de")],
)
def test_normalize_language_accepts(code: str, expected: str) -> None:
    assert vocabulary.normalize_language(code) == expected


@pytest.mark.parametrize("code", ["xx", "fra", "", "f1", "f", "fr-CA", "fr_CA", "12", "é"])
def test_normalize_language_rejects(code: str) -> None:
    with pytest.raises(UnknownLanguage) as caught:
        vocabulary.normalize_language(code)
    assert caught.value.value == code


def test_text_direction() -> None:
    assert i18n.is_rtl("ar")
    assert not i18n.is_rtl("en")
    assert [i18n.is_rtl(lang) for lang in ("he", "fa", "ur", "ar-EG")] == [True] * 4
    assert [i18n.text_direction(lang) for lang in i18n.UI_LANGUAGES] == [
        "rtl", "ltr", "ltr", "ltr", "ltr", "ltr"
    ]  # fmt: skip
    with pytest.raises(UnknownLanguage):
        i18n.is_rtl("xx")


def test_language_names_are_native_labels() -> None:
    assert {lang: i18n.language_name(lang) for lang in i18n.UI_LANGUAGES} == {
        "ar": "العربية",
        "en": "English",
        "es": "Español",
        "fr": "Français",
        "ru": "Русский",
        "zh": "中文",
    }


# -- dates -----------------------------------------------------------------------


def test_format_date_in_the_zone() -> None:
    assert i18n.format_date(NOON_PARIS, "fr", "Europe/Paris") == "28 novembre 2026"
    assert i18n.format_date(NOON_PARIS, "en", "Europe/Paris") == "28 November 2026"
    assert i18n.format_date(NOON_PARIS, "es", ZoneInfo("Europe/Paris")) == "28 de noviembre de 2026"


def test_format_date_changes_at_midnight_in_the_zone() -> None:
    late = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)
    assert i18n.format_date(late, "en", "Asia/Tokyo") == "29 November 2026"
    assert i18n.format_date(late, "fr", "Asia/Tokyo") == "29 novembre 2026"
    assert i18n.format_date(late, "en", "Europe/Paris") == "29 November 2026"
    assert i18n.format_date(late, "en", "America/New_York") == "28 November 2026"


def test_format_date_accepts_any_aware_datetime() -> None:
    eastern = datetime(2026, 11, 28, 20, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert i18n.format_date(eastern, "en", "Asia/Tokyo") == "29 November 2026"


@pytest.mark.parametrize("function", [i18n.format_date, i18n.format_datetime])
def test_naive_datetimes_are_rejected(function: object) -> None:
    assert callable(function)
    with pytest.raises(ValueError, match="naive"):
        function(datetime(2026, 11, 28, 9, 0), "en", "Europe/Paris")


@pytest.mark.parametrize(
    ("lang", "tz", "expected"),
    [
        ("en", "Europe/Paris", "28 November 2026, 10:00 CET"),
        ("en", "Europe/London", "28 November 2026, 09:00 GMT"),
        ("en", "America/New_York", "28 November 2026, 04:00 EST"),
        ("en", "Europe/Minsk", "28 November 2026, 12:00 GMT+3"),
        ("en", "Asia/Kolkata", "28 November 2026, 14:30 GMT+5:30"),
        ("fr", "Europe/Paris", "28 novembre 2026, 10:00 UTC+1"),
        ("fr", "Europe/Minsk", "28 novembre 2026, 12:00 UTC+3"),
        ("ru", "Europe/Minsk", "28 ноября 2026\u202fг., 12:00 GMT+3"),  # noqa: RUF001
        ("es", "Europe/Paris", "28 de noviembre de 2026, 10:00 CET"),
        ("zh", "Europe/Minsk", "2026年11月28日 GMT+3 12:00"),
        ("ar", "Europe/Minsk", "28 نوفمبر 2026، 12:00 م غرينتش\u200e+3"),
    ],
)
def test_format_datetime_names_the_zone(lang: str, tz: str, expected: str) -> None:
    assert i18n.format_datetime(NOON_PARIS, lang, tz) == expected


def test_format_datetime_follows_summer_time() -> None:
    july = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    assert i18n.format_datetime(july, "en", "Europe/Paris") == "1 July 2026, 11:00 CEST"
    assert i18n.format_datetime(july, "en", "Europe/London") == "1 July 2026, 10:00 BST"
    russian = i18n.format_datetime(july, "ru", "Europe/Paris")
    assert russian == "1 июля 2026\u202fг., 11:00 GMT+2"  # noqa: RUF001


@pytest.mark.parametrize("lang", i18n.UI_LANGUAGES)
@pytest.mark.parametrize("tz", ["Europe/Paris", "Europe/Minsk", "Asia/Kathmandu", "UTC"])
def test_format_datetime_always_tells_the_instant(lang: str, tz: str) -> None:
    text = i18n.format_datetime(NOON_PARIS, lang, tz)
    offset = NOON_PARIS.astimezone(ZoneInfo(tz)).utcoffset()
    assert offset is not None
    hours, minutes = divmod(int(offset.total_seconds()) // 60, 60)
    abbreviations = ("CET", "UTC", "TU", "التوقيت العالمي")
    numeric = f"+{hours}:{minutes:02d}" if minutes else f"+{hours}"
    assert numeric in text or any(name in text for name in abbreviations), text


# -- Jinja2 ----------------------------------------------------------------------


def test_jinja_templates_speak_the_language() -> None:
    env = jinja2.Environment(autoescape=True)
    i18n.jinja_install(env, "fr")
    template = env.from_string('{{ _("Media contacts") }} | {{ _("Dear %(name)s,", name=x) }}')
    assert template.render(x="<b>Ana</b>") == "Contacts presse | Bonjour &lt;b&gt;Ana&lt;/b&gt;,"


def test_jinja_install_can_switch_language_and_count() -> None:
    env = jinja2.Environment(autoescape=False, extensions=["jinja2.ext.i18n"])
    i18n.jinja_install(env, "ru")
    i18n.jinja_install(env, "es")
    template = env.from_string(
        '{{ _("Phone") }} · '
        '{{ ngettext("%(count)d recipient", "%(count)d recipients", n, count=n) }}'
    )
    assert template.render(n=3) == "Teléfono · 3 destinatarios"


@pytest.mark.parametrize(
    ("lang", "expected"), [("fr", "\u202f:"), ("fr-CA", "\u202f:"), ("zh", "\uff1a"), ("en", ":")]
)
def test_labels_end_with_the_colon_the_language_writes(lang: str, expected: str) -> None:
    assert i18n.colon(lang) == expected
