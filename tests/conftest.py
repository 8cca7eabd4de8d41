"""Shared fixtures: the real-book corpus beside the repository, and a CLI runner."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("VOXCLI_CORPUS", REPO.parent / "shared" / "corpus"))


def corpus_file(*parts: str) -> Path:
    """A file of ../shared/corpus; CI always has it, so its absence fails there."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"test corpus missing: {path}")
        pytest.skip(f"test corpus not present at {CORPUS} (set VOXCLI_CORPUS)")
    return path


def corpus_files(folder: str, pattern: str = "*") -> list[Path]:
    return sorted((CORPUS / folder).glob(pattern))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with no voices.toml, and empty user config and data folders."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("VOXCLI_VOICES", raising=False)
    monkeypatch.delenv("VOXCLI_PIPER_DIR", raising=False)
    return work


@pytest.fixture
def fake_engines(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Register the test engines 'fake' and 'missing' (undone after the test)."""
    from voxcli import engines

    monkeypatch.setitem(engines.BUILTIN, "fake", "tests.fake_engine:FakeEngine")
    monkeypatch.setitem(engines.BUILTIN, "missing", "tests.fake_engine:MissingEngine")
    engines.registry.cache_clear()
    yield
    monkeypatch.undo()
    engines.registry.cache_clear()


def user_voices(tmp_path: Path) -> Path:
    """Where the ``isolated`` fixture's user voices.toml lives."""
    return tmp_path / "config" / "voxcli" / "voices.toml"


@pytest.fixture(autouse=True)
def _no_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
