"""pressdispatch subscribers export [--out FILE]: every journalist in the store, as CSV.

The store as it is (the lists as last synced, web signups, unsubscribes and
bounces); the subscriber files are not read, so exporting from a machine without
them changes nothing. UTF-8 with a header row, written chunk by chunk: the table
is never held in memory whole.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from sqlalchemy.exc import SQLAlchemyError

from pressdispatch.cli import State, app, fail
from pressdispatch.config import Settings
from pressdispatch.errors import PressDispatchError
from pressdispatch.runtime import database_error
from pressdispatch.store.db import open_database
from pressdispatch.store.journalists import Journalist, Journalists
from pressdispatch.store.migrate import upgrade

__all__ = ["EXPORT_COLUMNS", "export", "subscribers_app", "write_csv"]

subscribers_app = typer.Typer(help="The journalists in the store.", no_args_is_help=True)
app.add_typer(subscribers_app, name="subscribers")

EXPORT_COLUMNS = (
    "email",
    "name",
    "outlet",
    "languages",
    "regions",
    "topics",
    "embargo",
    "lists",
    "status",
    "source",
    "status_reason",
    "bounce_count",
    "last_diagnostic",
    "consent_at",
    "consent_version",
)
# Cells a spreadsheet would take for a formula. Names and outlets may come from the
# public subscription form, reasons and diagnostics from strangers' mail servers, so
# such a cell is written with a leading apostrophe.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_FREE_TEXT = tuple(
    EXPORT_COLUMNS.index(name)
    for name in ("name", "outlet", "status_reason", "last_diagnostic", "consent_version")
)


@subscribers_app.command("export")
def export(
    ctx: typer.Context,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="File to write (default: standard output).")
    ] = None,
) -> None:
    """Write every journalist in the store as CSV: lists, status, source, bounces and consent."""
    state: State = ctx.obj
    settings = state.settings()
    try:
        if out_file is None:
            asyncio.run(write_csv(settings, typer.get_binary_stream("stdout")))
        else:
            with out_file.open("wb") as handle:
                asyncio.run(write_csv(settings, handle))
    except OSError as exc:
        fail(f"{out_file or 'stdout'}: cannot write: {exc}")
    except (PressDispatchError, SQLAlchemyError) as exc:
        fail(database_error(settings, exc))


async def write_csv(settings: Settings, stream: BinaryIO, *, chunk: int = 1000) -> int:
    """Write the header and every journalist to ``stream``; return how many rows."""
    await upgrade(settings.database.url)
    db = open_database(settings.database.url)
    count = 0
    try:
        stream.write(_encode([list(EXPORT_COLUMNS)]))
        async for journalists in Journalists(db).export(chunk=chunk):
            rows = [_cells(journalist) for journalist in journalists]
            for row in rows:
                for i in _FREE_TEXT:
                    if row[i].startswith(_FORMULA):
                        row[i] = "'" + row[i]
            stream.write(_encode(rows))
            count += len(rows)
        stream.flush()
    finally:
        await db.dispose()
    return count


def _cells(journalist: Journalist) -> list[str]:
    """``EXPORT_COLUMNS``, as the store keeps them (space-separated lists)."""
    s = journalist.subscriber
    return [
        s.email,
        s.name,
        s.outlet,
        " ".join(s.languages),
        " ".join(sorted(s.regions)),
        " ".join(sorted(s.topics)),
        "yes" if s.embargo else "no",
        " ".join(s.lists),
        journalist.status.value,
        journalist.source.value,
        journalist.status_reason,
        str(journalist.bounce_count),
        journalist.last_diagnostic,
        _moment(journalist.consent_at),
        journalist.consent_version,
    ]


def _moment(moment: datetime | None) -> str:
    """``2026-11-30T14:00:00Z``: UTC to the second, as spreadsheets read it; empty for none."""
    return "" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def _encode(rows: list[list[str]]) -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode("utf-8")
