# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The national axis's SDK and reference edXML library, driven by the interop tests.
export AXIS_VXP_SDK_DIR ?= $(abspath ../shared/interop/vxp)

.PHONY: run test lint format bench bench-real-postgres bench-postgres bench-push clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/axis serve

# Debian packages the test suite drives for real (pdfsig, qpdf, SoftHSM2, Chromium, fonts).
system-deps:
	@scripts/install-system-deps.sh
	@[ -d tests/support/oidc/node_modules/oidc-provider ] || npm ci --prefix tests/support/oidc --no-audit --no-fund --silent

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The real workload (signed twice, strict policy, rules on) beside the unsigned run, one sitting.
bench: $(STAMP)
	$(BIN)/python -m bench.real_workload

bench-real-postgres: $(STAMP)
	$(BIN)/python -m bench.real_workload --postgres

# PostgreSQL at 127.0.0.1:5432 (or AXIS_TEST_DATABASE_URL): end to end with 1 and 2 API
# processes, and push delivery with 1 and 2 workers.
bench-postgres: $(STAMP)
	$(BIN)/python -m bench.bench_postgres

bench-push: $(STAMP)
	$(BIN)/python -m bench.bench_push

clean:
	rm -rf $(VENV) axis-data .pytest_cache
