"""Pages of a list: ``?page=N``, 20 entries each, and the links between them.

Page 1 has no ``page`` in its address, so the list's address stays the one people
bookmarked. A page number past the last one, zero or anything but digits is a 404,
never an empty page: a crawler following ``rel="next"`` must come to an end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["PER_PAGE", "Pager", "pager"]

#: Releases on one page of a list.
PER_PAGE = 20
_MAX_DIGITS = 9  # no list has a billion pages: a longer number is a typo or a probe

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Pager:
    """Page ``number`` of ``pages``, over ``total`` items."""

    number: int
    pages: int
    total: int
    per_page: int = PER_PAGE

    def window(self, items: Sequence[T]) -> Sequence[T]:
        start = (self.number - 1) * self.per_page
        return items[start : start + self.per_page]

    def links(self, url: Callable[[int | None], str]) -> dict[str, object]:
        """What the templates show: ``url(n)`` is page ``n``'s address (``None``: page 1)."""

        def at(n: int) -> str:
            return url(None if n == 1 else n)

        return {
            "number": self.number,
            "pages": self.pages,
            "previous": at(self.number - 1) if self.number > 1 else "",
            "next": at(self.number + 1) if self.number < self.pages else "",
        }


def pager(total: int, raw: str | None, per_page: int = PER_PAGE) -> Pager | None:
    """The page ``raw`` (the ``page`` parameter) asks for, or None when there is no such page.

    An empty list has one page, the one that says there is nothing.
    """
    number = 1
    if raw is not None:
        if not (raw.isascii() and raw.isdigit()) or len(raw) > _MAX_DIGITS:
            return None
        number = int(raw)
    pages = max((total + per_page - 1) // per_page, 1)
    if not 1 <= number <= pages:
        return None
    return Pager(number, pages, total, per_page)
