"""``/api/v1/releases``: list, read, create, reschedule, cancel and withdraw releases;
delivery status.

The release folders stay the source of truth. A release created here is written as
``releases/<id>/release.toml`` plus one ``<lang>.md`` per language, checked by the
very loader `pressdispatch check` uses (in a hidden staging folder, so nothing is
left behind when it fails), then moved into place with one rename and synced into
the store at once. Rescheduling rewrites only the time keys of ``release.toml``.

Reads come from the store, as the newsroom pages do: what the last scan saw (every
``scheduler.scan_interval`` while `pressdispatch run` is running). ``state`` is the
one `pressdispatch status` reports (``status.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from pressdispatch import actions
from pressdispatch.content import drafts, writer
from pressdispatch.content.releases import RELEASE_ID
from pressdispatch.errors import ContentError, Problem, Refused
from pressdispatch.model import Release
from pressdispatch.status import ReleaseReport, report
from pressdispatch.store.catalog import ReleaseRecord
from pressdispatch.store.ledger import DeliveryGroup
from pressdispatch.textfiles import read_text
from pressdispatch.web import releasefiles
from pressdispatch.web.api.common import ApiProblem, ProblemItem, Web, problems, refused
from pressdispatch.web.api.release_models import (
    EXAMPLE_TIME,
    Cancelled,
    ContactOut,
    DeliveryError,
    Paused,
    ReleaseCreated,
    ReleaseDetail,
    ReleaseIn,
    ReleaseList,
    ReleaseOut,
    ReleaseStatus,
    ScheduleIn,
    TranslationOut,
    VariantCount,
    WithdrawIn,
    Withdrawn,
)
from pressdispatch.web.deps import WebState

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/releases", tags=["releases"])

_MAX_ID = 200  # the store's column; longer folder names cannot be recorded


# --------------------------------------------------------------------------- #
# Routes
# --------------------------------------------------------------------------- #


@router.get("", responses=problems(401))
async def list_releases(state: Web) -> ReleaseList:
    """Every release in the store, by publication time."""
    rt = state.runtime
    counts = await rt.ledger.counts()
    now = state.clock()
    snapshots = await rt.catalog.snapshots()  # one read for all, not one per release
    out = []
    for row in await rt.catalog.rows():
        out.append(_summary(_report(state, row, counts, now), row, snapshots[row.id]))
    return ReleaseList(releases=out)


@router.get("/{release_id}", responses=problems(401, 404))
async def get_release(release_id: str, state: Web) -> ReleaseDetail:
    """One release, with every language version (the text being sent once it is frozen)."""
    return await _detail(state, release_id)


@router.get("/{release_id}/status", responses=problems(401, 404))
async def release_status(release_id: str, state: Web) -> ReleaseStatus:
    """Deliveries by status, by language and tier, and the last errors."""
    rt = state.runtime
    row = await _row(state, release_id)
    counts = await rt.ledger.counts(release_id)
    errors = await rt.ledger.last_errors(release_id)
    found = report(row, counts, errors, state.clock(), state.settings.scheduler.max_lateness)
    return _status(found, state)


@router.post(
    "",
    status_code=201,
    responses=problems(400, 401, 409, 413, 415, 422),
    response_description="Created; Location names the new release",
)
async def create_release(
    body: ReleaseIn, request: Request, response: Response, state: Web
) -> ReleaseCreated:
    """Write the release's files, checked as `pressdispatch check` checks them."""
    settings = state.settings
    early = _early_problems(body)
    id_ok = not any(item.field == "id" for item in early)
    if id_ok and await _exists(state, body.id):
        raise ApiProblem(409, f"a release {body.id!r} already exists")
    publish = _time(body.publish_at, "publish_at", early)
    embargo = _time(body.embargo_send_at, "embargo_send_at", early)
    files = _files(body, publish, embargo)
    try:
        release, found = await asyncio.to_thread(
            writer.create_release,
            settings.paths.releases,
            body.id if id_ok else "release",
            files,
            releasefiles.loader(state),
            install=not early,
        )
    except writer.ReleaseExists:
        raise ApiProblem(409, f"a release {body.id!r} already exists") from None
    # Errors refuse the release (422); warnings (HTML the sanitiser removed) come with
    # the 201, and say nothing about why a release was refused.
    known = {item.field for item in early}
    errors = [_item(problem) for problem in found if problem.is_error]
    items = early + [item for item in errors if item.field not in known]
    if release is None or early:
        raise ApiProblem(422, refused("the release was not created", items), items)
    reported = [_item(problem) for problem in found if not problem.is_error]
    await releasefiles.sync(state, "API")
    root = str(request.scope.get("root_path", "")).rstrip("/")  # where the API is mounted
    response.headers["Location"] = f"{root}/releases/{release.id}"
    detail = await _detail(state, release.id, loaded=release)
    return ReleaseCreated(**detail.model_dump(), warnings=reported)


@router.post("/{release_id}/schedule", responses=problems(400, 401, 404, 409, 413, 415, 422))
async def schedule(release_id: str, body: ScheduleIn, state: Web) -> ReleaseOut:
    """New times in release.toml, as long as the dispatch has not started."""
    rt = state.runtime
    _known_form(release_id)
    rows = await rt.catalog.rows(release_id)
    if rows and _started(rows[0]):
        raise ApiProblem(409, _frozen(release_id))
    folder = state.settings.paths.releases / release_id
    if not (folder / "release.toml").is_file():
        raise ApiProblem(404, f"no release {release_id!r}")
    early: list[ProblemItem] = []
    publish = _time(body.publish_at, "publish_at", early)
    embargo: datetime | writer.Keep | None = writer.KEEP
    if "embargo_send_at" in body.model_fields_set:
        embargo = _time(body.embargo_send_at, "embargo_send_at", early)
    if early or publish is None:
        raise ApiProblem(422, refused("the times were not changed", early), early)
    path = folder / "release.toml"
    try:
        before = read_text(path)  # without its byte-order mark, if it has one
    except ContentError as exc:
        item = _item(exc.problem)
        detail = "the times were not changed: release.toml cannot be read"
        raise ApiProblem(422, detail, [item]) from None
    after = writer.with_times(before, publish, embargo)
    release, found = await asyncio.to_thread(
        writer.replace_release_file, folder, "release.toml", after, releasefiles.loader(state)
    )
    if release is None:
        items = [_item(problem) for problem in found if problem.is_error]
        raise ApiProblem(422, refused("the times were not changed", items), items)
    await releasefiles.sync(state, "API")
    rows = await rt.catalog.rows(release_id)
    if rows and _started(rows[0]) and _times(rows[0]) != _times(release):
        # The dispatch started while the file was being rewritten: it keeps the old times.
        await asyncio.to_thread(writer.write_atomically, path, before)
        await releasefiles.sync(state, "API")
        raise ApiProblem(409, _frozen(release_id))
    moved = await _detail(state, release_id, loaded=release)
    return ReleaseOut(**moved.model_dump(include=set(ReleaseOut.model_fields)))


@router.post("/{release_id}/cancel", responses=problems(401, 404, 409))
async def cancel(release_id: str, state: Web) -> Cancelled:
    """Stop everything not yet sent, as `pressdispatch cancel` does; what was sent stays sent
    and a published release stays on the newsroom. 409 for a release that has gone out in
    full (withdraw it instead) or was withdrawn."""
    rt, now = state.runtime, state.clock()
    _known_form(release_id)
    try:
        stopped = await actions.cancel(rt, release_id, now)
    except Refused as exc:
        raise _refusal(exc) from None
    row = await _row(state, release_id)
    counts = await rt.ledger.counts(release_id)
    return Cancelled(id=release_id, state=_report(state, row, counts, now).state, stopped=stopped)


@router.post("/{release_id}/withdraw", responses=problems(400, 401, 404, 409, 415, 422))
async def withdraw(release_id: str, body: WithdrawIn, state: Web) -> Withdrawn:
    """Take a published release off the newsroom, as `pressdispatch withdraw` does: its pages
    answer 410 Gone with the reason, the feeds drop it, what is unsent is stopped; with
    ``notify``, every journalist who received it gets a short notice (sent once each by the
    running service). 409 for a release that is not published, or already withdrawn."""
    rt, now = state.runtime, state.clock()
    _known_form(release_id)
    try:
        done = await actions.withdraw(rt, release_id, body.reason, now, notify=body.notify)
    except Refused as exc:
        raise _refusal(exc) from None
    state.public.expire()  # its pages answer 410 from the next request on
    return Withdrawn(id=release_id, state="withdrawn", stopped=done.stopped, notices=done.notices)


def _refusal(exc: Refused) -> ApiProblem:
    """A lever's refusal as problem details: 404 unknown, 422 a bad reason, 409 the rest."""
    if exc.reason == "unknown":
        return ApiProblem(404, str(exc))
    if exc.reason in ("no-reason", "long-reason"):
        item = ProblemItem(field="reason", message=str(exc))
        return ApiProblem(422, refused("the release is not withdrawn", [item]), [item])
    return ApiProblem(409, str(exc))


# --------------------------------------------------------------------------- #
# Reading the store
# --------------------------------------------------------------------------- #


def _known_form(release_id: str) -> None:
    """404 for an id no release can have, before it is looked up.

    Not every such id can even be a database value: PostgreSQL refuses NUL.
    """
    if not RELEASE_ID.match(release_id):
        raise ApiProblem(404, f"no release {release_id!r}")


async def _row(state: WebState, release_id: str) -> ReleaseRecord:
    _known_form(release_id)
    rows = await state.runtime.catalog.rows(release_id)
    if not rows:
        raise ApiProblem(404, f"no release {release_id!r}")
    return rows[0]


async def _exists(state: WebState, release_id: str) -> bool:
    folder = state.settings.paths.releases / release_id
    return folder.exists() or bool(await state.runtime.catalog.rows(release_id))


def _report(
    state: WebState, row: ReleaseRecord, counts: Mapping[DeliveryGroup, int], now: datetime
) -> ReleaseReport:
    return report(row, counts, [], now, state.settings.scheduler.max_lateness)


async def _detail(
    state: WebState, release_id: str, *, loaded: Release | None = None
) -> ReleaseDetail:
    """The release as the store has it; ``loaded`` stands in if the sync just failed."""
    rt = state.runtime
    _known_form(release_id)
    rows = await rt.catalog.rows(release_id)
    if rows:
        row = rows[0]
        release = await rt.catalog.snapshot(release_id)
    elif loaded is not None:
        row = ReleaseRecord.unsynced(loaded)
        release = loaded
    else:
        raise ApiProblem(404, f"no release {release_id!r}")
    counts = await rt.ledger.counts(release_id)
    found = _report(state, row, counts, state.clock())
    return ReleaseDetail(
        **_summary(found, row, release).model_dump(),
        changed=found.changed,
        contacts=[
            ContactOut(name=c.name, role=c.role, phone=c.phone, email=c.email)
            for c in release.contacts
        ],
        translations=[
            TranslationOut(
                language=t.language,
                title=t.title,
                summary=t.summary,
                dateline=t.dateline,
                body_markdown=t.body_markdown,
            )
            for t in release.translations.values()
        ],
    )


def _summary(found: ReleaseReport, row: ReleaseRecord, release: Release) -> ReleaseOut:
    return ReleaseOut(
        id=found.id,
        state=found.state,
        status=row.status.value,
        publish_at=_iso(found.publish_at),
        embargo_send_at=_iso(found.embargo_send_at) if found.embargo_send_at else None,
        original_language=release.original_language,
        languages=list(release.languages),
        regions=list(release.regions),
        topics=list(release.topics),
    )


def _status(found: ReleaseReport, state: WebState) -> ReleaseStatus:
    """As ``cli/status.py`` writes one release in ``--json``."""
    local = found.publish_at.astimezone(state.settings.newsroom.zone)
    return ReleaseStatus(
        id=found.id,
        state=found.state,
        changed=found.changed,
        publish_at=found.publish_at.isoformat(),
        publish_at_local=(
            f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({state.settings.newsroom.timezone})"
        ),
        embargo_send_at=found.embargo_send_at.isoformat() if found.embargo_send_at else None,
        paused=None
        if found.paused_at is None
        else Paused(since=found.paused_at.isoformat(), reason=found.pause_reason),
        total=found.total,
        by_status={status.value: n for status, n in found.by_status.items()},
        by_variant=[
            VariantCount(language=lang, tier=tier.value, status=status.value, count=n)
            for (lang, tier, status), n in sorted(found.by_variant.items())
        ],
        errors=[
            DeliveryError(
                address=e.address,
                status=e.status.value,
                attempts=e.attempts,
                code=e.last_code,
                reply=e.last_reply,
                at=e.last_attempt_at.isoformat() if e.last_attempt_at else None,
            )
            for e in found.errors
        ],
    )


def _started(row: ReleaseRecord) -> bool:
    return row.frozen_hash is not None


def _times(source: ReleaseRecord | Release) -> tuple[datetime | None, datetime | None]:
    return source.publish_at, source.embargo_send_at


def _frozen(release_id: str) -> str:
    return (
        f"the dispatch of {release_id!r} has started: its text and times are frozen "
        "(write a new release to correct it)"
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


# --------------------------------------------------------------------------- #
# Writing the files
# --------------------------------------------------------------------------- #


def _early_problems(body: ReleaseIn) -> list[ProblemItem]:
    """What is refused before anything is written: the parts that become file names."""
    items: list[ProblemItem] = []
    if not RELEASE_ID.match(body.id):
        message = f"{body.id!r} must be lowercase letters, digits and hyphens"
        items.append(ProblemItem(field="id", message=message))
    elif len(body.id) > _MAX_ID:
        items.append(ProblemItem(field="id", message=f"longer than {_MAX_ID} characters"))
    for key in body.translations:
        if not drafts.LANGUAGE_KEY.match(key):
            message = f"unknown language {key!r} (use an ISO 639-1 code such as 'fr')"
            items.append(ProblemItem(field=f"translations.{key}", message=message))
    return items


def _time(value: str | None, field: str, items: list[ProblemItem]) -> datetime | None:
    """An ISO 8601 time as given (an offset-less one is left for the loader to refuse)."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        message = f"expected a date and time with a UTC offset ({EXAMPLE_TIME}), got {value!r}"
        items.append(ProblemItem(field=field, message=message))
        return None


def _files(
    body: ReleaseIn, publish_at: datetime | None, embargo_send_at: datetime | None
) -> dict[str, str]:
    """release.toml and each ``<lang>.md``, as a press officer would write them."""
    draft = drafts.Draft(
        publish_at=publish_at,
        embargo_send_at=embargo_send_at,
        status=body.status,
        original_language=body.original_language,
        regions=body.regions,
        topics=body.topics,
        contacts=[contact.model_dump(exclude_none=True) for contact in body.contacts],
        translations={
            key: drafts.Version(v.title, v.summary, v.dateline, v.body_markdown)
            for key, v in body.translations.items()
        },
    )
    return drafts.draft_files(draft)


def _item(problem: Problem) -> ProblemItem:
    """A loader problem, with the JSON field it is about."""
    found = drafts.locate(problem)
    return ProblemItem(file=found.file, line=found.line, field=found.field, message=found.message)
