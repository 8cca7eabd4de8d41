"""Word books: chapters from heading styles, the text of the flow only, hostile files refused."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from tests.conftest import corpus_file
from tests.formatcheck import titles, word_ratio, word_recall
from voxcli.book import Book
from voxcli.errors import BookError
from voxcli.ingest import ReadOptions, read_book
from voxcli.ingest.docx import read_docx

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)


def _timed(path: Path) -> tuple[Book, float]:
    start = time.perf_counter()
    book = read_docx(path, ReadOptions())
    return book, time.perf_counter() - start


def _write_docx(path: Path, body: str, parts: dict[str, str] | None = None) -> Path:
    """A minimal package around ``body`` (the inside of w:body)."""
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W}">'
        f"<w:body>{body}</w:body></w:document>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", PACKAGE_RELS)
        z.writestr("word/document.xml", document)
        for name, data in (parts or {}).items():
            z.writestr(name, data)
    return path


def _p(text: str, style: str = "") -> str:
    ppr = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f'<w:p>{ppr}<w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>'


def _one_line(exc: pytest.ExceptionInfo[BookError], name: str) -> str:
    message = str(exc.value)
    assert "\n" not in message and name in exc.value.message
    return message


# --- the corpus: the same chapters and words as the EPUB twins ---------------------------------


def test_moby_dick_calibre_docx_matches_its_epub() -> None:
    book, seconds = _timed(corpus_file("formats", "moby-dick.calibre.docx"))
    twin = read_book(str(corpus_file("epub", "moby-dick.epub")))
    mine, theirs = titles(book), titles(twin)
    assert len(theirs) == 141 and theirs[0] == "moby-dick" and theirs[-1] == "copyright page"
    # What calibre changed: the EPUB's TOC names its title page "Moby-Dick", while the page's own
    # heading (all that DOCX keeps) is "Brief Contents"; the copyright page has no heading in the
    # EPUB, so in the DOCX it is read at the end of the Epilogue; and calibre put the EPUB's
    # detailed contents (the nav document, linear="no", which the EPUB reader skips) into the flow.
    # Calibre's own generated table of contents (a TOC field) is not read at all.
    assert mine == ["brief contents", *theirs[1:-1], "contents"]
    assert "Produced by Daniel Lazarus and Jonesey" in book.chapters[-2].paragraphs
    assert book.chapters[4].title == "Chapter 1. Loomings."
    assert book.chapters[4].paragraphs[1].startswith("Call me Ishmael.")
    assert 0.97 <= word_ratio(book, twin) <= 1.03
    assert word_recall(book, twin) >= 0.97
    assert (book.title, book.author, book.language) == ("Moby-Dick", "Herman Melville", "en")
    assert book.cover is not None and book.cover.media_type == "image/jpeg"
    assert book.warnings == ("a table of contents was not read",)
    assert seconds < 5


def test_childrens_literature_pandoc_docx_matches_its_epub() -> None:
    book, seconds = _timed(corpus_file("formats", "childrens-literature.pandoc.docx"))
    twin = read_book(str(corpus_file("epub", "childrens-literature.epub")))
    assert_childrens_literature_chapters(book, twin)
    assert 0.97 <= word_ratio(book, twin) <= 1.03
    assert word_recall(book, twin) >= 0.97
    assert book.author == "Erle Elsworth Clippinger, Charles Madison Curry"
    assert seconds < 5


def assert_childrens_literature_chapters(book: Book, twin: Book) -> None:
    """The pandoc DOCX and ODT of Children's Literature against the EPUB (22 chapters)."""
    mine, theirs = titles(book), titles(twin)
    assert len(theirs) == 22
    stories = [
        "i. the rabbi and the diadem",
        "ii. friendship",
        "iii. true charity",
        "iv. an eastern garden",
    ]
    assert theirs[4:8] == stories
    # What pandoc changed: it turned the EPUB's nav document into text (the "Guide" and "Pages"
    # lists, headings of the same level as "SECTION IV"); and the EPUB's hand-made TOC, which the
    # DOCX/ODT do not keep, is not its headings: it leaves out the h3 "SUGGESTIONS FOR READING"
    # (read inside "INTRODUCTORY" there) and lists four h5 stories under "190" only (as
    # "I."-"IV."; their headings say "1."-"4."), so here they are read inside "190 A FOUR-LEAVED
    # CLOVER". Each h3 is a bare number ("190") whose h4 holds the story's name; the chapter
    # titles join them as the EPUB's TOC does.
    assert mine == ["guide", "pages", *theirs[:3], "suggestions for reading", theirs[3], *theirs[8:]]
    clover = book.chapters[6]
    assert clover.title == "190 A FOUR-LEAVED CLOVER"
    assert "1. The Rabbi and The Diadem" in clover.paragraphs
    # the line breaks of "THE KING OF THE GOLDEN RIVER<br/>OR<br/>THE BLACK BROTHERS" are spaces
    assert book.chapters[-1].title == "204 THE KING OF THE GOLDEN RIVER OR THE BLACK BROTHERS"


# --- documents made here ------------------------------------------------------------------------


def test_heading_styles_custom_styles_outline_levels_title_and_tables(tmp_path: Path) -> None:
    document = docx.Document()
    document.core_properties.author = "Ann Author"
    document.core_properties.language = "de-DE"
    document.add_paragraph("The Whole Book", style="Title")
    document.add_paragraph("A short dedication before the first chapter.")
    document.add_heading("First Chapter", level=1)
    document.add_paragraph("Its text\tafter a tab.")
    kapitel = document.styles.add_style("Kapitel", WD_STYLE_TYPE.PARAGRAPH)
    kapitel.base_style = document.styles["Heading 1"]
    document.add_paragraph("Second Chapter", style="Kapitel")
    document.add_heading("A section, not a chapter", level=2)
    table = document.add_table(rows=2, cols=3)
    for row, cells in zip(table.rows, (("Name", "Age", "Town"), ("Ann", "42", "Leeds")), strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    # a localized style that is a heading by its outline level only (as LibreOffice writes them)
    ueberschrift = document.styles.add_style("Überschrift Eins", WD_STYLE_TYPE.PARAGRAPH)
    ppr = ueberschrift.element.get_or_add_pPr()
    outline = OxmlElement("w:outlineLvl")
    outline.set(qn("w:val"), "0")
    ppr.append(outline)
    document.add_paragraph("Third Chapter", style="Überschrift Eins")
    document.add_paragraph("Third text.")
    # a body paragraph made a heading by its own outline level
    fourth = document.add_paragraph("Fourth Chapter")
    direct = OxmlElement("w:outlineLvl")
    direct.set(qn("w:val"), "0")
    fourth._p.get_or_add_pPr().append(direct)
    list_item = document.add_paragraph("A list item", style="List Bullet")
    assert list_item.text
    path = tmp_path / "styles.docx"
    document.save(str(path))
    book = read_docx(path, ReadOptions())
    assert book.title == "The Whole Book"
    assert (book.author, book.language) == ("Ann Author", "de-DE")
    assert [c.title for c in book.chapters] == [
        "First Chapter",
        "Second Chapter",
        "Third Chapter",
        "Fourth Chapter",
    ]
    first, second, _, fourth_chapter = book.chapters
    # short front matter (the title and a dedication) is read at the start of the first chapter
    assert first.paragraphs == (
        "The Whole Book",
        "A short dedication before the first chapter.",
        "First Chapter",
        "Its text after a tab.",
    )
    assert second.paragraphs == (
        "Second Chapter",
        "A section, not a chapter",
        "Name, Age, Town.",
        "Ann, 42, Leeds.",
    )
    assert fourth_chapter.paragraphs == ("Fourth Chapter", "A list item")
    # a single Heading 1 that opens the document is the title; chapters start at Heading 2
    single = docx.Document()
    single.add_heading("Only Title", level=1)
    single.add_heading("One", level=2)
    single.add_paragraph("one text")
    single.add_heading("Two", level=2)
    single.add_paragraph("two text")
    single.save(str(tmp_path / "single.docx"))
    book = read_docx(tmp_path / "single.docx", ReadOptions())
    assert book.title == "Only Title"
    assert [c.title for c in book.chapters] == ["One", "Two"]


def test_comments_are_not_read(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("Chapter", level=1)
    paragraph = document.add_paragraph("Commented text stays.")
    document.add_comment(paragraph.runs, text="SECRET REVIEWER REMARK", author="Rev")
    path = tmp_path / "comment.docx"
    document.save(str(path))
    book = read_docx(path, ReadOptions())
    text = " ".join(c.text for c in book.chapters)
    assert "Commented text stays." in text
    assert "SECRET" not in text
    assert book.warnings == ("1 comment not read in the flow",)


def test_notes_deletions_fields_breaks_and_links(tmp_path: Path) -> None:
    footnotes = (
        f'<?xml version="1.0" encoding="UTF-8"?><w:footnotes xmlns:w="{W}">'
        '<w:footnote w:id="1"><w:p><w:r><w:t>FOOTNOTE BODY TEXT</w:t></w:r></w:p></w:footnote>'
        "</w:footnotes>"
    )
    body = (
        _p("Chapter One", "Heading1")
        + '<w:p><w:r><w:t>A noted</w:t></w:r><w:r><w:footnoteReference w:id="1"/></w:r>'
        '<w:r><w:t xml:space="preserve"> word and an endnote</w:t></w:r>'
        '<w:r><w:endnoteReference w:id="2"/></w:r><w:r><w:t>.</w:t></w:r></w:p>'
        '<w:p><w:r><w:t xml:space="preserve">Kept </w:t></w:r>'
        '<w:del w:id="3" w:author="x"><w:r><w:delText>DELETED WORDS </w:delText></w:r></w:del>'
        '<w:ins w:id="4" w:author="x"><w:r><w:t xml:space="preserve">inserted </w:t></w:r></w:ins>'
        '<w:hyperlink r:id="rId9" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships"><w:r><w:t>linked</w:t></w:r></w:hyperlink>'
        '<w:r><w:br/><w:t>after</w:t><w:br w:type="page"/><w:t>break</w:t></w:r>'
        '<w:smartTag w:uri="u" w:element="place">'
        '<w:r><w:t xml:space="preserve"> Leeds</w:t></w:r></w:smartTag>'
        "</w:p>"
        '<w:p><w:r><w:t xml:space="preserve">Page </w:t></w:r><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        '<w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>7</w:t></w:r>'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        '<w:sdt><w:sdtPr/><w:sdtContent><w:r><w:t xml:space="preserve"> in a control</w:t></w:r>'
        "</w:sdtContent></w:sdt></w:p>"
    )
    path = _write_docx(tmp_path / "notes.docx", body, {"word/footnotes.xml": footnotes})
    book = read_docx(path, ReadOptions())
    assert book.chapters[0].paragraphs == (
        "Chapter One",
        "A noted word and an endnote.",
        "Kept inserted linked after break Leeds",
        "Page 7 in a control",
    )
    text = " ".join(c.text for c in book.chapters)
    assert "FOOTNOTE" not in text and "DELETED" not in text and "PAGE" not in text
    assert book.warnings == ("1 footnote not read in the flow", "1 endnote not read in the flow")


def test_a_generated_table_of_contents_is_not_read(tmp_path: Path) -> None:
    body = (
        _p("Contents", "Heading1") + '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        '<w:r><w:instrText> TOC \\o "1-3" \\h </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>Chapter One 1</w:t></w:r></w:p>'
        '<w:p><w:r><w:t>Chapter Two 2</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
        + _p("Chapter One", "Heading1")
        + _p("One.")
        + _p("Chapter Two", "Heading1")
        + _p("Two.")
    )
    book = read_docx(_write_docx(tmp_path / "toc.docx", body), ReadOptions())
    assert [c.title for c in book.chapters] == ["Chapter One", "Chapter Two"]
    assert book.warnings == ("a table of contents was not read",)


# --- hostile and wrong files --------------------------------------------------------------------


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DOCX whose word/document.xml declares 256 MiB of zeros (about 256 KB on disk)."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.docx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", PACKAGE_RELS)
        info = zipfile.ZipInfo("word/document.xml")
        info.compress_type = zipfile.ZIP_DEFLATED
        chunk = bytes(16 * 1024 * 1024)
        with z.open(info, "w", force_zip64=True) as stream:
            for _ in range(16):
                stream.write(chunk)
    assert path.stat().st_size < 8 * 1024 * 1024
    return path


def test_a_zip_bomb_fails_with_one_line_quickly(zip_bomb: Path) -> None:
    start = time.perf_counter()
    with pytest.raises(BookError) as exc:
        read_docx(zip_bomb, ReadOptions())
    assert time.perf_counter() - start < 10
    assert "zip bomb" in _one_line(exc, "bomb.docx")


def test_entity_declarations_are_refused(tmp_path: Path) -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        f'<w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>&lol3;</w:t></w:r></w:p></w:body></w:document>'
    )
    path = tmp_path / "laughs.docx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", PACKAGE_RELS)
        z.writestr("word/document.xml", laughs)
    start = time.perf_counter()
    with pytest.raises(BookError) as exc:
        read_docx(path, ReadOptions())
    assert time.perf_counter() - start < 2
    assert "declares XML entities" in _one_line(exc, "laughs.docx")


def test_an_encrypted_or_old_word_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "secret.docx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))
    with pytest.raises(BookError) as exc:
        read_docx(path, ReadOptions())
    message = _one_line(exc, "secret.docx")
    assert "encrypted" in message and ".doc" in message and "save it as .docx" in message


def test_not_a_zip_or_no_document(tmp_path: Path) -> None:
    junk = tmp_path / "junk.docx"
    junk.write_bytes(b"this is not a zip file at all")
    with pytest.raises(BookError) as exc:
        read_docx(junk, ReadOptions())
    _one_line(exc, "junk.docx")
    empty = tmp_path / "empty.docm"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
    with pytest.raises(BookError) as exc:
        read_docx(empty, ReadOptions())
    assert "word/document.xml is missing" in _one_line(exc, "empty.docm")
