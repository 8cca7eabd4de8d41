"""Where each spoken sentence is in the book's documents.

Sentences are looked for in order, in the normalised text of the spine documents, a little ahead
of where the previous one was found. A sentence not found nearby is looked for further on only when
it is long enough to be unmistakable or the sentence after it is found right behind it; one whose
text was changed on the way (a formula read as words) is found by its head and tail. A title that
is not in the text points at the chapter's heading; anything else not found gets an empty place
after the sentence before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from lxml import etree

from voxcli.audio.timeline import TimedChapter, TimedSentence
from voxcli.readalong.wrap import DocText, Pos, clamp_to_block, normalise, widen

NEAR = 3000  # normalised characters looked ahead of the previous sentence
TITLE_NEAR = 60  # a title is looked for only right ahead (a heading's number may come first)
HEADING_NEAR = 300  # how far ahead a heading may stand in for a title
SURE = 40  # a sentence this long (normalised) is unmistakable anywhere further on
PART = 12  # head and tail lengths for a sentence that is not found whole

PlaceKind = Literal["wrap", "empty", "heading"]


@dataclass
class Placement:
    """One spoken sentence's place: a range to wrap, an empty span to insert, or a heading."""

    chapter: TimedChapter
    sentence: TimedSentence
    doc: int
    kind: PlaceKind
    start: Pos | None  # range start, insertion point (None: end of the body), heading position
    end: Pos | None = None
    exact: bool = True  # the whole sentence was found as it is (word-level pars possible)
    heading: etree._Element | None = None
    seq: int = 0
    id: str = ""

    @property
    def key(self) -> tuple[Pos, Pos, int]:
        """Document order (an empty span at the end of the body last)."""
        big = (1 << 62, 0)
        start = self.start if self.start is not None else big
        return start, self.end if self.end is not None else start, self.seq


@dataclass
class Matches:
    placements: list[Placement] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    unspoken: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Cursor:
    doc: int = 0
    index: int = 0  # in the document's normalised text
    pos: Pos | None = None  # just after the last placement in ``doc``, when there is one


class _Matcher:
    def __init__(self, docs: Sequence[DocText]) -> None:
        self.docs = docs
        self.cursor = _Cursor()
        self.out = Matches()
        self.used_headings: set[int] = set()

    def find(self, key: str, cursor: _Cursor, window: int) -> tuple[int, int, int] | None:
        """(document, start, end) of ``key`` within ``window`` characters after ``cursor``."""
        doc, index, budget = cursor.doc, cursor.index, window
        while doc < len(self.docs) and budget >= 0:
            text = self.docs[doc].norm
            hit = text.find(key, index, min(len(text), index + budget + len(key)))
            if hit >= 0:
                return doc, hit, hit + len(key)
            budget -= len(text) - index
            doc, index = doc + 1, 0
        return None

    def locate(self, key: str, after: str) -> tuple[int, int, int, bool] | None:
        """Where a text sentence is: (document, start, end, found whole)."""
        if not key:
            return None
        hit = self.find(key, self.cursor, NEAR)
        if hit is not None:
            return (*hit, True)
        if len(key) >= 2 * PART + 4:
            head = self.find(key[:PART], self.cursor, NEAR)
            if head is not None:
                start = _Cursor(head[0], head[2])
                tail = self.find(key[-PART:], start, len(key) + len(key) // 2)
                if tail is not None:
                    return head[0], head[1], tail[2], False
        far = self.find(key, self.cursor, 1 << 62)
        if far is None:
            return None
        if len(key) >= SURE:
            return (*far, True)
        if after and self.find(after, _Cursor(far[0], far[2]), NEAR // 3) is not None:
            return (*far, True)
        return None

    def here(self) -> tuple[int, Pos | None]:
        """The insertion point after the last placement."""
        cursor = self.cursor
        if cursor.doc >= len(self.docs):
            return len(self.docs) - 1, None
        if cursor.pos is not None:
            return cursor.doc, cursor.pos
        doc = self.docs[cursor.doc]
        if cursor.index < len(doc.norm):
            return cursor.doc, doc.where[cursor.index]
        if doc.norm:
            return cursor.doc, doc.end_of(len(doc.norm) - 1)
        return cursor.doc, None

    def place_range(
        self, chapter: TimedChapter, sentence: TimedSentence, hit: tuple[int, int, int], exact: bool
    ) -> None:
        doc_index, a, b = hit
        doc = self.docs[doc_index]
        floor = self.cursor.pos if self.cursor.doc == doc_index else None
        start, end = widen(doc, doc.where[a], doc.end_of(b - 1), floor)
        end, cut = clamp_to_block(doc, start, end)
        if cut:
            self.out.warnings.append(
                f"'{_short(sentence.text)}' runs across paragraphs; only its first part is highlighted"
            )
        self.add(Placement(chapter, sentence, doc_index, "wrap", start, end, exact and not cut))
        self.cursor = _Cursor(doc_index, b, end)

    def crosses(self, hit: tuple[int, int, int]) -> bool:
        """Whether a found range runs from one block into another (a title found across a heading
        and the paragraph after it is not the title)."""
        doc = self.docs[hit[0]]
        return clamp_to_block(doc, doc.where[hit[1]], doc.end_of(hit[2] - 1))[1]

    def claimed(self, hit: tuple[int, int, int], upcoming: list[str], look: int = 3) -> bool:
        """Whether the text a title was found in belongs to the sentences after it (a heading read
        as text, "1. Introduction", that holds the title "Introduction")."""
        cursor = self.cursor
        for key in upcoming[:look]:
            found = self.find(key, cursor, NEAR)
            if found is None:
                continue
            if (found[0], found[1]) < (hit[0], hit[2]):
                return True
            cursor = _Cursor(found[0], found[2])
        return False

    def add(self, placement: Placement) -> None:
        placement.seq = len(self.out.placements)
        self.out.placements.append(placement)

    def titles(
        self,
        chapter: TimedChapter,
        pending: list[TimedSentence],
        begin: _Cursor,
        hit: tuple[int, int, int] | None,
    ) -> None:
        """Place the titles not found in the text: on the chapter's heading, else an empty span."""
        if not pending:
            return
        heading: tuple[int, Pos, etree._Element] | None = None
        if hit is not None:
            doc_index = hit[0]
            doc = self.docs[doc_index]
            low = begin.pos if begin.doc == doc_index and begin.pos is not None else (-1, 0)
            if begin.doc == doc_index and begin.pos is None and begin.index < len(doc.norm):
                low = doc.where[begin.index]
            high = doc.where[hit[1]]
            for pos, el in doc.headings:
                if low <= pos <= high and id(el) not in self.used_headings:
                    heading = (doc_index, pos, el)
        else:
            doc_index, at = self.here()
            doc = self.docs[doc_index]
            limit = self.cursor.index + HEADING_NEAR
            high = doc.where[limit] if limit < len(doc.norm) else (1 << 62, 0)
            for pos, el in doc.headings:
                if (at is None or pos >= at) and pos <= high and id(el) not in self.used_headings:
                    heading = (doc_index, pos, el)
                    break
        for sentence in pending:
            if heading is not None:
                self.used_headings.add(id(heading[2]))
                self.add(
                    Placement(
                        chapter, sentence, heading[0], "heading", heading[1], heading[1], heading=heading[2]
                    )
                )
            else:
                if hit is not None:
                    doc_index, at = hit[0], self.docs[hit[0]].where[hit[1]]
                    if self.cursor.doc == hit[0] and self.cursor.pos is not None:
                        at = max(at, self.cursor.pos)
                else:
                    doc_index, at = self.here()
                self.out.unmatched.append(sentence.text)
                self.add(Placement(chapter, sentence, doc_index, "empty", at, at))
        pending.clear()

    def chapter(self, chapter: TimedChapter) -> None:
        begin = _Cursor(self.cursor.doc, self.cursor.index, self.cursor.pos)
        pending: list[TimedSentence] = []
        spoken = [s for s in chapter.sentences if s.spoken]
        self.out.unspoken.extend(s.text for s in chapter.sentences if not s.spoken)
        for number, sentence in enumerate(spoken):
            key = normalise(sentence.text)
            if sentence.kind == "title":
                hit = self.find(key, self.cursor, TITLE_NEAR) if key else None
                upcoming = [
                    k for k in (normalise(s.text) for s in spoken[number + 1 :] if s.kind == "text") if k
                ]
                if (
                    hit is not None
                    and not pending
                    and not self.crosses(hit)
                    and not self.claimed(hit, upcoming)
                ):
                    self.place_range(chapter, sentence, hit, True)
                else:
                    pending.append(sentence)
                continue
            after = next((normalise(s.text) for s in spoken[number + 1 :] if normalise(s.text)), "")
            found = self.locate(key, after)
            if found is None:
                self.titles(chapter, pending, begin, None)
                doc_index, at = self.here()
                self.out.unmatched.append(sentence.text)
                self.add(Placement(chapter, sentence, doc_index, "empty", at, at))
                continue
            hit = found[:3]
            self.titles(chapter, pending, begin, hit)
            self.place_range(chapter, sentence, hit, found[3])
        self.titles(chapter, pending, begin, None)


def match(docs: Sequence[DocText], chapters: Sequence[TimedChapter]) -> Matches:
    """Place every spoken sentence of ``chapters`` (in book order) in ``docs`` (in spine order)."""
    if not docs:
        raise ValueError("no documents to place sentences in")
    matcher = _Matcher(docs)
    for chapter in chapters:
        matcher.chapter(chapter)
    return matcher.out


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
