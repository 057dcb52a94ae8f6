"""Shared test helpers: write a small newsroom into a temporary folder."""

from __future__ import annotations

import functools
import os
import shutil
import textwrap
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import typer.testing
from hypothesis import settings as hypothesis_settings

from . import postgres
from .dispatching import ROOT, database_url, make_newsroom

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# typer's CliRunner builds the click command from the app again at every call (some 7 ms
# of introspection); the app does not change during a run, so it is built once.
typer.testing._get_command = functools.cache(typer.testing._get_command)  # type: ignore[assignment]

hypothesis_settings.register_profile("ci", max_examples=200, deadline=None)
hypothesis_settings.register_profile("dev", max_examples=60, deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")

CONFIG = """\
[newsroom]
name = "Test Press Office"
base_url = "https://press.example.org"
default_language = "en"
timezone = "Europe/Paris"
from = "Test Press Office <press@example.org>"
reply_to = "media@example.org"
languages = ["en", "fr", "ru", "ar", "es", "zh"]

[paths]
templates = "{templates}"
"""


def write_release(root: Path, release_id: str, meta: str, texts: Mapping[str, str]) -> Path:
    """One release folder: release.toml plus <lang>.md files (dedented)."""
    folder = root / "releases" / release_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "release.toml").write_text(textwrap.dedent(meta), encoding="utf-8")
    for lang, text in texts.items():
        (folder / f"{lang}.md").write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def md(title: str, body: str = "Body text.", *, summary: str = "", dateline: str = "") -> str:
    front = [f"title = {title!r}"]
    if summary:
        front.append(f"summary = {summary!r}")
    if dateline:
        front.append(f"dateline = {dateline!r}")
    return "+++\n" + "\n".join(front) + "\n+++\n" + body + "\n"


@pytest.fixture
def newsroom_dir(tmp_path: Path) -> Path:
    """An empty newsroom (config.toml, releases/, subscribers/) using the shipped templates."""
    (tmp_path / "releases").mkdir()
    (tmp_path / "subscribers").mkdir()
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    (tmp_path / "config.toml").write_text(CONFIG.format(templates="templates"), encoding="utf-8")
    return tmp_path


WriteRelease = Callable[..., Path]


BOTH = ("sqlite", "postgresql")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Under pytest-xdist (scripts/test.sh), the e2e tests take turns on one worker: each
    # starts processes of its own and times them, which a second one beside it would skew.
    for item in items:
        if item.get_closest_marker("e2e") is not None:
            item.add_marker(pytest.mark.xdist_group("e2e"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "newsroom" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("databases")
        kinds = marker.args if marker is not None else ("sqlite",)
        metafunc.parametrize("newsroom", kinds, indirect=True)


@pytest.fixture(scope="session", autouse=True)
def _postgres_databases() -> Iterator[None]:
    """The PostgreSQL databases the tests cloned are dropped when they end."""
    yield
    postgres.close()


@pytest.fixture
def newsroom(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A newsroom on disk with its store (see the ``databases`` marker)."""
    urls = database_url(request.param, tmp_path)
    yield make_newsroom(tmp_path, next(urls))
    for _ in urls:  # drop the throwaway database
        pass


@pytest.fixture
def release_writer(newsroom_dir: Path) -> WriteRelease:
    def write(release_id: str, meta: str, texts: Mapping[str, str]) -> Path:
        return write_release(newsroom_dir, release_id, meta, texts)

    return write
