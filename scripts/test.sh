#!/bin/sh
# Install pressdispatch with its test tools, then lint, type-check and run the test suite.
. "$(dirname "$0")/_venv.sh"
ruff check src tests bench
ruff format --check src tests bench
mypy
lint-imports --no-cache
pytest "$@"
