# The two commands of the README's Quick start: `make run` and `make test`.
# Everything else here is what they need; nothing must be installed by hand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test install system-deps lint test-sqlite test-postgresql bench clean

run: install ## Install, migrate, load the demo partnership and serve on http://127.0.0.1:8000/
	bash .ci/system-deps pdf
	$(BIN)/audit-tools db upgrade
	$(BIN)/audit-tools demo
	$(BIN)/audit-tools serve

test: install system-deps lint test-sqlite test-postgresql ## Install and run every check

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

test-sqlite: install
	AUDIT_TEST_DB=sqlite $(BIN)/pytest

test-postgresql: install system-deps
	AUDIT_TEST_DB=postgresql $(BIN)/pytest

bench: install
	$(BIN)/python bench/api.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/briefings.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache node_modules
