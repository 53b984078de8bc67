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

.PHONY: install browser run test test-fast ui lint typecheck bench bench-smoke clean

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

## Chromium for the browser tests (tests/e2e/test_browser.py): Debian's package, installed when it is
## missing and we are root with apt-get; anywhere else those tests are skipped with the reason (CI,
## with HACKEFORS_REQUIRE_BROWSER=1, fails instead). HACKEFORS_CHROMIUM names another Chromium.
browser:
	@if [ -n "$$HACKEFORS_CHROMIUM" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
			|| echo "Could not install chromium: the browser tests will be skipped."; \
	else \
		echo "No Chromium (and not root with apt-get): the browser tests will be skipped."; \
	fi

## The whole suite: unit, integration (SQLite, PostgreSQL where reachable), end-to-end flows and the
## browser test of the Prefect UI.
test: install browser
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest
	$(MAKE) --no-print-directory bench-smoke

## The fast lane while working: lint, the unit tests and the quick integration tests (SQLite and
## PostgreSQL where reachable), no Prefect server, no PDFs.
test-fast: install
	$(BIN)/ruff check .
	$(BIN)/pytest -q -m "not e2e and not slow" tests/unit tests/integration tests/portal

## The Prefect server and UI on http://127.0.0.1:4200, serving every deployment, and beside it the
## coordinators' portal on http://127.0.0.1:8080, which announces what it records to that server (so
## the readiness trigger runs); each prints its address. Links in emails and on certificates lead to
## the portal's port (HACKEFORS_PUBLIC_URL, unless set). Ctrl-C, or SIGTERM to make or to its process
## group, stops both (and the Prefect server) within seconds: both run in the background and the
## shell, waiting on them, hands the signal on at once.
UI_PORT ?= 4200
PORTAL_PORT ?= 8080
ui: install
	@trap 'kill -TERM $$serve $$portal 2>/dev/null; wait; exit 143' INT TERM; \
	export HACKEFORS_PUBLIC_URL="$${HACKEFORS_PUBLIC_URL:-http://127.0.0.1:$(PORTAL_PORT)}"; \
	PREFECT_API_URL=http://127.0.0.1:$(UI_PORT)/api $(BIN)/hackefors portal --port $(PORTAL_PORT) & portal=$$!; \
	$(BIN)/hackefors serve --port $(UI_PORT) & serve=$$!; \
	wait $$serve; status=$$?; kill -TERM $$portal 2>/dev/null; wait; exit $$status

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

## Every benchmark, each figure printed beside its target and the load average (minutes; see
## docs/performance.md for the last figures).
bench: install
	$(BIN)/python benchmarks/gap_report.py
	$(BIN)/python benchmarks/portfolio.py
	$(BIN)/python benchmarks/spreadsheet_import.py
	$(BIN)/python benchmarks/portal_todo.py
	$(BIN)/python benchmarks/hostile_uploads.py

## The same benchmarks at tiny sizes, so that a broken benchmark fails `make test`; the figures
## mean nothing.
bench-smoke: install
	$(BIN)/python benchmarks/gap_report.py --smoke
	$(BIN)/python benchmarks/spreadsheet_import.py --smoke
	$(BIN)/python benchmarks/portal_todo.py --smoke
	$(BIN)/python benchmarks/portfolio.py --smoke
	$(BIN)/python benchmarks/hostile_uploads.py --smoke

clean:
	rm -rf $(VENV) .prefect data out .pytest_cache
