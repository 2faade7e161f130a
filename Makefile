# The two commands of the README's quick start are `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve test check lint types unit install install-dev protos bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'

# Installs into a fresh virtualenv and runs the gRPC service on embedded
# defaults (SQLite, packaged GeoLite2 City, ASN DB built on first start).
serve: install
	$(BIN)/riskscore serve $(ARGS)

# Installs everything and runs the whole suite: lint, types, tests.
test: install-dev check

check: lint types unit

lint:
	$(BIN)/ruff check riskscore tests benchmarks
	$(BIN)/ruff format --check riskscore tests benchmarks

types:
	$(BIN)/mypy

unit:
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

protos: install-dev
	PYTHON=$(BIN)/python scripts/gen_protos.sh

bench: install-dev
	$(BIN)/python benchmarks/bench_score.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache
