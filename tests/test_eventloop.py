"""serve and run use uvloop and httptools where the platform has them (both are dependencies)."""

from __future__ import annotations

import asyncio
import importlib.util
import platform

import pytest
import uvicorn
from fastapi import FastAPI

from pressdispatch import eventloop

CPYTHON = platform.python_implementation() == "CPython"


@pytest.mark.skipif(not CPYTHON or importlib.util.find_spec("uvloop") is None, reason="no uvloop")
def test_the_long_running_commands_run_on_uvloop() -> None:
    async def loop_module() -> str:
        await asyncio.sleep(0)
        return type(asyncio.get_running_loop()).__module__

    assert eventloop.run(loop_module()).startswith("uvloop")


@pytest.mark.skipif(not CPYTHON, reason="httptools is a dependency on CPython only")
def test_uvicorn_parses_http_with_httptools() -> None:
    # The Config web/server.py builds leaves http="auto": httptools when installed.
    config = uvicorn.Config(FastAPI(), lifespan="on", proxy_headers=False, log_config=None)
    config.load()
    assert config.http_protocol_class.__name__ == "HttpToolsProtocol"
