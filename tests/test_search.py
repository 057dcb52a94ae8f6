"""Search of the public releases, on a real SQLite file and the real PostgreSQL.

A corpus of 200 releases in six languages (en fr ru ar es zh) is synced into the store
as the service syncs the files (``Catalog.sync``); a few words are planted in known
versions, in several inflected forms, so that each test knows exactly what must be
found. The web page (``/search``) is tested in tests/test_search_page.py.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import Connection, delete, select, text

from pressdispatch.model import Release, ReleaseStatus, Translation
from pressdispatch.searchtext import parse_query, terms
from pressdispatch.store.catalog import Catalog
from pressdispatch.store.db import Database, open_database
from pressdispatch.store.migrate import upgrade_sync
from pressdispatch.store.schema import search_documents
from pressdispatch.store.search import Found, ReleaseSearch

from .dispatching import database_url

NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
LANGUAGES = ("en", "fr", "ru", "ar", "es", "zh")

# Words no planted form stems to, per language.
FILLER = {
    "en": "the agency said today that families in the region need support for schools roads "
    "and clinics while farmers expect a difficult season after the floods",
    "fr": "l'agence a annoncé aujourd'hui que les familles de la région ont besoin d'aide pour "
    "les écoles les routes et les centres de santé après les inondations",
    "ru": "агентство сегодня сообщило что семьи в регионе нуждаются в поддержке школ дорог и "
    "больниц после наводнений и засухи",
    "ar": "أعلنت الوكالة اليوم أن الأسر في المنطقة تحتاج إلى الدعم من أجل المدارس والطرق "
    "والعيادات بعد الفيضانات",
    "es": "la agencia anunció hoy que las familias de la región necesitan apoyo para escuelas "
    "caminos y clínicas después de las inundaciones",
    # Written without spaces; 谈 and 判 are there, never one after the other (not 谈判).
    "zh": "北风救援署 今天 宣布 该 地区 的 家庭 需要 学校 道路 和 诊所 方面 的 支持 洪水 过后 "
    "农民 面临 困难 的 季节 谈话 判断",
}
# (language, forms planted, a query word in another form, the versions it must find)
PLANTED = {
    "fr": ("négociations négocier négociateurs négocié", "négociation"),
    "en": ("vaccination vaccinated vaccines", "vaccine"),
    "ru": ("переговоры переговоров переговорах", "переговорами"),
    "es": ("negociaciones negociar negociado", "negociación"),
    "ar": ("اللاجئين اللاجئون", "لاجئ"),
    "zh": ("国际谈判会议 谈判代表", "谈判"),
}


@dataclass
class Corpus:
    releases: list[Release]
    planted: dict[str, set[tuple[str, str]]]  # language → (release id, language) planted
    title_match: str  # the French release with the word in its title


def _translation(lang: str, title: str, body: str, summary: str = "") -> Translation:
    return Translation(lang, title, summary, "Genève", body, f"<p>{body}</p>")


def build_corpus() -> Corpus:
    """200 releases, published an hour apart before NOW: release ``i`` is written in
    ``LANGUAGES[i % 6]`` and, for even ``i``, translated into the next language."""
    rng = random.Random(20270110)
    releases: list[Release] = []
    planted: dict[str, set[tuple[str, str]]] = {lang: set() for lang in LANGUAGES}
    for i in range(200):
        langs = [LANGUAGES[i % 6]] + ([LANGUAGES[(i + 1) % 6]] if i % 2 == 0 else [])
        texts = {}
        for lang in langs:
            words = FILLER[lang].split()
            sep = "" if lang == "zh" else " "
            body = sep.join(rng.choice(words) for _ in range(60))
            if (i // 6) % 3 == 0:  # a third of each language's versions: a planted form
                forms = PLANTED[lang][0].split()
                body = f"{body}{sep}{rng.choice(forms)}{sep}{body}"
                planted[lang].add((f"r{i:03}", lang))
            texts[lang] = _translation(lang, f"Release {i} ({lang})", body)
        releases.append(
            Release(f"r{i:03}", NOW - (i + 1) * HOUR, langs[0], texts, regions=("world",))
        )
    # The word in a French title: found before the bodies that have it.
    title = _translation("fr", "Reprise des négociations à Genève", FILLER["fr"])
    releases.append(Release("title-match", NOW - 300 * HOUR, "fr", {"fr": title}))
    planted["fr"].add(("title-match", "fr"))
    return Corpus(releases, planted, "title-match")


@dataclass
class Store:
    db: Database
    catalog: Catalog
    search: ReleaseSearch

    async def find(
        self, query: str, languages: Iterable[str] = LANGUAGES, now: datetime = NOW, **kw: object
    ) -> list[Found]:
        return await self.search.search(
            parse_query(query), now, languages=list(languages), limit=1000, **kw
        )

    async def ids(self, query: str, **kw: object) -> set[tuple[str, str]]:
        return {(f.release_id, f.language) for f in await self.find(query, **kw)}


@asynccontextmanager
async def opened(kind: str, folder: Path) -> AsyncIterator[Store]:
    urls = database_url(kind, folder)
    db = open_database(next(urls))
    try:
        yield Store(db, Catalog(db), ReleaseSearch(db))
    finally:
        await db.dispose()
        for _ in urls:  # drop the throwaway database
            pass


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with opened(request.param, tmp_path) as found:
        yield found


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return build_corpus()


# The tests that only search share one store per database, the corpus synced once.
@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "postgresql"])
async def searched(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, corpus: Corpus
) -> AsyncIterator[Store]:
    async with opened(request.param, tmp_path_factory.mktemp("search")) as found:
        await found.catalog.sync(corpus.releases, NOW - 400 * HOUR)
        yield found


reads = pytest.mark.asyncio(loop_scope="module")


# -- relevance --------------------------------------------------------------------


@reads
@pytest.mark.parametrize("lang", LANGUAGES)
async def test_a_word_finds_its_inflected_forms_in_its_language(
    searched: Store, corpus: Corpus, lang: str
) -> None:
    """A French word finds its inflected forms as Snowball's stemmer relates them
    ("négociation": "négociations", "négocier"...), each language alike; a Chinese word
    of two characters is found inside longer runs, not where its characters stand apart."""
    assert len(corpus.planted[lang]) >= 6
    assert await searched.ids(PLANTED[lang][1], languages=[lang]) == corpus.planted[lang]


@reads
async def test_a_title_match_comes_first(searched: Store, corpus: Corpus) -> None:
    found = await searched.find("négociation", languages=["fr"])
    assert found[0].release_id == corpus.title_match
    assert found[0].title == "Reprise des négociations à Genève"


@reads
async def test_a_word_typed_without_its_accents_finds_it_on_sqlite(
    searched: Store, corpus: Corpus
) -> None:
    if searched.db.dialect == "postgresql":
        pytest.skip("PostgreSQL's french configuration keeps accents")
    assert await searched.ids("negociation", languages=["fr"]) == corpus.planted["fr"]


@reads
async def test_without_a_language_every_language_is_searched(
    searched: Store, corpus: Corpus
) -> None:
    found = await searched.ids("négociation")
    assert corpus.planted["fr"] <= found
    assert await searched.ids("谈判") == corpus.planted["zh"]
    assert await searched.ids("vaccine") == corpus.planted["en"]


@reads
async def test_every_word_must_be_found_and_a_minus_excludes(
    searched: Store, corpus: Corpus
) -> None:
    assert await searched.ids("négociation aardvark", languages=["fr"]) == set()
    assert await searched.ids("négociation -genève", languages=["fr"]) == set()  # every dateline
    with_title = await searched.ids('"reprise des négociations"', languages=["fr"])
    assert with_title == {(corpus.title_match, "fr")}
    assert await searched.ids('"négociations reprise"', languages=["fr"]) == set()


@reads
async def test_results_come_in_pages(searched: Store, corpus: Corpus) -> None:
    everything = await searched.find("négociation", languages=["fr"])
    pages = [
        await searched.search.search(
            parse_query("négociation"), NOW, languages=["fr"], offset=offset, limit=5
        )
        for offset in range(0, len(everything) + 5, 5)
    ]
    assert [hit for page in pages for hit in page] == everything
    assert pages[-1] == []


@reads
async def test_query_syntax_is_only_words(searched: Store, corpus: Corpus) -> None:
    """Quotes, operators and column names of either database are read as text."""
    for query in ("title: NEAR(a b) *", "'; DROP TABLE releases; --", '"', "-", "OR AND NOT"):
        await searched.find(query)
    assert await searched.ids("négociation OR aardvark", languages=["fr"]) == set()


# -- what is public --------------------------------------------------------------------


def _secret(release_id: str, publish_at: datetime, **changes: object) -> Release:
    text = _translation("en", "Embargoed briefing", "The zanzibarite findings are embargoed.")
    release = Release(release_id, publish_at, "en", {"en": text}, NOW - 2 * HOUR)
    return dataclasses.replace(release, **changes)


async def test_an_embargoed_release_is_found_only_from_its_publication(
    store: Store, corpus: Corpus
) -> None:
    await store.catalog.sync([*corpus.releases, _secret("secret", NOW + HOUR)], NOW)
    assert await store.ids("zanzibarite", now=NOW) == set()
    assert await store.ids("zanzibarite", now=NOW + HOUR - timedelta(seconds=1)) == set()
    assert await store.ids("zanzibarite", now=NOW + HOUR) == {("secret", "en")}


async def test_drafts_withdrawn_and_cancelled_releases_are_never_found(
    store: Store, corpus: Corpus
) -> None:
    later = NOW + 10 * HOUR
    releases = [
        *corpus.releases[:12],
        _secret("draft", NOW - HOUR, status=ReleaseStatus.DRAFT, embargo_send_at=None),
        _secret("withdrawn", NOW - HOUR, embargo_send_at=None),
        _secret("cancelled", NOW + HOUR),
    ]
    await store.catalog.sync(releases, NOW)
    await store.catalog.withdraw("withdrawn", "wrong figures", NOW)
    await store.catalog.cancel("cancelled", NOW)
    assert await store.ids("zanzibarite", now=later) == set()


async def test_the_index_follows_the_files_until_sending_starts(
    store: Store, corpus: Corpus
) -> None:
    first = _secret("edited", NOW - HOUR, embargo_send_at=None)
    await store.catalog.sync([*corpus.releases[:12], first], NOW)
    edited = _translation("en", "Embargoed briefing", "The quetzalcoatlite findings.")
    await store.catalog.sync([*corpus.releases[:12], _with_text(first, edited)], NOW)
    assert await store.ids("zanzibarite") == set()
    assert await store.ids("quetzalcoatlite") == {("edited", "en")}

    await store.catalog.freeze("edited", NOW)  # sending started: the text sent stays
    again = _translation("en", "Embargoed briefing", "The tlaloc findings.")
    await store.catalog.sync([*corpus.releases[:12], _with_text(first, again)], NOW)
    assert await store.ids("tlaloc") == set()
    assert await store.ids("quetzalcoatlite") == {("edited", "en")}


async def test_releases_stored_before_the_index_existed_are_indexed_at_the_next_sync(
    store: Store, corpus: Corpus
) -> None:
    def forget(conn: Connection) -> None:
        if store.db.dialect == "sqlite":
            conn.execute(text("DELETE FROM search_index"))
        conn.execute(delete(search_documents))

    await store.db.transaction(forget)
    assert await store.ids("vaccine") == set()
    await store.catalog.sync(corpus.releases, NOW)  # nothing changed in the files
    assert await store.ids("vaccine") == corpus.planted["en"]


async def test_region_and_topic_filters_combine(store: Store, corpus: Corpus) -> None:
    base = _secret("belarus-health", NOW - HOUR, embargo_send_at=None)
    releases = [
        *corpus.releases[:12],
        dataclasses.replace(base, regions=("by",), topics=("health",)),
        dataclasses.replace(base, id="europe-water", regions=("europe",), topics=("water",)),
        dataclasses.replace(base, id="peru-health", regions=("pe",), topics=("health",)),
    ]
    await store.catalog.sync(releases, NOW)
    eastern_europe = ["world", "europe", "eastern-europe", "by", "ua"]  # what the web passes
    found = await store.ids("zanzibarite", regions=eastern_europe)
    assert found == {("belarus-health", "en"), ("europe-water", "en")}
    found = await store.ids("zanzibarite", regions=eastern_europe, topic="health")
    assert found == {("belarus-health", "en")}
    assert await store.ids("zanzibarite", topic="health") == {
        ("belarus-health", "en"),
        ("peru-health", "en"),
    }


def _with_text(release: Release, translation: Translation) -> Release:
    return dataclasses.replace(release, translations={translation.language: translation})


# -- the best of many matches --------------------------------------------------------
# FTS5 hands over only its best matches ranked; these hold the answer to the rule when
# those are not public, or tie with the ones it left out.


async def test_embargoed_releases_that_outrank_the_public_ones_are_never_found(
    store: Store, corpus: Corpus
) -> None:
    """The word in the titles of 150 embargoed releases, in the bodies of three public ones:
    a page finds the three, and only them."""
    title = _translation("en", "Zanzibarite findings", "The findings are embargoed.")
    embargoed = [
        _secret(f"embargoed-{n:03}", NOW + HOUR, translations={"en": title}) for n in range(150)
    ]
    public = [_secret(f"public-{n}", NOW - HOUR, embargo_send_at=None) for n in range(3)]
    await store.catalog.sync([*corpus.releases[:12], *embargoed, *public], NOW)
    first = await store.search.search(parse_query("zanzibarite"), NOW, languages=["en"], limit=21)
    assert [f.release_id for f in first] == ["public-0", "public-1", "public-2"]
    second = await store.search.search(
        parse_query("zanzibarite"), NOW, languages=["en"], offset=20, limit=21
    )
    assert second == []
    later = await store.search.search(parse_query("zanzibarite"), NOW + HOUR, languages=["en"])
    assert {f.release_id for f in later} <= {r.id for r in embargoed}  # they outrank indeed


async def test_equally_good_matches_come_newest_first_page_after_page(
    store: Store, corpus: Corpus
) -> None:
    """150 releases with the same text rank the same: newest first, each on one page, the
    oldest stored first."""
    alike = [
        _secret(f"alike-{n:03}", NOW - (150 - n) * HOUR, embargo_send_at=None) for n in range(150)
    ]
    await store.catalog.sync([*corpus.releases[:12], *alike], NOW)
    found = []
    for offset in range(0, 160, 20):
        page = await store.search.search(
            parse_query("zanzibarite"), NOW, languages=["en"], offset=offset, limit=20
        )
        found += [f.release_id for f in page]
    assert found == [release.id for release in reversed(alike)]


async def test_an_index_built_before_migration_0014_answers_after_it(
    tmp_path: Path, corpus: Corpus
) -> None:
    """Migration 0014 puts each term's language in the term: an index written with the
    language in a column of its own (before it) finds the same versions after it."""
    url = next(database_url("sqlite", tmp_path, migrated=False))
    upgrade_sync(url, "0013")
    db = open_database(url)
    try:
        await Catalog(db).sync(corpus.releases, NOW - 400 * HOUR)

        def as_before(conn: Connection) -> None:  # as store/search.py wrote it then
            conn.execute(text("DELETE FROM search_index"))
            d = search_documents.c
            documents = select(d.id, d.language, d.title, d.summary, d.body, d.extra)
            conn.exec_driver_sql(
                "INSERT INTO search_index (rowid, language, title, summary, body, extra)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (id_, lang, *(" ".join(terms(value, lang)) for value in fields))
                    for id_, lang, *fields in conn.execute(documents)
                ],
            )

        await db.transaction(as_before)
    finally:
        await db.dispose()
    upgrade_sync(url)
    db = open_database(url)
    try:
        migrated = Store(db, Catalog(db), ReleaseSearch(db))
        for lang in LANGUAGES:
            assert await migrated.ids(PLANTED[lang][1], languages=[lang]) == corpus.planted[lang]
        assert (await migrated.find("négociation", languages=["fr"]))[0].release_id == "title-match"
    finally:
        await db.dispose()
