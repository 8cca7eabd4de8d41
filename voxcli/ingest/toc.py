"""Tables of contents: the EPUB 3 navigation document and the EPUB 2 NCX."""

from __future__ import annotations

import posixpath
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

from lxml import etree

from voxcli.ingest.textutil import clean_inline
from voxcli.ingest.xhtml import OPS_NS, all_text, element_text, localname

NCX_NS = "http://www.daisy.org/z3986/2005/ncx/"


@dataclass(frozen=True)
class TocEntry:
    """One entry, flattened in reading order; ``path`` is the document's path inside the book."""

    title: str
    path: str
    fragment: str | None
    depth: int  # 0 for the top level


def split_href(href: str, base_dir: str) -> tuple[str, str | None]:
    """Resolve a TOC href against the directory of the file that holds it."""
    target, _, fragment = href.partition("#")
    path = posixpath.normpath(posixpath.join(base_dir, unquote(target))) if target else ""
    path = unicodedata.normalize("NFC", path)
    return path, (unquote(fragment) or None)


def parse_nav(root: etree._Element, nav_path: str) -> list[TocEntry]:
    """Entries of the ``<nav epub:type="toc">`` (or ``role="doc-toc"``) of a navigation document."""
    base = posixpath.dirname(nav_path)
    for nav in root.iter():
        if localname(nav) != "nav":
            continue
        kinds = f"{nav.get(f'{{{OPS_NS}}}type') or ''} {nav.get('role') or ''}".split()
        if "toc" in kinds or "doc-toc" in kinds:
            entries: list[TocEntry] = []
            for child in nav:
                if localname(child) in ("ol", "ul"):
                    _nav_list(child, base, 0, entries)
            return entries
    return []


def _nav_list(ol: etree._Element, base: str, depth: int, out: list[TocEntry]) -> None:
    for li in ol:
        if localname(li) != "li":
            continue
        label_el = next((c for c in li if localname(c) in ("a", "span")), None)
        if label_el is not None:
            title = element_text(label_el) or clean_inline(label_el.get("title") or "")
            href = label_el.get("href") if localname(label_el) == "a" else None
            if href and not href.startswith(("http:", "https:", "mailto:")):
                path, fragment = split_href(href, base)
                if path:
                    out.append(TocEntry(title, path, fragment, depth))
        for sub in li:
            if localname(sub) in ("ol", "ul"):
                _nav_list(sub, base, depth + 1, out)


def parse_ncx(root: etree._Element, ncx_path: str) -> list[TocEntry]:
    """Entries of an NCX ``navMap``, in document order (which is reading order in practice)."""
    base = posixpath.dirname(ncx_path)
    entries: list[TocEntry] = []
    nav_map = root.find(f"{{{NCX_NS}}}navMap")
    if nav_map is not None:
        _ncx_points(nav_map, base, 0, entries)
    return entries


def _ncx_points(parent: etree._Element, base: str, depth: int, out: list[TocEntry]) -> None:
    for point in parent.findall(f"{{{NCX_NS}}}navPoint"):
        text_el = point.find(f"{{{NCX_NS}}}navLabel/{{{NCX_NS}}}text")
        title = clean_inline(all_text(text_el)) if text_el is not None else ""
        content = point.find(f"{{{NCX_NS}}}content")
        src = content.get("src") if content is not None else None
        if src:
            path, fragment = split_href(src, base)
            if path:
                out.append(TocEntry(title, path, fragment, depth))
        _ncx_points(point, base, depth + 1, out)
