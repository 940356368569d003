#!/usr/bin/env bash
# One-time set-up of a development machine (Debian): system tools, then a venv with perfagent
# (editable), every extra and the dev tools. Safe to re-run; called by `make demo` and
# `make test`. Users need none of this: `pip install .` / `uv tool install .` / `pipx install .`
# (the system tools below are optional: perfagent detects them).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"

# System packages: git (workspaces), valgrind (--metric instructions), linux-perf (profiles),
# bubblewrap (the sandbox around the repository's and the model's code).
missing=()
command -v git >/dev/null || missing+=(git)
command -v valgrind >/dev/null || missing+=(valgrind)
command -v perf >/dev/null || missing+=(linux-perf)
command -v unshare >/dev/null || missing+=(util-linux)
command -v bwrap >/dev/null || missing+=(bubblewrap)
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if ((${#missing[@]})); then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then
        sudo apt-get update -qq
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "setup: please install: ${missing[*]}" >&2
    fi
fi

if ! command -v bwrap >/dev/null; then
    echo "setup: bubblewrap (bwrap) is missing: untrusted code runs unsandboxed and --isolation required fails" >&2
elif ! bwrap --unshare-all --die-with-parent --ro-bind / / true 2>/dev/null; then
    echo "setup: bwrap cannot create namespaces here (user namespaces disabled?): --isolation required fails" >&2
fi

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "setup: perfagent needs Python >= 3.11 (got $("$PYTHON" --version))" >&2; exit 1; }

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
# [dev] includes the [app], [dask] and [parquet] extras: the test suite covers them all.
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[dev]"
touch "$VENV/.installed"
