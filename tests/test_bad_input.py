"""Bad input gets a clear error and loses nothing: a corpus of broken inputs beside valid ones.

Every case is one defect (or one thing that must be accepted) in a release file, a
subscriber list, config.toml, a JSON API request or a form, with valid neighbours
beside it. A case states its exact message, as `pressdispatch check` prints it
(``path:line: field: message``) or as the API and the forms answer it, and which of
its neighbours must still be sent.

All the cases share one newsroom per database: `corpus` builds it once for SQLite
and once for PostgreSQL (from the same helpers as the ``newsroom`` fixture),
sends the API requests and the forms to the newsroom app, runs `check` and `plan`,
then what `pressdispatch run --once` does, and keeps the answers, the output and
the outbox for the cases to look at. One run covers them all, and each assertion
still names its own file, line and field. (Config cases each get a config.toml of
their own beside it: a broken configuration stops everything, by design.)
"""

from __future__ import annotations

import asyncio
import codecs
import html
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy.exc import DataError
from typer.testing import CliRunner

from pressdispatch import pipeline
from pressdispatch.cli import app
from pressdispatch.config import Settings
from pressdispatch.content.subscribers import Row
from pressdispatch.model import Subscriber
from pressdispatch.render.email import PREFERENCES
from pressdispatch.runtime import Runtime, database_error
from pressdispatch.store.journalists import Found, SubscriberQuery
from pressdispatch.store.listsync import ListSync
from pressdispatch.web.app import create_app

from .dispatching import Newsroom, database_url, make_newsroom, run_once, runtime, utc

runner = CliRunner()

DIR = object()  # a folder where a file should be


@dataclass(frozen=True)
class Link:
    """A symbolic link to a file that does not exist."""

    target: str = "gone"


Content = str | bytes | object
PUBLISH = utc(-3600).replace(microsecond=0).isoformat()
LIMIT_KIB = 64  # content.max_body_size in the corpus's config.toml


def meta(*lines: str) -> str:
    return "\n".join([f"publish_at = {PUBLISH}", *lines]) + "\n"


def md(title: str = "Title", body: str = "Body text.\n", front: str = "") -> str:
    return f'+++\ntitle = "{title}"\n{front}+++\n{body}'


VALID_MD = {"en.md": md("A valid release"), "fr.md": md("Un communiqué valide")}


@dataclass(frozen=True)
class FileCase:
    """Files under the newsroom, and what `check` must print about them (paths from its root)."""

    id: str
    files: Mapping[str, Content]
    lines: tuple[str, ...] = ()  # `check` output, exactly
    sent: tuple[str, ...] = ()  # releases that must go out to everyone (the case's own if valid)
    unsent: tuple[str, ...] = ()  # releases that must not


def error(line: str) -> str:
    """``path:line: field: message`` as `check` prints an error: after the place."""
    where, rest = line.split(": ", 1)
    return f"{where}: error: {rest}"


def release_case(
    case_id: str, files: Mapping[str, Content], *lines: str, loads: bool = False
) -> FileCase:
    folder = f"releases/{case_id}"
    return FileCase(
        case_id,
        {f"{folder}/{name}": content for name, content in files.items()},
        tuple(error(f"{folder}/{line}") for line in lines),
        sent=("valid-neighbour", case_id) if loads else ("valid-neighbour",),
        unsent=() if loads else (case_id,),
    )


# -- release files: cases -------------------------------------------------------------

LATIN1_COMMENT = f'publish_at = {PUBLISH}\n# Genève\nstatus = "ready"\n'.encode("latin-1")

RELEASE_CASES = [
    release_case("toml-bom", {"release.toml": "\ufeff" + meta(), **VALID_MD}, loads=True),
    release_case(
        "offset-25h",
        {"release.toml": meta().replace(PUBLISH, "2026-12-01T10:00:00+25:00"), **VALID_MD},
        "release.toml:1: publish_at: expected a date and time with a UTC offset "
        "(e.g. 2026-12-01T10:00:00+01:00), got 2026-12-01T10:00:00+25:00: "
        "a UTC offset is between -23:59 and +23:59",
    ),
    release_case(
        "embargo-month-13",
        {"release.toml": meta("embargo_send_at = 2026-13-01T09:00:00Z"), **VALID_MD},
        "release.toml:2: embargo_send_at: expected a date and time with a UTC offset "
        "(e.g. 2026-12-01T10:00:00+01:00), got 2026-13-01T09:00:00Z",
    ),
    release_case(
        "toml-latin1",
        {"release.toml": LATIN1_COMMENT, **VALID_MD},
        "release.toml:2: (file): not valid UTF-8 (byte 0xE8 at column 6): save the file as UTF-8",
    ),
    release_case(
        "toml-utf16",
        {"release.toml": codecs.BOM_UTF16_LE + meta().encode("utf-16-le"), **VALID_MD},
        "release.toml:1: (file): UTF-16 text: save the file as UTF-8",
    ),
    release_case(
        "toml-is-a-folder",
        {"release.toml": DIR, **VALID_MD},
        "release.toml: (file): a folder, not a file",
    ),
    release_case(
        "toml-dangling-link",
        {"release.toml": Link(), **VALID_MD},
        "release.toml: (file): a link to a file that does not exist",
    ),
    release_case(
        "toml-raw-nul",
        {"release.toml": meta('status = "ready\x00"'), **VALID_MD},
        "release.toml:2: status: control character U+0000 (NUL) is not allowed",
    ),
    release_case(
        "toml-unclosed-string",
        {"release.toml": meta('status = "ready'), **VALID_MD},
        "release.toml:2: status: not valid TOML: "
        "a quoted string is not closed on this line (column 16)",
    ),
    release_case(
        "contact-escaped-nul",
        {"release.toml": meta("", "[[contacts]]", 'name = "Ann\\u0000Lee"'), **VALID_MD},
        "release.toml:4: contacts.0.name: control character U+0000 (NUL) is not allowed "
        "in the contact",
    ),
    release_case(
        "contact-nel",
        {
            "release.toml": meta("[[contacts]]", 'name = "Ann"', 'role = "Chief\\u0085Editor"'),
            **VALID_MD,
        },
        "release.toml:4: contacts.0.role: line breaks are not allowed in the contact "
        "(found U+0085 (NEL))",
    ),
    release_case(
        "md-is-a-folder",
        {"release.toml": meta(), "en.md": md(), "fr.md": DIR},
        "fr.md: (file): a folder, not a file",
    ),
    release_case(
        "md-dangling-link",
        {"release.toml": meta(), "en.md": md(), "fr.md": Link()},
        "fr.md: (file): a link to a file that does not exist",
    ),
    release_case(
        "md-bom",
        {"release.toml": meta(), "en.md": "\ufeff" + md("With a byte-order mark")},
        loads=True,
    ),
    release_case(
        "md-latin1-body",
        {"release.toml": meta(), "en.md": md(body="One.\n\nCaf\xe9.\n").encode("latin-1")},
        "en.md:6: (file): not valid UTF-8 (byte 0xE9 at column 4): save the file as UTF-8",
    ),
    release_case(
        "md-nul-body",
        {"release.toml": meta(), "en.md": md(body="Para one.\n\nPara\x00two.\n")},
        "en.md:6: body: control character U+0000 (NUL) is not allowed (column 5)",
    ),
    release_case(
        "md-esc-body",
        {"release.toml": meta(), "en.md": md(body="\x1b[31mRed\x1b[0m text.\n")},
        "en.md:4: body: control character U+001B (ESC) is not allowed (column 1)",
    ),
    release_case(
        "md-title-nel",
        {"release.toml": meta(), "en.md": md("One\\u0085Two")},
        "en.md:2: title: line breaks are not allowed in the title (it becomes the email "
        "subject) (found U+0085 (NEL))",
    ),
    release_case(
        "md-title-tab",
        {"release.toml": meta(), "en.md": md("One\\tTwo")},
        "en.md:2: title: control character U+0009 (tab) is not allowed in the title "
        "(it becomes the email subject)",
    ),
    release_case(
        "md-summary-nul",
        {"release.toml": meta(), "en.md": md(front='summary = "A\\u0000B"\n')},
        "en.md:3: summary: control character U+0000 (NUL) is not allowed in the summary",
    ),
    release_case(
        "md-dateline-line-separator",
        {"release.toml": meta(), "en.md": md(front='dateline = "Minsk\\u2028Geneva"\n')},
        "en.md:3: dateline: line breaks are not allowed in the dateline "
        "(found U+2028 (line separator))",
    ),
    release_case(
        "md-raw-line-separator",  # a raw U+2028 is one character, not a line, for TOML
        {
            "release.toml": meta(),
            "en.md": md(front='dateline = "Minsk\u2028Geneva"\nsummary = "A\\u001bB"\n'),
        },
        "en.md:3: dateline: line breaks are not allowed in the dateline "
        "(found U+2028 (line separator))",
        "en.md:4: summary: control character U+001B (ESC) is not allowed in the summary",
    ),
    release_case(
        "md-front-unclosed-string",
        {"release.toml": meta(), "en.md": '+++\ntitle = "Unclosed\n+++\nBody.\n'},
        "en.md:2: title: not valid TOML: a quoted string is not closed (column 18)",
    ),
    release_case(
        "md-body-over-limit",
        {"release.toml": meta(), "en.md": md(body="x" * (LIMIT_KIB + 6) * 1024)},
        f"en.md:1: body: the body is {LIMIT_KIB + 6} KiB, over the limit of {LIMIT_KIB} KiB "
        "(content.max_body_size in config.toml): not read",
    ),
    release_case(
        "md-file-far-over-limit",
        {"release.toml": meta(), "en.md": md(body="y" * 4 * LIMIT_KIB * 1024)},
        f"en.md:1: body: the file is {4 * LIMIT_KIB} KiB, over the limit of {LIMIT_KIB} KiB "
        "(content.max_body_size in config.toml): not read",
    ),
]
RELEASE_CASES.append(
    FileCase(
        "escape-in-a-folder-name",  # printed without the escape sequence itself
        {f"releases/esc\x1b[2J/{n}": t for n, t in {"release.toml": meta(), **VALID_MD}.items()},
        (
            error(
                "releases/esc\ufffd[2J: id: folder name 'esc\\x1b[2J' must be lowercase "
                "letters, digits and hyphens"
            ),
        ),
        sent=("valid-neighbour",),
    )
)
VALID_RELEASE = FileCase(
    "valid-neighbour",
    {f"releases/valid-neighbour/{n}": t for n, t in {"release.toml": meta(), **VALID_MD}.items()},
)

# -- subscriber lists: cases ----------------------------------------------------------

HEADER = b"email,name,languages\n"


@dataclass(frozen=True)
class CsvCase(FileCase):
    people: tuple[str, ...] = ()  # the rows that must still get every release
    refused: tuple[str, ...] = ()  # addresses of the rows that must get nothing


def csv_case(
    case_id: str, middle: str | bytes, *lines: str, people: tuple[str, ...] = (), file: bytes = b""
) -> CsvCase:
    """A list ``<case_id>.csv``: a valid row, ``middle`` (from line 3), a valid row."""
    before, after = f"{case_id}-before@example.org", f"{case_id}-after@example.org"
    if not file:
        body = middle.encode() if isinstance(middle, str) else middle
        file = HEADER + f"{before},Before,en\n".encode() + body + f"{after},After,en\n".encode()
        people = (before, after, *people)
    return CsvCase(
        case_id,
        {f"subscribers/{case_id}.csv": file},
        tuple(error(f"subscribers/{case_id}.csv{line}") for line in lines),
        people=people,
        refused=(f"{case_id}@example.org",),
    )


CSV_CASES = [
    csv_case(
        "nul-in-name",
        "nul-in-name@example.org,Ann\x00Lee,en\n",
        ":3: name: control character U+0000 (NUL) is not allowed",
    ),
    csv_case(
        "nul-in-email",
        "nul-in-email@example.org\x00,Ann,en\n",
        ":3: email: control character U+0000 (NUL) is not allowed",
    ),
    csv_case(
        "esc-in-languages",
        "esc-in-languages@example.org,Ann,en\x1b[0m\n",
        ":3: languages: control character U+001B (ESC) is not allowed",
    ),
    csv_case(
        "c1-in-name",
        "c1-in-name@example.org,Ann\x9bLee,en\n",
        ":3: name: control character U+009B is not allowed",
    ),
    csv_case(
        "del-in-name",
        "del-in-name@example.org,Ann\x7f,en\n",
        ":3: name: control character U+007F (DEL) is not allowed",
    ),
    csv_case(
        "line-separator-in-name",
        "line-separator-in-name@example.org,Ann\u2028Lee,en\n",
        ":3: name: line breaks are not allowed (found U+2028 (line separator))",
    ),
    csv_case(
        "quoted-line-break",
        'quoted-line-break@example.org,"Ann\nLee",en\n',
        ":3: (row): a quoted cell runs over lines 3-4: a cell cannot hold a line break "
        "(the row is skipped)",
    ),
    csv_case(
        "quoted-line-breaks-crlf",
        'quoted-line-breaks-crlf@example.org,"Ann\r\nB.\r\nLee",en\r\n',
        ":3: (row): a quoted cell runs over lines 3-5: a cell cannot hold a line break "
        "(the row is skipped)",
    ),
    csv_case(
        "unclosed-quote",
        'unclosed-quote@example.org,"Ann Lee,en\nunclosed-quote-next@example.org,Next,en\n',
        ':3: (row): a quoted cell is not closed on this line: add the closing " '
        "(the row is skipped)",
        people=("unclosed-quote-next@example.org",),
    ),
    csv_case(
        "unclosed-before-quoted",
        'unclosed-before-quoted@example.org,"Ann Lee,en\n'
        'unclosed-before-quoted-next@example.org,"Smith, Jo",en\n',
        ':3: (row): a quoted cell is not closed on this line: add the closing " '
        "(the row is skipped)",
        people=("unclosed-before-quoted-next@example.org",),
    ),
    csv_case(
        "tab-in-a-quoted-name",
        'tab-in-a-quoted-name-ok@example.org,"Ann\tLee",en\n',
        people=("tab-in-a-quoted-name-ok@example.org",),
    ),
    csv_case(
        "latin1-name",
        "latin1-name@example.org,Zoé,en\n".encode("latin-1"),
        ":3: name: not valid UTF-8 (save the file as UTF-8)",
    ),
    csv_case(
        "cell-too-long",
        f"cell-too-long@example.org,{'x' * 1001},en\n",
        ":3: name: longer than 1000 characters",
    ),
    csv_case(
        "bom",
        "",
        file=codecs.BOM_UTF8 + HEADER + b"bom-ok@example.org,Bom,en\n",
        people=("bom-ok@example.org",),
    ),
    csv_case(
        "utf16",
        "",
        ":1: (file): UTF-16 text: save the file as CSV UTF-8",
        file=codecs.BOM_UTF16_LE + "email\nutf16@example.org\n".encode("utf-16-le"),
    ),
]
CSV_CASES += [
    CsvCase(
        "folder",
        {"subscribers/folder.csv": DIR},
        (error("subscribers/folder.csv: (file): a folder, not a file"),),
    ),
    CsvCase(
        "dangling-link",
        {"subscribers/dangling-link.csv": Link()},
        (error("subscribers/dangling-link.csv: (file): a link to a file that does not exist"),),
    ),
]

FILE_CASES: list[FileCase] = [*RELEASE_CASES, *CSV_CASES]


# -- config.toml: cases ---------------------------------------------------------------
# The configuration is all or nothing: `check` names the key and stops there, and
# no command runs on half a configuration.


NEWSROOM = '[newsroom]\nname = "Test Press Office"\nfrom = "press@example.org"\n'


@dataclass(frozen=True)
class ConfigCase:
    id: str
    content: Content  # the whole config.toml; a str gets the corpus's database added at the end
    line: str  # what `check` prints, the path from the corpus root


def config_case(case_id: str, content: Content, line: str) -> ConfigCase:
    return ConfigCase(case_id, content, f"configs/{case_id}/config.toml{line}")


CONFIG_CASES = [
    config_case(
        "latin1",
        '[newsroom]\nname = "Genève"\n'.encode("latin-1"),
        ":2: (file): not valid UTF-8 (byte 0xE8 at column 12): save the file as UTF-8",
    ),
    config_case(
        "utf16",
        codecs.BOM_UTF16_LE + NEWSROOM.encode("utf-16-le"),
        ":1: (file): UTF-16 text: save the file as UTF-8",
    ),
    config_case("is-a-folder", DIR, ": (file): a folder, not a file"),
    config_case(
        "nul-in-reply-to",
        NEWSROOM + 'reply_to = "media\\u0000@example.org"\n',
        ":4: newsroom.reply_to: control character U+0000 (NUL) is not allowed",
    ),
    config_case(
        "line-break-in-an-address",
        NEWSROOM + 'unsubscribe_email = "a@example.org\\r\\nBcc: b@example.org"\n',
        ":4: newsroom.unsubscribe_email: line breaks are not allowed",
    ),
    config_case(
        "esc-in-a-path",
        NEWSROOM + '[paths]\nreleases = "releases\\u001b[2J"\n',
        ":5: paths.releases: control character U+001B (ESC) is not allowed",
    ),
    config_case(
        "size-in-words",
        NEWSROOM + '[content]\nmax_body_size = "one megabyte"\n',
        ":5: content.max_body_size: expected a size such as '1MiB', '512KiB', '2MB' or a "
        "number of bytes, got 'one megabyte'",
    ),
    config_case(
        "size-too-small",
        NEWSROOM + "[content]\nmax_body_size = 100\n",
        ":5: content.max_body_size: must be at least 1KiB",
    ),
    config_case(
        "size-unknown-unit",
        NEWSROOM + '[content]\nmax_body_size = "1GiB"\n',
        ":5: content.max_body_size: expected a size such as '1MiB', '512KiB', '2MB' or a "
        "number of bytes, got '1GiB'",
    ),
    config_case(
        "value-without-quotes",
        NEWSROOM + "timezone = Europe/Paris\n",
        ":4: newsroom.timezone: not valid TOML: Invalid value (column 12)",
    ),
]


# -- the JSON API: cases -----------------------------------------------------------------

TOKEN = "bad-input-token"
API_NEIGHBOUR = "api-neighbour@example.org"
NUL = "control character U+0000 (NUL) is not allowed"


@dataclass(frozen=True)
class ApiCase:
    """One request; a problem details answer with exactly this status, detail and errors."""

    id: str
    method: str
    path: str  # under /api/v1
    status: int
    json: Any = None
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, str] | None = None  # field → message, exactly
    detail: str | None = None  # exactly, when given


def put_subscriber(case_id: str, status: int, errors: Mapping[str, str], **body: Any) -> ApiCase:
    path = f"/subscribers/{case_id}@example.org"
    return ApiCase(case_id, "PUT", path, status, json=body, errors=errors)


API_CASES = [
    put_subscriber("api-nul-in-name", 422, {"name": NUL}, name="Ann\x00Lee"),
    put_subscriber(
        "api-esc-in-outlet",
        422,
        {"outlet": "control character U+001B (ESC) is not allowed"},
        outlet="\x1b]0;pwned\x07",
    ),
    put_subscriber(
        "api-line-break-in-name", 422, {"name": "line breaks are not allowed"}, name="Ann\r\nLee"
    ),
    ApiCase(
        "api-lone-surrogate",
        "PUT",
        "/subscribers/api-lone-surrogate@example.org",
        422,
        content=b'{"name": "Ann \\ud800"}',  # as JSON may write it; UTF-8 cannot
        headers={"Content-Type": "application/json"},
        errors={"name": "U+D800 is not a character (a lone surrogate) and cannot be stored"},
    ),
    put_subscriber(
        "api-nul-in-a-region",
        422,
        {
            "regions.1": "unknown region 'BY\\x00' (use an ISO 3166-1 alpha-2 code or an M49 "
            "region such as 'eastern-europe')"
        },
        regions=["europe", "BY\x00"],
    ),
    ApiCase(
        "api-nul-in-the-address",
        "PUT",
        "/subscribers/ann%00@example.org",
        422,
        json={"name": "Ann"},
        errors={"email": NUL},
    ),
    ApiCase(
        "api-get-nul-address",
        "GET",
        "/subscribers/ann%00@example.org",
        404,
        detail="no subscriber 'ann\\x00@example.org'",
    ),
    ApiCase(
        "api-unsubscribe-nul-address",
        "POST",
        "/subscribers/ann%00@example.org/unsubscribe",
        404,
        detail="no subscriber 'ann\\x00@example.org'",
    ),
]


def release_json(release_id: str, **english: str) -> dict[str, Any]:
    body = {"title": "From the API", "body_markdown": "Sent through the API.\n", **english}
    return {"id": release_id, "publish_at": PUBLISH, "translations": {"en": body}}


def post_release(case_id: str, status: int, errors: Mapping[str, str], **english: str) -> ApiCase:
    body = release_json(case_id, **english)
    return ApiCase(case_id, "POST", "/releases", status, json=body, errors=errors)


def raw(
    case_id: str,
    path: str,
    content: bytes,
    content_type: str | None,
    status: int,
    detail: str,
    method: str = "POST",
) -> ApiCase:
    headers = {"Content-Type": content_type} if content_type else {}
    return ApiCase(case_id, method, path, status, content=content, headers=headers, detail=detail)


SEND_JSON = "send a JSON object with Content-Type: application/json"
VALID_JSON = b'{"name": "Ann"}'
API_LIMIT = 3 * LIMIT_KIB * 1024 * 3 + 64 * 1024  # 3 languages, JSON escapes, other fields
TOO_LARGE = (
    "the request body is larger than 640 KiB, the most this API reads "
    "(each release body may be at most content.max_body_size)"
)
NOT_A_RELEASE = "no release 'a\\x00b'"

API_CASES += [
    post_release(
        "api-nul-in-a-title",
        422,
        {
            "translations.en.title": "control character U+0000 (NUL) is not allowed in the title "
            "(it becomes the email subject)"
        },
        title="Water\x00for all",
    ),
    post_release(
        "api-esc-in-a-body",
        422,
        {
            "translations.en.body_markdown": "control character U+001B (ESC) is not allowed "
            "(column 3)"
        },
        body_markdown="A \x1b[2J body.\n",
    ),
    ApiCase(
        "api-lone-surrogate-in-a-body",
        "POST",
        "/releases",
        422,
        content=b'{"id": "api-lone-surrogate-in-a-body", "publish_at": "2026-01-01T00:00:00Z", '
        b'"translations": {"en": {"title": "T", "body_markdown": "A \\udfff body."}}}',
        headers={"Content-Type": "application/json"},
        errors={
            "translations.en.body_markdown": "U+DFFF is not a character (a lone surrogate) and "
            "cannot be stored"
        },
    ),
    post_release(
        "api-body-over-the-limit",
        422,
        {
            "translations.en.body_markdown": f"the body is {LIMIT_KIB + 1} KiB, over the limit of "
            f"{LIMIT_KIB} KiB (content.max_body_size in config.toml): not read"
        },
        body_markdown="z" * (LIMIT_KIB + 1) * 1024,
    ),
    raw(
        "api-request-too-large",
        "/releases",
        b"{" + b" " * API_LIMIT + b"}",
        "application/json",
        413,
        TOO_LARGE,
    ),
    raw(
        "api-text-plain",
        "/releases",
        VALID_JSON,
        "text/plain",
        415,
        f"the body must be JSON (got 'text/plain'); {SEND_JSON}",
    ),
    raw(
        "api-no-content-type",
        "/releases",
        VALID_JSON,
        None,
        415,
        f"the body must be JSON (no Content-Type was sent); {SEND_JSON}",
    ),
    raw(
        "api-a-form",
        "/subscribers/api-a-form@example.org",
        b"name=Ann",
        "application/x-www-form-urlencoded",
        415,
        f"the body must be JSON (got 'application/x-www-form-urlencoded'); {SEND_JSON}",
        method="PUT",
    ),
    raw(
        "api-not-json",
        "/releases",
        b'{\n  "id": "x",\n  nope\n}',
        "application/json",
        400,
        "the body is not valid JSON: Expecting property name enclosed in double quotes "
        "(line 3, column 3)",
    ),
    raw(
        "api-empty-body",
        "/releases",
        b"",
        "application/json",
        400,
        f"the body is empty; {SEND_JSON}",
    ),
    raw(
        "api-a-json-list",
        "/releases",
        b"[]",
        "application/json",
        422,
        f"the body is not a JSON object; {SEND_JSON}",
    ),
    raw(
        "api-not-utf8",
        "/subscribers/api-not-utf8@example.org",
        '{"name": "Zoé"}'.encode("latin-1"),
        "application/json",
        400,
        f"the body is not valid JSON: it is not UTF-8 text; {SEND_JSON}",
        method="PUT",
    ),
    ApiCase("api-nul-in-a-release-id", "GET", "/releases/a%00b", 404, detail=NOT_A_RELEASE),
    ApiCase("api-nul-in-a-status-id", "GET", "/releases/a%00b/status", 404, detail=NOT_A_RELEASE),
    ApiCase(
        "api-nul-in-a-schedule-id",
        "POST",
        "/releases/a%00b/schedule",
        404,
        json={"publish_at": PUBLISH},
        detail=NOT_A_RELEASE,
    ),
    ApiCase("api-nul-in-a-cancel-id", "POST", "/releases/a%00b/cancel", 404, detail=NOT_A_RELEASE),
]
# Accepted: rescheduling a release whose release.toml starts with a byte-order mark.
API_RESCHEDULE_BOM = ApiCase(
    "api-reschedule-bom", "POST", "/releases/toml-bom/schedule", 200, json={"publish_at": PUBLISH}
)
# Accepted: a byte-order mark before the JSON.
API_BOM = ApiCase(
    "api-bom",
    "PUT",
    "/subscribers/api-bom@example.org",
    201,
    content=codecs.BOM_UTF8 + VALID_JSON,
    headers={"Content-Type": "application/json"},
)

# -- the forms: cases ------------------------------------------------------------------

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
FORM_NEIGHBOUR = "form-neighbour@example.org"
ONE_LINE = "Name and outlet: one line each, without control characters."
TOO_LARGE_FORM = (
    "The form is too large, so nothing was done. Please shorten what you entered and try again."
)


@dataclass(frozen=True)
class FormCase:
    """One form sent; the page answers with this status and shows this error."""

    id: str
    path: str  # /subscribe, or /preferences for the journalist ``ben@example.org``
    fields: tuple[tuple[str, str], ...]
    status: int
    error: str
    language: str = "en"  # of the visitor's browser


def subscribe(case_id: str, error: str, status: int = 400, **changes: str) -> FormCase:
    fields = {"email": f"{case_id}@example.org", "name": "Ann Lee", "outlet": "Daily"} | changes
    return FormCase(case_id, "/subscribe", tuple(fields.items()), status, error)


def preferences(case_id: str, error: str, *fields: tuple[str, str], status: int = 400) -> FormCase:
    return FormCase(case_id, "/preferences", fields, status, error)


FORM_CASES = [
    subscribe("form-nul-in-a-name", ONE_LINE, name="Ann\x00Lee"),
    subscribe("form-header-injection", ONE_LINE, name="Ann\r\nBcc: victim@example.com"),
    subscribe("form-esc-in-an-outlet", ONE_LINE, outlet="\x1b[31mDaily"),
    subscribe("form-c1-in-a-name", ONE_LINE, name="Ann\x85Lee"),
    subscribe(
        "form-nul-in-the-address", "Enter a valid email address.", email="ann\x00@example.org"
    ),
    subscribe("form-nul-in-a-region", "Unknown region: europe\ufffd", regions="europe\x00"),
    subscribe("form-too-large", TOO_LARGE_FORM, 413, name="x" * 70_000),
    FormCase(
        "form-too-large-in-french",
        "/subscribe",
        (("email", "fr@example.org"), ("name", "y" * 70_000)),
        413,
        "Le formulaire est trop volumineux : rien n'a été fait. Raccourcissez votre saisie et "
        "réessayez.",
        language="fr",
    ),
    preferences(
        "preferences-nul-in-a-topic", "Unknown topic: water\ufffd", ("topics", "water\x00")
    ),
    preferences(
        "preferences-nul-in-a-language", "Unknown language: en\ufffd", ("languages", "en\x00")
    ),
    preferences(
        "preferences-too-large",
        TOO_LARGE_FORM,
        ("languages", "fr"),
        ("topics", "z" * 70_000),
        status=413,
    ),
]


async def send_forms(client: httpx.AsyncClient, rt: Runtime) -> dict[str, Answer]:
    """Every form case, then the valid neighbours: a subscription and a journalist's choices."""
    answers: dict[str, Answer] = {}
    token = rt.renderer.signer.sign(PREFERENCES, "ben@example.org")
    for case in FORM_CASES:
        path = f"/preferences/{token}" if case.path == "/preferences" else case.path
        response = await client.post(
            path,
            content=urlencode(case.fields),
            headers={**FORM, "Accept-Language": case.language, "Authorization": ""},
        )
        answers[case.id] = Answer(
            response.status_code, response.headers["content-type"], html.unescape(response.text)
        )
    fields = {"email": FORM_NEIGHBOUR, "name": "Form Neighbour"}
    sent = await client.post("/subscribe", content=urlencode(fields), headers=FORM)
    assert sent.status_code == 200, sent.text
    choices = [("languages", "fr"), ("languages", "en")]
    token = rt.renderer.signer.sign(PREFERENCES, "ana@example.org")
    saved = await client.post(f"/preferences/{token}", content=urlencode(choices), headers=FORM)
    assert saved.status_code == 200, saved.text
    return answers


# -- the corpus ------------------------------------------------------------------------

PEOPLE = ("ana@example.org", "ben@example.org")  # the corpus's own list
EVERYONE = (
    set(PEOPLE)
    | {person for case in CSV_CASES for person in case.people}
    | {API_NEIGHBOUR, "api-bom@example.org"}
)


def config_text(db_url: str) -> str:
    return "\n".join(
        [
            "[newsroom]",
            'name = "Test Press Office"',
            'from = "Test Press Office <press@example.org>"',
            'languages = ["en", "fr", "ru"]',
            "",
            "[paths]",
            f'templates = "{Path(__file__).resolve().parent.parent / "templates"}"',
            "",
            "[database]",
            f'url = "{db_url}"',
            "",
            "[content]",
            f'max_body_size = "{LIMIT_KIB}KiB"',
            "",
        ]
    )


def write_files(root: Path, files: Mapping[str, Content]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is DIR:
            path.mkdir()
        elif isinstance(content, Link):
            path.symlink_to(root / content.target)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            assert isinstance(content, str)
            path.write_text(content, encoding="utf-8")


@dataclass
class Answer:
    status: int
    content_type: str
    body: Any


@dataclass
class Corpus:
    root: Path
    newsroom: Newsroom
    check: list[str] = field(default_factory=list)  # the lines `check` printed
    check_exit: int = -1
    planned: set[str] = field(default_factory=set)  # `plan valid-neighbour --json` recipients
    outbox: dict[str, set[str]] = field(default_factory=dict)  # release → recipients
    api: dict[str, Answer] = field(default_factory=dict)  # case id → its answer
    forms: dict[str, Answer] = field(default_factory=dict)  # case id → the page
    ben: Subscriber | None = None  # the journalist whose choices the bad forms tried to change


async def call_web(settings: Settings, corpus: Corpus) -> None:
    """Every API and form case, with their valid neighbours, against the newsroom app."""
    answers: dict[str, Answer] = {}
    async with runtime(settings) as rt:
        await pipeline.sync_files(rt, utc(), pipeline.TickReport())  # the lists, as a scan would
        app_ = create_app(rt)
        async with app_.router.lifespan_context(app_):
            transport = httpx.ASGITransport(app=app_)
            headers = {"Authorization": f"Bearer {TOKEN}"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://test", headers=headers
            ) as client:
                for case in [*API_CASES, API_BOM, API_RESCHEDULE_BOM]:
                    response = await client.request(
                        case.method,
                        f"/api/v1{case.path}",
                        json=case.json,
                        content=case.content,
                        headers=dict(case.headers),
                    )
                    is_json = "json" in response.headers.get("content-type", "")
                    body = response.json() if is_json else response.text
                    answers[case.id] = Answer(
                        response.status_code, response.headers.get("content-type", ""), body
                    )
                neighbour = await client.put(
                    f"/api/v1/subscribers/{API_NEIGHBOUR}", json={"name": "Api Neighbour"}
                )
                assert neighbour.status_code == 201, neighbour.text
                created = await client.post("/api/v1/releases", json=release_json("api-neighbour"))
                assert created.status_code == 201, created.text
                corpus.forms = await send_forms(client, rt)
        person = await rt.journalists.find("ben@example.org")
        corpus.ben = person.subscriber if person else None
    corpus.api = answers


def read_outbox(root: Path) -> dict[str, set[str]]:
    sent: dict[str, set[str]] = {}
    for folder in (root / "var" / "outbox").iterdir():
        for path in folder.glob("*.eml"):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            sent.setdefault(folder.name, set()).add(message["To"].addresses[0].addr_spec)
    return sent


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def corpus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Corpus]:
    root = tmp_path_factory.mktemp(f"corpus-{request.param}")
    urls = database_url(request.param, root)
    newsroom = make_newsroom(root, next(urls))
    # A byte-order mark in config.toml is fine too.
    (root / "config.toml").write_text("\ufeff" + config_text(newsroom.db_url), encoding="utf-8")
    write_files(root, VALID_RELEASE.files)
    for case in FILE_CASES:
        write_files(root, case.files)
    newsroom.subscribers("press", [f"{p},{p.split('@')[0].title()},en,,,no" for p in PEOPLE])
    corpus = Corpus(root, newsroom)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PRESSDISPATCH_API_TOKEN", TOKEN)
        asyncio.run(call_web(newsroom.settings(), corpus))
    config = str(root / "config.toml")
    result = runner.invoke(app, ["--config", config, "check"])
    corpus.check = [line.replace(f"{root}/", "") for line in result.stdout.splitlines()]
    corpus.check_exit = result.exit_code
    planned = runner.invoke(app, ["--config", config, "plan", "valid-neighbour", "--json"])
    assert planned.exit_code == 0, planned.output
    corpus.planned = {r["email"] for r in json.loads(planned.stdout)["recipients"]}
    asyncio.run(run_once(newsroom.settings()))
    corpus.outbox = read_outbox(root)
    yield corpus
    for _ in urls:  # drop the throwaway database
        pass


# -- release files ---------------------------------------------------------------------


@pytest.mark.parametrize("case", RELEASE_CASES, ids=lambda c: c.id)
def test_a_release_file_case(corpus: Corpus, case: FileCase) -> None:
    for line in case.lines:
        assert line in corpus.check, f"{line!r} not in:\n" + "\n".join(corpus.check)
    for release in case.sent:
        assert corpus.outbox.get(release) == EVERYONE, release
    for release in case.unsent:
        assert release not in corpus.outbox


# -- subscriber lists ------------------------------------------------------------------


@pytest.mark.parametrize("case", CSV_CASES, ids=lambda c: c.id)
def test_a_subscriber_list_case(corpus: Corpus, case: CsvCase) -> None:
    for line in case.lines:
        assert line in corpus.check, f"{line!r} not in:\n" + "\n".join(corpus.check)
    assert set(case.people) <= corpus.planned
    assert not set(case.refused) & corpus.planned
    for release in ("valid-neighbour", "toml-bom"):
        assert set(case.people) <= corpus.outbox[release]
        assert not set(case.refused) & corpus.outbox[release]


def test_check_reports_exactly_the_cases(corpus: Corpus) -> None:
    expected = [line for case in FILE_CASES for line in case.lines]
    *problems, summary = corpus.check
    assert sorted(problems) == sorted(expected)
    assert summary.endswith(f"{len(expected)} errors, 0 warnings")
    assert corpus.check_exit == 1
    # `plan` reads the store: every valid row of the lists, the journalists the API
    # added, and none of the refused rows.
    assert corpus.planned == EVERYONE


# -- config.toml ----------------------------------------------------------------------


@pytest.mark.parametrize("case", CONFIG_CASES, ids=lambda c: c.id)
def test_a_config_case(corpus: Corpus, case: ConfigCase) -> None:
    path = corpus.root / "configs" / case.id / "config.toml"
    content = case.content
    if isinstance(content, str):
        content += f'\n[database]\nurl = "{corpus.newsroom.db_url}"\n'
    write_files(corpus.root, {str(path.relative_to(corpus.root)): content})
    result = runner.invoke(app, ["--config", str(path), "check"])
    printed = [line.replace(f"{corpus.root}/", "") for line in result.stdout.splitlines()]
    assert printed == [case.line, "1 problem in the configuration; nothing else checked."]
    assert result.exit_code == 1


def test_a_config_with_a_byte_order_mark_is_read(corpus: Corpus) -> None:
    assert (corpus.root / "config.toml").read_bytes().startswith(codecs.BOM_UTF8)
    assert not any(line.startswith("config.toml") for line in corpus.check)
    assert corpus.outbox["valid-neighbour"] == EVERYONE


# -- the JSON API ----------------------------------------------------------------------


@pytest.mark.parametrize("case", API_CASES, ids=lambda c: c.id)
def test_an_api_case(corpus: Corpus, case: ApiCase) -> None:
    answer = corpus.api[case.id]
    assert answer.status == case.status, answer.body
    assert answer.content_type == "application/problem+json"
    assert answer.body["type"] == "about:blank"
    assert answer.body["status"] == case.status
    if case.detail is not None:
        assert answer.body["detail"] == case.detail
    if case.errors is not None:
        assert {e["field"]: e["message"] for e in answer.body["errors"]} == case.errors
    # Nothing of the request was kept; the valid journalist and release beside it go out.
    address = case.path.split("/")[2] if case.path.startswith("/subscribers/") else ""
    assert not any(address in people for people in corpus.outbox.values())
    assert not (corpus.root / "releases" / case.id).exists()
    assert API_NEIGHBOUR in corpus.outbox["valid-neighbour"]
    assert corpus.outbox["api-neighbour"] == EVERYONE


def test_a_release_toml_with_a_byte_order_mark_can_be_rescheduled(corpus: Corpus) -> None:
    answer = corpus.api[API_RESCHEDULE_BOM.id]
    assert answer.status == 200, answer.body
    text = (corpus.root / "releases" / "toml-bom" / "release.toml").read_text(encoding="utf-8")
    assert text.count("publish_at") == 1
    assert corpus.outbox["toml-bom"] == EVERYONE


def test_a_json_body_may_start_with_a_byte_order_mark(corpus: Corpus) -> None:
    assert corpus.api[API_BOM.id].status == 201
    assert "api-bom@example.org" in corpus.outbox["valid-neighbour"]


# -- a value the database refuses ------------------------------------------------------
# The loaders keep such values out; these make sure that one getting past them all the
# same stops nothing else, and is not blamed on database.url.


async def test_a_value_the_database_refuses_stops_nothing_else(
    newsroom: Newsroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    newsroom.release("due", publish_at=utc(-60))
    newsroom.subscribers("press", ["ana@example.org,Ana,en,,,no"])
    settings = newsroom.settings()
    await run_once(settings)  # the list is in the store
    newsroom.subscribers("press", ["ana@example.org,Ana,en,,,no", "ben@example.org,Ben,en,,,no"])
    newsroom.release("later", publish_at=utc(-30))
    refusal = DataError("INSERT", {}, Exception("text fields cannot contain NUL (0x00) bytes"))

    async def refuse(*_args: Any, **_kwargs: Any) -> int:
        raise refusal

    monkeypatch.setattr(ListSync, "run", refuse)
    report, stats = await run_once(settings)
    assert [str(p) for p in report.problems] == [
        f"{newsroom.root / 'subscribers'}: (store): not saved: the database refused a value "
        "(text fields cannot contain NUL (0x00) bytes); the files are read again at the next scan"
    ]
    assert stats.outcomes["sent"] == 1  # "later", to the journalist the store already had
    assert database_error(settings, refusal) == (
        "the database refused a value (text fields cannot contain NUL (0x00) bytes); "
        "database.url is fine"
    )


async def test_postgresql_refuses_nul_and_it_is_not_blamed_on_database_url(
    tmp_path: Path,
) -> None:
    urls = database_url("postgresql", tmp_path)  # SQLite stores NUL: only PostgreSQL refuses it
    newsroom = make_newsroom(tmp_path, next(urls))
    row = Row(1, Subscriber("ana@example.org", name="Ana\x00", lists=("press",)), True, True)
    async with runtime(newsroom.settings()) as rt:
        with pytest.raises(DataError) as caught:
            await rt.journalists.sync([row], "fingerprint", utc())
    message = database_error(newsroom.settings(), caught.value)
    assert message.startswith("the database refused a value (PostgreSQL text fields cannot")
    assert message.endswith("database.url is fine")
    for _ in urls:  # drop the throwaway database
        pass


# -- the forms -------------------------------------------------------------------------


@pytest.mark.parametrize("case", FORM_CASES, ids=lambda c: c.id)
def test_a_form_case(corpus: Corpus, case: FormCase) -> None:
    answer = corpus.forms[case.id]
    assert answer.status == case.status
    assert answer.content_type.startswith("text/html")
    assert case.error in answer.body
    assert "\x00" not in answer.body and "\x1b" not in answer.body
    # Nothing was sent or saved; the valid form beside it went through.
    confirmations = corpus.outbox["_confirmations"]
    assert confirmations == {FORM_NEIGHBOUR}
    assert corpus.ben is not None
    assert (corpus.ben.languages, corpus.ben.topics) == (("en",), frozenset())


async def test_a_lookup_by_a_value_no_database_holds_finds_nothing(newsroom: Newsroom) -> None:
    # Addresses and ids typed into a URL (the console, the API): PostgreSQL would refuse
    # NUL as a query parameter, SQLite would look. Both now say: no such thing.
    newsroom.subscribers("press", ["ana@example.org,Ana,en,,,no"])
    async with runtime(newsroom.settings()) as rt:
        await pipeline.sync_files(rt, utc(), pipeline.TickReport())
        for odd in ("ana@example.org\x00", "ana\ud800@example.org"):
            assert await rt.catalog.rows(odd) == []
            assert await rt.journalists.find(odd) is None  # the pages', the API's, the console's
            assert not await rt.journalists.set_status(odd, "unsubscribed", "test", utc())
            assert await rt.ledger.deliveries_to(odd) == []
            assert await rt.journalists.search(SubscriberQuery(text=odd)) == Found([], 0)
        assert (await rt.journalists.find("ana@example.org")) is not None
