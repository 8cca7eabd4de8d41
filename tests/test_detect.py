"""detect_language on real books, with the language each EPUB declares (dc:language) as the oracle.

Each EPUB's chapters are written out as a plain-text book, which declares no language, and the
language detected from that text must be the one the EPUB's metadata names.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, corpus_file
from voxcli.book import primary
from voxcli.ingest import read_book
from voxcli.text.detect import MIN_CONFIDENCE, SAMPLE_CHARS, detect_language, sample_text

BOOKS = [
    "calibre-quickstart-fra.epub",
    "calibre-quickstart-eng.epub",
    "live-manual.ja.epub",
    "live-manual.en.epub",
    "regime-anticancer-arabic.epub",
    "moby-dick.epub",
    "childrens-literature.epub",
    # Sanskrit in Devanagari, 6 MB of text: about 10 s to read
    pytest.param("mahabharata.epub", marks=pytest.mark.slow),
]


def book_text(name: str) -> tuple[str, str]:
    """(the language the EPUB declares, the text of its chapters)."""
    book = read_book(str(corpus_file("epub", name)))
    assert book.language, f"{name} declares no language: it cannot be the oracle"
    return book.language, "\n\n".join(chapter.text for chapter in book.chapters)


def gutenberg_header() -> tuple[str, str]:
    """The real header of a Project Gutenberg text: its lines before "*** START OF", and that line."""
    lines = corpus_file("txt", "devils-dictionary-972.txt").read_text(encoding="utf-8").splitlines(True)
    start = next(n for n, line in enumerate(lines) if line.startswith("*** START OF"))
    return "".join(lines[:start]), lines[start]


@pytest.mark.parametrize("name", BOOKS)
def test_language_of_a_plain_text_book_is_the_one_its_epub_declares(name: str, tmp_path: Path) -> None:
    declared, text = book_text(name)
    txt = tmp_path / "book.txt"
    txt.write_text(text, encoding="utf-8")
    assert read_book(str(txt)).language == ""  # the case detection is for: a TXT that says nothing

    found = detect_language(txt.read_text(encoding="utf-8"))

    assert found is not None, name
    assert primary(found.lang) == primary(declared), (name, found)
    assert MIN_CONFIDENCE <= found.confidence <= 1.0


def test_a_gutenberg_text_is_english() -> None:
    text = corpus_file("txt", "devils-dictionary-972.txt").read_text(encoding="utf-8")
    found = detect_language(text)
    assert found is not None
    assert found.lang == "en"


def test_a_gutenberg_header_does_not_make_a_french_book_english() -> None:
    preamble, start_line = gutenberg_header()
    _, french = book_text("calibre-quickstart-fra.epub")
    opening = french[:400]
    # Read as text, the English header outweighs the French title page and first lines...
    unmarked = detect_language(preamble + opening)
    assert unmarked is not None
    assert unmarked.lang == "en"

    # ... so it is left out where its "*** START OF" line says it ends.
    for text in (preamble + start_line + opening, preamble + start_line + french):
        found = detect_language(text)
        assert found is not None
        assert found.lang == "fr", found


def test_too_little_text_is_undetermined() -> None:
    _, french = book_text("calibre-quickstart-fra.epub")
    letters = [n for n, ch in enumerate(french) if ch.isalpha()]
    assert detect_language(french[: letters[38] + 1]) is None  # 39 letters
    assert detect_language("") is None
    assert detect_language("1. 2. 3. 4. 1812 1914 — 42 * 7 = 294\n" * 50) is None


def test_a_title_page_is_undetermined() -> None:
    # Enough letters, but names and title words: the detector spreads its belief over many languages.
    _, english = book_text("calibre-quickstart-eng.epub")
    title_page = "\n\n".join(english.split("\n\n")[:4])
    assert title_page.startswith("Calibre Quick Start Guide\n\nFourth Edition\n\nBy: John Schember")
    assert sum(ch.isalpha() for ch in title_page) >= 40

    assert detect_language(title_page) is None


def test_the_sample_is_drawn_from_the_whole_book() -> None:
    _, text = book_text("moby-dick.epub")
    sample = sample_text(text)

    assert len(sample) <= SAMPLE_CHARS
    first, last = text.find(sample[:200]), text.find(sample[-200:])
    assert first > len(text) // 20  # past the title page and the contents
    assert last > len(text) * 8 // 10  # the end of the book too
    assert sample_text("short text") == "short text"


def test_importing_the_module_loads_no_model() -> None:
    code = "import sys, voxcli.text.detect; assert 'py3langid' not in sys.modules, 'imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
