"""The two statements that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite


def insert(table: Table, dialect: str) -> Any:
    """An INSERT that knows ON CONFLICT (both dialects spell it the same way in SQLAlchemy)."""
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)
