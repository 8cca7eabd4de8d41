"""HTML books: one (X)HTML file (a saved web page with its ``NAME_files/`` folder beside it), and
HTMLZ, calibre's zipped HTML book (``index.html``, ``metadata.opf`` and images).

The text follows the same rules as EPUB content (:mod:`voxcli.ingest.xhtml`). Chapters come from a
table of contents in the page (a ``<nav epub:type="toc">`` or ``role="doc-toc"``, pandoc's
``<nav id="TOC">``) whose links point to ``#ids`` in the same file; without one, from the headings:
the top heading level used starts chapters, unless that level holds a single heading opening the
document, when chapters start one level further down too (as in :mod:`voxcli.ingest.markdown`).
A heading that only numbers its chapter ("190", "Chapter 3") takes its first deeper heading into
the chapter title ("190 A FOUR-LEAVED CLOVER"; for "Chapter 3" only within 500 words of it).

Site furniture is not read: navigation, scripts, styles, forms, a page-level ``<header>`` or
``<footer>`` (role banner or contentinfo, explicit or implied), ``<aside role="complementary">``,
pandoc's title block. calibre writes EPUB's ``epub:type`` as a plain ``type`` attribute; it is
read as ``epub:type`` so that its footnotes and note references stay out, as in the EPUB.

Metadata: ``<title>``, ``<meta name="author">``, ``<html lang>``, Dublin Core and Open Graph
``<meta>``s; for HTMLZ the OPF's Dublin Core elements first. The cover is ``og:image`` or the
first big image, and only a local file inside the page's own folder (never a URL, never a path
that leaves the folder); for HTMLZ the OPF's cover inside the archive.

Safety: the HTML file is capped at :data:`MAX_HTML_BYTES`, a document declaring XML entities
(XXE, billion laughs) is refused as in EPUB, and HTMLZ is read through :class:`SafeArchive`.
"""

from __future__ import annotations

import copy
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lxml import etree

from voxcli.book import Book, Cover, RawChapter, add_front_matter, count_words, number_chapters
from voxcli.errors import BookError
from voxcli.ingest import ReadOptions
from voxcli.ingest.archive import SafeArchive, has_entity_declarations, safe_xml_parser
from voxcli.ingest.textutil import clean_inline
from voxcli.ingest.toc import parse_nav
from voxcli.ingest.xhtml import (
    HEADING_TAGS,
    OPS_NS,
    Extract,
    element_text,
    extract_sections,
    localname,
    numeric_entities,
    parse_document,
    parse_html,
)

MiB = 1024 * 1024
MAX_HTML_BYTES = 64 * MiB
MAX_COVER_BYTES = 16 * MiB
# An image smaller than this is an icon, a logo or a decoration, not a cover.
MIN_COVER_BYTES = 16 * 1024
# Text before the first chapter becomes its own chapter from this many words on (as in
# voxcli.ingest.epub); shorter front matter is read at the start of the first chapter.
OPF_NS = "http://www.idpf.org/2007/opf"
DC_NS = "http://purl.org/dc/elements/1.1/"
# Elements whose own ``type`` attribute means something else than calibre's epub:type.
_TYPED_TAGS = frozenset({"input", "button", "script", "style", "link", "source", "embed", "object", "param"})
# Where a <header>/<footer> is a section's own, not the page's banner or contentinfo.
_SECTIONING = frozenset({"article", "aside", "main", "nav", "section"})
# Where a heading does not start a chapter.
_NOT_CHAPTER_CONTEXT = frozenset({"blockquote", "li", "td", "th", "figure", "aside", "table", "dl"})
_PAGE_BREAK_CLASSES = frozenset({"pagebreak", "page-break", "page_break"})
_FURNITURE_ROLES = frozenset({"banner", "contentinfo", "complementary", "search", "navigation", "form"})
# A heading that only numbers its chapter: "190", "IV.", "Chapter 3", "Part II".
_LABEL = re.compile(
    r"^(?:(?:chapter|part|book|section|canto|act|volume|chapitre|kapitel|cap[ií]tulo)\s+)?"
    r"(?:\d{1,4}|[ivxlcdm]{1,8})\.?$",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"^(?:\d{1,4}|[ivxlcdm]{1,8})\.?$", re.IGNORECASE)
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_IMAGE_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
LABEL_NAME_WORDS = 500
_SYNTHETIC_ID = "voxcli-heading-"


@dataclass
class _Meta:
    title: str = ""
    authors: list[str] = field(default_factory=list)
    language: str = ""
    description: str = ""
    year: str = ""


def read_html(path: Path, options: ReadOptions) -> Book:
    """Read one HTML or XHTML file into a :class:`Book`; raises :class:`BookError` with one line."""
    size = path.stat().st_size
    if size > MAX_HTML_BYTES:
        raise BookError(
            f"{path.name}: {size // MiB} MiB is too large for an HTML book "
            f"(at most {MAX_HTML_BYTES // MiB} MiB)",
            "split the page, or convert it to EPUB",
        )
    with path.open("rb") as stream:
        data = stream.read(MAX_HTML_BYTES + 1)
    if len(data) > MAX_HTML_BYTES:
        raise BookError(f"{path.name}: the file grew past {MAX_HTML_BYTES // MiB} MiB while being read")
    root = _parse(data, path.name)
    meta = _html_meta(root)
    base = path.parent.resolve()
    cover = _cover_from_page(root, lambda src: _local_file(base, src))
    return _book(root, path.name, path.name, path.stem, meta, cover, options)


def read_htmlz(path: Path, options: ReadOptions) -> Book:
    """Read an HTMLZ book (calibre's zipped HTML) into a :class:`Book`."""
    archive = SafeArchive(path, kind="HTMLZ")
    try:
        opf = _opf(archive)
        html_name = _htmlz_document(archive, opf)
        if html_name is None:
            raise BookError(
                f"{archive.label}: no index.html (nor any HTML document the OPF names) in this HTMLZ",
                "check the file, or convert it to HTMLZ again",
            )
        try:
            data = archive.read(html_name)
        except KeyError as exc:
            raise BookError(f"{archive.label}: {exc.args[0]}") from exc
        root = _parse(data, f"{archive.label}: {html_name}")
        meta = _html_meta(root)
        if opf is not None:
            _merge_opf_meta(meta, opf)
        html_dir = posixpath.dirname(html_name)

        def load(src: str) -> bytes | None:
            return _archive_file(archive, posixpath.join(html_dir, src))

        cover = (_opf_cover(archive, opf) if opf is not None else None) or _cover_from_page(root, load)
        return _book(root, archive.label, posixpath.basename(html_name), path.stem, meta, cover, options)
    finally:
        archive.close()


def _parse(data: bytes, label: str) -> etree._Element:
    if has_entity_declarations(data):
        raise BookError(
            f"{label} declares XML entities (an XXE or entity-expansion attack); refusing to read it",
            "remove the <!ENTITY> declarations from its DOCTYPE",
        )
    root = parse_document(data) if _well_formed(data) else parse_html(data)
    if root is None:
        raise BookError(f"{label}: not a readable HTML document", "check that it is the right file")
    return root


def _well_formed(data: bytes) -> bool:
    """Whether the bytes are well-formed XML (XHTML): then they are parsed as EPUB content is.

    :func:`parse_document` parses with a recovering XML parser first, which is right for EPUB's
    XHTML but turns an HTML5 page (``<meta charset="utf-8">`` never closed) into nonsense."""
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = numeric_entities(data)
    try:
        root = etree.fromstring(data, parser=safe_xml_parser(recover=False))
    except (etree.XMLSyntaxError, ValueError):
        return False
    return root is not None and localname(root) == "html"


# --- the document -------------------------------------------------------------------------------


def _book(
    root: etree._Element,
    label: str,
    own_name: str,
    fallback_title: str,
    meta: _Meta,
    cover: Cover | None,
    options: ReadOptions,
) -> Book:
    warnings: list[str] = []
    title_block = _prepare(root)
    if not meta.title:
        meta.title = title_block or _first_of(root, "title")
    lang = meta.language or "en"
    toc = _toc_cuts(root, own_name)
    raw: list[RawChapter] | None = None
    extract: Extract | None = None
    if toc:
        extract = extract_sections(root, [fragment for fragment, _ in toc], math=options.math, lang=lang)
        raw = _chapters_from_toc(extract, dict(toc), meta.title or fallback_title, warnings)
    if not raw:
        raw, extract = _chapters_from_headings(root, meta.title or fallback_title, options, lang)
    chapters = number_chapters(raw)
    if not chapters:
        raise BookError(f"{label}: no readable text found in this HTML", "check that it is the right file")
    if extract is not None:
        if extract.math["skipped"]:
            warnings.append(f"{extract.math['skipped']} formulas (MathML) left out (--math skip)")
        if extract.math["empty"]:
            warnings.append(f"{extract.math['empty']} formulas (MathML) have no text to read; not read")
    return Book(
        title=meta.title or fallback_title,
        author=", ".join(dict.fromkeys(a for a in meta.authors if a)),
        language=meta.language,
        description=meta.description,
        year=meta.year,
        chapters=chapters,
        cover=cover,
        warnings=tuple(dict.fromkeys(warnings)),
        math=dict(extract.math) if extract is not None else {},
    )


def _prepare(root: etree._Element) -> str:
    """Mark what is not read (site furniture) on the tree, and read calibre's ``type`` as epub:type.

    Returns the title of pandoc's title block, which is not read."""
    title = ""
    for el in root.iter():
        name = localname(el)
        if not name:
            continue
        kind = el.get("type")
        if kind and name not in _TYPED_TAGS and el.get(f"{{{OPS_NS}}}type") is None:
            el.set(f"{{{OPS_NS}}}type", kind)
        classes = (el.get("class") or "").lower().split()
        if (
            _PAGE_BREAK_CLASSES.intersection(classes)
            and len("".join(str(t) for t in el.itertext()).strip()) <= 12
        ):
            # pandoc keeps EPUB's page-number markers as <span class="pagebreak">: not read, as there
            el.set(f"{{{OPS_NS}}}type", "pagebreak")
        roles = set((el.get("role") or "").lower().split())
        furniture = bool(roles & _FURNITURE_ROLES) or name == "form"
        if name in ("header", "footer") and not roles and not _inside(el, _SECTIONING):
            furniture = True  # a page's own header or footer: a banner or contentinfo
        if name == "header" and el.get("id") == "title-block-header":
            for child in el.iter():
                if localname(child) == "h1" and not title:
                    title = element_text(child)
            furniture = True
        if furniture:
            el.set("hidden", "hidden")
    return title


def _inside(el: etree._Element, names: frozenset[str]) -> bool:
    parent = el.getparent()
    while parent is not None:
        if localname(parent) in names:
            return True
        parent = parent.getparent()
    return False


def _read_aloud(el: etree._Element) -> bool:
    """Whether the walk in xhtml reaches the element (cheap check: not inside hidden furniture or a
    skipped tag)."""
    node: etree._Element | None = el
    while node is not None:
        if node.get("hidden") is not None or localname(node) in ("nav", "head", "script", "template"):
            return False
        node = node.getparent()
    return True


# --- chapters from the table of contents --------------------------------------------------------


def _toc_cuts(root: etree._Element, own_name: str) -> list[tuple[str, str]]:
    """(id, title) of the page's own table of contents entries that point into this file."""
    ids = {str(el.get("id")) for el in root.iter() if el.get("id") is not None}
    for nav in root.iter():
        if localname(nav) != "nav":
            continue
        kinds = f"{nav.get(f'{{{OPS_NS}}}type') or ''} {nav.get('epub:type') or ''} {nav.get('role') or ''}"
        if not ({"toc", "doc-toc"} & set(kinds.lower().split()) or nav.get("id") == "TOC"):
            continue
        entries = _nav_entries(nav, own_name)
        cuts: list[tuple[str, str]] = []
        seen: set[str] = set()
        for fragment, title in entries:
            if fragment in ids and fragment not in seen:
                seen.add(fragment)
                cuts.append((fragment, title))
        if cuts:
            _hide_toc_heading(nav)
            return cuts
    return []


def _nav_entries(nav: etree._Element, own_name: str) -> list[tuple[str, str]]:
    """The nav's entries as (fragment, title), through :func:`parse_nav` on a copy whose links to
    this same file are spelled as links to a named document."""
    holder = etree.Element("div")
    nav_copy = copy.deepcopy(nav)
    nav_copy.set("role", "doc-toc")
    nav_copy.tail = None
    holder.append(nav_copy)
    for a in nav_copy.iter():
        href = a.get("href") if localname(a) == "a" else None
        if href is None:
            continue
        target, _, fragment = href.partition("#")
        if target in ("", own_name, f"./{own_name}") and fragment:
            a.set("href", f"{own_name}#{fragment}")
        else:
            a.set("href", "http://elsewhere.invalid/")  # another document: ignored by parse_nav
    return [
        (entry.fragment, entry.title)
        for entry in parse_nav(holder, own_name)
        if entry.path == own_name and entry.fragment
    ]


def _hide_toc_heading(nav: etree._Element) -> None:
    """A table of contents' heading outside its <nav> ("Contents" above calibre's nav) is not read
    when the table itself is not."""
    node = nav.getparent()
    for _ in range(3):
        if node is None or localname(node) == "body":
            return
        others = [
            el
            for el in node.iter()
            if localname(el) in HEADING_TAGS and not _inside_el(el, nav) and element_text(el)
        ]
        rest = copy.deepcopy(node)
        for el in rest.iter():
            if localname(el) == "nav" or localname(el) in HEADING_TAGS:
                el.set("hidden", "hidden")
        if element_text(rest):
            return  # the container holds text of its own: leave it alone
        for el in others:
            el.set("hidden", "hidden")
        node = node.getparent()


def _inside_el(el: etree._Element, ancestor: etree._Element) -> bool:
    node = el.getparent()
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False


def _chapters_from_toc(
    extract: Extract, titles: dict[str, str], front_title: str, warnings: list[str]
) -> list[RawChapter]:
    found = {s.anchor for s in extract.sections}
    for fragment, title in titles.items():
        if fragment in extract.skipped_ids:
            warnings.append(f"TOC entry '{title}' is footnote or endnote material; not read")
        elif fragment not in found:
            warnings.append(f"TOC entry '{title}' points to #{fragment}, which holds no text; not a chapter")
    raw: list[RawChapter] = []
    front: list[str] = []
    for section in extract.sections:
        if section.anchor is not None and section.anchor in titles:
            raw.append(
                (titles[section.anchor] or f"Chapter {len(raw) + 1}", list(section.paragraphs), section.kind)
            )
        elif raw:
            raw[-1][1].extend(section.paragraphs)
        else:
            front.extend(section.paragraphs)
    return _with_front(raw, front, front_title)


def _with_front(raw: list[RawChapter], front: list[str], front_title: str) -> list[RawChapter]:
    add_front_matter(raw, front, front_title or "Front matter")
    return raw


# --- chapters from the headings -----------------------------------------------------------------


@dataclass
class _Heading:
    anchor: str
    level: int
    text: str


def _chapters_from_headings(
    root: etree._Element, title: str, options: ReadOptions, lang: str
) -> tuple[list[RawChapter], Extract]:
    ids = {str(el.get("id")) for el in root.iter() if el.get("id") is not None}
    headings: list[_Heading] = []
    for el in root.iter():
        name = localname(el)
        if name not in HEADING_TAGS or not _read_aloud(el) or _inside(el, _NOT_CHAPTER_CONTEXT):
            continue
        text = element_text(el)
        if not text:
            continue
        anchor = el.get("id")
        if anchor is None:
            anchor = f"{_SYNTHETIC_ID}{len(headings)}"
            while anchor in ids:
                anchor += "x"
            el.set("id", anchor)
            ids.add(anchor)
        headings.append(_Heading(str(anchor), int(name[1]), text))
    extract = extract_sections(root, [h.anchor for h in headings], math=options.math, lang=lang)
    by_anchor = {h.anchor: h for h in headings}
    sections = [s for s in extract.sections if s.anchor is None or s.anchor in by_anchor]
    reached = [by_anchor[s.anchor] for s in sections if s.anchor is not None]
    front = [p for s in sections if s.anchor is None for p in s.paragraphs]
    if not reached:
        return [(title, front)], extract
    level = options.split_level
    if level is None:
        levels = sorted({h.level for h in reached})
        level = levels[0]
        top = [h for h in reached if h.level == level]
        if len(top) == 1 and top[0] is reached[0] and not front and len(levels) > 1:
            level = levels[1]  # one heading opening the document names it: chapters go one level down
    raw: list[RawChapter] = []
    # A chapter headed by a label ("190", "Chapter 3") still waiting for its name: the first deeper
    # heading names it (for "Chapter 3" and the like only within LABEL_NAME_WORDS words of it; a
    # bare number or numeral names nothing, whatever comes between).
    unnamed = False
    bare = False
    for section in sections:
        heading = by_anchor.get(section.anchor or "")
        if heading is None:
            (raw[-1][1] if raw else front).extend(section.paragraphs)
            continue
        if heading.level <= level:
            raw.append((heading.text, list(section.paragraphs), section.kind))
            unnamed = bool(_LABEL.match(heading.text))
            bare = bool(_NUMBER.match(heading.text))
            continue
        if not raw:
            front.extend(section.paragraphs)
            continue
        if unnamed and (bare or sum(count_words(p) for p in raw[-1][1][1:]) <= LABEL_NAME_WORDS):
            # "190", a short introduction, then "A FOUR-LEAVED CLOVER": the chapter's name.
            raw[-1] = (f"{raw[-1][0]} {heading.text}", raw[-1][1], *raw[-1][2:])
        unnamed = False
        raw[-1][1].extend(section.paragraphs)
    return _with_front(raw, front, title), extract


# --- metadata -----------------------------------------------------------------------------------


def _first_of(root: etree._Element, name: str) -> str:
    for el in root.iter():
        if localname(el) == name:
            return clean_inline("".join(str(t) for t in el.itertext()))
    return ""


def _html_meta(root: etree._Element) -> _Meta:
    metas: dict[str, list[str]] = {}
    for el in root.iter():
        if localname(el) != "meta":
            continue
        key = (el.get("name") or el.get("property") or el.get("itemprop") or "").strip().lower()
        value = clean_inline(el.get("content") or "")
        if key and value:
            metas.setdefault(key, []).append(value)

    def first(*keys: str) -> str:
        for key in keys:
            if metas.get(key):
                return metas[key][0]
        return ""

    meta = _Meta()
    meta.title = first("dc.title", "dcterms.title", "og:title", "citation_title")
    for key in (
        "author",
        "dc.creator",
        "dcterms.creator",
        "citation_author",
        "article:author",
        "book:author",
    ):
        if metas.get(key):
            meta.authors = list(metas[key])
            break
    lang = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang") or ""
    locale = first("og:locale").replace("_", "-")
    meta.language = clean_inline(lang) or first("dc.language", "dcterms.language", "language") or locale
    description = first("description", "dc.description", "dcterms.description", "og:description")
    meta.description = "" if description.lower() in ("unknown", "none", "n/a") else description
    for value in (
        first("dc.date", "dcterms.date", "dcterms.issued", "date", "citation_publication_date"),
        first("article:published_time", "book:release_date"),
    ):
        match = _YEAR.search(value)
        if match:
            meta.year = match.group(1)
            break
    return meta


def _opf(archive: SafeArchive) -> etree._Element | None:
    if not archive.exists("metadata.opf"):
        return None
    return archive.read_xml("metadata.opf")


def _merge_opf_meta(meta: _Meta, opf: etree._Element) -> None:
    """The OPF's Dublin Core metadata wins over what the HTML says."""

    def values(name: str) -> list[tuple[str, etree._Element]]:
        found = []
        for el in opf.iter(f"{{{DC_NS}}}{name}"):
            text = clean_inline("".join(str(t) for t in el.itertext()))
            if text:
                found.append((text, el))
        return found

    titles = values("title")
    if titles:
        meta.title = titles[0][0]
    creators = values("creator")
    if creators:
        authors = [t for t, el in creators if (el.get(f"{{{OPF_NS}}}role") or "aut") == "aut"]
        meta.authors = authors or [t for t, _ in creators]
    languages = values("language")
    if languages and languages[0][0].lower() not in ("und", "unknown"):
        meta.language = languages[0][0]
    descriptions = values("description")
    if descriptions:
        meta.description = clean_inline(re.sub(r"<[^>]*>", " ", descriptions[0][0]))
    for text, el in values("date"):
        event = (el.get(f"{{{OPF_NS}}}event") or el.get("event") or "").lower()
        match = _YEAR.search(text)
        if match and event not in ("modification", "modified"):
            meta.year = match.group(1)
            break


def _htmlz_document(archive: SafeArchive, opf: etree._Element | None) -> str | None:
    candidates = ["index.html"]
    if opf is not None:
        for ref in opf.iter(f"{{{OPF_NS}}}reference"):
            if (ref.get("type") or "").lower() == "text" and ref.get("href"):
                candidates.append(str(ref.get("href")))
        for item in opf.iter(f"{{{OPF_NS}}}item"):
            if (item.get("media-type") or "") in ("text/html", "application/xhtml+xml") and item.get("href"):
                candidates.append(str(item.get("href")))
    candidates += ["index.xhtml", "index.htm"]
    for name in candidates:
        resolved = archive.resolve(name)
        if resolved is not None and archive.exists(resolved):
            return resolved
    return None


# --- cover --------------------------------------------------------------------------------------


def _image(data: bytes | None) -> Cover | None:
    if not data or len(data) > MAX_COVER_BYTES:
        return None
    for magic, media_type in _IMAGE_MAGIC:
        if data.startswith(magic):
            return Cover(media_type=media_type, data=data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return Cover(media_type="image/webp", data=data)
    return None


def _is_local(src: str) -> bool:
    parts = urlsplit(src)
    return not (parts.scheme or parts.netloc) and bool(parts.path)


def _local_file(base: Path, src: str) -> bytes | None:
    """A file named by a relative link, only when it lies inside ``base`` (resolved: no ``..``, no
    absolute path, no symbolic link that leads out); None otherwise."""
    if not _is_local(src):
        return None
    relative = unquote(urlsplit(src).path)
    if relative.startswith(("/", "\\")):
        return None
    try:
        target = (base / relative).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    if not target.is_relative_to(base) or not target.is_file():
        return None
    try:
        if target.stat().st_size > MAX_COVER_BYTES:
            return None
        return target.read_bytes()
    except OSError:
        return None


def _archive_file(archive: SafeArchive, name: str) -> bytes | None:
    if not _is_local(name):
        return None
    try:
        return archive.read(unquote(urlsplit(name).path))
    except (KeyError, BookError):
        return None


def _cover_from_page(root: etree._Element, load: Callable[[str], bytes | None]) -> Cover | None:
    """og:image (or twitter:image), else the first big image of the page: local files only."""
    for el in root.iter():
        if localname(el) != "meta":
            continue
        key = (el.get("property") or el.get("name") or "").lower()
        src = el.get("content") or ""
        if key in ("og:image", "og:image:url", "twitter:image") and _is_local(src):
            cover = _image(load(src))
            if cover is not None:
                return cover
    for el in root.iter():
        if localname(el) != "img":
            continue
        src = el.get("src") or ""
        if not _is_local(src):
            continue
        data = load(src)
        if data is not None and len(data) >= MIN_COVER_BYTES:
            cover = _image(data)
            if cover is not None:
                return cover
    return None


def _opf_cover(archive: SafeArchive, opf: etree._Element) -> Cover | None:
    hrefs: list[str] = []
    for ref in opf.iter(f"{{{OPF_NS}}}reference"):
        if (ref.get("type") or "").lower() == "cover" and ref.get("href"):
            hrefs.append(str(ref.get("href")))
    items = {str(i.get("id")): str(i.get("href")) for i in opf.iter(f"{{{OPF_NS}}}item") if i.get("href")}
    for el in opf.iter(f"{{{OPF_NS}}}meta"):
        if el.get("name") == "cover" and str(el.get("content")) in items:
            hrefs.append(items[str(el.get("content"))])
    hrefs += ["cover.jpg", "cover.jpeg", "cover.png"]
    for href in hrefs:
        cover = _image(_archive_file(archive, href))
        if cover is not None:
            return cover
    return None
