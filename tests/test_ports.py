"""Where the web app listens, and the address its links carry.

A port already taken is one line and exit status 2, before anything is announced. When
config.toml does not set ``newsroom.base_url``, the links in pages, feeds and the OPML
follow where the web app really listens (``[web] host``/``port``, ``serve --port``);
when it does, it wins (a site behind a proxy). The commands run as real processes, as
an operator starts them, on real sockets.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.etree import ElementTree as ET

import feedparser
import httpx
import pytest

from pressdispatch.config import load_settings

from .dispatching import Newsroom, make_newsroom, utc
from .smtpd import free_port

PUBLIC = "https://press.example.org"  # the base_url tests/dispatching.py writes


@pytest.fixture
def newsroom(tmp_path: Path) -> Newsroom:
    newsroom = make_newsroom(tmp_path, f"sqlite:///{tmp_path / 'var' / 'pressdispatch.db'}")
    newsroom.release("launch", publish_at=utc(-60), languages=("en",))
    return newsroom


def without_base_url(newsroom: Newsroom) -> None:
    config = newsroom.root / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"(?m)^base_url = .*\n", "", text), encoding="utf-8")


@contextmanager
def taken_port() -> Iterator[int]:
    """A port another program listens on, for as long as the block lasts."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def start(newsroom: Newsroom, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSDISPATCH_")}
    env |= {"PYTHONUNBUFFERED": "1", "PRESSDISPATCH_SIGNING_KEY": "ports-test-signing-key"}
    config = newsroom.root / "config.toml"
    return subprocess.Popen(
        [sys.executable, "-m", "pressdispatch", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=(newsroom.root / "stderr").open("wb"),
        stdin=subprocess.DEVNULL,
        cwd=newsroom.root,
        env=env,
        text=True,
    )


@contextmanager
def serving(newsroom: Newsroom, port: int, *args: str) -> Iterator[httpx.Client]:
    """``pressdispatch <args>`` running, once it serves the release's page on ``port``."""
    proc = start(newsroom, *args)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as web:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, stderr(newsroom)
                assert time.monotonic() < deadline, "no page in time:\n" + stderr(newsroom)
                try:
                    if web.get("/releases/launch/en").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
            yield web
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def stderr(newsroom: Newsroom) -> str:
    return (newsroom.root / "stderr").read_text(encoding="utf-8")


def links(web: httpx.Client) -> list[str]:
    """The addresses the newsroom hands out: the OPML's, a feed's and a page's links."""
    opml = ET.fromstring(web.get("/feeds.opml").content)
    found = [o.attrib[k] for o in opml.iter("outline") for k in ("xmlUrl", "htmlUrl") if k in o]
    feed = feedparser.parse(web.get("/feeds/en/world.atom").content)
    found += [link.href for link in feed.feed.links] + [e.link for e in feed.entries]
    page = web.get("/releases/launch/en").text
    found += re.findall(r'<link rel="(?:canonical|alternate)"[^>]* href="([^"]+)"', page)
    assert len(found) > 4 and feed.entries, found
    return found


@pytest.mark.e2e
@pytest.mark.parametrize("command", [["serve"], ["run"]], ids=" ".join)
def test_a_port_in_use_is_one_line_and_status_2(newsroom: Newsroom, command: list[str]) -> None:
    with taken_port() as port:
        newsroom.write_config(web={"port": port})
        proc = start(newsroom, *command)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert stderr(newsroom) == f"port {port} is in use: set [web] port or pass --port\n"
    assert out == ""


@pytest.mark.e2e
@pytest.mark.parametrize("command", ["serve", "run"])
def test_a_port_passed_in_use_is_named(newsroom: Newsroom, command: str) -> None:
    with taken_port() as port:
        proc = start(newsroom, command, "--port", str(port))
        proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert stderr(newsroom) == f"port {port} is in use: set [web] port or pass --port\n"


@pytest.mark.e2e
def test_without_base_url_links_follow_serve_port(newsroom: Newsroom) -> None:
    without_base_url(newsroom)
    port = free_port()
    with serving(newsroom, port, "serve", "--port", str(port)) as web:
        found = links(web)
    served = f"http://127.0.0.1:{port}"
    assert all(link.startswith(served + "/") for link in found), found
    assert f"newsroom at {served}/\n" in stderr(newsroom)


@pytest.mark.e2e
def test_without_base_url_links_follow_the_port_run_listens_on(newsroom: Newsroom) -> None:
    port = free_port()
    newsroom.write_config(web={"port": port})
    without_base_url(newsroom)
    with serving(newsroom, port, "run") as web:
        found = links(web)
    assert all(link.startswith(f"http://127.0.0.1:{port}/") for link in found), found
    assert f"newsroom at http://127.0.0.1:{port}/\n" in stderr(newsroom)


@pytest.mark.e2e
def test_a_base_url_set_wins_over_serve_port(newsroom: Newsroom) -> None:
    port = free_port()
    with serving(newsroom, port, "serve", "--port", str(port)) as web:
        found = links(web)
    assert all(link.startswith(PUBLIC + "/") for link in found), found
    # The line names where it really listens, and the address the links carry.
    assert f"newsroom at http://127.0.0.1:{port}/ (links: {PUBLIC})\n" in stderr(newsroom)


@pytest.mark.parametrize(
    ("web", "expected"),
    [
        ("", "http://127.0.0.1:8000"),
        ("port = 8080", "http://127.0.0.1:8080"),
        ('host = "localhost"\nport = 8080', "http://localhost:8080"),
        ('host = "0.0.0.0"', "http://127.0.0.1:8000"),
        ('host = "::1"', "http://[::1]:8000"),
    ],
)
def test_base_url_not_set_follows_web(tmp_path: Path, web: str, expected: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[newsroom]\nname = "Press"\nfrom = "press@example.org"\n\n[web]\n{web}\n',
        encoding="utf-8",
    )
    settings = load_settings(config)
    assert settings.newsroom.base_url == expected
    assert settings.served_at("127.0.0.1", 8123).newsroom.base_url == "http://127.0.0.1:8123"


def test_base_url_set_is_kept_wherever_it_is_served(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[newsroom]\nname = "Press"\nfrom = "press@example.org"\nbase_url = "{PUBLIC}/"\n',
        encoding="utf-8",
    )
    settings = load_settings(config).served_at("127.0.0.1", 8123)
    assert settings.newsroom.base_url == PUBLIC
    assert (settings.web.host, settings.web.port) == ("127.0.0.1", 8123)
