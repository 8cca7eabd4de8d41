"""Markdown books: chapters from headings, markup reduced to speakable text."""

from __future__ import annotations

from tests.conftest import corpus_file
from voxcli.ingest import ReadOptions, read_book
from voxcli.ingest.markdown import read_markdown_bytes

RUST = ("md", "rust-book-ch04-01-what-is-ownership.md")


def test_rust_book_chapter_splits_below_its_single_title() -> None:
    book = read_book(str(corpus_file(*RUST)))
    assert book.title == "What Is Ownership?"
    assert [c.title for c in book.chapters] == [
        "What Is Ownership?",
        "Ownership Rules",
        "Variable Scope",
        "The `String` Type".replace("`", ""),
        "Memory and Allocation",
        "Ownership and Functions",
        "Return Values and Scope",
    ]
    intro = book.chapters[0]
    assert intro.paragraphs[1].startswith("Ownership is a set of rules that govern how a Rust program")
    # the quoted "### The Stack and the Heap" is inside a blockquote: text, not a chapter
    assert "The Stack and the Heap" in intro.paragraphs
    assert book.chapters[-1].paragraphs[-1].endswith("without transferring ownership: references.")


def test_rust_book_markup_is_stripped() -> None:
    book = read_book(str(corpus_file(*RUST)))
    text = "\n".join(c.text for c in book.chapters)
    assert "```" not in text and "rustdoc_include" not in text
    assert 'let s = String::from("hello");' not in text
    assert "](" not in text and "<span" not in text and "<img" not in text and "<!--" not in text
    assert "_Ownership_" not in text and "**" not in text
    rules = book.chapters[1]
    assert rules.paragraphs[2:] == (
        "Each value in Rust has an owner.",
        "There can only be one owner at a time.",
        "When the owner goes out of scope, the value will be dropped.",
    )


def test_code_is_read_only_when_asked() -> None:
    with_code = read_book(str(corpus_file(*RUST)), ReadOptions(include_code=True))
    assert 'let s = String::from("hello");' in "\n".join(c.text for c in with_code.chapters)


def test_split_level_can_be_chosen() -> None:
    book = read_book(str(corpus_file(*RUST)), ReadOptions(split_level=2))
    assert [c.title for c in book.chapters] == ["What Is Ownership?"]
    deeper = read_book(str(corpus_file(*RUST)), ReadOptions(split_level=4))
    assert "Variables and Data Interacting with Move" in [c.title for c in deeper.chapters]


def test_front_matter_lists_tables_links_images_comments() -> None:
    source = """---
title: "A Small Book"
author: Jane Doe
lang: en-GB
---

# One

See [the site](https://example.com) ![logo](logo.png) now.

<!-- an editor's note -->

- first item
- second item!

| Name | Age |
|------|-----|
| Ann  | 31  |
| Bob  | 42  |

# Two

Text with `code` inline.

<div>Raw <b>HTML</b> text.</div>
"""
    book = read_markdown_bytes(source.encode(), "small.md", "small")
    assert (book.title, book.author, book.language) == ("A Small Book", "Jane Doe", "en-GB")
    assert [c.title for c in book.chapters] == ["One", "Two"]
    assert book.chapters[0].paragraphs == (
        "One",
        "See the site now.",
        "first item.",
        "second item!",
        "Name: Ann; Age: 31.",
        "Name: Bob; Age: 42.",
    )
    assert book.chapters[1].paragraphs == ("Two", "Text with code inline.", "Raw HTML text.")
