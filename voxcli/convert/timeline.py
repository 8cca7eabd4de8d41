"""A finished chapter read back from the audio cache: when each sentence is heard, and its samples.

The read-along EPUB and the video are made after the chapters, from the same cached sentences, gain
and ceiling as the chapter files, so their audio and timings match the chapter WAV sample for sample.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from voxcli.arrays import Int16
from voxcli.audio.subtitles import Spoken
from voxcli.audio.timeline import TimedChapter, TimedSentence
from voxcli.convert.cache import AudioCache, CacheMissing, Entry
from voxcli.convert.chapter_audio import ChapterAudio, Piece
from voxcli.convert.plan import ChapterPlan
from voxcli.errors import VoxError


@dataclass(frozen=True)
class Finished:
    """A chapter whose files are written: its plan and what its manifest record says of its sound."""

    plan: ChapterPlan
    samples: int
    rate: int
    gain_db: float
    build: str  # the chapter files' build digest (see pipeline._build_id)


class ChapterReader:
    """One finished chapter's timeline and samples, from the cache (each sentence decoded once where
    the chapter fits in memory)."""

    def __init__(self, chapter: Finished, cache: AudioCache, ceiling: float | None) -> None:
        self.chapter = chapter
        self._ceiling = ceiling

        def fetch(key: str) -> Entry:
            entry = cache.get(key)
            if entry is None:
                raise CacheMissing([key])
            return entry

        self._audio = ChapterAudio(chapter.plan, fetch)

    def timeline(self) -> TimedChapter:
        """Where every segment lies; the lengths are the cached ones (levelling never changes them)."""
        plan = self.chapter.plan
        sentences: list[TimedSentence] = []
        position = 0
        for piece in self._missing_is_an_error(self._audio.pieces()):
            length = len(piece.samples)
            words = tuple(piece.entry.words) if piece.entry.words else None
            sentences.append(
                TimedSentence(piece.segment.text, position, position + length, piece.segment.kind, words)
            )
            position += length + piece.pause
        self._check(position)
        return TimedChapter(plan.index, plan.title, self._audio.rate, position, tuple(sentences))

    def pcm(self) -> Iterator[Int16]:
        """The chapter's samples as the chapter files hold them: levelled, limited, with the pauses."""
        written = 0
        for piece in self._missing_is_an_error(self._audio.pieces(self.chapter.gain_db, self._ceiling)):
            yield piece.samples
            if piece.pause:
                yield np.zeros(piece.pause, dtype=np.int16)
            written += len(piece.samples) + piece.pause
        self._check(written)

    def _check(self, samples: int) -> None:
        if samples != self.chapter.samples:
            raise VoxError(
                f"chapter {self.chapter.plan.index} changed since it was written",
                "run the same command again",
            )

    def _missing_is_an_error(self, pieces: Iterator[Piece]) -> Iterator[Piece]:
        try:
            yield from pieces
        except CacheMissing:
            raise VoxError(
                f"a sentence of chapter {self.chapter.plan.index} is missing from the audio cache",
                "run the same command again: it will be spoken again",
            ) from None


def spoken(timeline: TimedChapter, offset: int = 0) -> list[Spoken]:
    """The timeline's spoken sentences as subtitles take them, ``offset`` samples later."""
    return [
        Spoken(s.text, offset + s.start, offset + s.end, list(s.words) if s.words else None)
        for s in timeline.sentences
        if s.spoken
    ]
