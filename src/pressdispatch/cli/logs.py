"""Logging for the commands that run for long (run, worker, serve): what -v and --debug-sql show.

- By default: INFO and above, from pressdispatch and from the libraries.
- ``-v``: pressdispatch's own DEBUG lines as well. The libraries stay at INFO:
  their debug output carries the data they handle (aiosqlite logs every
  statement with its parameters, that is journalists' addresses and names;
  markdown-it logs each parsing rule).
- ``--debug-sql``: SQLAlchemy's statements with their parameters, at INFO. Those
  parameters include journalists' addresses and names, so it takes its own
  flag, and the log says so when it is on.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

__all__ = ["DebugSql", "Verbose", "setup_logging"]

Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", help="Also log pressdispatch's debug messages (never SQL parameters)."
    ),
]
DebugSql = Annotated[
    bool,
    typer.Option(
        "--debug-sql",
        help="Also log every SQL statement with its parameters, which include journalists' "
        "addresses and names. For debugging, not for logs you keep.",
    ),
]

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
log = logging.getLogger("pressdispatch")


def setup_logging(verbose: bool, debug_sql: bool = False) -> None:
    """Configure the process's logging once, at the start of a command."""
    logging.basicConfig(format=FORMAT)  # a handler on stderr, unless the host already has one
    logging.getLogger().setLevel(logging.INFO)
    # Levels are set both ways: a test may run several commands in one process.
    log.setLevel(logging.DEBUG if verbose else logging.NOTSET)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO if debug_sql else logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Alembic's set-up of its own plugins, a line each at every start: not the migrations.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    if debug_sql:
        log.warning(
            "--debug-sql: SQL statements are logged with their parameters, "
            "which include journalists' addresses and names"
        )
    log.debug("debug messages on; SQL statements are logged only with --debug-sql")
