"""The segmentation rules, pinned by examples and by Hypothesis properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pressdispatch.matching import choose_variant, plan
from pressdispatch.model import Release, Subscriber, Tier, Translation, Variant
from pressdispatch.regions import load_regions

REGIONS = load_regions()
PUBLISH = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
LANGS = ["en", "fr", "ru", "ar", "es", "zh"]
SLUGS = [
    "world",
    "europe",
    "eastern-europe",
    "by",
    "fr",
    "asia",
    "central-asia",
    "kz",
    "africa",
    "ng",
]
TOPICS = ["health", "water", "food", "climate"]


def release(
    languages: list[str],
    *,
    regions: tuple[str, ...] = ("world",),
    topics: tuple[str, ...] = (),
    embargo: bool = False,
    original: str | None = None,
) -> Release:
    translations = {
        lang: Translation(lang, f"Title {lang}", "", "", "Body", "<p>Body</p>")
        for lang in languages
    }
    return Release(
        id="r",
        publish_at=PUBLISH,
        original_language=original or languages[0],
        translations=translations,
        embargo_send_at=PUBLISH - timedelta(days=1) if embargo else None,
        regions=regions,
        topics=topics,
    )


def person(
    languages: tuple[str, ...] = (),
    regions: frozenset[str] = frozenset(),
    topics: frozenset[str] = frozenset(),
    embargo: bool = False,
) -> Subscriber:
    return Subscriber(
        "j@example.org", languages=languages, regions=regions, topics=topics, embargo=embargo
    )


def test_region_containment_both_ways() -> None:
    about_belarus = release(["en"], regions=("by",))
    about_eastern_europe = release(["en"], regions=("eastern-europe",))
    assert choose_variant(about_belarus, person(regions=frozenset({"europe"})), REGIONS)
    assert choose_variant(about_eastern_europe, person(regions=frozenset({"by"})), REGIONS)
    assert choose_variant(about_belarus, person(regions=frozenset({"world"})), REGIONS)
    assert choose_variant(about_belarus, person(regions=frozenset({"fr"})), REGIONS) is None
    assert choose_variant(about_belarus, person(regions=frozenset({"africa"})), REGIONS) is None


def test_first_available_language_wins() -> None:
    r = release(["fr", "en", "ru"])
    assert choose_variant(r, person(("es", "ru", "en")), REGIONS) == Variant("ru", Tier.PUBLIC)
    assert choose_variant(r, person(("zh",)), REGIONS) is None
    assert choose_variant(r, person(), REGIONS) == Variant("fr", Tier.PUBLIC)  # original language


def test_embargo_tier_only_for_cleared_and_only_with_embargo() -> None:
    embargoed = release(["en"], embargo=True)
    assert choose_variant(embargoed, person(embargo=True), REGIONS) == Variant("en", Tier.EMBARGOED)
    assert choose_variant(embargoed, person(embargo=False), REGIONS) == Variant("en", Tier.PUBLIC)
    assert choose_variant(release(["en"]), person(embargo=True), REGIONS) == Variant(
        "en", Tier.PUBLIC
    )


def test_topics_must_overlap_unless_subscriber_takes_everything() -> None:
    r = release(["en"], topics=("health",))
    assert choose_variant(r, person(topics=frozenset({"health", "food"})), REGIONS)
    assert choose_variant(r, person(topics=frozenset({"food"})), REGIONS) is None
    assert choose_variant(r, person(), REGIONS)
    assert choose_variant(release(["en"]), person(topics=frozenset({"food"})), REGIONS) is None


releases = st.builds(
    lambda langs, original_index, regions, topics, embargo: release(
        langs,
        original=langs[original_index % len(langs)],
        regions=tuple(regions),
        topics=tuple(topics),
        embargo=embargo,
    ),
    st.lists(st.sampled_from(LANGS), min_size=1, max_size=4, unique=True),
    st.integers(0, 3),
    st.lists(st.sampled_from(SLUGS), min_size=1, max_size=3, unique=True),
    st.lists(st.sampled_from(TOPICS), max_size=2, unique=True),
    st.booleans(),
)
subscribers = st.builds(
    person,
    st.lists(st.sampled_from(LANGS), max_size=3, unique=True).map(tuple),
    st.frozensets(st.sampled_from(SLUGS), max_size=3),
    st.frozensets(st.sampled_from(TOPICS), max_size=2),
    st.booleans(),
)


def _overlap(a: str, b: str) -> bool:
    return a in REGIONS.ancestors(b) or b in REGIONS.ancestors(a)


@given(releases, subscribers)
def test_variant_rules(r: Release, s: Subscriber) -> None:
    variant = choose_variant(r, s, REGIONS)
    region_ok = not s.regions or any(_overlap(a, b) for a in s.regions for b in r.regions)
    topic_ok = not s.topics or bool(s.topics & set(r.topics))
    wanted = s.languages or (r.original_language,)
    available = [lang for lang in wanted if lang in r.translations]
    if not (region_ok and topic_ok and available):
        assert variant is None
        return
    assert variant is not None
    assert variant.language == available[0]
    expected_tier = Tier.EMBARGOED if s.embargo and r.embargo_send_at else Tier.PUBLIC
    assert variant.tier is expected_tier


@given(releases, subscribers)
def test_following_the_world_never_loses_a_release(r: Release, s: Subscriber) -> None:
    if choose_variant(r, s, REGIONS) is not None:
        wider = person(s.languages, s.regions | {"world"}, s.topics, s.embargo)
        assert choose_variant(r, wider, REGIONS) is not None


@given(releases, st.lists(subscribers, max_size=8))
def test_plan_gives_each_subscriber_at_most_one_variant(
    r: Release, people: list[Subscriber]
) -> None:
    people = [
        Subscriber(
            f"j{i}@example.org",
            languages=p.languages,
            regions=p.regions,
            topics=p.topics,
            embargo=p.embargo,
        )
        for i, p in enumerate(people)
    ]
    planned = list(plan(r, people, REGIONS))
    assert len({s.key for s, _ in planned}) == len(planned)
    assert [s for s, _ in planned] == [p for p in people if choose_variant(r, p, REGIONS)]
