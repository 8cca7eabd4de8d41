"""PDF books: the text layer read by PDFium (pypdfium2) in a bounded worker, then laid out again.

What a page shows is not what a listener wants: running headers and footers, page numbers,
footnotes at the page foot and words hyphenated at line ends are print furniture. This module
finds them from the geometry of all pages together (``pdfpages`` supplies lines with positions and
type sizes), orders two-column pages, joins lines into paragraphs and cuts chapters at the
outline's bookmarks, or, without an outline, at headings set in larger type.
"""

from __future__ import annotations

import itertools
import re
import shutil
import statistics
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from voxcli.book import Book, Cover, RawChapter, add_front_matter, number_chapters
from voxcli.errors import BookError
from voxcli.ingest import bounded
from voxcli.ingest.pdfpages import Line, OutlineItem, Page, read_document
from voxcli.ingest.pdfpages import scanned as scanned_page
from voxcli.ingest.textutil import clean_inline

if TYPE_CHECKING:
    from voxcli.ingest import ReadOptions

MiB = 1024 * 1024
MAX_PDF_BYTES = 1024 * MiB
BOUNDS = bounded.Bounds(memory_bytes=448 * MiB, step_seconds=8.0, total_seconds=1800.0)
OCR_BOUNDS = bounded.Bounds(memory_bytes=1536 * MiB, step_seconds=180.0, total_seconds=6 * 3600.0)
EDGE_BAND = 0.12  # the top and bottom share of a page where running heads and folios live
REPEATED_PAGES = 3  # an edge line repeated on this many pages is a running head or foot
FOOTNOTE_SHRINK = 0.86  # footnotes are set at most this size relative to the body text
HEADING_GROWTH = 1.15  # headings are set at least this much larger than the body text
_FOLIO = re.compile(
    r"^(?:page\s+)?[\[(\-–—]?\s*(?:\d{1,4}|[ivxlcdm]{1,7})\s*[\])\-–—]?(?:\s*(?:of|/)\s*\d{1,4})?$",
    re.IGNORECASE,
)
_NUMBER_ONLY = re.compile(r"^\d{1,4}$")
_MARKS_ONLY = re.compile(r"^[*∗†‡§¶]+$")
_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st", "\u00ad": ""}
)
_SPACE_BEFORE_PUNCT = re.compile(r"(?<=[^\W_]) +(?=[.,;:!?](?:\s|$))")
_LETTER_SPACED = re.compile(r"\b(?:[A-Z] ){3,}[A-Z]\b")
_NOTE_START = re.compile(r"^\s*(?:[\d]{1,3}[.)]?\s|[*∗†‡§¶])")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_HYPHEN_JOIN = "\x00"
_CLOSING = " ”’\"')]»›.,;:!?"
_APOSTROPHE_GAP = re.compile(r"(?<=[^\W\d_])([’']) (?=(?:s|t|d|ll|re|ve|m)\b)", re.IGNORECASE)
_QUOTE_GAPS = re.compile(
    r"(?<=[‘“]) (?=[^\W_])"  # after an opening quotation mark
    r"|(?<=[^\W_]) (?=’(?:s|t|d|ll|re|ve|m)\b)"  # before an apostrophe: "don ’t"
    r"|(?<=[^\W_.,!?]) (?=[’”](?:[\s.,;:!?)]|$))"  # before a closing mark: "‘glue ’"
    r"|(?<=[.,!?]) (?=[’”](?:\s|$))"  # before a closing mark after punctuation: "true. ”"
)
_BRACKET_GAP = re.compile(r"([(\[]) | (?=[)\]])")
_CAPS_PAIR = re.compile(r"\b([A-Z]+) ([A-Z]{2,})\b")


def read_pdf(path: Path, options: ReadOptions) -> Book:
    """Read a PDF into a :class:`Book`; every problem is one :class:`BookError` line."""
    label = path.name
    size = path.stat().st_size
    if size > MAX_PDF_BYTES:
        raise BookError(f"{label}: {size // MiB} MiB is too large for a PDF voxcli reads")
    with path.open("rb") as handle:
        head = handle.read(1024)
    if b"%PDF-" not in head:
        raise BookError(f"{label}: not a PDF (no %PDF header)", "check the file")
    scanned = _scan(path, None)
    pictures = [p.index + 1 for p in scanned.pages if scanned_page(p)]
    if pictures and options.ocr:
        tesseract = shutil.which("tesseract")
        if tesseract is None:
            raise BookError(
                f"{label}: --ocr needs Tesseract, which is not installed", "apt install tesseract-ocr"
            )
        scanned = _scan(path, (tesseract, _tesseract_lang(options.ocr_lang)))
        scanned.warnings.append(
            f"{len(pictures)} scanned pages read by OCR (Tesseract): check the text before publishing"
        )
    elif _needs_ocr(scanned):
        tesseract = shutil.which("tesseract")
        if not options.ocr:
            fix = (
                "run again with --ocr to read it with Tesseract"
                if tesseract
                else "install Tesseract (apt install tesseract-ocr) and run again with --ocr"
            )
            raise BookError(f"{label}: this PDF has no text layer (scanned pages); it needs OCR", fix)
        raise BookError(
            f"{label}: this PDF has neither a text layer nor pictures to read (blank pages, or text "
            "drawn as shapes)",
            "export the PDF again with its text, or from the program that made it",
        )
    elif pictures:
        scanned.warnings.append(
            f"{len(pictures)} pages have pictures but no text layer (scanned?), not read: pages "
            f"{_ranges(pictures)}; --ocr reads them with Tesseract"
        )
    return _book(path, scanned)


def _ranges(numbers: list[int]) -> str:
    """1, 2, 3, 7 -> "1-3, 7"."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in spans)


@dataclass
class _Scan:
    pages: list[Page] = field(default_factory=list)
    outline: list[OutlineItem] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    cover: bytes | None = None
    warnings: list[str] = field(default_factory=list)


def _scan(path: Path, ocr: tuple[str, str] | None) -> _Scan:
    scan = _Scan()
    count = 0
    try:
        for kind, value in bounded.run(read_document, (str(path), ocr), OCR_BOUNDS if ocr else BOUNDS):
            if kind == "count":
                count = int(value)
            elif kind == "meta":
                scan.meta = value
            elif kind == "outline":
                scan.outline = value
            elif kind == "cover":
                scan.cover = value
            elif kind == "page":
                scan.pages.append(value)
    except bounded.WorkerFailed as exc:
        raise _failure(path.name, exc, len(scan.pages), count) from None
    return scan


def _failure(label: str, exc: bounded.WorkerFailed, done: int, count: int) -> BookError:
    where = f"page {done + 1} of {count}" if count else "its structure"
    if exc.kind == "memory":
        limit = BOUNDS.memory_bytes // MiB
        return BookError(
            f"{label}: reading {where} needs more than {limit} MiB (a PDF bomb or a damaged file); "
            "refusing to read it"
        )
    if exc.kind == "time":
        return BookError(
            f"{label}: reading {where} took more than {BOUNDS.step_seconds:.0f} s (a hostile or damaged "
            "PDF); refusing to read it"
        )
    loading = "load document" in exc.reason.lower()
    reason = exc.reason.removeprefix("PdfiumError: ")
    found = re.search(r"\(PDFium: ([^)]*)\)", reason)
    if found:  # "Failed to load document (PDFium: Data format error)."
        reason = f"PDFium: {found.group(1).lower()}"
    if "password" in reason.lower():
        return BookError(
            f"{label}: this PDF is encrypted with a password; voxcli cannot read it",
            "use a copy without a password (qpdf --decrypt)",
        )
    if count == 0 and loading:
        return BookError(f"{label}: not a readable PDF ({reason})", "check the file, or export it again")
    return BookError(f"{label}: reading {where} failed ({reason})", "check the file, or export it again")


def _needs_ocr(scan: _Scan) -> bool:
    chars = sum(p.chars for p in scan.pages)
    return bool(scan.pages) and chars < 20 * len(scan.pages) and not any(p.lines for p in scan.pages[:50])


def _tesseract_lang(lang: str) -> str:
    return lang or "eng"


# --- layout -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Flow:
    """A body line in reading order, with the page it is on and its column's edges."""

    line: Line
    page: int
    left: float
    right: float


def _book(path: Path, scan: _Scan) -> Book:
    pages = scan.pages
    warnings = scan.warnings
    body = _body_size(pages)
    pages, furniture, folios = _strip_furniture(pages)
    pages, footnotes = _strip_footnotes(pages, body)
    flow = [line for page in pages for line in _reading_order(page)]
    if not flow:
        raise BookError(f"{path.name}: no readable text found in this PDF", "check that it is not empty")
    if furniture:
        warnings.append(f"{furniture} running header and footer lines left out")
    if folios:
        warnings.append(f"{folios} page numbers left out")
    if footnotes:
        warnings.append(f"{footnotes} footnotes at page feet not read in the flow")
    refs = sum(p.notes for p in pages)
    if refs:
        warnings.append(f"{refs} footnote reference marks left out")
    vocabulary = _vocabulary(flow)
    cuts = _outline_cuts(scan.outline, flow) if scan.outline else []
    if not cuts:
        cuts = _heading_cuts(flow, body)
    title = clean_inline(scan.meta.get("Title", ""))
    if len(title) > 100:  # a whole title page in the metadata: the largest line of page one instead
        first = max(pages[0].lines, key=lambda ln: ln.size, default=None) if pages else None
        title = _norm(first.text) if first is not None else title[:100]
    raw = _chapters(flow, cuts, vocabulary, title or path.stem)
    chapters = number_chapters(raw)
    if not chapters:
        raise BookError(f"{path.name}: no readable text found in this PDF", "check that it is not empty")
    return Book(
        title=title or path.stem,
        author=clean_inline(scan.meta.get("Author", "")),
        language="",
        chapters=chapters,
        cover=Cover("image/jpeg", scan.cover) if scan.cover else None,
        year=_year(scan.meta),
        warnings=tuple(dict.fromkeys(warnings)),
    )


def _year(meta: dict[str, str]) -> str:
    match = re.search(r"(1[0-9]{3}|20[0-9]{2})", meta.get("CreationDate", ""))
    return match.group(1) if match else ""


def _body_size(pages: list[Page]) -> float:
    sizes: Counter[float] = Counter()
    for page in pages:
        for line in page.lines:
            sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def _edge_key(text: str) -> str:
    text = re.sub(r"\d+", "#", text.casefold())
    text = re.sub(r"\b[ivxlcdm]{1,7}\b", "#", text)
    return " ".join(text.split())


def _edge_lines(page: Page) -> list[int]:
    """Indexes of the up to two top-most and two bottom-most lines that lie in the page's edge bands."""
    order = sorted(range(len(page.lines)), key=lambda i: -page.lines[i].top)
    top_band = page.height * (1 - EDGE_BAND)
    bottom_band = page.height * EDGE_BAND
    found = [i for i in order[:2] if page.lines[i].bottom >= top_band]
    found += [i for i in order[-2:] if page.lines[i].top <= bottom_band and i not in found]
    return found


def _strip_furniture(pages: list[Page]) -> tuple[list[Page], int, int]:
    """Drop running heads and feet (edge lines repeated on several pages) and page numbers."""
    keys: Counter[str] = Counter()
    for page in pages:
        keys.update({_edge_key(page.lines[i].text) for i in _edge_lines(page)})
    furniture = folios = 0
    kept_pages: list[Page] = []
    for page in pages:
        edges = set(_edge_lines(page))
        kept: list[Line] = []
        for i, line in enumerate(page.lines):
            text = line.text.strip()
            if i in edges and _FOLIO.match(text):
                folios += 1
            elif i in edges and keys[_edge_key(text)] >= REPEATED_PAGES:
                furniture += 1
            elif _NUMBER_ONLY.match(text) or _MARKS_ONLY.match(text):
                folios += 1  # a page number of the printed original, on a line of its own
            else:
                kept.append(line)
        kept_pages.append(replace(page, lines=tuple(kept)))
    return kept_pages, furniture, folios


def _strip_footnotes(pages: list[Page], body: float) -> tuple[list[Page], int]:
    """Drop the block of small type at a page's foot that starts with a note mark."""
    dropped = 0
    out: list[Page] = []
    for page in pages:
        order = sorted(range(len(page.lines)), key=lambda i: -page.lines[i].top)
        block: list[int] = []
        for i in reversed(order):
            if page.lines[i].size <= FOOTNOTE_SHRINK * body:
                block.append(i)
            else:
                break
        above = [i for i in order if i not in block]
        notes: set[int] = set()
        if block and above:
            # The block read top-down: it starts a note at each marked line.
            block.reverse()
            starts = [i for i in block if page.lines[i].marked or _NOTE_START.match(page.lines[i].text)]
            if starts and starts[0] == block[0]:
                notes = set(block)
                dropped += len(starts)
        out.append(replace(page, lines=tuple(ln for i, ln in enumerate(page.lines) if i not in notes)))
    return out, dropped


def _reading_order(page: Page) -> list[_Flow]:
    """The page's lines in reading order: two columns are read one after the other."""
    lines = list(page.lines)
    if not lines:
        return []
    split = _column_split(lines, page.width)
    if split is None:
        left = min(ln.x0 for ln in lines)
        right = max(ln.x1 for ln in lines)
        return [_Flow(ln, page.index, left, right) for ln in lines]
    # Bands between lines that cross the gutter (titles, figures across both columns).
    ordered = sorted(lines, key=lambda ln: -ln.top)
    out: list[_Flow] = []
    band: list[Line] = []

    def flush() -> None:
        for column in (
            [ln for ln in band if ln.x1 <= split + 1],
            [ln for ln in band if ln.x1 > split + 1],
        ):
            if column:
                left, right = min(ln.x0 for ln in column), max(ln.x1 for ln in column)
                out.extend(
                    _Flow(ln, page.index, left, right) for ln in sorted(column, key=lambda ln: -ln.top)
                )
        band.clear()

    for line in ordered:
        if line.x0 < split - 1 and line.x1 > split + 1:
            flush()
            out.append(_Flow(line, page.index, line.x0, line.x1))
        else:
            band.append(line)
    flush()
    return out


def _column_split(lines: list[Line], width: float) -> float | None:
    """The x of a gutter that at least five lines keep to each side of, if the page has one."""
    best: tuple[int, float] | None = None
    x = width * 0.3
    while x <= width * 0.7:
        crossing = sum(1 for ln in lines if ln.x0 < x - 1 and ln.x1 > x + 1)
        left = sum(1 for ln in lines if ln.x1 <= x + 1)
        right = sum(1 for ln in lines if ln.x0 >= x - 1)
        if (
            left >= 5
            and right >= 5
            and crossing <= 0.15 * len(lines)
            and (best is None or crossing < best[0])
        ):
            best = (crossing, x)
        x += 2.0
    return best[1] if best else None


# --- chapters and paragraphs ------------------------------------------------------------------


def _norm(text: str) -> str:
    text = text.translate(_LIGATURES)
    text = clean_inline(text)
    text = _LETTER_SPACED.sub(lambda m: m.group(0).replace(" ", ""), text)
    text = _APOSTROPHE_GAP.sub(r"\1", text)
    text = _QUOTE_GAPS.sub("", text)
    letters = [c for c in text if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):  # a heading in spaced capitals
        text = re.sub(r"(?<=\d) (?=\d)|(?<=[^\W\d_]-) (?=[^\W\d_])", "", text)
    text = _BRACKET_GAP.sub(lambda m: m.group(1) or "", text)
    return _SPACE_BEFORE_PUNCT.sub("", text)


def _join_split_capitals(text: str, vocabulary: Counter[str]) -> str:
    """Headings in spaced capitals come out as "ET YMOLOGY": join the pair when the book uses the
    joined word at least as often as one of the halves."""

    def repl(match: re.Match[str]) -> str:
        head, tail = match.group(1), match.group(2)
        joined = (head + tail).casefold()
        if vocabulary[joined] and vocabulary[joined] >= min(
            vocabulary[head.casefold()], vocabulary[tail.casefold()]
        ):
            return head + tail
        return match.group(0)

    return _CAPS_PAIR.sub(repl, text)


def _fold(text: str) -> str:
    return re.sub(r"[\W_]+", "", _norm(text).casefold())


def _outline_cuts(outline: list[OutlineItem], flow: list[_Flow]) -> list[tuple[int, str]]:
    """(index into the flow, title) for each bookmark, in reading order."""
    first_on_page: dict[int, int] = {}
    for i, item in enumerate(flow):
        first_on_page.setdefault(item.page, i)
    last_page = max(first_on_page)
    cuts: dict[int, str] = {}
    for mark in _merge_numbers(outline):
        title = _norm(mark.title)
        if mark.page < 0 or not title:
            continue
        page = mark.page
        while page not in first_on_page and page <= last_page:
            page += 1  # a bookmark to a page without text (a picture): its text starts on the next
        if page > last_page:
            continue
        start = first_on_page[page]
        at = start
        if mark.top is not None and page == mark.page:
            on_page = [i for i in range(start, len(flow)) if flow[i].page == page]
            below = [i for i in on_page if flow[i].line.top <= mark.top + 0.5 * flow[i].line.size]
            at = below[0] if below else (on_page[-1] + 1 if on_page else start)
        # The heading itself is usually within a few lines of the destination.
        want = _fold(title)[:24]
        for i in range(max(start, at - 2), min(at + 4, len(flow))):
            if (
                want
                and _fold(flow[i].line.text)[: len(want)]
                and want.startswith(_fold(flow[i].line.text)[:12])
            ):
                at = i
                break
        at = min(at, len(flow) - 1)
        cuts.setdefault(at, title)
    return sorted(cuts.items())


def _merge_numbers(outline: list[OutlineItem]) -> list[OutlineItem]:
    """A bookmark that is only a number ("190", a page or item number set as a heading of its own)
    names the chapter together with the bookmark after it, when that one follows within a page."""
    merged: list[OutlineItem] = []
    skip = False
    for mark, after in zip(outline, [*outline[1:], None], strict=False):
        if skip:
            skip = False
            continue
        title = mark.title.strip()
        if _NUMBER_ONLY.match(title) and after is not None and 0 <= after.page - mark.page <= 1:
            merged.append(replace(mark, title=f"{title} {after.title.strip()}"))
            skip = True
        else:
            merged.append(mark)
    return merged


def _heading_cuts(flow: list[_Flow], body: float) -> list[tuple[int, str]]:
    """No outline: headings are lines set larger than the body, one level chosen like Markdown's."""
    headings: list[tuple[int, float, str]] = []  # (flow index, size, text)
    i = 0
    while i < len(flow):
        line = flow[i].line
        if line.size >= HEADING_GROWTH * body and len(line.text.split()) <= 20:
            text = [line.text]
            j = i + 1
            while (
                j < len(flow)
                and flow[j].page == flow[i].page
                and abs(flow[j].line.size - line.size) < 0.1
                and len(text) < 4
            ):
                text.append(flow[j].line.text)
                j += 1
            headings.append((i, line.size, _norm(" ".join(text))))
            i = j
        else:
            i += 1
    if not headings:
        return []
    sizes = sorted({round(s, 0) for _, s, _ in headings}, reverse=True)
    level = sizes[0]
    top = [h for h in headings if round(h[1], 0) == level]
    if len(top) == 1 and len(sizes) > 1 and top[0][0] == headings[0][0]:
        level = sizes[1]
    return [(i, text) for i, size, text in headings if round(size, 0) >= level]


def _chapters(
    flow: list[_Flow], cuts: list[tuple[int, str]], vocabulary: Counter[str], fallback: str
) -> list[RawChapter]:
    bounds = [c[0] for c in cuts] + [len(flow)]
    raw: list[RawChapter] = []
    front = _paragraphs(flow[: bounds[0]] if cuts else flow, vocabulary)
    for (start, title), end in zip(cuts, bounds[1:], strict=False):
        raw.append((title, _paragraphs(flow[start:end], vocabulary)))
    add_front_matter(raw, front, "Front matter" if raw else fallback)
    return raw


def _paragraphs(flow: list[_Flow], vocabulary: Counter[str]) -> list[str]:
    leading = _leading(flow)
    paragraphs: list[str] = []
    current = ""
    prev: _Flow | None = None
    for item in flow:
        line = item.line
        text = _norm(line.text)
        if not text:
            continue
        if prev is not None and current and not text.strip(_CLOSING):
            current += text  # a closing quotation mark pushed onto a line of its own
        elif prev is not None and current.endswith("-") and prev.line.hyphen and text[:1].islower():
            current = current[:-1] + _HYPHEN_JOIN + text  # a word hyphenated at the line end
        elif prev is not None and re.search(r"[^\W\d_]-$", current) and text[:1].isupper():
            current += text  # a compound at the line end: "Post-" "Office"
        elif prev is None or _breaks(prev, item, leading):
            if current:
                paragraphs.append(_dehyphenate(current, vocabulary))
            current = text
        else:
            current = f"{current} {text}"
        prev = item
    if current:
        paragraphs.append(_dehyphenate(current, vocabulary))
    return paragraphs


def _leading(flow: list[_Flow]) -> dict[float, float]:
    """The usual distance between baselines, per type size."""
    gaps: dict[float, list[float]] = {}
    for a, b in itertools.pairwise(flow):
        if a.page == b.page and a.line.size == b.line.size and a.line.bottom > b.line.bottom:
            gaps.setdefault(a.line.size, []).append(a.line.bottom - b.line.bottom)
    return {size: statistics.median(values) for size, values in gaps.items()}


def _breaks(prev: _Flow, item: _Flow, leading: dict[float, float]) -> bool:
    """Does ``item`` start a new paragraph after ``prev``?"""
    a, b = prev.line, item.line
    width = max(item.right - item.left, 1.0)
    full = a.x1 >= prev.right - 0.05 * max(prev.right - prev.left, 1.0)
    if abs(a.size - b.size) > 0.1 * max(a.size, b.size) and not (full and b.size <= a.size * 1.5):
        return True  # a heading, or body text after one (a first line in small capitals runs on)
    if item.page == prev.page and b.top <= a.bottom + 1:
        step = a.bottom - b.bottom
        usual = leading.get(b.size, b.size * 1.2)
        if step > 1.45 * usual:
            return True
    indent = b.x0 - item.left
    if 0.3 * b.size < indent < 0.4 * width and not (a.x0 - prev.left > 0.3 * a.size):
        return True
    short = a.x1 < prev.right - 0.15 * max(prev.right - prev.left, 1.0)
    return short and a.text.rstrip()[-1:] in '.!?:"”’)'


def _vocabulary(flow: list[_Flow]) -> Counter[str]:
    """Words as the book spells them within lines (not across a line end): the hyphenation oracle."""
    words: Counter[str] = Counter()
    for item in flow:
        words.update(w.casefold() for w in _WORD.findall(item.line.text.translate(_LIGATURES)))
    return words


def _dehyphenate(text: str, vocabulary: Counter[str]) -> str:
    """Resolve each line-end hyphen: joined (a syllable break) unless the book writes the word with
    a hyphen elsewhere and never without one."""

    def repl(match: re.Match[str]) -> str:
        head, tail = match.group(1), match.group(2)
        joined, hyphened = (head + tail).casefold(), f"{head}-{tail}".casefold()
        if vocabulary[hyphened] > vocabulary[joined]:
            return f"{head}-{tail}"
        return head + tail

    text = re.sub(rf"([^\W\d_]*){_HYPHEN_JOIN}([^\W\d_]*)", repl, text)
    return _join_split_capitals(text.replace(_HYPHEN_JOIN, "-"), vocabulary)
