"""Who gets which variant of a release. Pure: no I/O, no clock.

For one release and one journalist there is either no email or exactly one
variant: the first of the journalist's languages that the release has, in the
embargoed tier when the journalist is cleared and the release has an
``embargo_send_at``, the public tier otherwise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from pressdispatch.model import Release, Subscriber, Tier, Variant
from pressdispatch.regions import RegionTree


def choose_language(release: Release, subscriber: Subscriber) -> str | None:
    """The journalist's best language among the release's versions, or None."""
    wanted = subscriber.languages or (release.original_language,)
    for language in wanted:
        if language in release.translations:
            return language
    return None


def choose_variant(release: Release, subscriber: Subscriber, regions: RegionTree) -> Variant | None:
    """The one variant this journalist receives, or None when the release is not for them."""
    if subscriber.regions and not regions.matches(subscriber.regions, release.regions):
        return None
    if subscriber.topics and subscriber.topics.isdisjoint(release.topics):
        return None
    language = choose_language(release, subscriber)
    if language is None:
        return None
    early = subscriber.embargo and release.embargo_send_at is not None
    return Variant(language, Tier.EMBARGOED if early else Tier.PUBLIC)


def variant_in_tier(
    release: Release, subscriber: Subscriber, regions: RegionTree, tier: Tier
) -> Variant | None:
    """What this journalist gets when ``tier`` is planned: the embargoed tier serves
    only cleared journalists; the public tier serves everyone it matches, cleared
    journalists not served earlier getting the public copy."""
    variant = choose_variant(release, subscriber, regions)
    if variant is None or (tier is Tier.EMBARGOED and variant.tier is not Tier.EMBARGOED):
        return None
    return Variant(variant.language, tier)


def why_not(release: Release, subscriber: Subscriber, regions: RegionTree) -> str:
    """Why this journalist gets no copy of ``release`` (for one who gets one: "")."""
    if subscriber.regions and not regions.matches(subscriber.regions, release.regions):
        return (
            f"no region in common: they follow {', '.join(sorted(subscriber.regions))}, "
            f"the release is about {', '.join(release.regions) or 'no region'}"
        )
    if subscriber.topics and subscriber.topics.isdisjoint(release.topics):
        return (
            f"no topic in common: they follow {', '.join(sorted(subscriber.topics))}, "
            f"the release is on {', '.join(sorted(release.topics)) or 'no topic'}"
        )
    if choose_language(release, subscriber) is None:
        return (
            f"no language in common: they read {', '.join(subscriber.languages)}, "
            f"the release is in {', '.join(release.languages)}"
        )
    return ""


def plan(
    release: Release, subscribers: Iterable[Subscriber], regions: RegionTree
) -> Iterator[tuple[Subscriber, Variant]]:
    """Each matching journalist with their variant, streamed in the order given."""
    for subscriber in subscribers:
        variant = choose_variant(release, subscriber, regions)
        if variant is not None:
            yield subscriber, variant


def count_variants(pairs: Iterable[tuple[Subscriber, Variant]]) -> Counter[Variant]:
    return Counter(variant for _, variant in pairs)
