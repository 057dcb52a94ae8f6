#!/bin/sh
# Install pressdispatch with its test tools, then lint, type-check and run the test suite.
# Arguments go to pytest: `sh scripts/test.sh -m "not e2e"` is the quick loop, without the
# tests that start real processes or a browser. The tests run on pytest-xdist workers;
# `-n 0` runs them in this process, one after the other.
PRESSDISPATCH_EXTRAS=test
. "$(dirname "$0")/_venv.sh"
# Each worker imports the package and the tests: with their bytecode and pytest's
# rewritten asserts cached in __pycache__ (ignored by git), one starts in 2 s, not 7.
unset PYTHONDONTWRITEBYTECODE
ruff check src tests bench
ruff format --check src tests bench
mypy
lint-imports --no-cache
# A third of the suite's time is spent waiting on sockets, timers and PostgreSQL's disk,
# so one worker more than there are cores keeps them all busy.
workers=$(python -c 'import os; print(len(os.sched_getaffinity(0)) + 1)')
pytest -n "$workers" --dist loadgroup "$@"
