# Two commands set everything up on a fresh machine:
#   make run    — embedded broker + worker + simulated city, alerts live in the terminal
#   make test   — lint and the whole test suite (unit, agent and end-to-end)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/gridwatch run $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

test: lint
	$(BIN)/pytest $(ARGS)

# Every speed figure of the README, each against its baseline (tens of minutes).
bench: $(STAMP)
	$(BIN)/python bench/bench_replay.py --persons 1000 --days 7
	$(BIN)/python bench/bench_live.py --persons 4000 --days 1 --partitions 8 --workers 2
	$(BIN)/python bench/bench_checkpoint.py
	$(BIN)/python bench/bench_presence.py
	$(BIN)/python bench/bench_patterns.py
	$(BIN)/python bench/bench_iot.py

clean:
	rm -rf $(VENV) out .pytest_cache
