"""plan, preview: who gets a release and what exactly they get, as the store says.

Both take up the newsroom's files first (releases and lists, as a scan of the
service does), then read the one plan (planning.py) the engine follows.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from pressdispatch import pipeline
from pressdispatch.cli import app, err, fail, open_service, out
from pressdispatch.config import Settings
from pressdispatch.content.journalists import Wrong, check_address
from pressdispatch.errors import PressDispatchError, Refused
from pressdispatch.model import Release, Tier, Variant
from pressdispatch.planning import (
    ReleasePlan,
    TierPlan,
    assignment_of,
    plan_document,
    release_plan,
)
from pressdispatch.render.email import SAMPLE_RECIPIENT, Recipient
from pressdispatch.service import Service
from pressdispatch.vocabulary import normalize_language


class Format(StrEnum):
    eml = "eml"
    html = "html"
    text = "text"


@app.command("plan")
def plan_command(
    ctx: typer.Context,
    release_id: Annotated[str, typer.Argument(help="The release folder name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Who gets this release, in which language and tier, and where each tier stands."""
    settings = ctx.obj.settings()

    async def go() -> ReleasePlan:
        async with open_service(settings) as service:
            now = await _take_up_files(service)
            try:
                return await release_plan(service.rt, release_id, now)
            except Refused as exc:
                fail(await _unknown(service, exc))

    plan = asyncio.run(go())
    if as_json:
        sys.stdout.write(json.dumps(plan_document(plan), ensure_ascii=False, indent=2) + "\n")
        return
    zone = settings.newsroom.zone
    total = len(plan.assignments)
    zone_name = settings.newsroom.timezone
    title = f"{plan.release.id}: {plan.state}, {total} journalists (times in {zone_name})"
    table = Table(title=title, title_justify="left")
    # An address cut short is useless, and a name needs room to be read: on a narrow
    # terminal the copy, its status and its time wrap between their words instead.
    table.add_column("email", no_wrap=True)
    table.add_column("journalist", min_width=11)
    table.add_column("variant", min_width=len("embargoed"))
    table.add_column("status")
    table.add_column("at", min_width=len("2026-12-01"))
    for a in plan.assignments:
        when = a.at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if a.at else ""
        who = "\n".join(part for part in (a.name, a.outlet) if part)
        table.add_row(a.email, who, f"{a.language} {a.tier.value}", a.status, when)
    out.print(table)
    by_variant = sorted(plan.counts().items(), key=lambda item: (item[0].language, item[0].tier))
    for variant, n in by_variant:
        out.print(f"  {variant.language} {variant.tier.value}: {n}", markup=False)
    for tier in plan.tiers:
        out.print(f"  {_tier_line(tier, settings)}", markup=False)
    out.print(f"  total: {total}", markup=False)
    if not plan.will_send and plan.state not in ("sending", "done"):
        out.print(f"note: the release is {plan.state}: nothing more will be sent", markup=False)


def _tier_line(tier: TierPlan, settings: Settings) -> str:
    """One tier, e.g. ``embargoed: sent on 2026-11-26 20:00: en sent 3, fr sent 1``."""
    when = tier.at.astimezone(settings.newsroom.zone).strftime("%Y-%m-%d %H:%M")
    verb = {
        "will send": f"will send at {when}",
        "sending": f"sending since {when}",
        "sent": f"sent on {when}",
        "late": f"late (was due at {when}; `pressdispatch send` starts it)",
    }.get(tier.state.value, f"{tier.state.value} (was due at {when})")
    counts = ", ".join(
        f"{language} {status} {n}" for (language, status), n in sorted(tier.counts.items())
    )
    return f"{tier.tier.value}: {verb}" + (f": {counts}" if counts else "")


@app.command()
def preview(
    ctx: typer.Context,
    release_id: Annotated[str, typer.Argument(help="The release folder name.")],
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang", help="Language version (default: the recipient's, else the original)."
        ),
    ] = None,
    embargo: Annotated[bool, typer.Option("--embargo", help="The early, embargoed copy.")] = False,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="A journalist: their copy, in the language and tier the plan gives them now.",
        ),
    ] = None,
    fmt: Annotated[
        Format, typer.Option("--format", help="eml: the whole message; html or text: one part.")
    ] = Format.eml,
) -> None:
    """Write the exact message a journalist would receive to standard output."""
    settings = ctx.obj.settings()
    address = _address(to) if to is not None else None

    async def go() -> bytes:
        async with open_service(settings) as service:
            now = await _take_up_files(service)
            try:
                if address is None:
                    release = await _release(service, release_id)
                    variant = _variant(release, lang, embargo, None)
                    recipient = SAMPLE_RECIPIENT
                else:
                    release, variant, recipient = await _for_journalist(
                        service, release_id, address, now, lang, embargo
                    )
                return service.rt.renderer.render(release, variant, recipient)
            except Refused as exc:
                fail(await _unknown(service, exc))
            except PressDispatchError as exc:
                fail(str(exc))

    data = asyncio.run(go())
    if fmt is Format.eml:
        sys.stdout.buffer.write(data)
    else:
        message = message_from_bytes(data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        part = message.get_body(preferencelist=(fmt.value if fmt is Format.html else "plain",))
        assert isinstance(part, EmailMessage)
        sys.stdout.write(part.get_content())
    sys.stdout.flush()


async def _for_journalist(
    service: Service, release_id: str, address: str, now: datetime, lang: str | None, embargo: bool
) -> tuple[Release, Variant, Recipient]:
    """The copy the plan gives this journalist now; --lang and --embargo override it."""
    rt = service.rt
    plan, assignment, why = await assignment_of(rt, release_id, address, now)
    journalist = await rt.journalists.find(address)
    name = journalist.subscriber.name if journalist else ""
    email = journalist.subscriber.email if journalist else address
    if assignment is None:
        if lang is None:
            fail(f"{why} (--lang shows a version all the same)")
        err.print(f"note: {why}", markup=False)
        chosen = None
    else:
        chosen = Variant(assignment.language, assignment.tier)
        if assignment.status not in ("will send", "draft"):
            err.print(
                f"note: {assignment.email} has this copy in the ledger ({assignment.status})",
                markup=False,
            )
    cleared = journalist is not None and journalist.subscriber.embargo
    if embargo and not cleared:
        err.print(
            f"warning: {address} is not cleared for embargoed copies: they never get this one",
            markup=False,
        )
    variant = _variant(plan.release, lang, embargo, chosen)
    if chosen is not None and variant != chosen:
        err.print(
            f"note: the plan gives them {chosen.language} {chosen.tier.value}; "
            f"showing {variant.language} {variant.tier.value} as asked",
            markup=False,
        )
    return plan.release, variant, Recipient(email, name)


def _variant(release: Release, lang: str | None, embargo: bool, chosen: Variant | None) -> Variant:
    if embargo and release.embargo_send_at is None:
        fail(f"release {release.id!r} has no embargo_send_at: there is no embargoed copy")
    language = (
        _language(release, lang)
        if lang
        else (chosen.language if chosen else release.original_language)
    )
    if embargo:
        return Variant(language, Tier.EMBARGOED)
    return Variant(language, chosen.tier if chosen else Tier.PUBLIC)


async def _take_up_files(service: Service) -> datetime:
    """Bring the store in line with the files, as the service's next scan would."""
    now = service.clock()
    report = pipeline.TickReport()
    await pipeline.sync_files(service.rt, now, report)
    return now


async def _unknown(service: Service, refused: Refused) -> str:
    """A refusal as one line; for an unknown release, with the ones there are."""
    if refused.reason != "unknown":
        return str(refused)
    known = ", ".join(r.id for r in await service.rt.catalog.rows()) or "none"
    return f"{refused} (known: {known})"


async def _release(service: Service, release_id: str) -> Release:
    if not await service.rt.catalog.rows(release_id):
        raise Refused("unknown", f"no release {release_id!r}")
    return await service.rt.catalog.snapshot(release_id)


def _language(release: Release, lang: str) -> str:
    try:
        code = normalize_language(lang)
    except PressDispatchError as exc:
        fail(str(exc), 2)
    if code not in release.translations:
        fail(
            f"release {release.id!r} has no {code!r} version (has: {', '.join(release.languages)})"
        )
    return code


def _address(value: str) -> str:
    address = check_address(value)
    if isinstance(address, Wrong):
        fail(f"--to: {address.message}", 2)
    return address
