"""Which of the release page's buttons apply to a release in its state, and why not.

The state is the one ``status.report`` gives (``pressdispatch status`` and the API show
the same). A button that cannot apply now but will, or that a press officer may look
for, is shown disabled with the reason; one that can never apply again is left out.
The routes in ``releases.py`` and ``actions.py`` still refuse what does not apply: a
page may be stale, and a request may be made by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pressdispatch.model import DeliveryStatus
from pressdispatch.status import ReleaseReport

__all__ = ["Lever", "Levers", "levers"]

# Something of the release is still to be sent: it can be cancelled.
_UNSENT = frozenset({"scheduled", "embargoed", "due", "late", "sending"})
_STOPPED = frozenset({"cancelled", "withdrawn"})  # for good: nothing to resume
_MISSING = "Its files are missing or broken: run `pressdispatch check`."


@dataclass(frozen=True, slots=True)
class Lever:
    enabled: bool
    reason: str = ""  # why it is disabled


@dataclass(frozen=True, slots=True)
class Levers:
    """The release page's buttons; ``None`` for one the page leaves out."""

    send: Lever | None
    retry: Lever | None
    cancel: Lever | None
    withdraw: Lever | None  # a published release only: take it off the newsroom
    test: Lever
    resume: Lever | None = None  # paused by the circuit breaker: `pressdispatch send`


def levers(r: ReleaseReport, when: Callable[[datetime | None], str]) -> Levers:
    """What the page offers for ``r``; ``when`` writes a moment as the console shows it."""
    failed = r.by_status[DeliveryStatus.FAILED] + r.by_status[DeliveryStatus.DEFERRED]
    send = _send(r, when)
    # Send now resumes too (both are `pressdispatch send`): one button is enough.
    paused = r.paused_at is not None and r.state not in _STOPPED
    return Levers(
        send=send,
        retry=Lever(True) if failed and r.state not in ("cancelled", "withdrawn") else None,
        cancel=Lever(True) if r.state in _UNSENT else None,
        withdraw=Lever(True) if r.published and r.state != "withdrawn" else None,
        test=Lever(False, _MISSING) if r.state == "missing" else Lever(True),
        resume=Lever(True) if paused and not (send and send.enabled) else None,
    )


def _send(r: ReleaseReport, when: Callable[[datetime | None], str]) -> Lever | None:
    match r.state:
        case "late" | "due":
            return Lever(True)
        case "scheduled":
            first = r.embargo_send_at or r.publish_at
            return Lever(False, f"Starts by itself at {when(first)}.")
        case "embargoed":
            return Lever(
                False,
                "The embargoed copies are sent; the public ones go out by themselves "
                f"at {when(r.publish_at)}.",
            )
        case "draft":
            return Lever(False, 'A draft is never sent: set status = "ready" in its release.toml.')
        case "missing":
            return Lever(False, _MISSING)
        case _:  # sending, done, cancelled, withdrawn: started or stopped for good
            return None
