"""A chapter's audio as it is written: cached sentences and pauses, levelled to the loudness target.

Chapter files and the M4B both read a chapter through :class:`ChapterAudio`, so they hold the same
samples. Levelling measures the chapter first (one pass over its sentences), picks the gain that
brings it to the target, and checks with a dry pass that the limiter, when the gain pushes peaks past
the ceiling, has not pulled it more than a few tenths of an LU below; if it has, it raises the gain.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from voxcli.arrays import Int16
from voxcli.audio.loudness import LoudnessMeter, LoudnessSettings, db_to_gain, gain_to_db, limit
from voxcli.convert.cache import Entry
from voxcli.convert.plan import ChapterPlan, Segment
from voxcli.errors import VoxError

MAX_GAIN_DB = 30.0  # never lift a nearly silent chapter into noise
_TOLERANCE = 0.3  # LU: how far below the target a limited chapter may stay
KEEP_SAMPLES = 30_000_000  # decoded sentences kept between passes (about 60 MB of int16), by default


@dataclass(frozen=True)
class Piece:
    segment: Segment
    entry: Entry
    samples: Int16  # int16, as written
    peak: float  # its true peak (linear; the sample peak when far below the ceiling)
    pause: int  # samples of silence after it


class ChapterAudio:
    """The chapter's sentences, fetched through ``get`` (which raises CacheMissing for absent ones).

    ``keep``: samples held between passes, once for the decoded sentences and once for the last
    levelled pass (beyond that they are decoded, or levelled, again).
    """

    def __init__(self, plan: ChapterPlan, get: Callable[[str], Entry], keep: int = KEEP_SAMPLES) -> None:
        self.plan = plan
        self._get = get
        self._keep = keep
        self._kept: dict[str, Entry] = {}
        self._kept_samples = 0
        # The last levelled pass (when the chapter is short enough to hold) and every measurement:
        # the dry run that settles the gain is then also what gets written.
        self._levelled: tuple[tuple[float, float | None], list[Piece]] | None = None
        self._measured: dict[tuple[float, float | None], tuple[float, float]] = {}
        # The chapter's rate is the narrator's: a cast voice at another rate is resampled to it.
        self._narrated = next((s.key for s in plan.segments if not s.voice), None)
        self.rate = plan.rate

    def _entry(self, key: str) -> Entry:
        if self.rate == 0 and self._narrated is not None and key != self._narrated:
            self._entry(self._narrated)
        entry = self._kept.get(key)
        if entry is None:
            entry = self._get(key)
            if self.rate and entry.sample_rate != self.rate:
                entry = resampled(entry, self.rate)
            if self._kept_samples + len(entry.samples) <= self._keep:
                self._kept[key] = entry
                self._kept_samples += len(entry.samples)
        if self.rate == 0:
            self.rate = entry.sample_rate
        return entry

    def pieces(self, gain_db: float = 0.0, ceiling_db: float | None = None) -> Iterator[Piece]:
        """Every segment's samples, with ``gain_db`` applied and true peaks limited to ``ceiling_db``.

        Without a ceiling the cached samples come back untouched.
        """
        key = (gain_db, ceiling_db)
        if self._levelled is not None and self._levelled[0] == key:
            yield from self._levelled[1]
            return
        held: list[Piece] | None = [] if ceiling_db is not None else None
        size = 0
        for piece in self._level(gain_db, ceiling_db):
            if held is not None:
                size += piece.samples.size
                held.append(piece)
                if size > self._keep:
                    held = None
            yield piece
        if held is not None:
            self._levelled = (key, held)

    def _level(self, gain_db: float, ceiling_db: float | None) -> Iterator[Piece]:
        gain = db_to_gain(gain_db)
        for segment in self.plan.segments:
            entry = self._entry(segment.key)
            samples = entry.samples
            pause = round(segment.pause * self.rate)
            if ceiling_db is None or samples.size == 0:
                peak = max(-int(samples.min(initial=0)), int(samples.max(initial=0))) / 32768.0
                yield Piece(segment, entry, samples, peak, pause)
                continue
            # In place where it can be: a long sentence's float copies are what levelling holds.
            x = samples.astype(np.float64)
            x *= gain / 32768.0
            levelled, peak = limit(x, db_to_gain(ceiling_db), self.rate)
            levelled *= 32768.0
            np.round(levelled, out=levelled)
            np.clip(levelled, -32768, 32767, out=levelled)
            yield Piece(segment, entry, levelled.astype(np.int16), peak, pause)

    def measure(self, gain_db: float = 0.0, ceiling_db: float | None = None) -> tuple[float, float]:
        """Integrated loudness (LUFS) and peak (dB) of the chapter as :meth:`pieces` gives it."""
        key = (gain_db, ceiling_db)
        if key not in self._measured:
            meter = Metering()
            for piece in self.pieces(gain_db, ceiling_db):
                meter.add(piece, self.rate)
            self._measured[key] = meter.result(self.plan.index)
        return self._measured[key]

    def level(self, settings: LoudnessSettings) -> tuple[float, float]:
        """The chapter's loudness as spoken (LUFS), and the gain (dB) that brings it to the target.

        Where the gain pushes peaks past the ceiling the limiter takes some loudness away: a dry run
        measures how much, and the gain is raised to make up for it.
        """
        loudness, peak = self.measure()
        if not math.isfinite(loudness):
            return loudness, 0.0
        gain = min(MAX_GAIN_DB, settings.target - loudness)
        if peak + gain < settings.ceiling - 6.0:
            return loudness, gain  # nothing gets near the ceiling: the gain alone hits the target
        for _ in range(4):
            reached, _ = self.measure(gain, settings.ceiling)
            if reached >= settings.target - _TOLERANCE or gain >= MAX_GAIN_DB:
                break
            gain = min(MAX_GAIN_DB, gain + (settings.target - reached))
        return loudness, gain


def resampled(entry: Entry, rate: int) -> Entry:
    """A cached sentence at ``rate`` (a polyphase filter: no aliasing, the length scaled exactly)."""
    from scipy.signal import resample_poly

    divisor = math.gcd(rate, entry.sample_rate)
    samples = resample_poly(entry.samples.astype(np.float64), rate // divisor, entry.sample_rate // divisor)
    pcm = np.clip(np.round(samples), -32768, 32767).astype(np.int16)
    return replace(entry, samples=pcm, sample_rate=rate)


class Metering:
    """Loudness and peak of pieces as they are written."""

    def __init__(self) -> None:
        self._meter: LoudnessMeter | None = None
        self._peak = 0.0

    def add(self, piece: Piece, rate: int) -> None:
        if self._meter is None:
            self._meter = LoudnessMeter(rate)
        x = piece.samples.astype(np.float64)
        x *= 1.0 / 32768.0  # (in place: one sentence-long array, not two)
        self._meter.add(x)
        self._meter.add_silence(piece.pause)
        self._peak = max(self._peak, piece.peak)

    def result(self, chapter: int) -> tuple[float, float]:
        if self._meter is None:
            raise VoxError(f"chapter {chapter} has nothing to speak", "report this book's chapter")
        return self._meter.integrated(), gain_to_db(self._peak)
