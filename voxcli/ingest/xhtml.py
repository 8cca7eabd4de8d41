"""XHTML content documents to speakable paragraphs.

The document is parsed from its bytes so that lxml honours the declared encoding (UTF-8, UTF-16,
cp1252, ...). Block structure becomes paragraphs; scripts, styles, page-break markers, footnotes
and endnotes are dropped (unless the table of contents lists them: then they are a "notes"
section), and ruby annotations are read once. MathML is read as words (``ingest.mathml``), and SSML
``ph`` attributes travel with their text as pronunciation markers (``book.MARK_START``). Documents
can be cut into sections at element ids, which is how table-of-contents entries with ``#fragments``
become chapters.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.entities import name2codepoint
from typing import Literal

from lxml import etree, html

from voxcli.book import (
    MARK_END,
    MARK_SAY,
    MARK_START,
    MARKERS,
    ChapterKind,
    in_language,
    same_language,
    unmark,
)
from voxcli.ingest.archive import safe_xml_parser
from voxcli.ingest.textutil import clean_inline

OPS_NS = "http://www.idpf.org/2007/ops"
SSML_NS = "http://www.w3.org/2001/10/synthesis"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MathMode = Literal["speak", "skip"]
_NO_MARKERS = dict.fromkeys(map(ord, MARKERS), None)

# Elements whose content is never read aloud.
SKIP_TAGS = frozenset(
    {
        "head",
        "script",
        "style",
        "noscript",
        "template",
        "rt",
        "rp",
        "svg",
        "object",
        "iframe",
        "audio",
        "video",
        "canvas",
        "button",
        "input",
        "select",
        "textarea",
        "nav",
    }
)
# Types that mark note material (as opposed to note references and page numbers).
NOTE_TYPES = frozenset(
    {
        "footnote",
        "footnotes",
        "endnote",
        "endnotes",
        "rearnote",
        "rearnotes",
        "note",
        "doc-footnote",
        "doc-endnote",
        "doc-endnotes",
        "doc-footnotes",
    }
)
# Semantic types (epub:type or role) of material that interrupts the reading: notes and page numbers.
SKIP_TYPES = NOTE_TYPES | {
    "noteref",
    "annoref",
    "annotation",
    "pagebreak",
    "doc-noteref",
    "doc-pagebreak",
    "doc-backlink",
    "navigation",
}
# Classes that conventionally mark page and line numbers in books without semantic markup.
SKIP_CLASSES = frozenset(
    {"pagenum", "pagenumber", "page-number", "pageno", "lnum", "linenum", "linenumber", "line-number"}
)
BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "blockquote",
        "pre",
        "section",
        "article",
        "aside",
        "header",
        "footer",
        "main",
        "figure",
        "figcaption",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "td",
        "th",
        "caption",
        "hr",
        "address",
        "body",
        "center",
        "details",
        "summary",
        "hgroup",
        "fieldset",
        "legend",
        "html",
    }
)
HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Ids and classes of note material in books without epub:type (Gutenberg's "fnanchor", Pandoc's
# "footnote-1-backlink", an <aside id="footnotes">).
_NOTE_NAME = re.compile(r"(?:foot|end|rear)notes?|fnanchor|noteref", re.IGNORECASE)
# A note or paragraph number: "12", "[3]", "iv", "*", "†".
_MARKER_TEXT = re.compile(r"^[\[(]?(?:\d{1,4}|[ivxlcIVXLC]{1,6}|[*†‡§¶]{1,3})[\])]?$")

_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_ENTITY_REF = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")


def numeric_entities(data: bytes) -> bytes:
    """Turn HTML named entities (&nbsp; &mdash; ...) into numeric ones an XML parser knows."""

    def repl(match: re.Match[bytes]) -> bytes:
        name = match.group(1).decode("ascii")
        if name in _XML_ENTITIES or name not in name2codepoint:
            return match.group(0)
        return b"&#%d;" % name2codepoint[name]

    return _ENTITY_REF.sub(repl, data)


def parse_document(data: bytes) -> etree._Element | None:
    """Parse an (X)HTML document from bytes; None when nothing usable is in it."""
    if not data.strip():
        return None
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = numeric_entities(data)
    try:
        root = etree.fromstring(data, parser=safe_xml_parser())
    except etree.XMLSyntaxError:
        root = None
    if root is None or localname(root) != "html":
        # Not well-formed XML: fall back to the forgiving HTML parser (which reads <meta charset>).
        root = parse_html(data)
    return root


def parse_html(data: bytes) -> etree._Element | None:
    """Parse with lxml's forgiving HTML parser (no network, no comments); None when it cannot."""
    try:
        root: etree._Element = html.document_fromstring(
            data, parser=html.HTMLParser(no_network=True, remove_comments=True)
        )
    except (etree.ParserError, ValueError):
        return None
    return root


def localname(el: etree._Element) -> str:
    tag: object = el.tag  # a function for comments and processing instructions
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def all_text(el: etree._Element) -> str:
    """Every text node under an element, unfiltered."""
    return "".join(str(t) for t in el.itertext())


def epub_types(el: etree._Element) -> set[str]:
    values = (
        (el.get(f"{{{OPS_NS}}}type") or "") + " " + (el.get("epub:type") or "") + " " + (el.get("role") or "")
    )
    return set(values.lower().split())


def is_note_marker(el: etree._Element, name: str) -> bool:
    """A note reference or paragraph number without semantic markup (``<sup><a>3</a></sup>``,
    SiSU's ``<label><a href="#o4">4</a></label>``): not part of what the author wants read."""
    if name not in ("a", "sup", "label"):
        return False
    if not _MARKER_TEXT.match(all_text(el).strip()):
        return False
    parent = el.getparent()
    parent_name = localname(parent) if parent is not None else ""
    child_names = {localname(c) for c in el}
    if name == "label":
        return True
    if name == "a":
        return parent_name in ("sup", "label") or "sup" in child_names
    return parent_name == "a" or "a" in child_names


def is_unread(el: etree._Element, notes: bool = False) -> bool:
    """Not read: hidden, a page or line number, or (unless ``notes``) named as note material."""
    classes = (el.get("class") or "").lower().split()
    if SKIP_CLASSES.intersection(classes):
        return True
    if not notes and any(_NOTE_NAME.search(name) for name in [*classes, el.get("id") or ""]):
        return True
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    style = (el.get("style") or "").replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


@dataclass
class Extract:
    """A document cut into sections, and the cut ids that fell inside skipped material."""

    sections: list[Section]
    skipped_ids: set[str]
    math: Counter[str] = field(default_factory=Counter)  # formulas by how they were read (or skipped)


@dataclass
class Section:
    """Paragraphs that follow a cut point (``anchor``; None for the start of the document).

    Paragraphs may hold pronunciation markers; :func:`voxcli.book.unmark` turns them into marks.
    """

    anchor: str | None
    paragraphs: list[str] = field(default_factory=list)
    kind: ChapterKind = "text"


@dataclass
class _Walker:
    cut_ids: frozenset[str]
    sections: list[Section]
    buffer: list[str] = field(default_factory=list)
    skipped_ids: set[str] = field(default_factory=set)  # cut ids inside material not read aloud
    math: MathMode = "speak"
    lang: str = "en"
    math_read: Counter[str] = field(default_factory=Counter)
    in_notes: bool = False  # inside note material the table of contents lists: read it
    # The language of the text being read (xml:lang/lang of the elements around it), innermost last;
    # text in another language than the first (the document's) is marked as a passage.
    langs: list[str] = field(default_factory=list)

    def flush(self) -> None:
        text = clean_inline("".join(self.buffer))
        self.buffer.clear()
        if text:
            self.sections[-1].paragraphs.append(text)

    def text(self, value: str | None) -> None:
        if value:
            # Markers are rare: checking first skips translate's lookup per character.
            value = value.translate(_NO_MARKERS) if any(m in value for m in MARKERS) else value
            if len(self.langs) > 1 and value.strip() and not same_language(self.langs[-1], self.langs[0]):
                value = in_language(value, self.langs[-1])
            self.buffer.append(value)

    def walk(self, el: etree._Element) -> None:
        lang = element_lang(el)
        if lang:
            self.langs.append(lang)
        try:
            self._walk(el)
        finally:
            if lang:
                self.langs.pop()
        # The tail belongs to the parent, whatever happened to the element itself.
        self.text(el.tail)

    def _walk(self, el: etree._Element) -> None:
        name = localname(el)
        anchor = el.get("id") or (el.get("name") if name == "a" else None)
        listed_notes = (
            bool(anchor and anchor in self.cut_ids)
            and not self.in_notes
            and bool(epub_types(el) & NOTE_TYPES or _NOTE_NAME.search(anchor or ""))
        )
        if not name:
            pass
        elif name == "math":
            self.read_math(el)
        elif listed_notes:
            self.read_notes(el, str(anchor))
        elif (
            name in SKIP_TAGS
            or (epub_types(el) & SKIP_TYPES and not (self.in_notes and epub_types(el) & NOTE_TYPES))
            or is_unread(el, self.in_notes)
            or is_note_marker(el, name)
        ):
            self.skipped_ids.update(
                self.cut_ids.intersection(str(e.get("id")) for e in el.iter() if e.get("id") is not None)
            )
        else:
            if anchor and anchor in self.cut_ids:
                self.flush()
                self.sections.append(Section(anchor, kind="notes" if self.in_notes else "text"))
            block = name in BLOCK_TAGS
            if block:
                self.flush()
            ph = el.get(f"{{{SSML_NS}}}ph")
            if name == "br":
                self.buffer.append(" ")
            else:
                if ph:
                    self.buffer.append(MARK_START)
                self.text(el.text)
                for child in el:
                    self.walk(child)
                if ph:
                    self.buffer.append(MARK_SAY + _ssml_ipa(el, ph) + MARK_END)
            if block:
                self.flush()

    def read_notes(self, el: etree._Element, anchor: str) -> None:
        """Note material the table of contents lists as a section of its own: read as "notes"."""
        self.flush()
        self.sections.append(Section(anchor, kind="notes"))
        self.in_notes = True
        try:
            self.text(el.text)
            for child in el:
                self.walk(child)
            self.flush()
        finally:
            self.in_notes = False
        self.sections.append(Section(None))  # what follows is not notes (merged with the chapter before)

    def read_math(self, el: etree._Element) -> None:
        """A formula: its words (alttext, else its markup read aloud, else its text), or skipped."""
        from voxcli.ingest.mathml import math_source, math_speech

        if self.math == "skip":
            self.math_read["skipped"] += 1
            return
        words = math_speech(el, self.lang)
        self.math_read[math_source(el, self.lang) if words else "empty"] += 1
        if words:
            self.buffer.append(f" {words} ")


def extract_sections(
    root: etree._Element, cut_ids: Iterable[str] = (), *, math: MathMode = "speak", lang: str = "en"
) -> Extract:
    """Split a document into sections at the given ids, in document order.

    The first section (anchor None) holds what comes before the first cut. Ids that do not occur
    produce no section; the caller can tell by comparing anchors. ``lang`` is the book's language,
    for the words MathML is read with.
    """
    cuts = frozenset(cut_ids)
    body = _body(root)
    # A cut at the body itself is the start of the document.
    start = body.get("id") if body is not None and body.get("id") in cuts else None
    walker = _Walker(cuts, [Section(start)], math=math, lang=lang)
    # The book's language, then the document's own (its html or body element's): a document in
    # another language than the book's is a passage as a whole.
    walker.langs.append(lang)
    document = (element_lang(body) if body is not None else "") or element_lang(root)
    if document:
        walker.langs.append(document)
    if body is not None:
        walker.text(body.text)
        for child in body:
            walker.walk(child)
        walker.flush()
    return Extract(walker.sections, walker.skipped_ids, walker.math_read)


def element_lang(el: etree._Element) -> str:
    """The language an element declares (``xml:lang``, else HTML's ``lang``), "" when none."""
    value = el.get(XML_LANG) or el.get("lang") or ""
    value = value.strip() if isinstance(value, str) else ""
    # "und" (undetermined), "mul" (several), "zxx" (no language): the language around it goes on.
    return "" if value.lower() in ("und", "mul", "zxx") else value


def _ssml_ipa(el: etree._Element, ph: str) -> str:
    """An SSML ``ph`` in IPA: ``ssml:alphabet`` (on the element or an ancestor) may say x-sampa."""
    alphabet = "ipa"
    node: etree._Element | None = el
    while node is not None:
        found = node.get(f"{{{SSML_NS}}}alphabet")
        if found:
            alphabet = found.strip().lower()
            break
        node = node.getparent()
    if alphabet == "x-sampa":
        from voxcli.lexicon.ipa import xsampa_to_ipa

        try:
            return xsampa_to_ipa(ph)
        except ValueError:
            return ""  # an unreadable pronunciation: the text is read as written
    return ph if alphabet == "ipa" else ""


def first_heading(root: etree._Element) -> str:
    """The first h1..h6 text of the document, else its <title>, else ""."""
    for el in root.iter():
        if localname(el) in HEADING_TAGS:
            text = unmark(clean_inline(all_text(el)))[0]
            if text:
                return text
    for el in root.iter():
        if localname(el) == "title":
            return unmark(clean_inline(all_text(el)))[0]
    return ""


def _body(root: etree._Element) -> etree._Element | None:
    for el in root.iter():
        if localname(el) == "body":
            return el
    return None


def element_text(el: etree._Element, lang: str | None = None) -> str:
    """All text under an element, cleaned, skipping what is never read aloud. With ``lang`` (the
    document's language, "" when unknown), text its elements mark as another language keeps its
    passage markers (see :func:`voxcli.book.unmark_all`)."""
    walker = _Walker(frozenset(), [Section(None)])
    if lang is not None:
        walker.langs.append(lang or "und")
    walker.text(el.text)
    for child in el:
        walker.walk(child)
    walker.flush()
    text = " ".join(p for s in walker.sections for p in s.paragraphs)
    return text if lang is not None else unmark(text)[0]
