"""Kindle books without DRM: MOBI 6 (PalmDOC), KF8 (AZW3) and "joint" files holding both.

Reads ``.mobi``, ``.azw3``, ``.azw`` and ``.prc``: the Palm database and its records, the PalmDOC
and MOBI headers with their EXTH metadata (title, author, language, date, cover), the text records
(trailing entries stripped; no compression, PalmDOC LZ77 or HUFF/CDIC), and then

* KF8 (preferred in a joint file): the HTML files rebuilt from the skeleton and fragment indexes
  and the FDST flow table, chapters at the positions of the NCX index (``kindle:pos:fid`` pairs),
  or, without one, at the book's own HTML table of contents;
* MOBI 6: the one HTML text, chapters at the ``filepos`` of the NCX index, or of the links of the
  table of contents the guide names.

The HTML is cut into chapters by :mod:`voxcli.ingest.xhtml`, as EPUB content documents are. Every
count, offset and length in the file is checked before it is used: a malformed or hostile file is
one :class:`BookError` line, and decompression stops at a fixed bound (no compression bombs).
"""

from __future__ import annotations

import re
import struct
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date as date_type
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from voxcli.book import Book, Chapter, Cover, RawChapter, add_front_matter, count_words, number_chapters
from voxcli.errors import BookError
from voxcli.ingest.kindleindex import first_tag, read_index
from voxcli.ingest.palmdoc import NULL, U32, Huff, Malformed, PalmDatabase, lz77, strip_trailing, u32
from voxcli.ingest.textutil import clean_inline
from voxcli.ingest.xhtml import first_heading, parse_document, parse_html

if TYPE_CHECKING:
    from voxcli.ingest import ReadOptions

MiB = 1024 * 1024
MAX_FILE_BYTES = 512 * MiB
MAX_TEXT_BYTES = 256 * MiB  # decompressed text; more is a compression bomb, not a book
CUT_PREFIX = "voxcli-mobi-cut-"
FIX = "check the file, or convert it again (calibre's ebook-convert)"
DRM_FIX = "use a DRM-free copy of the book"

_BODY_OPEN = re.compile(rb"<body\b[^>]*>", re.IGNORECASE)
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*\?>")
_KINDLE_POS = re.compile(rb"kindle:pos:fid:([0-9A-Va-v]{1,10}):off:([0-9A-Va-v]{1,10})")
_FILEPOS = re.compile(rb"filepos\s*=\s*[\"']?0*([0-9]{1,10})", re.IGNORECASE)
_TOC_REFERENCE = re.compile(rb"<reference\b[^>]*\btype\s*=\s*[\"']?toc\b[^>]*>", re.IGNORECASE)
_LINK = re.compile(rb"<a\b([^>]*)>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL)
_PAGEBREAK = re.compile(rb"<mbp:pagebreak\b", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_DAY = re.compile(r"\s*([0-9]{4})-([0-9]{2})-([0-9]{2})")
PALM_EPOCH_OFFSET = 2082844800  # seconds from 1904-01-01 to 1970-01-01
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")


def read_mobi(path: Path, options: ReadOptions) -> Book:
    """Read a MOBI / AZW3 / AZW / PRC file into a :class:`Book`; raises :class:`BookError`."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise BookError(
            f"{path.name}: {size // MiB} MiB is too large for a Kindle book "
            f"(the limit is {MAX_FILE_BYTES // MiB} MiB)"
        )
    data = path.read_bytes()
    try:
        return _read(path, data, options, prefer_kf8=True)
    except Malformed as exc:
        raise BookError(f"{path.name}: not a readable Kindle book ({exc})", FIX) from exc
    except (struct.error, IndexError, ValueError, KeyError, OverflowError) as exc:
        # Every offset is checked first; this is the last line of defence, still one line.
        raise BookError(
            f"{path.name}: malformed Kindle book ({type(exc).__name__}: {exc})".replace("\n", " "), FIX
        ) from exc


@dataclass
class _Header:
    base: int  # the record number of this header: 0, or the KF8 boundary of a joint file
    compression: int
    text_length: int
    text_records: int
    record_size: int
    encryption: int
    version: int
    codec: str
    full_name: str
    first_image: int
    huff_record: int
    huff_count: int
    extra_flags: int
    ncx: int
    frag: int = NULL
    skel: int = NULL
    fdst: int = NULL
    exth: dict[int, list[bytes]] = field(default_factory=dict)

    def text(self, key: int) -> str:
        values = self.exth.get(key)
        return clean_inline(values[0].decode(self.codec, "replace")) if values else ""

    def number(self, key: int) -> int | None:
        values = self.exth.get(key)
        if values and len(values[0]) >= 4:
            return int(U32.unpack_from(values[0], 0)[0])
        return None

    def absolute(self, index: int) -> int | None:
        """A record number of this header's book as a record number of the file; None when unset."""
        return None if index == NULL else self.base + index


def _header(pdb: PalmDatabase, base: int) -> _Header:
    raw = pdb.record(base, "header record")
    if len(raw) < 16:
        raise Malformed(f"header record {base} is only {len(raw)} bytes")
    compression, _, text_length, text_records, record_size, encryption = struct.unpack_from(">HHLHHH", raw, 0)
    if encryption:
        kind = {1: "old Mobipocket DRM", 2: "Mobipocket/Kindle DRM"}.get(
            encryption, f"encryption {encryption}"
        )
        raise BookError(
            f"{pdb.name}: this Kindle book is DRM-protected ({kind}); voxcli cannot read it", DRM_FIX
        )
    header = _Header(
        base=base,
        compression=compression,
        text_length=text_length,
        text_records=text_records,
        record_size=record_size,
        encryption=encryption,
        version=1,
        codec="cp1252",
        full_name="",
        first_image=NULL,
        huff_record=NULL,
        huff_count=0,
        extra_flags=0,
        ncx=NULL,
    )
    if raw[16:20] != b"MOBI":
        return header  # a plain PalmDOC text (TEXtREAd): no MOBI header
    length = u32(raw, 20)
    if length < 24 or 16 + length > len(raw):
        raise Malformed(f"the MOBI header claims {length} bytes, more than its record holds")
    mobi = raw[: 16 + length]
    encoding = u32(mobi, 28)
    header.codec = "utf-8" if encoding == 65001 else "cp1252"
    header.version = u32(mobi, 36) if u32(mobi, 36) != NULL else 1
    name_offset, name_length = u32(mobi, 84), u32(mobi, 88)
    if name_offset != NULL and name_length != NULL and name_offset + name_length <= len(raw):
        header.full_name = clean_inline(
            raw[name_offset : name_offset + name_length].decode(header.codec, "replace")
        )
    header.first_image = u32(mobi, 108)
    header.huff_record, header.huff_count = u32(mobi, 112), u32(mobi, 116)
    if length >= 0xE4 and header.version >= 5:
        header.extra_flags = u32(mobi, 240) & 0xFFFF
    header.ncx = u32(mobi, 244)
    if header.version >= 8:
        header.fdst = u32(mobi, 192)
        header.frag, header.skel = u32(mobi, 248), u32(mobi, 252)
    if u32(mobi, 128) != NULL and u32(mobi, 128) & 0x40:
        header.exth = _exth(raw, 16 + length)
    return header


def _exth(raw: bytes, start: int) -> dict[int, list[bytes]]:
    if raw[start : start + 4] != b"EXTH":
        return {}
    length, count = u32(raw, start + 4), u32(raw, start + 8)
    end = min(start + length, len(raw)) if length != NULL else len(raw)
    records: dict[int, list[bytes]] = {}
    pos = start + 12
    for _ in range(count):
        if pos + 8 > end:
            break  # a short EXTH block: keep what was read
        key, size = U32.unpack_from(raw, pos)[0], U32.unpack_from(raw, pos + 4)[0]
        if size < 8 or pos + size > end:
            break
        records.setdefault(int(key), []).append(raw[pos + 8 : pos + size])
        pos += size
    return records


def _text(pdb: PalmDatabase, header: _Header) -> bytes:
    """The book's text, all its text records decompressed and joined."""
    if header.text_length > MAX_TEXT_BYTES:
        raise BookError(
            f"{pdb.name}: the header claims {header.text_length // MiB} MiB of text, more than "
            f"{MAX_TEXT_BYTES // MiB} MiB (a compression bomb, or a damaged file)",
            FIX,
        )
    if header.base + header.text_records >= pdb.count:
        raise Malformed(f"the header names {header.text_records} text records; the file has fewer")
    per_record = 2 * max(header.record_size, 4096)
    total_limit = min(MAX_TEXT_BYTES, header.text_length + per_record)
    huff: Huff | None = None
    if header.compression == 17480:
        first = header.absolute(header.huff_record)
        if first is None or header.huff_count < 2:
            raise Malformed("HUFF/CDIC compression without HUFF records")
        huff = Huff(pdb, first, min(header.huff_count, pdb.count))
    elif header.compression not in (1, 2):
        raise BookError(
            f"{pdb.name}: text compression type {header.compression} is not supported "
            "(only none, PalmDOC and HUFF/CDIC)",
            FIX,
        )
    pieces: list[bytes] = []
    total = 0
    for number in range(1, header.text_records + 1):
        record = strip_trailing(pdb.record(header.base + number, "text record"), header.extra_flags)
        if header.compression == 2:
            piece = lz77(record, per_record)
        elif huff is not None:
            piece = huff.unpack(record, per_record)
        else:
            piece = record
        total += len(piece)
        if total > total_limit:
            raise BookError(
                f"{pdb.name}: the text decompresses to more than the "
                f"{max(header.text_length, 1) // 1024 + 1} KiB its header declares (a compression bomb)",
                FIX,
            )
        pieces.append(piece)
    return b"".join(pieces)


@dataclass
class _TocPoint:
    title: str
    position: int  # a byte position in the (KF8: rebuilt) text


def _ncx(pdb: PalmDatabase, header: _Header, fragments: list[tuple[int, int, int]] | None) -> list[_TocPoint]:
    """The NCX index's entries in order; positions from ``pos_fid`` (KF8) or ``pos``."""
    first = header.absolute(header.ncx)
    if first is None:
        return []
    index = read_index(pdb, first, header.codec, "NCX")
    points: list[_TocPoint] = []
    for _, tags in index.entries:
        fid, off = first_tag(tags, 6), first_tag(tags, 6, 1)
        position = first_tag(tags, 1)
        if fragments is not None and fid is not None and off is not None and fid < len(fragments):
            position = fragments[fid][0] + off
        if position is None:
            continue
        label = first_tag(tags, 3)
        title = clean_inline(index.string(label)) if label is not None else ""
        points.append(_TocPoint(title, position))
    return points


# -- reading a book ----------------------------------------------------------------------------


@dataclass
class _Doc:
    """One HTML document to read: its bytes, where it starts in the text, the cuts to make in it."""

    data: bytes
    start: int
    html: bool = False  # MOBI 6 HTML, never XHTML: lxml's HTML parser (an XML one "recovers" garbage)
    cuts: dict[int, str] = field(default_factory=dict)  # local byte position -> cut id


def _read(path: Path, data: bytes, options: ReadOptions, prefer_kf8: bool) -> Book:
    pdb = PalmDatabase(path.name, data)
    mobi6 = _header(pdb, 0)
    header = mobi6
    boundary = mobi6.number(121)
    if boundary is not None and 0 < boundary < pdb.count and prefer_kf8:
        if pdb.record(boundary - 1)[:8] != b"BOUNDARY":
            raise Malformed(f"the KF8 boundary (record {boundary}) has no BOUNDARY record before it")
        header = _header(pdb, boundary)
    warnings: list[str] = []
    text = _text(pdb, header)
    if header.version >= 8:
        docs, toc = _kf8(pdb, header, text, warnings)
    else:
        docs, toc = _mobi6(pdb, header, text, warnings)
    language = header.text(524) or mobi6.text(524)
    lang = language or "en"
    chapters = _chapters(docs, toc, options, lang, warnings)
    if not chapters:
        raise BookError(
            f"{path.name}: no readable text found in this Kindle book",
            "check that it is not image-only or empty",
        )
    authors = [clean_inline(v.decode(header.codec, "replace")) for v in header.exth.get(100, [])]
    description = _TAG.sub(" ", header.text(103))
    return Book(
        title=header.text(503) or header.full_name or mobi6.full_name or path.stem,
        author=", ".join(a for a in dict.fromkeys(authors) if a),
        language=language,
        chapters=chapters,
        cover=_cover(pdb, mobi6, header),
        description=clean_inline(description),
        year=_year(header.text(106), pdb.created),
        warnings=tuple(dict.fromkeys(warnings)),
    )


def _year(date: str, created: int) -> str:
    """The year of EXTH 106, unless it is the day the file was made: calibre writes the time of the
    conversion there when the book gives no date, which is no publication year."""
    day = _DAY.match(date)
    if day is not None and created:
        # PDB times count seconds from 1904 when the high bit is set (Palm), else from 1970 (Unix).
        seconds = created - PALM_EPOCH_OFFSET if created & 0x80000000 else created
        try:
            made = datetime.fromtimestamp(seconds, timezone.utc).date()
            stated = date_type(int(day.group(1)), int(day.group(2)), int(day.group(3)))
        except (ValueError, OverflowError, OSError):
            pass
        else:
            if abs((made - stated).days) <= 1:
                return ""
    match = _YEAR.search(date)
    return match.group(1) if match else ""


def _cover(pdb: PalmDatabase, mobi6: _Header, header: _Header) -> Cover | None:
    for source in (header, mobi6):
        offset = source.number(201)
        # In a joint file the images are the MOBI 6 part's; its first image index counts from record 0.
        first = mobi6.first_image if mobi6.first_image != NULL else source.first_image
        if offset is None or offset == NULL or first == NULL or not 0 <= first + offset < pdb.count:
            continue
        image = pdb.record(first + offset)
        media_type = _sniff(image)
        if media_type:
            return Cover(media_type, image)
    return None


def _sniff(image: bytes) -> str:
    if image[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if image[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if image[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return ""


def _mobi6(
    pdb: PalmDatabase, header: _Header, text: bytes, warnings: list[str]
) -> tuple[list[_Doc], list[_TocPoint]]:
    toc = _ncx(pdb, header, None)
    if not toc:
        toc = _guide_toc(text, header.codec)
        if toc:
            warnings.append("no NCX index; chapters from the book's own table of contents")
    return [_Doc(_as_utf8(text, header.codec), 0, html=True)], toc


def _guide_toc(text: bytes, codec: str) -> list[_TocPoint]:
    """The links of the table of contents the guide names (``<reference type="toc" filepos=N>``)."""
    reference = _TOC_REFERENCE.search(text)
    target = _FILEPOS.search(reference.group(0)) if reference else None
    if target is None:
        return []
    start = int(target.group(1))
    end = text.find(b"<mbp:pagebreak", start + 1)
    region = text[start : end if end > 0 else min(len(text), start + 2 * MiB)]
    points: list[_TocPoint] = []
    for link in _LINK.finditer(region):
        filepos = _FILEPOS.search(link.group(1))
        if filepos is None:
            continue
        title = clean_inline(_TAG.sub(" ", link.group(2).decode(codec, "replace")))
        points.append(_TocPoint(title, int(filepos.group(1))))
    return points


def _as_utf8(markup: bytes, codec: str) -> bytes:
    """HTML as UTF-8 with a byte-order mark, which both of parse_document's parsers follow."""
    text = markup.decode(codec, "replace")
    return b"\xef\xbb\xbf" + _XML_DECL.sub(b"", text.encode("utf-8"), count=1)


def _kf8(
    pdb: PalmDatabase, header: _Header, text: bytes, warnings: list[str]
) -> tuple[list[_Doc], list[_TocPoint]]:
    flow = text
    fdst = header.absolute(header.fdst)
    if fdst is not None:
        record = pdb.record(fdst, "FDST record")
        if record[:4] == b"FDST":
            count = u32(record, 8)
            if count and count != NULL and 12 + 8 * count <= len(record):
                start, end = struct.unpack_from(">LL", record, 12)
                if not start <= end <= len(text):
                    raise Malformed("the FDST flow table points outside the text")
                flow = text[start:end]
    skel_first, frag_first = header.absolute(header.skel), header.absolute(header.frag)
    fragments: list[tuple[int, int, int]] = []  # insert position, start, length
    if frag_first is not None:
        for name, tags in read_index(pdb, frag_first, header.codec, "fragment").entries:
            pos_len = tags.get(6) or []
            if not name.isdigit() or len(pos_len) < 2:
                raise Malformed("a fragment index entry has no position")
            fragments.append((int(name), pos_len[0], pos_len[1]))
    docs: list[_Doc] = []
    if skel_first is None:
        docs.append(_Doc(flow, 0))
    else:
        frag = 0
        work, work_limit = 0, 16 * len(flow) + 64 * MiB
        for _, tags in read_index(pdb, skel_first, header.codec, "skeleton").entries:
            count, start, length = first_tag(tags, 1) or 0, first_tag(tags, 6), first_tag(tags, 6, 1)
            if start is None or length is None or start + length > len(flow):
                raise Malformed("a skeleton index entry points outside the text")
            skeleton = flow[start : start + length]
            base = start + length
            for _ in range(count):
                if frag >= len(fragments):
                    raise Malformed("the skeleton index names more fragments than the fragment index has")
                insert, _start, size = fragments[frag]
                frag += 1
                at = insert - start
                if not 0 <= at <= len(skeleton) or base + size > len(flow):
                    raise Malformed("a fragment index entry points outside its skeleton or the text")
                skeleton = skeleton[:at] + flow[base : base + size] + skeleton[at:]
                base += size
                work += len(skeleton)
                if work > work_limit:
                    raise Malformed("the fragments take too long to put together")
            docs.append(_Doc(skeleton, start))
    toc = _ncx(pdb, header, fragments)
    if not toc:
        toc = _html_toc(docs, fragments, header.codec)
        if toc:
            warnings.append("no NCX index; chapters from the book's own table of contents")
    if header.codec != "utf-8":
        for doc in docs:
            doc.data = _as_utf8(doc.data, header.codec)  # the cut positions are made first, below
    return docs, toc


def _html_toc(docs: list[_Doc], fragments: list[tuple[int, int, int]], codec: str) -> list[_TocPoint]:
    """The book's own table of contents: the first document with several ``kindle:pos`` links."""
    for doc in docs:
        points: list[_TocPoint] = []
        for link in _LINK.finditer(doc.data):
            target = _KINDLE_POS.search(link.group(1))
            if target is None:
                continue
            fid, off = int(target.group(1), 32), int(target.group(2), 32)
            if fid >= len(fragments):
                continue
            title = clean_inline(_TAG.sub(" ", link.group(2).decode(codec, "replace")))
            points.append(_TocPoint(title, fragments[fid][0] + off))
        if len(points) >= 2:
            return points
    return []


def _place_cuts(docs: list[_Doc], toc: list[_TocPoint]) -> dict[str, str]:
    """Give every TOC position a cut id in its document; returns cut id -> title (first one wins)."""
    starts = [doc.start for doc in docs]
    titles: dict[str, str] = {}
    by_position: dict[tuple[int, int], str] = {}
    bodies: dict[int, int] = {}  # document -> where its <body> tag ends
    for point in toc:
        which = bisect_right(starts, point.position) - 1
        if which < 0:
            continue
        doc = docs[which]
        local = point.position - doc.start
        if local > len(doc.data):
            continue
        if which not in bodies:
            body = _BODY_OPEN.search(doc.data, 0, min(len(doc.data), MiB))
            bodies[which] = body.end() if body else 0
        local = _outside_tags(doc.data, local, bodies[which])
        key = (which, local)
        if key not in by_position:
            cut = f"{CUT_PREFIX}{len(by_position) + 1}"
            by_position[key] = cut
            doc.cuts[local] = cut
            titles[cut] = point.title
    return titles


def _outside_tags(markup: bytes, local: int, body: int) -> int:
    """A position moved out of any tag it falls inside, and to the end of ``<body>`` when before it."""
    if local < body:
        return body
    opening = markup.rfind(b"<", max(0, local - 65536), local)
    closing = markup.rfind(b">", max(0, local - 65536), local)
    return opening if opening > closing else local


def _link_list(markup: bytes) -> bool:
    """Whether this HTML is a table of contents: ten links or more, and little text outside them."""
    links = [_TAG.sub(" ", m.group(2).decode("utf-8", "replace")) for m in _LINK.finditer(markup)]
    if len(links) < 10:
        return False
    inside = sum(count_words(text) for text in links)
    return inside >= 0.8 * count_words(_TAG.sub(" ", markup.decode("utf-8", "replace")))


def _drop_trailing_tocs(docs: list[_Doc], warnings: list[str]) -> list[_Doc]:
    """Leave out the tables of contents after the last chapter starts: navigation, not text.

    calibre puts the table of contents it generates there, and the EPUB pages it came from that
    were not in the reading order (``linear="no"``) too. MOBI 6 text is one document: its pages
    (``<mbp:pagebreak/>``) are looked at instead.
    """
    last = max((i for i, doc in enumerate(docs) if doc.cuts), default=-1)
    if last < 0:
        return docs
    dropped = 0
    while len(docs) - 1 > last and _link_list(docs[-1].data):
        docs.pop()
        dropped += 1
    doc = docs[last]
    if doc.html:
        breaks = [m.start() for m in _PAGEBREAK.finditer(doc.data, max(doc.cuts))]
        cut = len(doc.data)
        end = cut = len(doc.data)
        for start in reversed(breaks):
            page = doc.data[start:end]
            if _link_list(page):
                cut = start
                dropped += 1
            elif count_words(_TAG.sub(" ", page.decode("utf-8", "replace"))):
                break
            end = start
        doc.data = doc.data[:cut]
    if dropped:
        warnings.append(f"{dropped} table(s) of contents after the last chapter; not read")
    return docs


def _with_cuts(doc: _Doc) -> bytes:
    pieces: list[bytes] = []
    last = 0
    for local in sorted(doc.cuts):
        pieces += [doc.data[last:local], f'<span id="{doc.cuts[local]}"></span>'.encode()]
        last = local
    pieces.append(doc.data[last:])
    return b"".join(pieces)


def _chapters(
    docs: list[_Doc], toc: list[_TocPoint], options: ReadOptions, lang: str, warnings: list[str]
) -> tuple[Chapter, ...]:
    from voxcli.ingest.xhtml import extract_sections

    titles = _place_cuts(docs, toc)
    docs = _drop_trailing_tocs(docs, warnings)
    raw: list[RawChapter] = []
    front: list[str] = []
    front_title = ""
    for doc in docs:
        root = parse_html(_with_cuts(doc)) if doc.html else parse_document(_with_cuts(doc))
        if root is None:
            continue
        if not raw and not front_title:
            front_title = first_heading(root)
        extract = extract_sections(root, list(doc.cuts.values()), math=options.math, lang=lang)
        for cut in doc.cuts.values():
            if cut in extract.skipped_ids:
                warnings.append(f"TOC entry '{titles[cut]}' is footnote or endnote material; not read")
        for section in extract.sections:
            if section.anchor in titles:
                title = titles[section.anchor] or f"Chapter {len(raw) + 1}"
                raw.append((title, list(section.paragraphs), section.kind))
            elif raw:
                raw[-1][1].extend(section.paragraphs)
            else:
                front.extend(section.paragraphs)
    add_front_matter(raw, front, front_title or "Front matter")
    return number_chapters(raw)
