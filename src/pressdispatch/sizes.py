"""Sizes written the way operators write them: ``1MiB``, ``512KiB``, ``2MB`` or bytes."""

from __future__ import annotations

import re

KiB = 1024
MiB = 1024 * KiB

_UNITS = {"b": 1, "kib": KiB, "mib": MiB, "kb": 1000, "mb": 1000 * 1000}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([a-z]*)$")
_EXPECTED = "expected a size such as '1MiB', '512KiB', '2MB' or a number of bytes"


def parse_size(value: object) -> int:
    """Bytes from ``"1MiB"``, ``"512 KiB"``, ``"2MB"``, ``"100B"`` or an integer."""
    if isinstance(value, bool):
        raise ValueError(_EXPECTED)
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a size cannot be negative")
        return value
    if isinstance(value, str):
        match = _SIZE.match(value.strip().lower())
        if match and match.group(2) in _UNITS | {"": 1}:
            return int(float(match.group(1)) * _UNITS.get(match.group(2), 1))
    raise ValueError(f"{_EXPECTED}, got {value!r}")


def format_size(size: int) -> str:
    """``1 MiB``, ``5.2 MiB``, ``640 KiB``, ``300 bytes``: for messages."""
    for unit, factor in (("MiB", MiB), ("KiB", KiB)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"
