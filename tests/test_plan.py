"""`plan` and `preview --to` tell what the engine then does: one plan, read from the store.

Through the real command line on real stores; the sends go to the outbox folder, whose
files are the messages the journalists get.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pressdispatch.model import Subscriber
from pressdispatch.store.journalists.writes import Changes
from pressdispatch.web.app import create_app

from .dispatching import Newsroom, cli, make_newsroom, run_once, runtime, sqlite_url, utc

pytestmark = pytest.mark.databases("sqlite", "postgresql")

runner = CliRunner()

PEOPLE = [
    "ana@example.org,Ana,fr,,,no",
    "ben@example.org,Ben,en,,,yes",  # cleared for embargoed copies
    "chen@example.org,Chen,zh en,,,no",
    "dia@example.org,Dia,en,africa,,no",  # follows Africa only
]


def plan_json(newsroom: Newsroom, release_id: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(cli(newsroom, "plan", release_id, "--json").stdout)
    return document


def recipients(document: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {r["email"]: (r["language"], r["tier"], r["status"]) for r in document["recipients"]}


def tiers(document: dict[str, Any]) -> dict[str, str]:
    return {t["tier"]: t["state"] for t in document["tiers"]}


def outbox(newsroom: Newsroom, release_id: str) -> Iterator[EmailMessage]:
    for path in sorted((newsroom.root / "var" / "outbox" / release_id).glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        assert message["Return-Path"] == "<press@example.org>"  # the envelope sender
        del message["Return-Path"]  # written on delivery: not part of what was composed
        yield message


def to(message: EmailMessage) -> str:
    return str(message["To"].addresses[0].addr_spec)


def test_plan_follows_unsubscribes_and_journalists_from_the_web_and_the_api(
    newsroom: Newsroom,
) -> None:
    newsroom.release("andes", publish_at=utc(3600), regions=("south-america",))
    newsroom.subscribers("press", PEOPLE)
    assert set(recipients(plan_json(newsroom, "andes"))) == {
        "ana@example.org",
        "ben@example.org",
        "chen@example.org",
    }

    async def history() -> None:
        async with runtime(newsroom.settings()) as rt:
            for address in ("ana@example.org", "ben@example.org"):
                assert await rt.journalists.set_status(address, "unsubscribed", "asked", utc())
            await rt.journalists.confirm_signup(
                Subscriber("web@example.org", "Web", languages=("fr",)), utc()
            )

    asyncio.run(history())
    document = plan_json(newsroom, "andes")
    assert recipients(document) == {
        "chen@example.org": ("en", "public", "will send"),
        "web@example.org": ("fr", "public", "will send"),
    }
    assert document["will_send"] is True
    assert tiers(document) == {"public": "will send"}


def test_plan_after_cancel_says_nothing_will_be_sent(newsroom: Newsroom) -> None:
    newsroom.release("minsk", publish_at=utc(3600))
    newsroom.subscribers("press", PEOPLE)
    cli(newsroom, "cancel", "minsk")
    document = plan_json(newsroom, "minsk")
    assert document["will_send"] is False
    assert document["state"] == "cancelled"
    assert tiers(document) == {"public": "cancelled"}
    assert document["recipients"] == []
    assert "nothing more will be sent" in cli(newsroom, "plan", "minsk").stdout


def test_plan_of_a_sent_release_tells_the_ledger_not_todays_list(newsroom: Newsroom) -> None:
    newsroom.release("sahel", publish_at=utc(-60))
    newsroom.subscribers("press", PEOPLE)
    asyncio.run(run_once(newsroom.settings()))
    sent = {to(m) for m in outbox(newsroom, "sahel")}
    newsroom.subscribers("press", [*PEOPLE, "late@example.org,Late,en,,,no"])  # joins after
    document = plan_json(newsroom, "sahel")
    assert document["state"] == "done"
    assert document["will_send"] is False
    assert tiers(document) == {"public": "sent"}
    assert {e: s for e, (_, _, s) in recipients(document).items()} == dict.fromkeys(sent, "sent")
    (public,) = document["tiers"]
    assert public["total"] == len(sent)
    text = cli(newsroom, "plan", "sahel").stdout
    assert "public: sent on " in text
    assert "will send" not in text


def test_plan_and_preview_follow_the_embargoed_copies_already_sent(newsroom: Newsroom) -> None:
    newsroom.release("minsk", publish_at=utc(3600), embargo_send_at=utc(-60))
    newsroom.subscribers("press", PEOPLE)
    before = plan_json(newsroom, "minsk")
    assert recipients(before)["ben@example.org"] == ("en", "embargoed", "will send")
    asyncio.run(run_once(newsroom.settings()))  # the embargoed copies go
    assert [to(m) for m in outbox(newsroom, "minsk")] == ["ben@example.org"]
    document = plan_json(newsroom, "minsk")
    assert tiers(document) == {"embargoed": "sent", "public": "will send"}
    assert recipients(document) == {
        "ana@example.org": ("fr", "public", "will send"),
        "ben@example.org": ("en", "embargoed", "sent"),  # not planned a second time
        "chen@example.org": ("en", "public", "will send"),
        "dia@example.org": ("en", "public", "will send"),
    }


def test_preview_to_shows_the_copy_the_plan_gives(newsroom: Newsroom) -> None:
    newsroom.release("minsk", publish_at=utc(3600), embargo_send_at=utc(1800))
    newsroom.subscribers("press", PEOPLE)
    cleared = cli(newsroom, "preview", "minsk", "--to", "ben@example.org")
    message = message_from_bytes(cleared.stdout_bytes, policy=policy.default)
    assert message["Subject"].startswith("[Embargoed until ")
    assert isinstance(message, EmailMessage)
    assert "EMBARGOED" in message.get_body(("plain",)).get_content()
    public = cli(newsroom, "preview", "minsk", "--to", "ana@example.org", "--format", "text")
    assert "EMBARGOED" not in public.stdout
    assert "Body of minsk in fr." in public.stdout


def test_preview_warns_of_an_embargoed_copy_for_someone_not_cleared(newsroom: Newsroom) -> None:
    newsroom.release("minsk", publish_at=utc(3600), embargo_send_at=utc(1800))
    newsroom.subscribers("press", PEOPLE)
    result = cli(newsroom, "preview", "minsk", "--to", "ana@example.org", "--embargo")
    assert "ana@example.org is not cleared for embargoed copies" in result.stderr


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("dia@example.org", "no region in common"),
        ("nobody@example.org", "nobody@example.org is not a subscriber"),
        ("ana@example.org", "ana@example.org is unsubscribed"),
    ],
)
def test_preview_to_someone_who_gets_nothing_says_why(
    newsroom: Newsroom, address: str, why: str
) -> None:
    newsroom.release("andes", publish_at=utc(3600), regions=("south-america",))
    newsroom.subscribers("press", PEOPLE)

    cli(newsroom, "plan", "andes")  # the lists are taken up into the store

    async def unsubscribe() -> None:
        async with runtime(newsroom.settings()) as rt:
            assert await rt.journalists.set_status("ana@example.org", "unsubscribed", "", utc())

    asyncio.run(unsubscribe())
    result = cli(newsroom, "preview", "andes", "--to", address, code=1)
    assert why in result.stderr
    assert result.stdout == ""


# -- what plan says is what the engine sends -------------------------------------------

LANGUAGES = ("en", "fr", "ru")
REGIONS = ("", "europe", "africa", "by")
PERSON = st.tuples(
    st.lists(st.sampled_from(LANGUAGES), max_size=2, unique=True),
    st.sampled_from(REGIONS),
    st.booleans(),  # cleared
)
HISTORY = st.lists(
    st.sampled_from(["unsubscribe", "bounce", "web", "api", "embargo-sent", "cancel"]),
    max_size=3,
)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=st.lists(PERSON, min_size=1, max_size=6),
    languages=st.lists(st.sampled_from(LANGUAGES), min_size=1, max_size=3, unique=True),
    region=st.sampled_from(("world", "europe", "by", "africa")),
    history=HISTORY,
)
def test_plan_is_what_the_engine_sends(
    tmp_path_factory: pytest.TempPathFactory,
    people: list[tuple[list[str], str, bool]],
    languages: list[str],
    region: str,
    history: list[str],
) -> None:
    root = tmp_path_factory.mktemp("newsroom")
    newsroom = make_newsroom(root, sqlite_url(root))
    embargo = utc(-30) if "embargo-sent" in history else utc(1800)
    newsroom.release(
        "r",
        publish_at=utc(3600),
        embargo_send_at=embargo,
        languages=tuple(languages),
        regions=(region,),
    )
    rows = [
        f"j{i}@example.org,J{i},{' '.join(langs)},{where},,{'yes' if cleared else 'no'}"
        for i, (langs, where, cleared) in enumerate(people)
    ]
    newsroom.subscribers("press", rows)
    if "embargo-sent" in history:
        asyncio.run(run_once(newsroom.settings()))

    async def act() -> None:
        async with runtime(newsroom.settings()) as rt:
            if "unsubscribe" in history:
                await rt.journalists.set_status("j0@example.org", "unsubscribed", "asked", utc())
            if "bounce" in history and len(people) > 1:
                await rt.journalists.set_status("j1@example.org", "bounced", "550", utc())
            if "web" in history:
                signup = Subscriber("web@example.org", "Web", languages=(languages[-1],))
                await rt.journalists.confirm_signup(signup, utc())
            if "api" in history:  # a new journalist, and one of the list's cleared
                added = Changes("api@example.org", languages=(languages[0],), embargo=True)
                await rt.journalists.save_from_api(added, utc())
                await rt.journalists.save_from_api(Changes("j0@example.org", embargo=True), utc())

    asyncio.run(act())
    if "cancel" in history:
        cli(newsroom, "cancel", "r")
    document = plan_json(newsroom, "r")
    planned = {email: (lang, tier) for email, (lang, tier, status) in recipients(document).items()}
    # The service runs on: the embargoed copies at their time, then the public ones.
    asyncio.run(run_once(newsroom.settings(), now=utc(1850)))
    asyncio.run(run_once(newsroom.settings(), now=utc(3700)))
    got = {}
    for message in outbox(newsroom, "r"):
        language, tier = str(message["X-PressDispatch-Variant"]).split("/")
        got[to(message)] = (language, tier)
    assert got == planned


# -- the console and the API count as plan does ----------------------------------------

TOKEN = "api-token-for-tests"
PASSWORD = "console-password-for-tests"


def moments(value: Any) -> Any:
    """The document with its times as datetimes: the API writes UTC as Z, the command
    line as +00:00, both RFC 3339."""
    if isinstance(value, dict):
        return {k: moments(v) for k, v in value.items()}
    if isinstance(value, list):
        return [moments(v) for v in value]
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)", value):
        return datetime.fromisoformat(value)
    return value


async def surfaces(newsroom: Newsroom, release_id: str) -> tuple[dict[str, Any], int]:
    """The API's plan document, and the console's Plan total, for one release."""
    async with runtime(newsroom.settings()) as rt:
        app = create_app(rt)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                bearer = {"Authorization": f"Bearer {TOKEN}"}
                answer = await c.get(f"/api/v1/releases/{release_id}/plan", headers=bearer)
                assert answer.status_code == 200, answer.text
                login = await c.post("/admin/login", data={"password": PASSWORD})
                assert login.status_code == 303, login.text
                page = await c.get(f"/admin/releases/{release_id}")
                total = re.search(r'Total</th><td class="n">(\d+)</td>', page.text)
                assert total is not None, page.text
                return answer.json(), int(total.group(1))


def test_the_api_and_the_console_count_as_plan_does(
    newsroom: Newsroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRESSDISPATCH_API_TOKEN", TOKEN)
    monkeypatch.setenv("PRESSDISPATCH_ADMIN_TOKEN", PASSWORD)
    newsroom.release("sahel", publish_at=utc(-60), regions=("world",))
    newsroom.subscribers("press", PEOPLE)
    asyncio.run(run_once(newsroom.settings()))
    # Someone joins after the release went out: the plan of a finished release is what
    # was sent, on every surface (the console once counted today's journalists).
    newsroom.subscribers("press", [*PEOPLE, "late@example.org,Late,en,,,no"])
    cli_document = plan_json(newsroom, "sahel")
    api_document, console_total = asyncio.run(surfaces(newsroom, "sahel"))
    assert moments(api_document) == moments(cli_document)
    assert console_total == cli_document["total"] == len(list(outbox(newsroom, "sahel"))) == 4


# -- preview --to is the message the journalist gets ------------------------------------

TOKENS = re.compile(r"/(unsubscribe|preferences)/[A-Za-z0-9._~-]+")


def masked(raw: bytes) -> tuple[list[tuple[str, str]], str, str]:
    """The headers but Date, Message-ID and the MIME boundary; both bodies, decoded; the
    signed tokens in links masked (each message signs its own)."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    headers = [
        (name, TOKENS.sub(r"/\1/…", str(value)))
        for name, value in message.items()
        if name not in ("Date", "Message-ID", "Content-Type")
    ]
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return (
        headers,
        TOKENS.sub(r"/\1/…", text.get_content()),
        TOKENS.sub(r"/\1/…", html.get_content()),
    )


def test_preview_to_is_the_message_each_journalist_gets(newsroom: Newsroom) -> None:
    newsroom.release(
        "minsk", publish_at=utc(3600), embargo_send_at=utc(1800), languages=("en", "fr", "ru")
    )
    newsroom.subscribers("press", [*PEOPLE, "eve@example.org,Eve,ru fr,,,yes"])
    everyone = ["ana", "ben", "chen", "dia", "eve"]
    previews = {
        f"{who}@example.org": cli(newsroom, "preview", "minsk", "--to", f"{who}@example.org")
        for who in everyone
    }
    asyncio.run(run_once(newsroom.settings(), now=utc(1850)))  # the embargoed copies
    asyncio.run(run_once(newsroom.settings(), now=utc(3700)))  # the public ones
    sent = {
        to(message): message.as_bytes(policy=policy.SMTP) for message in outbox(newsroom, "minsk")
    }
    assert sorted(sent) == sorted(previews)
    for address, preview in previews.items():
        assert masked(preview.stdout_bytes) == masked(sent[address]), address
