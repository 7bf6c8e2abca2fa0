# Everything a developer or CI runs goes through these targets; `make test` works on a
# fresh machine with only Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VERSION ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE   ?= quay.io/must-gather-api/must-gather-api:$(VERSION)
ENGINE  ?= $(shell command -v podman || command -v docker)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# The archive readers (omg, must-gather-parser) in a virtual environment of their own:
# their pins clash with ours (o-must-gather needs click 7). Only PyPI is needed.
READERS := .venv-readers
READERS_STAMP := $(READERS)/.installed-stamp
# axe-core from npm, for the web page's accessibility checks (they skip without it)
AXE_VERSION := 4.14.1
AXE    := $(VENV)/axe/node_modules/axe-core/axe.min.js

.PHONY: help venv readers lint typecheck format test test-fast serve demo bench soak clean readme docs image

help:
	@echo "make test    lint, type checks and the whole test suite (creates .venv)"
	@echo "make serve   run the service on this machine (see README for settings)"
	@echo "make demo    the service against kubesim, the simulated cluster"
	@echo "make lint    ruff, import-linter and mypy only"
	@echo "make bench   benchmarks against their peers (not part of make test)"
	@echo "make soak    long reliability runs (not part of make test)"
	@echo "make image   the container image, with podman or docker"
	@echo "make docs    regenerate the settings tables in README.md and docs/"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

venv: $(STAMP)

$(READERS_STAMP): tests/readers-requirements.txt
	$(PYTHON) -m venv $(READERS)
	$(READERS)/bin/python -m pip install --quiet --upgrade pip
	$(READERS)/bin/python -m pip install --quiet -r tests/readers-requirements.txt
	@touch $@

readers: $(READERS_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy
	MYPYPATH=src:tests $(BIN)/mypy --explicit-package-bases tests
	MYPYPATH=src:tests $(BIN)/mypy --explicit-package-bases bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

$(AXE):
	@if command -v npm >/dev/null; then \
	npm install --silent --no-audit --no-fund --prefix $(VENV)/axe axe-core@$(AXE_VERSION) \
	|| echo "npm could not install axe-core: the accessibility checks will skip"; \
	else echo "npm not found: the web page's accessibility checks will skip"; fi

# Measured at 85% (branch coverage, 2026-12-04); the floor keeps a margin for the tests
# that skip where a system package is missing.
COVERAGE_FLOOR ?= 82

test: lint $(AXE) $(READERS_STAMP)
	$(BIN)/pytest -m "not soak and not bench" \
		--cov --cov-report=term:skip-covered --cov-fail-under=$(COVERAGE_FLOOR) --durations=25 $(PYTEST_ARGS)

test-fast: $(STAMP) $(AXE) $(READERS_STAMP)
	$(BIN)/pytest -m "not soak and not bench" -x -q $(PYTEST_ARGS)

serve: $(STAMP)
	$(BIN)/must-gather-api serve

demo: $(STAMP)
	$(BIN)/must-gather-api demo

bench: $(STAMP)
	$(BIN)/python -m bench

soak: $(STAMP)
	$(BIN)/pytest -m soak $(PYTEST_ARGS)

# The settings tables in README.md and docs/configuration.md are generated; tests compare them.
readme docs: $(STAMP)
	for doc in README.md docs/configuration.md; do \
	$(BIN)/python -c 'import re, sys, pathlib; from must_gather_api.cli import settings_help as h; \
	p = pathlib.Path(sys.argv[1]); t = p.read_text(); \
	p.write_text(re.sub(r"(<!-- settings-table:start[^>]*-->\n).*?(<!-- settings-table:end -->)", \
	lambda m: m.group(1) + h.as_markdown() + "\n" + m.group(2), t, flags=re.S))' $$doc; done

image:
	@test -n "$(ENGINE)" || { echo "make image: needs podman or docker" >&2; exit 1; }
	$(ENGINE) build -f Containerfile --build-arg VERSION=$(VERSION) -t $(IMAGE) .

clean:
	rm -rf $(VENV) $(READERS) .mypy_cache .ruff_cache .pytest_cache .hypothesis .import_linter_cache
