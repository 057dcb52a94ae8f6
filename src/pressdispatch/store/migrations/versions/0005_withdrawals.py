"""withdrawals: a release taken off the newsroom, and the notices to those who got it

``releases`` gets ``withdrawn_at`` and ``withdrawal_reason``. ``deliveries`` gets a
``kind`` (``release`` or ``withdrawal``): a withdrawal notice is one more delivery,
claimed, sent and recorded as the release was, so it goes out once per journalist.
The one-row-per-journalist-per-release constraint becomes one per kind.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("withdrawal_reason", sa.Text(), nullable=False, server_default="")
        )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=12), nullable=False, server_default="release")
        )
        batch_op.drop_constraint("uq_deliveries_release_id_subscriber_id", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_deliveries_release_id_subscriber_id_kind"),
            ["release_id", "subscriber_id", "kind"],
        )


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE kind <> 'release'")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_deliveries_release_id_subscriber_id_kind", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_deliveries_release_id_subscriber_id"), ["release_id", "subscriber_id"]
        )
        batch_op.drop_column("kind")
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.drop_column("withdrawal_reason")
        batch_op.drop_column("withdrawn_at")
