"""Sentences wrapped in XHTML without changing how the document renders.

A document's readable text (what the reader extracts: no page numbers, note references, scripts
or MathML) becomes one normalised string (letters and digits, casefolded, accents dropped), each of
whose characters knows the text node and offset it came from. A sentence found in that string is
wrapped in a ``<span id=...>``; where its edges fall inside inline elements, those are split in two
(the copy loses its id), so no text moves and no styling is lost.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree

from voxcli.ingest.xhtml import (
    BLOCK_TAGS,
    HEADING_TAGS,
    NOTE_TYPES,
    SKIP_TAGS,
    SKIP_TYPES,
    epub_types,
    is_note_marker,
    is_unread,
    localname,
)

XHTML_NS = "http://www.w3.org/1999/xhtml"
_MARKER = "{urn:x-voxcli:readalong}marker"  # a temporary boundary, never written
_INTERRUPTING = SKIP_TYPES - NOTE_TYPES  # note material stays searchable: notes chapters are read

_ASCII_RUN = re.compile(r"[A-Za-z0-9]+")

Pos = tuple[int, int]  # (text node index, character offset in it)


@lru_cache(maxsize=4096)
def _fold(ch: str) -> str:
    decomposed = unicodedata.normalize("NFKD", ch).casefold()
    return "".join(c for c in decomposed if c.isalnum())


def normalise(text: str) -> str:
    """Letters and digits only, casefolded and without accents: the form sentences are matched in."""
    if text.isascii():
        return "".join(_ASCII_RUN.findall(text)).lower()
    return "".join(_fold(ch) for ch in text)


@dataclass
class TextNode:
    """One text node: an element's ``text`` or (``tail``) its tail, and whether it is read."""

    el: etree._Element
    tail: bool
    readable: bool

    @property
    def text(self) -> str:
        return (self.el.tail if self.tail else self.el.text) or ""

    @property
    def container(self) -> etree._Element:
        """The element the text is inside."""
        parent = self.el.getparent() if self.tail else self.el
        return parent if parent is not None else self.el


class Where:
    """Per normalised character, its text node and offset (two int arrays: books are long)."""

    def __init__(self) -> None:
        self.nodes = array("l")
        self.offsets = array("l")

    def append(self, pos: Pos) -> None:
        self.nodes.append(pos[0])
        self.offsets.append(pos[1])

    def __getitem__(self, index: int) -> Pos:
        return self.nodes[index], self.offsets[index]

    def __len__(self) -> int:
        return len(self.nodes)


@dataclass
class DocText:
    """The text of a document (or of one element), normalised, with a map back to its nodes."""

    root: etree._Element  # the body, or the element the text was taken from
    nodes: list[TextNode] = field(default_factory=list)
    norm: str = ""
    where: Where = field(default_factory=Where)  # per character of ``norm``
    headings: list[tuple[Pos, etree._Element]] = field(default_factory=list)

    def end_of(self, index: int) -> Pos:
        """The position just after normalised character ``index``."""
        node, offset = self.where[index]
        return node, offset + 1


def _skipped(el: etree._Element) -> bool:
    name = localname(el)
    return (
        name in SKIP_TAGS
        or name == "math"
        or bool(epub_types(el) & _INTERRUPTING)
        or is_unread(el, notes=True)
        or is_note_marker(el, name)
    )


def read_text(root: etree._Element) -> DocText:
    """The text under ``root`` (a body, or a span already written) in document order."""
    doc = DocText(root)
    chars: list[str] = []

    def add(el: etree._Element, tail: bool, readable: bool) -> None:
        value = el.tail if tail else el.text
        if not value:
            return
        index = len(doc.nodes)
        doc.nodes.append(TextNode(el, tail, readable))
        if not readable:
            return
        if value.isascii():  # the common case, a run of letters and digits at a time
            for run in _ASCII_RUN.finditer(value):
                chars.append(run.group().lower())
                doc.where.nodes.extend([index] * (run.end() - run.start()))
                doc.where.offsets.extend(range(run.start(), run.end()))
            return
        for offset, ch in enumerate(value):
            for c in _fold(ch):
                chars.append(c)
                doc.where.append((index, offset))

    def walk(el: etree._Element, readable: bool) -> None:
        if isinstance(el.tag, str):
            inside = readable and not _skipped(el)
            if localname(el) in HEADING_TAGS:
                doc.headings.append(((len(doc.nodes), 0), el))
            add(el, False, inside)
            for child in el:
                walk(child, inside)
        add(el, True, readable)

    add(root, False, True)
    for child in root:
        walk(child, True)
    doc.norm = "".join(chars)
    return doc


def body_of(root: etree._Element) -> etree._Element | None:
    for el in root.iter(f"{{{XHTML_NS}}}body", "body"):
        return el
    return None


def _clings(ch: str) -> bool:
    return not ch.isspace() and not _fold(ch)


def widen(doc: DocText, start: Pos, end: Pos, floor: Pos | None) -> tuple[Pos, Pos]:
    """Take in the punctuation that clings to a range (opening quotes before, a full stop after,
    also across an inline element's edge: ``<cite>Title</cite>.``), never before ``floor``."""
    node, offset = start
    text = doc.nodes[node].text
    while True:
        while offset > 0 and _clings(text[offset - 1]) and (floor is None or (node, offset - 1) >= floor):
            offset -= 1
        if offset > 0 or node == 0:
            break
        before = doc.nodes[node - 1]
        if not _joins(doc, node - 1, node) or not _clings(before.text[-1]):
            break
        if floor is not None and (node - 1, len(before.text) - 1) < floor:
            break
        node, text, offset = node - 1, before.text, len(before.text)
    start = (node, offset)
    node, offset = end
    text = doc.nodes[node].text
    while True:
        while offset < len(text) and _clings(text[offset]):
            offset += 1
        if offset < len(text):
            break
        following = node + 1  # past a note reference: ``up<a epub:type="noteref">1</a>.``
        while (
            following < len(doc.nodes)
            and not doc.nodes[following].readable
            and _block(doc.nodes[following].container) is _block(doc.nodes[node].container)
        ):
            following += 1
        if following >= len(doc.nodes):
            break
        after = doc.nodes[following]
        if not _joins(doc, node, following) or not _clings(after.text[0]):
            break
        node, text, offset = following, after.text, 0
    return start, (node, offset)


def _joins(doc: DocText, first: int, second: int) -> bool:
    """Whether two neighbouring text nodes run on as one text (both read, in the same block)."""
    a, b = doc.nodes[first], doc.nodes[second]
    return (
        a.readable
        and b.readable
        and bool(a.text)
        and bool(b.text)
        and _block(a.container) is _block(b.container)
    )


def _ancestors(el: etree._Element) -> list[etree._Element]:
    out = [el]
    out.extend(el.iterancestors())
    return out


def _block(el: etree._Element) -> etree._Element:
    for node in _ancestors(el):
        if localname(node) in BLOCK_TAGS:
            return node
    return el


def clamp_to_block(doc: DocText, start: Pos, end: Pos) -> tuple[Pos, bool]:
    """``end``, or the end of the block ``start`` is in when the range would leave it; and whether
    it was cut short."""
    block = _block(doc.nodes[start[0]].container)
    last = doc.nodes[end[0]].container
    if block in _ancestors(last):
        return end, False
    index = start[0]
    for i in range(start[0], end[0] + 1):
        if doc.nodes[i].readable and block in _ancestors(doc.nodes[i].container):
            index = i
    return (index, len(doc.nodes[index].text)), True


def _insert_at(node: TextNode, offset: int, el: etree._Element) -> None:
    """Put ``el`` (no tail) in the text node at ``offset``; the text after it becomes its tail."""
    host = node.el
    if node.tail:
        text = host.tail or ""
        parent = host.getparent()
        assert parent is not None
        host.tail = text[:offset] or None
        el.tail = text[offset:] or None
        parent.insert(parent.index(host) + 1, el)
    else:
        text = host.text or ""
        host.text = text[:offset] or None
        el.tail = text[offset:] or None
        host.insert(0, el)


def _lift(marker: etree._Element, top: etree._Element) -> None:
    """Move ``marker`` up until it is a child of ``top``, splitting the elements it leaves."""
    while True:
        parent = marker.getparent()
        assert parent is not None
        if parent is top:
            return
        grand = parent.getparent()
        assert grand is not None
        at = parent.index(marker)
        where = grand.index(parent)
        nothing_before = not parent.text and at == 0
        nothing_after = not marker.tail and at == len(parent) - 1
        if nothing_before:
            parent.text = marker.tail
            marker.tail = None
            grand.insert(where, marker)  # moves it out of parent
        elif nothing_after:
            grand.insert(where + 1, marker)
            marker.tail = parent.tail
            parent.tail = None
        else:
            attrib = {str(k): str(v) for k, v in parent.attrib.items() if k not in ("id", "name")}
            copy = parent.makeelement(parent.tag, attrib)
            copy.text = marker.tail
            marker.tail = None
            for sibling in list(parent)[at + 1 :]:
                copy.append(sibling)
            copy.tail = parent.tail
            parent.tail = None
            grand.insert(where + 1, marker)
            grand.insert(where + 2, copy)


def wrap(doc: DocText, start: Pos, end: Pos, span_id: str) -> etree._Element:
    """Wrap the text from ``start`` to ``end`` (exclusive) in ``<span id=span_id>``.

    Positions after ``start`` are stale afterwards: wrap from the end of a document to its start.
    """
    end_marker = etree.Element(_MARKER)
    start_marker = etree.Element(_MARKER)
    _insert_at(doc.nodes[end[0]], end[1], end_marker)
    _insert_at(doc.nodes[start[0]], start[1], start_marker)
    above = set(_ancestors(start_marker)[1:])
    top = next(a for a in _ancestors(end_marker)[1:] if a in above)
    _lift(start_marker, top)
    _lift(end_marker, top)
    first, last = top.index(start_marker), top.index(end_marker)
    reused = _reusable(doc, top, start_marker, end_marker, first, last)
    if reused is not None:
        _unmark(start_marker)
        _unmark(end_marker)
        if reused.get("id") is None:
            reused.set("id", span_id)
        return reused
    span = top.makeelement(_span_tag(top), {"id": span_id})
    span.text = start_marker.tail
    start_marker.tail = None
    for child in list(top)[first + 1 : last]:
        span.append(child)
    top.replace(start_marker, span)
    span.tail = end_marker.tail
    end_marker.tail = None
    top.remove(end_marker)
    if span.text is None and len(span) == 0:
        span.text = ""
    return span


# Elements that may stand for a sentence they hold exactly: not the ones that hold other blocks,
# nor headings (a title may point at one too).
_NOT_REUSED = (BLOCK_TAGS | HEADING_TAGS) - {"p", "li", "dt", "dd", "td", "th", "figcaption", "caption"}


def _reusable(
    doc: DocText, top: etree._Element, start: etree._Element, end: etree._Element, first: int, last: int
) -> etree._Element | None:
    """The element the range is exactly (its whole content, or one whole child), when there is one."""

    def blank(text: str | None) -> bool:  # a block's own leading and trailing spaces are not shown
        return not (text or "").strip() if localname(top) in BLOCK_TAGS else not text

    candidate: etree._Element | None = None
    if top is not doc.root and first == 0 and last == len(top) - 1 and blank(top.text) and blank(end.tail):
        candidate = top
    elif last == first + 2 and blank(start.tail) and blank(top[first + 1].tail):
        candidate = top[first + 1]
    if candidate is None or not isinstance(candidate.tag, str) or localname(candidate) in _NOT_REUSED:
        return None
    if str(candidate.tag).startswith("{") and not str(candidate.tag).startswith(f"{{{XHTML_NS}}}"):
        return None  # MathML, SVG
    return candidate


def _unmark(marker: etree._Element) -> None:
    """Remove a boundary marker, keeping the text after it."""
    parent = marker.getparent()
    assert parent is not None
    tail = marker.tail or ""
    previous = marker.getprevious()
    if previous is not None:
        previous.tail = ((previous.tail or "") + tail) or None
    else:
        parent.text = ((parent.text or "") + tail) or None
    marker.tail = None
    parent.remove(marker)


def insert_empty(doc: DocText, at: Pos | None, span_id: str) -> etree._Element:
    """An empty ``<span id=span_id>`` at ``at``; None: at the end of the document's root."""
    span = doc.root.makeelement(_span_tag(doc.root), {"id": span_id})
    span.text = ""
    if at is None:
        doc.root.append(span)
    else:
        _insert_at(doc.nodes[at[0]], at[1], span)
    return span


def _span_tag(el: etree._Element) -> str:
    tag = str(el.tag)
    return f"{{{XHTML_NS}}}span" if tag.startswith(f"{{{XHTML_NS}}}") else "span"
