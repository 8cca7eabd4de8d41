"""Word books (.docx, and .docm without ever running its macros), parsed with lxml.

Everything is read through :class:`~voxcli.ingest.archive.SafeArchive`, so a zip bomb, an
entity-expansion attack or a path that leaves the archive fails with one line before any XML is
parsed. Chapters come from the document's own headings: built-in ``Heading N`` styles, styles based
on them (however they are named, in any language) and paragraphs given an outline level. A
paragraph in the ``Title`` style names the book and does not start a chapter.

What is read: runs, tabs and line breaks as spaces, hyperlinks' text, the results of fields,
inserted text, content controls, smart tags, text boxes (after their paragraph), list items as
paragraphs and table rows as sentences. What is not: deleted text, field codes, a generated table
of contents, footnotes, endnotes and comments (counted in the book's warnings).

The chapter-cutting rules here are shared with the OpenDocument reader (:mod:`voxcli.ingest.odt`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from voxcli.book import Book, Cover, RawChapter, add_front_matter, count_words, number_chapters
from voxcli.errors import BookError
from voxcli.ingest import ReadOptions
from voxcli.ingest.archive import SafeArchive, prefixed_tag
from voxcli.ingest.textutil import clean_inline

# Text before the first chapter heading becomes its own chapter from this many words on (as in
# voxcli.ingest.epub); shorter front matter is read at the start of the first chapter.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # compound file: encrypted OOXML, or an old .doc
TITLE_LEVEL = -1  # a paragraph style's "level" for the Title style
# When one chapter would hold more than this share of the book's words (a single "Part" or
# "Section" heading over everything), chapters start at the next heading level down.
DESCEND_SHARE = 0.8

_NS = {
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main": "w",
    "http://purl.oclc.org/ooxml/wordprocessingml/main": "w",  # ISO strict
    "http://schemas.openxmlformats.org/markup-compatibility/2006": "mc",
    "http://schemas.openxmlformats.org/officeDocument/2006/math": "m",
    "http://purl.oclc.org/ooxml/officeDocument/math": "m",
    "http://schemas.openxmlformats.org/drawingml/2006/main": "a",
    "http://purl.oclc.org/ooxml/drawingml/main": "a",
    "urn:schemas-microsoft-com:vml": "v",
}
_REL_NS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_DC = "{http://purl.org/dc/elements/1.1/}"
_IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif"}
_HEADING_NAME = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
_BARE_NUMBER = re.compile(r"^(?:\d+|[IVXLCDM]+)\.?$")
_SENTENCE_END = ".!?:;…。！？"


# --- the shared model: blocks in reading order, cut into chapters -------------------------------


@dataclass
class Block:
    """One paragraph of the flow, a heading (``level`` 1-9), or a left-out table of contents."""

    text: str
    level: int = 0
    toc: bool = False  # marks where a generated table of contents was left out


def sentence(text: str) -> str:
    """End a table row with a full stop, so that it is read as a sentence."""
    return text if not text or text[-1] in _SENTENCE_END else text + "."


def row_sentence(cells: Sequence[str]) -> str:
    """A table row as one sentence: its non-empty cells joined by commas."""
    return sentence(", ".join(c for c in cells if c))


def cut_chapters(
    blocks: Sequence[Block], title: str, fallback_title: str, split_level: int | None
) -> tuple[str, list[RawChapter], int]:
    """Cut blocks into (title, paragraphs) chapters; returns the book title, chapters and how many
    chapters held only a left-out table of contents (dropped).

    Chapters start at the top heading level used (or ``split_level``). When that level has a single
    heading that opens the document, it is the title (read with the front matter) and chapters start
    one level down. While one chapter would hold nearly all the book (:data:`DESCEND_SHARE`) and
    has subheadings, chapters start one level further down.
    A chapter titled by a bare number ("190", "IV.") takes its first subheading into its title.
    """
    headings = [(i, b.level) for i, b in enumerate(blocks) if b.level > 0 and b.text]
    if not headings:
        return title, [(title or fallback_title, [b.text for b in blocks if b.text])], 0
    levels = sorted({level for _, level in headings})
    title_at = -1  # the single top heading that titles the document: front matter, not a chapter
    if split_level is not None:
        level = split_level
    else:
        level = levels[0]
        top = [i for i, lv in headings if lv == level]
        first_text = next(i for i, b in enumerate(blocks) if b.text)
        if len(top) == 1 and top[0] == first_text and len(levels) > 1:
            title = title or blocks[top[0]].text
            title_at, level = top[0], levels[1]
        level = _descend(blocks, levels, level)
    front: list[Block] = []
    chapters: list[tuple[str, list[Block]]] = []
    for i, block in enumerate(blocks):
        if block.text and 0 < block.level <= level and i != title_at:
            chapters.append((block.text, [block]))
        elif chapters:
            chapters[-1][1].append(block)
        else:
            front.append(block)
    raw: list[RawChapter] = []
    dropped = 0
    for heading, body in chapters:
        texts = [b.text for b in body if b.text]
        if len(texts) == 1 and any(b.toc for b in body):
            dropped += 1  # a heading over a generated table of contents only
            continue
        if _BARE_NUMBER.match(heading):
            sub = next((b.text for b in body[1:] if b.text and b.level > body[0].level), "")
            heading = f"{heading} {sub}".strip()
        raw.append((heading, texts))
    add_front_matter(raw, [b.text for b in front if b.text], title or fallback_title)
    return title, raw, dropped


def _descend(blocks: Sequence[Block], levels: list[int], level: int) -> int:
    """Go one heading level down while the biggest chapter holds nearly all of the book."""
    words = [count_words(b.text) for b in blocks]
    total = sum(words)
    while True:
        deeper = [lv for lv in levels if lv > level]
        if not deeper or not total:
            return level
        starts = [i for i, b in enumerate(blocks) if b.text and 0 < b.level <= level]
        bounds = list(zip([0, *starts], [*starts, len(blocks)], strict=True))
        start, end = max(bounds, key=lambda se: sum(words[se[0] : se[1]]))
        if sum(words[start:end]) <= DESCEND_SHARE * total:
            return level
        if not any(blocks[i].text and blocks[i].level == deeper[0] for i in range(start, end)):
            return level
        level = deeper[0]


def notes_warnings(counts: Sequence[tuple[int, str]]) -> list[str]:
    """Warnings such as "12 footnotes not read in the flow" for the counts that are not zero."""
    return [f"{n} {what}{'' if n == 1 else 's'} not read in the flow" for n, what in counts if n]


def ole_error(label: str, fmt: str) -> BookError:
    """The error for a compound (OLE) file given as a ZIP-based office document."""
    return BookError(
        f"{label}: this is a password-protected (encrypted) Office file or an old binary document "
        f"(.doc), not a {fmt}; voxcli cannot read it",
        f"open it in Word or LibreOffice, remove any password and save it as {fmt}",
    )


def is_ole(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(OLE_MAGIC)) == OLE_MAGIC


# --- DOCX ---------------------------------------------------------------------------------------


def _tag(el: etree._Element) -> str:
    """An element's name as "w:p", "mc:AlternateContent"...; "" for comments and PIs."""
    return prefixed_tag(el, _NS)


def _attr(el: etree._Element, name: str) -> str:
    """A w: attribute in either namespace (transitional or strict), or ""."""
    for ns in _NS:
        if _NS[ns] == "w":
            value = el.get(f"{{{ns}}}{name}")
            if value is not None:
                return value
    return ""


def _rel_attr(el: etree._Element, name: str) -> str:
    for ns in _REL_NS:
        value = el.get(f"{{{ns}}}{name}")
        if value is not None:
            return value
    return ""


def _child(el: etree._Element, name: str) -> etree._Element | None:
    return next((c for c in el if _tag(c) == name), None)


@dataclass
class _Style:
    name: str
    based_on: str
    outline: int | None  # 1-9 from w:outlineLvl, 0 for explicit body text, None when not set


@dataclass
class _Field:
    instr: list[str] = field(default_factory=list)
    result: bool = False  # past the "separate" mark: its result is showing
    toc: bool = False  # a TOC field: its result is a generated table of contents


class _Document:
    """Walks word/document.xml into blocks, counting what is left out of the flow."""

    def __init__(self, styles: dict[str, _Style], default_style: str) -> None:
        self.styles = styles
        self.default_style = default_style
        self.blocks: list[Block] = []
        self.fields: list[_Field] = []
        self.counts = {"footnote": 0, "endnote": 0, "comment": 0}
        self.titles: list[str] = []
        self.first_image = ""  # relationship id of an image before any text
        self._levels: dict[str, int] = {}
        self._toc_here = False

    # block level

    def body(self, container: etree._Element, out: list[Block]) -> None:
        for child in container:
            tag = _tag(child)
            if tag == "w:p":
                self._paragraph(child, out)
            elif tag == "w:tbl":
                self._table(child, out)
            elif tag == "w:sdt":
                gallery = child.find(".//{*}docPartGallery")
                if gallery is not None and "contents" in _attr(gallery, "val").lower():
                    out.append(Block("", toc=True))  # Word's table of contents control
                    continue
                content = _child(child, "w:sdtContent")
                if content is not None:
                    self.body(content, out)
            elif tag in ("w:customXml", "w:ins", "w:moveTo", "w:smartTag"):
                self.body(child, out)
            elif tag == "mc:AlternateContent":
                choice = _child(child, "mc:Choice")
                if choice is not None:
                    self.body(choice, out)

    def _paragraph(self, p: etree._Element, out: list[Block], in_table: bool = False) -> None:
        parts: list[str] = []
        extra: list[Block] = []
        self._toc_here = self._skipping_toc()
        self._inline(p, parts, extra)
        text = clean_inline("".join(parts))
        level = 0 if in_table else self._level(p)
        if level == TITLE_LEVEL:
            if text:
                self.titles.append(text)
            level = 0
        if text:
            out.append(Block(text, level))
        elif self._toc_here:
            out.append(Block("", toc=True))
        out.extend(extra)

    def _table(self, tbl: etree._Element, out: list[Block]) -> None:
        for row in _rows(tbl):
            trpr = _child(row, "w:trPr")
            if trpr is not None and _child(trpr, "w:del") is not None:
                continue  # a deleted row
            cells: list[str] = []
            for cell in _cells(row):
                inner: list[Block] = []
                for child in cell:
                    tag = _tag(child)
                    if tag == "w:p":
                        self._paragraph(child, inner, in_table=True)
                    elif tag == "w:tbl":
                        self._table(child, inner)
                    elif tag in ("w:sdt", "w:customXml"):
                        self.body(child, inner)
                cells.append(clean_inline(" ".join(b.text for b in inner)))
            text = row_sentence(cells)
            if text:
                out.append(Block(text))

    # inline level

    def _skipping(self) -> bool:
        return any(not f.result for f in self.fields) or self._skipping_toc()

    def _skipping_toc(self) -> bool:
        return any(f.toc and f.result for f in self.fields)

    def _inline(self, el: etree._Element, parts: list[str], extra: list[Block]) -> None:
        for child in el:
            tag = _tag(child)
            if tag == "w:r":
                self._run(child, parts, extra)
            elif tag in ("w:del", "w:moveFrom", "w:pPr", "w:rPr", "w:sdtPr", "w:sdtEndPr", "w:customXmlPr"):
                continue
            elif tag == "w:fldSimple":
                if _attr(child, "instr").strip().upper().startswith("TOC"):
                    self._toc_here = True
                    continue
                self._inline(child, parts, extra)
            elif tag == "mc:AlternateContent":
                choice = _child(child, "mc:Choice")
                if choice is not None:
                    self._inline(choice, parts, extra)
            elif tag in ("m:oMath", "m:oMathPara"):
                if not self._skipping():
                    math = " ".join(t.text or "" for t in child.iter() if _tag(t) == "m:t")
                    parts.append(f" {math} ")
            elif tag in ("w:ruby", "w:rubyBase"):
                base = child if tag == "w:rubyBase" else _child(child, "w:rubyBase")
                if base is not None:
                    self._inline(base, parts, extra)
            elif tag:
                # hyperlinks, smart tags, content controls, insertions, custom XML, bidi runs...
                self._inline(child, parts, extra)

    def _run(self, run: etree._Element, parts: list[str], extra: list[Block]) -> None:
        for child in run:
            tag = _tag(child)
            if tag == "w:t":
                if self._skipping():
                    self._toc_here = self._toc_here or self._skipping_toc()
                else:
                    parts.append(child.text or "")
            elif tag in ("w:tab", "w:ptab", "w:br", "w:cr"):
                parts.append(" ")  # page and column breaks are not text, but end a word
            elif tag == "w:noBreakHyphen":
                parts.append("-")
            elif tag == "w:fldChar":
                kind = _attr(child, "fldCharType")
                if kind == "begin":
                    self.fields.append(_Field())
                elif kind == "separate" and self.fields:
                    current = self.fields[-1]
                    current.result = True
                    current.toc = "".join(current.instr).strip().upper().startswith("TOC")
                    self._toc_here = self._toc_here or current.toc
                elif kind == "end" and self.fields:
                    self.fields.pop()
            elif tag == "w:instrText":
                if self.fields and not self.fields[-1].result:
                    self.fields[-1].instr.append(child.text or "")
            elif tag == "w:footnoteReference":
                self.counts["footnote"] += 1
            elif tag == "w:endnoteReference":
                self.counts["endnote"] += 1
            elif tag == "w:commentReference":
                self.counts["comment"] += 1
            elif tag in ("w:drawing", "w:pict", "mc:AlternateContent", "w:object"):
                if not self._skipping():
                    self._graphic(child, parts, extra)
            elif tag == "w:ruby":
                base = _child(child, "w:rubyBase")
                if base is not None:
                    self._inline(base, parts, extra)
            # w:delText, w:delInstrText, w:softHyphen, w:sym, w:rPr... are not read

    def _graphic(self, el: etree._Element, parts: list[str], extra: list[Block]) -> None:
        """Text boxes inside a drawing, as blocks after the paragraph; the first image's id."""
        for child in el:
            tag = _tag(child)
            if tag == "mc:Fallback":
                continue  # the same drawing again, for older Word
            if tag == "w:txbxContent":
                self.body(child, extra)
            elif tag in ("a:blip", "v:imagedata"):
                rid = _rel_attr(child, "embed") or _rel_attr(child, "id")
                if rid and not self.first_image and not self.blocks and not "".join(parts).strip():
                    self.first_image = rid
            else:
                self._graphic(child, parts, extra)

    # styles

    def _level(self, p: etree._Element) -> int:
        ppr = _child(p, "w:pPr")
        style_id = self.default_style
        if ppr is not None:
            outline = _child(ppr, "w:outlineLvl")
            if outline is not None:
                return _outline_level(_attr(outline, "val"))
            pstyle = _child(ppr, "w:pStyle")
            if pstyle is not None:
                style_id = _attr(pstyle, "val")
        if style_id not in self._levels:
            self._levels[style_id] = self._style_level(style_id, set())
        return self._levels[style_id]

    def _style_level(self, style_id: str, seen: set[str]) -> int:
        style = self.styles.get(style_id)
        if style is None:  # no styles part: trust the built-in ids
            match = _HEADING_NAME.match(style_id)
            return int(match.group(1)) if match else TITLE_LEVEL if style_id.lower() == "title" else 0
        name = style.name.strip().lower()
        match = _HEADING_NAME.match(name)
        if match:
            return int(match.group(1))
        if name == "title":
            return TITLE_LEVEL
        if style.outline is not None:
            return style.outline
        if style.based_on and style.based_on not in seen:
            seen.add(style_id)
            return self._style_level(style.based_on, seen)
        return 0


def _outline_level(value: str) -> int:
    """w:outlineLvl (0-based; 9 is body text) as a heading level 1-9, or 0."""
    try:
        number = int(value)
    except ValueError:
        return 0
    return number + 1 if 0 <= number <= 8 else 0


def _rows(tbl: etree._Element) -> Iterator[etree._Element]:
    for child in tbl:
        tag = _tag(child)
        if tag == "w:tr":
            yield child
        elif tag in ("w:sdt", "w:customXml", "w:sdtContent", "w:ins"):
            yield from _rows(child)


def _cells(row: etree._Element) -> Iterator[etree._Element]:
    for child in row:
        tag = _tag(child)
        if tag == "w:tc":
            yield child
        elif tag in ("w:sdt", "w:customXml", "w:sdtContent", "w:ins"):
            yield from _cells(child)


def _relationships(archive: SafeArchive, part: str) -> list[tuple[str, str, str]]:
    """(id, type, target resolved inside the package) of a part's relationships ("" = package)."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", f"{name}.rels")
    if not archive.exists(rels):
        return []
    found: list[tuple[str, str, str]] = []
    for rel in archive.read_xml(rels).iter(_PKG_REL):
        if rel.get("TargetMode", "").lower() == "external":
            continue
        target = rel.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        found.append((rel.get("Id", ""), rel.get("Type", ""), posixpath.normpath(target)))
    return found


def _styles(root: etree._Element | None) -> tuple[dict[str, _Style], str, str]:
    """Paragraph styles by id, the default paragraph style's id, and the default language."""
    styles: dict[str, _Style] = {}
    default = ""
    language = ""
    if root is None:
        return styles, default, language
    for el in root.iter():
        tag = _tag(el)
        if tag == "w:lang" and not language:
            language = _attr(el, "val")
        if tag != "w:style" or _attr(el, "type") not in ("paragraph", ""):
            continue
        style_id = _attr(el, "styleId")
        name_el, based_el = _child(el, "w:name"), _child(el, "w:basedOn")
        ppr = _child(el, "w:pPr")
        outline_el = _child(ppr, "w:outlineLvl") if ppr is not None else None
        styles[style_id] = _Style(
            name=_attr(name_el, "val") if name_el is not None else style_id,
            based_on=_attr(based_el, "val") if based_el is not None else "",
            outline=_outline_level(_attr(outline_el, "val")) if outline_el is not None else None,
        )
        if _attr(el, "default") in ("1", "true", "on") and not default:
            default = style_id
    return styles, default, language


def _core(archive: SafeArchive, package_rels: list[tuple[str, str, str]]) -> dict[str, str]:
    part = next((t for _, kind, t in package_rels if kind.endswith("/core-properties")), "")
    part = part if part and archive.exists(part) else "docProps/core.xml"
    if not archive.exists(part):
        return {}
    root = archive.read_xml(part)
    found: dict[str, str] = {}
    for key in ("title", "creator", "language", "description"):
        el = root.find(f"{_DC}{key}")
        if el is not None and el.text:
            found[key] = clean_inline(el.text)
    return found


def _image(archive: SafeArchive, part: str) -> Cover | None:
    media = _IMAGE_TYPES.get(posixpath.splitext(part)[1].lower())
    if not media or not archive.exists(part):
        return None
    return Cover(media, archive.read(part))


def read_docx(path: Path, options: ReadOptions) -> Book:
    """Read a Word document (.docx or .docm) into a :class:`Book`."""
    label = path.name
    if is_ole(path):
        raise ole_error(label, ".docx")
    archive = SafeArchive(path, kind="DOCX")
    try:
        package_rels = _relationships(archive, "")
        main = next((t for _, kind, t in package_rels if kind.endswith("/officeDocument")), "")
        main = main if main and archive.exists(main) else "word/document.xml"
        if not archive.exists(main):
            raise BookError(
                f"{label}: not a Word document (word/document.xml is missing)",
                "check the file, or save it as .docx again",
            )
        doc_rels = _relationships(archive, main)
        styles_part = next((t for _, kind, t in doc_rels if kind.endswith("/styles")), "")
        styles_root = archive.read_xml(styles_part) if styles_part and archive.exists(styles_part) else None
        styles, default_style, default_language = _styles(styles_root)
        root = archive.read_xml(main)
        body = next((c for c in root if _tag(c) == "w:body"), None)
        doc = _Document(styles, default_style)
        if body is not None:
            doc.body(body, doc.blocks)
        core = _core(archive, package_rels)
        title = core.get("title", "") or (doc.titles[0] if doc.titles else "")
        title, raw, dropped = cut_chapters(doc.blocks, title, path.stem, options.split_level)
        chapters = number_chapters(raw)
        if not chapters:
            raise BookError(
                f"{label}: the document holds no readable text", "check that it is the right file"
            )
        cover = None
        if doc.first_image:
            target = next((t for rid, _, t in doc_rels if rid == doc.first_image), "")
            cover = _image(archive, target) if target else None
        if cover is None:
            thumb = next((t for _, kind, t in package_rels if kind.endswith("/thumbnail")), "")
            for candidate in (thumb, "docProps/thumbnail.jpeg", "docProps/thumbnail.png"):
                cover = _image(archive, candidate) if candidate else None
                if cover:
                    break
        warnings = notes_warnings(
            [
                (doc.counts["footnote"], "footnote"),
                (doc.counts["endnote"], "endnote"),
                (doc.counts["comment"], "comment"),
            ]
        )
        if dropped or any(b.toc for b in doc.blocks):
            warnings.append("a table of contents was not read")
        return Book(
            title=title or path.stem,
            author=_authors(core.get("creator", "")),
            language=core.get("language", "") or default_language,
            description=core.get("description", ""),
            chapters=chapters,
            cover=cover,
            warnings=tuple(warnings),
        )
    finally:
        archive.close()


def _authors(creator: str) -> str:
    """ "A; B" (as pandoc writes several authors) as "A, B"."""
    return ", ".join(a.strip() for a in creator.split(";") if a.strip())


__all__ = ["Block", "cut_chapters", "read_docx", "row_sentence"]
