"""What the choice forms offer: languages to number, regions and countries to tick.

Both work without JavaScript. Languages are one list of check boxes, each with a
position (1 is the language preferred), so the whole order is set in one go. Regions
are grouped by the five M49 regions (``<details>``, open where something is ticked),
each group listing its sub-regions and their countries by name in the page's
language; a script adds a filter box on top. What is sent is the canonical slug
(``"western-africa"``, ``"by"``), as a list row writes it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from pressdispatch.regions import ROOT, Region, RegionTree
from pressdispatch.render import i18n

__all__ = ["language_rows", "region_groups"]


def language_rows(languages: Sequence[str], chosen: Sequence[str]) -> list[dict[str, Any]]:
    """One row per language: the chosen ones first, in their order and numbered."""
    ordered = [code for code in chosen if code in languages]
    ordered += [code for code in languages if code not in ordered]
    return [
        {
            "code": code,
            "name": i18n.language_name(code),
            "checked": code in chosen,
            "position": ordered.index(code) + 1 if code in chosen else "",
        }
        for code in ordered
    ]


def region_groups(tree: RegionTree, lang: str, chosen: Collection[str]) -> list[dict[str, Any]]:
    """One group per child of the world: the region, its sub-regions and countries."""
    groups = []
    for top in tree.children(ROOT):
        options = [
            {
                "slug": region.slug,
                "name": name,
                "depth": depth,
                "checked": region.slug in chosen,
                # What the filter box matches: the name shown, the English one, the code.
                "terms": " ".join(dict.fromkeys((name, region.name, region.alpha2 or ""))),
            }
            for region, name, depth in _branch(tree, top, lang, 0)
        ]
        ticked = sum(1 for option in options if option["checked"])
        groups.append(
            {
                "slug": top.slug,
                "name": options[0]["name"],
                "options": options,
                "ticked": ticked,
            }
        )
    return groups


def _branch(
    tree: RegionTree, region: Region, lang: str, depth: int
) -> Iterator[tuple[Region, str, int]]:
    """``region``, then its sub-regions (in M49 order), then its countries by name."""
    yield region, i18n.region_name(tree, region.slug, lang), depth
    children = tree.children(region.slug)
    for child in children:
        if not child.is_country:
            yield from _branch(tree, child, lang, depth + 1)
    countries = [
        (child, i18n.region_name(tree, child.slug, lang)) for child in children if child.is_country
    ]
    for child, name in sorted(countries, key=lambda pair: _sort_key(pair[1])):
        yield child, name, depth + 1


def _sort_key(name: str) -> str:
    """Alphabetical for a reader: "Égypte" among the E, not after "Zimbabwe"."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))
