"""check: the newsroom's files as a press officer sees them."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from pressdispatch.cli import State, app, out
from pressdispatch.config import Settings, load_settings
from pressdispatch.content.newsroom import Newsroom, load_newsroom
from pressdispatch.content.topics import topic_problems
from pressdispatch.credentials import Credentials
from pressdispatch.errors import PressDispatchError, Problem, Severity
from pressdispatch.model import Tier, Variant
from pressdispatch.regions import RegionTree, load_regions
from pressdispatch.render.email import SAMPLE_RECIPIENT
from pressdispatch.runtime import renderer_for
from pressdispatch.store.catalog import Catalog
from pressdispatch.store.codec import digest, release_to_json
from pressdispatch.store.db import open_database


@app.command()
def check(
    ctx: typer.Context,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Fail on warnings too (HTML removed, a column ignored)."),
    ] = False,
) -> None:
    """Validate config.toml, every release, every subscriber list and the templates.

    Exits 1 when something cannot be used (an error); a warning (used, with a change)
    fails only with --strict.
    """
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
        out.print(_relative(problem).labelled(), markup=False)
    errors = sum(1 for p in problems if p.is_error)
    warnings = len(problems) - errors
    out.print(_summary(newsroom, errors, warnings), markup=False)
    raise typer.Exit(1 if errors or (strict and warnings) else 0)


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
                    Severity.WARNING,  # the release as it was frozen still goes out
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


def _summary(newsroom: Newsroom, errors: int, warnings: int) -> str:
    statuses = Counter(r.status.value for r in newsroom.releases.values())
    lists = {name for s in newsroom.subscribers for name in s.lists}
    status_text = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "none"
    return (
        f"{len(newsroom.releases)} releases ({status_text}), "
        f"{len(newsroom.subscribers)} journalists on {len(lists)} lists; "
        f"{_count(errors, 'error')}, {_count(warnings, 'warning')}"
    )


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"
