"""search_index (SQLite): each term carries its version's language, instead of a column

A version is searched in its own language. The FTS5 table had a ``language`` column for
that, so a query was ``language : "fr" AND (word)``: FTS5 went through every French
version to intersect them with the word's, and bm25 counted every version of the language
(a query without a language, six times) before ranking anything. Now each term is written
with its language before it, ``fr_negoci``: the word's own list holds only versions in
that language, a language the word is not in costs nothing, and bm25 counts how rare the
word is in that language. ``_`` joins the two (the tokenizer keeps it in the token); no
term has one (searchtext keeps letters and digits only), and a language code is two
letters.

The terms are not stemmed again: the old table's text is each field's terms, separated
by spaces, so each gets its language in front, a few hundred versions at a time.
PostgreSQL's tsvectors are unchanged.

Revision ID: 0014
Revises: 0013
Create Date: 2027-01-12
"""

from __future__ import annotations

from typing import Any

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_BATCH = 500


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        return
    op.execute(
        "CREATE VIRTUAL TABLE search_terms USING fts5("
        "title, summary, body, extra, tokenize = \"unicode61 remove_diacritics 0 tokenchars '_'\")"
    )

    def prefixed(row: Any) -> tuple[Any, ...]:
        language = row[1]
        return (row[0], *(" ".join(f"{language}_{t}" for t in text.split()) for text in row[2:]))

    _copy(
        "SELECT rowid, language, title, summary, body, extra FROM search_index",
        "INSERT INTO search_terms (rowid, title, summary, body, extra) VALUES (?, ?, ?, ?, ?)",
        prefixed,
    )
    op.execute("DROP TABLE search_index")
    op.execute("ALTER TABLE search_terms RENAME TO search_index")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        return
    op.execute(
        "CREATE VIRTUAL TABLE search_terms USING fts5("
        "language, title, summary, body, extra, tokenize = 'unicode61 remove_diacritics 0')"
    )

    def plain(row: Any) -> tuple[Any, ...]:
        return (
            row[0],
            row[1],
            *(" ".join(t.partition("_")[2] for t in text.split()) for text in row[2:]),
        )

    _copy(
        "SELECT s.rowid, d.language, s.title, s.summary, s.body, s.extra"
        " FROM search_index s JOIN search_documents d ON d.id = s.rowid",
        "INSERT INTO search_terms (rowid, language, title, summary, body, extra)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        plain,
    )
    op.execute("DROP TABLE search_index")
    op.execute("ALTER TABLE search_terms RENAME TO search_index")


def _copy(select: str, insert: str, convert: Any) -> None:
    """Every row of ``select``, converted, into ``insert``: a batch at a time in memory."""
    driver: Any = op.get_bind().connection.driver_connection
    rows = driver.execute(select)
    writer = driver.cursor()
    while batch := rows.fetchmany(_BATCH):
        writer.executemany(insert, [convert(row) for row in batch])
