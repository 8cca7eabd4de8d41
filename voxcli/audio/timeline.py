"""When each sentence of a finished chapter is heard: the data the read-along EPUB and the video share.

Positions are sample offsets in the chapter audio exactly as it is written (the chapter WAV, the M4B's
stretch of it); word times are seconds from the start of their sentence, as the engine (or the
alignment) gave them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voxcli.engines.base import WordTiming


@dataclass(frozen=True)
class TimedSentence:
    """One spoken segment of a chapter."""

    text: str  # as in the book (what a reader sees), never the normalised speech text
    start: int  # first sample in the chapter audio
    end: int  # one past the last sample; end == start for a segment the engine gave no audio
    kind: Literal["title", "text"] = "text"  # "title": the announced chapter title
    words: tuple[WordTiming, ...] | None = None  # seconds from `start`, the *spoken* words

    @property
    def spoken(self) -> bool:
        return self.end > self.start


@dataclass(frozen=True)
class TimedChapter:
    """A finished chapter: its audio's length and rate, and its sentences in the order heard."""

    index: int  # the chapter's number in the book (1-based)
    title: str
    rate: int  # Hz
    samples: int  # the chapter audio's length, pauses included
    sentences: tuple[TimedSentence, ...]

    @property
    def duration(self) -> float:
        return self.samples / self.rate if self.rate else 0.0
