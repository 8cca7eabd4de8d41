"""What the EPUB reader hands to speech: note sections, MathML formulas and the book's pronunciations.

Every expectation is read from the book files themselves (zipfile + lxml), never from voxcli's output.
"""

from __future__ import annotations

import difflib
import itertools
import json
import re
import zipfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from lxml import etree, html
from typer.testing import CliRunner

from tests.conftest import CORPUS, corpus_file
from voxcli.book import Book
from voxcli.cli import app
from voxcli.errors import VoxError
from voxcli.ingest import ReadOptions, read_book

XHTML_NS = "http://www.w3.org/1999/xhtml"
OPS_TYPE = "{http://www.idpf.org/2007/ops}type"
MATHML_NS = "http://www.w3.org/1998/Math/MathML"
SSML_PH = "{http://www.w3.org/2001/10/synthesis}ph"
PLS = "{http://www.w3.org/2005/01/pronunciation-lexicon}"

WASTELAND = ("epub", "wasteland-otf-obf.epub")
MATHML_BOOK = ("epub", "cnt-mathml-support.epub")
GEORGIA = ("epub", "georgia-pls-ssml.epub")

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Lower-cased word tokens: the comparison ignores punctuation, case and spacing."""
    return [w.lower() for w in _WORD.findall(text)]


def collapse(text: str) -> str:
    return " ".join(text.split())


def parse_xml(data: bytes) -> etree._Element:
    return etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))


def text_of(el: etree._Element) -> str:
    """Every text node under an element, a line break (<br/>) as a space; comments left out."""
    parts = [el.text or ""] if isinstance(el.tag, str) else []
    for child in el:
        tag: object = child.tag
        if isinstance(tag, str):
            parts.append(" " if etree.QName(child).localname == "br" else text_of(child))
        parts.append(child.tail or "")
    return "".join(parts)


def types_of(el: etree._Element) -> set[str]:
    return set((el.get(OPS_TYPE) or "").split())


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No user lexicon or voices.toml from the real home folder may change what is read."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("VOXCLI_VOICES", raising=False)


@pytest.fixture(scope="module")
def module_runner() -> Iterator[CliRunner]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NO_COLOR", "1")
        patch.setenv("COLUMNS", "200")
        yield CliRunner()


def invoke(runner: CliRunner, args: list[str]) -> tuple[dict[str, Any], str]:
    """Run the CLI; the JSON on stdout and what went to stderr."""
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return json.loads(result.stdout), result.stderr


# ---- The Waste Land: the TOC lists the rear notes, so they are a "notes" chapter -------------------


@cache
def wasteland_docs() -> tuple[list[str], etree._Element]:
    """The nav document's TOC link texts, and the parsed content document."""
    z = zipfile.ZipFile(corpus_file(*WASTELAND))
    nav = parse_xml(z.read("EPUB/wasteland-nav.xhtml"))
    toc = next(n for n in nav.iter(f"{{{XHTML_NS}}}nav") if "toc" in types_of(n))
    titles = [collapse(text_of(a)) for a in toc.iterfind(f".//{{{XHTML_NS}}}li/{{{XHTML_NS}}}a")]
    content = parse_xml(z.read("EPUB/wasteland-content.xhtml"))
    return titles, content


@pytest.fixture(scope="module")
def wasteland_full(module_runner: CliRunner) -> dict[str, Any]:
    data, _ = invoke(module_runner, ["chapters", "--json", "--full", str(corpus_file(*WASTELAND))])
    return data


def test_wasteland_chapters_are_the_nav_entries_notes_last(module_runner: CliRunner) -> None:
    titles, _ = wasteland_docs()
    assert len(titles) == 6 and titles[-1] == 'NOTES ON "THE WASTE LAND"'
    data, _ = invoke(module_runner, ["chapters", "--json", str(corpus_file(*WASTELAND))])
    chapters = data["chapters"]
    assert [c["index"] for c in chapters] == [1, 2, 3, 4, 5, 6]
    assert [c["title"] for c in chapters] == titles
    assert [c["kind"] for c in chapters] == ["text"] * 5 + ["notes"]


def test_wasteland_notes_chapter_reads_the_rearnotes_section(wasteland_full: dict[str, Any]) -> None:
    _, content = wasteland_docs()
    section = next(s for s in content.iter(f"{{{XHTML_NS}}}section") if "rearnotes" in types_of(s))
    paragraphs = [collapse(text_of(p)) for p in section.iter(f"{{{XHTML_NS}}}p")]
    expected = words(" ".join(paragraphs))
    assert len(paragraphs) > 50 and len(expected) > 1000  # the real notes, not a stub
    notes = wasteland_full["chapters"][5]
    assert notes["kind"] == "notes"
    got = words(notes["text"])
    matcher = difflib.SequenceMatcher(None, expected, got, autojunk=False)
    in_order = sum(block.size for block in matcher.get_matching_blocks())
    print(f"notes: {in_order} of {len(expected)} words in order")
    assert in_order / len(expected) >= 0.95, (in_order, len(expected))
    # The first and the last note are there, whole.
    assert collapse(paragraphs[0]) in collapse(notes["text"])
    assert collapse(paragraphs[-1]) in collapse(notes["text"])


def test_wasteland_noterefs_are_not_read(wasteland_full: dict[str, Any]) -> None:
    _, content = wasteland_docs()
    body = next(content.iter(f"{{{XHTML_NS}}}body"))
    noterefs = [a for a in body.iter(f"{{{XHTML_NS}}}a") if "noteref" in types_of(a)]
    assert len(noterefs) == 50 and {collapse(text_of(a)) for a in noterefs} == {"*"}
    # Outside the note references the poem has no asterisk at all, so any "*" read is a noteref.
    stars = text_of(body).count("*")
    assert stars == sum(text_of(a).count("*") for a in noterefs) == 50
    for chapter in wasteland_full["chapters"][:5]:
        assert "*" not in chapter["text"], chapter["title"]
        assert not re.search(r"(?<!\S)\*(?!\S)", chapter["text"])


def test_wasteland_skip_notes(module_runner: CliRunner) -> None:
    titles, _ = wasteland_docs()
    data, stderr = invoke(module_runner, ["chapters", "--json", "--skip-notes", str(corpus_file(*WASTELAND))])
    chapters = data["chapters"]
    assert [c["index"] for c in chapters] == [1, 2, 3, 4, 5]
    assert [c["title"] for c in chapters] == titles[:5]
    assert all(c["kind"] == "text" for c in chapters)
    warned = [line for line in stderr.splitlines() if line.startswith("warning: ")]
    assert any("notes" in line and "left out" in line and "1" in line for line in warned), stderr


def test_wasteland_convert_plan_skips_notes(runner: CliRunner, isolated: Path) -> None:
    result = runner.invoke(
        app,
        [
            "convert",
            str(corpus_file(*WASTELAND)),
            "--dry-run",
            "--json",
            "--skip-notes",
            "-v",
            "espeak:en-us",
            "-o",
            str(isolated / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    titles, _ = wasteland_docs()
    assert [c["index"] for c in plan["chapters"]] == [1, 2, 3, 4, 5]
    assert [c["title"] for c in plan["chapters"]] == titles[:5]
    assert not (isolated / "out").exists()  # a dry run writes nothing


# ---- MathML: every formula is read or counted, none silently dropped -------------------------------


SLOW_BYTES = 5 * 1024 * 1024  # mahabharata.epub (11 MB) takes several seconds to read


def corpus_epubs() -> list[Any]:
    """Every .epub (any case of the suffix) of the corpus' epub/ and bad/ folders, as test params."""
    found: list[Any] = []
    for folder in ("epub", "bad"):
        for p in sorted((CORPUS / folder).glob("*")):
            if p.suffix.lower() == ".epub" and p.is_file():
                slow = p.stat().st_size > SLOW_BYTES
                found.append(
                    pytest.param(f"{folder}/{p.name}", marks=pytest.mark.slow)
                    if slow
                    else f"{folder}/{p.name}"
                )
    return found


def _is_math(el: etree._Element) -> bool:
    tag: object = el.tag  # a function for comments and processing instructions
    if not isinstance(tag, str):
        return False
    return tag in (f"{{{MATHML_NS}}}math", "math")


@cache
def count_mathml(path: Path) -> int:
    """<math> elements (MathML namespace, or un-namespaced) in the book's (X)HTML documents."""
    total = 0
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            if not info.filename.lower().endswith((".xhtml", ".html", ".htm")):
                continue
            data = z.read(info)
            try:
                root = etree.fromstring(
                    data, parser=etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
                )
            except etree.XMLSyntaxError:
                root = None
            if root is None:
                root = html.document_fromstring(data)
            total += sum(1 for el in root.iter() if _is_math(el))
    return total


@cache
def read_or_refused(name: str) -> Book | None:
    try:
        return read_book(str(CORPUS / name))
    except VoxError:
        return None


@pytest.mark.parametrize("name", corpus_epubs() or ["epub/(corpus missing)"])
def test_every_formula_is_read(name: str) -> None:
    path = corpus_file(*name.split("/"))
    book = read_or_refused(name)
    if book is None:
        return  # refused with a clear error (DRM, XXE, zip bomb, not a ZIP): nothing was read
    expected = count_mathml(path)
    assert sum(book.math.values()) == expected, book.math
    assert book.math.get("empty", 0) == 0 and book.math.get("skipped", 0) == 0, book.math


def test_the_mathml_book_has_its_formula() -> None:
    """cnt-mathml-support.epub holds one formula: the corpus-wide check above is not vacuous."""
    assert count_mathml(corpus_file(*MATHML_BOOK)) == 1


def alttext() -> tuple[str, str]:
    """The formula's alttext, and the document's text outside the formula."""
    with zipfile.ZipFile(corpus_file(*MATHML_BOOK)) as z:
        root = parse_xml(z.read("EPUB/content_001.xhtml"))
    maths = [el for el in root.iter() if _is_math(el)]
    assert len(maths) == 1
    alt = maths[0].get("alttext") or ""
    body = next(root.iter(f"{{{XHTML_NS}}}body"))
    outside = " ".join(collapse(text_of(el)) for el in body if not _is_math(el) and isinstance(el.tag, str))
    return alt, outside


def test_formula_alttext_is_read() -> None:
    alt, outside = alttext()
    assert alt.startswith("x equals")
    book = read_book(str(corpus_file(*MATHML_BOOK)))
    assert book.math == {"alttext": 1}
    text = " ".join(c.text for c in book.chapters)
    got = words(text)
    expected = words(alt)
    matcher = difflib.SequenceMatcher(None, expected, got, autojunk=False)
    assert sum(b.size for b in matcher.get_matching_blocks()) == len(expected), (expected, got)
    assert words(outside) == got[: len(words(outside))]  # the paragraph before it, then the formula


def test_formula_skipped_is_counted_and_warned() -> None:
    alt, outside = alttext()
    only_formula = set(words(alt)) - set(words(outside))
    assert {"equals", "plus", "power", "parentheses"} <= only_formula
    book = read_book(str(corpus_file(*MATHML_BOOK)), ReadOptions(math="skip"))
    got = set(words(" ".join(c.text for c in book.chapters)))
    assert not (only_formula & got), only_formula & got
    assert words(" ".join(c.text for c in book.chapters)) == words(outside)
    assert book.math == {"skipped": 1}
    assert any("1 formula" in w and "left out" in w for w in book.warnings), book.warnings


def test_formula_skip_through_the_cli(module_runner: CliRunner) -> None:
    data, stderr = invoke(
        module_runner, ["chapters", "--json", "--math", "skip", str(corpus_file(*MATHML_BOOK))]
    )
    assert data["math"] == {"skipped": 1}
    warned = [line for line in stderr.splitlines() if line.startswith("warning: ")]
    assert any("1 formula" in line and "left out" in line for line in warned), stderr
    assert any("1 formula" in w for w in data["warnings"])


# ---- Georgia: the book's PLS lexicon and SSML ph pronunciations ------------------------------------

# Material the reader rightly does not read aloud: EPUB structural semantics, and page-number classes.
SKIPPED_CLASSES = {"pagenum", "pagenumber", "page-number", "pageno"}
SKIPPED_TYPES = {
    "noteref",
    "footnote",
    "footnotes",
    "endnote",
    "endnotes",
    "rearnote",
    "rearnotes",
    "note",
    "annotation",
    "annoref",
    "pagebreak",
}


@pytest.fixture(scope="module")
def georgia() -> Book:
    return read_book(str(corpus_file(*GEORGIA)))


@cache
def georgia_files() -> tuple[etree._Element, etree._Element]:
    with zipfile.ZipFile(corpus_file(*GEORGIA)) as z:
        return parse_xml(z.read("EPUB/lexicon/en.pls")), parse_xml(z.read("EPUB/georgia.xhtml"))


def test_georgia_pls_lexicon(georgia: Book) -> None:
    pls, _ = georgia_files()
    pairs: list[tuple[str, str]] = []
    for lexeme in pls.iter(f"{PLS}lexeme"):
        phonemes = list(lexeme.iter(f"{PLS}phoneme"))
        assert len(phonemes) == 1  # so "the lexeme's phoneme" is unambiguous
        phoneme = collapse(text_of(phonemes[0]))
        pairs += [(collapse(text_of(g)), phoneme) for g in lexeme.iter(f"{PLS}grapheme")]
    assert len(pairs) == 71
    assert len(georgia.lexicon) == len(pairs)
    assert [(p.grapheme, p.ipa) for p in georgia.lexicon] == pairs


def ph_elements() -> tuple[list[etree._Element], list[etree._Element]]:
    """The elements with ssml:ph, split into those in read text and those in skipped material."""
    _, doc = georgia_files()
    read: list[etree._Element] = []
    skipped: list[etree._Element] = []
    for el in doc.iter():
        if el.get(SSML_PH) is None:
            continue
        chain = [el, *el.iterancestors()]
        hidden = any(
            types_of(a) & SKIPPED_TYPES
            or SKIPPED_CLASSES & set((a.get("class") or "").lower().split())
            or a.get("hidden") is not None
            or a.get("aria-hidden") == "true"
            or "display:none" in (a.get("style") or "").replace(" ", "")
            for a in chain
        )
        (skipped if hidden else read).append(el)
    return read, skipped


def test_georgia_marks_are_the_ssml_ph_elements(georgia: Book) -> None:
    read, skipped = ph_elements()
    # All 102 ph elements of georgia.xhtml lie in the body text and its tables; none is inside the
    # (unlisted) rear notes, a footnote, a note reference or a page number.
    assert (len(read), len(skipped)) == (102, 0)
    expected = [(collapse(text_of(el)), collapse(el.get(SSML_PH) or "")) for el in read]
    got: list[tuple[str, str]] = []
    for chapter in georgia.chapters:
        for number, paragraph in enumerate(chapter.paragraphs):
            for mark in chapter.marks_of(number):
                assert 0 <= mark.start < mark.end <= len(paragraph)
                got.append((paragraph[mark.start : mark.end], mark.ipa))
    assert sum(len(m) for c in georgia.chapters for m in c.marks) == len(read)
    assert got == expected


def test_georgia_marks_cover_exactly_their_text(georgia: Book) -> None:
    """A mark's stretch is the element's text exactly: no space or neighbouring word in it."""
    for chapter in georgia.chapters:
        for number, paragraph in enumerate(chapter.paragraphs):
            marks = chapter.marks_of(number)
            for mark in marks:
                shown = paragraph[mark.start : mark.end]
                assert shown == shown.strip() and shown, (chapter.title, shown)
            assert all(a.end <= b.start for a, b in itertools.pairwise(marks)), marks


def test_georgia_has_no_marker_characters(georgia: Book) -> None:
    for chapter in georgia.chapters:
        for text in (chapter.title, *chapter.paragraphs):
            assert not re.search("[\ufdd0-\ufdd2]", text), (chapter.title, text[:80])


def test_georgia_counts_through_the_cli(module_runner: CliRunner) -> None:
    pls, _ = georgia_files()
    read, _ = ph_elements()
    data, _ = invoke(module_runner, ["chapters", "--json", "--full", str(corpus_file(*GEORGIA))])
    assert data["pronunciations"] == sum(1 for _ in pls.iter(f"{PLS}grapheme"))
    assert data["marks"] == len(read)
    for chapter in data["chapters"]:
        assert not re.search("[\ufdd0-\ufdd2]", chapter["text"] + chapter["title"])
