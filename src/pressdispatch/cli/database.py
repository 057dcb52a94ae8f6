"""pressdispatch db upgrade: apply the store's migrations (also done on every start)."""

from __future__ import annotations

import typer

from pressdispatch.cli import State, app, fail, out
from pressdispatch.errors import PressDispatchError
from pressdispatch.store.migrate import current_revision, upgrade_sync

db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Bring the database to the current schema."""
    state: State = ctx.obj
    settings = state.settings()
    try:
        upgrade_sync(settings.database.url)
        revision = current_revision(settings.database.url)
    except PressDispatchError as exc:
        fail(str(exc))
    except Exception as exc:  # a driver error: say which database, not a traceback
        fail(f"database.url: cannot migrate {settings.database.url!r}: {exc}")
    out.print(f"database at revision {revision}", markup=False)
