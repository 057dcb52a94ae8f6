"""check, preview, plan: the newsroom's files as a press officer sees them."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from dataclasses import replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from pressdispatch.cli import State, app, fail, out
from pressdispatch.config import Settings, load_settings
from pressdispatch.content.journalists import Wrong, check_address
from pressdispatch.content.newsroom import Newsroom, load_newsroom
from pressdispatch.content.topics import topic_problems
from pressdispatch.credentials import Credentials
from pressdispatch.errors import PressDispatchError, Problem
from pressdispatch.matching import choose_variant, plan
from pressdispatch.model import Release, ReleaseStatus, Tier, Variant
from pressdispatch.regions import RegionTree, load_regions
from pressdispatch.render.email import SAMPLE_RECIPIENT, Recipient
from pressdispatch.runtime import renderer_for
from pressdispatch.store.catalog import Catalog
from pressdispatch.store.codec import digest, release_to_json
from pressdispatch.store.db import open_database
from pressdispatch.vocabulary import normalize_language


@app.command()
def check(ctx: typer.Context) -> None:
    """Validate config.toml, every release, every subscriber list and the templates."""
    state: State = ctx.obj
    try:
        settings = load_settings(state.config)
    except PressDispatchError as exc:
        for line in str(exc).splitlines():
            out.print(line, markup=False)
        out.print("1 problem in the configuration; nothing else checked.", markup=False)
        raise typer.Exit(1) from None
    regions = load_regions()
    newsroom = load_newsroom(settings, regions)
    problems = [
        *newsroom.problems,
        *_template_problems(settings, regions, newsroom),
        *asyncio.run(_edited_after_start(settings, newsroom)),
        *topic_problems(settings, newsroom),
    ]
    for problem in problems:
        out.print(str(_relative(problem)), markup=False)
    out.print(_summary(newsroom, len(problems)), markup=False)
    raise typer.Exit(1 if problems else 0)


async def _edited_after_start(settings: Settings, newsroom: Newsroom) -> list[Problem]:
    """Releases whose files changed after their dispatch started (the edits are not sent)."""
    url = make_url(settings.database.url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        return []  # nothing was ever sent from here; don't create a database just to check
    db = open_database(settings.database.url)
    try:
        frozen = await Catalog(db).frozen()
    except SQLAlchemyError:
        return []  # no database yet, or not reachable: nothing to compare with
    finally:
        await db.dispose()
    problems = []
    for release_id, frozen_hash in sorted(frozen.items()):
        release = newsroom.releases.get(release_id)
        if release is not None and digest(release_to_json(release)) != frozen_hash:
            problems.append(
                Problem(
                    release.source or settings.paths.releases / release_id,
                    None,
                    "",
                    "edited after its dispatch started: the changes will not be sent "
                    "(write a new release for a correction)",
                )
            )
    return problems


def _relative(problem: Problem) -> Problem:
    """Show paths relative to the working directory when they are inside it: shorter, clickable."""
    try:
        return replace(problem, path=problem.path.relative_to(Path.cwd()))
    except ValueError:
        return problem


def _template_problems(
    settings: Settings, regions: RegionTree, newsroom: Newsroom
) -> list[Problem]:
    """Render every variant of every release once, so a broken template shows up now."""
    renderer = renderer_for(settings, regions, Credentials.read(settings))
    problems: list[Problem] = []
    for release in newsroom.releases.values():
        for language in release.languages:
            tiers = [Tier.PUBLIC, Tier.EMBARGOED] if release.embargo_send_at else [Tier.PUBLIC]
            for tier in tiers:
                try:
                    renderer.render(release, Variant(language, tier), SAMPLE_RECIPIENT)
                except PressDispatchError as exc:
                    where = release.source or settings.paths.releases
                    problems.append(Problem(where, None, f"{language}/{tier.value}", str(exc)))
    return problems


def _summary(newsroom: Newsroom, problem_count: int) -> str:
    statuses = Counter(r.status.value for r in newsroom.releases.values())
    lists = {name for s in newsroom.subscribers for name in s.lists}
    status_text = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "none"
    return (
        f"{len(newsroom.releases)} releases ({status_text}), "
        f"{len(newsroom.subscribers)} journalists on {len(lists)} lists; "
        f"{problem_count} problem{'s' if problem_count != 1 else ''}"
    )


class Format(StrEnum):
    eml = "eml"
    html = "html"
    text = "text"


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
        typer.Option("--to", help="Recipient address (a subscriber's preferences apply)."),
    ] = None,
    fmt: Annotated[
        Format, typer.Option("--format", help="eml: the whole message; html or text: one part.")
    ] = Format.eml,
) -> None:
    """Write the exact message a journalist would receive to standard output."""
    settings = ctx.obj.settings()
    regions = load_regions()
    newsroom = load_newsroom(settings, regions)
    release = _release(newsroom, release_id)
    recipient = SAMPLE_RECIPIENT
    chosen: Variant | None = None
    if to is not None:
        address = _address(to)
        known = {s.key: s for s in newsroom.subscribers}.get(address.lower())
        recipient = Recipient.of(known) if known else Recipient(address)
        chosen = choose_variant(release, known, regions) if known else None
    language = (
        _language(release, lang)
        if lang
        else (chosen.language if chosen else release.original_language)
    )
    if embargo and release.embargo_send_at is None:
        fail(f"release {release_id!r} has no embargo_send_at: there is no embargoed copy")
    tier = Tier.EMBARGOED if embargo else Tier.PUBLIC
    try:
        data = renderer_for(settings, regions, Credentials.read(settings)).render(
            release, Variant(language, tier), recipient
        )
    except PressDispatchError as exc:
        fail(str(exc))
    if fmt is Format.eml:
        sys.stdout.buffer.write(data)
    else:
        message = message_from_bytes(data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        part = message.get_body(preferencelist=(fmt.value if fmt is Format.html else "plain",))
        assert isinstance(part, EmailMessage)
        sys.stdout.write(part.get_content())
    sys.stdout.flush()


@app.command("plan")
def plan_command(
    ctx: typer.Context,
    release_id: Annotated[str, typer.Argument(help="The release folder name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Who will get this release, in which language and tier, and when."""
    settings = ctx.obj.settings()
    regions = load_regions()
    newsroom = load_newsroom(settings, regions)
    release = _release(newsroom, release_id)
    pairs = sorted(plan(release, newsroom.subscribers, regions), key=lambda p: p[0].key)
    counts = Counter(v for _, v in pairs)
    zone = settings.newsroom.zone
    if as_json:
        document = {
            "release": release.id,
            "status": release.status.value,
            "will_send": release.status is ReleaseStatus.READY,
            "publish_at": release.publish_at.isoformat(),
            "embargo_send_at": release.embargo_send_at.isoformat()
            if release.embargo_send_at
            else None,
            "total": len(pairs),
            "counts": [
                {"language": v.language, "tier": v.tier.value, "count": n}
                for v, n in sorted(
                    counts.items(), key=lambda item: (item[0].language, item[0].tier)
                )
            ],
            "recipients": [
                {
                    "email": s.email,
                    "name": s.name,
                    "outlet": s.outlet,
                    "language": v.language,
                    "tier": v.tier.value,
                    "send_at": release.send_at(v.tier).isoformat(),
                }
                for s, v in pairs
            ],
        }
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return
    title = f"{release.id}: {len(pairs)} recipients (times in {settings.newsroom.timezone})"
    table = Table(title=title, title_justify="left")
    table.add_column("email", no_wrap=True)  # an address cut short is useless
    table.add_column("journalist")
    table.add_column("variant", no_wrap=True)
    table.add_column("sends at", no_wrap=True)
    for subscriber, variant in pairs:
        when = release.send_at(variant.tier).astimezone(zone).strftime("%Y-%m-%d %H:%M")
        who = "\n".join(part for part in (subscriber.name, subscriber.outlet) if part)
        table.add_row(subscriber.email, who, f"{variant.language} {variant.tier.value}", when)
    out.print(table)
    for variant, n in sorted(counts.items(), key=lambda item: (item[0].language, item[0].tier)):
        out.print(f"  {variant.language} {variant.tier.value}: {n}", markup=False)
    out.print(f"  total: {len(pairs)}", markup=False)
    if release.status is not ReleaseStatus.READY:
        out.print(f"note: status is {release.status.value}: nothing will be sent", markup=False)


def _release(newsroom: Newsroom, release_id: str) -> Release:
    try:
        return newsroom.release(release_id)
    except PressDispatchError as exc:
        fail(str(exc))


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
