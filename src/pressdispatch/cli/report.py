"""pressdispatch report RELEASE_ID [--json]: the distribution report of a release.

What the press office gets by email when a tier finishes (reports.py), for every
tier that started, now: deliveries by status, language and region, what is still
pending, and the bounces and complaints so far.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated

import typer

from pressdispatch.cli import State, app, fail, open_service, out
from pressdispatch.clock import utc_now
from pressdispatch.reporting import as_json, gather
from pressdispatch.reports import report_text

__all__ = ["report"]


@app.command()
def report(
    ctx: typer.Context,
    release_id: Annotated[str, typer.Argument(help="The release.")],
    as_json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """A release's distribution report: per tier, deliveries by status, language and region."""
    state: State = ctx.obj
    settings = state.settings()

    async def work() -> tuple[dict[str, object], str] | None:
        async with open_service(settings) as service:
            found = await gather(service.rt, release_id, utc_now())
            return None if found is None else (as_json(found), report_text(service.rt, found))

    done = asyncio.run(work())
    if done is None:
        fail(f"no release {release_id!r} in the store")
    document, text = done
    if as_json_:
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return
    out.print(text.rstrip("\n"), markup=False)
