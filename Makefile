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

test: fmt-check lint check-core-deps chromium test-rust test-infra test-spark ## everything CI runs (the report's Chromium test runs inside test-rust)

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
	scripts/with-moto.sh $(CARGO) test --workspace --no-fail-fast

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# `make venv-<name>` installs requirements/<name>.txt into the virtualenv once (a stamp per file
# version), e.g. `make venv-moto`.
venv-%: requirements/%.txt | $(PY)
	@stamp=$(VENV)/.stamp-$*-$$(md5sum < $< | cut -c1-12); \
	if [ ! -f $$stamp ]; then $(PIP) install -q -r $< && touch $$stamp; fi

bench: ## benchmarks with figures against a baseline measured in the same run
	$(CARGO) bench -q -p meli-sandbox --bench throughput
	$(CARGO) bench -q -p meli-core --bench scorer
	$(CARGO) bench -q -p meli-local --bench fetch
	$(CARGO) bench -q -p meli-local --bench notify_latency
	$(MAKE) --no-print-directory bench-spark
	$(MAKE) --no-print-directory package LAMBDA_FUNCTIONS="$(LAMBDA_FUNCTIONS) lambda-hello" && LAMBDA_DIR=$(LAMBDA_DIR) PATH="$(VENV)/bin:$$PATH" scripts/with-moto.sh $(CARGO) bench -q -p lambda-bench --bench lambda

sandbox: ## run the simulated marketplace on 127.0.0.1:8089
	$(CARGO) run --release -q -p meli-sandbox --bin meli-sandbox -- --addr 127.0.0.1:8089 --seed 42 --speed 60

# ---- AWS: the Terraform checks, the Lambda zips, the local invoke loop (docs/deploy.md) ----

.PHONY: test-infra venv-checkov package invoke-fetcher bench-lambda

CHECKOV_VENV := $(VENV)-checkov
ARCH ?= x86_64
LAMBDA_DIR ?= $(CURDIR)/target/lambda
# The zips build in their own target dir: a cross build (zig linker, haswell) shares no artefacts with
# the host builds, and in the shared dir it queued behind every other build's lock.
LAMBDA_TARGET_DIR ?= /var/tmp/meli-radar-lambda-target
LAMBDA_FUNCTIONS := fetcher trend-scorer notifier

test-infra: venv-infra venv-checkov ## Terraform checks: every .tf parses, the wiring matches the code, checkov
	CHECKOV=$(CHECKOV_VENV)/bin/checkov $(PY) -m pytest -q infra/tests

# checkov pins packaging<24, which the shared virtualenv's pytest 9 cannot use: it gets its own.
venv-checkov: requirements/checkov.txt
	@stamp=$(CHECKOV_VENV)/.stamp-$$(md5sum < $< | cut -c1-12); \
	if [ ! -f $$stamp ]; then python3 -m venv $(CHECKOV_VENV) && $(CHECKOV_VENV)/bin/pip install -q -r $< && touch $$stamp; fi

# ---- Spark: the batch job over the whole history (spark/README.md) ----

.PHONY: test-spark spark-demo bench-spark spark-package

# The Spark demo has its own demo store: 7 simulated days, since the fetcher reads review totals every
# 48 h (FetchConfig.reviews_ttl) and the calibration needs two readings after the first.
SPARK_DEMO_DIR ?= $(DATA_DIR)/spark-demo
SPARK_DEMO_PERIOD ?= 7d
SPARK_OUT ?= $(SPARK_DEMO_DIR)/spark
RUN_DATE ?= $(shell date -u +%Y-%m-%d)
BENCH_ENTRIES ?= 10000000
MELI_RADAR_BIN := $(CARGO_TARGET_DIR)/release/meli-radar

test-spark: venv-spark ## the Spark job's tests (PySpark local mode): parity vectors, calibration, export reader
	$(PY) -m pytest -q spark/tests

spark-demo: venv-spark ## the Spark job over a 7-day demo's data: export, signals, reports, calibration
	$(CARGO) build --release -q -p meli-local --bin meli-radar
	@if [ ! -f $(SPARK_DEMO_DIR)/radar.db ]; then \
		echo "meli-radar demo --period $(SPARK_DEMO_PERIOD) (log: $(SPARK_DEMO_DIR).log) …"; mkdir -p $(SPARK_DEMO_DIR); \
		$(MELI_RADAR_BIN) demo --period $(SPARK_DEMO_PERIOD) --data-dir $(SPARK_DEMO_DIR) > $(SPARK_DEMO_DIR).log 2>&1 \
			|| { tail -n 30 $(SPARK_DEMO_DIR).log; exit 1; }; \
		sed -n '/^== Summary ==/,/^$$/p' $(SPARK_DEMO_DIR).log; \
	else echo "reusing the demo store $(SPARK_DEMO_DIR) (remove it for a fresh demo)"; fi
	$(MELI_RADAR_BIN) export --format ndjson --out $(SPARK_DEMO_DIR)/export --data-dir $(SPARK_DEMO_DIR)
	PYTHONPATH=spark SPARK_LOCAL_DIRS=$(SPARK_DEMO_DIR)/spark-tmp $(PY) -m meli_radar_spark.job --master 'local[2]' --input $(SPARK_DEMO_DIR)/export \
		--out $(SPARK_OUT) --run-date $(RUN_DATE) 2> $(SPARK_DEMO_DIR)/spark-job.log \
		|| { tail -n 40 $(SPARK_DEMO_DIR)/spark-job.log; exit 1; }
	$(MELI_RADAR_BIN) import --input $(SPARK_OUT)/calibration/items.json --data-dir $(SPARK_DEMO_DIR)

bench-spark: venv-spark ## the Spark job on a generated history (BENCH_ENTRIES, default 10 M), next to the Rust scorer
	$(CARGO) build --release -q -p meli-local --bin meli-radar
	PYTHONPATH=spark $(PY) spark/bench.py --entries $(BENCH_ENTRIES) --meli-radar $(MELI_RADAR_BIN)

spark-package: ## the Spark job's code for EMR Serverless: target/spark/meli_radar_spark.zip (infra/spark.tf uploads it)
	@mkdir -p target/spark
	cd spark && python3 -c "import zipfile, glob; z = zipfile.ZipFile('../target/spark/meli_radar_spark.zip', 'w', zipfile.ZIP_DEFLATED); [z.write(f) for f in sorted(glob.glob('meli_radar_spark/*.py'))]; z.close()"
	@echo "target/spark/meli_radar_spark.zip"

# ---- The HTML report (docs/report.md) ----

.PHONY: test-report chromium

chromium: # Debian's chromium, for the report test (which runs in test-rust and in test-report)
	@command -v chromium >/dev/null || ! command -v apt-get >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "could not install chromium: the report test will be skipped (or fail under CI=true)"

test-report: chromium ## the HTML report of a hostile sandbox run in headless Chromium; target/report.png
	$(CARGO) test -p meli-local --test local report::

# The three bootstrap.zip files Terraform deploys (infra/, lambda_zip_dir), glibc-checked for provided.al2023.
# Dependencies (the AWS SDK is most of each binary) are optimized for size, our own crates for speed:
# the zips stay under 6 MB and the scorer's code keeps opt-level 3 (docs/deploy.md has the figures).
package: venv-lambda ## build the Lambda zips (cargo lambda; ARCH=x86_64 default, ARCH=arm64 where installed)
	PATH="$(VENV)/bin:$$PATH" CARGO_TARGET_DIR=$(LAMBDA_TARGET_DIR) $(CARGO) lambda build --release --output-format zip \
		--config 'profile.release.package."*".opt-level="s"' \
		$(if $(filter arm64,$(ARCH)),--arm64,--x86-64) --lambda-dir $(LAMBDA_DIR) \
		$(foreach f,$(LAMBDA_FUNCTIONS),--bin $(f))
	scripts/check-glibc.sh $(LAMBDA_DIR) $(LAMBDA_FUNCTIONS)

# The fetcher once, under `cargo lambda watch` + `cargo lambda invoke`, against the sandbox and moto.
invoke-fetcher: venv-lambda venv-moto ## run the fetcher Lambda locally once (sandbox + moto + cargo lambda)
	PATH="$(VENV)/bin:$$PATH" scripts/with-moto.sh scripts/invoke-fetcher.sh
