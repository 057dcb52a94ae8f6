"""subscribers: the privacy statement a journalist agreed to on the web, and when

Revision ID: 0012
Revises: 0011
Create Date: 2027-01-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("consent_version", sa.String(length=80), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_column("consent_version")
        batch_op.drop_column("consent_at")
