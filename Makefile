# The README's two set-up commands are `make run` and `make test`; both work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
# uv.lock pins every package, transitive ones included, with their hashes; uv installs it, and uv
# itself is one of the packages it pins (the version below bootstraps a new .venv).
UV_VERSION = $(shell sed -n '/^name = "uv"$$/{n;s/^version = "\(.*\)"$$/\1/p;}' uv.lock)
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT := false
export HACKEFORS_DATA_DIR ?= $(CURDIR)/data

.PHONY: install lock lock-check browser poppler run test test-fast ui lint typecheck bench bench-smoke clean

## Exactly the lock (runtime and dev), nothing more: what is not in uv.lock is removed. Refuses a
## uv.lock that no longer matches pyproject.toml (`make lock` refreshes it).
install: $(UV)
	@$(UV) sync --locked --extra dev --quiet

$(UV):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

## Refresh uv.lock to the newest releases pyproject.toml's ranges allow (`make lock
## ARGS="--upgrade-package NAME"` moves one package only); then `make test`, and commit uv.lock.
lock: $(UV)
	$(UV) lock --upgrade $(ARGS)

## uv.lock still matches pyproject.toml (a range changed without `make lock` fails here).
lock-check: $(UV)
	$(UV) lock --check

## Import the bundled Hackefors network and certify it as of 15 February 1999.
run: install
	$(BIN)/hackefors import examples/hackefors.yaml --as-of 1999-02-15
	$(BIN)/hackefors run --network hackefors --as-of 1999-02-15

# $(call debian,PACKAGE,TEST,WHAT): Debian's PACKAGE, installed when the shell TEST fails and we are root
# with apt-get (waiting for another install's lock); anywhere else WHAT is skipped with the reason
# (CI, with HACKEFORS_REQUIRE_ALL=1, fails instead).
define debian
	@if $(2); then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's $(1) for $(3)..."; \
		{ apt-get -o DPkg::Lock::Timeout=300 update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get -o DPkg::Lock::Timeout=300 install -y -qq $(1) >/dev/null; } \
			|| echo "Could not install $(1): $(3) will be skipped."; \
	else \
		echo "No $(1) (and not root with apt-get): $(3) will be skipped."; \
	fi
endef

## Chromium for the browser tests (tests/e2e/test_browser.py, test_portal_browser.py); they never
## download one. HACKEFORS_CHROMIUM names another Chromium.
browser:
	$(call debian,chromium,[ -n "$$HACKEFORS_CHROMIUM" ] || command -v chromium >/dev/null \
		|| command -v chromium-browser >/dev/null,the browser tests)

## pdftoppm (poppler-utils), which renders a certificate's page so that its QR code is read back.
poppler:
	$(call debian,poppler-utils,command -v pdftoppm >/dev/null,the QR code test of the certificate)

## The whole suite: unit, integration (SQLite, PostgreSQL where reachable), end-to-end flows and the
## browser test of the Prefect UI.
test: install browser poppler lock-check
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest
	$(MAKE) --no-print-directory bench-smoke

## The fast lane while working: lint, the unit tests and the quick integration tests (SQLite and
## PostgreSQL where reachable), no Prefect server, no PDFs, no charts, no command in a subprocess;
## spread over one process per CPU (pytest-xdist: each process pays the ~11 s of imports once).
test-fast: install
	$(BIN)/ruff check .
	$(BIN)/pytest -q -n logical -m "not e2e and not slow" tests/unit tests/integration tests/portal

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
	$(BIN)/python benchmarks/portal_load.py
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
