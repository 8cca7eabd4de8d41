"""Planning a conversion: chapter selection, safe file names, titles, and never a dropped word."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import corpus_file
from voxcli.book import Book, Chapter
from voxcli.convert.plan import ChapterPlan, parse_chapters, plan_book, safe_stem
from voxcli.engines.base import VoiceProfile
from voxcli.errors import UsageError
from voxcli.ingest import read_book
from voxcli.text.normalize import normalize

PROFILE = VoiceProfile(
    name="t", engine="fake", voice="v", sentence_pause=0.2, paragraph_pause=0.5, title_pause=1.0
)


def words(text: str) -> list[str]:
    """Letters and digits: what can be pronounced ("_" alone, like "* * *", has nothing to say)."""
    return re.findall(r"[^\W_]+", text.casefold())


def plan(book: Book, max_chars: int = 200, titles: bool = True) -> list[ChapterPlan]:
    numbers = [c.index for c in book.chapters]
    return plan_book(
        book,
        numbers,
        profile=PROFILE,
        identity={"engine": "fake"},
        max_chars=max_chars,
        normalize=normalize,
        titles=titles,
    )


@pytest.mark.parametrize(
    "name",
    [
        ("epub", "moby-dick.epub"),
        ("epub", "wasteland-otf-obf.epub"),
        ("txt", "devils-dictionary-972.txt"),
        ("epub", "calibre-quickstart-fra.epub"),
        ("md", "rust-book-ch04-01-what-is-ownership.md"),
    ],
)
@pytest.mark.slow
def test_every_word_of_real_books_is_planned(name: tuple[str, str]) -> None:
    path = corpus_file(*name)
    book = read_book(str(path))
    for max_chars in (1000, 200):
        plans = plan(book, max_chars, titles=False)
        for chapter, chapter_plan in zip(book.chapters, plans, strict=True):
            shown = [w for s in chapter_plan.segments for w in words(s.text)]
            assert "".join(shown) == "".join(words(chapter.text)), f"chapter {chapter.index}"
            assert all(len(s.speech) <= max_chars for s in chapter_plan.segments)


def test_titles_are_spoken_once(tmp_path: Path) -> None:
    book = Book(
        "B",
        "A",
        "en",
        (
            Chapter(1, "Chapter 1. Loomings.", ("Chapter 1. Loomings.", "Call me Ishmael. Some years ago.")),
            Chapter(2, "The Carpet-Bag", ("I stuffed a shirt or two into my old carpet-bag.",)),
        ),
    )
    first, second = plan(book)
    assert [s.kind for s in first.segments] == ["title", "text", "text"]
    assert first.segments[0].text == "Chapter 1. Loomings." and first.segments[0].pause == 1.0
    assert [s.kind for s in second.segments] == ["title", "text"]  # the label is not in the text: added
    assert second.segments[0].text == "The Carpet-Bag"
    untitled_first, untitled_second = plan(book, titles=False)
    # Without titles the heading is still read, as text.
    assert {s.kind for s in untitled_first.segments} == {"text"}
    assert words(" ".join(s.text for s in untitled_first.segments)) == words(book.chapters[0].text)
    assert [s.text for s in untitled_second.segments] == ["I stuffed a shirt or two into my old carpet-bag."]
    assert first.segments[1].pause == 0.2 and first.segments[2].pause == 0.5  # sentence, then paragraph


def test_chapter_selection() -> None:
    assert parse_chapters("1-3,7", 10) == [1, 2, 3, 7]
    assert parse_chapters("8-", 10) == [8, 9, 10]
    assert parse_chapters("-2, 5", 10) == [1, 2, 5]
    assert parse_chapters(None, 3) == [1, 2, 3]
    assert parse_chapters("3,1,3", 5) == [1, 3]
    for bad in ("0", "11", "3-1", "a", "1--2", "2-x"):
        with pytest.raises(UsageError):
            parse_chapters(bad, 10)


@pytest.mark.parametrize(
    ("title", "stem"),
    [
        ("Loomings", "07 - Loomings"),
        ("../../etc/passwd", "07 - etc passwd"),
        ('a/b\\c:d*e?f"g<h>i|j', "07 - a b c d e f g h i j"),
        ("\x00\x1f bell\x07 ", "07 - bell"),
        ("...", "07 - Chapter"),
        ("", "07 - Chapter"),
        ("x" * 200, "07 - " + "x" * 80),
        ("word " * 30, "07 - " + " ".join(["word"] * 16)),
    ],
)
def test_safe_file_names(title: str, stem: str) -> None:
    assert safe_stem(7, title, 2) == stem
    assert "/" not in stem and "\\" not in stem


def test_same_text_same_key_different_voice_different_key() -> None:
    book = Book("B", "A", "en", (Chapter(1, "One", ("Hello there. Hello there.",)),))
    (chapter,) = plan(book, titles=False)
    assert chapter.segments[0].key == chapter.segments[1].key
    other = plan_book(
        book,
        [1],
        profile=PROFILE,
        identity={"engine": "fake", "speed": 1.5},
        max_chars=200,
        normalize=normalize,
        titles=False,
    )[0]
    assert other.segments[0].key != chapter.segments[0].key
    assert other.digest != chapter.digest


paragraph_text = st.lists(
    st.text(
        alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), min_size=1, max_size=400
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=150, deadline=None)
@given(paragraphs=paragraph_text, max_chars=st.integers(min_value=20, max_value=300))
def test_no_word_is_ever_dropped(paragraphs: list[str], max_chars: int) -> None:
    kept = tuple(p for p in paragraphs if p.strip())
    if not kept:
        return
    book = Book("B", "A", "en", (Chapter(1, "T", kept),))
    (chapter,) = plan(book, max_chars, titles=False)
    shown = "".join(w for s in chapter.segments for w in words(s.text))
    assert shown == "".join(words("\n\n".join(kept)))
