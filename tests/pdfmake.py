"""Write small PDFs by hand, byte by byte, for the PDF reader's tests (no PDF library involved).

``text_pdf`` lays out lines of Helvetica at given positions and sizes; ``raw_pdf`` writes any
objects, with a correct cross-reference table, for hostile files.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    size: float = 11.0
    bold: bool = False


def _escape(text: str) -> bytes:
    data = text.encode("cp1252")
    return data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def raw_pdf(path: Path, objects: Sequence[bytes], root: int = 1, extra_trailer: bytes = b"") -> Path:
    """Objects numbered from 1 in order; ``root`` is the catalog's number."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        extra_trailer,
        xref,
    )
    path.write_bytes(bytes(out))
    return path


def stream(data: bytes, compress: bool = True, extra: bytes = b"") -> bytes:
    body = zlib.compress(data) if compress else data
    flate = b"/Filter /FlateDecode " if compress else b""
    return b"<< /Length %d %s%s>>\nstream\n" % (len(body), flate, extra) + body + b"\nendstream"


def text_pdf(
    path: Path,
    pages: Iterable[Sequence[Text]],
    outline: Sequence[tuple[str, int, float]] = (),
    info: dict[str, str] | None = None,
    width: float = 612,
    height: float = 792,
    pictures: dict[int, tuple[int, int, bytes]] | None = None,
) -> Path:
    """A PDF of text pages; ``outline`` is (title, 0-based page, y) bookmarks at the top level;
    ``pictures`` puts an 8-bit grey image (width, height, pixels) over the whole of a page."""
    pictures = pictures or {}
    pages = [list(p) for p in pages]
    # 1 catalog, 2 pages, 3 regular font, 4 bold font, 5 outlines, 6 info, then page + content pairs,
    # then the bookmarks.
    first_page = 7
    page_ids = [first_page + 2 * i for i in range(len(pages))]
    first_mark = first_page + 2 * len(pages)
    first_picture = first_mark + len(outline)
    picture_ids = {page: first_picture + n for n, page in enumerate(sorted(pictures))}
    objects: list[bytes] = []
    outlines = b"/Outlines 5 0 R /PageMode /UseOutlines " if outline else b""
    objects.append(b"<< /Type /Catalog /Pages 2 0 R %s>>" % outlines)
    kids = b" ".join(b"%d 0 R" % i for i in page_ids)
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
    if outline:
        last = first_mark + len(outline) - 1
        objects.append(
            b"<< /Type /Outlines /First %d 0 R /Last %d 0 R /Count %d >>" % (first_mark, last, len(outline))
        )
    else:
        objects.append(b"<< >>")
    fields = b" ".join(b"/%s (%s)" % (k.encode(), _escape(v)) for k, v in (info or {}).items())
    objects.append(b"<< %s >>" % fields)
    for i, lines in enumerate(pages):
        content = bytearray()
        if i in picture_ids:
            content += b"q %d 0 0 %d 0 0 cm /Im1 Do Q\n" % (width, height)
        for line in lines:
            font = b"/F2" if line.bold else b"/F1"
            content += b"BT %s %.1f Tf %.2f %.2f Td (%s) Tj ET\n" % (
                font,
                line.size,
                line.x,
                line.y,
                _escape(line.text),
            )
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> %s>> /Contents %d 0 R >>"
            % (
                width,
                height,
                b"/XObject << /Im1 %d 0 R >> " % picture_ids[i] if i in picture_ids else b"",
                page_ids[i] + 1,
            )
        )
        objects.append(stream(bytes(content)))
    for n, (title, page, y) in enumerate(outline):
        number = first_mark + n
        links = b""
        if n > 0:
            links += b"/Prev %d 0 R " % (number - 1)
        if n < len(outline) - 1:
            links += b"/Next %d 0 R " % (number + 1)
        objects.append(
            b"<< /Title (%s) /Parent 5 0 R %s/Dest [%d 0 R /XYZ 0 %.1f 0] >>"
            % (_escape(title), links, page_ids[page], y)
        )
    for page in sorted(pictures):
        w, h, pixels = pictures[page]
        objects.append(
            stream(
                pixels,
                extra=b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
                b"/BitsPerComponent 8 " % (w, h),
            )
        )
    return raw_pdf(path, objects, extra_trailer=b"/Info 6 0 R " if info else b"")


def paragraph_lines(
    words: str, x: float, y: float, width_chars: int = 80, size: float = 11.0, leading: float = 14.0
) -> list[Text]:
    """Words wrapped into lines of at most ``width_chars`` characters, top to bottom from ``y``."""
    lines: list[str] = []
    current = ""
    for word in words.split():
        if current and len(current) + 1 + len(word) > width_chars:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        lines.append(current)
    return [Text(x, y - i * leading, line, size) for i, line in enumerate(lines)]
