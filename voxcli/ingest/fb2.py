"""FictionBook 2 books (``.fb2``, and ``.fb2.zip`` holding one ``.fb2``), parsed with lxml.

The document is refused when it declares XML entities (XXE, billion laughs) and is parsed with the
project's hardened parser; a ZIP goes through :class:`SafeArchive` (size and ratio caps). lxml
honours the XML declaration's encoding (windows-1251 is common in Russian libraries).

Chapters come from the main ``<body>``: every ``<section>`` with a ``<title>``, at any depth, starts
a chapter, as every table-of-contents entry does in an EPUB; text of a section before its first
subsection belongs to the section's own title. The title is also read as the chapter's first
paragraph, as an EPUB heading is. Sections without a title (calibre writes one per source file and
no titles) are titled from an inline table of contents when the book has one that lists exactly
one entry per section (calibre appends its "Contents"), else from a short first paragraph.

Epigraphs, poems (one paragraph per stanza), citations, subtitles, text authors and tables (a row
becomes a sentence: cells joined by ", ") are read. Note references (``<a type="note">``) are left
out of the flow, and so is the notes body (``<body name="notes">``), with a warning.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from voxcli.book import Book, Cover, number_chapters
from voxcli.errors import BookError
from voxcli.ingest import ReadOptions
from voxcli.ingest.archive import SafeArchive, parse_untrusted_xml
from voxcli.ingest.textutil import clean_inline

MiB = 1024 * 1024
MAX_FB2_BYTES = 256 * MiB  # a plain .fb2 larger than this is not a book
MAX_COVER_BASE64 = 32 * MiB  # the cover's <binary>, as base64 text
MAX_DEPTH = 200  # nesting of sections and blocks followed; deeper content is read as flat text
NOTE_BODIES = frozenset({"notes", "comments", "footnotes"})
# A heading guessed from a title-less section's first paragraph is at most this long.
GUESS_MAX_WORDS = 20
GUESS_MAX_CHARS = 160
_TOC_HEADINGS = frozenset(
    {
        "contents",
        "table of contents",
        "содержание",
        "оглавление",
        "inhalt",
        "inhaltsverzeichnis",
        "table des matières",
        "sommaire",
        "índice",
        "indice",
    }
)
_SENTENCE_END = ".!?:;…"
_YEAR = re.compile(r"\b(\d{4})\b")
_ZIP_MAGIC = b"PK\x03\x04"
_QUOTES = {ord("’"): "'", ord("‘"): "'", ord("“"): '"', ord("”"): '"'}


def _local(el: etree._Element) -> str:
    tag: object = el.tag  # an entity reference or a comment has a function here, not a name
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _all_text(el: etree._Element, sep: str = "") -> str:
    return sep.join(str(t) for t in el.itertext())


def _href(el: etree._Element) -> str:
    for name, value in el.attrib.items():
        if str(name).rsplit("}", 1)[-1] == "href":
            return str(value)
    return ""


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.translate(_QUOTES)
    return " ".join(text.split()).strip(" .:")


def _join_sentences(parts: list[str], sep: str = ". ") -> str:
    """Join title lines or table cells as sentences, without doubling their own punctuation."""
    out = ""
    for part in (p for p in parts if p):
        if not out:
            out = part
        elif out[-1] in _SENTENCE_END:
            out = f"{out} {part}"
        else:
            out = f"{out}{sep}{part}"
    return out


@dataclass
class _Raw:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    titled: bool = True  # the title is the book's own, not a guess


class _Walker:
    """Turns the main body into raw chapters."""

    def __init__(self, note_ids: set[str]) -> None:
        self.note_ids = note_ids
        self.chapters: list[_Raw] = []
        self.note_refs = 0

    # -- inline text -------------------------------------------------------------------------
    def _is_note_ref(self, el: etree._Element) -> bool:
        if _local(el) != "a":
            return False
        if (el.get("type") or "").lower() == "note":
            return True
        href = _href(el)
        return href.startswith("#") and href[1:] in self.note_ids

    def inline(self, el: etree._Element) -> str:
        parts: list[str] = []
        self._inline_into(el, parts, 0)
        return clean_inline("".join(parts))

    def _inline_into(self, el: etree._Element, parts: list[str], depth: int) -> None:
        if el.text:
            parts.append(el.text)
        for child in el:
            if not _local(child):
                pass
            elif self._is_note_ref(child):
                self.note_refs += 1
            elif _local(child) == "image":
                pass
            elif depth > MAX_DEPTH:
                parts.append(_all_text(child))
            else:
                self._inline_into(child, parts, depth + 1)
            if child.tail:
                parts.append(child.tail)

    def title_text(self, title: etree._Element) -> str:
        lines = [self.inline(p) for p in title if _local(p) == "p"]
        if not any(lines):
            lines = [self.inline(title)]
        return _join_sentences([line for line in lines if line])

    # -- blocks --------------------------------------------------------------------------------
    def blocks(self, el: etree._Element, out: list[str], depth: int) -> None:
        """Append the paragraphs of a block container (section body, epigraph, cite...)."""
        if el.text and el.text.strip():
            out.append(clean_inline(el.text))  # text outside <p> (pandoc writes some)
        for child in el:
            self.block(child, out, depth)

    def block(self, child: etree._Element, out: list[str], depth: int) -> None:
        """Append the paragraphs of one block element, and of the text after it."""
        name = _local(child)
        if not name:
            pass
        elif name in ("p", "subtitle", "text-author", "v", "date"):
            out.append(self.inline(child))
        elif name in ("empty-line", "image", "binary"):
            pass
        elif name == "title":
            out.append(self.title_text(child))
        elif name == "stanza":
            out.extend(self._stanza(child))
        elif name == "table":
            out.extend(self._table(child))
        elif depth > MAX_DEPTH:
            out.append(clean_inline(_all_text(child)))
        else:  # poem, cite, epigraph, annotation, section inside a block, unknown containers
            self.blocks(child, out, depth + 1)
        if child.tail and child.tail.strip():
            out.append(clean_inline(child.tail))

    def _stanza(self, stanza: etree._Element) -> list[str]:
        out: list[str] = []
        lines: list[str] = []
        for child in stanza:
            name = _local(child)
            if name == "v":
                lines.append(self.inline(child))
            elif name in ("title", "subtitle"):
                out.append(self.title_text(child) if name == "title" else self.inline(child))
        out.append(" ".join(line for line in lines if line))
        return out

    def _table(self, table: etree._Element) -> list[str]:
        rows: list[str] = []
        for tr in table.iter():
            if _local(tr) != "tr":
                continue
            cells = [self.inline(c) for c in tr if _local(c) in ("td", "th")]
            row = _join_sentences([c for c in cells if c], sep=", ")
            if row:
                rows.append(row if row[-1] in _SENTENCE_END else row + ".")
        return rows

    # -- sections ------------------------------------------------------------------------------
    def section(self, section: etree._Element, depth: int) -> None:
        title_el = next((c for c in section if _local(c) == "title"), None)
        title = self.title_text(title_el) if title_el is not None else ""
        if title:
            self.chapters.append(_Raw(title, [title]))
        elif depth == 0 or not self.chapters:
            self.chapters.append(_Raw("", [], titled=False))
        current = self.chapters[-1]
        pending: list[str] = []
        if section.text and section.text.strip():
            pending.append(clean_inline(section.text))
        for child in section:
            name = _local(child)
            if name == "section" and depth < MAX_DEPTH:
                self._flush(pending, current)
                self.section(child, depth + 1)
                # Text after a subsection continues the chapter that is current now.
                current = self.chapters[-1]
                if child.tail and child.tail.strip():
                    pending.append(clean_inline(child.tail))
            elif name == "title":
                if child.tail and child.tail.strip():
                    pending.append(clean_inline(child.tail))
            else:
                self.block(child, pending, depth + 1)
        self._flush(pending, current)

    @staticmethod
    def _flush(pending: list[str], raw: _Raw) -> None:
        raw.paragraphs.extend(p for p in pending if p)
        pending.clear()


def read_fb2(path: Path, options: ReadOptions) -> Book:
    """Read a FictionBook 2 file (``.fb2``, or a ``.fb2.zip`` holding one) into a :class:`Book`."""
    del options  # nothing in ReadOptions applies to FB2 (notes are never read in the flow)
    label = path.name
    warnings: list[str] = []
    data = _load(path, warnings)
    root = parse_untrusted_xml(data, label, "the FB2")
    if _local(root) != "FictionBook":
        raise BookError(f"{label}: not a FictionBook 2 document (no <FictionBook> root element)")
    del data

    bodies = [b for b in root if _local(b) == "body"]
    notes = [b for b in bodies if (b.get("name") or "").lower() in NOTE_BODIES]
    main = next((b for b in bodies if b not in notes), None)
    if main is None:
        raise BookError(f"{label}: the FB2 has no main <body>; there is nothing to read")
    note_ids: set[str] = set()
    note_count = 0
    for body in notes:
        for sec in body.iter():
            if _local(sec) == "section":
                note_count += 1
                if sec.get("id"):
                    note_ids.add(str(sec.get("id")))
    if note_count:
        warnings.append(f"{note_count} notes not read in the flow (the FB2 notes body)")

    info = _title_info(root)
    book_title = clean_inline(_text(info, "book-title")) if info is not None else ""
    walker = _Walker(note_ids)
    front: list[str] = []
    for child in main:
        name = _local(child)
        if name == "section":
            walker.section(child, 0)
        elif name == "title":
            book_title = book_title or walker.title_text(child)
        elif name in ("epigraph", "p", "poem", "cite", "subtitle", "empty-line", "table"):
            target = walker.chapters[-1].paragraphs if walker.chapters else front
            walker.block(child, target, 1)
    raw = [c for c in walker.chapters if any(p.strip() for p in c.paragraphs)]
    if front:
        raw.insert(0, _Raw("", front, titled=False))
    fallback = book_title or _stem(path)
    raw = _titles(raw, fallback, warnings)
    chapters = number_chapters([(c.title, c.paragraphs) for c in raw])
    if not chapters:
        raise BookError(f"{label}: the FB2 has no text to read", "check that the book is not empty")
    if walker.note_refs:
        warnings.append(f"{walker.note_refs} note references left out of the flow")

    author, language, year, description = "", "", "", ""
    cover = None
    if info is not None:
        author = _authors(info)
        language = clean_inline(_text(info, "lang"))
        year = _year(info)
        annotation = _child(info, "annotation")
        if annotation is not None:
            description = clean_inline(_all_text(annotation, " "))
        cover = _cover(root, info, warnings)
    return Book(
        title=book_title or fallback,
        author=author,
        language=language,
        chapters=chapters,
        cover=cover,
        description=description,
        year=year,
        warnings=tuple(warnings),
    )


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".fb2.zip", ".fb2", ".zip"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or name
    return path.stem


def _load(path: Path, warnings: list[str]) -> bytes:
    label = path.name
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic == _ZIP_MAGIC:
        archive = SafeArchive(path, kind="FB2.ZIP")
        try:
            try:
                with zipfile.ZipFile(path) as zf:
                    names = [n for n in zf.namelist() if n.lower().endswith(".fb2")]
            except (zipfile.BadZipFile, OSError) as exc:
                raise BookError(f"{label}: not a readable FB2.ZIP ({exc})") from exc
            if not names:
                raise BookError(f"{label}: the ZIP holds no .fb2 file", "give the .fb2 book itself")
            if len(names) > 1:
                warnings.append(f"the ZIP holds {len(names)} .fb2 files; only {names[0]} was read")
            try:
                return archive.read(names[0])
            except KeyError as exc:
                raise BookError(f"{label}: {names[0]} cannot be read from the ZIP") from exc
        finally:
            archive.close()
    size = path.stat().st_size
    if size > MAX_FB2_BYTES:
        raise BookError(
            f"{label}: {size // MiB} MiB is too large for an FB2 book (at most {MAX_FB2_BYTES // MiB} MiB)"
        )
    return path.read_bytes()


def _child(el: etree._Element, name: str) -> etree._Element | None:
    return next((c for c in el if _local(c) == name), None)


def _text(el: etree._Element, name: str) -> str:
    child = _child(el, name)
    return _all_text(child) if child is not None else ""


def _title_info(root: etree._Element) -> etree._Element | None:
    description = _child(root, "description")
    return _child(description, "title-info") if description is not None else None


def _authors(info: etree._Element) -> str:
    names: list[str] = []
    for author in info:
        if _local(author) != "author":
            continue
        parts = [clean_inline(_text(author, n)) for n in ("first-name", "middle-name", "last-name")]
        name = " ".join(p for p in parts if p) or clean_inline(_text(author, "nickname"))
        if name and name not in names:
            names.append(name)
    return ", ".join(names)


def _year(info: etree._Element) -> str:
    date = _child(info, "date")
    if date is None:
        return ""
    match = _YEAR.search(date.get("value") or "") or _YEAR.search(_all_text(date))
    return match.group(1) if match else ""


def _cover(root: etree._Element, info: etree._Element, warnings: list[str]) -> Cover | None:
    coverpage = _child(info, "coverpage")
    image = next((c for c in coverpage if _local(c) == "image"), None) if coverpage is not None else None
    href = _href(image) if image is not None else ""
    if not href.startswith("#"):
        return None
    binary = next((b for b in root if _local(b) == "binary" and b.get("id") == href[1:]), None)
    if binary is None:
        warnings.append(f"the cover image {href} is not in the book")
        return None
    text = binary.text or ""
    if len(text) > MAX_COVER_BASE64:
        warnings.append(f"the cover image is larger than {MAX_COVER_BASE64 // MiB} MiB; not read")
        return None
    try:
        data = base64.b64decode("".join(text.split()), validate=False)
    except (binascii.Error, ValueError):
        warnings.append("the cover image is not valid base64; not read")
        return None
    if not data:
        return None
    media_type = (binary.get("content-type") or "").strip().lower() or _sniff(data)
    return Cover(media_type, data)


def _sniff(data: bytes) -> str:
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"GIF8"):
        return "image/gif"
    return "application/octet-stream"


def _titles(raw: list[_Raw], fallback: str, warnings: list[str]) -> list[_Raw]:
    """Title the sections that have no title of their own."""
    if all(c.titled for c in raw):
        return raw
    toc_at = _inline_toc(raw)
    if toc_at is not None:
        entries = raw[toc_at].paragraphs[1:]
        rest = raw[:toc_at] + raw[toc_at + 1 :]
        for chapter, entry in zip(rest, entries, strict=False):
            if not chapter.titled:
                chapter.title = entry
        warnings.append("the book's own table of contents titles its sections and is not read")
        return rest
    out: list[_Raw] = []
    for chapter in raw:
        if chapter.titled:
            out.append(chapter)
            continue
        guess = _guess(chapter)
        if guess:
            chapter.title = guess
        elif out:  # an untitled stretch of text continues the chapter before it
            out[-1].paragraphs.extend(chapter.paragraphs)
            continue
        else:
            chapter.title = fallback
        out.append(chapter)
    return out


def _guess(chapter: _Raw) -> str:
    paragraphs = [p for p in chapter.paragraphs if p]
    if len(paragraphs) < 2:
        return ""
    first = paragraphs[0]
    if len(first) > GUESS_MAX_CHARS or len(first.split()) > GUESS_MAX_WORDS:
        return ""
    return first


def _inline_toc(raw: list[_Raw]) -> int | None:
    """The index of a table of contents (first or last section) listing one entry per section."""
    for index in {0, len(raw) - 1}:
        if index < 0 or index >= len(raw):
            continue
        toc = raw[index]
        heading = toc.title if toc.titled else (toc.paragraphs[0] if toc.paragraphs else "")
        if _fold(heading) not in _TOC_HEADINGS:
            continue
        entries = toc.paragraphs[1:]
        rest = raw[:index] + raw[index + 1 :]
        if len(entries) != len(rest) or not entries:
            continue
        if any(len(e) > GUESS_MAX_CHARS for e in entries):
            continue
        # The entries must agree with the headings the sections show (most of them).
        agree = sum(
            1
            for chapter, entry in zip(rest, entries, strict=False)
            if _fold(entry) in {_fold(chapter.title), _fold(_guess(chapter))}
        )
        if agree >= 0.6 * len(entries):
            return index
    return None
