"""The RTF reader: calibre's Moby-Dick against its EPUB twin, and small documents built here."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import corpus_file
from tests.formatcheck import titles, word_ratio, word_recall
from voxcli.book import Book
from voxcli.errors import BookError
from voxcli.ingest import ReadOptions, read_book
from voxcli.ingest.rtf import read_rtf

HEAD = (
    r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\froman\fcharset0 Times;}{\f1\fcharset204 Arial Cyr;}}"
    r"{\stylesheet{\s0 Normal;}{\s1\outlinelevel0 heading 1;}{\s2 heading 2;}}"
    r"{\info{\title My \u8220?Book\u8221?}{\author Jane Doe}{\creatim\yr2020}}" + "\n"
)


def write(tmp_path: Path, body: str, name: str = "doc.rtf") -> Path:
    path = tmp_path / name
    path.write_bytes((HEAD + body + "}").encode("latin-1"))
    return path


def read(path: Path) -> Book:
    return read_rtf(path, ReadOptions())


def test_calibre_moby_dick_against_its_epub_twin() -> None:
    start = time.monotonic()
    book = read(corpus_file("formats", "moby-dick.calibre.rtf"))
    seconds = time.monotonic() - start
    twin = read_book(str(corpus_file("epub", "moby-dick.epub")))
    mine, theirs = titles(book), titles(twin)
    # calibre keeps the EPUB's headings as paragraphs in style \s1 ("heading 1", outline level 0),
    # one per EPUB file that has one. Two differ from the EPUB's TOC-driven chapters:
    # - the EPUB's front matter (a title-page image and "Brief Contents") is titled with the book
    #   title; in the RTF its first heading is "Brief Contents";
    # - the copyright page has no heading, so its text ends the "Epilogue" chapter, and calibre's
    #   own table of contents ("Contents"), appended after it, is the last chapter.
    assert len(book.chapters) == len(twin.chapters) == 141
    assert mine[0] == "brief contents" and theirs[0] == "moby-dick"
    assert mine[1:140] == theirs[1:140]
    assert mine[140] == "contents" and theirs[140] == "copyright page"
    assert "Project Gutenberg EBook of Moby-Dick" in book.chapters[139].text
    assert 0.97 <= word_ratio(book, twin) <= 1.03
    assert word_recall(book, twin) >= 0.97
    assert (book.title, book.author) == ("Moby-Dick", "Herman Melville")
    assert seconds < 10


def test_unicode_code_page_footnote_table_and_fields(tmp_path: Path) -> None:
    body = (
        r"\pard\s1 Chapter One\par"
        r"\pard Caf\'e9 na\u239?ve {\uc2\u8364\'80\'80} price.\par"
        r"\pard The whale{\super\chftn}{\footnote\pard\plain{\super\chftn} A secret footnote.}"
        r" swam{\*\bkmkstart b1}{\*\bkmkend b1}.\par"
        r"{\field{\*\fldinst HYPERLINK \"http://example.com\"}{\fldrslt Link text}}\par"
        r"{\header\pard Running head\par}"
        r"\trowd\cellx1000\cellx2000 \pard\intbl Name\cell Age\cell\row"
        r"\trowd\cellx1000\cellx2000 \pard\intbl Ahab\cell 58\cell\row"
        r"\pard Line\line break\tab tab\par"
        r"{\pict\pngblip 89504e470d0a1a0a}\pard Emoji \u-10179?\u-8704?.\par"
        r"{\f1 \'cf\'f0\'e8\'e2\'e5\'f2}\par"
        r"\pard\outlinelevel0 Chapter Two\par\pard Body two.\par"
        r"{\s2 Sub heading\par}\pard Body three.\par"
    )
    book = read(write(tmp_path, body))
    assert (book.title, book.author) == ("My “Book”", "Jane Doe")
    assert [c.title for c in book.chapters] == ["Chapter One", "Chapter Two"]
    first = book.chapters[0].paragraphs
    assert first == (
        "Chapter One",
        "Café naïve € price.",
        "The whale swam.",
        "Link text",
        "Name, Age.",
        "Ahab, 58.",
        "Line break tab",
        "Emoji 😀.",
        "Привет",
    )
    text = " ".join(c.text for c in book.chapters)
    assert "secret" not in text and "Running head" not in text and "HYPERLINK" not in text
    assert "1 footnotes not read in the flow" in book.warnings
    assert book.chapters[1].paragraphs == ("Chapter Two", "Body two.", "Sub heading", "Body three.")


def test_no_headings_is_one_chapter_titled_from_info(tmp_path: Path) -> None:
    book = read(write(tmp_path, r"\pard Chapter 1. Loomings.\par\pard Call me Ishmael.\par"))
    assert [c.title for c in book.chapters] == ["My “Book”"]
    assert book.chapters[0].paragraphs == ("Chapter 1. Loomings.", "Call me Ishmael.")


def test_deep_nesting_is_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.rtf"
    path.write_bytes(b"{\\rtf1 " + b"{" * 200_000 + b"x" + b"}" * 200_000 + b"}")
    start = time.monotonic()
    with pytest.raises(BookError) as info:
        read(path)
    assert time.monotonic() - start < 10
    assert "\n" not in str(info.value) and "deep.rtf" in str(info.value)


def test_not_rtf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fake.rtf"
    path.write_bytes(b"just text")
    with pytest.raises(BookError, match=r"fake\.rtf"):
        read(path)


def test_long_flat_document_is_linear(tmp_path: Path) -> None:
    body = "".join(
        rf"{{\pard\s1 Chapter {n}\par}}" + r"\pard word \b bold\b0  \u233? text\par" * 200 for n in range(200)
    )
    start = time.monotonic()
    book = read(write(tmp_path, body))
    assert time.monotonic() - start < 10
    assert len(book.chapters) == 200
    assert book.chapters[0].paragraphs[1] == "word bold é text"
