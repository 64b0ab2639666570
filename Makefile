# meli-radar — the front door. `make help` lists the verbs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export CARGO_TARGET_DIR ?= /var/tmp/meli-radar-target
CARGO ?= cargo
DATA_DIR ?= .meli-radar
# Python tools (moto, checkov, pyspark, cargo-lambda) live in one virtualenv outside the clone, made
# and filled by the targets that need them; like the target dir, it survives between runs.
VENV ?= /var/tmp/meli-radar-venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: help demo test fmt fmt-check lint check-core-deps test-rust bench sandbox

help: ## list the verbs
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-18s %s\n", $$1, $$2}'

demo: ## run the whole pipeline over a simulated 48 h against the built-in sandbox
	$(CARGO) run --release -q -p meli-local --bin meli-radar -- demo --data-dir $(DATA_DIR)

test: fmt-check lint check-core-deps test-rust test-infra ## everything CI runs

fmt: ## format the code
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all --check

lint: ## clippy with warnings as errors
	$(CARGO) clippy --workspace --all-targets -- -D warnings

check-core-deps: ## meli-core stays free of I/O crates (no aws-*, reqwest, tokio runtime)
	@if $(CARGO) tree -p meli-core -e normal --prefix none | grep -E '^(aws-|reqwest|tokio |rusqlite|hyper )'; then \
		echo "meli-core must not depend on I/O crates (see DESIGN §3)"; exit 1; fi
	@echo "meli-core: no I/O dependencies"

test-rust:
	scripts/with-moto.sh $(CARGO) test --workspace

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# `make venv-<name>` installs requirements/<name>.txt into the virtualenv once (a stamp per file
# version), e.g. `make venv-moto`.
venv-%: requirements/%.txt | $(PY)
	@stamp=$(VENV)/.stamp-$*-$$(md5sum < $< | cut -c1-12); \
	if [ ! -f $$stamp ]; then $(PIP) install -q -r $< && touch $$stamp; fi

bench: ## benchmarks with figures against a baseline measured in the same run
	$(CARGO) run --release -q -p meli-sandbox --bin meli-sandbox-bench

sandbox: ## run the simulated marketplace on 127.0.0.1:8089
	$(CARGO) run --release -q -p meli-sandbox --bin meli-sandbox -- --addr 127.0.0.1:8089 --seed 42 --speed 60
