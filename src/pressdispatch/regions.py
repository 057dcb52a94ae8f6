"""The UN M49 region hierarchy: world → regions → sub-regions → countries.

Releases and subscribers name regions by canonical *slug*: a lowercase ISO 3166-1
alpha-2 code for a country or area (``"by"``) or the hyphenated English name of an
M49 region (``"eastern-europe"``). :meth:`RegionTree.resolve` turns what people
type (``"BY"``, ``"Eastern Europe"``, ``"151"``) into a slug.

The product rule is *overlap*: a subscriber following a region gets releases about
anything inside it, and also releases about any region that contains what they
follow — someone following ``BY`` gets a release about ``eastern-europe``, but not
one about ``fr``.

The data is ``data/m49.json``: one object per node, parents before children. Pure
module: no I/O beyond reading that packaged file once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from pressdispatch.errors import UnknownRegion

__all__ = ["ROOT", "Region", "RegionTree", "load_regions"]

ROOT = "world"

_SEPARATORS = re.compile(r"[\s_-]+")
_M49_CODE = re.compile(r"[0-9]{3}")
_ALPHA2 = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True, slots=True)
class Region:
    """One node of the M49 hierarchy."""

    slug: str  # "eastern-europe" or "by"
    code: str  # M49 numeric code, three digits: "151"
    name: str  # English name: "Eastern Europe" / "Belarus"
    parent: str | None  # parent slug; None only for "world"
    alpha2: str | None  # ISO 3166-1 alpha-2 for countries and areas ("BY"); None for regions

    @property
    def is_country(self) -> bool:
        return self.alpha2 is not None


class RegionTree:
    """An immutable, validated region hierarchy with precomputed ancestor sets."""

    __slots__ = ("_ancestor_sets", "_ancestors", "_by_code", "_children", "_order", "_regions")

    def __init__(self, regions: Iterable[Region]) -> None:
        by_slug: dict[str, Region] = {}
        by_code: dict[str, str] = {}
        by_alpha2: set[str] = set()
        for region in regions:
            _check_region(region)
            if region.slug in by_slug:
                raise ValueError(f"duplicate region slug {region.slug!r}")
            if region.code in by_code:
                raise ValueError(f"duplicate M49 code {region.code!r}")
            if region.alpha2 is not None:
                if region.alpha2 in by_alpha2:
                    raise ValueError(f"duplicate alpha-2 code {region.alpha2!r}")
                by_alpha2.add(region.alpha2)
            by_slug[region.slug] = region
            by_code[region.code] = region.slug

        roots = [r.slug for r in by_slug.values() if r.parent is None]
        if roots != [ROOT]:
            raise ValueError(f"expected exactly one root {ROOT!r}, found {roots!r}")

        children: dict[str, list[Region]] = {slug: [] for slug in by_slug}
        for region in by_slug.values():
            if region.parent is not None:
                if region.parent not in by_slug:
                    raise ValueError(f"{region.slug!r} has unknown parent {region.parent!r}")
                children[region.parent].append(region)

        # Depth-first from the root, children in input order. Anything not reached
        # from the root sits on a parent cycle.
        order: list[Region] = []
        ancestors: dict[str, tuple[str, ...]] = {}
        stack: list[tuple[Region, tuple[str, ...]]] = [(by_slug[ROOT], ())]
        while stack:
            region, above = stack.pop()
            chain = (region.slug, *above)
            ancestors[region.slug] = chain
            order.append(region)
            stack.extend((child, chain) for child in reversed(children[region.slug]))
        if len(order) != len(by_slug):
            stray = sorted(set(by_slug) - set(ancestors))
            raise ValueError(f"regions not reachable from {ROOT!r} (parent cycle): {stray!r}")

        self._regions: Mapping[str, Region] = by_slug
        self._by_code: Mapping[str, str] = by_code
        self._order: tuple[Region, ...] = tuple(order)
        self._children: Mapping[str, tuple[Region, ...]] = {
            slug: tuple(kids) for slug, kids in children.items()
        }
        self._ancestors: Mapping[str, tuple[str, ...]] = ancestors
        self._ancestor_sets: Mapping[str, frozenset[str]] = {
            slug: frozenset(chain) for slug, chain in ancestors.items()
        }

    @classmethod
    def from_json(cls, text: str) -> RegionTree:
        """Build a tree from the ``m49.json`` format: a list of node objects."""
        raw: Any = json.loads(text)
        if not isinstance(raw, list):
            raise TypeError("region data must be a JSON list of objects")
        return cls(_region_from_json(item) for item in raw)

    # -- lookup ---------------------------------------------------------------------

    def resolve(self, token: str) -> str:
        """Return the canonical slug for an alpha-2 code, a slug or name, or an M49 code.

        Accepted, case-insensitively and ignoring surrounding whitespace: ``"BY"``,
        ``"by"``, ``"eastern-europe"``, ``"Eastern Europe"``, ``"eastern_europe"``,
        ``"151"``. Raises :class:`UnknownRegion` for anything else, including ``""``.
        """
        text = token.strip()
        if _M49_CODE.fullmatch(text):
            slug = self._by_code.get(text)
        else:
            slug = "-".join(part for part in _SEPARATORS.split(text.lower()) if part)
        if slug is None or slug not in self._regions:
            raise UnknownRegion(token)
        return slug

    def get(self, slug: str) -> Region:
        """The region with this canonical slug; :class:`KeyError` if there is none."""
        return self._regions[slug]

    def __contains__(self, slug: object) -> bool:
        return isinstance(slug, str) and slug in self._regions

    def __iter__(self) -> Iterator[Region]:
        """Every region: ``world`` first, then depth-first in data-file order."""
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def countries(self) -> Iterator[Region]:
        """Every country or area (a node with an alpha-2 code), in :meth:`__iter__` order."""
        return (region for region in self._order if region.alpha2 is not None)

    def children(self, slug: str) -> tuple[Region, ...]:
        """The direct children of ``slug``; :class:`KeyError` for an unknown slug."""
        return self._children[slug]

    # -- containment ----------------------------------------------------------------

    def ancestors(self, slug: str) -> tuple[str, ...]:
        """``slug`` itself, then its parent, and so on up to ``"world"``."""
        return self._ancestors[slug]

    def contains(self, outer: str, inner: str) -> bool:
        """True if ``outer`` is ``inner`` or one of its ancestors."""
        if outer not in self._regions:
            raise KeyError(outer)
        return outer in self._ancestor_sets[inner]

    def overlaps(self, a: str, b: str) -> bool:
        """True if either region contains the other."""
        return a in self._ancestor_sets[b] or b in self._ancestor_sets[a]

    def matches(self, wanted: Iterable[str], offered: Iterable[str]) -> bool:
        """True if any slug in ``wanted`` overlaps any slug in ``offered``.

        Empty on either side is False: callers that treat "no regions" as
        "everywhere" must say so before calling (e.g. pass ``("world",)``).
        Unknown slugs raise :class:`KeyError`.
        """
        sets = self._ancestor_sets
        wanted_set = wanted if isinstance(wanted, (set, frozenset)) else set(wanted)
        if not wanted_set:
            return False
        # Regions that contain some wanted slug (each wanted slug's ancestor chain).
        above_wanted: set[str] = set()
        for slug in wanted_set:
            above_wanted.update(sets[slug])
        for slug in offered:
            # offered contains a wanted slug, or a wanted slug contains offered.
            if slug in above_wanted or not sets[slug].isdisjoint(wanted_set):
                return True
        return False


def _check_region(region: Region) -> None:
    if not region.slug or region.slug != region.slug.strip().lower():
        raise ValueError(f"region slug {region.slug!r} must be non-empty lowercase")
    if not _M49_CODE.fullmatch(region.code):
        raise ValueError(f"{region.slug!r}: M49 code {region.code!r} must be three digits")
    if region.alpha2 is not None and (
        not _ALPHA2.fullmatch(region.alpha2) or region.slug != region.alpha2.lower()
    ):
        raise ValueError(f"{region.slug!r}: bad alpha-2 code {region.alpha2!r}")
    if region.alpha2 is None and len(region.slug) == 2:
        raise ValueError(f"{region.slug!r}: two-letter slugs are reserved for alpha-2 codes")


def _region_from_json(item: Any) -> Region:
    if not isinstance(item, dict):
        raise TypeError(f"region entry must be an object, got {item!r}")
    slug, code, name = item.get("slug"), item.get("code"), item.get("name")
    parent, alpha2 = item.get("parent"), item.get("alpha2")
    if not (isinstance(slug, str) and isinstance(code, str) and isinstance(name, str)):
        raise TypeError(f"region entry needs string slug, code and name: {item!r}")
    if parent is not None and not isinstance(parent, str):
        raise TypeError(f"region {slug!r}: parent must be a string or null")
    if alpha2 is not None and not isinstance(alpha2, str):
        raise TypeError(f"region {slug!r}: alpha2 must be a string or absent")
    return Region(slug=slug, code=code, name=name, parent=parent, alpha2=alpha2)


@cache
def load_regions() -> RegionTree:
    """The packaged M49 hierarchy (``pressdispatch/data/m49.json``), loaded once."""
    text = (files("pressdispatch") / "data" / "m49.json").read_text(encoding="utf-8")
    return RegionTree.from_json(text)
