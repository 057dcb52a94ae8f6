"""A journalist as the store knows them, and the one way to find one by address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from pressdispatch.model import Source, Subscriber, SubscriberStatus
from pressdispatch.store.codec import storable, subscriber_from_row
from pressdispatch.store.schema import subscribers

__all__ = ["Addressee", "Journalist", "Profile", "find", "journalist"]


@dataclass(frozen=True, slots=True)
class Journalist:
    """One journalist in the store: who they are, what they get, whether they are mailed."""

    id: int
    subscriber: Subscriber  # the address as written, and what they receive
    status: SubscriberStatus  # only active journalists are mailed
    status_reason: str  # why, for the press office
    source: Source  # where their details come from
    # What came back from their mail server (store/returns.py): kept, never cleared.
    bounce_count: int = 0  # hard and soft bounces, counted
    bounce_score: int = 0  # soft: +1 a day at most, bounced at [bounces] soft_limit
    last_diagnostic: str = ""  # the latest bounce or complaint, in the server's words
    # The privacy statement they last agreed to on the web: when, and its version.
    consent_at: datetime | None = None
    consent_version: str = ""

    @property
    def email(self) -> str:
        """Their identity in the store: the address in lower case."""
        return self.subscriber.key


# What decides which copy of a release a journalist gets, as stored: their languages,
# regions and topics (space-separated) and their embargo clearance. Many journalists
# share one, so the planner matches each once.
Profile = tuple[str, str, str, bool]


class Addressee(NamedTuple):
    """What the planner needs of a mailable journalist, and nothing more."""

    id: int
    address: str  # as written
    profile: Profile


def journalist(row: Any) -> Journalist:
    """A row of ``subscribers`` as a ``Journalist``."""
    return Journalist(
        id=int(row.id),
        subscriber=subscriber_from_row(row._mapping),
        status=SubscriberStatus(row.status),
        status_reason=row.status_reason,
        source=Source(row.source),
        bounce_count=int(row.bounce_count),
        bounce_score=int(row.bounce_score),
        last_diagnostic=row.last_diagnostic,
        consent_at=row.consent_at,
        consent_version=row.consent_version,
    )


def find(conn: Connection, email: str) -> Journalist | None:
    """The journalist with this address (in any case), or None.

    The one lookup by address: the subscription pages, the API, the console and
    the command line all go through it.
    """
    if not storable(email):
        return None  # no stored address holds such a character
    query = select(subscribers).where(subscribers.c.email == email.lower())
    row = conn.execute(query).first()
    return None if row is None else journalist(row)
