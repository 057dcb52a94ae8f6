"""sources: the feeds and sitemaps polled for new releases, and every entry they listed

``sources`` keeps how each feed or sitemap answered last (ETag, Last-Modified, the
last error); ``source_entries`` every entry seen, so none is imported twice.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("etag", sa.Text(), nullable=False),
        sa.Column("last_modified", sa.Text(), nullable=False),
        sa.Column("baselined_at", sa.DateTime(), nullable=True),
        sa.Column("last_poll_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("failing_since", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("url", name=op.f("pk_sources")),
    )
    op.create_table(
        "source_entries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("source_url", sa.String(length=2000), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("guid", sa.String(length=2000), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("release_id", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_entries")),
        sa.UniqueConstraint("source_url", "url", name=op.f("uq_source_entries_source_url_url")),
    )
    op.create_index(op.f("ix_source_entries_url"), "source_entries", ["url"], unique=False)
    op.create_index(op.f("ix_source_entries_sha256"), "source_entries", ["sha256"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_source_entries_sha256"), table_name="source_entries")
    op.drop_index(op.f("ix_source_entries_url"), table_name="source_entries")
    op.drop_table("source_entries")
    op.drop_table("sources")
