"""[bounces] and [reports]: what comes back after sending, and the distribution report."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from pressdispatch.config.base import (
    Duration,
    Section,
    check_address,
    env_name,
    host_port,
)
from pressdispatch.verp import MAX_TOKEN


class BouncesSection(Section):
    """What comes back after sending (docs/bounces.md); off while ``return_path`` is empty."""

    return_path: str = ""  # bounces@example.org: each delivery's MAIL FROM is bounces+<token>@…
    delimiter: str = "+"
    listen: str = ""  # host:port of the inbound SMTP/LMTP endpoint `run` starts; empty: none
    protocol: Literal["smtp", "lmtp"] = "smtp"
    imap_url: str = ""  # imaps://user@host[:port]/folder, polled by `run`; empty: none
    imap_password_env: str = "PRESSDISPATCH_IMAP_PASSWORD"  # noqa: S105 - a variable's name
    imap_interval: Duration = timedelta(minutes=1)
    hard_days: int = Field(default=2, ge=1, le=30)  # hard bounces, on different days
    soft_limit: int = Field(default=3, ge=1, le=100)  # soft score that makes an address bounced
    soft_decay: Duration = timedelta(days=14)  # a quiet address's soft score starts over
    breaker_min_sent: int = Field(default=200, ge=1)
    breaker_hard: float = Field(default=0.05, gt=0, le=1)  # of what was sent: pause the release
    breaker_complaints: float = Field(default=0.003, gt=0, le=1)
    keep_messages: Duration = timedelta(days=90)  # raw returned messages, for checking

    @field_validator("return_path")
    @classmethod
    def _return_path(cls, value: str) -> str:
        if not value:
            return value
        check_address(value, display_name_allowed=False)
        if len(value.rpartition("@")[0]) + 3 + MAX_TOKEN > 64:
            raise ValueError(
                f"the local part must leave room for a {MAX_TOKEN}-character token "
                "within 64 characters (RFC 5321): keep it under 36"
            )
        return value.strip()

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, value: str) -> str:
        if not re.fullmatch(r"[+\-=_.]{1,3}", value):
            raise ValueError("expected one to three of the characters + - = _ .")
        return value

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        if value and host_port(value) is None:
            raise ValueError("expected host:port, e.g. '127.0.0.1:2525' or '[::1]:2525'")
        return value

    @field_validator("imap_url")
    @classmethod
    def _imap(cls, value: str) -> str:
        if value and not re.match(r"^imaps?://[^\s/@]+@[^\s/]+", value):
            raise ValueError("expected imaps://user@host[:port][/folder]")
        return value

    @field_validator("imap_password_env")
    @classmethod
    def _env(cls, value: str) -> str:
        return env_name(value)

    @model_validator(mode="after")
    def _needs_return_path(self) -> BouncesSection:
        if (self.listen or self.imap_url) and not self.return_path:
            raise ValueError("listen and imap_url read what comes back to return_path: set it")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.return_path)

    @property
    def listen_at(self) -> tuple[str, int] | None:
        return host_port(self.listen) if self.listen else None


class ReportsSection(Section):
    """The distribution report, emailed when a tier finishes and again a day later."""

    to: str = ""  # empty: newsroom.reply_to; neither: no report by email
    follow_up: Duration = timedelta(hours=24)
    email: bool = True  # false: no report by email, whatever reply_to says

    @field_validator("to")
    @classmethod
    def _to(cls, value: str) -> str:
        return check_address(value, display_name_allowed=True) if value else value
