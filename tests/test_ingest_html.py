"""HTML and HTMLZ books: the corpus conversions against their EPUB twins, and hostile pages."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import corpus_file
from tests.formatcheck import fold_title, titles, word_ratio, word_recall
from voxcli.errors import BookError
from voxcli.ingest import ReadOptions, read_book
from voxcli.ingest.html import read_html, read_htmlz

OPTIONS = ReadOptions()


def _one_line(exc: BookError, name: str) -> None:
    assert "\n" not in str(exc)
    assert name in exc.message


# --- the corpus ---------------------------------------------------------------------------------


def test_moby_dick_htmlz_matches_its_epub() -> None:
    start = time.monotonic()
    book = read_htmlz(corpus_file("formats", "moby-dick.calibre.htmlz"), OPTIONS)
    seconds = time.monotonic() - start
    twin = read_book(str(corpus_file("epub", "moby-dick.epub")))
    assert len(book.chapters) == 141
    assert titles(book) == titles(twin)
    assert 0.97 <= word_ratio(book, twin) <= 1.03
    assert word_recall(book, twin) >= 0.97
    assert seconds < 10
    # From the OPF calibre wrote: its language is "en" where the EPUB says "en-US".
    assert (book.title, book.author, book.language) == ("Moby-Dick", "Herman Melville", "en")
    assert book.cover is not None and book.cover.media_type == "image/jpeg"
    # calibre writes epub:type as type="footnote": the transcriber's footnote stays out, as in the EPUB.
    notes = book.chapters[1]
    assert "corrected in this EPUB3 edition" not in notes.text
    # The table of contents calibre appended (a linear="no" document in the EPUB) is not read,
    # nor its "Contents" heading outside the <nav>.
    assert book.chapters[-1].title == "Copyright Page"
    assert book.chapters[-1].words == twin.chapters[-1].words


def test_childrens_literature_pandoc_html_matches_its_epub() -> None:
    book = read_html(corpus_file("formats", "childrens-literature.pandoc.html"), OPTIONS)
    twin = read_book(str(corpus_file("epub", "childrens-literature.epub")))
    assert len(twin.chapters) == 22
    # pandoc dropped the EPUB's <nav epub:type="toc"> (it kept only the hidden landmarks and page
    # list), so the chapters come from the headings. Two known differences follow from that:
    # - "SUGGESTIONS FOR READING" is an <h3> like "INTRODUCTORY" but the EPUB's TOC does not list
    #   it (its text is part of "INTRODUCTORY" there);
    # - the four parables of "190 A FOUR-LEAVED CLOVER" are TOC entries hidden in a nested list of
    #   the EPUB's nav, headed <h5> in the text (and numbered "1." there, "I." in the TOC): they
    #   are read as part of "190 A FOUR-LEAVED CLOVER".
    expected = titles(twin)
    parables = [fold_title(t) for t in ("I. The Rabbi and the Diadem", "II. Friendship")]
    parables += [fold_title(t) for t in ("III. True Charity", "IV. An Eastern Garden")]
    assert expected[4:8] == parables
    expected = [*expected[:3], "suggestions for reading", *expected[3:4], *expected[8:]]
    assert titles(book) == expected
    assert len(book.chapters) == 19
    assert 0.97 <= word_ratio(book, twin) <= 1.03
    assert word_recall(book, twin) >= 0.97
    # Pandoc's page-number markers (<span class="pagebreak">169</span>) are not read, as in the EPUB.
    assert book.chapters[0].text == twin.chapters[0].text
    assert book.author == "Erle Elsworth Clippinger, Charles Madison Curry"
    assert book.year == "2008"
    # Pandoc's title block (title, authors, date) is metadata, not text to read.
    assert "Teacher-Training" in book.title
    assert "Teacher-Training" not in book.chapters[0].text


# --- pages made here ----------------------------------------------------------------------------

SAVED_PAGE = """<!DOCTYPE html>
<html lang="en-GB"><head>
<meta charset="utf-8"><title>The Tale | Example Site</title>
<meta name="author" content="Ann Writer">
<meta property="og:title" content="The Tale">
<meta property="og:image" content="https://example.com/og.jpg">
<meta name="description" content="A tale.">
<meta name="dc.date" content="1899-04-01">
<style>body { color: red } .stylewords { }</style>
<script>var scriptwords = "scriptwords";</script>
</head><body>
<header role="banner"><p>Bannerwords site name</p></header>
<nav><a href="/">Navwords home</a></nav>
<header><p>Pageheaderwords</p></header>
<form><label>Formwords search</label><input value="x"></form>
<main>
<article>
<header><h1>The Tale</h1></header>
<h2>The Beginning</h2>
<p>Once upon a time there was a reader.</p>
<aside role="complementary"><p>Asidewords related links</p></aside>
<h2 id="two">The Middle</h2>
<p>The reader read a page.</p>
<h3>A small part</h3>
<p>Still the middle.</p>
<h2>The End</h2>
<p>And that was all.</p>
<img src="../../etc/passwd"><img src="pic.png">
</article>
</main>
<footer><p>Footerwords copyright</p></footer>
<noscript>Noscriptwords</noscript>
</body></html>
"""


def test_saved_page_reads_only_the_text(tmp_path: Path) -> None:
    page = tmp_path / "tale.html"
    page.write_text(SAVED_PAGE, encoding="utf-8")
    (tmp_path / "tale_files").mkdir()
    book = read_html(page, OPTIONS)
    text = " ".join(c.title + " " + c.text for c in book.chapters)
    for word in (
        "stylewords",
        "scriptwords",
        "Bannerwords",
        "Navwords",
        "Pageheaderwords",
        "Formwords",
        "Asidewords",
        "Footerwords",
        "Noscriptwords",
    ):
        assert word not in text
    # One <h1> opens the document: it is the title, chapters start at <h2> (the <h3> does not cut).
    assert [c.title for c in book.chapters] == ["The Tale", "The Beginning", "The Middle", "The End"]
    assert book.chapters[2].paragraphs == (
        "The Middle",
        "The reader read a page.",
        "A small part",
        "Still the middle.",
    )
    assert (book.title, book.author, book.language, book.year) == ("The Tale", "Ann Writer", "en-GB", "1899")
    assert book.description == "A tale."
    assert book.cover is None  # og:image is a URL: never fetched; the images are not local files


def test_h1_chapters_and_synthetic_ids(tmp_path: Path) -> None:
    page = tmp_path / "book.htm"
    page.write_text(
        "<html><body><p>A short preface.</p>"
        "<h1>One</h1><p>First text.</p><h2>One, part</h2><p>More.</p>"
        "<h1>Two</h1><p>Second text.</p></body></html>",
        encoding="utf-8",
    )
    book = read_html(page, OPTIONS)
    assert [c.title for c in book.chapters] == ["One", "Two"]
    assert book.chapters[0].paragraphs[0] == "A short preface."  # short front matter joins chapter 1
    assert book.title == "book"


def test_page_toc_gives_cut_points_and_titles(tmp_path: Path) -> None:
    page = tmp_path / "toc.xhtml"
    page.write_text(
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>T</title></head><body>'
        '<nav id="TOC" role="doc-toc"><ul><li><a href="#a">Alpha chapter</a></li>'
        '<li><a href="toc.xhtml#b">Beta chapter</a></li><li><a href="other.html#c">Gone</a></li></ul></nav>'
        '<div id="a"><p>Text of alpha.</p><h2>Not a cut</h2><p>Still alpha.</p></div>'
        '<p id="b">Text of beta.</p></body></html>',
        encoding="utf-8",
    )
    book = read_html(page, OPTIONS)
    assert [c.title for c in book.chapters] == ["Alpha chapter", "Beta chapter"]
    assert "Still alpha." in book.chapters[0].paragraphs
    assert "Alpha chapter" not in book.chapters[0].text  # the nav itself is not read


def test_cover_is_a_local_image_inside_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    (folder / "page_files").mkdir(parents=True)
    jpeg = b"\xff\xd8\xff\xe0" + b"\0" * 40_000
    (folder / "page_files" / "big.jpg").write_bytes(jpeg)
    (tmp_path / "outside.jpg").write_bytes(jpeg)
    page = folder / "page.html"
    page.write_text(
        '<html><head><meta property="og:image" content="../outside.jpg"></head><body>'
        '<img src="/etc/passwd"><img src="../../../../etc/passwd"><img src="file:///etc/passwd">'
        '<img src="page_files/big.jpg"><h1>A</h1><p>Text.</p></body></html>',
        encoding="utf-8",
    )
    book = read_html(page, OPTIONS)
    assert book.cover is not None and book.cover.data == jpeg
    (folder / "page_files" / "big.jpg").unlink()
    assert read_html(page, OPTIONS).cover is None  # ../outside.jpg leaves the folder: ignored


def test_cover_path_escaping_is_ignored(tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_text(
        '<html><head><meta property="og:image" content="../../etc/passwd"></head>'
        '<body><img src="../../etc/passwd"><p>Text.</p></body></html>',
        encoding="utf-8",
    )
    assert read_html(page, OPTIONS).cover is None


XXE = """<?xml version="1.0"?>
<!DOCTYPE html [
<!ENTITY xxe SYSTEM "file:///etc/passwd">
<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<html xmlns="http://www.w3.org/1999/xhtml"><body><p>&xxe; &lol3;</p></body></html>
"""


def test_entity_declarations_are_refused(tmp_path: Path) -> None:
    # Decision: as for EPUB, a document that declares entities is refused with one line.
    page = tmp_path / "evil.xhtml"
    page.write_text(XXE, encoding="utf-8")
    with pytest.raises(BookError) as info:
        read_html(page, OPTIONS)
    _one_line(info.value, "evil.xhtml")
    assert "entities" in info.value.message


def test_htmlz_with_entity_declarations_is_refused(tmp_path: Path) -> None:
    book = tmp_path / "evil.htmlz"
    with zipfile.ZipFile(book, "w") as zf:
        zf.writestr("index.html", XXE)
    with pytest.raises(BookError) as info:
        read_htmlz(book, OPTIONS)
    _one_line(info.value, "evil.htmlz")


def test_html_too_large(tmp_path: Path) -> None:
    page = tmp_path / "huge.html"
    with page.open("wb") as out:
        out.truncate(64 * 1024 * 1024 + 1)  # sparse: no real disk used
    with pytest.raises(BookError) as info:
        read_html(page, OPTIONS)
    _one_line(info.value, "huge.html")


def test_htmlz_zip_bomb_is_refused_quickly(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.htmlz"
    chunk = b"\0" * (16 * 1024 * 1024)
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("metadata.opf", "<package xmlns='http://www.idpf.org/2007/opf'/>")
        with zf.open("index.html", "w", force_zip64=True) as member:
            for _ in range(64):  # 1 GiB of zeros
                member.write(chunk)
    start = time.monotonic()
    with pytest.raises(BookError) as info:
        read_htmlz(bomb, OPTIONS)
    assert time.monotonic() - start < 10
    _one_line(info.value, "bomb.htmlz")


def test_htmlz_metadata_and_cover_from_the_opf(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    book = tmp_path / "small.htmlz"
    opf = """<?xml version='1.0' encoding='utf-8'?>
<package xmlns="http://www.idpf.org/2007/opf" version="2.0">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">
<dc:title>Small Book</dc:title><dc:creator opf:role="aut">A. Author</dc:creator>
<dc:language>fr</dc:language><dc:date>1905-01-01T00:00:00+00:00</dc:date></metadata>
<guide><reference type="cover" href="../../etc/passwd"/><reference type="cover" href="images/c.png"/></guide>
</package>"""
    with zipfile.ZipFile(book, "w") as zf:
        zf.writestr("metadata.opf", opf)
        zf.writestr("images/c.png", png)
        zf.writestr(
            "index.html",
            "<html><head><title>Other</title></head><body><h2>Un</h2><p>Texte un.</p>"
            "<h2>Deux</h2><p>Texte deux.</p></body></html>",
        )
    result = read_htmlz(book, OPTIONS)
    assert (result.title, result.author, result.language, result.year) == (
        "Small Book",
        "A. Author",
        "fr",
        "1905",
    )
    assert result.cover is not None and result.cover.data == png
    assert [c.title for c in result.chapters] == ["Un", "Deux"]


def test_htmlz_without_html(tmp_path: Path) -> None:
    book = tmp_path / "empty.htmlz"
    with zipfile.ZipFile(book, "w") as zf:
        zf.writestr("metadata.opf", "<package xmlns='http://www.idpf.org/2007/opf'/>")
    with pytest.raises(BookError) as info:
        read_htmlz(book, OPTIONS)
    _one_line(info.value, "empty.htmlz")


def test_not_a_zip(tmp_path: Path) -> None:
    book = tmp_path / "bad.htmlz"
    book.write_bytes(b"not a zip at all")
    with pytest.raises(BookError) as info:
        read_htmlz(book, OPTIONS)
    _one_line(info.value, "bad.htmlz")


def test_empty_page(tmp_path: Path) -> None:
    page = tmp_path / "empty.html"
    page.write_text("<html><body><script>x()</script></body></html>", encoding="utf-8")
    with pytest.raises(BookError) as info:
        read_html(page, OPTIONS)
    _one_line(info.value, "empty.html")
