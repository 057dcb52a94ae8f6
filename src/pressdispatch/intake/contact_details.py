"""The phones, addresses and leftover words in one piece of a media-contact block."""

# ruff: noqa: RUF001  (the phrases, labels and punctuation of six languages are meant)

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import Leniency, PhoneNumberFormat, PhoneNumberMatcher

from pressdispatch.vocabulary import normalize_address

__all__ = ["Details", "read_details"]


@dataclass(frozen=True, slots=True)
class Details:
    """What one piece says: free text (a name, a role), phones (international), addresses."""

    text: str
    phones: tuple[str, ...]
    emails: tuple[str, ...]


_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>@])")
_OBFUSCATED_AT = re.compile(r"\s*[\[({]\s*(?:at|arobase|собака)\s*[\])}]\s*", re.IGNORECASE)
_OBFUSCATED_DOT = re.compile(r"\s*[\[({]\s*(?:dot|point|точка)\s*[\])}]\s*", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.!#$%&'*+=?^`{}~-]+@[\w-]+(?:\.[\w-]+)+")
# Most of the world dials "00" before a country code; phonenumbers needs the "+" to
# place a number when the page's country is unknown.
_DOUBLE_ZERO = re.compile(r"(?<![\w+])00\s?(?=[1-9])")
_FAX = re.compile(r"(?i)(?<!\w)(?:fax|telefax|факс|فاكس|传真)(?!\w)")
_PHONE_WORDS = (
    r"tel|tél|tele?phone|téléphone|teléfono|telefono|phone|mobile?|mob|cell|portable|móvil|"
    r"movil|celular|тел|телефон|моб|мобильный|هاتف|الهاتف|جوال|الجوال|محمول|电话|手机"
)
_OTHER_WORDS = (
    r"fax|e-?mail|mail|courriel|correo(?:\s+electr[oó]nico)?|факс|эл\.\s*почта|"
    r"электронная\s+почта|فاكس|البريد\s+الإلكتروني|بريد\s+إلكتروني|传真|电邮|邮箱|电子邮件|邮件"
)
_PHONE_LABEL = re.compile(rf"(?i)(?<!\w)(?:{_PHONE_WORDS}|t|m)\b\.?\s*[:：]?")
_RAW_PHONE = re.compile(r"\+?\(?\d[\d\s().\-/]{5,}\d")
_LABEL = re.compile(
    rf"(?i)(?<!\w)(?:{_PHONE_WORDS}|{_OTHER_WORDS}|联系人|contact|contacto|контакт|"
    r"name|nom|nombre|имя|姓名|الاسم|t|m|e|w)\.?\s*[:：]"
)
# What may hang at the end of a name once its number or address is taken out
# ("Jane Doe at", "Ana Ruiz, tel.").
_TRAILING_WORDS = re.compile(
    rf"(?i)(?:^|[\s,;:(]+)(?:{_PHONE_WORDS}|{_OTHER_WORDS}|at|on|via|à|au|par|al|en|a|по|на|"
    r"address|adresse|direcci[oó]n|адресу?|number|numéro|número|номеру|телефону|"
    r"على|في)\.?[\s:：)]*$"
)
_EDGES = " ,;:：.。|/·•–—-"
_MARKUP = re.compile(r"<[^<>\n]*>|\"?mailto:|href=|[<>\"`]|(?<!\w)@\w+|https?://\S+|www\.\S+")


def read_details(piece: str) -> Details:
    """The phones and addresses in ``piece`` and what is left of it once they are taken out."""
    text = _unmark(piece)
    emails, text = _take_emails(text)
    phones, text = _take_phones(text)
    return Details(_leftover(text), phones, emails)


def _unmark(piece: str) -> str:
    def link(match: re.Match[str]) -> str:
        label, target = match.group(1), match.group(2)
        if target.lower().startswith("mailto:"):
            return f"{label} {target[len('mailto:') :]}"
        return label

    text = html.unescape(_MD_LINK.sub(link, piece))
    text = _MD_ESCAPE.sub(r"\1", text)
    text = _OBFUSCATED_AT.sub("@", text)
    return _OBFUSCATED_DOT.sub(".", text) if "@" in text else text


def _take_emails(text: str) -> tuple[tuple[str, ...], str]:
    found: list[str] = []
    for match in _EMAIL.finditer(text):
        try:
            address = normalize_address(match.group().strip(".'"))
        except ValueError:
            continue
        if address not in found:
            found.append(address)
    return tuple(found), _EMAIL.sub(" ", text)


def _take_phones(text: str) -> tuple[tuple[str, ...], str]:
    text = _DOUBLE_ZERO.sub("+", text)
    matches = list(PhoneNumberMatcher(text, None, leniency=Leniency.VALID))
    if not matches:
        matches = list(PhoneNumberMatcher(text, None, leniency=Leniency.POSSIBLE))
    found: list[str] = []
    kept: list[str] = []
    start = 0
    for match in matches:
        kept.append(text[start : match.start])
        if not _FAX.search(text[start : match.start]):
            number = phonenumbers.format_number(match.number, PhoneNumberFormat.INTERNATIONAL)
            if number not in found:
                found.append(number)
        start = match.end
    kept.append(text[start:])
    rest = " ".join(kept)
    if not found:
        # A labelled number phonenumbers cannot place (no country code) is kept as
        # written rather than lost with the block.
        label = _PHONE_LABEL.search(rest)
        raw = _RAW_PHONE.search(rest, label.end()) if label else None
        if raw is not None and not _FAX.search(rest[: raw.start()]):
            found.append(" ".join(raw.group().split()))
            rest = rest[: raw.start()] + " " + rest[raw.end() :]
    return tuple(found), rest


def _leftover(text: str) -> str:
    text = _LABEL.sub(" ", _MARKUP.sub(" ", text))
    text = re.sub(r"\*\*|__|(?<!\w)[*_]|[*_](?!\w)", "", text)
    text = re.sub(r"\(\s*[,;:/]*\s*\)", " ", text)
    if text.count("(") != text.count(")"):
        text = text.replace("(", " ").replace(")", " ")
    text = " ".join(text.split()).strip(_EDGES)
    while (shorter := _TRAILING_WORDS.sub("", text)) != text:
        text = shorter.strip(_EDGES)
    return text if any(c.isalnum() for c in text) else ""
