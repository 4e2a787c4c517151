# Two commands: `make run` (the main job: the scenario library against the reference
# service) and `make test` (lint, types, the whole suite).
# Both create .venv on first use and reinstall when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NODE_STAMP := tests/compat/node/node_modules/.installed
PYTEST_ARGS ?=
# The node compatibility client is installed only where its package.json exists.
NODE_DEPS := $(if $(wildcard tests/compat/node/package.json),$(NODE_STAMP),)

.PHONY: run smoke test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

$(NODE_STAMP): tests/compat/node/package.json
	bash tests/compat/node/install.sh
	touch $(NODE_STAMP)

run: $(STAMP)
	$(VENV)/bin/nats-harness run scenarios

smoke: $(STAMP)
	$(VENV)/bin/nats-harness smoke

lint: $(STAMP)
	$(VENV)/bin/ruff check harness tests benchmarks examples

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP) $(NODE_DEPS)
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(STAMP)
	$(PY) benchmarks/bench_servers.py
	$(PY) benchmarks/bench_proxy.py
	$(PY) benchmarks/bench_scenarios.py
	$(PY) benchmarks/bench_parallel.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
