# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export GRADIO_ANALYTICS_ENABLED := False
export ORT_DISABLE_TELEMETRY := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: run test install dev chromium postgresql ingest lint eval bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, pinned to the CPU build that is cached on these machines.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed
dev: $(VENV)/.dev-installed

# Debian chromium for the browser tests (Playwright cannot download browsers here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

# Debian PostgreSQL server binaries: the audit tests start their own server on 127.0.0.1.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq postgresql; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq postgresql; fi; }

ingest: install
	$(BIN)/advisor ingest

# The app syncs the index from corpus/ itself at start-up (only changed files are embedded).
run: install
	$(BIN)/python app.py

lint: dev
	$(BIN)/ruff check advisor tests app.py bench
	$(BIN)/mypy advisor

eval: dev
	$(BIN)/advisor eval --cases evals/cases --baseline evals/baseline.json --out evals/reports/latest --no-progress

test: dev chromium postgresql
	$(BIN)/ruff check advisor tests app.py bench
	$(BIN)/mypy advisor
	$(BIN)/pytest
	$(BIN)/advisor eval --cases evals/cases --baseline evals/baseline.json --out evals/reports/latest --no-progress

bench: install
	$(BIN)/python bench/run.py --regulations ../shared/data/regulations --out bench/results.json

clean:
	rm -rf $(VENV) .advisor evals/reports
