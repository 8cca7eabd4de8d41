"""Atomic writes: durable ones fsync the file and its folder; the audio cache's skip both."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from voxcli.convert.cache import AudioCache
from voxcli.fsutil import TEMP_SUFFIX, atomic_write_bytes


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return calls


def test_durable_write_fsyncs_the_file_and_its_folder(tmp_path: Path, fsyncs: list[int]) -> None:
    atomic_write_bytes(tmp_path / "a.bin", b"one")
    assert (tmp_path / "a.bin").read_bytes() == b"one"
    assert len(fsyncs) == 2


def test_write_without_fsync_is_still_atomic(tmp_path: Path, fsyncs: list[int]) -> None:
    (tmp_path / "b.bin").write_bytes(b"old")
    atomic_write_bytes(tmp_path / "b.bin", b"new", durable=False)
    assert (tmp_path / "b.bin").read_bytes() == b"new"
    assert not fsyncs
    assert not list(tmp_path.glob(f"*{TEMP_SUFFIX}"))


def test_cache_entries_are_written_without_fsync(tmp_path: Path, fsyncs: list[int]) -> None:
    cache = AudioCache(tmp_path / "cache")
    samples = (np.sin(np.arange(8000) / 7.0) * 10_000).astype(np.int16)
    cache.put("ab" + "0" * 62, samples, 16000, None)
    assert not fsyncs
    entry = cache.get("ab" + "0" * 62)
    assert entry is not None and np.array_equal(entry.samples, samples) and entry.sample_rate == 16000
