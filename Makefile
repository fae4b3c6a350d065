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

clean:
	rm -rf $(VENV) out .pytest_cache
