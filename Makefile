# The two commands (see README): `make demo` and `make test`. Everything else is a helper.
PY ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
DATA ?= data
USERS ?= 100
SEED ?= 42
PORT ?= 8000

.PHONY: demo test setup setup-test lint typecheck pytest browsers bench clean

$(UV):
	$(PY) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

setup: $(UV)  ## install the locked runtime dependencies into .venv (keeps extras already there)
	$(UV) sync --frozen --extra web --extra report --inexact --quiet

setup-test: $(UV) browsers  ## everything the tests need, incl. PySpark and the dev tools
	$(UV) sync --frozen --all-extras --group dev --quiet

browsers:  ## Debian's chromium for the browser tests (Playwright drives /usr/bin/chromium)
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

demo: setup  ## generate a population, ingest it, run the pipeline, serve the app
	$(BIN)/spendsense --data-dir $(DATA) generate --users $(USERS) --seed $(SEED)
	$(BIN)/spendsense --data-dir $(DATA) ingest $(DATA)/raw/bundles
	$(BIN)/spendsense --data-dir $(DATA) run
	$(BIN)/spendsense --data-dir $(DATA) report --latency-sample 10
	$(BIN)/spendsense --data-dir $(DATA) operator create admin --random-password --exist-ok
	@echo "customer page: http://127.0.0.1:$(PORT)/me?token=$$($(BIN)/spendsense --data-dir $(DATA) customer token u_0000001)"
	$(BIN)/spendsense --data-dir $(DATA) serve --port $(PORT)

lint:  ## ruff, the layer and cycle contracts (import-linter, pyproject), the dead-code check (vulture)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/lint-imports
	$(BIN)/python scripts/deadcode.py

typecheck:
	$(BIN)/mypy src

pytest:
	$(BIN)/pytest -q -m "not bench"

test: setup-test lint typecheck pytest  ## the whole test suite, as CI runs it

bench: setup-test
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
