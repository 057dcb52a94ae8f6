"""Every table, in one place. Migrations in ``migrations/versions`` create exactly this.

Times are stored as naive UTC and handed out as aware UTC datetimes, so SQLite
and PostgreSQL compare them the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

from pressdispatch.model import Source, SubscriberStatus


class UtcDateTime(TypeDecorator[datetime]):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("store times must be timezone-aware datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite returns text when used in raw expressions
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sqlite_time(value: datetime | None) -> str | None:
    """A time as UtcDateTime stores it in SQLite (SQLAlchemy's format: always microseconds),
    for statements sent to the driver directly."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("store times must be timezone-aware datetimes")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER only

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

releases = Table(
    "releases",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("status", String(20), nullable=False),  # as the files say: model.ReleaseStatus
    Column("publish_at", UtcDateTime, nullable=False),
    Column("embargo_send_at", UtcDateTime),
    Column("content_hash", String(64), nullable=False),  # of the files now
    Column("content", Text, nullable=False),  # JSON snapshot of the files now
    Column("present", Boolean, nullable=False, default=True),  # folder still exists
    Column("frozen_hash", String(64)),  # of what is being sent, once dispatch starts
    Column("frozen_content", Text),
    Column("embargo_started_at", UtcDateTime),  # when the embargoed tier was planned
    Column("public_started_at", UtcDateTime),  # when the public tier was planned
    Column("send_requested_at", UtcDateTime),  # `pressdispatch send`: start even if late
    Column("cancelled_at", UtcDateTime),
    # Taken off the newsroom (`pressdispatch withdraw`): its pages answer 410 Gone.
    Column("withdrawn_at", UtcDateTime),
    Column("withdrawal_reason", Text, nullable=False, default=""),
    # Held by the circuit breaker (too many hard bounces or complaints) until `send`.
    Column("paused_at", UtcDateTime),
    Column("pause_reason", Text, nullable=False, default=""),
    Column("updated_at", UtcDateTime, nullable=False),
    # Everything visibility.public_at reads, and the hashes Catalog.public_version reads,
    # so that a search checks thousands of matches, and the public view whether anything
    # changed, without reading the releases' rows (and the JSON text in them).
    Index(
        "ix_releases_public",
        "id",
        "status",
        "publish_at",
        "withdrawn_at",
        "cancelled_at",
        "public_started_at",
        "present",
        "frozen_hash",
        "content_hash",
    ),
)

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),  # lowercased: the identity
    Column("address", String(320), nullable=False),  # as written, for the To header
    Column("name", Text, nullable=False, default=""),
    Column("outlet", Text, nullable=False, default=""),
    Column("languages", Text, nullable=False, default=""),  # space-separated, preference order
    Column("regions", Text, nullable=False, default=""),  # space-separated slugs; empty = all
    Column("topics", Text, nullable=False, default=""),  # space-separated; empty = all
    Column("embargo", Boolean, nullable=False, default=False),
    Column("lists", Text, nullable=False, default=""),  # lists naming them now; empty = none
    Column("source", String(20), nullable=False, default=Source.CSV.value),  # model.Source
    Column("status", String(20), nullable=False, default=SubscriberStatus.ACTIVE.value),
    Column("status_reason", Text, nullable=False, default=""),
    Column("row_hash", String(64), nullable=False, default=""),
    # What came back from their server (suppression.py): kept, never deleted.
    Column("bounce_count", Integer, nullable=False, default=0),  # hard and soft, counted
    Column("bounce_score", Integer, nullable=False, default=0),  # soft: +1 a day at most
    Column("hard_days", Integer, nullable=False, default=0),  # days with a hard bounce
    Column("last_hard_at", UtcDateTime),
    Column("last_soft_at", UtcDateTime),
    Column("last_diagnostic", Text, nullable=False, default=""),
    # The privacy statement they agreed to on the web (web/signup.py): when, and which
    # (its version, web/privacy.py); none for a journalist only the lists name.
    Column("consent_at", UtcDateTime),
    Column("consent_version", String(80), nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("release_id", String(200), ForeignKey("releases.id"), nullable=False),
    Column("subscriber_id", Id, ForeignKey("subscribers.id"), nullable=False),
    Column("language", String(16), nullable=False),
    Column("tier", String(12), nullable=False),
    # What is sent: the release itself, or the notice that it was withdrawn (ports.Kind).
    Column("kind", String(12), nullable=False, default="release", server_default="release"),
    Column("message_id", String(400), nullable=False),
    Column("status", String(12), nullable=False),  # model.DeliveryStatus
    Column("attempts", Integer, nullable=False, default=0),
    Column("due_at", UtcDateTime, nullable=False),  # next attempt
    Column("lease_until", UtcDateTime),  # while sending
    Column("worker_id", String(32)),  # the process holding the lease, while sending
    Column("lease_token", String(32)),  # that claim's token: outcomes are recorded only with it
    Column("first_attempt_at", UtcDateTime),
    Column("last_attempt_at", UtcDateTime),
    Column("sent_at", UtcDateTime),
    Column("last_code", Integer),
    Column("last_reply", Text, nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    # One row per journalist per release and kind: a second send is impossible by construction.
    UniqueConstraint("release_id", "subscriber_id", "kind"),
    Index(None, "status", "due_at"),
    Index(None, "release_id", "status"),
    Index(None, "message_id"),  # a report quoting the Message-ID names its delivery
)

# One row per running `run` or `worker` process, beating while it lives.
workers = Table(
    "workers",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("kind", String(20), nullable=False),  # service, worker, once
    Column("started_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
)

state = Table(
    "state",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# The rows of every list, staged for the list sync in progress (store/listsync.py):
# a real table, not a temporary one, so the sync can commit every few hundred rows.
# Emptied before and after each sync; only one sync runs at a time (``leases``).
list_rows = Table(
    "list_rows",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),  # list order
    Column("email", String(320), nullable=False),  # lowercased: the merge key
    Column("address", String(320), nullable=False),
    Column("name", Text, nullable=False),
    Column("outlet", Text, nullable=False),
    Column("languages", Text, nullable=False),
    Column("regions", Text),  # NULL: every region
    Column("topics", Text),  # NULL: every topic
    Column("embargo", Boolean, nullable=False),
    Column("list", Text, nullable=False),
    # The row's journalist's ``row_hash`` were this their only row: such a journalist
    # is merged in SQL, set against set (``listsync``).
    Column("row_hash", String(64), nullable=False, default=""),
    Index(None, "email", "seq"),
)

# Work that one holder at a time may do, across processes (the list sync). A holder
# renews its lease while it works; one that died loses it when it expires.
leases = Table(
    "leases",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("owner", String(32), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

# List uploads (console, API), merged by a background job: queued → checking →
# merging → done or failed. The upload waits in subscribers/.imports/<upload>/.
IMPORT_STATES = ("queued", "checking", "merging", "done", "failed")
UNFINISHED_IMPORTS = ("queued", "checking", "merging")
imports = Table(
    "imports",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("list_name", String(64), nullable=False),
    Column("replace_list", Boolean, nullable=False),
    Column("origin", String(10), nullable=False),  # console or api
    Column("upload", String(64), nullable=False),  # its folder under subscribers/.imports
    Column("size", BigInteger, nullable=False),  # bytes
    Column("state", String(12), nullable=False),
    Column("rows_read", Integer, nullable=False, default=0),  # valid rows the check read
    Column("problem_count", Integer, nullable=False, default=0),
    Column("problems", Text, nullable=False, default="[]"),  # JSON: the first ones, in order
    Column("rows_total", Integer, nullable=False, default=0),  # rows of every list, staged
    Column("rows_merged", Integer, nullable=False, default=0),
    Column("changed", Integer, nullable=False, default=0),  # journalists added or changed
    Column("error", Text, nullable=False, default=""),
    Column("owner", String(32)),  # the process working on it, while it does
    Column("heartbeat_at", UtcDateTime),  # that process's last sign of life
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Index(None, "state"),
)

# Each time a cleared journalist opened their link to a release under embargo
# (web/embargoed.py), or fetched one of its media through it (web/media.py, ``item``:
# the file, or all.zip): shown on the console's release page.
embargo_views = Table(
    "embargo_views",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("release_id", String(200), ForeignKey("releases.id"), nullable=False),
    Column("address", String(320), nullable=False),  # lowercased, as the link names it
    Column("language", String(16), nullable=False),
    Column("viewed_at", UtcDateTime, nullable=False),
    Column("item", String(300), nullable=False, default="", server_default=""),  # "": the page
    Index(None, "release_id", "viewed_at"),
)

# What came back after sending, one row per report and delivery (bounces.py): what
# it was, whom it concerned, what was done. ``key`` makes reading a report twice
# count once; ``raw`` (the message) is emptied after [bounces] keep_messages.
returns = Table(
    "returns",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("via", String(10), nullable=False),  # smtp, lmtp, imap, ingest
    Column("report_id", String(400), nullable=False, default=""),  # its Message-ID
    Column("delivery_id", Id),
    Column("release_id", String(200)),
    Column("subscriber_id", Id),
    Column("address", String(320), nullable=False, default=""),  # lowercased
    Column("kind", String(16), nullable=False),  # content/returns.py Kind
    Column("status_code", String(16), nullable=False, default=""),
    Column("diagnostic", Text, nullable=False, default=""),
    Column("action", Text, nullable=False, default=""),
    Column("raw", Text),
    Index(None, "received_at"),
    Index(None, "release_id", "kind"),
    Index(None, "subscriber_id"),
)

# The distribution report of each tier (reporting.py), and its follow-up a day later:
# one row each, claimed by one process at a time (``claimed_until``, ``claim_token``)
# and marked ``sent_at`` only once the transport took the email, so each goes once
# (or when it was passed over: no address to send reports to).
reports = Table(
    "reports",
    metadata,
    Column("release_id", String(200), ForeignKey("releases.id"), primary_key=True),
    Column("tier", String(12), primary_key=True),  # model.Tier
    Column("kind", String(12), primary_key=True),  # report, follow_up
    Column("claimed_until", UtcDateTime),
    Column("claim_token", String(32)),
    Column("sent_at", UtcDateTime),
)

# The feeds and sitemaps of ``[[sources]]`` (polling.py): how each answered last, so
# that the next poll asks only for what changed (ETag, Last-Modified) and `status`
# can say which one fails. ``baselined_at``: its first listing was read, and what it
# listed then was taken as known (docs/sources.md).
sources = Table(
    "sources",
    metadata,
    Column("url", String(2000), primary_key=True),
    Column("etag", Text, nullable=False, default=""),
    Column("last_modified", Text, nullable=False, default=""),
    Column("baselined_at", UtcDateTime),
    Column("last_poll_at", UtcDateTime),
    Column("last_error", Text, nullable=False, default=""),
    Column("failing_since", UtcDateTime),
)

# Every entry a source listed, so none is imported twice, across restarts: by its
# URL, by its GUID within the source, or by the sha256 of its article's text.
# ``state``: imported, skipped (known before, a duplicate, older than the first
# poll) or failed (tried again at the next poll; ``error`` says why).
source_entries = Table(
    "source_entries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source_url", String(2000), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("guid", String(2000), nullable=False, default=""),
    Column("sha256", String(64), nullable=False, default=""),
    Column("release_id", String(200)),
    Column("state", String(10), nullable=False),
    Column("error", Text, nullable=False, default=""),
    Column("seen_at", UtcDateTime, nullable=False),
    UniqueConstraint("source_url", "url"),
    Index(None, "url"),
    Index(None, "sha256"),
)

# Every language version of every release, as the search index reads it (store/search.py):
# drafts and embargoed ones too, since the query keeps only what is public at its time.
# ``regions`` and ``topics`` are space-separated with a space at each end, so that
# ``LIKE '% by %'`` finds one. Beside it, what each database searches with, which this
# metadata does not describe (``SEARCH_EXTRAS``): on SQLite the FTS5 table
# ``search_index`` (its rowid is this table's id), on PostgreSQL the column ``document``
# (a tsvector) and its GIN index.
search_documents = Table(
    "search_documents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("release_id", String(200), ForeignKey("releases.id"), nullable=False),
    Column("language", String(16), nullable=False),
    # Before the text: SQLite reads a row's columns in order, and these are filters.
    Column("regions", Text, nullable=False),
    Column("topics", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("body", Text, nullable=False),  # the text of the body, without its markup
    Column("extra", Text, nullable=False),  # the dateline and the media contacts
    Index(None, "release_id"),
)

#: What the migrations create for search that ``metadata`` leaves out: the FTS5 table and
#: the tables SQLite keeps for it, and PostgreSQL's tsvector column and its index.
SEARCH_EXTRAS = frozenset(
    {
        "search_index",
        *(f"search_index_{part}" for part in ("data", "idx", "content", "docsize", "config")),
        "document",
        "ix_search_documents_document",
    }
)


def managed(name: str | None, kind: str, parents: object) -> bool:
    """For Alembic's ``include_name``: whether ``metadata`` describes the object ``name``."""
    return name not in SEARCH_EXTRAS
