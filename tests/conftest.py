"""Shared fixtures: the real-book corpus beside the repository, and a CLI runner."""

from __future__ import annotations

import os
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


@pytest.fixture(autouse=True)
def _no_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
