"""The Audiobookshelf folder: paths, and the files ABS reads, checked against what ABS accepts."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import pytest
from PIL import Image

from voxcli.book import Book, Chapter, Cover
from voxcli.convert.shelf import shelf_folder, write_shelf_files

# The keys and types ABS's metadata.json reader accepts for a book: ``mediaTypeKeys.book`` in
# advplyr/audiobookshelf server/utils/generators/abmetadataGenerator.js (v2.36.0), plus "chapters"
# (checked there by cleanChaptersArray); ``Book.getAbsMetadataJson`` in server/models/Book.js writes
# exactly these keys.
ABS_BOOK_KEYS = {
    "tags": "stringArray",
    "title": "string",
    "subtitle": "string",
    "authors": "stringArray",
    "narrators": "stringArray",
    "series": "stringArray",
    "genres": "stringArray",
    "publishedYear": "string",
    "publishedDate": "string",
    "publisher": "string",
    "description": "string",
    "isbn": "string",
    "asin": "string",
    "language": "string",
    "explicit": "boolean",
    "abridged": "boolean",
}

DESCRIPTION = (
    "<p>A <b>satirical</b> dictionary &amp; lexicon,</p><p>first published in 1906.<br/>"
    "Definitions&nbsp;like <i>&ldquo;CYNIC&rdquo;</i>.</p><script>alert(1)</script>"
)


def book(title: str = "The Devil's Dictionary", author: str = "Ambrose Bierce", **extra: object) -> Book:
    chapters = (Chapter(1, "A", ("Abasement.",)), Chapter(2, "B", ("Babe.",)))
    return Book(title=title, author=author, language="en", chapters=chapters, **extra)  # type: ignore[arg-type]


def png(width: int, height: int, alpha: bool = True) -> bytes:
    image = Image.new("RGBA" if alpha else "RGB", (width, height), (200, 30, 30, 128) if alpha else (1, 2, 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


CHAPTERS = [("A", 0.0, 61.25), ("B", 61.25, 130.5), ("", 130.5, 200.04)]


def check_abs_types(data: dict[str, object]) -> None:
    assert set(data) == {*ABS_BOOK_KEYS, "chapters"}
    for key, kind in ABS_BOOK_KEYS.items():
        value = data[key]
        if kind == "string":
            assert value is None or (isinstance(value, str) and value), key
        elif kind == "boolean":
            assert isinstance(value, bool), key
        else:
            assert isinstance(value, list) and all(
                isinstance(v, str) and v == v.strip() and v for v in value
            ), key
            assert len(set(value)) == len(value), key
    chapters = data["chapters"]
    assert isinstance(chapters, list)
    for number, chapter in enumerate(chapters):
        assert set(chapter) == {"id", "start", "end", "title"}
        assert chapter["id"] == number
        assert isinstance(chapter["start"], (int, float)) and isinstance(chapter["end"], (int, float))
        assert isinstance(chapter["title"], str) and chapter["title"]


def test_files_as_abs_reads_them(tmp_path: Path) -> None:
    cover = Cover("image/png", png(300, 450))
    the_book = book(description=DESCRIPTION, year="1906")
    folder = shelf_folder(tmp_path, the_book)
    assert folder == tmp_path / "Ambrose Bierce" / "The Devil's Dictionary"
    written = write_shelf_files(folder, the_book, narrator="Kokoro af_heart", chapters=CHAPTERS, cover=cover)
    assert written == ["cover.jpg", "desc.txt", "reader.txt", "metadata.json"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(written)  # no temp files left

    data = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    check_abs_types(data)
    assert data["title"] == "The Devil's Dictionary"
    assert data["authors"] == ["Ambrose Bierce"]
    assert data["narrators"] == ["Kokoro af_heart"]
    assert data["tags"] == ["Audiobook"]
    assert data["publishedYear"] == "1906" and data["language"] == "en"
    chapters = data["chapters"]
    assert [c["title"] for c in chapters] == ["A", "B", "Chapter 3"]
    assert chapters[0]["start"] == 0
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(chapters))
    assert chapters[-1]["end"] == pytest.approx(200.04)

    with Image.open(folder / "cover.jpg") as image:
        assert image.format == "JPEG" and image.size == (300, 450) and image.mode == "RGB"
        # the transparent red lies on white: light red, not black
        r, g, b = image.getpixel((150, 225))  # type: ignore[misc]
        assert r > 200 and 100 < g < 160 and 100 < b < 160

    description = (folder / "desc.txt").read_text(encoding="utf-8")
    assert "<" not in description and "&amp;" not in description and "alert" not in description
    assert (
        description
        == "A satirical dictionary & lexicon,\nfirst published in 1906.\nDefinitions like “CYNIC”.\n"
    )
    assert data["description"] == description.strip()
    assert (folder / "reader.txt").read_text(encoding="utf-8") == "Kokoro af_heart\n"


def test_jpeg_kept_as_it_is_and_no_cover(tmp_path: Path) -> None:
    out = io.BytesIO()
    Image.new("RGB", (64, 32), (9, 9, 9)).save(out, format="JPEG")
    folder = tmp_path / "one"
    written = write_shelf_files(
        folder, book(), narrator="", chapters=CHAPTERS, cover=Cover("image/jpeg", out.getvalue())
    )
    assert written == ["cover.jpg", "metadata.json"]  # no description, no narrator
    assert (folder / "cover.jpg").read_bytes() == out.getvalue()
    data = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    check_abs_types(data)
    assert data["narrators"] == [] and data["description"] is None

    folder = tmp_path / "two"
    assert write_shelf_files(folder, book(), narrator="N", chapters=CHAPTERS, cover=None) == [
        "reader.txt",
        "metadata.json",
    ]
    garbage = Cover("image/png", b"\x89PNG\r\n\x1a\nnot really")
    assert "cover.jpg" not in write_shelf_files(
        folder, book(), narrator="N", chapters=CHAPTERS, cover=garbage
    )
    # a palette GIF with transparency converts as well
    gif = io.BytesIO()
    Image.new("P", (20, 10), 0).save(gif, format="GIF", transparency=0)
    write_shelf_files(
        folder, book(), narrator="N", chapters=CHAPTERS, cover=Cover("image/gif", gif.getvalue())
    )
    with Image.open(folder / "cover.jpg") as image:
        assert image.format == "JPEG" and image.size == (20, 10)


def test_several_authors_and_same_author(tmp_path: Path) -> None:
    first = shelf_folder(tmp_path, book("Fantastic Fables"))
    second = shelf_folder(tmp_path, book("The Devil's Dictionary"))
    assert first.parent == second.parent == tmp_path / "Ambrose Bierce" and first != second
    both = book("Good Omens", "Terry Pratchett, Neil Gaiman")
    folder = shelf_folder(tmp_path, both)
    assert folder.parent.name == "Terry Pratchett, Neil Gaiman"  # as the ABS docs list several authors
    write_shelf_files(folder, both, narrator="x", chapters=CHAPTERS, cover=None)
    data = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    assert data["authors"] == ["Terry Pratchett", "Neil Gaiman"]
    assert shelf_folder(tmp_path, book("", "")) == tmp_path / "Unknown Author" / "Untitled"


@pytest.mark.parametrize(
    ("title", "author"),
    [
        ("AC/DC: ..", "AC/DC"),
        ("..", ".."),
        ("../../etc/passwd", "../.."),
        ("a\0b/c\\d", "x\0/y"),
        ("T" * 300, "A " * 150),
        ("NUL", "con.txt"),
        ("Wizards First Rule {Sam} [B0015T963C]", "   "),
        ("/", "/"),
    ],
)
def test_hostile_names_stay_inside_root(tmp_path: Path, title: str, author: str) -> None:
    root = tmp_path / "library"
    the_book = book(title, author)
    folder = shelf_folder(root, the_book)
    assert folder.parent.parent == root
    for name in (folder.name, folder.parent.name):
        assert name and name not in (".", "..") and len(name) <= 80
        assert not set(name) & set('\0/\\<>:"|?*{}[]') and name == name.strip(" .")
        assert name.split(".")[0].upper() not in ("NUL", "CON")
    written = write_shelf_files(folder, the_book, narrator="n", chapters=CHAPTERS, cover=None)
    assert (folder / written[-1]).resolve().is_relative_to(root.resolve())
    assert [p.name for p in root.iterdir()] == [folder.parent.name]
    data = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    check_abs_types(data)
    assert "\0" not in json.dumps(data) and data["title"].strip()


def test_bad_chapters_are_refused(tmp_path: Path) -> None:
    for chapters in ([("A", 0.0, 0.0)], [("A", 5.0, 9.0), ("B", 4.0, 10.0)], [("A", 0.0, float("nan"))]):
        with pytest.raises(ValueError):
            write_shelf_files(tmp_path, book(), narrator="n", chapters=chapters, cover=None)
