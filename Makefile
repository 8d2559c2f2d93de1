# Everything bootstraps itself from python3: a private uv in .tools/, then the locked
# environment in .venv/ (uv sync --locked fails if uv.lock and pyproject.toml disagree).
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON := $(shell command -v $(PYTHON))
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: all env test lint typecheck pytest demo serve bench generate gencheck check clean stress mutation

all: test

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(BIN)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --quiet
	touch $@

env: $(BIN)/.synced

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: env
	$(BIN)/mypy

generate: env
	$(BIN)/exo-spec generate

gencheck: env
	$(BIN)/exo-spec generate --check

check: env
	$(BIN)/exo-spec check spec/runner.yaml

pytest: env
	$(BIN)/python -m pytest -q -m "not slow"

test: gencheck lint typecheck pytest

demo: env
	$(BIN)/exo-spec demo

# The node daemon on the embedded model (http://127.0.0.1:52415; Ctrl-C stops it cleanly).
SERVE_ARGS ?=
serve: env
	$(BIN)/exo-spec node $(SERVE_ARGS)

bench: env
	$(BIN)/python tools/bench/run.py --load

clean:
	rm -rf .tools $(VENV) .mypy_cache .ruff_cache

# Races: the supervisor and runtime tests, ROUNDS times, beside a busy loop on one core.
ROUNDS ?= 20
stress: env
	$(BIN)/python tools/stress.py --rounds $(ROUNDS)

# The generated suite against cosmic-ray's mutants of the generated machine and the shared base
# (not part of `make test`; slow). SAMPLE=N runs N mutants per module; MUTATION.md is rendered.
SAMPLE ?=
mutation: env
	$(BIN)/python tools/mutation/run_tool.py $(if $(SAMPLE),--sample $(SAMPLE))
