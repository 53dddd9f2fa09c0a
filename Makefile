# The two commands of the README's Quick start: `make run` and `make test`.
# Everything else here is what they need; nothing must be installed by hand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test install system-deps lint test-sqlite test-postgresql test-clock-ahead screenshots bench clean

run: install ## Install, migrate, load the demo partnership and serve on http://127.0.0.1:8000/
	bash .ci/system-deps pdf
	$(BIN)/audit-tools db upgrade
	$(BIN)/audit-tools demo
	$(BIN)/audit-tools serve

test: install system-deps lint test-sqlite test-postgresql test-clock-ahead ## Install and run every check

install: $(STAMP) node_modules/.installed-stamp

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# GOV.UK Frontend's compiled CSS, JS and assets (served by the app) and axe-core.
node_modules/.installed-stamp: package.json package-lock.json
	bash .ci/system-deps node
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

system-deps: ## Debian packages the tests need (PostgreSQL, Chromium, WeasyPrint's libraries, poppler)
	bash .ci/system-deps

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# The suite runs on one pytest-xdist worker per CPU; each worker has its own databases
# (its own SQLite folder, its own PostgreSQL cluster) and its own live server and
# browser for tests/browser. See docs/test-suite-notes.md.
TEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

test-sqlite: install
	AUDIT_TEST_DB=sqlite $(PYTEST)

test-postgresql: install system-deps
	AUDIT_TEST_DB=postgresql $(PYTEST)

# Any date: the tests that read the clock, run a year ahead (tests/conftest.py).
test-clock-ahead: install
	AUDIT_TEST_DB=sqlite $(PYTEST) --clock-ahead=365 -m date_sensitive

# The README's pictures (docs/screenshots), taken by the browser and briefing tests on
# a pinned date; the tests themselves save theirs to a temporary folder.
SCREENSHOT_DATE := 2026-11-23
screenshots: install system-deps
	AUDIT_TEST_DB=sqlite $(BIN)/pytest -n 0 -q tests/browser \
		tests/briefings/test_render.py::TestAccessiblePdf::test_page_one_screenshots \
		--clock-at=$(SCREENSHOT_DATE) --screenshots=docs/screenshots

bench: install
	$(BIN)/python bench/api.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/briefings.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache node_modules
