# Sourced by the other scripts: a virtual environment in .venv with pressdispatch
# installed (editable), re-installed when pyproject.toml changes. PRESSDISPATCH_EXTRAS
# names extras to add ("test": the test tools, which only scripts/test.sh needs; the
# demo installs the runtime dependencies alone). uv installs when it is on the PATH
# (several times faster); pip otherwise.
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
extras="${PRESSDISPATCH_EXTRAS:-}"
spec="."
stamp=.venv/.installed
if [ -n "$extras" ]; then
    spec=".[$extras]"
    stamp=".venv/.installed-$extras"
fi
if command -v uv >/dev/null 2>&1; then
    installer=uv
else
    installer=pip
fi
if [ ! -x .venv/bin/python ]; then
    if [ "$installer" = uv ]; then
        uv venv --quiet --python "$PYTHON" .venv
    else
        "$PYTHON" -m venv .venv
    fi
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    if [ "$installer" = uv ]; then
        uv pip install --quiet --python .venv/bin/python -e "$spec"
    else
        # A virtual environment made by uv has no pip of its own; the one Python bundles
        # may be too old to resolve extras spelled with "_" (lxml[html_clean]).
        .venv/bin/python -m pip --version >/dev/null 2>&1 || .venv/bin/python -m ensurepip --quiet
        .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec"
    fi
    touch "$stamp"
fi
PATH="$PWD/.venv/bin:$PATH"
export PATH
