# Concerns about Care. `make help` lists the targets.
SHELL := /bin/bash
# Debian's own Python when it can make a virtualenv: it is built with profile-guided and
# link-time optimisation, and runs this product's code a quarter to a third faster than an
# interpreter built from source without them (docs/performance.md). Any python3 otherwise.
SYSTEM_PYTHON := $(shell /usr/bin/python3 -c 'import ensurepip, sys; assert sys.version_info >= (3, 11)' 2>/dev/null && echo /usr/bin/python3)
PYTHON ?= $(or $(SYSTEM_PYTHON),python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@if [ -f package.json ] && command -v npm >/dev/null; then \
	  npm install --no-audit --no-fund --silent && npm run --silent build; \
	else echo "npm not found: the web pages will use their plain stylesheet"; fi
	touch $(STAMP)

install: $(STAMP) ## Create the virtualenv and install everything

run: install ## Set up the database with demo data and start the web app on 127.0.0.1:8000
	$(BIN)/concerns init --demo
	@echo
	@echo "Try: $(BIN)/concerns case list --as alex"
	@echo "     $(BIN)/concerns case show CAC-$$(date +%Y)-0003 --as alex"
	@echo "     open http://127.0.0.1:8000/login (user dana, alex or erin; password concerns-demo)"
	@echo "     (the demo server asks no second factor; a real install does: [web] second_factor)"
	CONCERNS_SECOND_FACTOR=off $(BIN)/concerns serve --with-scheduler

lint: install ## ruff and mypy
	$(BIN)/ruff check concerns tests bench
	$(BIN)/mypy

# One worker per core; a test file stays on one worker (its module fixtures are made once).
# `make test TEST_WORKERS=0` runs in one process.
TEST_WORKERS ?= auto

test: lint ## Lint, then the whole test suite (unit, integration, e2e, browser)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

bench: install ## Benchmarks, each against a bare baseline; writes bench/results.json
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done
	@$(BIN)/python bench/common.py

diagram: install ## Regenerate docs/lifecycle.md from the lifecycle table
	$(BIN)/concerns diagram --out docs/lifecycle.md

docs: diagram ## Regenerate docs/cli.md, docs/configuration.md and docs/form-schema.json
	$(BIN)/python -m concerns.cli.reference docs

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var/*.db* node_modules

.PHONY: help install run lint test bench diagram docs clean
