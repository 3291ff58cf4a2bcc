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

# `make test` runs the lint first (under a second: the commonest mistakes fail at once), then
# the rest at once rather than one after another: mypy and the tests marked `dated` at four
# days start in the background, and the main run in the foreground. The background checks run
# under `nice`, so they take the cores mainly while the main run's workers wait (on
# PostgreSQL, chromium, the servers and schedulers its tests start in subprocesses): run
# first, mypy alone kept one core busy and the other idle for 14 s, and the dated days added
# their half minute to the wall time. Each check's output is printed, under its name, when the
# main run ends, and a last line names any part that failed; any failure fails the target.
# The tests marked `dated` build their data relative to the test day; they run again at a
# month's first business day, a Saturday, the Monday after the end of DST and at year end, so a
# suite that passes on one day and fails on another is caught here, not on that day. Each day
# runs in one process (-n 0): the few dozen tests are cheaper than the three imports and
# collections of the suite that -n 2 cost each day. Each collects only the test files in which
# the word `dated` appears (`grep -lw`), not the whole suite: 10 CPU s a day, not 13.
# tests/test_suite_layout.py fails when a test marked `dated` is in a file without the word.
# The main run hands out tests with worksteal: an idle worker takes tests queued for the busy
# one, so the run does not end on one worker working through its queue while the other waits.
# It has TEST_WORKERS workers, one more than the two cores, for the same waits: a worker costs
# some 5 CPU s to start (importing and collecting the suite).
DATED_DAYS ?= 2026-12-01 2026-12-05 2026-11-02 2026-12-31
TEST_WORKERS ?= 3
CHECKS_NICE ?= 10

test: lint
	@logs=$$(mktemp -d); jobs=; \
	check() { name=$$1; shift; nice -n $(CHECKS_NICE) "$$@" >$$logs/$$name.log 2>&1 & \
		jobs="$$jobs $$name=$$!"; }; \
	check mypy $(BIN)/mypy src; \
	dated_files=$$(grep -rlw --include='test_*.py' dated tests); \
	for day in $(DATED_DAYS); do \
		check dated-$$day env PYTHONDONTWRITEBYTECODE= PACELINE_TEST_TODAY=$$day \
			$(BIN)/pytest -n 0 -q -p no:cacheprovider -m dated $$dated_files; \
	done; \
	trap 'for job in $$jobs; do kill $${job#*=} 2>/dev/null; done' INT TERM; \
	failed=; PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal \
		|| failed=" main-run"; \
	for job in $$jobs; do name=$${job%%=*}; \
		if wait $${job#*=}; then verdict=passed; else verdict=FAILED; failed="$$failed $$name"; fi; \
		echo "== $$name: $$verdict"; cat $$logs/$$name.log; \
	done; \
	rm -rf $$logs; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed" >&2; exit 1; fi; \
	echo "make test: lint, types, the dated days and the main run passed"

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
