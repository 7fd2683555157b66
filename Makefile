# The two commands of the README: `make demo` (the main job) and `make test` (the tests).
# Each sets itself up on a fresh machine with only Python 3.11+: a virtual environment in
# .venv, the project installed into it, then the run.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
PORT ?= 3000

.PHONY: demo test lint ui install bench clean worker

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/mars-assets demo

test: install
	$(BIN)/python -m pytest -n auto --dist loadfile

# ruff (configured in pyproject.toml): lint rules, then the formatting check
lint: install
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

# the benchmarks (issues 5, 7, 16, 17 and 19), ~28 minutes; figures are printed, never asserted
bench: install
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m benchmarks.image_stats
	$(BIN)/python -m benchmarks.backfill
	$(BIN)/python -m benchmarks.delta_layout
	$(BIN)/python -m benchmarks.mission
	$(BIN)/python -m benchmarks.mission_warehouse
	$(BIN)/python -m benchmarks.celery_scale_out

ui: install
	$(BIN)/mars-assets ui --port $(PORT)

# one Celery worker on this machine (docs/SCALE_OUT.md); the environment must be the code location's:
# MARS_EXECUTOR=celery, MARS_CELERY_BROKER, DAGSTER_HOME (shared PostgreSQL storage on a cluster) and
# the warehouse settings. QUEUES: nasa_api (steps calling NASA/JPL) and/or cpu.
QUEUES ?= nasa_api,cpu
worker: install
	@mkdir -p $(DAGSTER_HOME)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dagster-celery worker start -A mars_assets.celery_app -q $(QUEUES)

clean:
	rm -rf warehouse .dagster_home
