# Two commands: `make run` (the main job: the scenario library against the reference
# service) and `make test` (lint, types, the whole suite).
# Both create .venv on first use and reinstall when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NODE_STAMP := tests/compat/node/node_modules/.installed
CLIENTS_STAMP := clients/node/node_modules/.installed
PYTEST_ARGS ?=
JOBS ?= 4
# The node compatibility client is installed only where its package.json exists.
NODE_DEPS := $(if $(wildcard tests/compat/node/package.json),$(NODE_STAMP),)
# The nats.js process-protocol adapter (clients/node) is installed the same way.
NODE_DEPS += $(if $(wildcard clients/node/package.json),$(CLIENTS_STAMP),)

.PHONY: run smoke clients test lint typecheck pytest pytest-sequential bench bench-suite clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

$(NODE_STAMP): tests/compat/node/package.json
	bash tests/compat/node/install.sh
	touch $(NODE_STAMP)

$(CLIENTS_STAMP): clients/node/package.json clients/node/package-lock.json
	bash clients/node/install.sh
	touch $(CLIENTS_STAMP)

# the client adapters' own packages (nats.js for `nats-harness matrix` and tests/process)
clients: $(CLIENTS_STAMP)

run: $(STAMP)
	$(VENV)/bin/nats-harness run scenarios

smoke: $(STAMP)
	$(VENV)/bin/nats-harness smoke

lint: $(STAMP)
	$(VENV)/bin/ruff check harness tests benchmarks examples

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# Two groups: everything but the mutants on $(JOBS) xdist workers, then the mutants, which
# run their own two `nats-harness run` processes at a time and need the whole group in one
# process (the control re-runs what killed them), with the library's client matrix (it
# runs its own scenario workers, so it does not run beside the xdist ones). Each group
# prints its wall time.
LIBRARY_MATRIX := tests/process/test_process_matrix.py::test_both_clients_run_every_applicable_scenario_of_the_library
pytest: $(STAMP) $(NODE_DEPS)
	@start=$$(date +%s); \
	$(PY) -m pytest -n $(JOBS) --ignore=tests/mutants --deselect $(LIBRARY_MATRIX) --durations=15 $(PYTEST_ARGS); rc=$$?; \
	echo "make test: group 1 (suite without mutants, -n $(JOBS)): $$(( $$(date +%s) - start )) s, exit $$rc"; \
	[ $$rc -eq 0 ] || exit $$rc
	@start=$$(date +%s); \
	$(PY) -m pytest tests/mutants $(LIBRARY_MATRIX) $(PYTEST_ARGS); rc=$$?; \
	echo "make test: group 2 (mutants, client matrix): $$(( $$(date +%s) - start )) s, exit $$rc"; \
	exit $$rc

# The whole suite in one sequential process (the reference for the parallel speed-up).
pytest-sequential: $(STAMP) $(NODE_DEPS)
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(STAMP)
	$(PY) benchmarks/bench_servers.py
	$(PY) benchmarks/bench_proxy.py
	$(PY) benchmarks/bench_backpressure.py
	$(PY) benchmarks/bench_scenarios.py
	$(PY) benchmarks/bench_parallel.py

# about 20 minutes: the whole suite sequential, then `make pytest` (not part of `bench`)
bench-suite: $(STAMP) $(NODE_DEPS)
	$(PY) benchmarks/bench_suite.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
