"""Which language a page is in: the codes a page declares, and the text's own evidence."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Protocol

from pressdispatch.errors import UnknownLanguage
from pressdispatch.vocabulary import normalize_language

__all__ = ["MIN_LETTERS", "detect_language", "language_of_tag"]

# Below this many letters py3langid's answer is a guess (a city name, "Merci").
MIN_LETTERS = 20
# The share of probability the offered languages must hold together: less means the
# text is more likely in a language the newsroom does not offer.
_OFFERED_MASS = 0.5
# How sure the best offered language must be among the offered ones.
_CONFIDENCE = 0.8
# The model tells regional varieties apart; a newsroom speaks of the macrolanguage.
_FOLD = {"ary": "ar", "arz": "ar", "wuu": "zh", "yue": "zh", "uzs": "uz", "hbo": "he"}
_TAG = re.compile(r"([A-Za-z]{2})(?:[-_][A-Za-z0-9]{1,8})*")
_WIDE = re.compile(r"[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def language_of_tag(tag: str) -> str | None:
    """``"fr-FR"``, ``"fr_FR"``, ``"FR"`` → ``"fr"``; None for ``x-default``, ``"fra"``, ``""``."""
    match = _TAG.fullmatch(tag.strip())
    if match is None:
        return None
    try:
        return normalize_language(match.group(1))
    except UnknownLanguage:
        return None


def detect_language(text: str, offered: Sequence[str]) -> str | None:
    """py3langid restricted to ``offered`` (the newsroom's languages); None when unsure.

    None when the text has fewer than :data:`MIN_LETTERS` letters (a Chinese
    character counts as two), when the languages offered hold less than half of the
    model's belief (the text is in another language), or when the best of them is
    not clearly ahead of the others.
    """
    if _letters(text) < MIN_LETTERS:
        return None
    scores: dict[str, float] = {}
    for label, probability in _identifier().rank(text):
        code = _FOLD.get(label, label)
        scores[code] = scores.get(code, 0.0) + probability
    candidates = {code: scores.get(code, 0.0) for code in offered}
    mass = sum(candidates.values())
    if mass < _OFFERED_MASS:
        return None
    best = max(candidates, key=candidates.__getitem__)
    return best if candidates[best] / mass >= _CONFIDENCE else None


def _letters(text: str) -> int:
    wide = len(_WIDE.findall(text))
    return sum(1 for c in text if c.isalpha()) + wide  # a wide character counted once more


class _Ranker(Protocol):
    def rank(self, text: str) -> list[tuple[str, float]]: ...


@functools.cache  # loading the model takes about a second; ranking does not change it
def _identifier() -> _Ranker:
    # Probabilities (not raw scores), ranked over every language the model knows: the
    # share held by the offered ones is the restriction, and tells a foreign text apart.
    # Imported here: py3langid brings numpy, and only the importer needs it.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # noqa: PLC0415

    ranker: _Ranker = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return ranker
