"""Self-service subscription with double opt-in, as a visitor and a mail scanner use it.

The form is posted to the ASGI app over a real SQLite store; the
confirmation email is read back from the outbox, or from a real SMTP server
(aiosmtpd), and its link is followed. Releases then go out with ``run_once``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from html import escape
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from pressdispatch import pipeline
from pressdispatch.cli import app as cli
from pressdispatch.cli.subscribers import EXPORT_COLUMNS, write_csv
from pressdispatch.model import Subscriber
from pressdispatch.render.email import PREFERENCES, UNSUBSCRIBE
from pressdispatch.runtime import Runtime
from pressdispatch.store.journalists import Journalist
from pressdispatch.web.app import create_app
from pressdispatch.web.ratelimit import RateLimiter, admit
from pressdispatch.web.signup import CONFIRM, OUTBOX_FOLDER, payload

from .dispatching import Clock, Newsroom, make_newsroom, run_once, runtime, sqlite_url, utc
from .smtpd import smtp_server

BASE = "https://press.example.org"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
HEADER = "email,name,outlet,languages,regions,topics,embargo"
NEWSROOM_LANGUAGES = ["en", "fr", "ru", "ar", "es", "zh"]  # tests/conftest.py
HOUR = timedelta(hours=1)


@dataclass
class Site:
    newsroom: Newsroom
    rt: Runtime
    clock: Clock
    client: httpx.AsyncClient
    clients: AsyncExitStack
    app: FastAPI

    async def client_at(self, host: str) -> httpx.AsyncClient:
        """A browser at another client address."""
        transport = httpx.ASGITransport(app=self.app, client=(host, 40000))
        client = httpx.AsyncClient(transport=transport, base_url=BASE)
        return await self.clients.enter_async_context(client)

    async def subscribe(
        self,
        email: str,
        *,
        name: str = "",
        outlet: str = "",
        languages: Sequence[str] = (),
        regions: Sequence[str] = (),
        topics: Sequence[str] = (),
        lang: str = "en",
        client: httpx.AsyncClient | None = None,
    ) -> httpx.Response:
        """POST the form as a browser does: fields in page order, urlencoded."""
        fields = [("lang", lang), ("email", email), ("name", name), ("outlet", outlet)]
        fields += [("languages", code) for code in languages]
        fields += [("languages", "")] * 2  # the menus left on "None"
        fields += [("regions", slug) for slug in regions]
        fields += [("topics", topic) for topic in topics]
        return await (client or self.client).post(
            "/subscribe", content=urlencode(fields), headers=FORM
        )

    def mails(self, to: str | None = None) -> list[EmailMessage]:
        """Confirmation emails in the outbox (to one address, in any case)."""
        found = []
        for path in sorted((self.newsroom.root / "var" / "outbox" / OUTBOX_FOLDER).glob("*.eml")):
            message = parse(path.read_bytes())
            if to is None or recipient(message) == to.lower():
                found.append(message)
        return found

    async def person(self, email: str) -> Journalist | None:
        return await self.rt.journalists.find(email)

    async def sync(self) -> None:
        report = pipeline.TickReport()
        await pipeline.sync_files(self.rt, self.clock(), report)
        assert not report.problems, report.problems

    def confirm_token(self, email: str, *, purpose: str = CONFIRM, hours_ago: float = 0) -> str:
        signup = Subscriber(email=email, languages=("fr",))
        issued = self.clock() - timedelta(hours=hours_ago)
        return self.rt.renderer.signer.sign(purpose, payload(signup), issued_at=issued)


def parse(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def recipient(message: EmailMessage) -> str:
    return str(message["To"].addresses[0].addr_spec).lower()


def part(message: EmailMessage, kind: str) -> str:
    body = message.get_body(preferencelist=(kind,))
    assert isinstance(body, EmailMessage)
    return str(body.get_content())


def confirm_url(message: EmailMessage) -> str:
    urls = set(re.findall(rf"{BASE}/confirm/[A-Za-z0-9_.-]+", part(message, "plain")))
    assert len(urls) == 1, urls
    return urls.pop()


def form_action(html: str) -> str:
    actions = re.findall(r'<form[^>]* method="post" action="([^"]+)"', html)
    assert len(actions) == 1, actions
    return actions[0]


def assert_private(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in response.headers


async def open_site(newsroom: Newsroom) -> AsyncIterator[Site]:
    settings = newsroom.settings()
    clock = Clock(utc())
    async with runtime(settings) as rt, AsyncExitStack() as clients:
        app = create_app(rt, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
                yield Site(newsroom, rt, clock, client, clients, app)


@pytest.fixture
async def site(newsroom: Newsroom) -> AsyncIterator[Site]:
    """The newsroom's app over SQLite; one public release, one to come."""
    newsroom.release("earlier", publish_at=utc(-2 * 3600), topics=("health", "water"))
    newsroom.release("later", publish_at=utc(7 * 24 * 3600), topics=("secret-topic",))
    async for opened in open_site(newsroom):
        await opened.sync()
        yield opened


# -- the form -----------------------------------------------------------------------


async def test_the_form_speaks_the_visitors_language_and_offers_the_newsrooms_choices(
    site: Site,
) -> None:
    page = await site.client.get("/subscribe", headers={"Accept-Language": "fr"})
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["content-language"] == "fr"
    html = page.text
    assert '<html lang="fr" dir="ltr">' in html
    assert "<h1>S'abonner</h1>" in html
    assert form_action(html) == "/subscribe"
    assert '<input type="hidden" name="lang" value="fr">' in html
    # one box and one position per newsroom language, none ticked
    assert re.findall(r'name="languages" value="(\w+)"', html) == NEWSROOM_LANGUAGES
    assert re.findall(r'name="position-(\w+)" value=""', html) == NEWSROOM_LANGUAGES
    assert '<span id="language-name-ru" lang="ru">Русский</span>' in html
    assert 'name="regions" value="western-africa"> Afrique occidentale' in html
    assert 'name="regions" value="by"> Biélorussie' in html  # countries too, in French
    assert 'name="regions" value="world">' not in html  # none ticked is the world
    assert "<details open>" not in html  # nothing ticked: every group closed
    # the topics of public releases only: not those of a release still to come
    assert re.findall(r'name="topics" value="([^"]+)"', html) == ["health", "water"]

    arabic = await site.client.get("/subscribe?lang=ar", headers={"Accept-Language": "fr"})
    assert '<html lang="ar" dir="rtl">' in arabic.text
    assert arabic.headers["content-language"] == "ar"
    default = await site.client.get("/subscribe")
    assert default.headers["content-language"] == "en"


async def test_the_newsroom_links_to_the_form(site: Site) -> None:
    index = await site.client.get("/?lang=es")
    assert '<a href="/subscribe?lang=es">Suscribirse</a>' in index.text


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("email", "not-an-address", "Enter a valid email address."),
        ("email", "", "Enter a valid email address."),
        ("languages", "de", "Unknown language: de"),  # a language, not the newsroom's
        ("regions", "narnia", "Unknown region: narnia"),
        ("topics", "secret-topic", "Unknown topic: secret-topic"),  # not public yet
        ("topics", "<script>", "Unknown topic: &lt;script&gt;"),
        ("name", "x" * 201, "Name and outlet: at most 200 characters each."),
    ],
)
async def test_an_invalid_form_comes_back_with_the_error_and_sends_nothing(
    site: Site, field: str, value: str, error: str
) -> None:
    response = await site.subscribe(
        value if field == "email" else "ana@example.org",
        name=value if field == "name" else "Ana",
        languages=[value] if field == "languages" else ["fr"],
        regions=[value] if field == "regions" else ["europe"],
        topics=[value] if field == "topics" else ["health"],
    )
    assert response.status_code == 400
    assert response.headers["cache-control"] == "no-store"
    assert error in response.text
    assert response.text.count("<script") == 1  # the form's own: never a value sent back
    assert form_action(response.text) == "/subscribe"
    assert site.mails() == []
    # what was chosen is still chosen
    if field != "regions":
        assert 'name="regions" value="europe" checked>' in response.text


async def test_a_body_larger_than_any_form_is_refused_unread(site: Site) -> None:
    fields = [("email", "ana@example.org"), ("name", "x" * 70_000)]
    response = await site.client.post("/subscribe", content=urlencode(fields), headers=FORM)
    assert response.status_code == 413
    assert "The form is too large, so nothing was done." in response.text
    assert "Enter a valid email address." not in response.text
    assert site.mails() == []


# -- subscribe, confirm, receive ----------------------------------------------------


async def test_subscribe_confirm_then_receive_the_next_release_in_the_chosen_language(
    site: Site,
) -> None:
    response = await site.subscribe(
        "Zoe.Ng@Example.ORG",
        name="Zoé Ng",
        outlet="Minsk Daily",
        languages=["ru", "en"],
        regions=["europe"],
        topics=["health"],
        lang="fr",
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-language"] == "fr"  # the page's language
    assert "Consultez votre boîte de réception" in response.text
    assert await site.person("zoe.ng@example.org") is None  # nothing stored yet

    [mail] = site.mails()
    assert recipient(mail) == "zoe.ng@example.org"
    assert mail["From"] == "Test Press Office <press@example.org>"
    assert mail["Reply-To"] == "media@example.org"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert re.fullmatch(r"<confirm\.[0-9a-f]{32}@example\.org>", mail["Message-ID"])
    assert mail["Content-Language"] == "ru"  # the first chosen language
    assert mail["Subject"] == "Подтвердите подписку на пресс-релизы: Test Press Office"
    assert mail["Date"]
    text = part(mail, "plain")
    assert "Zoe.Ng@example.org" in text  # as typed, the domain in lower case
    assert "Europe" not in text and "Европа" in text
    url = confirm_url(mail)
    assert f'href="{url}"' in part(mail, "html")
    path = url.removeprefix(BASE)

    # A mail scanner opens the link: it only asks.
    page = await site.client.get(url)
    assert page.status_code == 200
    assert_private(page)
    assert form_action(page.text) == path
    assert "Подтвердить подписку" in page.text
    assert (await site.client.head(url)).status_code == 200
    assert await site.person("zoe.ng@example.org") is None

    done = await site.client.post(path)
    assert done.status_code == 200
    assert_private(done)
    assert "Подписка подтверждена" in done.text
    preferences = site.rt.renderer.signer.sign(PREFERENCES, "zoe.ng@example.org")
    assert f'<a href="/preferences/{preferences}">' in done.text
    found = await site.person("zoe.ng@example.org")
    assert found is not None
    zoe, status = found.subscriber, found.status
    assert status == "active"
    assert zoe.email == "Zoe.Ng@example.org"
    assert (zoe.name, zoe.outlet) == ("Zoé Ng", "Minsk Daily")
    assert zoe.languages == ("ru", "en")
    assert (zoe.regions, zoe.topics) == ({"europe"}, {"health"})
    assert zoe.lists == ("web",)
    assert not zoe.embargo

    # Confirming twice is harmless.
    assert (await site.client.post(path)).status_code == 200

    site.newsroom.release(
        "news", publish_at=utc(-60), languages=("en", "ru"), regions=("by",), topics=("health",)
    )
    site.newsroom.release("far", publish_at=utc(-60), regions=("jp",), topics=("health",))
    await run_once(site.newsroom.settings())
    news = list((site.newsroom.root / "var" / "outbox" / "news").glob("*.eml"))
    assert len(news) == 1
    copy = parse(news[0].read_bytes())
    assert recipient(copy) == "zoe.ng@example.org"
    assert copy["Content-Language"] == "ru"
    assert "Body of news in ru." in part(copy, "plain")
    assert not list((site.newsroom.root / "var" / "outbox" / "far").glob("*.eml"))


async def test_the_confirmation_email_goes_through_smtp(tmp_path: Path) -> None:
    newsroom = make_newsroom(tmp_path, sqlite_url(tmp_path))
    async with smtp_server() as server:
        newsroom.write_config(
            transport={"kind": "smtp"},
            smtp={"host": server.host, "port": server.port, "security": "none"},
        )
        async for site in open_site(newsroom):
            response = await site.subscribe(
                "kim@example.net",
                name='Kim "K" <script>x</script>',
                outlet="<b>Tom & Jerry</b>",
                languages=["zh"],
            )
            assert response.status_code == 200
            assert not (tmp_path / "var" / "outbox").exists()
            [received] = server.messages
            assert received.rcpt_tos == ("kim@example.net",)
            assert received.mail_from == "press@example.org"
            mail = parse(received.data)
            assert received.message_id == mail["Message-ID"]
            assert mail["To"].addresses[0].display_name == 'Kim "K" <script>x</script>'
            assert mail["Subject"] == "请确认订阅Test Press Office的新闻稿"
            html = part(mail, "html")
            assert "<script>" not in html and "<b>Tom" not in html
            assert escape("<script>x</script>", quote=False) in html
            assert escape("<b>Tom & Jerry</b>", quote=False) in html
            assert "<b>Tom & Jerry</b>" in part(mail, "plain")  # text is not HTML

            done = await site.client.post(confirm_url(mail).removeprefix(BASE))
            assert done.status_code == 200
            found = await site.person("kim@example.net")
            assert found is not None
            assert found.status == "active"
            assert found.subscriber.outlet == "<b>Tom & Jerry</b>"


async def test_name_and_outlet_are_escaped_in_the_pages(site: Site) -> None:
    response = await site.subscribe(
        "eve@example.org",
        name="<script>x</script>",
        outlet="<i>Times</i>",
        regions=["narnia"],
    )
    assert response.status_code == 400
    assert "<script>x</script>" not in response.text
    assert "<i>Times</i>" not in response.text
    assert 'value="&lt;script&gt;x&lt;/script&gt;"' in response.text
    assert 'value="&lt;i&gt;Times&lt;/i&gt;"' in response.text

    response = await site.subscribe("eve@example.org", name="<script>x</script>")
    [mail] = site.mails()
    assert "<script>" not in part(mail, "html")
    await site.client.post(confirm_url(mail).removeprefix(BASE))
    preferences = site.rt.renderer.signer.sign(PREFERENCES, "eve@example.org")
    page = await site.client.get(f"/preferences/{preferences}")
    assert page.status_code == 200
    assert "<script>x</script>" not in page.text
    assert escape("<script>x</script>") in page.text


# -- no address probing -------------------------------------------------------------


async def test_the_answer_is_the_same_for_new_subscribed_unsubscribed_and_bounced(
    site: Site,
) -> None:
    site.newsroom.subscribers(
        "press",
        [
            "ann@example.org,Ann,,en,,,no",
            "ulf@example.org,Ulf,,en,,,no",
            "bob@example.org,Bob,,en,,,no",
        ],
        header=HEADER,
    )
    await site.sync()
    await site.rt.journalists.set_status("ulf@example.org", "unsubscribed", "test", site.clock())
    await site.rt.journalists.set_status("bob@example.org", "bounced", "test", site.clock())

    answers = []
    for email in ("new@example.org", "ann@example.org", "ulf@example.org", "bob@example.org"):
        response = await site.subscribe(email, languages=["fr"])
        assert response.status_code == 200
        answers.append((response.content, sorted(response.headers.items())))
        assert len(site.mails(email)) == 1, email
    assert all(answer == answers[0] for answer in answers)
    assert b"@example.org" not in answers[0][0]
    assert await site.person("new@example.org") is None
    found = await site.person("ulf@example.org")
    assert found is not None
    assert found.status == "unsubscribed"  # until the link is followed


# -- links that are not genuine -----------------------------------------------------


async def test_expired_tampered_and_wrong_purpose_links_give_one_400_page(site: Site) -> None:
    await site.subscribe("ana@example.org", languages=["fr"])
    [mail] = site.mails()
    token = confirm_url(mail).removeprefix(f"{BASE}/confirm/")
    mac = token[-1]
    tampered = token[:-1] + ("A" if mac != "A" else "B")
    other = site.confirm_token("ghost@example.org").split(".")[0]
    garbage = site.rt.renderer.signer.sign(CONFIRM, "not json", issued_at=site.clock())
    wrong_shape = site.rt.renderer.signer.sign(CONFIRM, '{"e":1}', issued_at=site.clock())
    requests = [
        f"/confirm/{tampered}",
        f"/confirm/{other}.{token.split('.', 1)[1]}",  # another address, the same MAC
        "/confirm/not-a-token",
        "/confirm/%C3%A9.0.x",
        f"/confirm/{site.confirm_token('ana@example.org', purpose=UNSUBSCRIBE)}",
        f"/confirm/{site.confirm_token('ana@example.org', purpose=PREFERENCES)}",
        f"/confirm/{site.rt.renderer.signer.sign(CONFIRM, payload(Subscriber('ana@x.org')))}",
        f"/confirm/{site.confirm_token('ana@example.org', hours_ago=49)}",
        f"/confirm/{garbage}",
        f"/confirm/{wrong_shape}",
    ]
    pages = set()
    for path in requests:
        for method in ("GET", "POST"):
            response = await site.client.request(method, path, headers={"Accept-Language": "fr"})
            assert response.status_code == 400, (method, path)
            assert_private(response)
            pages.add(response.text)
    assert len(pages) == 1
    assert "Ce lien n'est pas valide ou a expiré" in pages.pop()
    assert await site.person("ana@example.org") is None
    assert await site.person("ghost@example.org") is None

    # The genuine link still works 47 hours on, and no longer 49 hours on.
    site.clock.now += 47 * HOUR
    assert (await site.client.get(f"/confirm/{token}")).status_code == 200
    site.clock.now += 2 * HOUR
    for method in ("GET", "POST"):
        expired = await site.client.request(method, f"/confirm/{token}")
        assert expired.status_code == 400
    assert await site.person("ana@example.org") is None


# -- rate limits --------------------------------------------------------------------


async def test_one_client_may_send_five_requests_in_ten_minutes(site: Site) -> None:
    for n in range(5):
        response = await site.subscribe(f"reader{n}@example.org")
        assert response.status_code == 200
    refused = await site.subscribe("reader5@example.org", lang="es")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "600"
    assert refused.headers["cache-control"] == "no-store"
    assert "Demasiados intentos" in refused.text
    assert len(site.mails()) == 5
    assert site.mails("reader5@example.org") == []

    # Another client is not held back; the first one is, until the window has passed.
    elsewhere = await site.client_at("198.51.100.9")
    assert (await site.subscribe("reader5@example.org", client=elsewhere)).status_code == 200
    site.clock.now += timedelta(minutes=9)
    again = await site.subscribe("reader6@example.org")
    assert again.status_code == 429
    assert again.headers["retry-after"] == "60"
    site.clock.now += timedelta(minutes=1)
    assert (await site.subscribe("reader6@example.org")).status_code == 200
    assert len(site.mails()) == 7


async def test_one_address_may_be_sent_three_links_an_hour(site: Site) -> None:
    for n in range(3):
        browser = await site.client_at(f"203.0.113.{n}")
        assert (await site.subscribe("pat@example.org", client=browser)).status_code == 200
    browser = await site.client_at("203.0.113.50")
    refused = await site.subscribe("PAT@example.org", client=browser)  # any letter case
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) == 3600
    assert len(site.mails("pat@example.org")) == 3
    # The refused request did not count against its client.
    assert (await site.subscribe("other@example.org", client=browser)).status_code == 200

    site.clock.now += HOUR
    assert (await site.subscribe("pat@example.org", client=browser)).status_code == 200
    assert len(site.mails("pat@example.org")) == 4


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limiter_counts_a_sliding_window() -> None:
    ticks = Ticks()
    limiter = RateLimiter(2, timedelta(seconds=10), clock=ticks)
    assert limiter.wait("a") == 0
    limiter.record("a")
    ticks.now += 4
    limiter.record("a")
    assert limiter.wait("a") == 6  # the first use leaves the window in 6 s
    assert limiter.wait("b") == 0
    ticks.now += 6
    assert limiter.wait("a") == 0
    limiter.record("a")
    assert limiter.wait("a") == 4


def test_admit_counts_every_limit_or_none() -> None:
    ticks = Ticks()
    per_client = RateLimiter(5, timedelta(minutes=10), clock=ticks)
    per_email = RateLimiter(1, timedelta(hours=1), clock=ticks)
    assert admit((per_client, "c"), (per_email, "x@example.org")) == 0
    assert admit((per_client, "c"), (per_email, "x@example.org")) == 3600
    assert admit((per_client, "c"), (per_email, "y@example.org")) == 0
    ticks.now += 0.5
    for n in range(3):
        assert admit((per_client, "c"), (per_email, f"{n}@example.org")) == 0
    assert admit((per_client, "c"), (per_email, "z@example.org")) == 600  # rounded up
    assert per_email.wait("z@example.org") == 0  # the refusal counted nowhere


def test_the_limiter_forgets_what_is_past() -> None:
    ticks = Ticks()
    limiter = RateLimiter(3, timedelta(minutes=1), clock=ticks)
    for n in range(100):
        limiter.record(f"client-{n}")
    assert len(limiter) == 100
    ticks.now += 61
    limiter.record("late")
    assert len(limiter) == 1
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0, timedelta(minutes=1))
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(1, timedelta(0))


# -- the store: reactivation and lists ------------------------------------------------


async def test_an_unsubscribed_journalist_who_confirms_is_active_again_and_keeps_their_lists(
    site: Site,
) -> None:
    site.newsroom.subscribers(
        "press", ["ulf@example.org,Ulf Berg,Nordic Wire,en,,,yes"], header=HEADER
    )
    await site.sync()
    await site.rt.journalists.set_status("ulf@example.org", "unsubscribed", "link", site.clock())
    site.newsroom.release("first", publish_at=utc(-60))
    await run_once(site.newsroom.settings())
    assert not list((site.newsroom.root / "var" / "outbox" / "first").glob("*.eml"))

    await site.subscribe("Ulf@Example.org", name="U. B.", outlet="Other", languages=["fr"])
    [mail] = site.mails()
    assert (await site.client.post(confirm_url(mail).removeprefix(BASE))).status_code == 200
    found = await site.person("ulf@example.org")
    assert found is not None
    ulf, status = found.subscriber, found.status
    assert status == "active"
    assert ulf.lists == ("press", "web")
    assert ulf.languages == ("fr",)
    # Name, outlet and embargo clearance stay as the press office's list gives them.
    assert (ulf.email, ulf.name, ulf.outlet, ulf.embargo) == (
        "ulf@example.org",
        "Ulf Berg",
        "Nordic Wire",
        True,
    )

    site.newsroom.release("second", publish_at=utc(-60))
    await run_once(site.newsroom.settings())
    [copy] = (site.newsroom.root / "var" / "outbox" / "second").glob("*.eml")
    assert parse(copy.read_bytes())["Content-Language"] == "fr"


async def test_a_bounced_address_that_confirms_is_active_again(site: Site) -> None:
    await site.rt.journalists.confirm_signup(Subscriber("bo@example.org", name="Bo"), site.clock())
    await site.rt.journalists.set_status("bo@example.org", "bounced", "550", site.clock())
    await site.subscribe("bo@example.org", name="Bo Li", outlet="Radio", regions=["world"])
    [mail] = site.mails()
    await site.client.post(confirm_url(mail).removeprefix(BASE))
    found = await site.person("bo@example.org")
    assert found is not None
    assert found.status == "active"
    # On no list of the press office's: the name and outlet are theirs.
    assert (found.subscriber.name, found.subscriber.outlet, found.subscriber.regions) == (
        "Bo Li",
        "Radio",
        set(),
    )


async def test_a_web_subscriber_whom_a_list_later_names_receives_one_copy(site: Site) -> None:
    await site.subscribe("web@example.org", languages=["fr"])
    [mail] = site.mails()
    await site.client.post(confirm_url(mail).removeprefix(BASE))
    site.newsroom.subscribers("press", ["WEB@example.org,Wen,,en,,,no"], header=HEADER)
    site.newsroom.release("first", publish_at=utc(-60))
    await run_once(site.newsroom.settings())
    copies = list((site.newsroom.root / "var" / "outbox" / "first").glob("*.eml"))
    assert [recipient(parse(path.read_bytes())) for path in copies] == ["web@example.org"]
    found = await site.person("web@example.org")
    assert found is not None
    assert found.status == "active"
    assert "press" in found.subscriber.lists


async def test_an_address_that_later_appears_in_a_list_keeps_web_in_its_lists(
    site: Site,
) -> None:
    await site.subscribe("web@example.org", languages=["fr"])
    [mail] = site.mails()
    await site.client.post(confirm_url(mail).removeprefix(BASE))
    site.newsroom.subscribers("press", ["web@example.org,Wen,,en,,,no"], header=HEADER)
    await site.sync()
    found = await site.person("web@example.org")
    assert found is not None
    assert found.subscriber.lists == ("press", "web")
    assert found.subscriber.name == "Wen"
    assert found.subscriber.languages == ("fr",)  # their own choice, as for saved preferences

    site.newsroom.subscribers("press", ["someone@example.org,,,en,,,no"], header=HEADER)
    await site.sync()
    found = await site.person("web@example.org")
    assert found is not None
    assert (found.subscriber.lists, found.status) == (("web",), "active")


async def test_a_web_subscriber_who_saves_preferences_stays_subscribed(site: Site) -> None:
    await site.subscribe("web@example.org", languages=["fr"])
    [mail] = site.mails()
    await site.client.post(confirm_url(mail).removeprefix(BASE))
    token = site.rt.renderer.signer.sign(PREFERENCES, "web@example.org")
    saved = await site.client.post(f"/preferences/{token}", data={"languages": "en"})
    assert saved.status_code == 200
    site.newsroom.subscribers("press", ["someone@example.org,,,en,,,no"], header=HEADER)
    await site.sync()
    found = await site.person("web@example.org")
    assert found is not None
    assert "web" in found.subscriber.lists


# -- export ---------------------------------------------------------------------------


def test_subscribers_export_writes_every_journalist_with_status_lists_and_source(
    newsroom: Newsroom, tmp_path: Path
) -> None:
    newsroom.subscribers(
        "press",
        [
            "ann@example.org,Ann Lee,Daily,fr en,europe BY,health,yes",
            "ulf@example.org,Ulf,,en,,,no",
            "bob@example.org,Bob,,,,,no",
        ],
        header=HEADER,
    )

    async def prepare() -> None:
        async with runtime(newsroom.settings()) as rt:
            report = pipeline.TickReport()
            await pipeline.sync_files(rt, utc(), report)
            now = utc()
            await rt.journalists.set_status("ulf@example.org", "unsubscribed", "link", now)
            await rt.journalists.set_status("bob@example.org", "bounced", "550", now)
            web = Subscriber("Zed@example.org", name="=HYPERLINK(1)", languages=("zh",))
            await rt.journalists.confirm_signup(web, now)
            ann = Subscriber(
                "ann@example.org",
                languages=("fr", "en"),
                regions=frozenset({"europe", "by"}),
                topics=frozenset({"water"}),
            )
            await rt.journalists.confirm_signup(ann, now)

    asyncio.run(prepare())
    config = str(newsroom.root / "config.toml")
    result = CliRunner().invoke(cli, ["--config", config, "subscribers", "export"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == list(EXPORT_COLUMNS)
    assert rows[1:] == [
        ["ann@example.org", "Ann Lee", "Daily", "fr en", "by europe", "water", "yes",
         "press web", "active", "web", "confirmed on the web", "0", "", "", ""],
        ["bob@example.org", "Bob", "", "", "", "", "no", "press", "bounced", "csv", "550", "0",
         "", "", ""],
        ["ulf@example.org", "Ulf", "", "en", "", "", "no", "press", "unsubscribed", "csv", "link",
         "0", "", "", ""],
        ["Zed@example.org", "'=HYPERLINK(1)", "", "zh", "", "", "no", "web", "active", "web",
         "confirmed on the web", "0", "", "", ""],
    ]  # fmt: skip

    out = tmp_path / "export" / "subscribers.csv"
    out.parent.mkdir()
    written = CliRunner().invoke(
        cli, ["--config", config, "subscribers", "export", "--out", str(out)]
    )
    assert written.exit_code == 0, written.output
    assert written.stdout == ""
    data = out.read_bytes()
    assert data == result.stdout_bytes
    assert data.startswith(b"email,name,outlet,")

    # Streamed in chunks: the same bytes, two rows at a time.
    stream = io.BytesIO()
    assert asyncio.run(write_csv(newsroom.settings(), stream, chunk=2)) == 4
    assert stream.getvalue() == data

    missing = CliRunner().invoke(
        cli, ["--config", config, "subscribers", "export", "--out", str(tmp_path / "no" / "x.csv")]
    )
    assert missing.exit_code == 1
    assert "cannot write" in missing.stderr
