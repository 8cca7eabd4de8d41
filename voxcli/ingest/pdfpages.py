"""What PDFium sees on each page of a PDF: text lines with their position and type size.

This module runs inside the bounded worker process (``ingest.bounded``): it imports nothing of
voxcli but the small dataclasses, so a hostile PDF can only exhaust the worker. Lines are built
from characters here (PDFium's own line breaks sometimes join two lines of a paragraph); small
raised digits and note symbols (footnote references) are left out of the line's text and counted.
"""

from __future__ import annotations

import ctypes
import itertools
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

# A character this much smaller than the line's type, raised above its baseline, is a superscript.
SUPERSCRIPT_SHRINK = 0.8
NOTE_SYMBOLS = frozenset("0123456789*∗†‡§¶⁰¹²³⁴⁵⁶⁷⁸⁹")
_SKIP = frozenset({0, 0xFFFE, 0xFFFF})


@dataclass(frozen=True)
class Line:
    """One line of text; coordinates in points from the page's bottom left."""

    text: str
    x0: float
    x1: float
    bottom: float
    top: float
    size: float  # the type size most of its characters have
    bold: bool = False
    hyphen: bool = False  # ends in a hyphen that PDFium marks as a line-end hyphenation
    marked: bool = False  # begins with a superscript note mark (left out of ``text``): a footnote


@dataclass(frozen=True)
class Page:
    index: int
    width: float
    height: float
    lines: tuple[Line, ...]
    chars: int  # characters on the page's text layer (0: a scanned page)
    notes: int = 0  # footnote reference marks left out of the lines
    images: int = 0  # picture objects on the page
    ocr: bool = False  # the lines were read by Tesseract


@dataclass(frozen=True)
class OutlineItem:
    title: str
    level: int
    page: int  # 0-based; -1 when the bookmark points nowhere
    top: float | None  # the y its destination shows at the top of the window, when it says


@dataclass
class _Char:
    text: str
    left: float
    right: float
    bottom: float
    top: float
    size: float
    bold: bool
    hyphen: bool
    generated: bool = False  # a space PDFium put in for a gap, not one the PDF contains


def open_pdf(path: str, password: str | None = None) -> object:
    import pypdfium2 as pdfium  # type: ignore[import-untyped]

    return pdfium.PdfDocument(path, password=password)


def outline(pdf: object) -> list[OutlineItem]:
    """The document's bookmarks, flattened in order (at most 10,000)."""
    items: list[OutlineItem] = []
    for mark in pdf.get_toc(max_depth=16):  # type: ignore[attr-defined]
        dest = mark.get_dest()
        page = dest.get_index() if dest is not None else None
        top: float | None = None
        if dest is not None:
            _, view = dest.get_view()
            if len(view) >= 2 and view[1] is not None:
                top = float(view[1])
        items.append(
            OutlineItem(str(mark.get_title() or ""), int(mark.level), -1 if page is None else page, top)
        )
        if len(items) >= 10_000:
            break
    return items


def read_page(pdf: object, index: int) -> Page:
    """The text lines of one page, in the order the page draws them."""
    import pypdfium2.raw as raw  # type: ignore[import-untyped]

    page = pdf[index]  # type: ignore[index]
    width, height = (float(v) for v in page.get_size())
    textpage = page.get_textpage()
    handle = textpage.raw
    count = raw.FPDFText_CountChars(handle)
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    chars: list[_Char] = []
    for k in range(max(count, 0)):
        code = raw.FPDFText_GetUnicode(handle, k)
        if code in (10, 13):
            chars.append(_Char("\n", 0, 0, 0, 0, 0, False, False))
            continue
        if code in _SKIP or (code < 32 and code not in (2, 9)):
            continue
        if code == 2:  # PDFium's mark for a soft hyphen at a line end
            code = ord("-")
        raw.FPDFText_GetCharBox(handle, k, left, right, bottom, top)
        size = round(float(raw.FPDFText_GetFontSize(handle, k)), 1)
        weight = raw.FPDFText_GetFontWeight(handle, k)
        hyphen = bool(raw.FPDFText_IsHyphen(handle, k)) if code in (45, 0xAD, 0x2010) else False
        chars.append(
            _Char(
                " " if code == 9 else chr(code),
                left.value,
                right.value,
                bottom.value,
                top.value,
                size,
                weight >= 600,
                hyphen,
                code == 32 and raw.FPDFText_IsGenerated(handle, k) == 1,
            )
        )
    lines, notes = _lines(chars)
    textpage.close()
    images = sum(
        1
        for k in range(raw.FPDFPage_CountObjects(page.raw))
        if raw.FPDFPageObj_GetType(raw.FPDFPage_GetObject(page.raw, k)) == 3
    )
    page.close()
    return Page(index, width, height, tuple(lines), count, notes, images)


def _lines(chars: list[_Char]) -> tuple[list[Line], int]:
    """Group characters into lines: a new line where the text moves down (or up) by more than half
    a line, or jumps back to the left."""
    lines: list[Line] = []
    notes = 0
    current: list[_Char] = []

    def flush() -> None:
        nonlocal notes
        if current:
            line, dropped = _make_line(current)
            notes += dropped
            if line is not None:
                lines.append(line)
            current.clear()

    last: _Char | None = None
    for ch in chars:
        if ch.text == "\n":
            continue  # PDFium's breaks are only hints: the geometry decides
        if ch.text == " " and ch.right <= ch.left:
            if current:
                current.append(ch)
            continue
        if last is not None:
            height = max(last.top - last.bottom, ch.top - ch.bottom, 1.0)
            centre_last = (last.top + last.bottom) / 2
            centre = (ch.top + ch.bottom) / 2
            rise = abs(centre - centre_last)
            onward = last.right - 1 <= ch.left <= last.right + 2 * height
            moved = rise > 0.6 * height and not _overlaps(last, ch) and not (onward and rise < 1.2 * height)
            back = ch.left < last.left - 2 * height
            gutter = ch.left - last.right > 3 * height  # the next column, or a table's next cell
            if moved or back or gutter:
                flush()
        current.append(ch)
        if ch.text != " ":
            last = ch
    flush()
    return lines, notes


def _overlaps(a: _Char, b: _Char) -> bool:
    """Vertical overlap of most of the smaller box: a superscript beside its word."""
    low, high = max(a.bottom, b.bottom), min(a.top, b.top)
    smaller = min(a.top - a.bottom, b.top - b.bottom)
    return smaller > 0 and (high - low) > 0.3 * smaller and b.left >= a.left - 1


def _real_spaces(chars: list[_Char]) -> list[_Char]:
    """Keep the spaces PDFium generates only where the gap is wider than the line's letter spacing:
    a heading set in spaced capitals ("S P IRIT") is one word, not five."""
    letter_gaps = [
        b.left - a.right
        for a, b in itertools.pairwise(chars)
        if a.text.strip() and b.text.strip() and b.left >= a.right - 0.5
    ]
    if len(letter_gaps) < 3:
        return chars
    letter_gaps.sort()
    usual = letter_gaps[len(letter_gaps) // 2]
    kept: list[_Char] = []
    for i, c in enumerate(chars):
        if c.generated and kept and i + 1 < len(chars):
            before = next((k for k in reversed(kept) if k.text.strip()), None)
            after = next((k for k in chars[i + 1 :] if k.text.strip()), None)
            if (
                before is not None
                and after is not None
                and after.left - before.right <= usual + 0.12 * c.size
            ):
                continue
        kept.append(c)
    return kept


def _make_line(chars: list[_Char]) -> tuple[Line | None, int]:
    visible = [c for c in chars if c.text.strip()]
    if not visible:
        return None, 0
    sizes = Counter(c.size for c in visible)
    size = sizes.most_common(1)[0][0]
    baseline = Counter(round(c.bottom) for c in visible if c.size == size).most_common(1)[0][0]
    kept: list[str] = []
    dropped = 0
    marked = False
    run: list[str] = []  # a superscript run of note symbols
    chars = _real_spaces(chars)
    for c in chars:
        small_raised = (
            c.text in NOTE_SYMBOLS
            and c.size < SUPERSCRIPT_SHRINK * size
            and c.bottom > baseline + 0.15 * size
        )
        if small_raised:
            run.append(c.text)
            continue
        if run:
            dropped += 1
            run.clear()
            marked = marked or not "".join(kept).strip()
        kept.append(c.text)
    if run:
        dropped += 1
    text = "".join(kept)
    if not text.strip():
        return None, dropped
    last = next((c for c in reversed(chars) if c.text.strip()), visible[-1])
    return (
        Line(
            text=text,
            x0=min(c.left for c in visible),
            x1=max(c.right for c in visible),
            bottom=min(c.bottom for c in visible if c.size == size),
            top=max(c.top for c in visible if c.size == size),
            size=size,
            bold=sum(c.bold for c in visible) > len(visible) / 2,
            hyphen=last.hyphen or last.text in ("-", "\u00ad"),
            marked=marked,
        ),
        dropped - marked,
    )


def scanned(page: Page) -> bool:
    """A page with pictures and (next to) no text layer: a scan, which only OCR can read."""
    return page.images > 0 and page.chars < 20


def ocr_page(pdf: object, index: int, tesseract: str, lang: str, dpi: int = 300) -> Page:
    """A scanned page: rendered, then read by Tesseract (its TSV gives word boxes)."""
    page = pdf[index]  # type: ignore[index]
    width, height = (float(v) for v in page.get_size())
    scale = dpi / 72
    bitmap = page.render(scale=scale)
    image = bitmap.to_pil()
    with tempfile.TemporaryDirectory(prefix="voxcli-ocr-") as tmp:
        png = Path(tmp) / "page.png"
        image.save(png)
        result = subprocess.run(
            [tesseract, str(png), "stdout", "-l", lang, "tsv"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    page.close()
    if result.returncode != 0:
        raise RuntimeError(f"tesseract failed on page {index + 1}: {result.stderr.strip()[:200]}")
    return Page(index, width, height, tuple(_tsv_lines(result.stdout, scale, height)), chars=0, ocr=True)


def _tsv_lines(tsv: str, scale: float, page_height: float) -> Iterator[Line]:
    groups: dict[tuple[str, str, str, str], list[list[str]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
            continue
        groups.setdefault((cols[1], cols[2], cols[3], cols[4]), []).append(cols)
    for words in groups.values():
        lefts = [int(w[6]) for w in words]
        tops = [int(w[7]) for w in words]
        rights = [int(w[6]) + int(w[8]) for w in words]
        bottoms = [int(w[7]) + int(w[9]) for w in words]
        heights = sorted(int(w[9]) for w in words)
        yield Line(
            text=" ".join(w[11] for w in words),
            x0=min(lefts) / scale,
            x1=max(rights) / scale,
            bottom=page_height - max(bottoms) / scale,
            top=page_height - min(tops) / scale,
            size=round(heights[len(heights) // 2] / scale * 1.4, 1),
        )


def read_document(
    path: str,
    ocr: tuple[str, str] | None = None,
    password: str | None = None,
    *,
    send: Callable[[object], None],
) -> None:
    """The worker's job: the page count, the outline, then each page in turn, through ``send``."""
    pdf = open_pdf(path, password)
    count = len(pdf)  # type: ignore[arg-type]
    send(("count", count))
    send(("meta", _metadata(pdf)))
    send(("outline", outline(pdf)))
    if count:
        send(("cover", cover(pdf)))
    for index in range(count):
        page = read_page(pdf, index)
        if ocr is not None and scanned(page):
            page = ocr_page(pdf, index, *ocr)
        send(("page", page))
    send(("done", None))


def _metadata(pdf: object) -> dict[str, str]:
    try:
        found = pdf.get_metadata_dict(skip_empty=True)  # type: ignore[attr-defined]
    except Exception:
        return {}
    return {str(k): str(v) for k, v in found.items()}


def cover(pdf: object, height: int = 1200) -> bytes:
    """The first page as a JPEG, for the audiobook's cover art."""
    import io

    page = pdf[0]  # type: ignore[index]
    scale = height / max(float(page.get_size()[1]), 1.0)
    image = page.render(scale=min(scale, 4.0)).to_pil().convert("RGB")
    page.close()
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
