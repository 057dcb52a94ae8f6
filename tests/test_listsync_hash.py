"""A journalist named on one row is merged in SQL: the hash staged with the row must be
the one Python's merge would store, or every sync would rewrite them all."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pressdispatch.content.subscribers import Row, merge
from pressdispatch.model import Subscriber
from pressdispatch.store.codec import subscriber_columns
from pressdispatch.store.listmerge import staged_row

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_words = st.lists(st.text("abcdefghijklmnopqrstuvwxyz-é", min_size=1, max_size=8), max_size=4)


@given(
    name=_text,
    outlet=_text,
    languages=_words,
    regions=_words,
    topics=_words,
    embargo=st.booleans(),
    every_region=st.booleans(),
    every_topic=st.booleans(),
)
def test_a_staged_row_carries_the_hash_of_its_journalist_merged_alone(
    name: str,
    outlet: str,
    languages: list[str],
    regions: list[str],
    topics: list[str],
    embargo: bool,
    every_region: bool,
    every_topic: bool,
) -> None:
    subscriber = Subscriber(
        email="Ana.Sousa@Example.org",
        name=name,
        outlet=outlet,
        languages=tuple(dict.fromkeys(languages)),
        regions=frozenset() if every_region else frozenset(regions),
        topics=frozenset() if every_topic else frozenset(topics),
        embargo=embargo,
        lists=("wire",),
    )
    row = Row(3, subscriber, every_region, every_topic)
    assert staged_row(0, row)["row_hash"] == subscriber_columns(merge([row]))["row_hash"]
