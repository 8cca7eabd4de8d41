"""Book readers: EPUB, plain text and Markdown, chosen by file type."""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from voxcli.book import Book
from voxcli.errors import BookError, UsageError

EPUB_SUFFIXES = (".epub",)
TEXT_SUFFIXES = (".txt", ".text")
MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")
SUPPORTED = ", ".join(EPUB_SUFFIXES + TEXT_SUFFIXES + MARKDOWN_SUFFIXES)
MAX_TEXT_BYTES = 256 * 1024 * 1024  # a plain-text book larger than this is not a book


@dataclass(frozen=True)
class ReadOptions:
    """How to read a book; each option applies to the formats named."""

    include_nonlinear: bool = False  # EPUB: read spine items marked linear="no"
    split_level: int | None = None  # Markdown: heading level that starts chapters (auto when None)
    include_code: bool = False  # Markdown: read code blocks aloud
    math: Literal["speak", "skip"] = "speak"  # EPUB: MathML read as words, or left out (counted)
    skip_notes: bool = False  # leave out chapters of note material ("kind": "notes")


def read_book(source: str, options: ReadOptions | None = None) -> Book:
    """Read ``source`` (a path, or ``-`` for plain text on stdin) into a :class:`Book`."""
    options = options or ReadOptions()
    book = _read(source, options)
    if options.skip_notes and any(c.kind == "notes" for c in book.chapters):
        kept = [c for c in book.chapters if c.kind != "notes"]
        if kept:  # a book of notes only is read whole rather than not at all
            chapters = tuple(replace(c, index=n) for n, c in enumerate(kept, start=1))
            left = len(book.chapters) - len(kept)
            book = replace(
                book,
                chapters=chapters,
                warnings=(*book.warnings, f"{left} chapter(s) of notes left out (--skip-notes)"),
            )
    return book


def _read(source: str, options: ReadOptions) -> Book:
    if source == "-":
        from voxcli.ingest.text import read_text_bytes

        data = sys.stdin.buffer.read(MAX_TEXT_BYTES + 1)
        if len(data) > MAX_TEXT_BYTES:
            raise BookError(
                f"stdin: more than {MAX_TEXT_BYTES // (1024 * 1024)} MiB is too large for a plain-text book"
            )
        return read_text_bytes(data, "stdin", "stdin")
    path = Path(source).expanduser()
    if not path.exists():
        raise UsageError(f"{source}: no such file", "check the path")
    if path.is_dir():
        raise UsageError(f"{source}: is a directory, not a book", f"give a book file ({SUPPORTED})")
    suffix = path.suffix.lower()
    try:
        if suffix in EPUB_SUFFIXES:
            from voxcli.ingest.epub import read_epub

            return read_epub(path, include_nonlinear=options.include_nonlinear, math=options.math)
        if suffix in TEXT_SUFFIXES or suffix in MARKDOWN_SUFFIXES:
            data = _read_limited(path)
            if suffix in MARKDOWN_SUFFIXES:
                from voxcli.ingest.markdown import read_markdown_bytes

                return read_markdown_bytes(data, path.name, path.stem, options)
            from voxcli.ingest.text import read_text_bytes

            return read_text_bytes(data, path.name, path.stem)
    except PermissionError as exc:
        raise UsageError(f"{source}: permission denied", "check the file's permissions") from exc
    except MemoryError as exc:
        raise BookError(f"{source}: too large to read") from exc
    raise UsageError(
        f"{source}: unsupported file type '{path.suffix or '(none)'}'", f"give one of {SUPPORTED}"
    )


def _read_limited(path: Path) -> bytes:
    if path.stat().st_size > MAX_TEXT_BYTES:
        raise BookError(
            f"{path.name}: {path.stat().st_size // (1024 * 1024)} MiB is too large for a plain-text book"
        )
    return path.read_bytes()
