"""The sentence audio cache: content-addressed, written atomically, trusted only when complete.

An entry is one file named by its key: a small JSON header (sample rate, sample count, word
timings) followed by the audio as FLAC (lossless, about half the size of PCM, and decoded about
3,000 times faster than real time). A file that is truncated or damaged, whatever killed the run
that wrote it, fails its checks and counts as missing.

Entries are renamed into place but not fsynced: a killed run leaves whole entries, and what a power
cut takes (the last half minute or so, not yet written back) fails those checks and is spoken again.
An fsync per sentence cost more than the FLAC encoding (about 2 % of a run with the built-in voice).
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxcli.arrays import Int16
from voxcli.engines.base import WordTiming
from voxcli.fsutil import atomic_write_bytes, make_dirs, remove_stale_temps

MAGIC = b"VOXC1\n"
_LENGTH = struct.Struct("<I")


@dataclass(frozen=True)
class Entry:
    samples: Int16  # int16 PCM, mono
    sample_rate: int  # Hz
    words: list[WordTiming] | None


def cache_key(speech: str, identity: dict[str, Any]) -> str:
    """sha256 of the text as spoken and everything that shapes its sound (voice, engine, version, rate)."""
    payload = json.dumps({"text": speech, **identity}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class AudioCache:
    """Entries under ``root/ab/abcdef....voxc``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.voxc"

    def has(self, key: str) -> bool:
        """Whether a complete entry exists (checked against the size its header declares; cheap)."""
        path = self.path(key)
        try:
            with path.open("rb") as handle:
                head = handle.read(len(MAGIC) + _LENGTH.size)
                if not head.startswith(MAGIC) or len(head) < len(MAGIC) + _LENGTH.size:
                    raise ValueError
                (length,) = _LENGTH.unpack_from(head, len(MAGIC))
                header = json.loads(handle.read(length))
                complete = bool(path.stat().st_size == len(head) + length + int(header["audio_bytes"]))
        except FileNotFoundError:
            return False
        except (OSError, ValueError, KeyError, TypeError):
            complete = False
        if not complete:
            path.unlink(missing_ok=True)
        return complete

    def get(self, key: str) -> Entry | None:
        """The entry, or None when it is missing or fails its checks (then it is removed)."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        entry = _decode(data)
        if entry is None:
            path.unlink(missing_ok=True)
        return entry

    def put(self, key: str, samples: Int16, sample_rate: int, words: list[WordTiming] | None) -> None:
        self.put_entry(key, encode_entry(samples, sample_rate, words))

    def put_entry(self, key: str, entry: bytes) -> None:
        """Store an entry :func:`encode_entry` made (perhaps on another machine)."""
        path = self.path(key)
        make_dirs(path.parent)
        atomic_write_bytes(path, entry, durable=False)

    def clean(self) -> int:
        """Remove temp files of killed runs; returns how many."""
        if not self.root.is_dir():
            return 0
        return sum(remove_stale_temps(folder) for folder in self.root.iterdir() if folder.is_dir())


class CacheMissing(Exception):
    """Sentences whose cache entries vanished or failed their checks after planning."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__(f"{len(keys)} cache entries missing")
        self.keys = keys


def encode_entry(samples: Int16, sample_rate: int, words: list[WordTiming] | None) -> bytes:
    """A cache entry's bytes: the header, then the audio as FLAC."""
    import soundfile

    audio = io.BytesIO()
    if len(samples):
        soundfile.write(audio, samples.astype("<i2"), sample_rate, format="FLAC", subtype="PCM_16")
    flac = audio.getvalue()
    header = json.dumps(
        {
            "rate": sample_rate,
            "samples": len(samples),
            "audio_bytes": len(flac),
            "words": None if words is None else [[w.word, w.start, w.end] for w in words],
        }
    ).encode("utf-8")
    return MAGIC + _LENGTH.pack(len(header)) + header + flac


def _decode(data: bytes) -> Entry | None:
    import soundfile

    start = len(MAGIC) + _LENGTH.size
    if not data.startswith(MAGIC) or len(data) < start:
        return None
    (length,) = _LENGTH.unpack_from(data, len(MAGIC))
    try:
        header = json.loads(data[start : start + length])
        rate, count = int(header["rate"]), int(header["samples"])
        if count == 0:
            samples = np.zeros(0, dtype=np.int16)
        else:
            samples, file_rate = soundfile.read(io.BytesIO(data[start + length :]), dtype="int16")
            if file_rate != rate:
                return None
        words = header["words"]
    except (ValueError, KeyError, TypeError, RuntimeError, soundfile.LibsndfileError):
        return None
    if samples.ndim != 1 or len(samples) != count:
        return None
    timings = None if words is None else [WordTiming(str(w), float(s), float(e)) for w, s, e in words]
    return Entry(samples=samples, sample_rate=rate, words=timings)
