"""pressdispatch bounces ingest FILE... | -, bounces poll, and bounces list [--release ID] [--json].

``ingest`` reads returned mail the way the inbound endpoint does (bounces.py):
``.eml`` files, mbox files (each message in turn), or one message on standard
input, for a mail alias such as ``bounces: "|pressdispatch bounces ingest -"``.
One line per message: what it was, whom it concerned, what was done. Reading a
report twice counts it once. It exits 0 when every message was read, recognised
or not; 1 when a file could not be read (the others are still processed); 75
(EX_TEMPFAIL) when the store could not save one, so that the mail server which
piped it keeps it and tries again.
``poll`` reads the mailbox of ``[bounces] imap_url`` once (imap.py), as `run` does
every ``imap_interval``: for cron, or to see what it would do.
"""

from __future__ import annotations

import asyncio
import json
import mailbox
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError

from pressdispatch.bounces import process
from pressdispatch.cli import State, app, err, fail, open_service, out
from pressdispatch.clock import utc_now
from pressdispatch.imap import MailboxError, poll
from pressdispatch.store.returns import Returned

__all__ = ["TEMPFAIL", "bounces_app"]

TEMPFAIL = 75  # EX_TEMPFAIL: the mail server keeps the message and tries again

bounces_app = typer.Typer(
    help="What comes back after sending: bounces, complaints, auto-replies.",
    no_args_is_help=True,
)
app.add_typer(bounces_app, name="bounces")


@bounces_app.command("ingest")
def ingest(
    ctx: typer.Context,
    sources: Annotated[
        list[str], typer.Argument(help=".eml or mbox files; - reads one message from stdin.")
    ],
) -> None:
    """Read returned mail (bounces, spam complaints, auto-replies) and act on it."""
    state: State = ctx.obj
    settings = state.settings()
    unreadable = 0

    async def work() -> None:
        nonlocal unreadable
        async with open_service(settings) as service:
            rt = service.rt
            for label, raw in _messages(sources):
                if raw is None:
                    unreadable += 1
                    continue
                try:
                    done = await process(
                        rt.returns, rt.renderer.signer, rt.return_path, raw, utc_now(), via="ingest"
                    )
                except SQLAlchemyError as exc:
                    # Nothing was saved: a mail alias's delivery is tried again later.
                    err.print(f"[bold red]error:[/] {escape(label)}: not saved: {escape(str(exc))}")
                    raise typer.Exit(TEMPFAIL) from None
                out.print(f"{escape(label)}: {escape(done.line())}")

    asyncio.run(work())
    if unreadable:
        raise typer.Exit(1)


@bounces_app.command("poll")
def poll_mailbox(ctx: typer.Context) -> None:
    """Read the mailbox of [bounces] imap_url once; file each message in Processed or
    Unrecognized."""
    state: State = ctx.obj
    settings = state.settings()
    if not settings.bounces.imap_url:
        fail("no mailbox to poll: set [bounces] imap_url")
    left = 0

    async def work() -> None:
        nonlocal left
        async with open_service(settings) as service:
            async for polled in poll(service.rt, utc_now):
                left += polled.processed is None
                out.print(escape(polled.line()))

    try:
        asyncio.run(work())
    except MailboxError as exc:
        fail(str(exc))
    if left:
        raise typer.Exit(1)


def _messages(sources: list[str]) -> Iterator[tuple[str, bytes | None]]:
    """(label, message) for every message of every source; None for one unreadable."""
    for source in sources:
        if source == "-":
            yield "stdin", sys.stdin.buffer.read()
            continue
        path = Path(source)
        try:
            with path.open("rb") as handle:
                start = handle.read(5)
        except OSError as exc:
            err.print(f"[bold red]error:[/] {escape(source)}: {escape(exc.strerror or str(exc))}")
            yield source, None
            continue
        if start != b"From ":
            yield source, path.read_bytes()
            continue
        box = mailbox.mbox(path, create=False)
        try:
            for number, key in enumerate(box.iterkeys(), start=1):
                yield f"{source}#{number}", box.get_bytes(key)
        finally:
            box.close()


@bounces_app.command("list")
def list_returns(
    ctx: typer.Context,
    release: Annotated[
        str | None, typer.Option("--release", help="Only what came back for this release.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 500,
) -> None:
    """What came back, newest first: time, journalist, release, kind, code, what was done."""
    state: State = ctx.obj
    settings = state.settings()

    async def work() -> list[Returned]:
        async with open_service(settings) as service:
            return await service.rt.returns.listed(release_id=release, limit=limit)

    found = asyncio.run(work())
    if as_json:
        document = [_as_json(r) for r in found]
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return
    if not found:
        out.print("nothing has come back" + (f" for {escape(release)}" if release else ""))
        return
    for r in found:
        code = f" {r.status_code}" if r.status_code else ""
        whom = r.address or "(nobody we know)"
        about = f" {r.release_id}" if r.release_id else ""
        out.print(
            f"{_time(r.received_at)}  {escape(whom)}{escape(about)}  {r.kind}{code}  "
            f"{escape(r.action)}"
        )
        if r.diagnostic:
            out.print(f"    {escape(r.diagnostic)}")


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _as_json(r: Returned) -> dict[str, Any]:
    return {
        "received_at": r.received_at.isoformat(),
        "address": r.address,
        "release": r.release_id,
        "kind": r.kind,
        "status": r.status_code,
        "diagnostic": r.diagnostic,
        "action": r.action,
        "via": r.via,
        "message_kept": r.has_message,
    }
