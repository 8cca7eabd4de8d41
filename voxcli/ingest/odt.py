"""OpenDocument text books (.odt, and flat-XML .fodt), parsed with lxml.

An .odt is read through :class:`~voxcli.ingest.archive.SafeArchive` (size and compression caps,
no entity declarations, no network); a .fodt is one XML file under the same rules. Chapters come
from ``text:h`` headings and their outline levels, cut as in :mod:`voxcli.ingest.docx`; a paragraph
in the ``Title`` style names the book.

What is read: paragraphs, headings, spans, links, spaces (``text:s``), tabs and line breaks as
spaces, list items as paragraphs, table rows as sentences, text boxes in frames (after their
paragraph), and the shown text of fields. What is not: notes (footnotes and endnotes, counted),
comments (``office:annotation``), tracked deletions, generated indexes and tables of contents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from voxcli.book import Book, Cover, number_chapters
from voxcli.errors import BookError
from voxcli.ingest import ReadOptions
from voxcli.ingest.archive import MiB, SafeArchive, parse_untrusted_xml, prefixed_tag
from voxcli.ingest.docx import (
    TITLE_LEVEL,
    Block,
    cut_chapters,
    is_ole,
    notes_warnings,
    ole_error,
    row_sentence,
)
from voxcli.ingest.textutil import clean_inline

MAX_FLAT_BYTES = 128 * MiB  # a flat .fodt larger than this is not a book

_NS = {
    "urn:oasis:names:tc:opendocument:xmlns:office:1.0": "office",
    "urn:oasis:names:tc:opendocument:xmlns:text:1.0": "text",
    "urn:oasis:names:tc:opendocument:xmlns:table:1.0": "table",
    "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0": "draw",
    "urn:oasis:names:tc:opendocument:xmlns:style:1.0": "style",
    "urn:oasis:names:tc:opendocument:xmlns:meta:1.0": "meta",
    "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0": "manifest",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://www.w3.org/1999/xlink": "xlink",
    "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0": "svg",
}
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
_META = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
_XLINK = "http://www.w3.org/1999/xlink"
_MANIFEST = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
_IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif"}
# generated indexes: their text repeats the book's headings or is navigation
_INDEXES = frozenset(
    {
        "text:table-of-content",
        "text:illustration-index",
        "text:table-index",
        "text:object-index",
        "text:user-index",
        "text:alphabetical-index",
        "text:bibliography",
    }
)
_SKIP_INLINE = frozenset(
    {
        "office:annotation",
        "office:annotation-end",
        "text:tracked-changes",
        "text:ruby-text",
        "text:soft-page-break",
        "text:bookmark",
        "text:bookmark-start",
        "text:bookmark-end",
        "text:change",
        "text:change-start",
        "text:change-end",
        "text:toc-mark",
        "text:toc-mark-start",
        "text:alphabetical-index-mark",
        "svg:title",
        "svg:desc",
    }
)


def _tag(el: etree._Element) -> str:
    return prefixed_tag(el, _NS)


@dataclass
class _Content:
    """Walks office:text into blocks, counting what is left out of the flow."""

    parents: dict[str, str]  # paragraph style -> parent style
    display: dict[str, str]  # style name -> display name
    blocks: list[Block] = field(default_factory=list)
    footnotes: int = 0
    endnotes: int = 0
    comments: int = 0
    titles: list[str] = field(default_factory=list)
    first_image: str = ""
    tocs: int = 0

    def body(self, container: etree._Element, out: list[Block]) -> None:
        for child in container:
            tag = _tag(child)
            if tag == "text:h":
                self._paragraph(child, out, _heading_level(child))
            elif tag == "text:p":
                level = TITLE_LEVEL if self._is_title(child.get(f"{{{_TEXT}}}style-name", "")) else 0
                self._paragraph(child, out, level)
            elif tag in ("text:list", "text:list-item", "text:list-header", "text:section"):
                self.body(child, out)
            elif tag == "table:table":
                self._table(child, out)
            elif tag in _INDEXES:
                self.tocs += 1
                out.append(Block("", toc=True))
            elif tag in (
                "text:tracked-changes",
                "office:forms",
                "text:sequence-decls",
                "text:variable-decls",
            ):
                continue
            elif tag == "draw:frame" or tag == "draw:a":
                self._frame(child, [], out)

    def _paragraph(self, el: etree._Element, out: list[Block], level: int, in_table: bool = False) -> None:
        parts: list[str] = []
        extra: list[Block] = []
        self._inline(el, parts, extra)
        text = clean_inline("".join(parts))
        if level == TITLE_LEVEL:
            if text:
                self.titles.append(text)
            level = 0
        if text:
            out.append(Block(text, 0 if in_table else level))
        out.extend(extra)

    def _inline(self, el: etree._Element, parts: list[str], extra: list[Block]) -> None:
        if el.text:
            parts.append(el.text)
        for child in el:
            tag = _tag(child)
            if tag == "text:s":
                parts.append(" " * max(1, min(_int(child.get(f"{{{_TEXT}}}c", "1")), 100)))
            elif tag in ("text:tab", "text:line-break"):
                parts.append(" ")
            elif tag == "text:note":
                if child.get(f"{{{_TEXT}}}note-class", "footnote") == "endnote":
                    self.endnotes += 1
                else:
                    self.footnotes += 1
            elif tag == "office:annotation":
                self.comments += 1
            elif tag in _SKIP_INLINE:
                pass
            elif tag in ("draw:frame", "draw:a", "draw:custom-shape", "draw:rect", "draw:g"):
                self._frame(child, parts, extra)
            elif tag:
                # spans, links, meta, ruby bases, fields (their shown text)...
                self._inline(child, parts, extra)
            if child.tail:
                parts.append(child.tail)

    def _frame(self, el: etree._Element, parts: list[str], extra: list[Block]) -> None:
        """Text boxes become blocks after the paragraph; the first image (before any text) noted."""
        for child in el:
            tag = _tag(child)
            if tag == "draw:text-box":
                self.body(child, extra)
            elif tag == "draw:image":
                href = child.get(f"{{{_XLINK}}}href", "")
                if href and not self.first_image and not self.blocks and not "".join(parts).strip():
                    self.first_image = href
            elif tag in ("text:p", "text:h"):  # a shape's own text
                self._paragraph(child, extra, 0)
            elif tag in ("draw:frame", "draw:a", "draw:g", "draw:custom-shape"):
                self._frame(child, parts, extra)

    def _table(self, table: etree._Element, out: list[Block]) -> None:
        for row in table.iter(f"{{{_NS_TABLE}}}table-row"):
            if _nearest_table(row) is not table:
                continue  # a row of a nested table, read with its cell
            cells: list[str] = []
            for cell in row:
                if _tag(cell) != "table:table-cell":
                    continue
                inner: list[Block] = []
                for child in cell:
                    tag = _tag(child)
                    if tag in ("text:p", "text:h"):
                        self._paragraph(child, inner, 0, in_table=True)
                    elif tag == "table:table":
                        self._table(child, inner)
                    elif tag in ("text:list", "text:section"):
                        self.body(child, inner)
                cells.append(clean_inline(" ".join(b.text for b in inner)))
            text = row_sentence(cells)
            if text:
                out.append(Block(text))

    def _is_title(self, style: str) -> bool:
        seen: set[str] = set()
        while style and style not in seen:
            seen.add(style)
            name = self.display.get(style, style).replace("_20_", " ").strip().lower()
            if name == "title":
                return True
            style = self.parents.get(style, "")
        return False


_NS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"


def _nearest_table(el: etree._Element) -> etree._Element | None:
    parent = el.getparent()
    while parent is not None and _tag(parent) != "table:table":
        parent = parent.getparent()
    return parent


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 1


def _heading_level(el: etree._Element) -> int:
    level = _int(el.get(f"{{{_TEXT}}}outline-level", "1"))
    return min(max(level, 1), 10)


def _styles(*roots: etree._Element | None) -> tuple[dict[str, str], dict[str, str]]:
    parents: dict[str, str] = {}
    display: dict[str, str] = {}
    for root in roots:
        if root is None:
            continue
        for el in root.iter(f"{{{_STYLE}}}style"):
            name = el.get(f"{{{_STYLE}}}name", "")
            if not name:
                continue
            parent = el.get(f"{{{_STYLE}}}parent-style-name")
            if parent:
                parents[name] = parent
            shown = el.get(f"{{{_STYLE}}}display-name")
            if shown:
                display[name] = shown
    return parents, display


def _meta(root: etree._Element | None) -> dict[str, str]:
    found: dict[str, str] = {}
    if root is None:
        return found
    meta = root.find(".//{urn:oasis:names:tc:opendocument:xmlns:office:1.0}meta")
    if meta is None:
        return found
    for el in meta:
        tag = _tag(el)
        text = clean_inline("".join(t for t in el.itertext() if isinstance(t, str)))
        if tag in ("dc:title", "dc:creator", "dc:language", "dc:description") and text:
            found.setdefault(tag[3:], text)
        elif tag == "meta:initial-creator" and text:
            found.setdefault("initial-creator", text)
        elif tag == "meta:user-defined" and el.get(f"{{{_META}}}name", "").lower() == "language":
            found.setdefault("user-language", text)
    return found


def read_odt(path: Path, options: ReadOptions) -> Book:
    """Read an OpenDocument text (.odt, or flat .fodt) into a :class:`Book`."""
    label = path.name
    if is_ole(path):
        raise ole_error(label, ".odt")
    archive: SafeArchive | None = None
    content: etree._Element
    styles: etree._Element | None = None
    meta: etree._Element | None
    try:
        if _is_flat(path):
            root = _read_flat(path)
            content = meta = root
        else:
            archive = SafeArchive(path, kind="ODT")
            _check_encrypted(archive)
            if not archive.exists("content.xml"):
                raise BookError(
                    f"{label}: not an OpenDocument text (content.xml is missing)",
                    "check the file, or save it as .odt again",
                )
            content = archive.read_xml("content.xml")
            styles = archive.read_xml("styles.xml") if archive.exists("styles.xml") else None
            meta = archive.read_xml("meta.xml") if archive.exists("meta.xml") else None
        parents, display = _styles(content, styles)
        reader = _Content(parents, display)
        text = content.find(".//{urn:oasis:names:tc:opendocument:xmlns:office:1.0}text")
        if text is not None:
            reader.body(text, reader.blocks)
        fields = _meta(meta)
        title = fields.get("title", "") or (reader.titles[0] if reader.titles else "")
        title, raw, _ = cut_chapters(reader.blocks, title, path.stem, options.split_level)
        chapters = number_chapters(raw)
        if not chapters:
            raise BookError(
                f"{label}: the document holds no readable text", "check that it is the right file"
            )
        cover = None
        if archive is not None and reader.first_image:
            media = _IMAGE_TYPES.get(Path(reader.first_image).suffix.lower())
            if media and archive.exists(reader.first_image):
                cover = Cover(media, archive.read(reader.first_image))
        warnings = notes_warnings(
            [(reader.footnotes, "footnote"), (reader.endnotes, "endnote"), (reader.comments, "comment")]
        )
        if reader.tocs:
            warnings.append("a table of contents was not read")
        creator = fields.get("creator", "") or fields.get("initial-creator", "")
        return Book(
            title=title or path.stem,
            author=", ".join(a.strip() for a in creator.split(";") if a.strip()),
            language=fields.get("language", "") or fields.get("user-language", ""),
            description=fields.get("description", ""),
            chapters=chapters,
            cover=cover,
            warnings=tuple(warnings),
        )
    finally:
        if archive is not None:
            archive.close()


def _is_flat(path: Path) -> bool:
    """A flat XML document (.fodt) rather than a ZIP package."""
    with path.open("rb") as handle:
        head = handle.read(4)
    return not head.startswith(b"PK") and (path.suffix.lower() == ".fodt" or head.lstrip()[:1] == b"<")


def _read_flat(path: Path) -> etree._Element:
    label = path.name
    size = path.stat().st_size
    if size > MAX_FLAT_BYTES:
        raise BookError(f"{label}: {size // MiB} MiB is too large for a flat OpenDocument text")
    root = parse_untrusted_xml(path.read_bytes(), label, "the document")
    if _tag(root) != "office:document":
        raise BookError(f"{label}: not a flat OpenDocument text (no office:document)")
    return root


def _check_encrypted(archive: SafeArchive) -> None:
    if not archive.exists("META-INF/manifest.xml"):
        return
    manifest = archive.read_xml("META-INF/manifest.xml")
    if manifest.find(f".//{{{_MANIFEST}}}encryption-data") is not None:
        raise BookError(
            f"{archive.label}: the document is password-protected (encrypted); voxcli cannot read it",
            "open it in LibreOffice, remove the password and save it again",
        )
