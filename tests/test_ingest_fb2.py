"""The FictionBook 2 reader: real calibre and pandoc conversions against their EPUB twins, and
hostile or unusual FB2 files built in tmp_path."""

from __future__ import annotations

import base64
import io
import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import corpus_file
from tests.formatcheck import titles, word_ratio, word_recall
from voxcli.book import Book
from voxcli.errors import BookError
from voxcli.ingest import ReadOptions, read_book
from voxcli.ingest.fb2 import read_fb2

NS = 'xmlns="http://www.gribuser.ru/xml/fictionbook/2.0" xmlns:l="http://www.w3.org/1999/xlink"'


def fb2(body: str, info: str = "<book-title>Test</book-title>", extra: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<FictionBook {NS}><description><title-info>{info}'
        f"</title-info></description>{body}{extra}</FictionBook>"
    )


def write(tmp_path: Path, text: str, name: str = "book.fb2", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def read(path: Path) -> Book:
    return read_fb2(path, ReadOptions())


def one_line_error(path: Path) -> str:
    start = time.monotonic()
    with pytest.raises(BookError) as info:
        read(path)
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert "\n" not in message and path.name in message
    return message


def test_calibre_moby_dick_matches_its_epub_twin() -> None:
    start = time.monotonic()
    book = read(corpus_file("formats", "moby-dick.calibre.fb2"))
    seconds = time.monotonic() - start
    twin = read_book(str(corpus_file("epub", "moby-dick.epub")))
    # calibre writes one untitled <section> per EPUB file and appends its "Contents": the titles come
    # from that inline table of contents, which is not read (as the EPUB's nav is not).
    assert len(book.chapters) == 141
    assert titles(book) == titles(twin)
    assert 0.97 <= word_ratio(book, twin) <= 1.03
    assert word_recall(book, twin) >= 0.97
    assert (book.title, book.author, book.language) == ("Moby-Dick", "Herman Melville", "en")
    assert book.cover is not None and book.cover.media_type == "image/jpeg"
    from PIL import Image

    Image.open(io.BytesIO(book.cover.data)).verify()
    assert seconds < 10


def test_pandoc_childrens_literature_has_lost_its_headings() -> None:
    book = read(corpus_file("formats", "childrens-literature.pandoc.fb2"))
    twin = read_book(str(corpus_file("epub", "childrens-literature.epub")))
    assert len(twin.chapters) == 22
    # pandoc 2.17's FB2 writer drops every heading inside a Div that does not start with one
    # (jgm/pandoc#8123), and the EPUB's chapters are <section>s: none of the 22 titles is in the
    # FB2. What it keeps is two titled sections from the EPUB's nav, "Guide" (two links) and
    # "Pages" (the page list), and pandoc put the whole book text after the page list.
    assert titles(book) == ["guide", "pages"]
    text = book.chapters[1].text
    assert "Great was the alarm in the palace of Rome" in text
    assert "ABRAM S. ISAACS" in text  # the author lines pandoc wrote outside any <p>
    assert 0.97 <= word_ratio(book, twin) <= 1.03
    assert word_recall(book, twin) >= 0.97
    assert book.author == "Erle Elsworth Clippinger, Charles Madison Curry"
    assert book.year == "2008"


def test_xxe_is_refused(tmp_path: Path) -> None:
    text = fb2("<body><section><title><p>A</p></title><p>&e;</p></section></body>").replace(
        "<FictionBook", '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<FictionBook', 1
    )
    assert "entities" in one_line_error(write(tmp_path, text))


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    ]
    doctype = "<!DOCTYPE lolz [" + "".join(entities) + "]>\n"
    text = fb2("<body><section><p>&lol9;</p></section></body>").replace(
        "<FictionBook", doctype + "<FictionBook", 1
    )
    one_line_error(write(tmp_path, text))


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.fb2.zip"
    chunk = b"\0" * (16 * 1024 * 1024)
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
        zf.open("bomb.fb2", "w", force_zip64=True) as member,
    ):
        for _ in range(64):  # 1 GiB of zeros, a megabyte or so on disk
            member.write(chunk)
    assert path.stat().st_size < 16 * 1024 * 1024
    assert "zip bomb" in one_line_error(path)


def test_fb2_zip_is_read(tmp_path: Path) -> None:
    path = tmp_path / "book.fb2.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "book.fb2", fb2("<body><section><title><p>One</p></title><p>Inside.</p></section></body>")
        )
    book = read(path)
    assert [c.title for c in book.chapters] == ["One"]
    assert book.chapters[0].paragraphs == ("One", "Inside.")


def test_notes_body_and_references_are_not_read(tmp_path: Path) -> None:
    body = (
        "<body><section><title><p>Chapter 1</p></title>"
        '<p>The whale<a l:href="#n1" type="note"><sup>[1]</sup></a> swam.</p></section></body>'
        '<body name="notes"><title><p>Notes</p></title>'
        '<section id="n1"><title><p>1</p></title><p>A footnote about whales.</p></section>'
        '<section id="n2"><p>Another note.</p></section></body>'
    )
    book = read(write(tmp_path, fb2(body)))
    assert [c.title for c in book.chapters] == ["Chapter 1"]
    assert book.chapters[0].paragraphs == ("Chapter 1", "The whale swam.")
    everything = " ".join(c.text for c in book.chapters)
    assert "footnote" not in everything and "Another note" not in everything
    assert "2 notes not read in the flow (the FB2 notes body)" in book.warnings


def test_windows_1251_russian(tmp_path: Path) -> None:
    text = fb2(
        "<body><title><p>Война и мир</p></title><section><title><p>Часть первая</p></title>"
        "<p>— Eh bien, mon prince. Генуя и Лукка — поместья фамилии Бонапарте.</p></section></body>",
        info="<author><first-name>Лев</first-name><middle-name>Николаевич</middle-name>"
        "<last-name>Толстой</last-name></author><book-title>Война и мир</book-title>"
        "<lang>ru</lang><date value='1869-01-01'>1869</date>",
    ).replace('encoding="UTF-8"', 'encoding="windows-1251"')
    book = read(write(tmp_path, text, encoding="cp1251"))
    assert (book.title, book.author, book.language, book.year) == (
        "Война и мир",
        "Лев Николаевич Толстой",
        "ru",
        "1869",
    )
    assert [c.title for c in book.chapters] == ["Часть первая"]
    assert "Генуя и Лукка — поместья фамилии Бонапарте." in book.chapters[0].text


def test_structure_nested_sections_poems_tables_epigraphs(tmp_path: Path) -> None:
    body = (
        "<body><title><p>The Book</p></title>"
        "<section><title><p>Part One</p><p>The Beginning</p></title>"
        "<epigraph><p>Call me Ishmael.</p><text-author>Melville</text-author></epigraph>"
        "<p>Part text.</p>"
        "<section><title><p>Chapter 1</p></title>"
        "<poem><title><p>A Song</p></title><stanza><v>Line one,</v><v>line two.</v></stanza></poem>"
        "<cite><p>Quoted.</p><text-author>Someone</text-author></cite>"
        "<subtitle>* * *</subtitle>"
        "<table><tr><th>Name</th><th>Age</th></tr><tr><td>Ahab</td><td>58</td></tr></table>"
        "</section>"
        "<section><p>Untitled continuation.</p></section>"
        "</section></body>"
    )
    book = read(write(tmp_path, fb2(body)))
    assert book.title == "Test"  # the description's title wins over the body's <title>
    assert [c.title for c in book.chapters] == ["Part One. The Beginning", "Chapter 1"]
    assert book.chapters[0].paragraphs == (
        "Part One. The Beginning",
        "Call me Ishmael.",
        "Melville",
        "Part text.",
    )
    assert book.chapters[1].paragraphs == (
        "Chapter 1",
        "A Song",
        "Line one, line two.",
        "Quoted.",
        "Someone",
        "* * *",
        "Name, Age.",
        "Ahab, 58.",
        "Untitled continuation.",
    )


def test_cover_from_binary(tmp_path: Path) -> None:
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(png, format="PNG")
    encoded = base64.b64encode(png.getvalue()).decode()
    text = fb2(
        "<body><section><title><p>A</p></title><p>Text.</p></section></body>",
        info='<book-title>T</book-title><coverpage><image l:href="#cover.png"/></coverpage>',
        extra=f'<binary id="cover.png" content-type="image/png">\n{encoded}\n</binary>',
    )
    book = read(write(tmp_path, text))
    assert book.cover is not None and book.cover.media_type == "image/png"
    Image.open(io.BytesIO(book.cover.data)).verify()


def test_not_fb2_is_one_line_error(tmp_path: Path) -> None:
    one_line_error(write(tmp_path, "<html><body>nope</body></html>"))
    one_line_error(write(tmp_path, "not xml at all <<<", name="bad.fb2"))
