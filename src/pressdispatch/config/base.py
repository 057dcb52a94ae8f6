"""What every section of config.toml shares: strict one-line values, and their checks."""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from email.utils import parseaddr
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    field_validator,
)

from pressdispatch.characters import bad_character
from pressdispatch.durations import parse_duration
from pressdispatch.errors import UnknownLanguage
from pressdispatch.sizes import parse_size
from pressdispatch.vocabulary import normalize_address, normalize_language

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Size = Annotated[int, BeforeValidator(parse_size)]
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _single_line(cls, value: object) -> object:
        # Every value of config.toml is one line: names and addresses reach mail
        # headers, paths and URLs the system. No line break, no control character.
        for item in value if isinstance(value, list | tuple) else (value,):
            bad = bad_character(item) if isinstance(item, str) else None
            if bad is not None:
                raise ValueError(bad.message())
        return value


def check_address(value: str, *, display_name_allowed: bool) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("line breaks are not allowed in an address")
    name, address = parseaddr(value)
    if name and not display_name_allowed:
        raise ValueError("expected a bare address")
    try:
        normalize_address(address)
    except ValueError as exc:
        raise ValueError(f"not a valid address: {value!r} ({exc})") from None
    return value.strip()


def language_or_error(value: str) -> str:
    try:
        return normalize_language(value)
    except UnknownLanguage as exc:
        raise ValueError(str(exc)) from None


def host_port(value: str) -> tuple[str, int] | None:
    found = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([^\s:\[\]]+):(\d{1,5})", value.strip())
    if found is None:
        return None
    host = found.group(1) or found.group(3)
    port = int(found.group(2) or found.group(4))
    return (host, port) if 0 <= port <= 65535 else None


def parse_network(item: object) -> Network:
    """An address (a network of one) or a CIDR network, IPv4 or IPv6."""
    text = item.strip() if isinstance(item, str) else ""
    try:
        return ipaddress.ip_network(text)
    except ValueError:
        pass
    try:  # an address with a prefix, such as 10.0.0.1/8: say which network it is in
        meant = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(
            f"{item!r} is not an IP address or a CIDR network such as '10.0.0.0/8'"
        ) from None
    raise ValueError(f"{item!r} has host bits set: write the network, {str(meant)!r}")


def env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(f"expected the name of an environment variable, got {value!r}")
    return value
