# One way to run everything. `make demo` and `make test` work on a fresh machine with Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/.dagster
export GX_ANALYTICS_ENABLED := False
# nothing leaves the machine: Dagster uploads (and deletes) $DAGSTER_HOME/logs otherwise
export DAGSTER_DISABLE_TELEMETRY := 1
# Runs at once (each in its own process); torch/BLAS/sklearn threads per run = cores / this.
export ONCOBENCH_CONCURRENT_RUNS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: setup demo test lint ui validate-defs expectations clean bench-setup

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency list or the lock changes.
$(VENV)/.installed: $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	touch $@

# The project's Dagster instance: runs queue and the daemon starts ONCOBENCH_CONCURRENT_RUNS at a time.
$(DAGSTER_HOME)/dagster.yaml: config/dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	sed -E 's/^( +max_concurrent_runs:).*/\1 $(ONCOBENCH_CONCURRENT_RUNS)/' config/dagster.yaml > $@

setup: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml

# Reference engines and attacks for bench/ only (ForestFlow, the domias package, shap 0.49 for
# bench/explanations.py: 0.50+ needs numpy 2, which anonymeter does not allow). ForestDiffusion
# goes in without its dependencies: its `xgboost` requirement pulls a CUDA NCCL wheel, and
# xgboost-cpu provides the same module.
bench-setup: setup .venv-argn/.installed
	$(BIN)/python -m pip install --quiet xgboost-cpu==3.2.0 lightgbm==4.7.0 catboost==1.2.10 domias==0.0.5 shap==0.49.1
	$(BIN)/python -m pip install --quiet --no-deps ForestDiffusion==1.0.6

# TabularARGN (mostlyai-engine) needs numpy 2 and pandas 3, which anonymeter and SDV forbid: its own
# environment, which the benches call through bench/argn_child.py (CPU torch, pinned like the project's).
# The torchvision and torchaudio it lists are builds for another torch that break `import transformers`;
# the tabular engine uses neither.
.venv-argn/.installed:
	$(PYTHON) -m venv .venv-argn
	.venv-argn/bin/python -m pip install --quiet torch==2.13.0
	.venv-argn/bin/python -m pip install --quiet torch==2.13.0 mostlyai-engine==2.7.3
	.venv-argn/bin/python -m pip uninstall --quiet --yes torchvision torchaudio
	touch $@

demo: setup
	$(BIN)/python -m runner.demo

test: setup
	$(BIN)/ruff check pipeline assets runner tests bench
	$(BIN)/python -m pipeline.expectations --check-samples
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check pipeline assets runner tests bench
	$(BIN)/ruff format --check pipeline assets tests bench

validate-defs: setup
	$(BIN)/dagster definitions validate -w workspace.yaml

ui: setup
	$(BIN)/dagster dev -w workspace.yaml

expectations: setup
	$(BIN)/python -m pipeline.expectations

clean:
	rm -rf data/assets data/warehouse.duckdb data/*.lock $(DAGSTER_HOME)
