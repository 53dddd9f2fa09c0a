# The two commands of the README's Quick start: `make run` and `make test`.
# Everything else here is what they need; nothing must be installed by hand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Python keeps the bytecode it compiles, under .venv (never in the checkout), even where
# the environment asks it not to (PYTHONDONTWRITEBYTECODE): the test run starts dozens
# of Python processes (pytest-xdist workers, the live server, the PDF renderers), and
# without it each compiled the project and re-wrote the tests' asserts again.
export PYTHONDONTWRITEBYTECODE :=
export PYTHONPYCACHEPREFIX := $(CURDIR)/$(VENV)/pycache

.PHONY: run test install system-deps lint test-sqlite test-postgresql test-browser-sqlite screenshots bench clean

run: install ## Install, migrate, load the demo partnership and serve on http://127.0.0.1:8000/
	bash .ci/system-deps pdf
	$(BIN)/audit-tools db upgrade
	$(BIN)/audit-tools demo
	$(BIN)/audit-tools serve

# The lint (mypy, on one core) runs beside the SQLite run rather than before it: the CPU
# it would leave idle goes to the tests. Output lines are kept whole.
test: install system-deps ## Install and run every check
	$(MAKE) --no-print-directory -j2 --output-sync=line lint test-sqlite
	$(MAKE) --no-print-directory test-postgresql

install: $(STAMP) node_modules/.installed-stamp

# uv installs the same packages from PyPI as pip would, in seconds instead of half a
# minute (it fetches and installs in parallel); pip only installs uv. The venv is made
# without a pip of its own (putting one in takes 5 s): the machine's pip installs uv
# into it, or, where the machine has no pip, the venv's own, put in after all.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(BIN)/python install --quiet --no-compile 'uv>=0.5' \
		|| { $(BIN)/python -m ensurepip --default-pip && $(BIN)/python -m pip install --quiet 'uv>=0.5'; }
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	touch $(STAMP)

# GOV.UK Frontend's compiled CSS, JS and assets (served by the app) and axe-core.
node_modules/.installed-stamp: package.json package-lock.json
	bash .ci/system-deps node
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

system-deps: ## Debian packages the tests need (PostgreSQL, Chromium's headless shell, WeasyPrint's libraries, poppler)
	bash .ci/system-deps

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# The suite runs on one pytest-xdist worker per CPU; each worker has its own databases
# (its own SQLite folder, its own PostgreSQL cluster) and its own live server and
# browser for tests/browser. How it is split, and why (docs/architecture.md):
# - SQLite: everything but the browser tests, with the clock a year ahead (any date);
# - PostgreSQL, the real deployment: everything that uses a database or the browser,
#   on today's clock (a test that uses neither gives the same answer on any database,
#   so it runs once, on SQLite).
TEST_WORKERS ?= auto
# --dist loadfile: a test file's tests stay on one worker, in order (a browser journey
# follows on from the test before; a module-scoped fixture is built once). Files are
# handed out longest first, in the order tests/conftest.py puts them
# (--no-loadscope-reorder: not pytest-xdist's own, by number of tests).
PYTEST := $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-sqlite: install
	AUDIT_TEST_DB=sqlite $(PYTEST) --ignore=tests/browser --clock-ahead=365

test-postgresql: install system-deps
	AUDIT_TEST_DB=postgresql $(PYTEST) --database-tests-only

# By hand: the browser tests on SQLite too.
test-browser-sqlite: install system-deps
	AUDIT_TEST_DB=sqlite $(PYTEST) tests/browser

# The README's pictures (docs/screenshots), taken by the browser and briefing tests on
# a pinned date; the tests themselves save theirs to a temporary folder.
SCREENSHOT_DATE := 2026-11-23
screenshots: install system-deps
	AUDIT_TEST_DB=sqlite $(BIN)/pytest -n 0 -q tests/browser \
		tests/briefings/test_render.py::TestAccessiblePdf::test_page_one_screenshots \
		tests/briefings/test_seven_minute.py::TestTheDemosPdf::test_both_pages_are_saved_as_screenshots \
		tests/briefings/test_inspection_pack.py::test_page_one_screenshot \
		--clock-at=$(SCREENSHOT_DATE) --screenshots=docs/screenshots

# The load test's locust is an optional extra (bench), installed here only.
bench: install
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev,bench]'
	$(BIN)/python bench/api.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/briefings.py
	$(BIN)/python bench/load.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache node_modules
