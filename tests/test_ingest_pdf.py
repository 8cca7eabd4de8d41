"""PDF books: the corpus PDFs against their EPUB twins, checked with a second PDF parser (pdfminer.six),
and hand-made PDFs (tests/pdfmake.py) for the layout rules and for hostile files."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import time
import zlib
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from tests import formatcheck
from tests.conftest import corpus_file, require
from tests.pdfmake import Text, paragraph_lines, raw_pdf, stream, text_pdf
from voxcli.book import Book
from voxcli.errors import BookError
from voxcli.ingest import ReadOptions, read_book

PDFS = ("moby-dick.calibre.pdf", "childrens-literature.libreoffice.pdf", "latex-usrguide.pdf")
TWINS = {
    "moby-dick.calibre.pdf": "moby-dick.epub",
    "childrens-literature.libreoffice.pdf": "childrens-literature.epub",
}


@cache
def book(name: str) -> Book:
    return read_book(str(corpus_file("formats", name)))


@cache
def twin(name: str) -> Book:
    return read_book(str(corpus_file("epub", TWINS[name])))


@cache
def miner_pages(name: str) -> list[list[str]]:
    """The text lines of each page as pdfminer.six lays them out (an independent parser; pure
    Python, so of Moby-Dick's 723 pages every third keeps the test quick)."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTFigure, LTTextContainer, LTTextLine

    def walk(element: object) -> list[str]:
        if isinstance(element, LTTextLine):
            return [" ".join(element.get_text().split())] if element.get_text().strip() else []
        if isinstance(element, LTTextContainer | LTFigure):  # calibre draws running heads in forms
            return [line for child in element for line in walk(child)]
        return []

    path = str(corpus_file("formats", name))
    return [
        [line for el in page for line in walk(el)]
        for page in extract_pages(
            path,
            page_numbers=range(0, 10_000, 3 if name == PDFS[0] else 1),
            laparams=LAParams(all_texts=True),
        )
    ]


def full_text(b: Book) -> str:
    return "\n".join(p for c in b.chapters for p in (c.title, *c.paragraphs))


def test_moby_dick_pdf_has_the_epub_chapters_and_words() -> None:
    pdf, epub = book(PDFS[0]), twin(PDFS[0])
    assert formatcheck.titles(pdf) == formatcheck.titles(epub)  # calibre's outline is the EPUB's TOC
    assert 0.97 <= formatcheck.word_ratio(pdf, epub) <= 1.03
    assert formatcheck.word_recall(pdf, epub) >= 0.97
    assert pdf.title == "Moby-Dick" and pdf.author == "Herman Melville"
    assert pdf.cover is not None and pdf.cover.data[:3] == b"\xff\xd8\xff"


def test_childrens_literature_pdf_chapters_from_the_outline_libreoffice_wrote() -> None:
    pdf, epub = book(PDFS[1]), twin(PDFS[1])
    mine = formatcheck.titles(pdf)
    # LibreOffice exported an outline from the DOCX headings, which pandoc made from the EPUB's
    # *content* headings, not from its table of contents. So the four Rabbi stories are numbered
    # "1." to "4." as in the text (the EPUB's TOC says "I." to "IV."), and headings the TOC leaves
    # out are chapters too: pandoc's landmarks ("Guide", "Pages"), "SUGGESTIONS FOR READING" and the
    # five chapters of "The King of the Golden River".
    roman = {"i.": "1.", "ii.": "2.", "iii.": "3.", "iv.": "4."}
    expected = [
        " ".join([roman.get(t.split()[0], t.split()[0]), *t.split()[1:]]) for t in formatcheck.titles(epub)
    ]
    it = iter(mine)
    assert all(any(t == m for m in it) for t in expected), (expected, mine)  # in order
    extra = [t for t in mine if t not in expected]
    assert extra[:3] == ["guide", "pages", "suggestions for reading"]
    assert len(extra) == 8 and all(t.startswith("chapter ") for t in extra[3:])
    assert 0.97 <= formatcheck.word_ratio(pdf, epub) <= 1.03
    assert formatcheck.word_recall(pdf, epub) >= 0.97


def test_latex_guide_chapters_are_its_outline() -> None:
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfparser import PDFParser

    with corpus_file("formats", PDFS[2]).open("rb") as handle:
        outline = [title for _, title, *_ in PDFDocument(PDFParser(handle)).get_outlines()]
    assert len(outline) == 22
    assert formatcheck.titles(book(PDFS[2])) == [formatcheck.fold_title(" ".join(t.split())) for t in outline]


@pytest.mark.parametrize("name", PDFS)
def test_no_running_head_footer_or_page_number_is_read(name: str) -> None:
    pages = miner_pages(name)
    on_pages = Counter(line for page in pages for line in set(page))
    repeated = {line for line, n in on_pages.items() if n > 0.2 * len(pages)}
    paragraphs = [p for c in book(name).chapters for p in c.paragraphs]
    assert not [p for p in paragraphs if p in repeated], repeated
    assert not [p for p in paragraphs if re.fullmatch(r"\d{1,4}|[ivxlc]{1,6}", p, re.IGNORECASE)]
    if name in TWINS:  # the running head "Moby-Dick" is read no more often than the book says it
        text, twin_text = full_text(book(name)), full_text(twin(name))
        for line in repeated:
            if not re.fullmatch(r"\d+", line):
                assert text.count(line) <= twin_text.count(line) + 2, line
    # The oracle sees the page numbers that the check above proves are not read.
    numbered = sum(1 for page in pages if any(re.fullmatch(r"\d{1,4}", line) for line in page))
    assert numbered > 0.5 * len(pages) or name == PDFS[1]  # LibreOffice's PDF has no folios


@pytest.mark.parametrize("name", ["moby-dick.calibre.pdf", "latex-usrguide.pdf"])
def test_no_word_is_broken_by_a_line_end_hyphen(name: str) -> None:
    pairs = []
    for page in miner_pages(name):
        for a, b in itertools.pairwise(page):
            head = re.search(r"([^\W\d_]+)-$", a)
            tail = re.match(r"([a-z]+)", b)
            if head and tail:
                pairs.append((head.group(1), tail.group(1)))
    assert len(pairs) > 20  # the oracle found the hyphenated line ends
    text = full_text(book(name))
    broken = [f"{a}- {b}" for a, b in pairs if f"{a}- {b}" in text]
    assert broken == []
    joined = sum(1 for a, b in pairs if a + b in text or f"{a}-{b}" in text)
    assert joined >= 0.95 * len(pairs)


def test_ligatures_and_spaced_capitals_are_words() -> None:
    text = full_text(book(PDFS[2]))
    assert not re.search("[\ufb00-\ufb06]", text)  # pdfTeX's fi and ff ligatures are letters
    assert "firstly a programming language" in text and "different" in text
    moby = full_text(book(PDFS[0]))
    spaced = [
        line for page in miner_pages(PDFS[0])[9:40] for line in page if line.startswith("C H A P T E R")
    ]
    assert len(spaced) >= 10  # the oracle sees headings in letter-spaced capitals
    assert "CHAPTER 35. THE MAST-HEAD." in moby and "C H A P" not in moby


def test_footnote_at_page_foot_is_not_read_in_the_flow() -> None:
    pages = miner_pages(PDFS[2])
    assert any(line.startswith("∗This file may distributed") for line in pages[0])
    text = full_text(book(PDFS[2]))
    assert "This file may distributed" not in text
    assert "footnotes at page feet not read in the flow" in " ".join(book(PDFS[2]).warnings)


# --- hand-made PDFs -----------------------------------------------------------------------------

LOREM = (
    "The ship sailed at dawn and the crew stood on the deck watching the harbour fade into the grey "
    "morning while gulls wheeled above the masts and the captain said nothing at all for an hour. "
)


@cache
def moby_paragraphs() -> list[str]:
    """Real prose, a different paragraph for every page of a hand-made PDF."""
    return [p for c in twin(PDFS[0]).chapters[4:12] for p in c.paragraphs if len(p) > 400]


def _read(path: Path, **options: object) -> Book:
    return read_book(str(path), ReadOptions(**options))  # type: ignore[arg-type]


def test_two_columns_are_read_one_after_the_other(tmp_path: Path) -> None:
    first, second = moby_paragraphs()[:2]
    left = paragraph_lines("Alpha begins here. " + first[:700] + " Alpha ends here.", 50, 700, 45, 10, 13)
    right = paragraph_lines("Bravo begins here. " + second[:700] + " Bravo ends here.", 320, 700, 45, 10, 13)
    # The content stream interleaves the columns line by line, as some producers do.
    lines = [x for pair in itertools.zip_longest(left, right) for x in pair if x is not None]
    path = text_pdf(tmp_path / "columns.pdf", [lines])
    text = full_text(_read(path))
    assert (
        text.index("Alpha begins")
        < text.index("Alpha ends")
        < text.index("Bravo begins")
        < text.index("Bravo ends")
    )


def test_headings_by_size_make_chapters_and_furniture_goes(tmp_path: Path) -> None:
    pages, expected = [], []
    prose = iter(moby_paragraphs())
    for n in range(1, 7):
        page = [Text(250, 760, "A Sea Story", 9), Text(300, 30, str(n), 9)]  # running head, folio
        top = 720
        if n % 2:
            page.append(Text(72, 700, f"Chapter {n // 2 + 1}: The Voyage", 20))
            expected.append(f"Chapter {n // 2 + 1}: The Voyage")
            top = 660
        for _ in range(2):
            paragraph = next(prose)[:900]
            expected.append(paragraph)
            lines = paragraph_lines(paragraph, 72, top, 95, 10, 13)
            page.extend(lines)
            top = lines[-1].y - 22
        pages.append(page)
    b = _read(text_pdf(tmp_path / "story.pdf", pages))
    assert [c.title for c in b.chapters] == [
        "Chapter 1: The Voyage",
        "Chapter 2: The Voyage",
        "Chapter 3: The Voyage",
    ]
    text = full_text(b)
    assert "A Sea Story" not in text
    assert not any(re.fullmatch(r"\d+", p) for c in b.chapters for p in c.paragraphs)
    assert formatcheck.words(" ".join(p for c in b.chapters for p in c.paragraphs)) == formatcheck.words(
        " ".join(expected)
    )  # every word, in order, and nothing else


def test_hyphenated_line_ends_are_joined_and_compounds_kept(tmp_path: Path) -> None:
    lines = [
        Text(72, 700, "The whale was a magnifi-", 11),
        Text(72, 686, "cent creature, and the sea-", 11),
        Text(72, 672, "faring men said so; every sea-faring man knows it.", 11),
    ]
    text = full_text(_read(text_pdf(tmp_path / "hyphen.pdf", [lines])))
    assert "magnificent creature" in text
    assert "the sea-faring men" in text  # written with its hyphen elsewhere in the book


def test_footnote_block_is_left_out_and_counted(tmp_path: Path) -> None:
    body = paragraph_lines(LOREM * 4, 72, 700, 90, 11, 14)
    note = [Text(72, 80, "1 A footnote that explains the harbour.", 8), Text(72, 70, "at some length.", 8)]
    b = _read(text_pdf(tmp_path / "notes.pdf", [body + note]))
    assert "footnote that explains" not in full_text(b)
    assert any("footnotes at page feet" in w for w in b.warnings)


def test_metadata_and_outline_of_a_hand_made_pdf(tmp_path: Path) -> None:
    pages = [
        [Text(72, 700, "Part One", 16), *paragraph_lines(LOREM * 3, 72, 670)],
        [
            *paragraph_lines(LOREM * 3, 72, 700),
            Text(72, 400, "Part Two", 16),
            *paragraph_lines(LOREM, 72, 370),
        ],
    ]
    path = text_pdf(
        tmp_path / "meta.pdf",
        pages,
        outline=[("The First Part", 0, 720), ("The Second Part", 1, 420)],
        info={"Title": "Hand Made", "Author": "A. Tester"},
    )
    b = _read(path)
    assert (b.title, b.author) == ("Hand Made", "A. Tester")
    assert [c.title for c in b.chapters] == ["The First Part", "The Second Part"]
    assert b.chapters[1].paragraphs[0] == "Part Two"


def _image_pdf(path: Path, text: str) -> Path:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1700, 2200), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=48)
    for i, line in enumerate(text.split("\n")):
        draw.text((150, 200 + i * 80), line, fill=0, font=font)
    image.save(path, "PDF", resolution=200)
    return path


def test_a_scan_without_text_layer_needs_ocr(tmp_path: Path) -> None:
    path = _image_pdf(tmp_path / "scan.pdf", "The quick brown fox\njumps over the lazy dog.")
    with pytest.raises(BookError) as caught:
        _read(path)
    assert "no text layer" in caught.value.message and "needs OCR" in caught.value.message
    assert "--ocr" in (caught.value.fix or "")


def test_ocr_reads_a_scan_with_tesseract(tmp_path: Path) -> None:
    import shutil

    require("tesseract", shutil.which("tesseract") is not None, "apt-get install tesseract-ocr")
    path = _image_pdf(
        tmp_path / "scan.pdf", "The quick brown fox\njumps over the lazy dog.\n\nA second paragraph here."
    )
    b = _read(path, ocr=True)
    words = " ".join(formatcheck.words(full_text(b)))
    assert "the quick brown fox jumps over the lazy dog" in words
    assert "a second paragraph here" in words
    assert any("OCR" in w for w in b.warnings)


def test_a_scanned_page_among_text_pages_is_named_and_ocr_reads_it(tmp_path: Path) -> None:
    import shutil

    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1275, 1650), 255)
    font = ImageFont.load_default(size=44)
    ImageDraw.Draw(image).text((120, 200), "The scanned page speaks too.", fill=0, font=font)
    first = paragraph_lines(moby_paragraphs()[0][:600], 72, 700)
    path = text_pdf(tmp_path / "mixed.pdf", [first, []], pictures={1: (1275, 1650, image.tobytes())})
    b = _read(path)
    assert any("not read: pages 2;" in w and "--ocr" in w for w in b.warnings), b.warnings
    require("tesseract", shutil.which("tesseract") is not None, "apt-get install tesseract-ocr")
    words = " ".join(formatcheck.words(full_text(_read(path, ocr=True))))
    assert "the scanned page speaks too" in words and "call me ishmael" in words


# --- hostile PDFs: each one line, within 10 s and 500 MB -----------------------------------------


def _bomb(path: Path) -> Path:
    """A page whose content stream inflates from 600 KB to 640 MiB (the worker may take 448)."""
    packer = zlib.compressobj(9)
    chunk = b"q Q " * (4 << 20)
    data = b"".join([*(packer.compress(chunk) for _ in range(40)), packer.flush()])
    body = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"
    return raw_pdf(
        path,
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            body,
        ],
    )


def _nested(path: Path) -> Path:
    """A pages tree 20,000 levels deep, and arrays nested 200,000 deep in its resources."""
    depth = 20_000
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for i in range(depth):
        parent = b"/Parent %d 0 R " % (i + 1) if i else b""
        objects.append(b"<< /Type /Pages /Kids [%d 0 R] /Count 1 %s>>" % (i + 3, parent))
    nest = b"[" * 200_000 + b"]" * 200_000
    objects.append(
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources << /X %s >> >>" % (depth + 1, nest)
    )
    return raw_pdf(path, objects)


def _nested_arrays(path: Path) -> Path:
    nest = b"[" * 200_000 + b"]" * 200_000
    return raw_pdf(
        path,
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /X %s >> /Contents 4 0 R >>"
            % nest,
            stream(b"BT /F1 12 Tf 72 700 Td (Hello) Tj ET"),
        ],
    )


MEASURE = """
import resource, subprocess, sys, time
start = time.monotonic()
command = [sys.executable, "-m", "voxcli", "chapters", sys.argv[1]]
done = subprocess.run(command, capture_output=True, text=True)
seconds = time.monotonic() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB, the largest of voxcli and its worker
print(done.returncode, round(seconds, 2), peak // 1024)
sys.stderr.write(done.stderr)
"""


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_bomb, r"needs more than \d+ MiB \(a PDF bomb or a damaged file\)"),
        (_nested, r"reading page 1 of 1 failed"),
        (_nested_arrays, None),  # PDFium caps the nesting and reads the page: bounded, not refused
    ],
)
def test_hostile_pdf_is_one_line_within_10_s_and_500_mb(
    tmp_path: Path, make: object, message: str | None
) -> None:
    path = make(tmp_path / f"{make.__name__.strip('_')}.pdf")  # type: ignore[operator]
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, timeout=60
    )
    code, seconds, mib = done.stdout.split()
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    if message is None:
        assert int(code) == 0, done.stderr
    else:
        assert int(code) != 0 and len(lines) <= 2, done.stderr  # the error, and at most its fix
        assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in done.stderr
    assert float(seconds) < 10 and int(mib) < 500, (seconds, mib)


def test_not_a_pdf_and_truncated_pdf(tmp_path: Path) -> None:
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"PK\x03\x04 this is a zip")
    with pytest.raises(BookError, match="not a PDF"):
        _read(fake)
    real = corpus_file("formats", PDFS[2]).read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(real[: len(real) // 3])
    start = time.monotonic()
    try:
        b = _read(cut)  # PDFium rebuilds what it can of a damaged file: then the pages it found are read
    except BookError as exc:
        assert "\n" not in exc.message
    else:
        assert b.chapters
    assert time.monotonic() - start < 10
