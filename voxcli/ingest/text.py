"""Plain-text books: encoding, Project Gutenberg boilerplate, chapters and paragraphs.

Paragraphs are separated by blank lines and hard-wrapped lines are joined. A chapter starts at a
heading line: ``CHAPTER I``, ``Chapter 12``, ``BOOK TWO``, ``PART III``, ``Prologue``, a bare
roman numeral, or a short title line set off by blank lines (two or more before it). The heading
stays in the text as the chapter's first paragraph, so the chapters together hold every word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voxcli.book import Book, number_chapters
from voxcli.errors import BookError
from voxcli.ingest.textutil import clean_inline, decode_text, normalise_newlines

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|first|second|third|fourth|"
    "fifth|sixth|seventh|eighth|ninth|tenth|last"
)
_STRONG_HEADING = re.compile(
    rf"""^(?:
        (?:chapter|book|part|volume|section|canto|act|scene|letter|stave)\s+
            (?:\d+|[ivxlcdm]+|(?:{_NUMBER_WORDS})(?:[- ](?:{_NUMBER_WORDS}))?)\b[.:]?(?:\s.*)?
      | (?:prologue|epilogue|preface|foreword|introduction|afterword|appendix|conclusion|interlude)
            \b[.:]?(?:\s.*)?
      | [ivxlcdm]+\.?
      | \d{{1,3}}\.?
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_ROMAN_UPPER_ONLY = re.compile(r"^[ivxlcdm]+\.?$", re.IGNORECASE)
_GUTENBERG_START = re.compile(
    r"^\s*\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG.*$", re.IGNORECASE | re.MULTILINE
)
_GUTENBERG_END = re.compile(
    r"^\s*\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG.*$", re.IGNORECASE | re.MULTILINE
)
_PRODUCER = re.compile(r"^(?:produced by|e-?text prepared by|transcribed (?:from|by))\b", re.IGNORECASE)
_END_LINE = re.compile(r"^end of (?:the )?project gutenberg", re.IGNORECASE)
_HEADER_FIELD = re.compile(r"^(title|author|language):\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_EMPHASIS = re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])")
_LANGUAGES = {
    "english": "en",
    "french": "fr",
    "german": "de",
    "spanish": "es",
    "italian": "it",
    "portuguese": "pt",
    "dutch": "nl",
    "latin": "la",
    "finnish": "fi",
    "swedish": "sv",
    "chinese": "zh",
    "japanese": "ja",
    "russian": "ru",
    "greek": "el",
    "polish": "pl",
}

MAX_HEADING_CHARS = 80
MAX_WEAK_HEADING_CHARS = 60
MAX_HEADING_WORDS = 10


@dataclass(frozen=True)
class Block:
    """A paragraph of the source: its lines and the blank lines before and after it."""

    lines: tuple[str, ...]
    blanks_before: int
    blanks_after: int

    @property
    def text(self) -> str:
        return clean_inline(" ".join(line.strip() for line in self.lines))


def read_text_bytes(data: bytes, label: str, fallback_title: str) -> Book:
    """Read a plain-text book from its bytes."""
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BookError(f"{label}: this looks like a binary file, not text", "give a .txt, .md or .epub book")
    text, _ = decode_text(data)
    text = normalise_newlines(text)
    header, body = strip_gutenberg(text)
    fields = {k.lower(): clean_inline(v) for k, v in _HEADER_FIELD.findall(header)}
    blocks = split_blocks(body)
    if header:
        blocks = drop_credits(blocks)
    raw = split_chapters(blocks, fields.get("title") or fallback_title)
    chapters = number_chapters(raw)
    if not chapters:
        raise BookError(f"{label}: the book holds no text", "check that it is the right file")
    language = fields.get("language", "")
    return Book(
        title=fields.get("title") or fallback_title,
        author=fields.get("author", ""),
        language=_LANGUAGES.get(language.lower(), language),
        chapters=chapters,
        tags=True,
    )


def strip_gutenberg(text: str) -> tuple[str, str]:
    """Split off a Project Gutenberg header and licence; returns (header, body)."""
    start = _GUTENBERG_START.search(text)
    if not start:
        return "", text
    header, body = text[: start.start()], text[start.end() :]
    end = _GUTENBERG_END.search(body)
    return header, body[: end.start()] if end else body


def drop_credits(blocks: list[Block]) -> list[Block]:
    """Gutenberg's producer credits before the book and its closing line after it."""
    first, last = 0, len(blocks)
    while first < last and _PRODUCER.match(blocks[first].text):
        first += 1
    while last > first and _END_LINE.match(blocks[last - 1].text):
        last -= 1
    return blocks[first:last]


def split_blocks(text: str) -> list[Block]:
    """Blocks of non-blank lines, with the count of blank lines around each.

    The start and the end of the text count as two blank lines: a title there is set off.
    """
    groups: list[tuple[list[str], int]] = []
    blanks = 2
    for line in text.split("\n"):
        if not line.strip():
            blanks += 1
            continue
        if blanks or not groups:
            groups.append(([], blanks))
        groups[-1][0].append(line)
        blanks = 0
    return [
        Block(tuple(lines), before, groups[i + 1][1] if i + 1 < len(groups) else max(blanks, 2))
        for i, (lines, before) in enumerate(groups)
    ]


def _shape(block: Block) -> str:
    """'strong' for a heading by its words, 'weak' for a short title line, '' for text."""
    if len(block.lines) != 1 or block.blanks_after < 1:
        return ""
    line = block.text
    if not line or len(line) > MAX_HEADING_CHARS or len(line.split()) > MAX_HEADING_WORDS:
        return ""
    if _STRONG_HEADING.match(line):
        # A bare roman numeral ("I", "V") must stand apart and be upper case to be a heading.
        if not _ROMAN_UPPER_ONLY.match(line) or (line.isupper() and block.blanks_before >= 2):
            return "strong"
        return ""
    if block.blanks_before < 2 or len(line) > MAX_WEAK_HEADING_CHARS:
        return ""
    if line[-1] in ".,;:!?" or not (line[0].isupper() or line[0].isdigit()):
        return ""
    letters = [c for c in line if c.isalpha()]
    return "weak" if letters and all(c.isupper() for c in letters) else ""


def heading_flags(blocks: list[Block]) -> list[bool]:
    """Which blocks start a chapter.

    Short title lines count when set off by two blank lines, or by three where the book sets its
    titles off that way (Project Gutenberg uses four before a chapter and two before a poem's title).
    """
    shapes = [_shape(b) for b in blocks]
    wide = sum(1 for b, s in zip(blocks, shapes, strict=True) if s == "weak" and b.blanks_before >= 3)
    min_blanks = 3 if wide >= 2 else 2
    return [
        s == "strong" or (s == "weak" and b.blanks_before >= min_blanks)
        for b, s in zip(blocks, shapes, strict=True)
    ]


def split_chapters(blocks: list[Block], book_title: str) -> list[tuple[str, list[str]]]:
    """(title, paragraphs) per chapter; text before the first heading is a chapter of its own."""
    chapters: list[tuple[str, list[str]]] = []
    for block, heading in zip(blocks, heading_flags(blocks), strict=True):
        paragraph = _EMPHASIS.sub(r"\1", block.text)
        if not paragraph:
            continue
        if heading:
            chapters.append((paragraph, [paragraph]))
        elif chapters:
            chapters[-1][1].append(paragraph)
        else:
            chapters.append((book_title, [paragraph]))
    return chapters
