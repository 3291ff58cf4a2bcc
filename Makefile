# Every target bootstraps .venv itself, so a fresh clone needs only Python 3.11+ and make.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_DB ?= demo.db

.PHONY: help demo test lint typecheck bench clean

help:
	@echo "make demo   - set up .venv and build the demo organisation into $(DEMO_DB) (SQLite)"
	@echo "make test   - set up .venv and run lint, type checks and the whole test suite"
	@echo "make bench  - run the benchmarks (heavy; not part of make test)"

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Paceline needs Python 3.11 or newer on PATH" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/paceline --db sqlite:///$(DEMO_DB) demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy src

test: lint typecheck
	$(BIN)/pytest -n 2

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(DEMO_DB) $(DEMO_DB)-* *.truth.json
