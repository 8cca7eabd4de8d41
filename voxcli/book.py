"""The book model that every reader produces and every later stage consumes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

WORDS_PER_MINUTE = 150  # a typical audiobook narration pace, used for estimates

_WORD = re.compile(r"\w+(?:['’.-]\w+)*")


def count_words(text: str) -> int:
    """Count words the way a listener hears them (letters and digits, joined by ' - . inside)."""
    return len(_WORD.findall(text))


@dataclass(frozen=True)
class Chapter:
    """One chapter: a title and its paragraphs of plain, speakable text."""

    index: int  # 1-based position in the book
    title: str
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        """The chapter text, paragraphs separated by a blank line."""
        return "\n\n".join(self.paragraphs)

    @property
    def words(self) -> int:
        return sum(count_words(p) for p in self.paragraphs)

    @property
    def chars(self) -> int:
        return len(self.text)

    @property
    def minutes(self) -> float:
        """Estimated narration time in minutes at :data:`WORDS_PER_MINUTE`."""
        return self.words / WORDS_PER_MINUTE


@dataclass(frozen=True)
class Cover:
    """The cover image as stored in the book."""

    media_type: str  # e.g. "image/jpeg"
    data: bytes


@dataclass(frozen=True)
class Book:
    """A book ready to be read aloud."""

    title: str
    author: str
    language: str  # BCP 47 tag as declared by the book, "" when unknown
    chapters: tuple[Chapter, ...]
    cover: Cover | None = None
    description: str = ""
    year: str = ""  # of publication, four digits, "" when unknown
    warnings: tuple[str, ...] = field(default=())  # what was skipped while reading, for the user


def number_chapters(raw: list[tuple[str, list[str]]]) -> tuple[Chapter, ...]:
    """Build chapters from (title, paragraphs) pairs, dropping those with no text at all."""
    kept = [(title, paras) for title, paras in raw if any(p.strip() for p in paras)]
    return tuple(
        Chapter(index=i, title=title, paragraphs=tuple(p for p in paras if p.strip()))
        for i, (title, paras) in enumerate(kept, start=1)
    )
