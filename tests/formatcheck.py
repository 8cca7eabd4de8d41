"""Compare a book read from another format with its EPUB twin (issue 18's yardstick).

The words are counted here with a regular expression of its own, not with voxcli's ``count_words``,
and titles are compared after folding case, spacing and quotation marks, which conversion tools
change freely. Files come from ``tests.conftest.corpus_file("formats", NAME)``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from voxcli.book import Book

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "—": "-", "–": "-"})


def words(text: str) -> list[str]:
    """The words of a text, case-folded, for counting and for overlap."""
    return [w.casefold().replace("’", "'") for w in _WORD.findall(unicodedata.normalize("NFKC", text))]


def book_words(book: Book) -> list[str]:
    return [w for chapter in book.chapters for w in words(chapter.title + " " + chapter.text)]


def fold_title(title: str) -> str:
    title = unicodedata.normalize("NFKC", title).translate(_QUOTES).casefold()
    return " ".join(title.split()).strip(" .:")


def titles(book: Book) -> list[str]:
    return [fold_title(c.title) for c in book.chapters]


def word_ratio(book: Book, twin: Book) -> float:
    """How many words the book has per word of its twin (1.0 = as many)."""
    return len(book_words(book)) / max(len(book_words(twin)), 1)


def word_recall(book: Book, twin: Book) -> float:
    """The share of the twin's words (as a multiset) that the book also has: dropped text lowers it."""
    mine, theirs = Counter(book_words(book)), Counter(book_words(twin))
    return sum(min(n, mine[w]) for w, n in theirs.items()) / max(sum(theirs.values()), 1)
