"""EPUB 2 and 3 books: chapters from the table of contents, text from the content documents.

ebooklib (pinned at 0.20) reads the package document: metadata, manifest and spine. It does so on
top of :class:`SafeArchive`, so every byte it sees has passed the size, path and entity checks, a
missing or oddly named manifest item costs a warning instead of the whole book, and voxcli parses
the navigation document, the NCX and the XHTML itself (ebooklib forces UTF-8 on them).
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ebooklib import epub

from voxcli.book import (
    Book,
    Chapter,
    Cover,
    Pronunciation,
    RawChapter,
    add_front_matter,
    number_chapters,
)
from voxcli.errors import BookError
from voxcli.ingest.archive import SafeArchive, has_entity_declarations
from voxcli.ingest.textutil import clean_inline
from voxcli.ingest.toc import TocEntry, parse_nav, parse_ncx
from voxcli.ingest.xhtml import Extract, MathMode, extract_sections, first_heading, localname, parse_document

CONTAINER = "META-INF/container.xml"
HTML_TYPES = frozenset({"application/xhtml+xml", "text/html", "application/xml"})
MARKUP_SUFFIXES = (".xml", ".opf", ".ncx", ".xhtml", ".html", ".htm", ".svg", ".smil")


class _Reader(epub.EpubReader):  # type: ignore[misc]
    """ebooklib's reader, fed by a SafeArchive and tolerant of missing manifest items."""

    def __init__(self, archive: SafeArchive, warnings: list[str]) -> None:
        super().__init__(str(archive.path), {"ignore_ncx": True})
        self._archive = archive
        self._warnings = warnings

    def _load(self) -> None:  # ebooklib's own opens the ZIP file a second time, unchecked
        if not self._archive.exists(CONTAINER):
            raise BookError(
                f"{self._archive.label}: not an EPUB ({CONTAINER} is missing)",
                "check the file, or convert it to EPUB again",
            )
        self._load_container()
        if not self.opf_file or not self._archive.exists(self.opf_file):
            raise BookError(
                f"{self._archive.label}: the package document named in {CONTAINER} "
                f"({self.opf_file or 'none'}) is missing"
            )
        self._load_opf_file()

    def read_file(self, name: str) -> bytes:
        try:
            data = self._archive.read(name)
        except KeyError as exc:
            self._warnings.append(f"{exc.args[0]}; skipped")
            return b""
        if name.lower().endswith(MARKUP_SUFFIXES) and has_entity_declarations(data):
            raise BookError(
                f"{self._archive.label}: {self._archive.resolve(name)} declares XML "
                "entities (an XXE or entity-expansion attack); refusing to read this book"
            )
        return data

    # voxcli reads the navigation document and the NCX itself.
    def _parse_nav(self, *args: Any, **kwargs: Any) -> None:
        return None

    def _parse_ncx(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class _Package:
    archive: SafeArchive
    book: Any  # ebooklib.epub.EpubBook
    opf_dir: str
    warnings: list[str]
    spine: list[str] = field(default_factory=list)  # paths of the documents read, in order
    items: dict[str, Any] = field(default_factory=dict)  # path -> ebooklib item
    math: MathMode = "speak"
    lang: str = "en"
    math_read: Counter[str] = field(default_factory=Counter)
    lexicons: list[str] = field(default_factory=list)  # PLS files the documents link, in order

    def path_of(self, item: Any) -> str:
        path = posixpath.normpath(posixpath.join(self.opf_dir, item.file_name.split("#", 1)[0]))
        return unicodedata.normalize("NFC", path)


def read_epub(path: Path, include_nonlinear: bool = False, math: MathMode = "speak") -> Book:
    """Read an EPUB file into a :class:`Book`; raises :class:`BookError` with one clear line.

    ``math``: "speak" reads MathML as words, "skip" leaves it out (counted in the warnings)."""
    archive = SafeArchive(path)
    try:
        archive.check_drm()
        warnings: list[str] = []
        reader = _Reader(archive, warnings)
        try:
            ebook = reader.load()
        except BookError:
            raise
        except Exception as exc:  # ebooklib and lxml raise anything from KeyError to TypeError
            raise BookError(
                f"{archive.label}: the EPUB package document is malformed ({type(exc).__name__}: {exc})",
                "check the file with epubcheck",
            ) from exc
        language = _first_meta(ebook, "language")
        package = _Package(archive, ebook, reader.opf_dir, warnings, math=math, lang=language or "en")
        _index_spine(package, include_nonlinear)
        chapters = _chapters(package)
        lexicon = _lexicon(package)  # before the warnings are taken: a broken lexicon adds one
        if package.math_read["skipped"]:
            warnings.append(f"{package.math_read['skipped']} formulas (MathML) left out (--math skip)")
        if package.math_read["empty"]:
            warnings.append(f"{package.math_read['empty']} formulas (MathML) have no text to read; not read")
        if not chapters:
            why = f" ({warnings[0]})" if warnings else ""
            raise BookError(
                f"{archive.label}: no readable text found in this EPUB{why}",
                "check that it is not image-only or empty",
            )
        return Book(
            title=_first_meta(ebook, "title") or path.stem,
            author=", ".join(v for v, _ in ebook.get_metadata("DC", "creator") if v and v.strip()),
            language=language,
            description=_description(ebook),
            year=_year(ebook),
            chapters=chapters,
            cover=_cover(package),
            warnings=tuple(dict.fromkeys(warnings)),
            lexicon=lexicon,
            math=dict(package.math_read),
        )
    finally:
        archive.close()


def _first_meta(ebook: Any, name: str) -> str:
    for value, _ in ebook.get_metadata("DC", name):
        if value and value.strip():
            return clean_inline(value)
    return ""


def _description(ebook: Any) -> str:
    text = _strip_tags(_first_meta(ebook, "description"))
    return "" if text.lower() in ("unknown", "none", "n/a") else text


def _year(ebook: Any) -> str:
    """The publication year: a date marked as publication first, then one with no event, never a
    modification date."""
    dates = ebook.get_metadata("DC", "date")
    ranked = sorted(
        dates,
        key=lambda item: {"publication": 0, "published": 0, "": 1}.get(
            str((item[1] or {}).get("{http://www.idpf.org/2007/opf}event", (item[1] or {}).get("event", ""))),
            2,
        ),
    )
    for value, attrs in ranked:
        event = str((attrs or {}).get("{http://www.idpf.org/2007/opf}event", (attrs or {}).get("event", "")))
        match = re.search(r"\b(1[0-9]{3}|20[0-9]{2})\b", value or "")
        if match and event not in ("modification", "modified"):
            return match.group(1)
    return ""


def _strip_tags(text: str) -> str:
    return clean_inline(re.sub(r"<[^>]*>", " ", text))


def _index_spine(package: _Package, include_nonlinear: bool) -> None:
    for item in package.book.get_items():
        if getattr(item, "file_name", None):
            package.items[package.path_of(item)] = item
    for idref, linear in package.book.spine:
        item = package.book.get_item_with_id(idref)
        if item is None:
            package.warnings.append(f"spine item '{idref}' has no manifest entry; skipped")
            continue
        if str(linear).lower() == "no" and not include_nonlinear:
            continue
        doc_path = package.path_of(item)
        if item.media_type in HTML_TYPES and doc_path not in package.spine:
            package.spine.append(doc_path)


def _toc(package: _Package) -> list[TocEntry]:
    """EPUB 3 nav first, else the NCX; [] when neither gives entries."""
    candidates: list[tuple[Any, str]] = []
    for item in package.book.get_items():
        if isinstance(item, epub.EpubNav):
            candidates.append((item, "nav"))
    for item in package.book.get_items():
        if item.media_type == "application/x-dtbncx+xml":
            candidates.append((item, "ncx"))
    for item, kind in candidates:
        if not item.content:
            continue
        doc_path = package.path_of(item)
        if kind == "nav":
            root = parse_document(item.content)
            entries = parse_nav(root, doc_path) if root is not None else []
        else:
            try:
                root = package.archive.read_xml(doc_path)
            except BookError as exc:
                package.warnings.append(str(exc))
                continue
            entries = parse_ncx(root, doc_path)
        if entries:
            return entries
    return []


def _chapters(package: _Package) -> tuple[Chapter, ...]:
    toc = _resolve_toc(package, _toc(package))
    if not toc:
        return _chapters_from_spine(package)

    # Cut points per document, first TOC title wins for a repeated target.
    titles: dict[tuple[str, str | None], str] = {}
    fragments: dict[str, list[str]] = {}  # document -> its cut ids, in TOC order
    for entry in toc:
        key = (entry.path, entry.fragment)
        if key not in titles:
            titles[key] = entry.title
            if entry.fragment:
                fragments.setdefault(entry.path, []).append(entry.fragment)
    raw: list[RawChapter] = []
    front: list[str] = []  # text before the first TOC entry
    for doc_path in package.spine:
        cut_ids = fragments.get(doc_path, [])
        extract = _extract(package, doc_path, cut_ids)
        if extract is None:
            continue
        found = {s.anchor for s in extract.sections}
        for fragment in cut_ids:
            if fragment in found:
                continue
            title = titles[(doc_path, fragment)]
            if fragment in extract.skipped_ids:
                package.warnings.append(f"TOC entry '{title}' is footnote or endnote material; not read")
            else:
                package.warnings.append(
                    f"TOC entry '{title}' points to #{fragment}, which is not in "
                    f"{doc_path}; its text is read with the chapter before it"
                )
        for section in extract.sections:
            key = (doc_path, section.anchor)
            if key in titles:
                raw.append((titles[key] or f"Chapter {len(raw) + 1}", list(section.paragraphs), section.kind))
            elif raw:
                raw[-1][1].extend(section.paragraphs)
            else:
                front.extend(section.paragraphs)
    if front:
        add_front_matter(raw, front, _front_title(package))
    return number_chapters(raw)


def _resolve_toc(package: _Package, toc: list[TocEntry]) -> list[TocEntry]:
    """Keep the entries that point into the documents being read.

    Some books (the Ubuntu Packaging Guide) link their TOC relative to the wrong directory; an
    entry whose target is missing is matched to the one spine document with the same file name.
    """
    resolved: list[TocEntry] = []
    repaired = 0
    spine = set(package.spine)
    for entry in toc:
        if entry.path in spine:
            resolved.append(entry)
            continue
        if entry.path in package.items:
            continue  # a real document that is not read (non-linear, or not in the spine)
        name = posixpath.basename(entry.path)
        matches = [p for p in package.spine if posixpath.basename(p) == name]
        if matches:
            resolved.append(TocEntry(entry.title, matches[0], entry.fragment, entry.depth))
            repaired += 1
        else:
            package.warnings.append(
                f"TOC entry '{entry.title}' points to {entry.path}, which is not in the book; ignored"
            )
    if repaired:
        package.warnings.append(
            f"{repaired} TOC links did not resolve and were matched to documents by file name"
        )
    return resolved


def _front_title(package: _Package) -> str:
    first = package.items.get(package.spine[0])
    root = parse_document(first.content) if first is not None else None
    return (first_heading(root) if root is not None else "") or "Front matter"


def _extract(package: _Package, doc_path: str, cut_ids: list[str]) -> Extract | None:
    item = package.items.get(doc_path)
    if item is None or not item.content:
        return None
    root = parse_document(item.content)
    if root is None:
        package.warnings.append(f"{doc_path} could not be parsed; skipped")
        return None
    _note_lexicons(package, root, doc_path)
    extract = extract_sections(root, cut_ids, math=package.math, lang=package.lang)
    package.math_read.update(extract.math)
    return extract


def _note_lexicons(package: _Package, root: Any, doc_path: str) -> None:
    """Remember the PLS lexicons a content document links (``<link rel="pronunciation">``)."""
    for el in root.iter():
        if localname(el) != "link" or "pronunciation" not in (el.get("rel") or "").lower().split():
            continue
        href = (el.get("href") or "").split("#", 1)[0]
        if href:
            target = unicodedata.normalize(
                "NFC", posixpath.normpath(posixpath.join(posixpath.dirname(doc_path), href))
            )
            if target not in package.lexicons:
                package.lexicons.append(target)


def _lexicon(package: _Package) -> tuple[Pronunciation, ...]:
    """The book's PLS lexicons (the linked ones, then any other in the manifest), in the book's language."""
    from voxcli.ingest.pls import parse_pls

    paths = list(package.lexicons)
    paths += [
        p for p, item in package.items.items() if item.media_type == "application/pls+xml" and p not in paths
    ]
    found: list[Pronunciation] = []
    for path in paths:
        try:
            data = package.archive.read(path)
        except KeyError:
            package.warnings.append(f"pronunciation lexicon {path} is missing; not used")
            continue
        try:
            found += parse_pls(data, package.lang)
        except ValueError as exc:
            package.warnings.append(f"pronunciation lexicon {path}: {exc}; not used")
    return tuple(found)


def _chapters_from_spine(package: _Package) -> tuple[Chapter, ...]:
    """No usable table of contents: every spine document with text is a chapter."""
    raw: list[RawChapter] = []
    for doc_path in package.spine:
        extract = _extract(package, doc_path, [])
        if extract is None:
            continue
        root = parse_document(package.items[doc_path].content)
        paragraphs = [p for s in extract.sections for p in s.paragraphs]
        if paragraphs:
            heading = first_heading(root) if root is not None else ""
            raw.append((heading or f"Chapter {len(raw) + 1}", paragraphs))
    return number_chapters(raw)


def _cover(package: _Package) -> Cover | None:
    book = package.book
    candidates: list[Any] = [i for i in book.get_items() if isinstance(i, epub.EpubCover)]
    for _, attrs in book.get_metadata("OPF", "cover"):
        item = book.get_item_with_id(attrs.get("content", ""))
        if item is not None:
            candidates.append(item)
    candidates += [i for i in book.get_items() if "cover" in (f"{i.id} {i.file_name}").lower()]
    for item in candidates:
        media_type = (item.media_type or "").lower()
        if media_type.startswith("image/") and item.content:
            return Cover(media_type=media_type, data=bytes(item.content))
    return None
