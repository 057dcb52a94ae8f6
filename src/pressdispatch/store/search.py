"""Search of the public releases: each language version indexed in its own language.

On SQLite, the terms of ``searchtext`` (Snowball stems, one term per CJK character) go
into the FTS5 table ``search_index``, each with its version's language before it
(``fr_negoci``: a word's list holds only the versions in that language), ranked by bm25
in FTS5's own sorter; only its best matches are looked up in the releases
(``_fts_best``). On PostgreSQL, ``document`` is the
tsvector of the language's text-search configuration (``simple`` where it has none),
behind a GIN index, matched with ``websearch_to_tsquery`` and ranked by ``ts_rank``.
Either way a query looks for each language's documents with the query's terms in that
language, and finds a title before a summary, a summary before a body.

Every version of every release is indexed, drafts and embargoed ones too, and the query
keeps only releases public at its time, by the rule pages and feeds use
(``visibility.public_at``). That is the safer of the two designs: an index of only the
public releases would have to change at each publication time, withdrawal and
cancellation, and a single missed change would leave an embargoed release findable or a
withdrawn one found; a filter at query time has nothing to fall out of step, and stops
finding a release the instant it is withdrawn. The index follows the files at each sync
(``Catalog.sync``): a release is indexed again when its files change, until its dispatch
starts, and from then on keeps the text that was sent, as its pages do.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    cast,
    column,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import REGCONFIG

from pressdispatch.model import Release
from pressdispatch.searchtext import Clause, html_text, pg_config, spaced, terms
from pressdispatch.store.codec import release_from_json
from pressdispatch.store.db import Database
from pressdispatch.store.schema import releases, search_documents
from pressdispatch.store.visibility import public_at

__all__ = ["Found", "ReleaseSearch", "catch_up", "index"]

_FIELDS = ("title", "summary", "body", "extra")
_fts = table("search_index", column("rowid"), *(column(name) for name in _FIELDS))
_document: Any = literal_column("search_documents.document")
_fts_rank: Any = literal_column("search_index.rank")
# bm25 weight of each FTS5 column (title, summary, body, extra).
_BM25 = "bm25(10.0, 4.0, 1.0, 2.0)"
# The matches FTS5 hands over beyond the page asked for, ranked: room for those that are
# not public (drafts, embargoed, withdrawn), which only a look at their release tells.
_SPARE = 100
# Weights of the tsvector's parts, for ts_rank (A counts most): as bm25's above.
_PG_WEIGHTS = {"title": "A", "summary": "B", "body": "D", "extra": "C"}


@dataclass(frozen=True, slots=True)
class Found:
    """One language version of a public release that a query found."""

    release_id: str
    language: str
    title: str
    text: str  # the summary, then the body's text: for the snippet


class ReleaseSearch:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def search(
        self,
        clauses: Sequence[Clause],
        now: datetime,
        *,
        languages: Sequence[str],
        regions: Collection[str] | None = None,
        topic: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> list[Found]:
        """Versions in ``languages`` of releases public at ``now`` that match ``clauses``,
        best first; ``regions``: only releases about one of these; ``topic``: with it."""
        d = search_documents.c
        postgresql = self.db.dialect == "postgresql"
        match, rank = (
            _pg_match(clauses, languages) if postgresql else _fts_match(clauses, languages)
        )
        if match is None:
            return []
        filters = [*public_at(now)]
        if regions is not None:
            filters.append(or_(*(d.regions.contains(f" {s} ", autoescape=True) for s in regions)))
        if topic is not None:
            filters.append(d.topics.contains(f" {topic} ", autoescape=True))
        unfiltered = regions is None and topic is None

        def work(conn: Connection) -> list[Found]:
            # The ids first, the text of only those after: a sort that carried every
            # match's text would read all of it.
            if postgresql:
                ids = _pg_best(conn, match, rank, filters, offset, limit)
            else:
                ids = _fts_best(conn, match, rank, filters, offset, limit, bounded=unfiltered)
            texts = select(d.id, d.release_id, d.language, d.title, d.summary, d.body)
            rows = {row.id: row for row in conn.execute(texts.where(d.id.in_(ids)))}
            return [
                Found(row.release_id, row.language, row.title, _joined(row.summary, row.body))
                for row in map(rows.__getitem__, ids)
            ]

        return await self.db.read(work)


def index(conn: Connection, found: Iterable[Release]) -> None:
    """(Re)index every language version of each release, in the sync's transaction."""
    batch = list(found)
    if not batch:
        return
    d = search_documents.c
    ids = [release.id for release in batch]
    postgresql = conn.dialect.name == "postgresql"
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        if not postgresql:
            old = select(d.id).where(d.release_id.in_(chunk))
            conn.execute(delete(_fts).where(_fts.c.rowid.in_(old)))
        conn.execute(delete(search_documents).where(d.release_id.in_(chunk)))
    rows = [_document_row(release, lang) for release in batch for lang in release.translations]
    if postgresql:
        conn.execute(_PG_INSERT, [row | _pg_parts(row) for row in rows])
        return
    statement = insert(search_documents).returning(d.id, sort_by_parameter_order=True)
    new_ids = conn.execute(statement, rows).scalars().all()
    conn.exec_driver_sql(
        "INSERT INTO search_index (rowid, title, summary, body, extra) VALUES (?, ?, ?, ?, ?)",
        [
            (new_id, *(_fts_terms(row[f], row["language"]) for f in _FIELDS))
            for new_id, row in zip(new_ids, rows, strict=True)
        ],
    )


def catch_up(conn: Connection) -> None:
    """Index the releases the index has nothing of (stored before it existed), each with
    the text the public sees: the one being sent, else the files'."""
    r, d = releases.c, search_documents.c
    missing = select(func.coalesce(r.frozen_content, r.content)).where(
        ~exists().where(d.release_id == r.id)
    )
    index(conn, (release_from_json(text) for text in conn.scalars(missing)))


def _fts_terms(text: str, language: str) -> str:
    """What FTS5 indexes of ``text``: each term, its language before it (migration 0014)."""
    return " ".join(_keyed(language, terms(text, language)))


def _keyed(language: str, found: Iterable[str]) -> Iterator[str]:
    # A term is letters and digits only (searchtext), a language two letters, and the
    # tokenizer keeps the "_" in the token: nothing to escape, and never ambiguous.
    return (f"{language}_{t}" for t in found)


def _document_row(release: Release, language: str) -> dict[str, Any]:
    t = release.translations[language]
    contacts = " ".join(
        " ".join(filter(None, (c.name, c.role, c.phone, c.email))) for c in release.contacts
    )
    return {
        "release_id": release.id,
        "language": language,
        "title": t.title,
        "summary": t.summary,
        "body": html_text(t.body_html),
        "extra": f"{t.dateline}\n{contacts}".strip(),
        "regions": f" {' '.join(release.regions)} ",
        "topics": f" {' '.join(release.topics)} ",
    }


def _pg_parts(row: dict[str, Any]) -> dict[str, str]:
    """What PostgreSQL builds the document's tsvector from."""
    parts = {f"{name}_spaced": spaced(row[name]) for name in _FIELDS}
    return parts | {"text_config": pg_config(row["language"])}


def _pg_insert() -> Any:
    """The INSERT of one document on PostgreSQL, its tsvector built from its parts."""
    config = cast(bindparam("text_config"), REGCONFIG)
    document: Any = None
    for name, weight in _PG_WEIGHTS.items():
        label: Any = literal_column(f"'{weight}'")  # a "char": a bound string would be varchar
        part = func.setweight(func.to_tsvector(config, bindparam(f"{name}_spaced")), label)
        document = part if document is None else document.op("||")(part)
    columns = [c.name for c in search_documents.c if c.name != "id"]
    target = table("search_documents", *(column(name) for name in (*columns, "document")))
    return insert(target).values(
        {name: bindparam(name) for name in columns} | {"document": document}
    )


_PG_INSERT = _pg_insert()


def _fts_match(
    clauses: Sequence[Clause], languages: Sequence[str]
) -> tuple[ColumnElement[bool] | None, Any]:
    """The FTS5 MATCH of the query in each language (its terms with the language before
    them), and the ``rank MATCH`` that has FTS5 rank by bm25 with the columns' weights."""
    alternatives: list[str] = []
    for language in dict.fromkeys(languages):
        phrases = [(c.excluded, c.terms(language)) for c in clauses]
        if any(not excluded and not found for excluded, found in phrases):
            continue  # a word with no term in this language: nothing of it can match
        required = " AND ".join(
            _phrase(language, p) for excluded, p in phrases if not excluded and p
        )
        if not required:
            continue
        expression = f"({required})"
        for excluded, p in phrases:
            if excluded and p:
                expression = f"({expression} NOT {_phrase(language, p)})"
        alternatives.append(expression)
    if not alternatives:
        return None, None
    fts: Any = literal_column("search_index")
    match = fts.op("MATCH")(literal(" OR ".join(alternatives)))
    return match, _fts_rank.op("MATCH")(literal(_BM25))


def _fts_best(
    conn: Connection,
    match: ColumnElement[bool],
    rank: ColumnElement[bool],
    filters: Sequence[Any],
    offset: int,
    limit: int,
    *,
    bounded: bool,
) -> list[int]:
    """The ids of the documents a MATCH finds that pass ``filters``, best first (by rank,
    then the newest release): ``limit`` of them from ``offset``.

    Asked for its matches by rank, FTS5 ranks them all (bm25 of each, in its own sorter),
    whatever the LIMIT. Joining every match to its release to keep the public ones costs
    as much again: so, ``bounded``, FTS5 hands over only its best ``offset + limit +
    _SPARE``, and only those are looked up. That is the answer unless too few of them
    pass the filters, or too many tie with the last of them (a match left out may tie with
    it): then every match is ranked and filtered, one query, as with a region or topic,
    which may keep few of the best.
    """
    d, r = search_documents.c, releases.c
    want = offset + limit

    def candidates(size: int | None) -> Any:
        best = select(_fts.c.rowid.label("id"), _fts_rank.label("rank")).where(match, rank)
        return best.order_by(_fts_rank).limit(size).subquery("candidates")

    if bounded:
        size = want + _SPARE
        c = candidates(size)
        # Left joins: each candidate comes back, passing the filters or not, to tell
        # whether FTS5 had more and where its ranking stopped.
        rows = conn.execute(
            select(c.c.id, c.c.rank, and_(*filters).label("shown"))
            .select_from(c.outerjoin(search_documents, d.id == c.c.id))
            .outerjoin(releases, r.id == d.release_id)
            .order_by(c.c.rank, r.publish_at.desc(), c.c.id)
        ).all()
        shown = [row for row in rows if row.shown]
        if len(rows) < size:  # every match
            return [row.id for row in shown[offset:want]]
        # Those ranked before the last candidate: no match left out can come before them.
        ahead = [row.id for row in shown if row.rank < rows[-1].rank]
        if len(ahead) >= want:
            return ahead[offset:want]
    c = candidates(None)
    query = (
        select(c.c.id)
        .join(search_documents, d.id == c.c.id)
        .join(releases, r.id == d.release_id)
        .where(*filters)
        .order_by(c.c.rank, r.publish_at.desc(), c.c.id)
        .offset(offset)
        .limit(limit)
    )
    return list(conn.scalars(query))


def _phrase(language: str, found: Sequence[str]) -> str:
    return '"' + " ".join(_keyed(language, found)) + '"'


def _pg_match(
    clauses: Sequence[Clause], languages: Sequence[str]
) -> tuple[ColumnElement[bool] | None, Any]:
    """The tsquery of each language, each matched against that language's documents,
    and ts_rank against all of them to rank by."""
    if not clauses:
        return None, None
    text = " ".join(c.websearch() for c in clauses)
    d = search_documents.c
    queries = {
        language: func.websearch_to_tsquery(cast(literal(pg_config(language)), REGCONFIG), text)
        for language in dict.fromkeys(languages)
    }
    if not queries:
        return None, None
    match = or_(*(and_(d.language == lang, _document.op("@@")(q)) for lang, q in queries.items()))
    combined = list(queries.values())
    every: Any = combined[0]
    for q in combined[1:]:
        every = every.op("||")(q)
    return match, func.ts_rank(_document, every).desc()


def _pg_best(
    conn: Connection,
    match: ColumnElement[bool],
    rank: Any,
    filters: Sequence[Any],
    offset: int,
    limit: int,
) -> list[int]:
    """The ids of the documents a tsquery finds that pass ``filters``, best first."""
    d = search_documents.c
    query = (
        select(d.id)
        .join(releases, releases.c.id == d.release_id)
        .where(match, *filters)
        .order_by(rank, releases.c.publish_at.desc(), d.id)
        .offset(offset)
        .limit(limit)
    )
    return list(conn.scalars(query))


def _joined(summary: str, body: str) -> str:
    return f"{summary}\n\n{body}" if summary else body
