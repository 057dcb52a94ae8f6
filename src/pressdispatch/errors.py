"""Every error pressdispatch raises descends from :class:`PressDispatchError`.

    PressDispatchError
    ├── ConfigError          config.toml is missing, malformed or has a wrong key
    │   └── TransportStopped the mail relay cannot be used as configured (TLS, login)
    ├── ContentError         a release or subscriber file cannot be read at all
    ├── UnknownRegion        a region code or name not in the M49 hierarchy
    ├── UnknownLanguage      not an ISO 639-1 code Babel knows
    ├── HeaderInjection      a header value carries CR or LF
    ├── RenderError          a template a press office edited fails to render
    ├── TokenError           a signed link token is forged, expired or for another purpose
    ├── NotFound             a release id or language that does not exist
    ├── Refused              a press office action that cannot be done now
    └── Busy                 work one holder at a time may do is being done by another

Errors about user files carry the path, line and field so a press officer can
fix the input; :class:`Problem` is the same information as a value, used where
we report many problems and carry on. Its :class:`Severity` says whether the
release or row it is about was refused (an error) or used with a change, such
as HTML the sanitiser removed (a warning).

The web layer's own answers (``web.api.common.ApiProblem``,
``web.admin.common.ConsoleRefusal``) are not domain errors and stay out of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pressdispatch.characters import printable


class Severity(StrEnum):
    """What a problem did to the release or row it is about."""

    ERROR = "error"  # refused: the release is not loaded, the row is skipped
    WARNING = "warning"  # used, with a change the message names (HTML removed, a column ignored)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one input file, reported as ``path:line: field: message``."""

    path: Path
    line: int | None
    field: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        return self._format(None)

    def labelled(self) -> str:
        """``path:line: error: field: message`` (or ``warning:``), as `check` prints it."""
        return self._format(self.severity)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def _format(self, label: Severity | None) -> str:
        # A file name may hold anything but "/" and NUL; never an escape sequence on a terminal.
        path = printable(str(self.path))
        parts = [f"{path}:{self.line}" if self.line else path]
        parts += [label.value] if label is not None else []
        parts += [self.field] if self.field else []
        return ": ".join([*parts, self.message])


class PressDispatchError(Exception):
    """Root of every error pressdispatch raises."""


class ConfigError(PressDispatchError):
    """config.toml cannot be used; the message names the file and key."""


class TransportStopped(ConfigError):
    """The transport cannot send anything as configured; nothing was spent trying.

    Raised by ``Transport.send`` (the one exception a transport raises for
    something other than a bug): the engine gives the message back untried and
    pauses for ``retry_after`` seconds before the transport tries again.
    """

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ContentError(PressDispatchError):
    """A release or subscriber file cannot be used."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class UnknownRegion(PressDispatchError, ValueError):
    """A region that is neither an ISO 3166-1 alpha-2 code nor an M49 region slug."""

    def __init__(self, value: str) -> None:
        super().__init__(
            f"unknown region {value!r} (use an ISO 3166-1 alpha-2 code "
            "or an M49 region such as 'eastern-europe')"
        )
        self.value = value


class UnknownLanguage(PressDispatchError, ValueError):
    """A language code that is not ISO 639-1."""

    def __init__(self, value: str) -> None:
        super().__init__(f"unknown language {value!r} (use an ISO 639-1 code such as 'fr')")
        self.value = value


class HeaderInjection(PressDispatchError, ValueError):
    """A value meant for a mail header contains CR, LF or NUL."""

    def __init__(self, header: str, what: str = "line breaks") -> None:
        super().__init__(f"{header}: {what} are not allowed in a mail header")
        self.header = header


class RenderError(PressDispatchError):
    """A template failed to render; the message names the template and line."""


class TokenError(PressDispatchError):
    """A signed token is malformed, forged, expired or meant for something else."""


class NotFound(PressDispatchError):
    """A release or language version that does not exist."""


class Refused(PressDispatchError):
    """A press office action that cannot be done now; ``reason`` is a stable slug."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Busy(PressDispatchError):
    """Work that one holder at a time may do (the list sync) is being done by another.

    Not a failure: whoever gets it waits or leaves the work to the next scan.
    """
