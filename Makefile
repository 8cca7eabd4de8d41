# Two commands on a fresh machine: `make demo` (the main job on the built-in voice) and `make test`.
# Both create .venv and install what they need on first use.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
# The first Python 3.10-3.12 on PATH (torch, kokoro and coqui-tts support these).
PYTHON ?= $(shell for p in python3.12 python3.11 python3.10 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] < (3, 13))' 2>/dev/null \
	&& echo $$p && break; done)
DEMO_BOOK ?= examples/childrens-literature.epub

.PHONY: install demo test lint typecheck unit bench clean

$(BIN)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: voxcli needs Python 3.10, 3.11 or 3.12 on PATH" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/voxcli chapters $(DEMO_BOOK)
	$(BIN)/voxcli convert $(DEMO_BOOK) --chapters 1-3 --format mp3

lint: install
	$(BIN)/ruff check voxcli tests bench

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/python -m pytest

test: lint typecheck unit

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
