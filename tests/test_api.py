"""The JSON API at /api/v1: the newsroom app over a real SQLite store (the store itself is
tested on PostgreSQL too, in the store, engine and pipeline tests).

Releases created through the API are real folders under ``releases/``: the loader
`pressdispatch check` uses must accept them, and ``run_once`` (what `pressdispatch
run --once` does) must send them to the outbox.
"""

from __future__ import annotations

import asyncio
import json
import re
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pressdispatch import pipeline
from pressdispatch.cli.status import _as_json
from pressdispatch.content import writer
from pressdispatch.content.releases import load_releases
from pressdispatch.regions import load_regions
from pressdispatch.runtime import Runtime
from pressdispatch.status import report
from pressdispatch.web.app import create_app

from .dispatching import Clock, Newsroom, dedent, run_once, runtime, utc

TOKEN = "s3cret-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PEOPLE = [
    "ana@example.org,Ana Lima,fr en,,,no",
    "ben@example.org,Ben Ode,en,,,yes",
]
PROBLEM_JSON = "application/problem+json"


@dataclass
class Api:
    newsroom: Newsroom
    clock: Clock
    rt: Runtime
    client: httpx.AsyncClient

    @property
    def releases(self) -> Path:
        return self.newsroom.root / "releases"

    async def sync(self) -> None:
        report = pipeline.TickReport()
        await pipeline.sync_files(self.rt, self.clock(), report)
        assert not report.problems, report.problems

    async def create(self, release_id: str = "clean-water", **fields: Any) -> httpx.Response:
        return await self.client.post("/api/v1/releases", json=release_json(release_id, **fields))


@pytest.fixture
async def api(newsroom: Newsroom, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    monkeypatch.setenv("PRESSDISPATCH_API_TOKEN", TOKEN)
    newsroom.subscribers("press", PEOPLE)
    settings = newsroom.settings()
    clock = Clock(utc())
    async with runtime(settings) as rt:
        app = create_app(rt, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://test", headers=AUTH
            ) as client:
                yield Api(newsroom, clock, rt, client)


def release_json(release_id: str = "clean-water", **changes: Any) -> dict[str, Any]:
    """A valid release, due a minute ago, with ``changes`` (a datetime is sent as ISO 8601)."""
    body: dict[str, Any] = {
        "id": release_id,
        "publish_at": utc(-60).isoformat(),
        "original_language": "en",
        "regions": ["BY", "eastern-europe"],
        "topics": ["water"],
        "contacts": [
            {"name": "Iryna Zhuk", "role": "Press Officer", "email": "i.zhuk@example.org"}
        ],
        "translations": {
            "en": {
                "title": 'Clean water for "every" school',
                "summary": "Wells in 40 schools.",
                "dateline": "Minsk",
                "body_markdown": "Forty schools now have wells.\n\n## Where\n\n- Minsk\n",
            },
            "fr": {
                "title": "De l'eau propre pour chaque école",
                "body_markdown": "Quarante écoles ont désormais un puits.\n",
            },
        },
    }
    body.update(
        {key: v.isoformat() if isinstance(v, datetime) else v for key, v in changes.items()}
    )
    return body


def outbox(newsroom: Newsroom, release_id: str) -> dict[str, str]:
    """Recipient → subject of each message the outbox transport wrote for the release."""
    folder = newsroom.root / "var" / "outbox" / release_id
    messages = [
        message_from_bytes(p.read_bytes(), policy=policy.default) for p in folder.glob("*.eml")
    ]
    return {m["To"].addresses[0].addr_spec: str(m["Subject"]) for m in messages}


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["type"] == "about:blank"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def fields(body: dict[str, Any]) -> dict[str, str]:
    return {item["field"]: item["message"] for item in body["errors"]}


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith("."))


# -- the token -------------------------------------------------------------------------

ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/api/v1/releases", None),
    ("GET", "/api/v1/releases/clean-water", None),
    ("GET", "/api/v1/releases/clean-water/status", None),
    ("POST", "/api/v1/releases", release_json()),
    ("POST", "/api/v1/releases/clean-water/schedule", {"publish_at": "2030-01-01T10:00:00Z"}),
    ("POST", "/api/v1/releases/clean-water/cancel", None),
    ("PUT", "/api/v1/subscribers/ana@example.org", {"name": "Ana"}),
    ("PATCH", "/api/v1/subscribers/ana@example.org", {"name": "Ana"}),
    ("GET", "/api/v1/subscribers/ana@example.org", None),
    ("POST", "/api/v1/subscribers/ana@example.org/unsubscribe", None),
    ("PUT", "/api/v1/lists/press?replace=true", "email\nmallory@example.org\n"),
    ("GET", "/api/v1/imports/1", None),
    ("GET", "/api/v1/no-such-route", None),  # not even a 404 without the token
    ("POST", "/api/v1/releases", "{not json"),  # nor a 400
]


async def test_every_route_needs_the_token(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    await api.create()  # so that a route that wrongly let a request through would show it
    await api.sync()  # and the journalists of the lists
    before = sorted(p.name for p in api.releases.iterdir())
    headers_cases: list[tuple[dict[str, str | bytes], str | None]] = [
        ({"Authorization": ""}, None),
        ({"Authorization": f"Basic {TOKEN}"}, None),
        ({"Authorization": "Bearer wrong-token"}, "invalid_token"),
        ({"Authorization": f"Bearer {TOKEN}x"}, "invalid_token"),
        ({"Authorization": "Bearer jeton-sécurisé".encode()}, "invalid_token"),  # not ASCII
    ]
    for method, path, body in ROUTES:
        for headers, error in headers_cases:
            options: dict[str, Any] = {"headers": headers}
            if isinstance(body, str):
                options["content"] = body
            elif body is not None:
                options["json"] = body
            response = await api.client.request(method, path, **options)
            answer = problem(response, 401)
            challenge = response.headers["www-authenticate"]
            assert challenge.startswith('Bearer realm="pressdispatch"'), (method, path)
            assert (f'error="{error}"' in challenge) if error else ("error=" not in challenge)
            assert "errors" not in answer

    monkeypatch.delenv("PRESSDISPATCH_API_TOKEN")  # no token configured: everything is refused
    for method, path, body in ROUTES:
        response = await api.client.request(method, path, json=body)
        assert "no API token is configured" in problem(response, 401)["detail"]
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert sorted(p.name for p in api.releases.iterdir()) == before
    assert (await api.rt.catalog.rows("clean-water"))[0].cancelled_at is None
    assert not (api.releases.parent / "subscribers" / ".imports").exists()  # nothing uploaded
    ana = await api.rt.journalists.find("ana@example.org")  # synced by create()
    assert ana is not None and (ana.subscriber.name, ana.source) == ("Ana Lima", "csv")


async def test_a_token_from_another_variable(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """``web.api_token_env`` names the variable; it is read on every request."""
    api.newsroom.write_config(web={"api_token_env": "NEWSROOM_API_KEY"})
    monkeypatch.setenv("NEWSROOM_API_KEY", "other")
    async with runtime(api.newsroom.settings()) as rt:
        app = create_app(rt, clock=api.clock)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://t"
            ) as client,
        ):
            assert (await client.get("/api/v1/releases", headers=AUTH)).status_code == 401
            ok = await client.get("/api/v1/releases", headers={"Authorization": "bearer  other "})
            assert ok.status_code == 200
            monkeypatch.setenv("NEWSROOM_API_KEY", "rotated")
            again = await client.get("/api/v1/releases", headers={"Authorization": "Bearer other"})
            assert again.status_code == 401


async def test_openapi_is_public_and_describes_the_api(api: Api) -> None:
    response = await api.client.get("/api/v1/openapi.json", headers={"Authorization": ""})
    assert response.status_code == 200
    schema = json.loads(response.text)
    assert schema["openapi"].startswith("3.")
    assert schema["servers"] == [{"url": "/api/v1"}]
    assert set(schema["paths"]) == {
        "/releases",
        "/releases/{release_id}",
        "/releases/{release_id}/status",
        "/releases/{release_id}/plan",
        "/releases/{release_id}/schedule",
        "/releases/{release_id}/media",
        "/releases/{release_id}/cancel",
        "/releases/{release_id}/withdraw",
        "/subscribers/{email}",
        "/subscribers/{email}/unsubscribe",
        "/lists/{name}",
        "/imports/{import_id}",
    }
    assert set(schema["paths"]["/releases"]) == {"get", "post"}
    assert set(schema["paths"]["/subscribers/{email}"]) == {"get", "put", "patch"}
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert schema["security"] == [{"bearer": []}]
    refused = schema["paths"]["/releases"]["post"]["responses"]["422"]["content"]
    assert refused == {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}
    # Every reference resolves; FastAPI's own validation error shape is not advertised.
    components = schema["components"]["schemas"]
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(schema)))
    assert "ReleaseIn" in refs and refs <= set(components)
    assert "HTTPValidationError" not in components
    assert "422" not in schema["paths"]["/releases/{release_id}"]["get"]["responses"]
    # The newsroom's pages are not part of it, and there is no docs UI.
    assert (await api.client.get("/api/v1/docs")).status_code == 404
    assert (await api.client.get("/docs")).status_code == 404


async def test_unknown_addresses_and_methods_are_problems(api: Api) -> None:
    problem(await api.client.get("/api/v1/nothing-here"), 404)
    problem(await api.client.get("/api/v1/"), 404)
    response = await api.client.delete("/api/v1/releases")
    problem(response, 405)
    assert "GET" in response.headers["allow"]
    # The newsroom's own 404 page is untouched.
    page = await api.client.get("/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")


# -- creating a release ----------------------------------------------------------------


async def test_a_release_created_by_json_is_checked_listed_and_sent(api: Api) -> None:
    saved = await api.client.put(
        "/api/v1/subscribers/Dana@Example.org", json={"name": "Dana", "languages": ["fr"]}
    )
    assert saved.status_code == 201

    response = await api.create()
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/api/v1/releases/clean-water"
    created = response.json()
    assert created["id"] == "clean-water"
    assert created["state"] == "due"
    assert created["languages"] == ["en", "fr"]
    assert created["regions"] == ["by", "eastern-europe"]
    assert created["warnings"] == []

    # Real files, in the documented format, that the loader of `check` accepts.
    folder = api.releases / "clean-water"
    assert sorted(p.name for p in folder.iterdir()) == ["en.md", "fr.md", "release.toml"]
    meta = tomllib.loads((folder / "release.toml").read_text(encoding="utf-8"))
    assert isinstance(meta["publish_at"], datetime)  # a TOML date-time, not a string
    assert meta["contacts"] == [
        {"name": "Iryna Zhuk", "role": "Press Officer", "email": "i.zhuk@example.org"}
    ]
    english = (folder / "en.md").read_text(encoding="utf-8")
    assert english.startswith('+++\ntitle = "Clean water for \\"every\\" school"\n')
    assert english.endswith("+++\nForty schools now have wells.\n\n## Where\n\n- Minsk\n")
    settings = api.newsroom.settings()
    releases, problems = load_releases(
        settings.paths.releases,
        regions=load_regions(),
        languages=settings.newsroom.languages,
        default_language=settings.newsroom.default_language,
    )
    assert problems == []
    assert [r.id for r in releases] == ["clean-water"]
    assert releases[0].translations["en"].title == 'Clean water for "every" school'
    assert leftovers(api.releases) == []

    listed = (await api.client.get("/api/v1/releases")).json()["releases"]
    assert [(r["id"], r["state"], r["topics"]) for r in listed] == [
        ("clean-water", "due", ["water"])
    ]
    assert listed[0]["publish_at"].endswith("+00:00")
    detail = (await api.client.get("/api/v1/releases/clean-water")).json()
    assert [t["language"] for t in detail["translations"]] == ["en", "fr"]
    assert detail["translations"][0] == {
        "language": "en",
        "title": 'Clean water for "every" school',
        "summary": "Wells in 40 schools.",
        "dateline": "Minsk",
        "body_markdown": "Forty schools now have wells.\n\n## Where\n\n- Minsk\n",
    }
    assert detail["contacts"][0]["name"] == "Iryna Zhuk"

    _, stats = await run_once(settings)
    assert stats.outcomes["sent"] == 3
    assert outbox(api.newsroom, "clean-water") == {
        "ana@example.org": "De l'eau propre pour chaque école",
        "ben@example.org": 'Clean water for "every" school',
        "Dana@example.org": "De l'eau propre pour chaque école",
    }
    assert (await api.client.get("/api/v1/releases/clean-water")).json()["state"] == "done"


async def test_status_counts_after_a_run(api: Api) -> None:
    assert (await api.create()).status_code == 201
    waiting = (await api.client.get("/api/v1/releases/clean-water/status")).json()
    assert (waiting["state"], waiting["total"], waiting["by_status"]) == ("due", 0, {})

    await run_once(api.newsroom.settings())
    response = await api.client.get("/api/v1/releases/clean-water/status")
    assert response.status_code == 200
    status = response.json()
    assert status["state"] == "done"
    assert status["total"] == 2
    assert status["by_status"] == {"sent": 2}
    assert status["by_variant"] == [
        {"language": "en", "tier": "public", "status": "sent", "count": 1},
        {"language": "fr", "tier": "public", "status": "sent", "count": 1},
    ]
    assert status["errors"] == []
    # The very document `pressdispatch status --json` writes for this release.
    rt = api.rt
    row = (await rt.catalog.rows("clean-water"))[0]
    counts = await rt.ledger.counts("clean-water")
    settings = api.newsroom.settings()
    found = report(row, counts, [], api.clock(), settings.scheduler.max_lateness)
    assert status == _as_json(found, settings)

    problem(await api.client.get("/api/v1/releases/nothing/status"), 404)
    problem(await api.client.get("/api/v1/releases/nothing"), 404)


async def test_an_invalid_release_is_refused_field_by_field(api: Api) -> None:
    body = release_json(regions=["atlantis"])
    body["translations"]["xx"] = {"title": "?", "body_markdown": "Text.\n"}
    del body["translations"]["fr"]["title"]
    response = await api.client.post("/api/v1/releases", json=body)
    answer = problem(response, 422)
    assert fields(answer) == {
        "regions": (
            "unknown region 'atlantis' (use an ISO 3166-1 alpha-2 code "
            "or an M49 region such as 'eastern-europe')"
        ),
        "translations.fr.title": "required",
        "translations.xx": "unknown language 'xx' (use an ISO 639-1 code such as 'fr'); "
        "name the file <lang>.md",
    }
    by_field = {item["field"]: item for item in answer["errors"]}
    assert by_field["regions"]["file"] == "release.toml"
    assert by_field["translations.fr.title"] == {
        "file": "fr.md",
        "line": 1,
        "field": "translations.fr.title",
        "message": "required",
    }
    assert "2" not in answer["detail"] and "3 problems" in answer["detail"]
    assert sorted(p.name for p in api.releases.iterdir()) == []  # nothing written, no staging
    assert await api.rt.catalog.rows() == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"id": "Bad_Id"}, {"id": "'Bad_Id' must be lowercase letters, digits and hyphens"}),
        ({"id": "../escape"}, {"id": "'../escape' must be lowercase letters, digits and hyphens"}),
        ({"id": "x" * 201}, {"id": "longer than 200 characters"}),
        ({"publish_at": "tomorrow"}, {"publish_at": "expected a date and time"}),
        ({"publish_at": "2030-01-01T10:00:00"}, {"publish_at": "needs a UTC offset"}),
        ({"publish_at": None}, {"publish_at": "required"}),
        (
            {"embargo_send_at": "2030-01-02T10:00:00+01:00", "publish_at": "2030-01-01T10:00Z"},
            {"embargo_send_at": "must be earlier than publish_at"},
        ),
        ({"status": "sent"}, {"status": "Input should be 'ready', 'draft' or 'cancelled'"}),
        ({"topics": ["Water Supply"]}, {"topics": "must be a slug"}),
        ({"regions": []}, {"regions": 'empty: use ["world"] for everyone'}),
        ({"original_language": "de"}, {"original_language": "no de.md in this release"}),
        ({"contacts": [{"role": "Spokesperson"}]}, {"contacts.0.name": "required"}),
        ({"translations": {}}, {"translations": "no language version"}),
        (
            {"translations": {"../en": {"title": "T"}}},
            {"translations.../en": "unknown language", "translations": "no language version"},
        ),
        (
            {"translations": {"en": {"title": "Two\nlines", "body_markdown": "B"}}},
            {"translations.en.title": "line breaks are not allowed in the title"},
        ),
        ({"translations": {"en": {"title": "T"}}}, {"translations.en.body_markdown": "empty"}),
        (
            {"translations": {"de": {"title": "T", "body_markdown": "B"}}},
            {"translations.de": "not offered"},
        ),
        ({"region": ["BY"]}, {"region": "unknown key"}),  # the JSON itself: FastAPI's check
        ({"regions": "BY"}, {"regions": "valid list"}),
    ],
)
async def test_each_rule_of_the_loader(
    api: Api, changes: dict[str, Any], expected: dict[str, str]
) -> None:
    if "translations" in changes or "original_language" in changes:
        changes.setdefault("original_language", None)
    response = await api.create(**changes)
    found = fields(problem(response, 422))
    assert set(found) == set(expected), found
    for field, message in expected.items():
        assert message in found[field]
    assert list(api.releases.iterdir()) == []
    assert not (api.newsroom.root / "escape").exists()


async def test_a_body_that_is_not_json_is_400(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/releases", content="{nope", headers={"Content-Type": "application/json"}
    )
    assert problem(response, 400)["detail"] == (
        "the body is not valid JSON: "
        "Expecting property name enclosed in double quotes (line 1, column 2)"
    )


async def test_html_removed_by_the_sanitiser_is_a_warning(api: Api) -> None:
    body = release_json()
    body["translations"]["en"]["body_markdown"] = "Text.\n\n<script>alert(1)</script>\n"
    response = await api.client.post("/api/v1/releases", json=body)
    assert response.status_code == 201
    assert response.json()["warnings"] == [
        {
            "file": "en.md",
            "line": 8,
            "field": "translations.en.body_markdown",
            "message": "<script> removed",
        }
    ]


async def test_a_refused_release_lists_its_errors_not_its_warnings(api: Api) -> None:
    body = release_json()
    body["translations"]["en"]["body_markdown"] = "Text.\n\n<script>alert(1)</script>\n"
    del body["translations"]["fr"]["title"]
    answer = problem(await api.client.post("/api/v1/releases", json=body), 422)
    assert fields(answer) == {"translations.fr.title": "required"}
    assert answer["detail"] == "the release was not created: 1 problem"
    assert list(api.releases.iterdir()) == []


async def test_an_existing_id_is_409(api: Api) -> None:
    assert (await api.create()).status_code == 201
    again = await api.create(regions=["world"])
    assert "already exists" in problem(again, 409)["detail"]

    api.newsroom.release("by-hand", publish_at=utc(3600))  # a folder the store has not seen
    problem(await api.create("by-hand"), 409)
    (api.releases / "by-hand" / "en.md").unlink()
    (api.releases / "by-hand" / "fr.md").unlink()
    (api.releases / "by-hand" / "release.toml").unlink()
    (api.releases / "by-hand").rmdir()

    # Known to the store although its folder is gone (it may have been sent): still taken.
    (api.releases / "clean-water" / "en.md").unlink()
    (api.releases / "clean-water" / "fr.md").unlink()
    (api.releases / "clean-water" / "release.toml").unlink()
    (api.releases / "clean-water").rmdir()
    problem(await api.create(), 409)
    assert leftovers(api.releases) == []


async def test_a_draft_is_created_and_not_sent(api: Api) -> None:
    response = await api.create("quiet", status="draft")
    assert response.json()["state"] == "draft"
    await run_once(api.newsroom.settings())
    assert outbox(api.newsroom, "quiet") == {}


# -- rescheduling ----------------------------------------------------------------------

HAND_WRITTEN = """\
# Written by hand; the API must keep every other line.
publish_at = {publish}   # 10:00 in Paris
status = "ready"
original_language = "en"
regions = ["world"]  # everyone
topics = ["water"]

[[contacts]]
name = "Martin Keller"
email = "m.keller@example.org"
"""


def hand_written(api: Api, publish: datetime) -> Path:
    folder = api.newsroom.release("by-hand", publish_at=publish)
    path = folder / "release.toml"
    path.write_text(HAND_WRITTEN.format(publish=publish.isoformat()), encoding="utf-8")
    return path


async def test_schedule_rewrites_only_the_times(api: Api) -> None:
    path = hand_written(api, utc(3600).replace(microsecond=0))
    await api.sync()
    before = path.read_text(encoding="utf-8").splitlines()

    response = await api.client.post(
        "/api/v1/releases/by-hand/schedule",
        json={"publish_at": "2030-06-01T10:00:00+02:00", "embargo_send_at": "2030-05-31T09:00Z"},
    )
    assert response.status_code == 200, response.text
    moved = response.json()
    assert moved["publish_at"] == "2030-06-01T08:00:00+00:00"
    assert moved["embargo_send_at"] == "2030-05-31T09:00:00+00:00"
    assert moved["state"] == "scheduled"
    after = path.read_text(encoding="utf-8").splitlines()
    assert after[1] == "publish_at = 2030-06-01T10:00:00+02:00   # 10:00 in Paris"
    assert after[2] == "embargo_send_at = 2030-05-31T09:00:00+00:00"
    assert after[:1] + after[3:] == before[:1] + before[2:]
    row = (await api.rt.catalog.rows("by-hand"))[0]  # synced at once
    assert row.publish_at == datetime(2030, 6, 1, 8, tzinfo=UTC)

    # Left out, the embargo stays; null removes it.
    kept = await api.client.post(
        "/api/v1/releases/by-hand/schedule", json={"publish_at": "2030-06-02T10:00:00+02:00"}
    )
    assert kept.json()["embargo_send_at"] == "2030-05-31T09:00:00+00:00"
    removed = await api.client.post(
        "/api/v1/releases/by-hand/schedule",
        json={"publish_at": "2030-06-02T10:00:00+02:00", "embargo_send_at": None},
    )
    assert removed.json()["embargo_send_at"] is None
    final = path.read_text(encoding="utf-8").splitlines()
    assert final[:1] + final[2:] == before[:1] + before[2:]


async def test_schedule_is_checked_as_the_loader_checks(api: Api) -> None:
    path = hand_written(api, utc(3600))
    await api.sync()
    text = path.read_text(encoding="utf-8")
    url = "/api/v1/releases/by-hand/schedule"
    late_embargo = {
        "publish_at": "2030-06-01T10:00:00+02:00",
        "embargo_send_at": "2030-06-02T10:00:00+02:00",
    }
    answer = problem(await api.client.post(url, json=late_embargo), 422)
    assert fields(answer)["embargo_send_at"].startswith("must be earlier than publish_at")
    answer = problem(await api.client.post(url, json={"publish_at": "2030-06-01T10:00"}), 422)
    assert fields(answer)["publish_at"].startswith("needs a UTC offset")
    answer = problem(await api.client.post(url, json={"publish_at": "soon"}), 422)
    assert fields(answer)["publish_at"].startswith("expected a date and time")
    answer = problem(await api.client.post(url, json={}), 422)
    assert fields(answer) == {"publish_at": "required"}
    assert path.read_text(encoding="utf-8") == text
    assert leftovers(path.parent) == [] and leftovers(api.releases) == []

    future = {"publish_at": "2030-01-01T10:00:00Z"}
    problem(await api.client.post("/api/v1/releases/nothing/schedule", json=future), 404)
    problem(await api.client.post("/api/v1/releases/..%2F../schedule", json=future), 404)


async def test_schedule_after_the_dispatch_started_is_409_and_cancel_stops_the_rest(
    api: Api,
) -> None:
    created = await api.create(
        "under-embargo", publish_at=utc(3600), embargo_send_at=utc(-60).isoformat()
    )
    assert created.status_code == 201
    await run_once(api.newsroom.settings())  # Ben, cleared, gets the embargoed copy
    assert len(outbox(api.newsroom, "under-embargo")) == 1
    path = api.releases / "under-embargo" / "release.toml"
    text = path.read_text(encoding="utf-8")
    assert (await api.client.get("/api/v1/releases/under-embargo")).json()["state"] == "embargoed"

    response = await api.client.post(
        "/api/v1/releases/under-embargo/schedule", json={"publish_at": utc(7200).isoformat()}
    )
    assert "frozen" in problem(response, 409)["detail"]
    assert path.read_text(encoding="utf-8") == text

    cancelled = await api.client.post("/api/v1/releases/under-embargo/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json() == {"id": "under-embargo", "state": "cancelled", "stopped": 0}
    await run_once(api.newsroom.settings(), now=utc(3700))  # past publication: nothing more
    assert len(outbox(api.newsroom, "under-embargo")) == 1
    problem(await api.client.post("/api/v1/releases/nothing/cancel"), 404)


async def test_cancel_stops_the_queued_deliveries(api: Api) -> None:
    assert (await api.create()).status_code == 201
    await pipeline.tick(api.rt, api.clock())  # queued, not sent yet
    response = await api.client.post("/api/v1/releases/clean-water/cancel")
    assert response.json() == {"id": "clean-water", "state": "cancelled", "stopped": 2}
    status = (await api.client.get("/api/v1/releases/clean-water/status")).json()
    assert status["by_status"] == {"cancelled": 2}
    await run_once(api.newsroom.settings())
    assert outbox(api.newsroom, "clean-water") == {}


async def test_cancel_a_release_written_by_hand_before_any_scan(api: Api) -> None:
    api.newsroom.release("fresh", publish_at=utc(3600))
    response = await api.client.post("/api/v1/releases/fresh/cancel")
    assert response.json() == {"id": "fresh", "state": "cancelled", "stopped": 0}


# -- subscribers -----------------------------------------------------------------------


async def test_subscriber_upsert_get_and_unsubscribe(api: Api) -> None:
    url = "/api/v1/subscribers/Carla@Example.ORG"
    body = {
        "name": "  Carla   Ruiz ",
        "outlet": "Diario Sur",
        "languages": ["ES", "en"],
        "regions": ["Eastern Europe", "BY", "419"],
        "topics": ["Health", "water"],
        "embargo": True,
    }
    response = await api.client.put(url, json=body)
    assert response.status_code == 201, response.text
    assert response.json() == {
        "email": "Carla@example.org",
        "name": "Carla Ruiz",
        "outlet": "Diario Sur",
        "languages": ["es", "en"],
        "regions": ["by", "eastern-europe", "latin-america-and-the-caribbean"],
        "topics": ["health", "water"],
        "embargo": True,
        "lists": ["api"],
        "status": "active",
        "status_reason": "",
        "source": "api",
        "notice": None,
        "consent_at": None,
        "consent_version": "",
        "created": True,
    }

    updated = await api.client.put(url.lower(), json={"name": "Carla Ruiz", "languages": ["es"]})
    assert updated.status_code == 200
    assert updated.json()["created"] is False
    assert updated.json()["regions"] == ["by", "eastern-europe", "latin-america-and-the-caribbean"]
    got = (await api.client.get("/api/v1/subscribers/carla@example.org")).json()
    assert (got["name"], got["languages"], got["source"]) == ("Carla Ruiz", ["es"], "api")

    gone = await api.client.post(f"{url}/unsubscribe")
    assert gone.status_code == 200
    assert (gone.json()["status"], gone.json()["status_reason"]) == (
        "unsubscribed",
        "unsubscribed through the API",
    )
    again = await api.client.put(url, json={"name": "Carla R.", "embargo": False})
    assert again.status_code == 200
    saved = again.json()
    assert (saved["status"], saved["name"], saved["created"]) == ("unsubscribed", "Carla R.", False)
    assert "stays unsubscribed" in saved["notice"]
    person = await api.rt.journalists.find("carla@example.org")
    assert person is not None and person.status == "unsubscribed"
    # A second unsubscribe changes nothing.
    twice = await api.client.post(f"{url}/unsubscribe")
    assert twice.json()["status_reason"] == "unsubscribed through the API"

    problem(await api.client.get("/api/v1/subscribers/nobody@example.org"), 404)
    problem(await api.client.post("/api/v1/subscribers/nobody@example.org/unsubscribe"), 404)


async def test_an_unsubscribed_journalist_from_a_list_stays_out(api: Api) -> None:
    await api.sync()  # ana and ben from subscribers/press.csv
    await api.rt.journalists.set_status(
        "ana@example.org", "unsubscribed", "unsubscribe link", utc()
    )
    response = await api.client.put("/api/v1/subscribers/ana@example.org", json={"name": "Ana"})
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["status_reason"], body["source"]) == (
        "unsubscribed",
        "unsubscribe link",
        "api",
    )
    assert body["notice"]
    bounced = await api.client.post("/api/v1/subscribers/ana@example.org/unsubscribe")
    assert bounced.json()["status_reason"] == "unsubscribe link"  # kept as it was

    await api.create()
    await run_once(api.newsroom.settings())
    assert list(outbox(api.newsroom, "clean-water")) == ["ben@example.org"]


LISTED = ["mateo@example.org,Mateo R,Radio Sur,es en,PE,water,yes"]
LISTED_HEADER = "email,name,outlet,languages,regions,topics,embargo"


async def listed(api: Api) -> None:
    """Mateo, on the list regional-desks, in the store as a scan leaves him."""
    api.newsroom.subscribers("regional-desks", LISTED, header=LISTED_HEADER)
    await api.sync()


async def rescan(api: Api) -> None:
    """A scan that merges the lists again: another row is added to one of them."""
    extra = "zoe@example.org,Zoe,,en,,,no"
    api.newsroom.subscribers("regional-desks", [*LISTED, extra], header=LISTED_HEADER)
    before = await api.rt.journalists.fingerprint()
    await api.sync()
    assert await api.rt.journalists.fingerprint() != before  # the lists were merged again


KEPT = {  # Mateo as regional-desks.csv describes him, but for his name
    "outlet": "Radio Sur",
    "languages": ["es", "en"],
    "regions": ["pe"],
    "topics": ["water"],
    "embargo": True,
}


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_an_api_write_changes_only_the_fields_it_gives(api: Api, method: str) -> None:
    await listed(api)
    url = "/api/v1/subscribers/mateo@example.org"
    response = await api.client.request(method, url, json={"name": "Mateo Rojas"})
    assert response.status_code == 200, response.text
    saved = response.json()
    assert saved["name"] == "Mateo Rojas"
    assert {key: saved[key] for key in KEPT} == KEPT
    assert saved["lists"] == ["regional-desks", "api"]  # the API adds its own, removes none

    await rescan(api)
    got = (await api.client.get(url)).json()
    assert got["name"] == "Mateo Rojas"  # his row did not change: the API said it last
    assert {key: got[key] for key in KEPT} == KEPT
    assert got["lists"] == ["regional-desks", "api"]

    await api.create(regions=["PE"])  # and he still gets what regional-desks gets
    await run_once(api.newsroom.settings())
    assert "mateo@example.org" in outbox(api.newsroom, "clean-water")


async def test_a_list_row_changed_later_wins_over_the_api(api: Api) -> None:
    await listed(api)
    url = "/api/v1/subscribers/mateo@example.org"
    await api.client.patch(url, json={"outlet": "Canal Norte"})
    edited = LISTED[0].replace("Radio Sur", "Radio Sur Internacional")
    api.newsroom.subscribers("regional-desks", [edited], header=LISTED_HEADER)
    await api.sync()
    got = (await api.client.get(url)).json()
    assert (got["outlet"], got["lists"]) == ("Radio Sur Internacional", ["regional-desks", "api"])


async def test_an_empty_value_clears_a_field_and_null_is_refused(api: Api) -> None:
    await listed(api)
    url = "/api/v1/subscribers/mateo@example.org"
    cleared = await api.client.patch(url, json={"outlet": "", "regions": []})
    assert cleared.status_code == 200
    assert (cleared.json()["outlet"], cleared.json()["regions"]) == ("", [])  # every region
    assert cleared.json()["name"] == "Mateo R"

    for method in ("PUT", "PATCH"):
        refused = await api.client.request(method, url, json={"name": None, "embargo": None})
        assert fields(problem(refused, 422)) == {
            "name": 'null is not a value: leave the field out to keep it, or send "" to clear it',
            "embargo": "null is not a value: leave the field out to keep it, or send false",
        }
    got = (await api.client.get(url)).json()
    assert (got["name"], got["embargo"]) == ("Mateo R", True)


async def test_patch_changes_only_a_known_journalist(api: Api) -> None:
    url = "/api/v1/subscribers/nobody@example.org"
    problem(await api.client.patch(url, json={"name": "Nobody"}), 404)
    assert await api.rt.journalists.find("nobody@example.org") is None
    created = await api.client.put(url, json={"name": "Nobody"})
    assert created.status_code == 201
    saved = created.json()
    assert (saved["name"], saved["outlet"], saved["lists"], saved["embargo"]) == (
        "Nobody",
        "",
        ["api"],
        False,
    )


async def test_invalid_subscriber_fields_are_422_and_nothing_is_stored(api: Api) -> None:
    response = await api.client.put(
        "/api/v1/subscribers/not-an-address",
        json={
            "languages": ["en", "xx"],
            "regions": ["atlantis"],
            "topics": ["ok", "not a slug!"],
            "name": "n" * 1001,
        },
    )
    found = fields(problem(response, 422))
    assert set(found) == {"email", "languages.1", "regions.0", "topics.1", "name"}
    assert found["languages.1"] == "unknown language 'xx' (use an ISO 639-1 code such as 'fr')"
    assert found["email"].startswith("'not-an-address' is not a valid address")
    assert await api.rt.journalists.find("not-an-address") is None

    wrong = await api.client.put("/api/v1/subscribers/x@example.org", json={"embargo": "maybe"})
    assert set(fields(problem(wrong, 422))) == {"embargo"}
    extra = await api.client.put("/api/v1/subscribers/x@example.org", json={"list": "vip"})
    assert fields(problem(extra, 422)) == {"list": "unknown key"}
    assert await api.rt.journalists.find("x@example.org") is None


# -- the writer, on its own ------------------------------------------------------------


@given(st.text())
def test_toml_strings_round_trip(value: str) -> None:
    assert tomllib.loads(f"key = {writer.toml_value(value)}")["key"] == value


def test_with_times_keeps_every_other_byte() -> None:
    text = dedent(
        """
        # comment
        "publish_at" = 2026-12-01T10:00:00+01:00
        status = "ready"   # keep
        [[contacts]]
        name = "publish_at = in a table"
        """
    ).replace("\n", "\r\n")
    when = datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)
    moved = writer.with_times(text, when, when - timedelta(hours=1))
    assert moved == (
        '# comment\r\n"publish_at" = 2027-01-02T03:04:05+00:00\r\n'
        "embargo_send_at = 2027-01-02T02:04:05+00:00\r\n"
        'status = "ready"   # keep\r\n[[contacts]]\r\nname = "publish_at = in a table"\r\n'
    )
    assert writer.with_times(moved, when, None) == moved.replace(
        "embargo_send_at = 2027-01-02T02:04:05+00:00\r\n", ""
    )
    assert writer.with_times('status = "draft"', when) == (
        'publish_at = 2027-01-02T03:04:05+00:00\nstatus = "draft"'
    )
    assert writer.with_times("publish_at = 2026-01-01T00:00:00Z", when, when) == (
        "publish_at = 2027-01-02T03:04:05+00:00\nembargo_send_at = 2027-01-02T03:04:05+00:00\n"
    )


# -- lists --------------------------------------------------------------------------------


async def test_a_list_uploaded_as_csv_is_checked_and_merged_in_the_background(api: Api) -> None:
    csv_type = {"Content-Type": "text/csv; charset=utf-8"}
    body = "email,name,languages\ncleo@example.org,Cleo,fr\nnot-an-address,Bad,en\n"
    response = await api.client.put("/api/v1/lists/desk", content=body, headers=csv_type)
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/api/v1/imports/{job['id']}"
    assert job["name"] == "desk" and job["file"] == "subscribers/desk.csv"
    assert job["state"] in ("queued", "checking", "merging", "done")
    for _ in range(600):
        job = (await api.client.get(response.headers["location"])).json()
        if job["state"] in ("done", "failed"):
            break
        await asyncio.sleep(0.05)
    assert job["state"] == "done", job
    assert (job["rows_read"], job["problem_count"], job["error"]) == (1, 1, None)
    [problem] = job["problems"]
    assert (problem["line"], problem["field"]) == (3, "email")
    assert "not a valid address" in problem["message"]
    cleo = (await api.client.get("/api/v1/subscribers/cleo@example.org")).json()
    assert (cleo["lists"], cleo["status"]) == (["desk"], "active")
    assert (api.releases.parent / "subscribers" / "desk.csv").read_text() == body

    again = await api.client.put("/api/v1/lists/desk", content=body, headers=csv_type)
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM_JSON
    assert "replace=true" in again.json()["detail"]
    replaced = await api.client.put(
        "/api/v1/lists/desk?replace=true", content="email\ndora@example.org\n", headers=csv_type
    )
    assert replaced.status_code == 202

    bad_name = await api.client.put("/api/v1/lists/Desk!", content=body, headers=csv_type)
    assert bad_name.status_code == 422
    assert bad_name.json()["errors"][0]["field"] == "name"
    as_json = await api.client.put("/api/v1/lists/other", json={"email": "x@example.org"})
    assert as_json.status_code == 415
    empty = await api.client.put("/api/v1/lists/other", content=b"", headers=csv_type)
    assert empty.status_code == 400
    for missing in ("999999", "abc"):
        unknown = await api.client.get(f"/api/v1/imports/{missing}")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == PROBLEM_JSON
    assert not (api.releases.parent / "subscribers" / "other.csv").exists()


async def test_a_list_may_be_larger_than_any_json_request(
    newsroom: Newsroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A JSON request is capped by content.max_body_size; a list upload has its own limit."""
    monkeypatch.setenv("PRESSDISPATCH_API_TOKEN", TOKEN)
    newsroom.write_config(content={"max_body_size": "1KiB"})  # JSON requests: 82 KiB at most
    rows = [f"reporter{i:05d}@example.org,Reporter {i},en" for i in range(4000)]
    body = ("email,name,languages\n" + "\n".join(rows) + "\n").encode()
    assert len(body) > 100 * 1024
    settings = newsroom.settings()
    async with runtime(settings) as rt:
        app = create_app(rt)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://test", headers=AUTH
            ) as client:
                upload = await client.put(
                    "/api/v1/lists/wire", content=body, headers={"Content-Type": "text/csv"}
                )
                assert upload.status_code == 202, upload.text
                too_big = await client.post(
                    "/api/v1/releases", content=body, headers={"Content-Type": "application/json"}
                )
                assert too_big.status_code == 413
                assert "content.max_body_size" in too_big.json()["detail"]
