# ruff: noqa: RUF001, RUF002  (names and examples in six scripts)
"""What countries are called, per language: the table :mod:`.countries` matches against.

Names come from three places, most trusted first: our own aliases (the short forms
newsrooms write, RDC, США, EE. UU., 美国), CLDR through Babel (``Locale.territories``),
and pycountry (ISO 3166-1 names and their translations). When two countries claim the
same name at the same level of trust, the name is ambiguous (Korea, Virgin Islands) and
nobody gets it. Only codes pycountry lists are countries: CLDR's regions ("001", "EU")
and private codes ("XK", "ZZ") are left out.

Names are compared *folded*: case-folded, accents and Arabic vowel marks dropped,
apostrophes and dashes unified, so ``Côte d’Ivoire`` and ``COTE D'IVOIRE`` are one name.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import pycountry
from babel import Locale

__all__ = ["NameInfo", "fold", "fold_with_origin", "key", "names", "words"]

_WORD = re.compile(r"\w+")
_APOSTROPHES = frozenset("'’‘ʼ`´′‛")
_ARABIC = {"ى": "ي", "ی": "ي", "ک": "ك", "ـ": ""}  # alif maqsura, Persian yeh and kaf, tatweel
_PARENTHESIS = re.compile(r"\s*[(（]([^)）]*)[)）]")

# The short forms newsrooms write that CLDR and ISO do not give, and phrases that
# contain a country's name without being about it (None: matched, then dropped, so
# "New Mexico" does not report Mexico). Aliases win over every other source.
_ALIASES: dict[str, dict[str, str | None]] = {
    "en": {
        "US": "US", "U.S.": "US", "USA": "US", "U.S.A.": "US",
        "UK": "GB", "U.K.": "GB", "Britain": "GB", "Great Britain": "GB",
        "England": "GB", "Scotland": "GB", "Wales": "GB", "Northern Ireland": "GB",
        "DRC": "CD", "DR Congo": "CD", "D.R. Congo": "CD", "Congo-Kinshasa": "CD",
        "Democratic Republic of Congo": "CD", "Democratic Republic of the Congo": "CD",
        "Congo": "CG", "Republic of Congo": "CG", "Republic of the Congo": "CG",
        "Congo-Brazzaville": "CG",
        "Ivory Coast": "CI", "Burma": "MM", "Czech Republic": "CZ", "Turkey": "TR",
        "UAE": "AE", "South Korea": "KR", "North Korea": "KP", "DPRK": "KP",
        "Macedonia": "MK", "Swaziland": "SZ", "Cape Verde": "CV", "East Timor": "TL",
        "Palestine": "PS", "West Bank": "PS", "Gaza": "PS", "Gaza Strip": "PS",
        "Vatican": "VA", "Holy See": "VA", "Holland": "NL", "Hong Kong": "HK",
        "Macau": "MO", "Macao": "MO", "Bosnia": "BA", "Kyrgyz Republic": "KG",
        "South Georgia": "GS",
        "New Mexico": None, "New Guinea": None, "Gulf of Guinea": None, "Guinea worm": None,
        "New Jersey": None, "Jersey City": None, "Niger Delta": None, "Niger River": None,
        "New South Wales": None, "State of Georgia": None,
    },
    "fr": {
        "RDC": "CD", "RD Congo": "CD", "République démocratique du Congo": "CD",
        "Congo": "CG", "République du Congo": "CG",
        "Émirats": "AE", "USA": "US", "Grande-Bretagne": "GB", "Angleterre": "GB",
        "Écosse": "GB", "Pays de Galles": "GB", "Irlande du Nord": "GB", "Belarus": "BY",
        "Macédoine": "MK", "Fédération de Russie": "RU", "Palestine": "PS",
        "Cisjordanie": "PS", "Gaza": "PS", "bande de Gaza": "PS", "Vatican": "VA",
        "Saint-Siège": "VA", "Centrafrique": "CF", "RCA": "CF", "Kirghizistan": "KG",
        "Hong Kong": "HK", "Macao": "MO", "Swaziland": "SZ", "Île Maurice": "MU",
        "Bosnie": "BA",
        "Nouvelle-Guinée": None, "Nouveau-Mexique": None, "golfe de Guinée": None,
    },
    "es": {
        "EE. UU.": "US", "EEUU": "US", "EUA": "US", "USA": "US",
        "Estados Unidos Mexicanos": "MX",
        "RDC": "CD", "RD Congo": "CD", "RD del Congo": "CD", "Congo-Kinshasa": "CD",
        "Congo-Kinsasa": "CD", "Congo-Brazzaville": "CG",
        "Emiratos": "AE", "EAU": "AE", "Costa de Marfil": "CI", "Belarús": "BY",
        "Holanda": "NL", "Gran Bretaña": "GB", "Inglaterra": "GB", "Escocia": "GB",
        "Irlanda del Norte": "GB", "Macedonia": "MK", "Palestina": "PS",
        "Cisjordania": "PS", "Gaza": "PS", "Franja de Gaza": "PS", "Vaticano": "VA",
        "Santa Sede": "VA", "Guinea-Bissau": "GW", "Suazilandia": "SZ",
        "Hong Kong": "HK", "Macao": "MO",
        "Nueva Guinea": None, "Nuevo México": None, "golfo de Guinea": None,
    },
    "ru": {
        "США": "US", "РФ": "RU", "Англия": "GB", "Шотландия": "GB", "Уэльс": "GB",
        "Северная Ирландия": "GB", "Соединенное Королевство": "GB",
        "ДРК": "CD", "ДР Конго": "CD", "Демократическая Республика Конго": "CD",
        "Конго-Киншаса": "CD",
        "Конго": "CG", "Республика Конго": "CG", "Конго-Браззавиль": "CG",
        "Эмираты": "AE", "Белоруссия": "BY", "Республика Беларусь": "BY",
        "Южная Корея": "KR", "Северная Корея": "KP", "Берег Слоновой Кости": "CI",
        "Молдавия": "MD", "Кыргызстан": "KG", "Голландия": "NL", "Сектор Газа": "PS",
        "Западный берег": "PS", "Святой Престол": "VA", "Македония": "MK",
        "Гонконг": "HK", "Макао": "MO", "ЦАР": "CF", "Южная Африка": "ZA",
        "Центральноафриканская Республика": "CF",
        "Свазиленд": "SZ",
        "Новая Гвинея": None, "Нью-Мексико": None,
    },
    "ar": {
        "أمريكا": "US", "أميركا": "US", "الولايات المتحدة الأمريكية": "US",
        "الولايات المتحدة الأميركية": "US",
        "بريطانيا": "GB", "إنجلترا": "GB", "اسكتلندا": "GB", "أيرلندا الشمالية": "GB",
        "الإمارات": "AE", "السعودية": "SA",
        "جمهورية الكونغو الديمقراطية": "CD", "الكونغو الديمقراطية": "CD",
        "الكونغو الديموقراطية": "CD",
        "الكونغو": "CG", "جمهورية الكونغو": "CG",
        "سورية": "SY", "بيلاروسيا": "BY", "فلسطين": "PS", "الضفة الغربية": "PS",
        "قطاع غزة": "PS", "غزة": "PS", "بورما": "MM", "تشيكيا": "CZ",
        "كوت ديفوار": "CI", "هولندا": "NL", "هونغ كونغ": "HK", "ماكاو": "MO",
        # Bare عمان is also Amman and مالي is also "financial": only unambiguous forms.
        "سلطنة عمان": "OM", "جمهورية مالي": "ML",
        "غينيا الجديدة": None, "خليج غينيا": None,
    },
    "zh": {
        "民主刚果": "CD", "刚果金": "CD", "刚果": "CG", "刚果布": "CG",
        "沙特": "SA", "俄国": "RU", "英格兰": "GB", "苏格兰": "GB", "威尔士": "GB",
        "北爱尔兰": "GB", "大不列颠": "GB", "北韩": "KP", "南韩": "KR",
        "朝鲜民主主义人民共和国": "KP", "中国台湾": "TW", "台湾地区": "TW",
        "中国香港": "HK", "香港": "HK", "中国澳门": "MO", "澳门": "MO",
        "约旦河西岸": "PS", "加沙": "PS", "加沙地带": "PS", "象牙海岸": "CI",
        "印尼": "ID", "阿曼苏丹国": "OM", "捷克共和国": "CZ",
        # No spaces between words: a short name can sit inside a longer word
        # (沿海地区 "coastal area" holds 海地 Haiti, 增加纳税 holds 加纳 Ghana).
        "印度洋": None, "新几内亚": None, "几内亚湾": None, "马里兰": None, "马里奥": None,
        "朝鲜半岛": None, "内蒙古": None, "海地区": None, "增加纳": None, "参加纳": None,
        "苏丹国": None, "新墨西哥": None, "东南非": None, "廣東加": None,
        "宪法国": None, "合法国": None, "非法国": None, "违法国": None, "精英国": None,
        "道德国": None,
    },
}  # fmt: skip

# Names a source gives that mean something else more often than the country.
_DROPPED: dict[str, frozenset[str]] = {
    "ar": frozenset({"عمان", "مالي"}),
    "es": frozenset({"granada"}),  # the Spanish city, not Grenada
    "fr": frozenset({"grenade"}),
}

_AND = {"en": "and", "fr": "et", "es": "y", "ru": "и", "ar": "و"}
_PYCOUNTRY_LOCALES = {"zh": ("zh_CN", "zh_TW")}
_BABEL_LOCALES = {"zh": ("zh", "zh_Hant")}
_ALIAS, _CLDR, _ISO, _PART = range(4)  # trust, most trusted first


@dataclass(frozen=True, slots=True)
class NameInfo:
    """One folded name: the country it names (None: a phrase that names none)."""

    code: str | None
    acronym: bool  # written in capitals (USA, США): must be capitals in the text too
    trailing_dot: bool  # written with a final dot (U.S.): the dot belongs to the name


@cache
def _fold_char(char: str) -> str:
    if char in _APOSTROPHES:
        return "'"
    if unicodedata.category(char) == "Pd":
        return "-"
    if char in _ARABIC:
        return _ARABIC[char]
    decomposed = unicodedata.normalize("NFKD", char.casefold())
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(_ARABIC.get(c, c) for c in kept)


def fold_with_origin(text: str) -> tuple[str, list[int]]:
    """``text`` folded, and for each folded character the index it came from in ``text``."""
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for piece in _fold_char(char):
            folded.append(piece)
            origin.append(index)
    return "".join(folded), origin


def fold(text: str) -> str:
    return "".join(_fold_char(char) for char in text)


def words(folded: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(folded))


def key(name: str, language: str) -> tuple[str, ...]:
    """How a name is compared: its folded words, or for Chinese its folded characters."""
    folded = fold(name)
    if language == "zh":
        return ("".join(folded.split()),)
    return words(folded)


@cache
def names(language: str) -> dict[tuple[str, ...], NameInfo]:
    """Every name of a country in ``language``, by :func:`key`; built once per language."""
    claims: dict[tuple[str, ...], tuple[int, set[str | None], list[str]]] = {}
    dropped = _DROPPED.get(language, frozenset())
    for trust, written, code in _candidates(language):
        name_key = key(written, language)
        if not name_key or not name_key[0] or " ".join(name_key) in dropped:
            continue
        held = claims.get(name_key)
        if held is None or trust < held[0]:
            claims[name_key] = (trust, {code}, [written])
        elif trust == held[0]:
            held[1].add(code)
            held[2].append(written)
    table: dict[tuple[str, ...], NameInfo] = {}
    for name_key, (_, codes, written_forms) in claims.items():
        if len(codes) == 1:
            table[name_key] = NameInfo(
                code=next(iter(codes)),
                acronym=all(_is_acronym(w) for w in written_forms),
                trailing_dot=all(w.endswith(".") for w in written_forms),
            )
    return table


def _candidates(language: str) -> Iterator[tuple[int, str, str | None]]:
    countries = {country.alpha_2 for country in pycountry.countries}
    for written, code in _ALIASES.get(language, {}).items():
        yield _ALIAS, written, code
    for locale in _BABEL_LOCALES.get(language, (language,)):
        for code, name in Locale.parse(locale).territories.items():
            if code in countries:
                yield from _variants(_CLDR, name, code, language)
    for trust, name, code in _iso_names(language):
        yield from _variants(trust, name, code, language)


def _iso_names(language: str) -> Iterator[tuple[int, str, str]]:
    locales = _PYCOUNTRY_LOCALES.get(language, (language,))
    translations = [
        gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[locale], fallback=True)
        for locale in locales
    ]
    for country in pycountry.countries:
        english = [
            getattr(country, field, None) for field in ("name", "official_name", "common_name")
        ]
        for name in filter(None, english):
            if language == "en":
                yield from _uninverted(name, country.alpha_2)
                continue
            for translation in translations:
                translated = translation.gettext(name)
                if translated != name and "," not in translated:
                    yield _ISO, translated, country.alpha_2


def _uninverted(name: str, code: str) -> Iterator[tuple[int, str, str]]:
    """ISO's "Korea, Republic of" as written in a sentence, and "the" dropped in front."""
    if name.lower().startswith("the "):
        name = name[4:]
    if ", " not in name:
        yield _ISO, name, code
        return
    head, tail = name.split(", ", 1)
    if tail.endswith((" of", " of the")) or " " not in tail:
        yield _ISO, f"{tail} {head}", code
    yield _PART, head, code


def _variants(trust: int, name: str, code: str, language: str) -> Iterator[tuple[int, str, str]]:
    """A name, "&" spelled out, and a parenthesised alternative (Myanmar (Burma))."""
    if "&" in name and language in _AND:
        yield trust, name.replace("&", _AND[language]), code
    if language == "zh":
        yield trust, name, code
        return
    inner = _PARENTHESIS.search(name)
    if inner is None:
        yield trust, name, code
        return
    yield trust, _PARENTHESIS.sub("", name), code
    if len(words(fold(inner.group(1)))) == 1:  # "Burma", not "French part"
        yield _PART, inner.group(1), code


def _is_acronym(written: str) -> bool:
    letters = [c for c in written if c.isalpha()]
    return 2 <= len(letters) <= 5 and all(c.isupper() for c in letters)
