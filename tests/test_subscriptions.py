"""Unsubscribing and preferences, as journalists and their mail providers use them.

Releases go out with ``run_once`` to the outbox (real files, real headers); the links
are taken from those messages and followed through the ASGI app over the same SQLite
store.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from html import escape
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from pressdispatch import pipeline
from pressdispatch.render.email import PREFERENCES, UNSUBSCRIBE
from pressdispatch.runtime import Runtime
from pressdispatch.web.app import create_app

from .dispatching import Newsroom, run_once, runtime, utc

BASE = "https://press.example.org"
HEADER = "email,name,outlet,languages,regions,topics,embargo"
PEOPLE = [
    "ana@example.org,Ana Lima,Diário Sul,fr en,,,no",
    "ben@example.org,Ben Ode,Lagos Ledger,en,,,no",
    "chen@example.org,Chen Wei,Eastern Horizon,zh en,,,no",
]
FORM = GMAIL = {"Content-Type": "application/x-www-form-urlencoded"}
ONE_CLICK = b"List-Unsubscribe=One-Click"


@dataclass
class Site:
    newsroom: Newsroom
    rt: Runtime
    client: httpx.AsyncClient

    def token(self, purpose: str, email: str) -> str:
        return self.rt.renderer.signer.sign(purpose, email.lower())

    async def status(self, email: str) -> str | None:
        found = await self.rt.journalists.find(email)
        return None if found is None else found.status

    async def sync(self) -> None:
        """Read the lists into the store, as every scan does."""
        report = pipeline.TickReport()
        await pipeline.sync_files(self.rt, utc(), report)
        assert not report.problems, report.problems

    async def submit(self, path: str, fields: list[tuple[str, str]]) -> httpx.Response:
        """POST a form as a browser does (fields in page order, urlencoded)."""
        return await self.client.post(path, content=urlencode(fields), headers=FORM)

    async def send(self, release_id: str, **options: Any) -> dict[str, EmailMessage]:
        """Publish a release now, dispatch it as `run --once` does; recipient → message."""
        self.newsroom.release(release_id, publish_at=utc(-60), **options)
        await run_once(self.newsroom.settings())
        return outbox(self.newsroom, release_id)


def outbox(newsroom: Newsroom, release_id: str) -> dict[str, EmailMessage]:
    messages = {}
    for path in (newsroom.root / "var" / "outbox" / release_id).glob("*.eml"):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        messages[message["To"].addresses[0].addr_spec] = message
    return messages


def one_click_url(message: EmailMessage) -> str:
    """The https URL of a message's List-Unsubscribe header (RFC 2369, RFC 8058)."""
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    urls = re.findall(r"<([^>]+)>", str(message["List-Unsubscribe"]))
    https = [url for url in urls if url.startswith("https://")]
    assert len(https) == 1, urls
    return https[0]


def text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def form_action(html: str) -> str:
    actions = re.findall(r'<form[^>]* method="post" action="([^"]+)"', html)
    assert len(actions) == 1, actions
    return actions[0]


def checked(html: str, name: str) -> list[str]:
    return re.findall(rf'name="{name}" value="([^"]+)" checked', html)


def chosen_languages(html: str) -> list[str]:
    """The ticked languages, by the position each shows (1 first)."""
    ticked = re.findall(r'name="languages" value="(\w+)"[^>]* checked>', html)
    positions = dict(re.findall(r'name="position-(\w+)" value="(\d*)"', html))
    assert all(positions[code] for code in ticked), positions
    return sorted(ticked, key=lambda code: int(positions[code]))


def assert_private(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in response.headers


@pytest.fixture
async def site(newsroom: Newsroom) -> AsyncIterator[Site]:
    newsroom.subscribers("press", PEOPLE, header=HEADER)
    settings = newsroom.settings()
    async with runtime(settings) as rt:
        app = create_app(rt)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
                yield Site(newsroom, rt, client)


# -- one-click, as mail providers do it ---------------------------------------------


def multipart(boundary: str) -> bytes:
    return (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
        f"One-Click\r\n--{boundary}--\r\n"
    ).encode()


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
async def test_one_click_from_the_header_unsubscribes_and_the_next_release_skips_them(
    site: Site, encoding: str
) -> None:
    first = await site.send("first")
    assert sorted(first) == ["ana@example.org", "ben@example.org", "chen@example.org"]
    url = one_click_url(first["ben@example.org"])
    assert url.startswith(f"{BASE}/unsubscribe/")

    if encoding == "urlencoded":  # Gmail
        headers, body = GMAIL, ONE_CLICK
    else:
        headers = {"Content-Type": "multipart/form-data; boundary=pd-test-boundary"}
        body = multipart("pd-test-boundary")
    site.client.cookies.clear()
    response = await site.client.post(url, content=body, headers=headers)
    assert response.status_code == 200
    assert_private(response)
    assert "You are unsubscribed" in response.text  # Ben reads English
    assert await site.status("ben@example.org") == "unsubscribed"

    again = await site.client.post(url, content=body, headers=headers)
    assert again.status_code == 200
    assert again.text == response.text

    second = await site.send("second")
    assert sorted(second) == ["ana@example.org", "chen@example.org"]


async def test_a_token_for_an_address_the_store_does_not_know_answers_the_same(
    site: Site,
) -> None:
    await site.send("first")
    known = await site.client.post(
        f"/unsubscribe/{site.token(UNSUBSCRIBE, 'ben@example.org')}",
        content=ONE_CLICK,
        headers=GMAIL,
    )
    unknown = await site.client.post(
        f"/unsubscribe/{site.token(UNSUBSCRIBE, 'ghost@example.org')}",
        content=ONE_CLICK,
        headers=GMAIL,
    )
    assert (known.status_code, unknown.status_code) == (200, 200)
    assert known.text.replace("ben@example.org", "X") == unknown.text.replace(
        "ghost@example.org", "X"
    )
    assert await site.status("ghost@example.org") is None


async def test_a_list_that_names_them_again_does_not_resubscribe_them(site: Site) -> None:
    first = await site.send("first")
    url = one_click_url(first["ana@example.org"])
    assert (await site.client.post(url, content=ONE_CLICK, headers=GMAIL)).status_code == 200

    # The press office edits the list: Ana's row changes, a new journalist arrives.
    site.newsroom.subscribers(
        "press",
        [
            PEOPLE[0].replace("Diário Sul", "Diário do Sul"),
            *PEOPLE[1:],
            "dia@example.org,Dia,,en,,,no",
        ],
        header=HEADER,
    )
    report = pipeline.TickReport()
    await pipeline.sync_files(site.rt, utc(), report)
    assert not report.problems
    assert report.subscribers_changed == 2
    assert await site.status("ana@example.org") == "unsubscribed"

    second = await site.send("second")
    assert sorted(second) == ["ben@example.org", "chen@example.org", "dia@example.org"]


# -- the unsubscribe page -----------------------------------------------------------


async def test_opening_the_link_only_asks_and_the_button_posts_to_the_same_address(
    site: Site,
) -> None:
    first = await site.send("first")
    url = one_click_url(first["ben@example.org"])
    path = url.removeprefix(BASE)

    page = await site.client.get(url, headers={"Accept-Language": "fr"})
    assert page.status_code == 200
    assert_private(page)
    assert form_action(page.text) == path
    assert '<button type="submit">Unsubscribe</button>' in page.text  # Ben reads English
    assert await site.status("ben@example.org") == "active"
    head = await site.client.head(url)
    assert head.status_code == 200
    assert await site.status("ben@example.org") == "active"

    # The browser submits the form: the same URL, its hidden field, as urlencoded.
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]+)">', page.text))
    pressed = await site.client.post(path, data=fields)
    assert pressed.status_code == 200
    assert "ben@example.org will receive no more press releases from Test Press Office." in (
        pressed.text
    )
    assert await site.status("ben@example.org") == "unsubscribed"


@pytest.mark.parametrize(
    ("row", "accept", "lang", "expected"),
    [
        ("fr en", "ru", "fr", "Ne plus envoyer à x@example.org"),  # first stored language
        ("kk ru", "es", "es", "¿Dejar de enviar a x@example.org"),  # kk: not offered
        ("", "ar, en;q=0.5", "ar", "هل تريدون إيقاف إرسال"),  # nothing stored
        ("", "", "en", "Stop sending press releases from Test Press Office to x@example.org?"),
    ],
)
async def test_the_page_speaks_the_journalists_language(
    site: Site, row: str, accept: str, lang: str, expected: str
) -> None:
    site.newsroom.subscribers("desk", [f"x@example.org,X,,{row},,,no"], header=HEADER)
    await site.sync()
    headers = {"Accept-Language": accept} if accept else {}
    page = await site.client.get(
        f"/unsubscribe/{site.token(UNSUBSCRIBE, 'x@example.org')}", headers=headers
    )
    assert page.status_code == 200
    assert page.headers["content-language"] == lang
    assert f'<html lang="{lang}"' in page.text
    assert expected in page.text


# -- invalid links ------------------------------------------------------------------


async def test_every_invalid_link_gives_the_same_400_page(site: Site) -> None:
    first = await site.send("first")
    unsubscribe = one_click_url(first["ana@example.org"]).removeprefix(f"{BASE}/unsubscribe/")
    preferences = site.token(PREFERENCES, "ana@example.org")
    assert f"{BASE}/preferences/{preferences}" in text_body(first["ana@example.org"])
    mac = unsubscribe[-1]
    tampered = unsubscribe[:-1] + ("A" if mac != "A" else "B")
    other_address = site.token(UNSUBSCRIBE, "ben@example.org").split(".")[0]

    requests = [
        ("GET", f"/unsubscribe/{tampered}"),
        ("POST", f"/unsubscribe/{tampered}"),
        ("GET", "/unsubscribe/not-a-token"),
        ("POST", "/unsubscribe/a.b.c.d"),
        ("GET", f"/unsubscribe/{preferences}"),  # a preferences token used to unsubscribe
        ("POST", f"/unsubscribe/{preferences}"),
        ("GET", f"/preferences/{unsubscribe}"),  # and the other way round
        ("POST", f"/preferences/{unsubscribe}"),
        ("POST", f"/unsubscribe/{other_address}.{unsubscribe.split('.', 1)[1]}"),
        ("GET", "/preferences/%C3%A9.0.x"),
    ]
    pages = set()
    for method, path in requests:
        response = await site.client.request(
            method, path, content=ONE_CLICK, headers=GMAIL | {"Accept-Language": "fr"}
        )
        assert response.status_code == 400, (method, path)
        assert_private(response)
        pages.add(response.text)
    assert len(pages) == 1
    assert "Ce lien n'est pas valide" in pages.pop()
    assert await site.status("ana@example.org") == "active"
    assert await site.status("ben@example.org") == "active"


# -- preferences --------------------------------------------------------------------


async def test_the_preferences_page_shows_the_current_choices_escaped(site: Site) -> None:
    site.newsroom.subscribers(
        "desk",
        ['eve@example.org,<b>x</b>,"Tom & Jerry <i>Times</i>",ru en,"europe BY",water,no'],
        header=HEADER,
    )
    message = (await site.send("first", topics=("water", "health")))["eve@example.org"]
    url = re.findall(rf"{BASE}/preferences/\S+", text_body(message))[0]

    page = await site.client.get(url, headers={"Accept-Language": "fr"})
    assert page.status_code == 200
    assert_private(page)
    html = page.text
    assert '<html lang="ru"' in html  # her first language, not the browser's
    assert "<b>x</b>" not in html
    assert escape("<b>x</b>") in html
    assert "<i>Times</i>" not in html
    assert escape("Tom & Jerry <i>Times</i>") in html
    assert chosen_languages(html) == ["ru", "en"]
    assert checked(html, "regions") == ["europe", "by"]
    assert "Беларусь" in html and "Европа" in html  # localised region names
    assert checked(html, "topics") == ["water"]
    assert 'name="topics" value="health">' in html  # a public release's topic, not chosen
    assert 'name="regions" value="western-africa">' in html
    assert 'name="regions" value="fr"> Франция' in html  # every country, by name
    posts = re.findall(r'<form[^>]* method="post" action="([^"]+)"', html)
    assert posts == [url.removeprefix(BASE)] * 2  # the header's search box is a GET form


async def test_saved_preferences_are_stored_and_used_for_the_next_release(site: Site) -> None:
    first = await site.send("first", languages=("en", "fr"))
    assert first["ben@example.org"]["Content-Language"] == "en"
    path = f"/preferences/{site.token(PREFERENCES, 'ben@example.org')}"

    form = [
        ("languages", "fr"),
        ("languages", "en"),
        ("languages", ""),
        ("regions", "western-africa"),
        ("regions", "FR"),
        ("topics", "health"),
        ("action", "save"),
    ]
    response = await site.submit(path, form)
    assert response.status_code == 200
    assert_private(response)
    assert "Vos préférences sont enregistrées." in response.text  # now in French
    assert chosen_languages(response.text) == ["fr", "en"]
    found = await site.rt.journalists.find("ben@example.org")
    assert found is not None
    ben, status = found.subscriber, found.status
    assert status == "active"
    assert ben.languages == ("fr", "en")
    assert ben.regions == {"western-africa", "fr"}
    assert ben.topics == {"health"}

    second = await site.send("second", languages=("en", "fr"), regions=("ng",), topics=("health",))
    assert second["ben@example.org"]["Content-Language"] == "fr"
    assert "Body of second in fr." in text_body(second["ben@example.org"])
    assert "ben@example.org" not in await site.send("third", regions=("ng",), topics=("water",))
    assert "ben@example.org" not in await site.send("fourth", regions=("jp",), topics=("health",))

    # Nothing ticked: everything again, in the release's original language.
    response = await site.client.post(path, data={"action": "save"})
    assert response.status_code == 200
    fifth = await site.send("fifth", languages=("fr", "en"), regions=("jp",), topics=("water",))
    assert fifth["ben@example.org"]["Content-Language"] == "fr"


async def test_preferences_sent_as_multipart_form_data_are_read_in_order(site: Site) -> None:
    await site.send("first")
    path = f"/preferences/{site.token(PREFERENCES, 'chen@example.org')}"
    parts = [("languages", "es"), ("languages", "zh"), ("regions", "eastern-asia")]
    body = "".join(
        f'--b0undary\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in parts
    )
    response = await site.client.post(
        path,
        content=(body + "--b0undary--\r\n").encode(),
        headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert response.status_code == 200
    assert "Sus preferencias se han guardado." in response.text
    found = await site.rt.journalists.find("chen@example.org")
    assert found is not None
    assert (found.subscriber.languages, found.subscriber.regions) == (
        ("es", "zh"),
        {"eastern-asia"},
    )


async def test_the_positions_set_the_order_in_one_step(site: Site) -> None:
    """As the form sends it: the boxes in page order, each language with its position."""
    await site.send("first")
    path = f"/preferences/{site.token(PREFERENCES, 'ben@example.org')}"
    form = [
        ("languages", "en"),
        ("position-en", "3"),
        ("languages", "ru"),
        ("position-ru", ""),  # ticked without a position: after those that have one
        ("position-fr", "1"),
        ("languages", "fr"),
        ("position-es", "2"),  # a position without its box ticked: not chosen
        ("languages", "zh"),
        ("position-zh", "2"),
        ("regions", "by"),  # a country, ticked in the picker
        ("regions", "western-africa"),
        ("action", "save"),
    ]
    response = await site.submit(path, form)
    assert response.status_code == 200, response.text
    assert chosen_languages(response.text) == ["fr", "zh", "en", "ru"]
    assert "<details open>" in response.text  # the groups with something ticked
    found = await site.rt.journalists.find("ben@example.org")
    assert found is not None
    assert found.subscriber.languages == ("fr", "zh", "en", "ru")
    assert found.subscriber.regions == {"by", "western-africa"}


@pytest.mark.parametrize("position", ["first", "0", "-1", "100", "1.5"])
async def test_a_position_that_is_not_a_number_saves_nothing(site: Site, position: str) -> None:
    await site.send("first")
    path = f"/preferences/{site.token(PREFERENCES, 'ben@example.org')}"
    form = [("languages", "fr"), ("position-fr", position), ("action", "save")]
    response = await site.submit(path, form)
    assert response.status_code == 400
    assert f"Position: a number from 1, not {position}" in response.text
    found = await site.rt.journalists.find("ben@example.org")
    assert found is not None
    assert found.subscriber.languages == ("en",)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("regions", "narnia", "Unknown region: narnia"),
        ("languages", "xx", "Unknown language: xx"),
        ("languages", "de", "Unknown language: de"),  # a language, but not the newsroom's
        ("topics", "<script>", "Unknown topic: &lt;script&gt;"),
    ],
)
async def test_an_invalid_choice_saves_nothing(
    site: Site, field: str, value: str, error: str
) -> None:
    await site.send("first")
    path = f"/preferences/{site.token(PREFERENCES, 'ben@example.org')}"
    form = [("languages", "fr"), ("regions", "europe"), ("topics", "health"), (field, value)]
    response = await site.submit(path, form)
    assert response.status_code == 400
    assert_private(response)
    assert error in response.text
    assert response.text.count("<script") == 1  # the form's own: never a value sent back
    assert "Your preferences are saved." not in response.text
    found = await site.rt.journalists.find("ben@example.org")
    assert found is not None
    assert (found.subscriber.languages, found.subscriber.regions, found.subscriber.topics) == (
        ("en",),
        set(),
        set(),
    )


async def test_unsubscribing_from_the_preferences_page(site: Site) -> None:
    await site.send("first")
    path = f"/preferences/{site.token(PREFERENCES, 'ana@example.org')}"
    page = (await site.client.get(path)).text
    assert '<input type="hidden" name="action" value="unsubscribe">' in page

    response = await site.client.post(path, data={"action": "unsubscribe"})
    assert response.status_code == 200
    assert "Votre désabonnement est enregistré" in response.text  # Ana reads French
    assert await site.status("ana@example.org") == "unsubscribed"

    # Afterwards the page says so and offers no form; saving changes nothing.
    again = await site.client.get(path)
    assert again.status_code == 200
    assert "Votre désabonnement est enregistré" in again.text
    assert 'method="post"' not in again.text  # the header's search box alone
    saved = await site.client.post(path, data={"languages": "en"})
    assert saved.status_code == 200
    assert 'method="post"' not in saved.text
    found = await site.rt.journalists.find("ana@example.org")
    assert found is not None
    assert found.status == "unsubscribed"
    assert found.subscriber.languages == ("fr", "en")
    assert "ana@example.org" not in await site.send("second")


# -- what the lists may and may not change ------------------------------------------


async def test_a_self_chosen_preference_outlives_an_edit_of_the_list_row(site: Site) -> None:
    await site.send("first")
    path = f"/preferences/{site.token(PREFERENCES, 'ben@example.org')}"
    assert (await site.client.post(path, data={"languages": "fr"})).status_code == 200
    site.newsroom.subscribers(
        "press",
        [PEOPLE[0], "ben@example.org,Ben Ode,Lagos Ledger,en,,,yes", PEOPLE[2]],
        header=HEADER,
    )
    second = await site.send("second")
    assert second["ben@example.org"]["Content-Language"] == "fr"


async def test_list_membership_still_comes_from_the_lists(site: Site) -> None:
    await site.send("first")
    path = f"/preferences/{site.token(PREFERENCES, 'ben@example.org')}"
    assert (await site.client.post(path, data={"languages": "fr"})).status_code == 200
    site.newsroom.subscribers("press", [PEOPLE[0], PEOPLE[2]], header=HEADER)  # Ben removed
    assert "ben@example.org" not in await site.send("second")
