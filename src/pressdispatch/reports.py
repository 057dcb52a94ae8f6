"""The distribution report by email: when a tier finishes, and again [reports] follow_up
later with what came back since.

``send_due`` runs at each scan of the service (and `run --once`): it asks the store
which reports are due, claims each (one process sends it, however many run), renders
it from ``templates/email/report.txt.j2`` and ``report.html.j2`` in the newsroom's
default language, hands it to the transport, and marks it sent only once the
transport took it. A report that did not go is tried again after ``RETRY``.
The report goes to [reports] to, else to newsroom.reply_to; with neither (or with
[reports] email = false), none is sent and the finished tiers are marked reported,
so none is sent later either.
"""

from __future__ import annotations

import logging
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

import jinja2

from pressdispatch.config import Settings
from pressdispatch.dispatch.transport import Envelope, Status
from pressdispatch.errors import PressDispatchError
from pressdispatch.model import DeliveryStatus, Tier
from pressdispatch.render import headers, i18n
from pressdispatch.render.confirmation import newsroom_mail
from pressdispatch.render.email import email_environment, render_template
from pressdispatch.reporting import RETURN_KINDS, DistributionReport, TierReport, gather
from pressdispatch.runtime import Runtime
from pressdispatch.store.reports import Edition

__all__ = ["Mail", "cell", "recipient", "render_report", "report_text", "send_due"]

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)  # a claim outlives any send; a process that died loses it
RETRY = timedelta(minutes=10)  # a report the transport did not take is tried again then
OUTBOX_FOLDER = "_reports"  # ``Envelope.release_id`` of reports: their outbox sub-folder
TEMPLATES = ("report.txt.j2", "report.html.j2")


@dataclass(frozen=True, slots=True)
class Mail:
    message_id: str
    subject: str
    message: bytes  # complete RFC 5322 message, CRLF line endings


def recipient(settings: Settings) -> str:
    """Where reports go, as written in config.toml; empty: nowhere."""
    if not settings.reports.email:
        return ""
    return settings.reports.to or settings.newsroom.reply_to


async def send_due(rt: Runtime, now: datetime) -> list[tuple[str, Tier, Edition]]:
    """Send every report due at ``now``; which were sent."""
    done = []
    to = recipient(rt.settings)
    for due in await rt.reports.due(now, rt.settings.reports.follow_up):
        claim = await rt.reports.claim(due, now, LEASE)
        if claim is None:
            continue  # another process has it
        if not to:
            await rt.reports.pass_over(claim, now)
            continue
        try:
            report = await gather(rt, due.release_id, now, since=due.reported_at)
            if report is None:
                continue
            mail = render_report(rt, report, due.tier, due.edition, to=to, date=now)
            envelope = Envelope(
                sender=rt.settings.newsroom.from_address,
                recipient=parseaddr(to)[1],
                message=mail.message,
                message_id=mail.message_id,
                release_id=OUTBOX_FOLDER,
            )
            outcome = await rt.transport.send(envelope)
        except (PressDispatchError, OSError):
            log.exception("the report on %s (%s) could not be sent", due.release_id, due.tier)
            await rt.reports.retry_at(claim, now + RETRY)
            continue
        if outcome.status is not Status.SENT:
            log.warning(
                "the report on %s (%s) was not sent: %s %s %s; trying again in %s",
                due.release_id,
                due.tier.value,
                outcome.status.value,
                outcome.code or "",
                outcome.reply,
                RETRY,
            )
            await rt.reports.retry_at(claim, now + RETRY)
            continue
        if await rt.reports.mark_sent(claim, now):
            log.info("report on %s (%s copy) sent to %s", due.release_id, due.tier.value, to)
            done.append((due.release_id, due.tier, due.edition))
    return done


def render_report(
    rt: Runtime,
    report: DistributionReport,
    tier: Tier,
    edition: Edition,
    *,
    to: str,
    date: datetime,
) -> Mail:
    """The report on ``tier`` of ``report`` as an email to ``to`` (text and HTML)."""
    newsroom = rt.settings.newsroom
    lang = newsroom.default_language
    context = _context(rt, report, lang, tier, edition)
    env = _environment(rt, lang)
    text, html = (render_template(env, template, context) for template in TEMPLATES)
    to_line = headers.mailbox("To", to)
    message_id, message = newsroom_mail(
        newsroom, "report", to_line, context["subject"], lang, date, text, html
    )
    return Mail(message_id, context["subject"], message)


def report_text(rt: Runtime, report: DistributionReport) -> str:
    """The report on every tier, as the email's text part reads (`pressdispatch report`)."""
    lang = rt.settings.newsroom.default_language
    env = _environment(rt, lang)
    context = _context(rt, report, lang, None, Edition.REPORT)
    return render_template(env, TEMPLATES[0], context)


def _environment(rt: Runtime, lang: str) -> jinja2.Environment:
    env = email_environment(rt.settings.paths.templates / "email", lang)
    env.filters["cell"] = cell
    return env


def cell(value: object, width: int, left: bool = False) -> str:
    """``value`` padded to ``width`` columns of a plain-text table, as a terminal or a mail
    client shows them: a Chinese character takes two, a combining mark none."""
    text = str(value)
    used = sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )
    pad = " " * max(width - used, 0)
    return text + pad if left else pad + text


def _context(
    rt: Runtime, report: DistributionReport, lang: str, tier: Tier | None, edition: Edition
) -> dict[str, Any]:
    newsroom = rt.settings.newsroom

    def when(moment: datetime | None) -> str:
        return i18n.format_datetime(moment, lang, newsroom.zone) if moment else ""

    tiers = [t for t in report.tiers if tier is None or t.tier is tier]
    names = {Tier.EMBARGOED: _tr(lang, "Embargoed copy"), Tier.PUBLIC: _tr(lang, "Public copy")}
    copy = names[tier] if tier is not None else None
    subject = _subject(lang, report.title, copy, follow_up=edition is Edition.FOLLOW_UP)
    return {
        "newsroom": newsroom,
        "lang": lang,
        "dir": i18n.text_direction(lang),
        "colon": i18n.colon(lang),
        "subject": subject,
        "report": report,
        "follow_up": edition is Edition.FOLLOW_UP,
        "since": when(report.since),
        "tiers": [
            _tier(t, names[t.tier], when, report.region_names, _tr(lang, "All deliveries"))
            for t in tiers
        ],
        "returns": _returns(report.returns),
        "returns_since": _returns(report.returns_since),
        "columns": [_tr(lang, label) for label in _COLUMN_LABELS],
    }


def _subject(lang: str, title: str, copy: str | None, *, follow_up: bool) -> str:
    """The subject, also the report's heading. Whole sentences in the catalogs, so that
    each language places the title and the copy's name where it reads well."""
    if copy is None:  # `pressdispatch report`: every tier, never a follow-up
        return i18n.gettext(lang, "Distribution report: %(title)s", title=title)
    if follow_up:
        return i18n.gettext(
            lang, "Distribution report: follow-up: %(title)s (%(copy)s)", title=title, copy=copy
        )
    return i18n.gettext(lang, "Distribution report: %(title)s (%(copy)s)", title=title, copy=copy)


def _tier(
    t: TierReport,
    name: str,
    when: Callable[[datetime | None], str],
    region_names: Mapping[str, str],
    everything: str,
) -> dict[str, Any]:
    return {
        "name": name,
        "started": when(t.started_at),
        "finished": when(t.finished_at),
        "total": t.total,
        "pending": t.pending,
        "overall": _row(everything, t.counts),
        "languages": [_row(i18n.language_name(code), c) for code, c in t.by_language.items()],
        "regions": [_row(region_names.get(slug, slug), c) for slug, c in t.by_region.items()],
    }


_COLUMNS = (
    (DeliveryStatus.SENT,),
    (DeliveryStatus.FAILED,),
    (DeliveryStatus.DEFERRED,),
    (DeliveryStatus.CANCELLED,),
    (DeliveryStatus.QUEUED, DeliveryStatus.SENDING),
)
_COLUMN_LABELS = ("Sent", "Failed", "Deferred", "Cancelled", "Waiting")


def _row(label: str, counts: Counter[DeliveryStatus]) -> dict[str, Any]:
    return {"label": label, "counts": [sum(counts[s] for s in column) for column in _COLUMNS]}


def _returns(found: Mapping[str, int]) -> dict[str, int]:
    return {kind: found.get(kind, 0) for kind in RETURN_KINDS}


def _tr(lang: str, message: str) -> str:
    return i18n.gettext(lang, message)
