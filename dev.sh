#!/usr/bin/env bash
# Quick start for a fresh machine with only Python (>= 3.11), pip and gcc.
#   bash dev.sh run    # make .venv, install polase, run `polase reproduce` into ./polase-reproduce
#   bash dev.sh test   # make .venv, install polase with test extras, run the test suite
set -euo pipefail
cd "$(dirname "$0")"
VENV="${POLASE_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

ensure_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
    fi
    # re-install when pyproject changed (stamp per extras set)
    local extras="$1" stamp="$VENV/.polase-installed-$1"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        if [ "$extras" = "base" ]; then
            "$VENV/bin/python" -m pip install --quiet -e .
        else
            "$VENV/bin/python" -m pip install --quiet -e ".[$extras]"
        fi
        touch "$stamp"
    fi
}

cmd="${1:-}"
shift || true
case "$cmd" in
    run)
        ensure_venv base
        exec "$VENV/bin/polase" reproduce -o polase-reproduce --overwrite "$@"
        ;;
    test)
        ensure_venv test
        # a headless browser for the report test; the test skips with a message if absent
        bash scripts/install_browser.sh || echo "dev.sh: headless browser not installed; browser tests will skip"
        # compile the numba kernels once, beside the checks, so that the test workers
        # load them from the cache instead of compiling the same code at the same time
        "$VENV/bin/python" scripts/warm_numba_cache.py twin &
        warm_twin=$!
        "$VENV/bin/python" scripts/warm_numba_cache.py fitting &
        warm_fitting=$!
        "$VENV/bin/ruff" check src tests benchmarks scripts
        # the API reference from the docstrings: any warning (bad link, docstring) fails
        "$VENV/bin/mkdocs" build --strict --quiet --site-dir "$(mktemp -d)"
        wait "$warm_twin"
        wait "$warm_fitting"
        exec "$VENV/bin/python" -m pytest -n 2 --dist loadfile --no-loadscope-reorder "$@"
        ;;
    *)
        echo "usage: bash dev.sh run|test [extra args]" >&2
        exit 2
        ;;
esac
