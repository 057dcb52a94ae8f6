"""The newsroom's vocabulary: what a language code, a slug and an address may be.

One definition each, for every surface that takes them (config.toml, release files,
subscriber lists, the subscription form, the API, the console's levers).
"""

from __future__ import annotations

import functools
import re

from babel import Locale, UnknownLocaleError
from email_validator import EmailNotValidError, validate_email

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
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"{text!r} is not a valid address: {exc}") from None
