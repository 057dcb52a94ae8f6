"""What a bounce or a complaint does to a journalist, and when a release must pause.

Pure: the store (store/returns.py) reads a journalist's record, calls :func:`judge`,
and writes what it returns in the same transaction. The defaults are [bounces]'s
(config/bounces.py), after what mailing-list software learned the hard way:

- a hard bounce (the mailbox does not exist) suppresses an address that never took
  a delivery at once; one that did only after hard bounces on ``hard_days``
  different days, since a server misconfigured for an afternoon says "no such user"
  too;
- a soft bounce (a full mailbox, a server down) adds one to a score, once a day at
  most; the score starts over after ``soft_decay`` without one, and the address is
  suppressed when it reaches ``soft_limit``;
- a policy refusal (5.7.x, a block list, "spam detected") is the sender's problem,
  never the journalist's: it is counted as a deliverability alert;
- a complaint (a spam report) suppresses the address everywhere at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pressdispatch.model import SubscriberStatus

__all__ = ["Record", "Rules", "judge", "tripped"]


@dataclass(frozen=True, slots=True)
class Rules:
    hard_days: int = 2
    soft_limit: int = 3
    soft_decay: timedelta = timedelta(days=14)
    breaker_min_sent: int = 200
    breaker_hard: float = 0.05
    breaker_complaints: float = 0.003


@dataclass(frozen=True, slots=True)
class Record:
    """A journalist's standing, as far as what comes back goes."""

    status: SubscriberStatus
    bounce_count: int = 0
    bounce_score: int = 0
    hard_days: int = 0
    last_hard_at: datetime | None = None
    last_soft_at: datetime | None = None
    last_diagnostic: str = ""


def judge(
    record: Record,
    kind: str,
    diagnostic: str,
    now: datetime,
    rules: Rules,
    *,
    accepted_before: bool,
) -> tuple[Record, str]:
    """The record after one finding of ``kind`` (content/returns.py Kind's values), and
    what was done, in words for the press office. ``accepted_before``: an earlier
    delivery to the address went through without a hard bounce."""
    if kind == "complaint":
        after = replace(record, status=SubscriberStatus.COMPLAINED, last_diagnostic=diagnostic)
        return after, "complained: suppressed on every list"
    if kind == "hard":
        return _hard(record, diagnostic, now, rules, accepted_before=accepted_before)
    if kind == "soft":
        return _soft(record, diagnostic, now, rules)
    if kind == "policy":
        return record, "counted against the sender (deliverability alert), not the journalist"
    if kind == "unrecognised":
        return record, "nothing: not a report pressdispatch can read (kept for a person)"
    return record, "nothing"


def _hard(
    record: Record, diagnostic: str, now: datetime, rules: Rules, *, accepted_before: bool
) -> tuple[Record, str]:
    new_day = record.last_hard_at is None or record.last_hard_at.date() != now.date()
    days = record.hard_days + (1 if new_day else 0)
    after = replace(
        record,
        bounce_count=record.bounce_count + 1,
        hard_days=days,
        last_hard_at=now,
        last_diagnostic=diagnostic,
    )
    if not accepted_before:
        return _suppress(after, "bounced: the address never took a delivery")
    if days >= rules.hard_days:
        return _suppress(after, f"bounced: hard bounces on {days} different days")
    return after, f"hard bounce, day {days} of {rules.hard_days}"


def _soft(record: Record, diagnostic: str, now: datetime, rules: Rules) -> tuple[Record, str]:
    last = record.last_soft_at
    score = record.bounce_score
    if last is not None and now - last >= rules.soft_decay:
        score = 0  # quiet long enough: what was wrong then was passing
    counted = last is None or last.date() != now.date() or score == 0
    if counted:
        score += 1
    after = replace(
        record,
        bounce_count=record.bounce_count + 1,
        bounce_score=score,
        last_soft_at=now,
        last_diagnostic=diagnostic,
    )
    if score >= rules.soft_limit:
        return _suppress(after, f"bounced: soft score {score} of {rules.soft_limit}")
    if not counted:
        return after, f"soft bounce, already counted today (score {score} of {rules.soft_limit})"
    return after, f"soft bounce, score {score} of {rules.soft_limit}"


def _suppress(record: Record, action: str) -> tuple[Record, str]:
    if record.status is not SubscriberStatus.ACTIVE:  # unsubscribed or complained stays so
        return record, f"{action} (already {record.status})"
    return replace(record, status=SubscriberStatus.BOUNCED), action


def tripped(sent: int, hard: int, complaints: int, rules: Rules) -> str | None:
    """Why a release must pause, with ``sent`` deliveries gone and ``hard`` hard bounces
    and ``complaints`` back for them; None while it may go on."""
    if sent < rules.breaker_min_sent:
        return None
    if hard / sent > rules.breaker_hard:
        return (
            f"{hard} hard bounces for {sent} sent ({hard / sent:.1%}, over "
            f"{rules.breaker_hard:.1%}): check the list before resuming"
        )
    if complaints / sent > rules.breaker_complaints:
        return (
            f"{complaints} spam complaints for {sent} sent ({complaints / sent:.2%}, over "
            f"{rules.breaker_complaints:.2%}): mailbox providers block senders past this"
        )
    return None
