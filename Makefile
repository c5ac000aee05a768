# The everyday verbs. `make dev` runs the whole stack; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install dev test lint fmt check migrate seed bench lock clean

install: $(VENV)/.installed

# Reinstall whenever the pinned requirements change.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=python3.x)")'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

migrate: install
	$(BIN)/python manage.py ensure_database
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

## Command one: everything in the foreground: Stripe emulator, demo data, then web on http://localhost:8000, worker, beat.
dev: migrate
	$(BIN)/python manage.py dev

## Command two: every test, on the real PostgreSQL and Redis, browser journeys included.
test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: lint test

bench: install
	@if [ -f benchmarks/run.py ]; then $(BIN)/python benchmarks/run.py; else echo "No benchmarks yet."; fi

# Re-pin after changing dependencies in pyproject.toml. Pins carry no download addresses.
lock:
	rm -rf /tmp/marketplace-lock && $(PYTHON) -m venv /tmp/marketplace-lock
	/tmp/marketplace-lock/bin/pip install --quiet .
	/tmp/marketplace-lock/bin/pip freeze --exclude sessions-marketplace > requirements.txt
	/tmp/marketplace-lock/bin/pip install --quiet '.[dev]'
	( echo '-r requirements.txt'; /tmp/marketplace-lock/bin/pip freeze --exclude sessions-marketplace -r requirements.txt | sed '1,/## The following requirements were added by pip freeze:/d' ) > requirements-dev.txt

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache test-artifacts var
