"""What an attempt's outcome means for the ledger. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta

from pressdispatch.dispatch.transport import Outcome, Status
from pressdispatch.model import DeliveryStatus
from pressdispatch.store.ports import Claim, Update


def backoff(attempts: int, initial: timedelta, ceiling: timedelta) -> timedelta:
    """Exponential: initial, twice that, four times, ... capped at ``ceiling``."""
    factor: int = 2 ** max(attempts - 1, 0)
    return min(initial * factor, ceiling)


def decide(
    claim: Claim,
    outcome: Outcome,
    now: datetime,
    *,
    retry_initial: timedelta,
    retry_max: timedelta,
    max_retry_age: timedelta,
) -> Update:
    if outcome.status is Status.SENT:
        return Update(claim.id, claim.token, DeliveryStatus.SENT, outcome.code, outcome.reply, now)
    if outcome.status is Status.FAILED:
        return Update(
            claim.id,
            claim.token,
            DeliveryStatus.FAILED,
            outcome.code,
            outcome.reply,
            now,
            bounce=outcome.bounce,
        )
    due = now + backoff(claim.attempts, retry_initial, retry_max)
    if due - claim.first_attempt_at > max_retry_age:
        reply = f"gave up after {claim.attempts} attempts: {outcome.reply}"
        return Update(claim.id, claim.token, DeliveryStatus.FAILED, outcome.code, reply, now)
    return Update(
        claim.id, claim.token, DeliveryStatus.DEFERRED, outcome.code, outcome.reply, now, due_at=due
    )
