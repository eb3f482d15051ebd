# recmesh: `make demo` and `make test` are the two set-up commands; both run `make setup`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup gen check-gen lint typecheck buf-lint buf-breaking test pytest demo up \
        bench-serving bench-promotion bench-offline bench-offline-ml-latest-small bench-smoke clean

setup: $(STAMP)
	@scripts/ensure_etcd.sh
	@scripts/ensure_infra_tools.sh

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

gen: $(STAMP)
	$(PY) scripts/gen_protos.py

check-gen: $(STAMP)
	$(PY) scripts/gen_protos.py --check

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

buf-lint: $(STAMP)
	$(BIN)/buf lint

# Compares protos/ with main's once main has protos (skipped before that).
buf-breaking: $(STAMP)
	@if git rev-parse --verify -q main >/dev/null && git ls-tree -r --name-only main | grep -q '^protos/.*\.proto$$'; then \
	  $(BIN)/buf breaking --against '.git#branch=main'; \
	else echo "buf breaking: main has no protos yet, nothing to compare"; fi

pytest: setup
	$(BIN)/pytest $(PYTEST_ARGS)

# The benchmark smoke runs first so that pytest's summary is the last thing printed.
test: setup lint typecheck buf-lint buf-breaking check-gen bench-smoke
	$(BIN)/pytest $(PYTEST_ARGS)

demo: setup
	$(PY) scripts/demo.py

up: setup
	$(BIN)/recmesh up

bench-serving: setup
	$(PY) -m bench.serving

# A few seconds of each benchmark, so CI keeps them working (figures are not checked).
bench-smoke: setup
	$(PY) -m bench.serving --smoke
	$(PY) -m bench.promotion --smoke
	$(PY) -m bench.offline --smoke
	$(PY) -m bench.hop_probe --calls 20 --smoke
	$(PY) -m bench.chain --smoke
	$(PY) -m bench.cold_work --calls 20 --smoke
	$(PY) -m bench.scoring --smoke
	$(PY) -m bench.telemetry_cost --smoke
	$(PY) -m bench.shadow_cost --smoke

bench-promotion: setup
	$(PY) -m bench.promotion

bench-offline: setup
	$(PY) -m bench.offline

# Needs ../shared/data/ml-latest-small (refused, exit 1, when absent); writes its own section.
bench-offline-ml-latest-small: setup
	$(PY) -m bench.offline --spec experiments/ml-latest-small.yaml

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
