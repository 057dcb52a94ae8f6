"""reports: the distribution report of each tier, and its follow-up, sent once

One row per release, tier and kind (``report`` when the tier finished,
``follow_up`` a day later), claimed by the process that sends it and marked sent
once the transport took it. Tiers that had finished before this revision are
marked reported, so an upgrade does not mail a report for every past release.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-12
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("release_id", sa.String(length=200), nullable=False),
        sa.Column("tier", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["release_id"], ["releases.id"], name=op.f("fk_reports_release_id_releases")
        ),
        sa.PrimaryKeyConstraint("release_id", "tier", "kind", name=op.f("pk_reports")),
    )
    now = sa.bindparam("now", datetime.now(UTC).replace(tzinfo=None), type_=sa.DateTime())
    # Our own constants, written in: PostgreSQL cannot type a parameter used twice.
    for tier, started in (("embargoed", "embargo_started_at"), ("public", "public_started_at")):
        for kind in ("report", "follow_up"):
            statement = sa.text(
                "INSERT INTO reports (release_id, tier, kind, sent_at)"  # noqa: S608
                f" SELECT r.id, '{tier}', '{kind}', :now FROM releases r"
                f" WHERE r.{started} IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.release_id = r.id"
                f" AND d.tier = '{tier}' AND d.kind = 'release'"
                " AND d.status IN ('queued', 'deferred', 'sending'))"
            )
            op.get_bind().execute(statement.bindparams(now))


def downgrade() -> None:
    op.drop_table("reports")
