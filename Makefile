# Everything runs inside .venv, created on first use from pyproject.toml.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install codegen codegen-check lint typecheck gate check test test-kafka kafka-jars bench demo clean

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Regenerate src/contracts/events from schemas/ (cached; a no-change rerun is instant).
codegen: $(STAMP)
	$(BIN)/contracts codegen

## Exit 1, naming the stale files, when the committed generated package differs from schemas/.
codegen-check: $(STAMP)
	$(BIN)/contracts codegen --check

## Schema lint, then ruff and mypy --strict on src/ (generated code included) and codegen/.
lint: $(STAMP)
	$(BIN)/contracts lint
	$(BIN)/ruff check src codegen tests bench
	$(BIN)/mypy

## The compatibility gate: schemas/ against compatibility/ (history and deployments).
gate: $(STAMP)
	$(BIN)/contracts compat check

check: lint codegen-check gate

## Every test (Kafka tests on Tansu, the Apache Kafka proofs on Apache Kafka), then every Kafka test again on Apache Kafka.
test: $(STAMP)
	$(BIN)/pytest -q
	$(MAKE) --no-print-directory test-kafka

## The tests that talk to a broker, on Apache Kafka (Java 17; jars from Maven Central, cached; skipped, saying why, without).
test-kafka: $(STAMP)
	CONTRACTS_BROKER=kafka $(BIN)/pytest -q -m "kafka and not apache_kafka"

## Apache Kafka's jars from Maven Central into the cache (~/.cache/event-contracts; instant once there).
kafka-jars: $(STAMP)
	$(BIN)/python -m contracts.testing.apache_kafka

bench: $(STAMP)
	$(BIN)/python -m bench

## The example pipeline; BROKER=kafka runs it on Apache Kafka.
demo: $(STAMP)
	$(BIN)/contracts demo $(if $(BROKER),--broker $(BROKER))

clean:
	rm -rf $(VENV) .contracts-cache .pytest_cache .mypy_cache .ruff_cache
