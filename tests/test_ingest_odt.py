"""OpenDocument books: chapters from text:h outline levels, the text of the flow only."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import corpus_file
from tests.formatcheck import word_ratio, word_recall
from tests.test_ingest_docx import assert_childrens_literature_chapters
from voxcli.errors import BookError
from voxcli.ingest import ReadOptions, read_book
from voxcli.ingest.odt import read_odt

NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:xlink="http://www.w3.org/1999/xlink"'
)
META = (
    f'<?xml version="1.0" encoding="UTF-8"?><office:document-meta {NS}><office:meta>'
    "<dc:title>Made Here</dc:title><meta:initial-creator>Ann Author</meta:initial-creator>"
    "<dc:language>fr-FR</dc:language></office:meta></office:document-meta>"
)


def _content(body: str, styles: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {NS}>'
        f"<office:automatic-styles>{styles}</office:automatic-styles>"
        f"<office:body><office:text>{body}</office:text></office:body></office:document-content>"
    )


def _write_odt(path: Path, content: str, parts: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", content)
        z.writestr("meta.xml", META)
        for name, data in (parts or {}).items():
            z.writestr(name, data)
    return path


def _one_line(exc: pytest.ExceptionInfo[BookError], name: str) -> str:
    message = str(exc.value)
    assert "\n" not in message and name in exc.value.message
    return message


def test_childrens_literature_pandoc_odt_matches_its_epub() -> None:
    start = time.perf_counter()
    book = read_odt(corpus_file("formats", "childrens-literature.pandoc.odt"), ReadOptions())
    seconds = time.perf_counter() - start
    twin = read_book(str(corpus_file("epub", "childrens-literature.epub")))
    assert_childrens_literature_chapters(book, twin)
    assert 0.97 <= word_ratio(book, twin) <= 1.03
    assert word_recall(book, twin) >= 0.97
    # pandoc wrote the EPUB's subtitle and title into one Title paragraph, with nothing between
    # them, and left dc:title empty: that paragraph is the only title the ODT has
    assert (
        book.title == "A Textbook of Sources for Teachers and Teacher-Training ClassesChildren's Literature"
    )
    assert (book.author, book.language) == ("Erle Elsworth Clippinger, Charles Madison Curry", "en")
    assert seconds < 5


BODY = (
    '<text:p text:style-name="P1">The Whole Book</text:p>'
    '<text:h text:outline-level="1">First<text:s/>Chapter</text:h>'
    '<text:p>Two<text:s text:c="3"/>spaces,<text:tab/>a tab,<text:line-break/>a break'
    '<text:note text:note-class="footnote"><text:note-citation>1</text:note-citation>'
    "<text:note-body><text:p>FOOTNOTE BODY</text:p></text:note-body></text:note>"
    ' and <text:span>a span</text:span> with <text:a xlink:href="http://x">a link</text:a>'
    "<office:annotation><dc:creator>Rev</dc:creator><text:p>SECRET REMARK</text:p></office:annotation>"
    '<text:soft-page-break/> over<text:note text:note-class="endnote"><text:note-body>'
    "<text:p>ENDNOTE BODY</text:p></text:note-body></text:note>.</text:p>"
    "<text:list><text:list-item><text:p>Item one</text:p></text:list-item>"
    "<text:list-item><text:p>Item two</text:p></text:list-item></text:list>"
    '<text:h text:outline-level="2">A section</text:h>'
    "<table:table><table:table-row><table:table-cell><text:p>Name</text:p></table:table-cell>"
    "<table:table-cell><text:p>Town</text:p></table:table-cell></table:table-row>"
    "<table:table-row><table:table-cell><text:p>Ann</text:p></table:table-cell>"
    "<table:covered-table-cell/><table:table-cell><text:p>Leeds</text:p></table:table-cell>"
    "</table:table-row></table:table>"
    '<text:h text:outline-level="1">Second Chapter</text:h>'
    '<text:p>Before<draw:frame draw:name="f"><draw:text-box><text:p>Boxed text</text:p>'
    "</draw:text-box></draw:frame> after.</text:p>"
    '<text:p>Kept<text:change text:change-id="c1"/> words.</text:p>'
    "<text:p>The second chapter has a few more words to read than the first.</text:p>"
    '<text:table-of-content text:name="toc"><text:index-body><text:p>First Chapter 1</text:p>'
    "</text:index-body></text:table-of-content>"
)
TRACKED = (
    '<text:tracked-changes><text:changed-region text:id="c1"><text:deletion><office:change-info>'
    "<dc:creator>x</dc:creator></office:change-info><text:p>DELETED WORDS</text:p></text:deletion>"
    "</text:changed-region></text:tracked-changes>"
)
TITLE_STYLE = '<style:style style:name="P1" style:family="paragraph" style:parent-style-name="Title"/>'


def test_structure_text_notes_comments_and_tracked_changes(tmp_path: Path) -> None:
    path = _write_odt(tmp_path / "made.odt", _content(TRACKED + BODY, TITLE_STYLE))
    book = read_odt(path, ReadOptions())
    assert (book.title, book.author, book.language) == ("Made Here", "Ann Author", "fr-FR")
    assert [c.title for c in book.chapters] == ["First Chapter", "Second Chapter"]
    first, second = book.chapters
    assert first.paragraphs == (
        "The Whole Book",
        "First Chapter",
        "Two spaces, a tab, a break and a span with a link over.",
        "Item one",
        "Item two",
        "A section",
        "Name, Town.",
        "Ann, Leeds.",
    )
    assert second.paragraphs == (
        "Second Chapter",
        "Before after.",
        "Boxed text",
        "Kept words.",
        "The second chapter has a few more words to read than the first.",
    )
    text = " ".join(c.text for c in book.chapters)
    for hidden in ("FOOTNOTE", "ENDNOTE", "SECRET", "DELETED", "First Chapter 1"):
        assert hidden not in text
    assert book.warnings == (
        "1 footnote not read in the flow",
        "1 endnote not read in the flow",
        "1 comment not read in the flow",
        "a table of contents was not read",
    )


def test_flat_odt(tmp_path: Path) -> None:
    flat = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document {NS} office:mimetype='
        '"application/vnd.oasis.opendocument.text"><office:meta><dc:title>Flat Book</dc:title>'
        "</office:meta><office:body><office:text>"
        '<text:h text:outline-level="1">One</text:h><text:p>First text.</text:p>'
        '<text:h text:outline-level="1">Two</text:h><text:p>Second text.</text:p>'
        "</office:text></office:body></office:document>"
    )
    path = tmp_path / "flat.fodt"
    path.write_text(flat, encoding="utf-8")
    book = read_odt(path, ReadOptions())
    assert book.title == "Flat Book"
    assert [c.paragraphs for c in book.chapters] == [("One", "First text."), ("Two", "Second text.")]


def test_a_zip_bomb_fails_with_one_line_quickly(tmp_path: Path) -> None:
    path = tmp_path / "bomb.odt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        info = zipfile.ZipInfo("content.xml")
        info.compress_type = zipfile.ZIP_DEFLATED
        chunk = bytes(16 * 1024 * 1024)
        with z.open(info, "w", force_zip64=True) as stream:
            for _ in range(64):  # 1 GiB of zeros, about 1 MB on disk
                stream.write(chunk)
    start = time.perf_counter()
    with pytest.raises(BookError) as exc:
        read_odt(path, ReadOptions())
    assert time.perf_counter() - start < 10
    assert "zip bomb" in _one_line(exc, "bomb.odt")


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE office:document-content [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    f"<office:document-content {NS}><office:body><office:text><text:p>&lol3;</text:p>"
    "</office:text></office:body></office:document-content>"
)


def test_entity_declarations_are_refused(tmp_path: Path) -> None:
    path = _write_odt(tmp_path / "laughs.odt", LAUGHS)
    start = time.perf_counter()
    with pytest.raises(BookError) as exc:
        read_odt(path, ReadOptions())
    assert time.perf_counter() - start < 2
    assert "declares XML entities" in _one_line(exc, "laughs.odt")
    flat = tmp_path / "laughs.fodt"
    flat.write_text(LAUGHS.replace("document-content", "document"), encoding="utf-8")
    with pytest.raises(BookError) as exc:
        read_odt(flat, ReadOptions())
    assert "declares XML entities" in _one_line(exc, "laughs.fodt")


def test_encrypted_and_ole_files_say_so(tmp_path: Path) -> None:
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry '
        'manifest:full-path="content.xml" manifest:media-type="text/xml"><manifest:encryption-data '
        'manifest:checksum-type="SHA1/1K" manifest:checksum="x"/></manifest:file-entry></manifest:manifest>'
    )
    path = _write_odt(
        tmp_path / "locked.odt", "not xml: encrypted bytes", {"META-INF/manifest.xml": manifest}
    )
    with pytest.raises(BookError) as exc:
        read_odt(path, ReadOptions())
    assert "password-protected" in _one_line(exc, "locked.odt")
    ole = tmp_path / "old.odt"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))
    with pytest.raises(BookError) as exc:
        read_odt(ole, ReadOptions())
    assert "encrypted" in _one_line(exc, "old.odt")


def test_missing_content_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "empty.odt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
    with pytest.raises(BookError) as exc:
        read_odt(path, ReadOptions())
    assert "content.xml is missing" in _one_line(exc, "empty.odt")
