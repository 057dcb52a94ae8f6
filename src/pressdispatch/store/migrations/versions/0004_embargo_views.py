"""who read a release under embargo, through their own signed link

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "embargo_views",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("release_id", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("viewed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name=op.f("fk_embargo_views_release_id_releases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_embargo_views")),
    )
    op.create_index(
        op.f("ix_embargo_views_release_id_viewed_at"),
        "embargo_views",
        ["release_id", "viewed_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_embargo_views_release_id_viewed_at"), table_name="embargo_views")
    op.drop_table("embargo_views")
