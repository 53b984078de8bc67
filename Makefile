# The README's two set-up commands are `make run` and `make test`; both work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT := false
export HACKEFORS_DATA_DIR ?= $(CURDIR)/data

.PHONY: install run test test-fast ui lint typecheck bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Import the bundled Hackefors network and certify it as of 15 February 1999.
run: install
	$(BIN)/hackefors import examples/hackefors.yaml --as-of 1999-02-15
	$(BIN)/hackefors run --network hackefors --as-of 1999-02-15

## The whole suite: unit, integration (SQLite, PostgreSQL where reachable) and end-to-end flows.
test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

## The fast lane while working: lint, the unit tests and the quick integration tests (SQLite and
## PostgreSQL where reachable), no Prefect server, no PDFs.
test-fast: install
	$(BIN)/ruff check .
	$(BIN)/pytest -q -m "not e2e and not slow" tests/unit tests/integration

## The Prefect server and UI on http://127.0.0.1:4200, serving every deployment; Ctrl-C stops it.
ui: install
	$(BIN)/hackefors serve --port 4200

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

bench: install
	$(BIN)/python benchmarks/portfolio.py

clean:
	rm -rf $(VENV) .prefect data out .pytest_cache
