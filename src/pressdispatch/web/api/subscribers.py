"""``/api/v1/subscribers/{email}``: add or update a journalist, read them, unsubscribe them.

The address is the identity, in any case (stored lowercased). Fields are checked as a
row of a subscriber list is (docs/subscribers.md): the address by email-validator,
languages as ISO 639-1 codes, regions as ``RegionTree.resolve`` accepts them, topics
as slugs. ``PUT`` adds the journalist or changes them, ``PATCH`` only changes one
already known; both change only the fields the request gives (``writes.save`` keeps
the rules: the list ``api`` is added, no list is removed). ``null`` is refused: a
field is left out to keep it, or given empty to clear it.

An address that unsubscribed, bounced or complained (reported a release as spam) stays
so: saving it again updates its details and says, in ``notice``, that it is still not
mailed. Only the journalist can bring back a complained address, by confirming a new
subscription through /subscribe.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from pressdispatch.content.journalists import Wrong, check_address, check_journalist
from pressdispatch.model import SubscriberStatus
from pressdispatch.regions import RegionTree
from pressdispatch.store.journalists import Journalist
from pressdispatch.store.journalists.writes import Changes
from pressdispatch.web.api.common import ApiProblem, ProblemItem, Web, problems, refused
from pressdispatch.web.deps import WebState

__all__ = ["SubscriberIn", "SubscriberOut", "SubscriberSaved", "router"]

router = APIRouter(prefix="/subscribers", tags=["subscribers"])

_REASON = "unsubscribed through the API"


class SubscriberIn(BaseModel):
    """The fields to change; one left out is kept (for a new journalist: its default)."""

    model_config = ConfigDict(extra="forbid")

    # ``None`` stands for a field left out: ``null`` itself is refused (``_nulls``).
    name: str | None = Field(default=None, description='"" clears it')
    outlet: str | None = Field(default=None, description='"" clears it')
    languages: list[str] | None = Field(
        default=None,
        description="ISO 639-1 codes in order of preference; []: the original language",
    )
    regions: list[str] | None = Field(
        default=None, description="country codes or M49 regions; []: every region"
    )
    topics: list[str] | None = Field(default=None, description="slugs; []: every topic")
    embargo: bool | None = Field(default=None, description="cleared for embargoed copies")


class SubscriberOut(BaseModel):
    email: str
    name: str
    outlet: str
    languages: list[str]
    regions: list[str]
    topics: list[str]
    embargo: bool
    lists: list[str]
    status: str = Field(
        description="active, unsubscribed, bounced (their mail server refused the address) "
        "or complained (they reported a release as spam: only a new subscription they "
        "confirm through /subscribe revives it)"
    )
    status_reason: str
    source: str = Field(description="csv (a list), self (their own choices) or api")
    notice: str | None = Field(default=None, description="why the address is not mailed")
    consent_at: datetime | None = Field(
        default=None,
        description="when they last agreed to the privacy statement on the web (UTC); "
        "null for a journalist who only comes from the lists",
    )
    consent_version: str = Field(
        default="", description="the version of that statement: sha256: and 16 hex digits"
    )


class SubscriberSaved(SubscriberOut):
    created: bool


_CREATED: dict[int | str, dict[str, Any]] = {
    201: {"model": SubscriberSaved, "description": "Created"}
}


@router.put(
    "/{email}",
    responses=problems(400, 401, 413, 415, 422) | _CREATED,
)
async def save_subscriber(
    email: str, body: SubscriberIn, response: Response, state: Web
) -> SubscriberSaved:
    """Add the journalist (201) or change the fields given (200); their status is kept."""
    changes = _changes(email, body, state.runtime.regions)
    created = await _save(state, changes)
    if created:
        response.status_code = 201
    return await _saved(state, changes, created)


@router.patch("/{email}", responses=problems(400, 401, 404, 413, 415, 422))
async def change_subscriber(email: str, body: SubscriberIn, state: Web) -> SubscriberSaved:
    """Change the fields given of a journalist already known (404 otherwise)."""
    changes = _changes(email, body, state.runtime.regions)
    await _find(state, email)  # known now, and still then: a journalist is never deleted
    created = await _save(state, changes)
    return await _saved(state, changes, created)


async def _save(state: WebState, changes: Changes) -> bool:
    created, _status = await state.runtime.journalists.save_from_api(changes, state.clock())
    return created


async def _saved(state: WebState, changes: Changes, created: bool) -> SubscriberSaved:
    saved = await state.runtime.journalists.find(changes.address)
    assert saved is not None
    return SubscriberSaved(**_out(saved).model_dump(), created=created)


@router.get("/{email}", responses=problems(401, 404))
async def get_subscriber(email: str, state: Web) -> SubscriberOut:
    """The journalist's stored fields, status and source."""
    return _out(await _find(state, email))


@router.post("/{email}/unsubscribe", responses=problems(401, 404))
async def unsubscribe(email: str, state: Web) -> SubscriberOut:
    """Stop mailing the address; its pending deliveries are cancelled.

    An address already unsubscribed, bounced or complained is left as it is (with its
    reason).
    """
    journalist = await _find(state, email)
    if journalist.status is SubscriberStatus.ACTIVE:
        unsubscribed = SubscriberStatus.UNSUBSCRIBED
        await state.runtime.journalists.set_status(
            journalist.email, unsubscribed, _REASON, state.clock()
        )
        journalist = await _find(state, email)
    return _out(journalist)


async def _find(state: WebState, email: str) -> Journalist:
    address = check_address(email)
    # An address that cannot be valid names nobody; not looked up either, as the
    # database may not even take it as a value (PostgreSQL and NUL).
    journalist = (
        None if isinstance(address, Wrong) else await state.runtime.journalists.find(address)
    )
    if journalist is None:
        raise ApiProblem(404, f"no subscriber {email!r}")
    return journalist


def _changes(email: str, body: SubscriberIn, tree: RegionTree) -> Changes:
    """The fields given, checked as a row of a subscriber list is; else a 422 naming each."""
    wrong = _nulls(body)
    checked = check_journalist(
        email=email,
        name=body.name or "",
        outlet=body.outlet or "",
        languages=body.languages or (),
        regions=body.regions or (),
        topics=body.topics or (),
        tree=tree,
    )
    if isinstance(checked, list):
        wrong += [
            ProblemItem(
                field=w.field if w.index is None else f"{w.field}.{w.index}", message=w.message
            )
            for w in checked
        ]
    if wrong or isinstance(checked, list):
        raise ApiProblem(422, refused("the subscriber was not saved", wrong), wrong)
    return Changes(
        address=checked.email,
        name=checked.name if body.name is not None else None,
        outlet=checked.outlet if body.outlet is not None else None,
        languages=checked.languages if body.languages is not None else None,
        regions=checked.regions if body.regions is not None else None,
        topics=checked.topics if body.topics is not None else None,
        embargo=body.embargo,
    )


_CLEAR = {"name": 'send "" to clear it', "outlet": 'send "" to clear it', "embargo": "send false"}


def _nulls(body: SubscriberIn) -> list[ProblemItem]:
    """A field sent as ``null``: neither left out (kept) nor empty (cleared), so refused."""
    return [
        ProblemItem(
            field=name,
            message="null is not a value: leave the field out to keep it, or "
            + _CLEAR.get(name, "send [] to clear it"),
        )
        for name in sorted(body.model_fields_set)
        if getattr(body, name) is None
    ]


def _out(journalist: Journalist) -> SubscriberOut:
    status = journalist.status.value
    notice = None
    if journalist.status is not SubscriberStatus.ACTIVE:
        notice = (
            f"this address is {status}: it stays {status} and is not mailed, whatever is saved here"
        )
    s = journalist.subscriber
    return SubscriberOut(
        email=s.email,
        name=s.name,
        outlet=s.outlet,
        languages=list(s.languages),
        regions=sorted(s.regions),
        topics=sorted(s.topics),
        embargo=s.embargo,
        lists=list(s.lists),
        status=status,
        status_reason=journalist.status_reason,
        source=journalist.source.value,
        notice=notice,
        consent_at=journalist.consent_at,
        consent_version=journalist.consent_version,
    )
