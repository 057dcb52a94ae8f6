"""``/api/v1/subscribers/{email}``: add or update a journalist, read them, unsubscribe them.

The address is the identity, in any case (stored lowercased). Fields are checked as a
row of a subscriber list is (docs/subscribers.md): the address by email-validator,
languages as ISO 639-1 codes, regions as ``RegionTree.resolve`` accepts them, topics
as slugs. Journalists saved here are on the list ``api`` with ``source = "api"``.

An address that unsubscribed or bounced stays so: saving it again updates its details
and says, in ``notice``, that it is still not mailed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from pressdispatch.content.journalists import Wrong, check_address, check_journalist
from pressdispatch.model import Subscriber, SubscriberStatus
from pressdispatch.regions import RegionTree
from pressdispatch.store.journalists import Journalist
from pressdispatch.store.journalists.writes import API_LIST
from pressdispatch.web.api.common import ApiProblem, ProblemItem, Web, problems, refused
from pressdispatch.web.deps import WebState

__all__ = ["SubscriberIn", "SubscriberOut", "SubscriberSaved", "router"]

router = APIRouter(prefix="/subscribers", tags=["subscribers"])

_REASON = "unsubscribed through the API"


class SubscriberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    outlet: str = ""
    languages: list[str] = Field(
        default_factory=list,
        description="ISO 639-1 codes in order of preference; none: the original language",
    )
    regions: list[str] = Field(
        default_factory=list, description="country codes or M49 regions; none: every region"
    )
    topics: list[str] = Field(default_factory=list, description="slugs; none: every topic")
    embargo: bool = Field(default=False, description="cleared for embargoed copies")


class SubscriberOut(BaseModel):
    email: str
    name: str
    outlet: str
    languages: list[str]
    regions: list[str]
    topics: list[str]
    embargo: bool
    lists: list[str]
    status: str = Field(description="active, unsubscribed or bounced")
    status_reason: str
    source: str = Field(description="csv (a list), self (their own choices) or api")
    notice: str | None = Field(default=None, description="why the address is not mailed")


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
    """Add the journalist (201) or replace their details (200); their status is kept."""
    checked = _subscriber(email, body, state.runtime.regions)
    if isinstance(checked, list):
        raise ApiProblem(422, refused("the subscriber was not saved", checked), checked)
    journalists = state.runtime.journalists
    created, _status = await journalists.save_from_api(checked, state.clock())
    if created:
        response.status_code = 201
    saved = await journalists.find(checked.key)
    assert saved is not None
    return SubscriberSaved(**_out(saved).model_dump(), created=created)


@router.get("/{email}", responses=problems(401, 404))
async def get_subscriber(email: str, state: Web) -> SubscriberOut:
    """The journalist's stored fields, status and source."""
    return _out(await _find(state, email))


@router.post("/{email}/unsubscribe", responses=problems(401, 404))
async def unsubscribe(email: str, state: Web) -> SubscriberOut:
    """Stop mailing the address; its pending deliveries are cancelled.

    An address already unsubscribed or bounced is left as it is (with its reason).
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


def _subscriber(email: str, body: SubscriberIn, tree: RegionTree) -> Subscriber | list[ProblemItem]:
    """The journalist, checked as a row of a subscriber list is; else every problem."""
    checked = check_journalist(
        email=email,
        name=body.name,
        outlet=body.outlet,
        languages=body.languages,
        regions=body.regions,
        topics=body.topics,
        tree=tree,
    )
    if isinstance(checked, list):
        return [
            ProblemItem(
                field=w.field if w.index is None else f"{w.field}.{w.index}", message=w.message
            )
            for w in checked
        ]
    return Subscriber(
        email=checked.email,
        name=checked.name,
        outlet=checked.outlet,
        languages=checked.languages,
        regions=frozenset(checked.regions),
        topics=frozenset(checked.topics),
        embargo=body.embargo,
        lists=(API_LIST,),
    )


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
    )
