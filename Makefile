# The two commands of the README's quick start are `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve test check lint types unit install install-dev protos bench model clean

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

# The shipped default model (models/default), reproducibly: the packaged ASN
# database, a seeded 1M-row simulated log over it, and a seeded training run on
# the service's own (enriched) features. About 6 minutes on 2 cores.
MODEL_DATA ?= build/model-data
model: install
	$(BIN)/riskscore geo build-asn --data-dir $(MODEL_DATA)
	$(BIN)/riskscore simulate --rows 1000000 --seed 1 --days 14 \
		--output $(MODEL_DATA)/train.csv --data-dir $(MODEL_DATA)
	$(BIN)/riskscore train --input $(MODEL_DATA)/train.csv --output models/default \
		--seed 0 --enrich --data-dir $(MODEL_DATA)

bench: install-dev
	$(BIN)/python benchmarks/bench_score.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache
