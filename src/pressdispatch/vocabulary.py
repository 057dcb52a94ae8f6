"""The newsroom's vocabulary: what a language code, a slug and an address may be.

One definition each, for every surface that takes them (config.toml, release files,
subscriber lists, the subscription form, the API, the console's levers).
"""

from __future__ import annotations

import functools
import re

from babel import Locale, UnknownLocaleError
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from pressdispatch.characters import bad_character
from pressdispatch.errors import UnknownLanguage

__all__ = [
    "SLUG",
    "TOPIC",
    "check_topic",
    "normalize_address",
    "normalize_language",
    "normalize_topic",
]

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")  # release ids, topics, list names
TOPIC = SLUG
_ISO_639_1 = re.compile(r"[a-z]{2}")


def normalize_language(code: str) -> str:
    """Return the ISO 639-1 code ``code`` stands for, in lower case.

    Surrounding blanks and case are ignored (``" FR "`` gives ``"fr"``). The code
    must be exactly two letters and a language Babel has data for; anything
    else (``"xx"``, ``"fra"``, ``"fr-CA"``, ``""``) raises :class:`UnknownLanguage`.
    """
    candidate = code.strip().lower()
    if not _ISO_639_1.fullmatch(candidate) or not _babel_knows(candidate):
        raise UnknownLanguage(code)
    return candidate


@functools.cache  # two letters: at most 676 entries; every CSV cell asks
def _babel_knows(language: str) -> bool:
    try:
        Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return False
    return True


def check_topic(topic: str) -> str:
    """``" Health "`` → ``"health"``. Raises ValueError for anything but a slug."""
    text = topic.strip().lower()
    if not TOPIC.match(text):
        raise ValueError(f"{text!r} must be a slug: lowercase letters, digits, hyphens")
    return text


def normalize_topic(topic: str | None) -> str | None:
    """An optional topic (a query parameter, a form field): empty → None, else ``check_topic``."""
    if topic is None or not topic.strip():
        return None
    return check_topic(topic)


def normalize_address(value: str) -> str:
    """The bare address, normalised (the domain in lowercase); ValueError says what is wrong.

    Syntax only (email-validator, no DNS lookup), and no control character.
    """
    text = value.strip()
    if not text:
        raise ValueError("empty")
    bad = bad_character(text, tab=False)
    if bad is not None:
        raise ValueError(bad.message())
    quick = _plain_address(text)
    if quick is not None:
        return quick
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"{text!r} is not a valid address: {exc}") from None


# A dot-atom of ASCII: what email-validator keeps as written (RFC 5322 atext).
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_MAX_LOCAL = 64  # octets before the @ (RFC 5321), as email-validator counts them
_MAX_ADDRESS = 254


def _plain_address(text: str) -> str | None:
    """The normalised address when it is the common kind, else None (ask email-validator).

    Checking the domain is most of email-validator's work (its IDNA rules, one
    character at a time), and a list of 100,000 journalists names a few thousand
    domains at most: each domain is checked once, and an ASCII dot-atom before the
    @ needs only a pattern. Whatever is not that plain (quotes, non-ASCII, a
    role name that email-validator lowercases, a length near the limits) takes
    the full path, so the answer is always email-validator's.
    """
    local, at, domain = text.partition("@")
    if (
        not at
        or len(local) > _MAX_LOCAL
        or len(text) > _MAX_ADDRESS
        or _PLAIN_LOCAL.fullmatch(local) is None
        or local.lower() in CASE_INSENSITIVE_MAILBOX_NAMES
    ):
        return None
    normalized = _plain_domain(domain)
    if normalized is None or len(local) + 1 + len(normalized) > _MAX_ADDRESS:
        return None
    return f"{local}@{normalized}"


@functools.lru_cache(maxsize=4096)
def _plain_domain(domain: str) -> str | None:
    """``domain`` as email-validator normalises it, when valid and ASCII; else None."""
    try:
        checked = validate_email(f"x@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    plain = checked.local_part == "x" and checked.domain == checked.ascii_domain
    return checked.domain if plain else None
