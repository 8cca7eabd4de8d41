"""Book readers, chosen by file type: EPUB, plain text, Markdown, PDF, DOCX, ODT, HTML, FB2, RTF,
MOBI/AZW3, and through calibre the formats it reads."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from voxcli.book import Book
from voxcli.errors import BookError, UsageError

EPUB_SUFFIXES = (".epub", ".kepub")
TEXT_SUFFIXES = (".txt", ".text")
MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")
# The other formats voxcli reads itself: suffix -> (module, function).
READERS = {
    ".pdf": ("voxcli.ingest.pdf", "read_pdf"),
    ".docx": ("voxcli.ingest.docx", "read_docx"),
    ".docm": ("voxcli.ingest.docx", "read_docx"),
    ".odt": ("voxcli.ingest.odt", "read_odt"),
    ".fodt": ("voxcli.ingest.odt", "read_odt"),
    ".html": ("voxcli.ingest.html", "read_html"),
    ".htm": ("voxcli.ingest.html", "read_html"),
    ".xhtml": ("voxcli.ingest.html", "read_html"),
    ".htmlz": ("voxcli.ingest.html", "read_htmlz"),
    ".fb2": ("voxcli.ingest.fb2", "read_fb2"),
    ".fb2.zip": ("voxcli.ingest.fb2", "read_fb2"),
    ".rtf": ("voxcli.ingest.rtf", "read_rtf"),
    ".mobi": ("voxcli.ingest.mobi", "read_mobi"),
    ".azw3": ("voxcli.ingest.mobi", "read_mobi"),
    ".azw": ("voxcli.ingest.mobi", "read_mobi"),
    ".prc": ("voxcli.ingest.mobi", "read_mobi"),
}
SUPPORTED = ", ".join(EPUB_SUFFIXES + TEXT_SUFFIXES + MARKDOWN_SUFFIXES + tuple(READERS))
KFX_SUFFIXES = (".kfx", ".azw8", ".kfx-zip")
MAX_TEXT_BYTES = 256 * 1024 * 1024  # a plain-text book larger than this is not a book


@dataclass(frozen=True)
class ReadOptions:
    """How to read a book; each option applies to the formats named."""

    include_nonlinear: bool = False  # EPUB: read spine items marked linear="no"
    split_level: int | None = None  # Markdown: heading level that starts chapters (auto when None)
    include_code: bool = False  # Markdown: read code blocks aloud
    math: Literal["speak", "skip"] = "speak"  # EPUB: MathML read as words, or left out (counted)
    skip_notes: bool = False  # leave out chapters of note material ("kind": "notes")
    ocr: bool = False  # PDF: read pages without a text layer with Tesseract
    ocr_lang: str = ""  # PDF: Tesseract's language codes for --ocr ("eng", "deu+fra"); "" = eng


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
    if path.name.lower().endswith(".fb2.zip"):
        suffix = ".fb2.zip"
    try:
        if suffix in READERS:
            module, name = READERS[suffix]
            reader = getattr(importlib.import_module(module), name)
            book: Book = reader(path, options)
            return book
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
        if suffix in KFX_SUFFIXES:
            raise BookError(
                f"{source}: a Kindle KFX book, which is DRM-protected or needs Amazon's own software",
                "use a DRM-free EPUB, MOBI or AZW3 copy of the book",
            )
        from voxcli.ingest.calibre import CALIBRE_SUFFIXES, read_with_calibre

        if suffix in CALIBRE_SUFFIXES:
            return read_with_calibre(path, options)
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
