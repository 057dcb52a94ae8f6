# ruff: noqa: RUF001, RUF002  (names and examples in six scripts)
"""The case forms of a Russian country name's word: Украина → Украины, Украине, Украину…

Not a grammar: the word's ending says which family it declines like (a feminine noun
in -а or -ия, a noun in -ь, a consonant, a plural, an adjective) and the family's
endings are all allowed, including a few that are not Russian words. They can only
match text that is not Russian either. Foreign names in a vowel (Конго, Гаити, Перу)
do not decline. Works on folded words (й → и, ё → е), as the matcher compares them.
"""

from __future__ import annotations

from pressdispatch.intake.country_names import fold

__all__ = ["russian_forms"]


def _endings(spelled: str) -> tuple[str, ...]:
    return tuple(fold(ending) for ending in spelled.split(","))


# (how the word ends, how many letters make the ending, the endings it takes)
_FAMILIES: tuple[tuple[tuple[str, ...], int, tuple[str, ...]], ...] = (
    (_endings("ые,ие"), 2, _endings("ые,ие,ых,их,ым,им,ыми,ими")),  # Соединенные
    (_endings("ое,ее"), 2, _endings("ое,ее,ого,его,ому,ему,ым,им,ом,ем")),  # Соединенное
    (_endings("ый,ий,ой"), 2, _endings("ый,ий,ой,ого,его,ому,ему,ым,им,ом,ем")),  # Южный
    (_endings("ая,яя"), 2, _endings("ая,яя,ой,ей,ую,юю,ою,ею")),  # Экваториальная
    (_endings("ство"), 1, _endings("о,а,у,е,ом")),  # Королевство
    (_endings("ия"), 1, _endings("я,и,ю,ей,ею")),  # Россия
    (_endings("я"), 1, _endings("я,и,е,ю,ей,ею")),  # Гвинея
    (_endings("а"), 1, _endings("а,ы,и,е,у,ой,ою,ов,ам,ами,ах")),  # Украина, Острова
    (_endings("ы"), 1, _endings("ы,ов,ам,ами,ах,ых,ым,ыми")),  # Штаты, Филиппины
    (_endings("ь"), 1, _endings("ь,и,ью,я,ю,е,ем")),  # Беларусь, Израиль
    (_endings("ай,уй"), 1, _endings("й,я,ю,е,ем")),  # Китай, Парагвай
)
_INVARIABLE_END = frozenset(fold("аоуыэеёиюя"))
_CONSONANT_ENDINGS = _endings(",а,у,е,ом")  # Казахстан


def russian_forms(word: str) -> set[str]:
    """The folded forms of one folded word of a Russian country name, the word included."""
    if len(word) <= 2 or not word.isalpha():
        return {word}  # и, д (Кот-д'Ивуар)
    for ends, cut, endings in _FAMILIES:
        if word.endswith(ends):
            stem = word[:-cut]
            return {stem + ending for ending in endings} | {word}
    if word[-1] in _INVARIABLE_END:
        return {word}
    return {word + ending for ending in _CONSONANT_ENDINGS}
