"""Every real EPUB in ../shared/corpus/epub: chapters match the book's own table of contents."""

from __future__ import annotations

import json
import posixpath
import re
import zipfile
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import corpus_file
from voxcli.book import Book
from voxcli.ingest import read_book

EPUBS = [
    "calibre-quickstart-eng.epub",
    "calibre-quickstart-fra.epub",
    "childrens-literature.epub",
    "georgia-pls-ssml.epub",
    "live-manual.en.epub",
    "live-manual.ja.epub",
    "mahabharata.epub",
    "moby-dick.epub",
    "regime-anticancer-arabic.epub",
    "ubuntu-packaging-guide.epub",
    "wasteland-otf-obf.epub",
]
# TOC entries that are rightly not chapters: image-only pages. (Endnotes the TOC lists are chapters of
# kind "notes".)
NOT_CHAPTERS = {
    "regime-anticancer-arabic.epub": {"Couverture", "Page de titre"},
}
OPF = "{http://www.idpf.org/2007/opf}"
NCX = "{http://www.daisy.org/z3986/2005/ncx/}"
OPS_TYPE = "{http://www.idpf.org/2007/ops}type"


@cache
def load(name: str) -> Book:
    return read_book(str(corpus_file("epub", name)))


def toc_labels(path: Path) -> list[str]:
    """The TOC labels, read independently of voxcli: nav first, else NCX; one per target."""
    z = zipfile.ZipFile(path)
    container = etree.fromstring(z.read("META-INF/container.xml"))
    opf_path = container.find(".//{*}rootfile").get("full-path")
    opf = etree.fromstring(z.read(opf_path))
    base = posixpath.dirname(opf_path)
    items = opf.findall(f"{OPF}manifest/{OPF}item")
    nav = [i for i in items if "nav" in (i.get("properties") or "").split()]
    labels: list[tuple[str, str]] = []
    if nav:
        doc = etree.fromstring(z.read(posixpath.normpath(posixpath.join(base, nav[0].get("href")))))
        toc = next(n for n in doc.iter("{*}nav") if n.get(OPS_TYPE) == "toc")
        labels = [(" ".join("".join(a.itertext()).split()), a.get("href")) for a in toc.iter("{*}a")]
    else:
        toc_id = opf.find(f"{OPF}spine").get("toc")
        ncx_item = next(i for i in items if i.get("id") == toc_id)
        doc = etree.fromstring(z.read(posixpath.normpath(posixpath.join(base, ncx_item.get("href")))))
        for point in doc.iter(f"{NCX}navPoint"):
            text = point.find(f"{NCX}navLabel/{NCX}text")
            src = point.find(f"{NCX}content").get("src")
            labels.append((" ".join("".join(text.itertext()).split()), src))
    seen: set[str] = set()
    unique = []
    for label, href in labels:
        if href not in seen:
            seen.add(href)
            unique.append(label)
    return unique


@pytest.mark.parametrize("name", EPUBS)
def test_chapters_are_the_toc_entries(name: str) -> None:
    book = load(name)
    expected = [t for t in toc_labels(corpus_file("epub", name)) if t not in NOT_CHAPTERS.get(name, ())]
    assert [c.title for c in book.chapters] == expected
    assert [c.index for c in book.chapters] == list(range(1, len(expected) + 1))


@pytest.mark.parametrize("name", EPUBS)
def test_text_decodes_cleanly(name: str) -> None:
    book = load(name)
    for chapter in book.chapters:
        assert chapter.paragraphs, chapter.title
        text = chapter.text
        assert "\ufffd" not in text, chapter.title
        assert not re.search(r"Ã[\x80-\xbf©¨§ ]|â€", text), f"mojibake in {chapter.title}"
        assert "<" not in text or "</" not in text, f"markup leaked into {chapter.title}"
        assert all(p == p.strip() and "\n" not in p for p in chapter.paragraphs)


@pytest.mark.parametrize(
    ("name", "count", "title", "first", "last"),
    [
        ("childrens-literature.epub", 22, "195 THE FIR TREE", "195", "—and that's the way with all stories."),
        (
            "childrens-literature.epub",
            22,
            "I. The Rabbi and the Diadem",
            "1. The Rabbi and The Diadem",
            "had he not done right for right's sake?",
        ),
        (
            "moby-dick.epub",
            141,
            "Chapter 1. Loomings.",
            "Chapter 1. Loomings.",
            "one grand hooded phantom, like a snow hill in the air.",
        ),
        (
            "moby-dick.epub",
            141,
            "Chapter 135. The Chase.—Third Day.",
            "Chapter 135. The Chase.—Third Day.",
            None,
        ),
        (
            "calibre-quickstart-eng.epub",
            22,
            "2.1: Background",
            "2.1: Background",
            "readable on another device due to DRM.",
        ),
        (
            "calibre-quickstart-fra.epub",
            22,
            "Introduction",
            "Introduction",
            "directement ou via le GUI principal.",
        ),
        (
            "live-manual.en.epub",
            190,
            "1.1 For the impatient",
            "1.1 For the impatient",
            "the rest of the manual, cover-to-cover.",
        ),
        ("georgia-pls-ssml.epub", 10, "Finance", "Finance.", "but by contract it may be 8%."),
        (
            "wasteland-otf-obf.epub",
            6,
            "V. WHAT THE THUNDER SAID",
            "V. WHAT THE THUNDER SAID",
            "Shantih shantih shantih",
        ),
        ("regime-anticancer-arabic.epub", 1, "Commencer la lecture", "الفصل الثاني", "إلى كلّ أغذيتنا."),
    ],
)
def test_chosen_chapters_start_and_end_right(
    name: str, count: int, title: str, first: str, last: str | None
) -> None:
    book = load(name)
    assert len(book.chapters) == count
    chapter = next(c for c in book.chapters if c.title == title)
    assert chapter.paragraphs[0] == first
    if last is not None:
        assert chapter.paragraphs[-1].endswith(last)


def test_moby_dick_reads_call_me_ishmael_and_the_epilogue() -> None:
    book = load("moby-dick.epub")
    loomings = next(c for c in book.chapters if c.title == "Chapter 1. Loomings.")
    assert loomings.paragraphs[1].startswith("Call me Ishmael.")
    epilogue, copyright_page = book.chapters[-2:]
    assert epilogue.title == "Epilogue"
    assert epilogue.paragraphs[-1].endswith("only found another orphan.")
    assert copyright_page.title == "Copyright Page"  # in the book's own TOC, so it is a chapter
    assert (book.title, book.author, book.language) == ("Moby-Dick", "Herman Melville", "en-US")
    assert book.cover is not None and book.cover.media_type == "image/jpeg"
    assert book.cover.data[:3] == b"\xff\xd8\xff"  # a real JPEG


def test_footnotes_and_page_numbers_are_not_read() -> None:
    waste = " ".join(c.text for c in load("wasteland-otf-obf.epub").chapters if c.kind == "text")
    assert "Cf. Ezekiel" not in waste and "Miss Jessie L. Weston" not in waste
    assert "Son of man, You cannot say" not in waste  # verse lines are paragraphs
    assert re.search(r"Son of man,\s*$", waste.split("You cannot say")[0])  # no note mark, no line number
    georgia = " ".join(c.text for c in load("georgia-pls-ssml.epub").chapters)
    assert "the upper Savannah was formerly part" in georgia  # noteref "1" dropped
    assert "According to the usual nomenclature" not in georgia  # the rear note itself
    assert "Bryan and Effingham" in georgia  # page number 752 dropped
    moby = " ".join(c.text for c in load("moby-dick.epub").chapters)
    assert "These have been corrected in this EPUB3 edition." not in moby
    assert "a unit of currency." in moby
    regime = load("regime-anticancer-arabic.epub").chapters[0].text
    assert "[1]" not in regime and "لمزيد من المعلومات حول هذا الفصل" not in regime
    children = " ".join(c.text for c in load("childrens-literature.epub").chapters)
    assert not re.search(r"\b169\b", children.split("BIBLIOGRAPHY")[0])


def test_fragments_cut_one_file_into_chapters() -> None:
    book = load("childrens-literature.epub")
    assert len(book.chapters) == 22  # from 3 files, 1 with text
    # Each chapter stops where the next TOC fragment starts: no story is read twice.
    texts = [c.text for c in book.chapters]
    assert sum("Once upon a time there was a prince" in t for t in texts) <= 1
    nightingale = next(c for c in book.chapters if c.title == "194 THE NIGHTINGALE")
    assert nightingale.paragraphs[1].startswith('In his story "The Nightingale," Andersen suggests')


def test_ubuntu_guide_skips_non_linear_items_unless_asked() -> None:
    linear = load("ubuntu-packaging-guide.epub")
    assert len(linear.chapters) == 115
    assert any("matched to documents by file name" in w for w in linear.warnings)
    from voxcli.ingest import ReadOptions

    more = read_book(
        str(corpus_file("epub", "ubuntu-packaging-guide.epub")), ReadOptions(include_nonlinear=True)
    )
    assert sum(c.words for c in more.chapters) > 2 * sum(c.words for c in linear.chapters)
    assert "Navigation" not in linear.chapters[0].paragraphs  # Sphinx's role="navigation" bar


def test_live_manual_malformed_hrefs_read_fully() -> None:
    for name in ("live-manual.en.epub", "live-manual.ja.epub"):
        book = load(name)
        assert len(book.chapters) == 190
        # SiSU paragraph numbers (<label><a>4</a></label>) are not read
        assert not any(p.isdigit() for c in book.chapters for p in c.paragraphs)
    assert load("live-manual.ja.epub").language == "ja"


@pytest.mark.slow
def test_mahabharata_is_read_within_reason() -> None:
    import subprocess
    import sys

    # In a fresh process, so that the memory figure is this book's alone (VmHWM: its own peak), not
    # whatever earlier tests left in the pytest process.
    script = (
        "import json, re, sys, time\n"
        "from voxcli.ingest import read_book\n"
        "start = time.perf_counter()\n"
        "book = read_book(sys.argv[1])\n"
        "elapsed = time.perf_counter() - start\n"
        "peak = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
        "print(json.dumps([len(book.chapters), book.chapters[2].title, book.language, elapsed, peak]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(corpus_file("epub", "mahabharata.epub"))],
        capture_output=True,
        text=True,
        check=True,
    )
    chapters, title, language, elapsed, peak_kib = json.loads(result.stdout)
    assert chapters == 2014
    assert title == "आदि पर्व अध्याय १"
    assert language == "sa"
    # generous: about 3.5 s on a 2-core machine; a regression to quadratic behaviour is minutes
    assert elapsed < 60
    assert peak_kib < 2_000_000
