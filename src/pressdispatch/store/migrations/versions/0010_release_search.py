"""release search: every language version of every release, and each database's index of it

``search_documents`` holds the text (store/schema.py); SQLite searches it through the
FTS5 table ``search_index`` (stemmed terms, written by store/search.py), PostgreSQL
through the tsvector column ``document`` and its GIN index. The releases already in the
store are indexed by the next sync of the release files (``Catalog.sync``).
``ix_releases_public`` holds what makes a release public, so that a search checks its
matches without reading their releases' rows.

Revision ID: 0010
Revises: 0009
Create Date: 2027-01-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "search_documents",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("release_id", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("regions", sa.Text(), nullable=False),
        sa.Column("topics", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("extra", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name=op.f("fk_search_documents_release_id_releases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_documents")),
    )
    op.create_index(
        op.f("ix_search_documents_release_id"), "search_documents", ["release_id"], unique=False
    )
    op.create_index(
        "ix_releases_public",
        "releases",
        [
            "id",
            "status",
            "publish_at",
            "withdrawn_at",
            "cancelled_at",
            "public_started_at",
            "present",
            "frozen_hash",
        ],
        unique=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_documents ADD COLUMN document tsvector NOT NULL")
        op.execute(
            "CREATE INDEX ix_search_documents_document ON search_documents USING gin (document)"
        )
    else:
        # The terms are stemmed in Python (searchtext.py), so the tokenizer only splits
        # them at the spaces between them and must change none of them.
        op.execute(
            "CREATE VIRTUAL TABLE search_index USING fts5("
            "language, title, summary, body, extra, tokenize = 'unicode61 remove_diacritics 0')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE search_index")
    op.drop_index("ix_releases_public", table_name="releases")
    op.drop_index(op.f("ix_search_documents_release_id"), table_name="search_documents")
    op.drop_table("search_documents")
