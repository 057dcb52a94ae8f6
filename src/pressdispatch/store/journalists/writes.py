"""Every write to one journalist outside the list sync, and the rules each one keeps.

- ``confirm``: a journalist confirmed their subscription on the web. They become
  ``active`` on the list ``web``, ``source = "web"`` (only active journalists on at
  least one list are mailed):

  - a new address gets a row of its own (never cleared for embargoes);
  - an address the lists already name keeps its lists and gains ``web``; its
    name, outlet and address stay as the press office's lists give them;
  - an address that was unsubscribed or bounced becomes active again: the
    journalist has just followed a link sent to that very address.

  In every case the languages, regions and topics become the confirmed ones.
- ``save``: a journalist written through the JSON API, ``source = "api"``, on the
  list ``api``. Their status is never touched: an address that unsubscribed or
  bounced stays so, whatever the API sends.
- ``set_preferences``: the journalist's own choices, from the preferences page.
- ``set_status``: unsubscribe, bounce or reactivate; the pending deliveries of an
  address that is no longer active stop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, case, select, update

from pressdispatch.model import (
    OWN_LISTS,
    WAITING,
    DeliveryStatus,
    Source,
    Subscriber,
    SubscriberStatus,
)
from pressdispatch.store.codec import subscriber_columns
from pressdispatch.store.dialect import insert
from pressdispatch.store.schema import deliveries, subscribers

__all__ = ["API_LIST", "CONFIRMED", "WEB_LIST", "confirm", "save", "set_preferences", "set_status"]

WEB_LIST = Source.WEB.value  # the list every web signup is on
API_LIST = Source.API.value  # the list every journalist written through the API is on
CONFIRMED = "confirmed on the web"  # status_reason, for the press office


def confirm(conn: Connection, signup: Subscriber, now: datetime) -> None:
    """Make ``signup.email`` an active subscriber on the ``web`` list, with its choices.

    ``signup`` is what the journalist confirmed; its ``embargo`` and ``lists`` are not used.
    """
    key = signup.email.lower()
    choices = {
        "languages": " ".join(dict.fromkeys(signup.languages)),
        "regions": " ".join(sorted(signup.regions)),
        "topics": " ".join(sorted(signup.topics)),
        "status": SubscriberStatus.ACTIVE,
        "status_reason": CONFIRMED,
        "source": Source.WEB,
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
    # ON CONFLICT: two confirmations of a new address at once make one row.
    added = conn.execute(
        insert(subscribers, conn.dialect.name)
        .values(new)
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(subscribers.c.id)
    ).first()
    if added is not None:
        return
    row = conn.execute(select(subscribers.c.lists).where(subscribers.c.email == key)).one()
    lists = row.lists.split()
    values = dict(choices)
    if not set(lists) - {WEB_LIST}:  # on no list of the press office's: theirs to say
        values |= {"address": signup.email, "name": signup.name, "outlet": signup.outlet}
    values["lists"] = " ".join(lists if WEB_LIST in lists else [*lists, WEB_LIST])
    conn.execute(update(subscribers).where(subscribers.c.email == key).values(values))


def save(conn: Connection, subscriber: Subscriber, now: datetime) -> tuple[bool, SubscriberStatus]:
    """Insert or update one journalist from the API; returns (created, their status)."""
    columns = subscriber_columns(subscriber) | {"source": Source.API, "updated_at": now}
    c = subscribers.c
    known = conn.execute(select(c.id, c.status).where(c.email == columns["email"])).first()
    if known is not None:
        conn.execute(update(subscribers).where(c.id == known.id).values(columns))
        return False, SubscriberStatus(known.status)
    changes = {key: value for key, value in columns.items() if key != "email"}
    active = {"status": SubscriberStatus.ACTIVE, "status_reason": "", "created_at": now}
    conn.execute(
        insert(subscribers, conn.dialect.name)
        .values(columns | active)
        # Another request may have inserted the address meanwhile: update it then.
        .on_conflict_do_update(index_elements=["email"], set_=changes)
    )
    return True, SubscriberStatus.ACTIVE


def set_preferences(
    conn: Connection,
    email: str,
    languages: Sequence[str],
    regions: Iterable[str],
    topics: Iterable[str],
    now: datetime,
) -> bool:
    """Store the journalist's own choices (empty regions or topics: all); False if unknown.

    ``source`` becomes ``self``: the choices are the journalist's, not a list's.
    """
    values = {
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
