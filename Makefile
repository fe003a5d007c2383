# Everything a newcomer needs: `make demo` and `make test`. Both create and reuse .venv.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DIR ?= .demo
PORT   ?= 3000

.DEFAULT_GOAL := help
.PHONY: help venv system-deps demo test test-unit lint bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency pins change.
$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/pip install --quiet --upgrade "pip==25.3"
	$(BIN)/pip install --quiet -c requirements.lock -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP) ## create/update .venv

system-deps: ## the system programs the tests drive (Debian's chromium and postgresql)
	@tests/support/system_packages.sh

demo: $(STAMP) ## simulate a CRM, train, validate, register the champion and serve it (PORT=3000)
	$(BIN)/leadscore demo --workdir $(DEMO_DIR) --port $(PORT)

test: $(STAMP) system-deps ## run the whole test suite
	$(BIN)/python -m pytest -n 2 --dist loadgroup tests

test-unit: $(STAMP) ## run the fast unit tests only
	$(BIN)/python -m pytest -n 2 tests/unit

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .

bench: $(STAMP) ## run the benchmarks (writes benchmarks/results/*.json)
	$(BIN)/python benchmarks/run_all.py

clean: ## remove the venv and generated files
	rm -rf $(VENV) $(DEMO_DIR) mlruns mlflow.db .pytest_cache
