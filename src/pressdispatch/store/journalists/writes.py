"""Every write to one journalist outside the list sync, and the rules each one keeps.

- ``confirm``: a journalist confirmed their subscription on the web. They become
  ``active`` on the list ``web``, ``source = "web"`` (only active journalists on at
  least one list are mailed):

  - a new address gets a row of its own (never cleared for embargoes);
  - an address the lists already name keeps its lists and gains ``web``; its
    name, outlet and address stay as the press office's lists give them;
  - an address that was unsubscribed, bounced or complained becomes active again:
    the journalist has just followed a link sent to that very address, so its soft
    bounce score and hard bounce days start over (the count and diagnostic stay).

  In every case the languages, regions and topics become the confirmed ones.
- ``save``: a journalist written through the JSON API, ``source = "api"``. Only the
  fields the request gives change; one it leaves out is kept (a new address gets the
  defaults: no name, no outlet, every language, region and topic, no embargo
  clearance). The list ``api`` is added to the lists that name them and none is
  removed: membership of the press office's lists is theirs to say. ``row_hash``
  (what the lists last said) is kept, so a scan changes the journalist again only
  once their row in a list changes: whichever changed a field last decides it. Their
  status is never touched: an address that unsubscribed or bounced stays so,
  whatever the API sends.
- ``set_preferences``: the journalist's own choices, from the preferences page.
- ``set_status``: unsubscribe, bounce or reactivate; the pending deliveries of an
  address that is no longer active stop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, select, update

from pressdispatch.model import (
    OWN_LISTS,
    WAITING,
    DeliveryStatus,
    Source,
    Subscriber,
    SubscriberStatus,
)
from pressdispatch.store.dialect import insert
from pressdispatch.store.schema import deliveries, subscribers

__all__ = [
    "API_LIST",
    "CONFIRMED",
    "WEB_LIST",
    "Changes",
    "confirm",
    "save",
    "set_preferences",
    "set_status",
]

WEB_LIST = Source.WEB.value  # the list every web signup is on
API_LIST = Source.API.value  # the list every journalist written through the API is on
CONFIRMED = "confirmed on the web"  # status_reason, for the press office


def confirm(conn: Connection, signup: Subscriber, now: datetime, consent: str = "") -> None:
    """Make ``signup.email`` an active subscriber on the ``web`` list, with its choices.

    ``signup`` is what the journalist confirmed; its ``embargo`` and ``lists`` are not used.
    ``consent``, the version of the privacy statement they agreed to, is recorded with
    ``now``; empty (a link sent before there was one) records nothing.
    """
    key = signup.email.lower()
    choices = _consent(consent, now) | {
        "languages": " ".join(dict.fromkeys(signup.languages)),
        "regions": " ".join(sorted(signup.regions)),
        "topics": " ".join(sorted(signup.topics)),
        "status": SubscriberStatus.ACTIVE,
        "status_reason": CONFIRMED,
        "source": Source.WEB,
        "bounce_score": 0,
        "hard_days": 0,
        "last_hard_at": None,
        "last_soft_at": None,
        "updated_at": now,
    }
    new = choices | {
        "email": key,
        "address": signup.email,
        "name": signup.name,
        "outlet": signup.outlet,
        "embargo": False,
        "lists": WEB_LIST,
        "row_hash": "",
        "created_at": now,
    }
    # Two confirmations of a new address at once make one row.
    if _added(conn, new):
        return
    row = conn.execute(select(subscribers.c.lists).where(subscribers.c.email == key)).one()
    lists = row.lists.split()
    values = dict(choices)
    if not set(lists) - {WEB_LIST}:  # on no list of the press office's: theirs to say
        values |= {"address": signup.email, "name": signup.name, "outlet": signup.outlet}
    values["lists"] = " ".join(lists if WEB_LIST in lists else [*lists, WEB_LIST])
    conn.execute(update(subscribers).where(subscribers.c.email == key).values(values))


@dataclass(frozen=True, slots=True)
class Changes:
    """What one API write says about a journalist: None is a field it leaves out.

    The values are checked already (``content.journalists.check_journalist``); an
    empty one is given, and clears the field (no regions: every region).
    """

    address: str  # normalised, as written: the identity is its lower case
    name: str | None = None
    outlet: str | None = None
    languages: Sequence[str] | None = None  # in order of preference
    regions: Iterable[str] | None = None
    topics: Iterable[str] | None = None
    embargo: bool | None = None

    def columns(self) -> dict[str, Any]:
        """The columns of the fields given, as the table holds them."""
        given: dict[str, Any] = {"name": self.name, "outlet": self.outlet, "embargo": self.embargo}
        if self.languages is not None:
            given["languages"] = " ".join(dict.fromkeys(self.languages))
        if self.regions is not None:
            given["regions"] = " ".join(sorted(set(self.regions)))
        if self.topics is not None:
            given["topics"] = " ".join(sorted(set(self.topics)))
        return {key: value for key, value in given.items() if value is not None}


_BLANK = {"name": "", "outlet": "", "languages": "", "regions": "", "topics": "", "embargo": False}


def save(conn: Connection, changes: Changes, now: datetime) -> tuple[bool, SubscriberStatus]:
    """Add or update one journalist from the API (rules in the module docstring).

    Returns (created, their status).
    """
    key = changes.address.lower()
    given = changes.columns() | {"source": Source.API, "updated_at": now}
    new = (
        _BLANK
        | given
        | {
            "email": key,
            "address": changes.address,
            "lists": API_LIST,
            "status": SubscriberStatus.ACTIVE,
            "status_reason": "",
            "row_hash": "",  # no list has named them yet
            "created_at": now,
        }
    )
    # Another request may have added the address meanwhile: update it then.
    if _added(conn, new):
        return True, SubscriberStatus.ACTIVE
    c = subscribers.c
    known = conn.execute(select(c.id, c.status, c.lists).where(c.email == key)).one()
    lists = known.lists.split()
    given["lists"] = " ".join(lists if API_LIST in lists else [*lists, API_LIST])
    conn.execute(update(subscribers).where(c.id == known.id).values(given))
    return False, SubscriberStatus(known.status)


def set_preferences(
    conn: Connection,
    email: str,
    languages: Sequence[str],
    regions: Iterable[str],
    topics: Iterable[str],
    now: datetime,
    consent: str = "",
) -> bool:
    """Store the journalist's own choices (empty regions or topics: all); False if unknown.

    ``source`` becomes ``self``: the choices are the journalist's, not a list's.
    ``consent``: the version of the privacy statement agreed to, recorded with ``now``.
    """
    values = _consent(consent, now) | {
        "languages": " ".join(dict.fromkeys(languages)),  # order of preference, once each
        "regions": " ".join(sorted(set(regions))),
        "topics": " ".join(sorted(set(topics))),
        # A list journalist's choices become their own; a web or API subscriber
        # keeps their source, and with it their own list.
        "source": case(
            (subscribers.c.source.in_(OWN_LISTS), subscribers.c.source), else_=Source.SELF
        ),
        "updated_at": now,
    }
    statement = update(subscribers).where(subscribers.c.email == email.lower()).values(values)
    return bool(conn.execute(statement).rowcount)


def set_status(
    conn: Connection, email: str, status: SubscriberStatus, reason: str, now: datetime
) -> bool:
    """Unsubscribe, bounce or reactivate ``email`` (lower case); False if unknown."""
    result = conn.execute(
        update(subscribers)
        .where(subscribers.c.email == email)
        .values(status=status, status_reason=reason, updated_at=now)
    )
    if status != SubscriberStatus.ACTIVE:
        ids = select(subscribers.c.id).where(subscribers.c.email == email).scalar_subquery()
        conn.execute(
            update(deliveries)
            .where(deliveries.c.subscriber_id == ids, deliveries.c.status.in_(WAITING))
            .values(status=DeliveryStatus.CANCELLED, last_reply=f"subscriber {status}")
        )
    return bool(result.rowcount)


def _consent(version: str, now: datetime) -> dict[str, Any]:
    return {"consent_at": now, "consent_version": version} if version else {}


def _added(conn: Connection, row: dict[str, Any]) -> bool:
    """Insert a new journalist unless the address is there already (ON CONFLICT DO
    NOTHING, so two writers at once make one row); whether it was added."""
    added = conn.execute(
        insert(subscribers, conn.dialect.name)
        .values(row)
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(subscribers.c.id)
    ).first()
    return added is not None
