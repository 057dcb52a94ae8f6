"""The ETag index: a 304 answered from it stands for exactly the bytes a fresh build gives.

Over random public views (releases with versions, regions, topics and texts
drawn from small sets, so that different inputs often make the same bytes), a
long-lived app state that answers from its index is compared with a fresh one
that builds the feed: same ETag; and across views, equal ETags go with equal
bytes and different bytes with different ETags.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from pressdispatch.config import Settings
from pressdispatch.model import Release, Translation
from pressdispatch.regions import load_regions
from pressdispatch.render.feeds import FeedSite, FeedSpec, build_feed, site_fingerprint
from pressdispatch.web.feeds import _Feeds
from pressdispatch.web.public import Snapshot

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
LANGUAGES = ("en", "fr", "ru")
SETTINGS = Settings.model_validate(
    {
        "newsroom": {
            "name": "Test Press Office",
            "from": "press@example.org",
            "base_url": "https://press.example.org",
            "languages": list(LANGUAGES),
            "timezone": "Europe/Paris",
        },
        "feeds": {"max_entries": 3},
    }
)
SITE = FeedSite.of(SETTINGS, load_regions())
FINGERPRINT = site_fingerprint(SITE)


FIELDS = {
    "title": ["Aid", "Aid & water", "Помощь"],
    "summary": ["", "Aid", "In short."],  # no summary shows the title
    "dateline": ["", "Minsk"],
    "body_html": ["<p>x</p>", "<p>y</p>"],
}


@st.composite
def translations(draw: st.DrawFn, language: str) -> Translation:
    texts = {field: draw(st.sampled_from(values)) for field, values in FIELDS.items()}
    return Translation(language, body_markdown="", **texts)


@st.composite
def releases(draw: st.DrawFn, release_id: str) -> Release:
    languages = draw(st.lists(st.sampled_from(LANGUAGES), min_size=1, max_size=3, unique=True))
    regions = draw(
        st.lists(
            st.sampled_from(["world", "europe", "by", "pe", "south-america"]),
            min_size=1,
            max_size=2,
            unique=True,
        )
    )
    return Release(
        id=release_id,
        publish_at=NOW - timedelta(hours=draw(st.integers(1, 4))),
        original_language=languages[0],
        translations={lang: draw(translations(lang)) for lang in languages},
        regions=tuple(regions),
        topics=tuple(draw(st.lists(st.sampled_from(["health", "water"]), unique=True))),
    )


@st.composite
def views(draw: st.DrawFn) -> tuple[Release, ...]:
    ids = draw(st.lists(st.sampled_from(["a", "b", "c"]), unique=True, max_size=3))
    chosen = [draw(releases(release_id)) for release_id in ids]
    return tuple(sorted(chosen, key=lambda r: (r.publish_at, r.id), reverse=True))


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[Release, ...]]:
    """A public view, then the same view with one small change at a time: a text, the
    topics, regions or time of one release, or one release more or fewer."""
    view = draw(views())
    history = [view]
    for _ in range(draw(st.integers(1, 4))):
        releases_now = list(view)
        change = draw(
            st.sampled_from(["text", "text", "text", "topics", "regions", "time", "add", "drop"])
        )
        if change == "add" or not releases_now:
            release_id = draw(st.sampled_from(["e", "f", "g"]))
            releases_now = [r for r in releases_now if r.id != release_id]
            releases_now.append(draw(releases(release_id)))
        elif change == "drop":
            releases_now.pop(draw(st.integers(0, len(releases_now) - 1)))
        else:
            n = draw(st.integers(0, len(releases_now) - 1))
            release = releases_now[n]
            if change == "text":
                lang = draw(st.sampled_from(list(release.translations)))
                field, values = draw(st.sampled_from(list(FIELDS.items())))
                edited = replace(
                    release.translations[lang], **{field: draw(st.sampled_from(values))}
                )
                texts = {**release.translations, lang: edited}
                releases_now[n] = replace(release, translations=texts)
            elif change == "topics":
                topics = draw(st.sampled_from([(), ("health",), ("water",), ("health", "water")]))
                releases_now[n] = replace(release, topics=topics)
            elif change == "regions":
                regions = draw(st.sampled_from([("world",), ("by",), ("pe",), ("europe", "pe")]))
                releases_now[n] = replace(release, regions=regions)
            else:
                hours = draw(st.integers(1, 4))
                releases_now[n] = replace(release, publish_at=NOW - timedelta(hours=hours))
        view = tuple(sorted(releases_now, key=lambda r: (r.publish_at, r.id), reverse=True))
        history.append(view)
    return history


specs = st.builds(
    FeedSpec,
    st.sampled_from(["all", "all", "all", *LANGUAGES]),  # mostly feeds with entries
    st.sampled_from(["all", "all", "all", "europe", "by", "pe", "americas"]),
    st.sampled_from(["atom", "rss"]),
    st.sampled_from([None, None, None, "health"]),
)


def snapshot(number: int, public: tuple[Release, ...]) -> Snapshot:
    by_id = {r.id: r for r in public}
    return Snapshot(public, by_id, f"v{number}", NOW, None, {})


@settings(max_examples=200)  # one-field changes need many draws to meet
@given(histories(), specs)
def test_a_304_from_the_index_is_the_etag_of_a_fresh_build(
    history: list[tuple[Release, ...]], spec: FeedSpec
) -> None:
    warm = _Feeds(SITE, FINGERPRINT)  # one process, through every version
    seen: list[tuple[str, bytes]] = []
    for number, public in enumerate(history):
        view = snapshot(number, public)
        index = warm.index(view)
        answered = warm.cache.validators(spec, view.version, partial(index.etag, spec), NOW)

        fresh = _Feeds(SITE, FINGERPRINT)  # a process started now, which builds the feed
        fresh_index = fresh.index(view)
        built = fresh.cache.validators(spec, view.version, partial(fresh_index.etag, spec), NOW)
        body = fresh.cache.body(spec, built.etag, partial(fresh_index.build, spec)).body

        assert body == build_feed(spec, public, SITE)
        assert answered.etag == built.etag
        seen.append((answered.etag, body))
    for (etag_a, body_a), (etag_b, body_b) in combinations(seen, 2):
        assert (etag_a == etag_b) == (body_a == body_b)


def test_the_fingerprint_follows_the_settings() -> None:
    assert site_fingerprint(replace(SITE, hub="https://hub.example.net/")) != FINGERPRINT
    assert site_fingerprint(replace(SITE, max_entries=4)) != FINGERPRINT
    assert site_fingerprint(SITE) == FINGERPRINT  # and nothing else: no clock, no randomness
