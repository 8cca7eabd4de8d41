"""The book model that every reader produces and every later stage consumes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

WORDS_PER_MINUTE = 150  # a typical audiobook narration pace, used for estimates

_WORD = re.compile(r"\w+(?:['’.-]\w+)*")


def count_words(text: str) -> int:
    """Count words the way a listener hears them (letters and digits, joined by ' - . inside)."""
    return len(_WORD.findall(text))


# Around text the book gives a pronunciation for (SSML ``ph``), while a reader builds paragraphs:
# START text SAY phonemes END. Unicode noncharacters, so no real text contains them.
MARK_START, MARK_SAY, MARK_END = "\ufdd0", "\ufdd1", "\ufdd2"
# Around text in another language than the book's (an element's xml:lang or lang):
# LANG_OPEN tag LANG_TAG text LANG_CLOSE.
LANG_OPEN, LANG_TAG, LANG_CLOSE = "\ufdd3", "\ufdd4", "\ufdd5"
MARKERS = MARK_START + MARK_SAY + MARK_END + LANG_OPEN + LANG_TAG + LANG_CLOSE

ChapterKind = Literal["text", "notes"]


@dataclass(frozen=True)
class Mark:
    """The book's own pronunciation of a stretch of one paragraph (an SSML ``ph`` attribute)."""

    start: int  # character offsets in the paragraph
    end: int
    ipa: str


@dataclass(frozen=True)
class Passage:
    """A stretch of one paragraph in another language than the book's (``xml:lang``, ``lang``)."""

    start: int  # character offsets in the paragraph
    end: int
    lang: str  # its BCP 47 tag as the book gives it


def primary(tag: str) -> str:
    """The primary language subtag, lower case: 'en-US' -> 'en', 'fr_CA' -> 'fr', 'grc' -> 'grc'."""
    return tag.strip().lower().replace("_", "-").split("-")[0]


def same_language(a: str, b: str) -> bool:
    """Whether two BCP 47 tags name one language (their primary subtags agree: en-US and en-GB)."""
    return primary(a) == primary(b)


def in_language(text: str, lang: str) -> str:
    """``text`` marked as being in ``lang`` (see :data:`LANG_OPEN`), for :func:`unmark` to find."""
    return f"{LANG_OPEN}{lang}{LANG_TAG}{text}{LANG_CLOSE}" if text else ""


@dataclass(frozen=True)
class Pronunciation:
    """One lexeme of the book's PLS lexicon: IPA, and/or an alias (a respelling) when it gives one."""

    grapheme: str
    ipa: str
    say: str = ""


@dataclass(frozen=True)
class Chapter:
    """One chapter: a title and its paragraphs of plain, speakable text."""

    index: int  # 1-based position in the book
    title: str
    paragraphs: tuple[str, ...]
    kind: ChapterKind = "text"  # "notes": note material the table of contents lists as a section
    marks: tuple[tuple[Mark, ...], ...] = ()  # per paragraph (or empty): the book's pronunciations
    passages: tuple[tuple[Passage, ...], ...] = ()  # per paragraph (or empty): other languages' text

    @property
    def text(self) -> str:
        """The chapter text, paragraphs separated by a blank line."""
        return "\n\n".join(self.paragraphs)

    def marks_of(self, paragraph: int) -> tuple[Mark, ...]:
        """The book's pronunciations inside paragraph number ``paragraph`` (0-based)."""
        return self.marks[paragraph] if paragraph < len(self.marks) else ()

    def passages_of(self, paragraph: int) -> tuple[Passage, ...]:
        """The passages in other languages inside paragraph number ``paragraph`` (0-based)."""
        return self.passages[paragraph] if paragraph < len(self.passages) else ()

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
    lexicon: tuple[Pronunciation, ...] = ()  # the book's own PLS lexicons, in the order they came
    math: dict[str, int] = field(
        default_factory=dict
    )  # formulas read, by how: alttext, markup, text, skipped
    tags: bool = False  # the text may hold inline tags ([pause:1], [voice:joe]...): TXT and Markdown


RawChapter = tuple[str, list[str]] | tuple[str, list[str], ChapterKind]


# Text before the first chapter becomes a chapter of its own from this many words on; shorter front
# matter (a title page, a dedication) is read at the start of the first chapter instead.
FRONT_MATTER_MIN_WORDS = 100


def add_front_matter(raw: list[RawChapter], front: list[str], title: str) -> None:
    """Put the text found before the first chapter (``front``) where it belongs, in place."""
    if not front:
        return
    if not raw or sum(count_words(p) for p in front) >= FRONT_MATTER_MIN_WORDS:
        raw.insert(0, (title, front))
    else:
        raw[0] = (raw[0][0], front + list(raw[0][1]), *raw[0][2:])


def number_chapters(raw: Sequence[RawChapter]) -> tuple[Chapter, ...]:
    """Build chapters from (title, paragraphs[, kind]) items, dropping those with no text at all.

    Paragraphs may carry pronunciation markers (see :data:`MARK_START`); they become :class:`Mark`\\ s.
    """
    chapters: list[Chapter] = []
    for item in raw:
        title, paras = item[0], item[1]
        kind: ChapterKind = item[2] if len(item) == 3 else "text"
        kept = [found for found in map(unmark_all, paras) if found[0].strip()]
        if not kept:
            continue
        marks = tuple(m for _, m, _ in kept)
        passages = tuple(p for _, _, p in kept)
        chapters.append(
            Chapter(
                index=len(chapters) + 1,
                title=unmark(title)[0],
                paragraphs=tuple(text for text, _, _ in kept),
                kind=kind,
                marks=marks if any(marks) else (),
                passages=passages if any(passages) else (),
            )
        )
    return tuple(chapters)


def unmark(text: str) -> tuple[str, tuple[Mark, ...]]:
    """Text with pronunciation markers as plain text (whitespace collapsed, stripped) and its marks.

    A marker pair that is broken or wraps no text is dropped; the text itself is always kept.
    Language markers are dropped (:func:`unmark_all` keeps them as passages).
    """
    plain, marks, _ = unmark_all(text)
    return plain, marks


def unmark_all(text: str) -> tuple[str, tuple[Mark, ...], tuple[Passage, ...]]:
    """Text with markers as plain text (whitespace collapsed, stripped), its pronunciation marks and
    its passages in other languages (adjacent stretches of one language, apart only by spaces, are
    one passage)."""
    if not any(marker in text for marker in MARKERS):  # six substring scans, not one per character
        return text, (), ()
    out: list[str] = []
    marks: list[Mark] = []
    spans: list[tuple[int, int, str]] = []
    start: int | None = None
    lang: tuple[int, str] | None = None  # where the open passage starts, and its language
    position = 0
    while position < len(text):
        ch = text[position]
        if ch == MARK_START:
            start = len(out)
        elif ch == MARK_SAY:
            close = text.find(MARK_END, position)
            close = len(text) if close < 0 else close
            ipa = " ".join(text[position + 1 : close].split())
            if start is not None:
                while out and out[-1] == " " and len(out) > start:
                    out.pop()
                first = start + 1 if start < len(out) and out[start] == " " else start
                if ipa and len(out) > first:
                    marks.append(Mark(first, len(out), ipa))
            start = None
            position = close
        elif ch == LANG_OPEN:
            close = text.find(LANG_TAG, position)
            close = len(text) if close < 0 else close
            lang = (len(out), text[position + 1 : close].strip())
            position = close
        elif ch == LANG_CLOSE:
            if lang is not None and lang[1]:
                spans.append((lang[0], len(out), lang[1]))
            lang = None
        elif ch in MARKERS:
            pass
        elif ch.isspace():
            if out and out[-1] != " ":
                out.append(" ")
        else:
            out.append(ch)
        position += 1
    while out and out[-1] == " ":
        out.pop()
    plain = "".join(out)
    return plain, tuple(m for m in marks if m.end <= len(plain)), _passages(plain, spans)


def _passages(plain: str, spans: list[tuple[int, int, str]]) -> tuple[Passage, ...]:
    found: list[Passage] = []
    for first, last, lang in spans:
        last = min(last, len(plain))
        while first < last and plain[first].isspace():
            first += 1
        while last > first and plain[last - 1].isspace():
            last -= 1
        if first >= last:
            continue
        if found and found[-1].lang == lang and not plain[found[-1].end : first].strip():
            found[-1] = Passage(found[-1].start, last, lang)
        else:
            found.append(Passage(first, last, lang))
    return tuple(found)
