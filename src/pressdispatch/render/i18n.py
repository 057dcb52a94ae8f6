"""Interface strings, language names, text direction and dates in the reader's language.

The interface strings of the emails (headings, embargo notice, footer) live in
gettext catalogs under ``pressdispatch/locale/<lang>/LC_MESSAGES/pressdispatch.po``.
No ``.mo`` file is shipped: each catalog is compiled in memory the first time a
language is needed and kept for the life of the process.

Release texts themselves are never translated here; the press office writes
one version per language.

Dates are formatted with Babel, in the CLDR patterns of the reader's language
and in the time zone the caller chooses. English uses the international
(British) conventions: ``28 November 2026, 10:00 CET``.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from datetime import datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import babel.core
import babel.support
import jinja2
from babel import Locale
from babel import dates as babel_dates
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2.ext import InternationalizationExtension

from pressdispatch.errors import UnknownLanguage
from pressdispatch.regions import RegionTree
from pressdispatch.vocabulary import normalize_language

__all__ = [
    "UI_LANGUAGES",
    "colon",
    "comma",
    "format_date",
    "format_datetime",
    "format_month",
    "gettext",
    "is_rtl",
    "jinja_install",
    "language_name",
    "month_name",
    "negotiate",
    "ngettext",
    "og_locale",
    "region_name",
    "text_direction",
    "translations",
]

DOMAIN = "pressdispatch"
FALLBACK_LANGUAGE = "en"

#: Languages with an interface catalog: the six official languages of the UN.
UI_LANGUAGES: tuple[str, ...] = ("ar", "en", "es", "fr", "ru", "zh")

# Babel locale used to format dates for a language when the bare language is
# not the convention we want: "en" alone is US English ("November 28, 2026,
# 10:00 AM"); international organisations write "28 November 2026, 10:00".
_FORMAT_LOCALES: dict[str, str] = {"en": "en_GB"}

# Where to look for a time-zone abbreviation, in order. en_GB knows CET, GMT
# and BST; plain "en" adds the North American ones (EST, PDT...).
_ZONE_NAME_LOCALES: dict[str, tuple[str, ...]] = {"en": ("en_GB", "en")}

_LRM = "\u200e"  # keeps "+3" reading left to right inside right-to-left text
_ZONE_FIELDS = frozenset("zZOvVXx")  # time-zone letters of a CLDR date pattern


# --------------------------------------------------------------------------- #
# Languages
# --------------------------------------------------------------------------- #


def _base_language(lang: str) -> str:
    """``"fr-CA"``, ``"fr_CA"``, ``" FR "`` -> ``"fr"`` (no validation)."""
    return lang.strip().replace("_", "-").split("-", 1)[0].lower()


def _language(lang: str) -> str:
    """The validated base language of a code or regional tag such as ``fr-CA``."""
    base = _base_language(lang)
    try:
        return normalize_language(base)
    except UnknownLanguage:
        raise UnknownLanguage(lang) from None


def _locale(lang: str) -> Locale:
    """The Babel locale used to format dates and names for ``lang``."""
    base = _language(lang)
    return Locale.parse(_FORMAT_LOCALES.get(base, base))


def text_direction(lang: str) -> str:
    """``"rtl"`` or ``"ltr"``, for the ``dir`` attribute of the email's HTML."""
    return "rtl" if Locale.parse(_language(lang)).text_direction == "rtl" else "ltr"


def is_rtl(lang: str) -> bool:
    """True for languages written right to left (Arabic, Hebrew, Persian, Urdu...)."""
    return text_direction(lang) == "rtl"


@functools.lru_cache(maxsize=256)  # every page and message asks for the same few
def language_name(lang: str) -> str:
    """The language's own name, as a standalone label (``"Français"``, ``"中文"``).

    Babel gives the name as it appears inside a sentence (``"français"``); a
    link or menu entry starts with a capital in the languages that have them.
    """
    base = _language(lang)
    name = Locale.parse(base).get_language_name(base) or base
    return name[:1].upper() + name[1:]


# --------------------------------------------------------------------------- #
# Catalogs
# --------------------------------------------------------------------------- #


@functools.cache
def _catalog_languages() -> frozenset[str]:
    """Languages that have a ``.po`` file in the package."""
    root = resources.files("pressdispatch").joinpath("locale")
    if not root.is_dir():
        return frozenset()
    return frozenset(
        entry.name
        for entry in root.iterdir()
        if entry.joinpath("LC_MESSAGES", f"{DOMAIN}.po").is_file()
    )


@functools.cache
def _load(lang: str) -> babel.support.Translations:
    """Compile ``locale/<lang>/LC_MESSAGES/pressdispatch.po`` in memory."""
    po = resources.files("pressdispatch").joinpath("locale", lang, "LC_MESSAGES", f"{DOMAIN}.po")
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=DOMAIN, abort_invalid=True)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return babel.support.Translations(compiled, domain=DOMAIN)


def translations(lang: str) -> babel.support.Translations:
    """The interface catalog for ``lang``, compiled once per process.

    Regional tags use their language (``"fr-CA"`` and ``"fr_CA"`` give French).
    A language without a catalog, or a code that is not a language at all,
    gets the English catalog.
    """
    base = _base_language(lang)
    if base not in _catalog_languages():
        base = FALLBACK_LANGUAGE
    return _load(base)


def gettext(lang: str, message: str, **params: object) -> str:
    """``message`` translated into ``lang``, with ``%(name)s`` placeholders filled in."""
    text: str = translations(lang).gettext(message)
    return text % params if params else text


def ngettext(lang: str, singular: str, plural: str, n: int, **params: object) -> str:
    """The form of a counted message that suits ``n`` in ``lang``.

    ``%(count)d`` is filled in with ``n`` unless ``count`` is given:
    ``ngettext("ru", "%(count)d recipient", "%(count)d recipients", 3)`` gives
    ``"3 получателя"``.
    """
    text: str = translations(lang).ngettext(singular, plural, n)
    return text % {"count": n, **params}


def jinja_install(env: jinja2.Environment, lang: str) -> None:
    """Make ``_()``, ``gettext()`` and ``ngettext()`` in ``env``'s templates speak ``lang``.

    New-style gettext: ``{{ _("Dear %(name)s,", name=name) }}`` fills in the
    placeholders itself and, with autoescaping on, escapes the values. The
    functions are environment globals, so use one environment per language
    (or install again before rendering in another language).
    """
    if not any(isinstance(ext, InternationalizationExtension) for ext in env.extensions.values()):
        env.add_extension("jinja2.ext.i18n")
    # Added to the environment at run time by the i18n extension.
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- #
# Dates
# --------------------------------------------------------------------------- #


def _local(moment: datetime, tz: str | ZoneInfo) -> tuple[datetime, ZoneInfo]:
    """``moment`` seen in ``tz``; naive datetimes are refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: pass an aware datetime")
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return moment.astimezone(zone), zone


def format_date(moment: datetime, lang: str, tz: str | ZoneInfo) -> str:
    """The long date of ``moment`` in zone ``tz``: ``"28 novembre 2026"``.

    The date is the one on the calendar in ``tz``: 2026-11-28 23:30 UTC is
    29 November in Asia/Tokyo.
    """
    local, _ = _local(moment, tz)
    return str(babel_dates.format_date(local.date(), "long", locale=_locale(lang)))


def format_datetime(moment: datetime, lang: str, tz: str | ZoneInfo) -> str:
    """Date, time and named time zone of ``moment`` in ``tz``, in ``lang``.

    ``"28 November 2026, 10:00 CET"``, ``"28 novembre 2026, 10:00 UTC+1"``,
    ``"2026年11月28日 GMT+3 12:00"``. The zone is the abbreviation the language
    commonly uses for it (CLDR data) when there is one, otherwise the offset
    from GMT/UTC in that language's notation, so the instant is never
    ambiguous. Raises ``ValueError`` for a naive datetime and
    ``zoneinfo.ZoneInfoNotFoundError`` for an unknown zone name.
    """
    local, zone = _local(moment, tz)
    locale = _locale(lang)
    base = _language(lang)
    label = _zone_label(local, base, locale)
    time_text = babel_dates.format_time(
        local, _time_pattern(locale, label), tzinfo=zone, locale=locale
    )
    date_text = babel_dates.format_date(local.date(), "long", locale=locale)
    glue = str(locale.datetime_formats["long"]).replace("'", "")
    return glue.replace("{0}", str(time_text)).replace("{1}", str(date_text))


def format_month(year: int, month: int, lang: str) -> str:
    """A month of a year as a heading says it: ``November 2026``, ``novembre 2026``."""
    name: str = babel_dates.format_skeleton("yMMMM", datetime(year, month, 1), locale=_locale(lang))
    return name[:1].upper() + name[1:]


def month_name(month: int, lang: str) -> str:
    """A month's name on its own, as in a list of months: ``November``, ``ноябрь``."""
    names = babel_dates.get_month_names("wide", context="stand-alone", locale=_locale(lang))
    name = str(names[month])
    return name[:1].upper() + name[1:]


def og_locale(lang: str) -> str:
    """``fr`` → ``fr_FR``: the language with its likeliest territory, as OpenGraph writes
    a locale (``zh`` → ``zh_CN``, ``ar`` → ``ar_EG``)."""
    locale = _locale(lang)  # en: en_GB, the conventions the newsroom writes English in
    if not locale.territory:
        locale = Locale.parse(babel.core.get_global("likely_subtags").get(locale.language, "und"))
    return f"{locale.language}_{locale.territory}" if locale.territory else locale.language


def _zone_label(local: datetime, base: str, locale: Locale) -> str:
    """``"CET"``, ``"BST"``, ``"EST"``... or ``"GMT+3"``, ``"UTC+5:30"``, ``"غرينتش‎+3"``."""
    for name in _ZONE_NAME_LOCALES.get(base, (str(locale),)):
        short = babel_dates.get_timezone_name(local, "short", locale=name)
        # Babel falls back to the long name or to "+0300" when the language
        # has no abbreviation for this zone; neither is an abbreviation.
        if short not in (
            babel_dates.get_timezone_name(local, "long", locale=name),
            babel_dates.get_timezone_gmt(local, "short", locale=name),
        ):
            return str(short)
    return _gmt_offset(local.utcoffset() or timedelta(0), locale)


def _gmt_offset(offset: timedelta, locale: Locale) -> str:
    """The locale's short GMT format: ``GMT+3``, ``UTC-3:30``, ``GMT`` for zero."""
    pattern = str(locale.zone_formats["gmt"])
    minutes = round(offset.total_seconds() / 60)
    if minutes == 0:
        return (pattern % "").strip()
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    amount = f"{sign}{hours}:{minutes:02d}" if minutes else f"{sign}{hours}"
    if locale.text_direction == "rtl" and _LRM not in pattern:
        amount = _LRM + amount
    return pattern % amount


def _time_pattern(locale: Locale, zone_label: str) -> str:
    """The locale's short time pattern with the zone written as ``zone_label``.

    The clock (``HH:mm``, ``h:mm a``...) is the locale's short time; the zone
    goes where the locale's long time pattern puts it: after the time in most
    languages (``HH:mm 'CET'``), before it in Chinese (``'CET' HH:mm``).
    """
    short = str(locale.time_formats["short"].pattern)
    long = str(locale.time_formats["long"].pattern)
    quoted = "'" + zone_label.replace("'", "''") + "'"
    if long.lstrip()[:1] in _ZONE_FIELDS:
        return f"{quoted} {short}"
    return f"{short} {quoted}"


_COLONS = {"fr": "\u202f:", "zh": "\uff1a"}


def colon(lang: str) -> str:
    """The colon after a label as the language writes it ("Téléphone :" in French)."""
    return _COLONS.get(lang.replace("_", "-").split("-")[0].lower(), ":")


@functools.cache
def _territories(lang: str) -> dict[str, str]:
    return dict(Locale.parse(lang).territories)


def region_name(regions: RegionTree, slug: str, lang: str) -> str:
    """A region's name in ``lang`` (CLDR territory names: "Biélorussie"), else its English name."""
    region = regions.get(slug)
    return str(_territories(lang).get(region.alpha2 or region.code, region.name))


# The comma between a dateline and its date, and between names in a list, where the
# language's own differs from ", ": the Arabic comma, the Chinese full-width comma.
_COMMAS = {
    "ar": "\u060c ",
    "fa": "\u060c ",
    "ur": "\u060c ",
    "zh": "\uff0c",
    "ja": "\u3001",
}


def comma(lang: str) -> str:
    """The comma between a dateline and its date, or between names in a list."""
    return _COMMAS.get(lang.replace("_", "-").split("-")[0].lower(), ", ")


def negotiate(header: str, available: Sequence[str]) -> str | None:
    """The first of ``available`` (ISO 639-1 codes) that ``Accept-Language`` asks for.

    Language ranges are taken by quality, then in the order written; a regional tag
    asks for its language (``fr-CA`` → ``fr``). ``q=0``, malformed qualities and ``*``
    choose nothing, so the caller's fallback applies. None when nothing matches.
    """
    for tag in _ranges(header):
        base = tag.split("-", 1)[0]
        if base in available:
            return base
    return None


def _ranges(header: str) -> list[str]:
    """Language ranges of an ``Accept-Language`` value, best first, lower case."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.partition(";")
        tag = tag.strip().lower().replace("_", "-")
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        if 0.0 < quality <= 1.0:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]
