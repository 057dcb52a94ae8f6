#!/bin/sh
# Install pressdispatch with its test tools, then lint, type-check and run the test suite.
# Arguments go to pytest: `sh scripts/test.sh -m "not e2e"` is the quick loop, without the
# tests that start real processes or a browser. The tests run on one worker per core
# (pytest-xdist); `-n 0` runs them in this process, one after the other.
. "$(dirname "$0")/_venv.sh"
ruff check src tests bench
ruff format --check src tests bench
mypy
lint-imports --no-cache
pytest -n auto --dist loadgroup "$@"
