"""The ledger's claim and outcome statements on PostgreSQL, straight to psycopg.

They run for every batch the engine sends, so each is one prepared statement, one
round trip and its own transaction (``Database.statement``):

- a claim picks the due rows with ``FOR UPDATE SKIP LOCKED`` (two workers never
  wait for, nor take, each other's rows), marks them ``sending`` under one token and
  returns them with their journalist;
- a chunk of planned deliveries is one INSERT from arrays, each kept only where the
  journalist has none for the release yet;
- a batch of outcomes is one UPDATE joined to the outcomes passed as arrays, so the
  statement's text, and its prepared plan, are the same for any batch size. Each is
  written only where its row still carries the claim's token; the statement returns
  the ids it wrote, and the others are the ones taken over.

The rules are those of ``ledger._PICK`` and ``ledger._RECORD``, which the other
databases run; tests/test_store_contract.py holds all of them to the same answers.
Times are stored as naive UTC (``schema.UtcDateTime``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pressdispatch.model import DeliveryStatus, Tier
from pressdispatch.store.ports import Claim, Kind, Planned, Update

__all__ = ["CLAIM", "PLAN", "RECORD", "claim_params", "claims", "plan_params", "record_params"]

# Each status is picked on its own, walking the (status, due_at) index in order, so a
# claim reads about as many rows as it takes: one pick with ``status IN (...)`` and
# ``ORDER BY due_at, id`` sorts every due row first (45 ms a claim at 10,000 rows,
# growing with the ledger). The release and the journalist of each row are looked up
# by scalar subqueries, not joined: the planner's statistics hardly ever count the
# queued rows (they come and go between two ANALYZEs), and for the few rows it then
# expects it joined and sorted every queued row, for every claim; a subquery leaves
# it only the walk down the index (with ``enable_bitmapscan`` and ``enable_seqscan``
# off on these connections: db.py). Rows due at the same time come in the index's
# order, for rows planned together the order they were planned in. A pick may lock a
# few more rows than the claim takes; the locks end with the statement.
CLAIM = """
WITH queued AS (
    SELECT d.id, d.due_at FROM deliveries AS d
    WHERE d.status = 'queued' AND d.due_at <= %(now)s
    AND (SELECT s.status FROM subscribers AS s WHERE s.id = d.subscriber_id) = 'active'
    AND ((SELECT r.cancelled_at IS NULL AND r.paused_at IS NULL FROM releases AS r
        WHERE r.id = d.release_id) OR d.kind = 'withdrawal')
    ORDER BY d.due_at LIMIT %(limit)s
    FOR UPDATE OF d SKIP LOCKED
), deferred AS (
    SELECT d.id, d.due_at FROM deliveries AS d
    WHERE d.status = 'deferred' AND d.due_at <= %(now)s
    AND (SELECT s.status FROM subscribers AS s WHERE s.id = d.subscriber_id) = 'active'
    AND ((SELECT r.cancelled_at IS NULL AND r.paused_at IS NULL FROM releases AS r
        WHERE r.id = d.release_id) OR d.kind = 'withdrawal')
    ORDER BY d.due_at LIMIT %(limit)s
    FOR UPDATE OF d SKIP LOCKED
), expired AS (
    SELECT d.id, d.due_at FROM deliveries AS d
    WHERE d.status = 'sending' AND d.lease_until < %(now)s
    AND (SELECT s.status FROM subscribers AS s WHERE s.id = d.subscriber_id) = 'active'
    AND ((SELECT r.cancelled_at IS NULL AND r.paused_at IS NULL FROM releases AS r
        WHERE r.id = d.release_id) OR d.kind = 'withdrawal')
    ORDER BY d.due_at LIMIT %(limit)s
    FOR UPDATE OF d SKIP LOCKED
), picked AS (
    SELECT id FROM (
        SELECT * FROM queued UNION ALL SELECT * FROM deferred UNION ALL SELECT * FROM expired
    ) AS due
    ORDER BY due_at, id LIMIT %(limit)s
)
UPDATE deliveries AS d SET
    status = 'sending',
    worker_id = %(worker_id)s,
    lease_token = %(token)s,
    lease_until = %(lease_until)s,
    attempts = d.attempts + 1,
    last_attempt_at = %(now)s,
    first_attempt_at = coalesce(d.first_attempt_at, %(now)s)
FROM subscribers AS s
WHERE d.id = ANY(ARRAY(SELECT id FROM picked)) AND s.id = d.subscriber_id
RETURNING d.id, d.release_id, d.language, d.tier, d.message_id, d.attempts,
    d.first_attempt_at, s.address, s.name, d.kind
"""

# The arrays go in binary (``%b``): psycopg writes a text array in Python, quoting each
# element, which cost more than the insert. The rows go in the order planned (their ids
# too): the claim sends rows due at the same time in id order. Returns how many were
# inserted (a conflict inserts none).
PLAN = """
WITH planned AS (
    INSERT INTO deliveries (release_id, subscriber_id, language, tier, kind, message_id,
        status, attempts, due_at, created_at, last_reply)
    SELECT %(release_id)s, p.subscriber_id, p.language, p.tier, 'release', p.message_id,
        'queued', 0, %(now)s, %(now)s, ''
    FROM unnest(%(subscriber_ids)b::bigint[], %(languages)b::text[], %(tiers)b::text[],
        %(message_ids)b::text[]) WITH ORDINALITY AS p(subscriber_id, language, tier, message_id, n)
    ORDER BY p.n
    ON CONFLICT (release_id, subscriber_id, kind) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM planned
"""

# Binary arrays (``%b``) here too: a tenth less of this process's CPU a statement.
RECORD = """
UPDATE deliveries AS d SET
    status = u.status,
    last_code = u.code,
    last_reply = u.reply,
    lease_until = NULL,
    sent_at = coalesce(u.sent_at, d.sent_at),
    due_at = coalesce(u.due_at, d.due_at)
FROM unnest(
    %b::bigint[], %b::text[], %b::text[], %b::integer[], %b::text[],
    %b::timestamp[], %b::timestamp[]
) AS u(id, token, status, code, reply, sent_at, due_at)
WHERE d.id = u.id AND d.lease_token = u.token
RETURNING d.id
"""


def _naive(value: datetime | None) -> datetime | None:
    """A time as UtcDateTime stores it: naive UTC (never the session's time zone)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("store times must be timezone-aware datetimes")
    return value.astimezone(UTC).replace(tzinfo=None)


def claim_params(
    worker_id: str, now: datetime, limit: int, lease_until: datetime, token: str
) -> dict[str, Any]:
    return {
        "now": _naive(now),
        "limit": limit,
        "worker_id": worker_id,
        "token": token,
        "lease_until": _naive(lease_until),
    }


def claims(rows: Sequence[tuple[Any, ...]], token: str) -> list[Claim]:
    """``CLAIM``'s rows as claims, in id order (RETURNING keeps no order)."""
    return [
        Claim(
            row[0],
            row[1],
            row[2],
            Tier(row[3]),
            row[4],
            row[5],
            row[6].replace(tzinfo=UTC),
            row[7],
            row[8],
            token,
            Kind(row[9]),
        )
        for row in sorted(rows)
    ]


def plan_params(release_id: str, rows: Sequence[Planned], now: datetime) -> dict[str, Any]:
    """``PLAN``'s parameters: the columns of ``rows`` as arrays."""
    return {
        "release_id": release_id,
        "now": _naive(now),
        "subscriber_ids": [p.subscriber_id for p in rows],
        "languages": [p.language for p in rows],
        "tiers": [p.tier.value for p in rows],
        "message_ids": [p.message_id for p in rows],
    }


def record_params(updates: Sequence[Update]) -> list[list[Any]]:
    """``RECORD``'s arrays, one per column, as ``ledger._RECORD`` would bind them."""
    return [
        [u.id for u in updates],
        [u.token for u in updates],
        [u.status.value for u in updates],
        [u.code for u in updates],
        [u.reply[:1000] for u in updates],
        [_naive(u.at) if u.status is DeliveryStatus.SENT else None for u in updates],
        [_naive(u.due_at) for u in updates],
    ]
