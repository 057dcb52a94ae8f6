"""embargo_views: which medium of the release a cleared journalist fetched ("" the page)

Revision ID: 0011
Revises: 0010
Create Date: 2027-01-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("embargo_views", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("item", sa.String(length=300), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("embargo_views", schema=None) as batch_op:
        batch_op.drop_column("item")
