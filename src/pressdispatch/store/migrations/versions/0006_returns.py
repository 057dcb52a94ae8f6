"""returns: what comes back after sending (bounces, complaints), and what it changed

``returns`` keeps each report read (one row per report and delivery), what it was
and what was done, with the message itself for a while. ``subscribers`` gets the
journalist's bounce record (count, soft score, days with hard bounces, the last
diagnostic); ``releases`` gets the circuit breaker's pause; ``deliveries`` an index
on ``message_id``, which a report that quotes it names.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "returns",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("report_id", sa.String(length=400), nullable=False, server_default=""),
        sa.Column("delivery_id", _ID, nullable=True),
        sa.Column("release_id", sa.String(length=200), nullable=True),
        sa.Column("subscriber_id", _ID, nullable=True),
        sa.Column("address", sa.String(length=320), nullable=False, server_default=""),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.String(length=16), nullable=False, server_default=""),
        sa.Column("diagnostic", sa.Text(), nullable=False, server_default=""),
        sa.Column("action", sa.Text(), nullable=False, server_default=""),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returns")),
        sa.UniqueConstraint("key", name=op.f("uq_returns_key")),
    )
    op.create_index(op.f("ix_returns_received_at"), "returns", ["received_at"])
    op.create_index(op.f("ix_returns_release_id_kind"), "returns", ["release_id", "kind"])
    op.create_index(op.f("ix_returns_subscriber_id"), "returns", ["subscriber_id"])
    op.create_index(op.f("ix_deliveries_message_id"), "deliveries", ["message_id"])
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("bounce_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("bounce_score", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("hard_days", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("last_hard_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_soft_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("last_diagnostic", sa.Text(), nullable=False, server_default="")
        )
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("pause_reason", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.drop_column("pause_reason")
        batch_op.drop_column("paused_at")
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        for column in (
            "last_diagnostic",
            "last_soft_at",
            "last_hard_at",
            "hard_days",
            "bounce_score",
            "bounce_count",
        ):
            batch_op.drop_column(column)
    op.drop_index(op.f("ix_deliveries_message_id"), table_name="deliveries")
    op.drop_index(op.f("ix_returns_subscriber_id"), table_name="returns")
    op.drop_index(op.f("ix_returns_release_id_kind"), table_name="returns")
    op.drop_index(op.f("ix_returns_received_at"), table_name="returns")
    op.drop_table("returns")
