# Two commands matter: `make run` and `make test`. Each installs what it needs the first time.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-unit lint install clean bench

$(STAMP): pyproject.toml
	@echo "==> creating virtualenv and installing alertfold (first run only)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/alertfold up

test: install
	@scripts/ensure-postgres
	@scripts/ensure-mariadb
	@scripts/ensure-chromium
	$(BIN)/pytest

test-unit: install
	$(BIN)/pytest tests/unit

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache *.egg-info
