"""Plain-text books: Gutenberg boilerplate, chapters, paragraphs, encodings; no text lost."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import corpus_file
from voxcli.ingest import read_book
from voxcli.ingest.text import read_text_bytes, split_blocks, split_chapters

LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1)]


def words(text: str) -> list[str]:
    """Words as a listener hears them; text is NFC-normalised when read, so compare that way."""
    return re.findall(r"[^\W_]+", unicodedata.normalize("NFC", text))


def test_devils_dictionary_chapters_and_boilerplate() -> None:
    book = read_book(str(corpus_file("txt", "devils-dictionary-972.txt")))
    assert (book.title, book.author, book.language) == ("The Devil's Dictionary", "Ambrose Bierce", "en")
    titles = [c.title for c in book.chapters]
    assert titles[:2] == ["THE DEVIL'S DICTIONARY", "AUTHOR'S PREFACE"]
    # Every letter of the alphabet is a chapter; poem titles ("TO MY PET TORTOISE") are not.
    assert titles[2:] == LETTERS[: LETTERS.index("Z") + 1]
    text = "\n".join(c.text for c in book.chapters)
    assert "Project Gutenberg" not in text and "PROJECT GUTENBERG" not in text
    assert "Produced by" not in text and "\r" not in text
    preface = book.chapters[1]
    assert preface.paragraphs[1].startswith("The Devil's Dictionary was begun in a weekly paper in 1881")
    assert preface.paragraphs[-1] == "A.B."
    a = book.chapters[2]
    assert a.paragraphs[1] == (
        "ABASEMENT, n. A decent and customary mental attitude in the presence "
        "of wealth or power. Peculiarly appropriate in an employee when "
        "addressing an employer."
    )
    z = book.chapters[-1]
    assert z.paragraphs[-1].endswith("the domestic cow sheds its horn every two years.")
    assert "TO MY PET TORTOISE" in book.chapters[titles.index("T")].paragraphs


def test_no_word_of_the_devils_dictionary_is_lost() -> None:
    raw = corpus_file("txt", "devils-dictionary-972.txt").read_text().replace("\r\n", "\n")
    body = raw.split("*** START OF THIS PROJECT GUTENBERG EBOOK THE DEVIL'S DICTIONARY ***")[1]
    body = body.split("End of Project Gutenberg's The Devil's Dictionary")[0]
    body = body.split("Produced by Aloysius", 1)[1]
    book = read_book(str(corpus_file("txt", "devils-dictionary-972.txt")))
    assert words(" ".join(c.text for c in book.chapters)) == words(body)


def test_headings_of_many_kinds() -> None:
    source = (
        "My Book\n\nSome opening words\nwrapped here.\n\n\n"
        "CHAPTER I\n\nIt began.\n\n"
        "Chapter 12: The Return\n\nHe came back.\n\n"
        "BOOK TWO\n\nPART III\n\nText of part three.\n\n"
        "Prologue\n\nBefore all.\n\n\n"
        "XIV.\n\nFourteen.\n\n"
        "Chapter 12 was the best part of the whole book and everyone who read it said so.\n\n"
        "I\n\nsaid the man.\n"
    )
    book = read_text_bytes(source.encode(), "t.txt", "t")
    assert [c.title for c in book.chapters] == [
        "t",
        "CHAPTER I",
        "Chapter 12: The Return",
        "BOOK TWO",
        "PART III",
        "Prologue",
        "XIV.",
    ]
    # a title-case line at the top is text (it is not set off the way Gutenberg sets off titles)
    assert book.chapters[0].paragraphs == ("My Book", "Some opening words wrapped here.")
    # a long sentence that starts like a heading, and a lone "I" after one blank line, are text
    assert book.chapters[-1].paragraphs[2].startswith("Chapter 12 was the best part")
    assert book.chapters[-1].paragraphs[-2:] == ("I", "said the man.")


def test_a_book_without_headings_is_one_chapter_named_after_it() -> None:
    book = read_text_bytes(b"just some words.\nmore words\n\nanother paragraph.", "notes.txt", "notes")
    assert [(c.title, c.paragraphs) for c in book.chapters] == [
        ("notes", ("just some words. more words", "another paragraph."))
    ]


def test_encodings_are_detected() -> None:
    text = "Chapter 1\n\nÇa déjà vu — naïve café, « voilà ».\n"
    for data in (
        text.encode("utf-8"),
        text.encode("utf-8-sig"),
        text.encode("utf-16"),
        text.replace("«", '"').replace("»", '"').encode("cp1252"),
    ):
        book = read_text_bytes(data, "x.txt", "x")
        assert book.chapters[0].paragraphs[1].startswith("Ça déjà vu — naïve café"), data[:20]
    crlf = read_text_bytes(b"Chapter 1\r\n\r\nline one\r\nline two\r\n", "x.txt", "x")
    assert crlf.chapters[0].paragraphs == ("Chapter 1", "line one line two")


line = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), max_size=60),
    st.sampled_from(
        [
            "",
            "",
            "CHAPTER IV",
            "Chapter 3",
            "PROLOGUE",
            "THE END",
            "I",
            "XII.",
            "_emph_ word",
            "   indented verse",
            "BOOK ONE",
            "--",
            "***",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(line, max_size=80), st.sampled_from(["\n", "\r\n"]))
def test_splitter_keeps_every_word_once_and_in_order(lines: list[str], newline: str) -> None:
    source = newline.join(lines)
    raw = split_chapters(split_blocks(source.replace("\r\n", "\n")), "Book")
    spoken = [w for _, paragraphs in raw for p in paragraphs for w in words(p)]
    assert spoken == words(source)
    for _, paragraphs in raw:
        assert all(p and "\n" not in p for p in paragraphs)


@settings(max_examples=100, deadline=None)
@given(st.lists(line, min_size=1, max_size=40))
def test_reader_keeps_every_word_through_encoding(lines: list[str]) -> None:
    source = "\n".join(lines)
    if not words(source):
        return
    book = read_text_bytes(source.encode("utf-8"), "x.txt", "x")
    assert words(" ".join(c.text for c in book.chapters)) == words(source)
