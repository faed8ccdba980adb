# renewals — the two commands: `make run` and `make test`. `make help` lists the rest.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# One resolution for every Python from 3.11 on, with hashes; `make lock` is the only writer.
LOCK_FLAGS := --quiet --generate-hashes --universal --python-version 3.11

.DEFAULT_GOAL := help
.PHONY: help run test lint lock bench samples system clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

system: ## install missing Debian packages (when root)
	@missing=$$(grep -vE '^\s*(#|$$)' system-packages.txt | while read -r p; do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' || echo "$$p"; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing system packages: $$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else \
			echo "Missing system packages (install them as root): $$missing" >&2; \
		fi; \
	fi

$(STAMP): requirements/dev.txt pyproject.toml system-packages.txt
	@$(MAKE) --no-print-directory system
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) 2>/dev/null || { \
		rm -rf $(VENV); \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing python3-venv"; apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; \
		fi; \
		$(PYTHON) -m venv $(VENV); }
	@# Every version and hash comes from the lock; the project itself is installed without
	@# resolving anything (its build backend, setuptools, is in the lock too).
	$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements/dev.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

lock: $(STAMP) ## re-resolve requirements/*.txt after editing pyproject.toml (LOCK_ARGS=--upgrade: newest of everything)
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) $(LOCK_ARGS) -o requirements/runtime.txt
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) $(LOCK_ARGS) --extra dev --constraint requirements/runtime.txt -o requirements/dev.txt
	@echo "Lock updated: review 'git diff requirements/', run 'make test', commit both files."

run: $(STAMP) ## set up, migrate, start Redis, API, worker and scheduler
	$(BIN)/renewals run

test: $(STAMP) ## set up and run the whole test suite
	$(BIN)/python -m pytest

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP) ## benchmarks under bench/, report in docs/benchmarks.md
	$(BIN)/python -m bench

samples: $(STAMP) ## PNGs of every notice kind and language, and of every page, into docs/samples/
	$(BIN)/python -m renewals.domain.notices.samples docs/samples
	$(BIN)/python -m renewals.api.pages.screenshots docs/samples/pages --language zh-Hant

clean: ## remove the virtualenv and local data
	rm -rf $(VENV) var
