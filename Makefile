# Two commands on a fresh machine: `make demo` (the main job on the built-in voice) and `make test`.
# Both create .venv on first use and install exactly what requirements.lock pins (hashes checked).
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
LOCK := requirements.lock
# The first Python 3.10-3.12 on PATH (torch, kokoro and coqui-tts support these).
PYTHON ?= $(shell for p in python3.12 python3.11 python3.10 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] < (3, 13))' 2>/dev/null \
	&& echo $$p && break; done)
PIP := $(BIN)/python -m pip --disable-pip-version-check
PYTEST := $(BIN)/python -m pytest
# The demo: a story from Children's Literature, chapter 10, Andersen's "The Real Princess" (the
# princess and the pea, with the editors' note on Andersen before it), spoken with the built-in voice.
DEMO_BOOK ?= examples/childrens-literature.epub
DEMO_CHAPTERS ?= 10
# uv, itself pinned with hashes in its own small lock, in its own venv: it installs the lock into
# .venv and makes it (make lock).
LOCK_VENV := .venv-lock
LOCK_FLAGS := --universal --python-version 3.10 --generate-hashes \
	--extra test --extra ray --custom-compile-command 'make lock'
# make test-latest: a venv from the pyproject ranges alone (no lock), then the engine tests.
LATEST_VENV := .venv-latest
ENGINE_TESTS := tests/test_stack.py tests/test_engines.py tests/test_kokoro.py tests/test_kokoro_onnx.py \
	tests/test_coqui.py tests/test_xtts_tiny.py tests/test_doctor.py tests/test_say.py

.PHONY: install demo test test-fast test-latest lint typecheck unit lock lock-upgrade clean

# The lock is installed by uv (pinned with hashes in requirements-uv.lock): the same wheels, hashes
# checked, in under a minute where pip takes about 4 (torch and its CUDA libraries are 6 GB unpacked).
# Bytecode is compiled here, as pip does: where PYTHONDONTWRITEBYTECODE is set (as on our CI machines),
# every process would otherwise compile torch, transformers and voxcli from source again.
$(BIN)/.installed: $(LOCK) pyproject.toml $(LOCK_VENV)/bin/uv
	@test -n "$(PYTHON)" || { echo "error: voxcli needs Python 3.10, 3.11 or 3.12 on PATH" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(LOCK_VENV)/bin/uv pip install --quiet --require-hashes --no-deps --compile-bytecode \
		--python $(BIN)/python -r $(LOCK)
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m compileall -q voxcli
	$(BIN)/python tools/lockcheck.py $(LOCK) --sync
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/voxcli chapters $(DEMO_BOOK)
	$(BIN)/voxcli convert $(DEMO_BOOK) --chapters $(DEMO_CHAPTERS) --format mp3,m4b

lint: install
	$(BIN)/ruff check voxcli tests bench tools
	$(BIN)/ruff format --check voxcli tests bench tools

typecheck: install
	$(BIN)/mypy

# The whole suite: what CI runs (through .ci/run).
# Two workers by default (make test WORKERS=1 runs serially); a test file stays in one worker, so its
# module fixtures (a converted book) are made once. A worker that crashes ends the run with its report:
# pytest-xdist 3.8's loadfile scheduler can wait forever after replacing one (pytest-xdist#1378).
WORKERS ?= 2
unit: install
	$(PYTEST) -n $(WORKERS) --dist loadfile --max-worker-restart 0 --durations=40

# mypy (a minute on one core) runs beside pytest, whose workers often wait on ffmpeg, Java or a server.
test: lint
	$(MAKE) --no-print-directory -j2 typecheck unit

# The edit loop: everything but the tests marked slow (whole books, several minutes of audio).
test-fast: install
	$(PYTEST) -m "not slow" -q

# Regenerate requirements.lock after changing a requirement in pyproject.toml: the pins already in
# the lock are kept where they still fit. lock-upgrade moves every package to its newest allowed release.
lock: $(LOCK_VENV)/bin/uv
	UV_PYTHON_DOWNLOADS=never $(LOCK_VENV)/bin/uv pip compile pyproject.toml $(LOCK_FLAGS) -o $(LOCK)

lock-upgrade: $(LOCK_VENV)/bin/uv
	UV_PYTHON_DOWNLOADS=never $(LOCK_VENV)/bin/uv pip compile pyproject.toml $(LOCK_FLAGS) --upgrade -o $(LOCK)

$(LOCK_VENV)/bin/uv: requirements-uv.lock
	@test -n "$(PYTHON)" || { echo "error: voxcli needs Python 3.10, 3.11 or 3.12 on PATH" >&2; exit 1; }
	test -x $(LOCK_VENV)/bin/python || $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip --disable-pip-version-check install --quiet --require-hashes \
		--no-deps -r requirements-uv.lock
	touch $@

# Not part of CI: how we learn that new releases allowed by pyproject.toml break an engine, before
# users do. Prints what differs from the lock, then runs the engine tests on those releases.
test-latest:
	@test -n "$(PYTHON)" || { echo "error: voxcli needs Python 3.10, 3.11 or 3.12 on PATH" >&2; exit 1; }
	rm -rf $(LATEST_VENV)
	$(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip --disable-pip-version-check install --quiet -e '.[test]'
	$(LATEST_VENV)/bin/python tools/lockcheck.py $(LOCK) --drift
	$(LATEST_VENV)/bin/python -m pytest $(ENGINE_TESTS) --durations=10

clean:
	rm -rf $(VENV) $(LOCK_VENV) $(LATEST_VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
