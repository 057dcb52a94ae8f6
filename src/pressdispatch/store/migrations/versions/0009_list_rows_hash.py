"""list_rows: each staged row's hash, as its journalist's would be were it their only row

A journalist named on one row only (most of them) is then merged by the database
itself, set against set, without the row going through Python again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("list_rows", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("row_hash", sa.String(length=64), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("list_rows", schema=None) as batch_op:
        batch_op.drop_column("row_hash")
