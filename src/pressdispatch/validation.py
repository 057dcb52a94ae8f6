"""pydantic's validation errors as ``path:line: field: message`` problems.

Shared by config.toml and the release files (release.toml, front matter): the
line is found from the key's path in the TOML text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pressdispatch.errors import Problem
from pressdispatch.textfiles import EXAMPLE_TIME
from pressdispatch.textlines import key_line

__all__ = ["validation_problems"]


def validation_problems(
    exc: ValidationError,
    path: Path,
    text: str,
    *,
    line_offset: int = 0,
    missing_line: int | None = None,
) -> list[Problem]:
    """Turn pydantic's errors into ``path:line: field: message`` problems.

    ``missing_line`` is where to point when a required key is absent (the
    start of a front matter block, say); otherwise such problems have no line.
    """
    problems = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] == "missing":
            message = "required"
        else:
            message = _message(error)
        field = ".".join(loc) or "(file)"
        field = field.replace("from_", "from")
        line = key_line(text, loc)
        number = line + line_offset if line else None
        if number is None and error["type"] == "missing":
            number = missing_line
        problems.append(Problem(path, number, field, message))
    return problems


def _message(error: Any) -> str:
    kind = str(error["type"])
    value = error.get("input")
    shown = value.isoformat() if hasattr(value, "isoformat") else repr(value)
    if kind == "timezone_aware":
        return f"needs a UTC offset ({EXAMPLE_TIME}), got {shown}"
    if kind.startswith(("datetime", "date_")):
        return f"expected a date and time with a UTC offset ({EXAMPLE_TIME}), got {shown}"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    if kind != "value_error" and not isinstance(value, dict | list):
        message = f"{message} (got {value!r})"
    return message
