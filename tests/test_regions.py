"""The M49 hierarchy data file and the containment rule built on it."""

from __future__ import annotations

import json
from collections import Counter
from importlib.resources import files

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pressdispatch.errors import UnknownRegion
from pressdispatch.regions import Region, RegionTree, load_regions

TREE = load_regions()
SLUGS = [region.slug for region in TREE]

# UN M49 lists 249 countries or areas. Sark (680) has no ISO 3166-1 code and is
# left out; Taiwan is not listed by M49 (nor is Kosovo), so neither is here.
M49_AREAS_WITH_ALPHA2 = 248
M49_REGIONS = 31  # world, 5 regions, 17 sub-regions, 8 intermediate regions


# -- hierarchy sanity ------------------------------------------------------------


def test_load_regions_is_cached() -> None:
    assert load_regions() is TREE


def test_data_file_is_a_list_of_flat_objects() -> None:
    raw = json.loads((files("pressdispatch") / "data" / "m49.json").read_text(encoding="utf-8"))
    assert isinstance(raw, list)
    for item in raw:
        assert set(item) <= {"slug", "code", "name", "parent", "alpha2"}
        assert {"slug", "code", "name", "parent"} <= set(item)


def test_exactly_one_root_world_and_it_comes_first() -> None:
    roots = [region for region in TREE if region.parent is None]
    assert [r.slug for r in roots] == ["world"]
    assert next(iter(TREE)).slug == "world"
    assert TREE.get("world").code == "001"


def test_every_parent_exists_and_precedes_its_children() -> None:
    seen: set[str] = set()
    for region in TREE:
        if region.parent is not None:
            assert region.parent in TREE
            assert region.parent in seen, f"{region.slug} before its parent"
        seen.add(region.slug)


def test_no_duplicate_slugs_codes_or_alpha2() -> None:
    regions = list(TREE)
    for key in ("slug", "code", "alpha2"):
        values = [getattr(r, key) for r in regions if getattr(r, key) is not None]
        duplicates = [v for v, n in Counter(values).items() if n > 1]
        assert duplicates == [], key


def test_countries_have_alpha2_and_slug_is_its_lowercase() -> None:
    countries = list(TREE.countries())
    assert len(countries) == M49_AREAS_WITH_ALPHA2
    for country in countries:
        assert country.alpha2 is not None
        assert len(country.alpha2) == 2
        assert country.alpha2.isascii()
        assert country.alpha2.isupper()
        assert country.slug == country.alpha2.lower()
        assert TREE.children(country.slug) == ()


def test_regions_have_no_alpha2_and_hyphenated_slugs() -> None:
    regions = [r for r in TREE if r.alpha2 is None]
    assert len(regions) == M49_REGIONS
    assert len(TREE) == M49_REGIONS + M49_AREAS_WITH_ALPHA2
    for region in regions:
        assert region.slug == region.name.lower().replace(" ", "-")
        assert TREE.children(region.slug), f"{region.slug} has no members"


def test_codes_are_three_digits() -> None:
    for region in TREE:
        assert len(region.code) == 3
        assert region.code.isdigit()


def test_top_level_layout() -> None:
    assert [r.slug for r in TREE.children("world")] == [
        "africa",
        "americas",
        "asia",
        "europe",
        "oceania",
        "aq",
    ]
    assert [r.slug for r in TREE.children("africa")] == ["northern-africa", "sub-saharan-africa"]
    assert {r.slug for r in TREE.children("latin-america-and-the-caribbean")} == {
        "caribbean",
        "central-america",
        "south-america",
    }


def test_not_in_m49() -> None:
    for token in ("XK", "TW", "EU", "UK"):
        with pytest.raises(UnknownRegion):
            TREE.resolve(token)


def test_iteration_is_depth_first() -> None:
    order = [r.slug for r in TREE]
    # Every subtree is contiguous: a node's descendants follow it directly.
    for index, slug in enumerate(order):
        size = sum(1 for other in order if TREE.contains(slug, other))
        block = order[index : index + size]
        assert all(TREE.contains(slug, other) for other in block), slug


# -- resolve ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "slug"),
    [
        ("BY", "by"),
        ("by", "by"),
        ("By", "by"),
        (" fr ", "fr"),
        ("eastern-europe", "eastern-europe"),
        ("Eastern-Europe", "eastern-europe"),
        ("Eastern Europe", "eastern-europe"),
        ("eastern_europe", "eastern-europe"),
        ("EASTERN_EUROPE", "eastern-europe"),
        ("South-eastern Asia", "south-eastern-asia"),
        ("Latin America and the Caribbean", "latin-america-and-the-caribbean"),
        ("world", "world"),
        ("151", "eastern-europe"),
        ("001", "world"),
        ("419", "latin-america-and-the-caribbean"),
        ("112", "by"),
        ("010", "aq"),
        ("830", "channel-islands"),
    ],
)
def test_resolve(token: str, slug: str) -> None:
    assert TREE.resolve(token) == slug


@pytest.mark.parametrize(
    "token",
    ["", "   ", "-", "zz", "XX", "eastern", "europa", "Belarus", "1", "01", "999", "1510", "BLR"],
)
def test_resolve_unknown(token: str) -> None:
    with pytest.raises(UnknownRegion) as info:
        TREE.resolve(token)
    assert info.value.value == token


def test_unknown_region_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown region"):
        TREE.resolve("atlantis")


def test_get_and_contains() -> None:
    assert TREE.get("by") == Region(
        slug="by", code="112", name="Belarus", parent="eastern-europe", alpha2="BY"
    )
    assert TREE.get("eastern-europe").alpha2 is None
    with pytest.raises(KeyError):
        TREE.get("BY")
    assert "by" in TREE
    assert "BY" not in TREE
    assert 112 not in TREE
    assert None not in TREE


# -- containment --------------------------------------------------------------------


def test_product_rule_examples() -> None:
    assert TREE.matches(["europe"], ["by"])  # follows europe, release about BY
    assert TREE.matches(["by"], ["eastern-europe"])  # follows BY, release about eastern europe
    assert not TREE.matches(["by"], ["fr"])
    assert not TREE.matches(["africa"], ["europe"])
    for slug in SLUGS:
        assert TREE.matches(["world"], [slug])
        assert TREE.matches([slug], ["world"])


def test_matches_with_several_slugs_and_empty() -> None:
    assert TREE.matches(["fr", "ng"], ["sub-saharan-africa"])
    assert TREE.matches(frozenset({"jp"}), ("us", "eastern-asia"))
    assert not TREE.matches(["fr", "de"], ["us", "mx"])
    assert not TREE.matches([], ["world"])
    assert not TREE.matches(["world"], [])


def test_contains_and_overlaps() -> None:
    assert TREE.contains("europe", "by")
    assert TREE.contains("by", "by")
    assert not TREE.contains("by", "europe")
    assert TREE.overlaps("by", "europe")
    assert TREE.overlaps("europe", "by")
    assert not TREE.overlaps("by", "fr")
    assert not TREE.overlaps("northern-africa", "sub-saharan-africa")
    with pytest.raises(KeyError):
        TREE.contains("nowhere", "by")
    with pytest.raises(KeyError):
        TREE.contains("europe", "nowhere")


@pytest.mark.parametrize(
    "chain",
    [
        ("by", "eastern-europe", "europe", "world"),
        ("kz", "central-asia", "asia", "world"),
        ("ng", "western-africa", "sub-saharan-africa", "africa", "world"),
        ("mx", "central-america", "latin-america-and-the-caribbean", "americas", "world"),
        ("us", "northern-america", "americas", "world"),
        ("je", "channel-islands", "northern-europe", "europe", "world"),
        ("au", "australia-and-new-zealand", "oceania", "world"),
        ("eg", "northern-africa", "africa", "world"),
        ("br", "south-america", "latin-america-and-the-caribbean", "americas", "world"),
        ("cu", "caribbean", "latin-america-and-the-caribbean", "americas", "world"),
        ("tr", "western-asia", "asia", "world"),
        ("nr", "micronesia", "oceania", "world"),
        ("aq", "world"),
        ("world",),
    ],
)
def test_membership_spot_checks(chain: tuple[str, ...]) -> None:
    assert TREE.ancestors(chain[0]) == chain
    for outer in chain:
        assert TREE.contains(outer, chain[0])


# -- tree construction --------------------------------------------------------------


def _r(slug: str, code: str, parent: str | None, alpha2: str | None = None) -> Region:
    return Region(slug=slug, code=code, name=slug.title(), parent=parent, alpha2=alpha2)


def test_tree_rejects_bad_data() -> None:
    world = _r("world", "001", None)
    europe = _r("europe", "150", "world")
    with pytest.raises(ValueError, match="duplicate region slug"):
        RegionTree([world, europe, _r("europe", "151", "world")])
    with pytest.raises(ValueError, match="duplicate M49 code"):
        RegionTree([world, europe, _r("asia", "150", "world")])
    with pytest.raises(ValueError, match="unknown parent"):
        RegionTree([world, _r("fr", "250", "europe", "FR")])
    with pytest.raises(ValueError, match="exactly one root"):
        RegionTree([europe])
    with pytest.raises(ValueError, match="cycle"):
        RegionTree([world, _r("a-a", "002", "b-b"), _r("b-b", "003", "a-a")])
    with pytest.raises(ValueError, match="alpha-2"):
        RegionTree([world, _r("fr", "250", "world", "FX")])


# -- properties ------------------------------------------------------------------------

slugs = st.sampled_from(SLUGS)
slug_sets = st.frozensets(slugs, max_size=6)


@given(slugs, slugs)
def test_overlaps_is_symmetric(a: str, b: str) -> None:
    assert TREE.overlaps(a, b) == TREE.overlaps(b, a)
    assert TREE.overlaps(a, b) == (TREE.contains(a, b) or TREE.contains(b, a))


@given(slugs)
def test_world_overlaps_everything(slug: str) -> None:
    assert TREE.overlaps("world", slug)
    assert TREE.contains("world", slug)
    assert TREE.ancestors(slug)[0] == slug
    assert TREE.ancestors(slug)[-1] == "world"


@given(slug_sets, slug_sets)
def test_matches_agrees_with_brute_force(wanted: frozenset[str], offered: frozenset[str]) -> None:
    def up(slug: str) -> list[str]:
        chain = [slug]
        while (parent := TREE.get(chain[-1]).parent) is not None:
            chain.append(parent)
        return chain

    expected = any(w in up(o) or o in up(w) for w in wanted for o in offered)
    assert TREE.matches(wanted, offered) == expected
    assert TREE.matches(list(wanted), iter(offered)) == expected
    assert TREE.matches(offered, wanted) == expected
