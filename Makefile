# Every target bootstraps .venv itself, so a fresh clone needs only Python 3.11+ and make.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.installed-bench-stamp
DEMO_DB ?= demo.db
PORT    ?= 8000

.PHONY: help demo test test-fast lint typecheck bench clean

help:
	@echo "make demo   - set up .venv, build the demo organisation into $(DEMO_DB) (SQLite) and serve it"
	@echo "make test   - set up .venv and run lint, type checks and the whole test suite"
	@echo "make test-fast - the edit-test loop: SQLite only, no full demo, no browser, no slow (about 1 min)"
	@echo "make bench  - run the benchmarks (heavy; not part of make test); options in BENCH_ARGS,"
	@echo "              e.g. make bench BENCH_ARGS='--only tracking --scales 100k,1M --no-postgres'"

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Paceline needs Python 3.11 or newer on PATH" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/paceline --db sqlite:///$(DEMO_DB) demo
	$(BIN)/paceline --db sqlite:///$(DEMO_DB) serve --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports --no-cache  # the layers: contracts in pyproject.toml [tool.importlinter]

typecheck: $(STAMP)
	$(BIN)/mypy src

# The tests marked `dated` build their data relative to the test day; they run again at a
# month's first business day, a Saturday, the Monday after the end of DST and at year end, so a
# suite that passes on one day and fails on another is caught here, not on that day. The four
# days run at once, each in one process (-n 0) that collects only the test files in which the
# marker is named (`grep -l mark.dated`; tests/test_suite_layout.py fails when a test marked
# `dated` is in a file that does not name it): a few dozen tests are cheaper than the imports and
# collections of the whole suite. The four processes are forked from one that has imported the
# libraries every session needs (tools/dated_days.py): 36.8 and 34.8 CPU s for the four days
# against 48.9 and 47.3 as four `pytest` commands (2026-12-07, side by side under load). Each
# day's output is printed when all are done; any failure fails the target.
# The main run hands out tests with worksteal: an idle worker takes tests queued for the busy
# one, so the run does not end on one worker working through its queue while the other waits.
# mypy (the same check as `make typecheck`) runs beside the dated days: on a fresh clone, as CI
# runs it, it has no cache and takes some 20 CPU s on one core, which the dated days' four
# processes share with it instead of leaving the second core idle while it runs alone (with a
# warm cache it takes half a second either way).
# Measured on the idle 2-core machine (2026-12-06; the figures are in
# docs/development.md): lint and types, then the dated days, then
# `-n 2`, took 5 min 46 s; running mypy and the dated days beside the main run took 5 min 59 s
# with 2 workers and 6 min 17 s with 3, since the main run's workers wait less than their
# CPU seconds suggested and the extra processes cost CPU of their own.
DATED_DAYS ?= 2026-12-01 2026-12-05 2026-11-02 2026-12-31
TEST_WORKERS ?= 2

test: lint
	@logs=$$(mktemp -d); pids=; \
	$(BIN)/mypy src >$$logs/mypy.log 2>&1 & pids="$$pids $$!"; \
	dated_files=$$(grep -rlF --include='test_*.py' mark.dated tests); \
	PYTHONDONTWRITEBYTECODE= $(BIN)/python tools/dated_days.py $$logs $(DATED_DAYS) -- -n 0 -q \
		-p no:cacheprovider -m dated $$dated_files & pids="$$pids $$!"; \
	status=0; for pid in $$pids; do wait $$pid || status=1; done; \
	echo "$(BIN)/mypy src"; cat $$logs/mypy.log; \
	for day in $(DATED_DAYS); do echo "tests marked dated, as of $$day"; cat $$logs/$$day.log; done; \
	rm -rf $$logs; exit $$status
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

# The edit-test loop: SQLite only, without the full demo builds and the browser.
# PYTHONDONTWRITEBYTECODE is cleared for the tests (a shell or CI image may set it): without
# the __pycache__ files (git ignores them) every worker compiles all of src/, tests/ and the
# plugins' sources again on every run, a tenth of the loop's CPU.
test-fast: $(STAMP)
	PYTHONDONTWRITEBYTECODE= PACELINE_TEST_FAST=1 $(BIN)/pytest -n 2 -q

# The benchmarks compare against DuckDB over Parquet: the `bench` extra, installed only here
# so that `make test` never needs it.
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .grimp_cache $(DEMO_DB) $(DEMO_DB)-* *.truth.json
