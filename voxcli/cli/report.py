"""How a book is shown to people (a rich table) and to programs (JSON)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from voxcli.book import Book


def book_json(
    book: Book, full: bool = False, speech: dict[int, list[dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """The ``chapters --json`` document; ``full`` adds each chapter's text, ``speech`` its segments
    (chapter index -> what the engine is given, sentence by sentence)."""
    chapters: list[dict[str, Any]] = []
    for chapter in book.chapters:
        entry: dict[str, Any] = {
            "index": chapter.index,
            "title": chapter.title,
            "kind": chapter.kind,
            "words": chapter.words,
            "chars": chapter.chars,
        }
        if full:
            entry["text"] = chapter.text
        if speech is not None:
            entry["segments"] = speech.get(chapter.index, [])
        chapters.append(entry)
    return {
        "title": book.title,
        "author": book.author,
        "language": book.language,
        "chapters": chapters,
        "pronunciations": len(book.lexicon),  # lexemes in the book's own PLS lexicons
        "marks": sum(len(m) for c in book.chapters for m in c.marks),  # SSML pronunciations in the text
        "math": dict(book.math),
        "warnings": list(book.warnings),
    }


def chapters_table(book: Book) -> Table:
    """Index, title, words, characters and estimated minutes per chapter, with totals."""
    byline = f" by {book.author}" if book.author else ""
    language = f" [{book.language}]" if book.language else ""
    # Text, not str: a title such as "[Sic]" must not be read as rich markup.
    table = Table(title=Text(f"{book.title}{byline}{language}"), show_footer=True, title_justify="left")
    words = sum(c.words for c in book.chapters)
    chars = sum(c.chars for c in book.chapters)
    minutes = sum(c.minutes for c in book.chapters)
    table.add_column("#", justify="right", footer=str(len(book.chapters)))
    table.add_column("Title", footer="total", overflow="fold")
    table.add_column("Words", justify="right", footer=f"{words:,}")
    table.add_column("Chars", justify="right", footer=f"{chars:,}")
    table.add_column("Min", justify="right", footer=_duration(minutes))
    for chapter in book.chapters:
        table.add_row(
            str(chapter.index),
            Text(chapter.title + (" (notes)" if chapter.kind == "notes" else "")),
            f"{chapter.words:,}",
            f"{chapter.chars:,}",
            f"{chapter.minutes:.1f}",
        )
    return table


def _duration(minutes: float) -> str:
    hours, rest = divmod(round(minutes), 60)
    return f"{hours}h{rest:02d}" if hours else f"{minutes:.1f}"
