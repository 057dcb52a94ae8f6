"""GET /api/v1/releases/{id}/plan: who gets a release, as `pressdispatch plan --json`.

The document comes from planning.py, the one plan the engine, the command line and
the console read; this module only describes it for the OpenAPI schema.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from pressdispatch import pipeline
from pressdispatch.errors import Refused
from pressdispatch.planning import plan_document, release_plan
from pressdispatch.web.api.common import ApiProblem, Web, problems

__all__ = ["PlanOut", "Recipient", "TierCount", "TierOut", "VariantCount", "router"]

router = APIRouter(prefix="/releases", tags=["releases"])


class TierCount(BaseModel):
    language: str
    status: str  # a delivery status, or "will send" / "draft" for a tier to come
    count: int


class TierOut(BaseModel):
    tier: str
    state: str  # will send, late, sending, sent, cancelled, draft, missing
    at: datetime  # when it is due, or when it started
    total: int
    counts: list[TierCount]


class VariantCount(BaseModel):
    language: str
    tier: str
    count: int


class Recipient(BaseModel):
    email: str
    name: str
    outlet: str
    language: str
    tier: str
    status: str
    send_at: datetime | None


class PlanOut(BaseModel):
    release: str
    status: str
    state: str
    will_send: bool
    publish_at: datetime
    embargo_send_at: datetime | None
    tiers: list[TierOut]
    total: int
    counts: list[VariantCount]
    recipients: list[Recipient]


@router.get("/{release_id}/plan", responses=problems(401, 404))
async def release_plan_route(release_id: str, state: Web) -> PlanOut:
    """Who gets the release, in which language and tier, and where each tier stands:
    the ledger's copies for a tier started, today's journalists for a tier to come."""
    rt = state.runtime
    now = state.clock()
    await pipeline.sync_files(rt, now, pipeline.TickReport(), lists=False)
    try:
        plan = await release_plan(rt, release_id, now)
    except Refused as exc:
        raise ApiProblem(404, str(exc)) from None
    return PlanOut.model_validate(plan_document(plan))
