"""A clean EPUB 3 from a :class:`Book`: one XHTML document per chapter (an ``h1`` and its
paragraphs), a navigation document, the cover, and the book's metadata. For books that did not come
as an EPUB 3, so that a read-along can be laid over them."""

from __future__ import annotations

import re
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from lxml import etree

from voxcli.book import Book, Chapter
from voxcli.readalong.wrap import XHTML_NS
from voxcli.text.tags import plain

OPS_NS = "http://www.idpf.org/2007/ops"
OPF_NS = "http://www.idpf.org/2007/opf"
DC_NS = "http://purl.org/dc/elements/1.1/"
COVER_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LANG = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")
STYLE = b"""body { margin: 0 5%; line-height: 1.5; }
h1 { text-align: center; margin: 2em 0 1em; }
p { text-indent: 1.5em; margin: 0 0 0.4em; }
img.cover { max-width: 100%; max-height: 100%; }
"""
CONTAINER = b"""<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>
"""


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _language(book: Book) -> str:
    lang = book.language.strip().replace("_", "-")
    return lang if _LANG.match(lang) else "en"


def _xhtml(title: str, lang: str, style_href: str) -> tuple[etree._Element, etree._Element]:
    root = etree.Element(f"{{{XHTML_NS}}}html", nsmap={None: XHTML_NS, "epub": OPS_NS})  # type: ignore[dict-item]
    root.set("lang", lang)
    root.set("{http://www.w3.org/XML/1998/namespace}lang", lang)
    head = etree.SubElement(root, f"{{{XHTML_NS}}}head")
    etree.SubElement(head, f"{{{XHTML_NS}}}title").text = _clean(title) or "Untitled"
    etree.SubElement(head, f"{{{XHTML_NS}}}link", rel="stylesheet", type="text/css", href=style_href)
    body = etree.SubElement(root, f"{{{XHTML_NS}}}body")
    return root, body


def _serialise(root: etree._Element) -> bytes:
    data: bytes = etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", doctype="<!DOCTYPE html>", pretty_print=True
    )
    return data


def chapter_document(chapter: Chapter, lang: str, tags: bool) -> bytes:
    """A chapter as XHTML: its title as ``h1``, then one ``p`` per paragraph."""
    paragraphs = [plain(p) if tags else p for p in chapter.paragraphs]
    title = plain(chapter.title) if tags else chapter.title
    if paragraphs and _words(paragraphs[0]) == _words(title) and _words(title):
        title = paragraphs.pop(0)  # the heading is the first paragraph: show it once
    root, body = _xhtml(title, lang, "../css/book.css")
    section = etree.SubElement(body, f"{{{XHTML_NS}}}section", id=f"chapter-{chapter.index}")
    section.set(f"{{{OPS_NS}}}type", "chapter")
    etree.SubElement(section, f"{{{XHTML_NS}}}h1").text = _clean(title) or f"Chapter {chapter.index}"
    for text in paragraphs:
        etree.SubElement(section, f"{{{XHTML_NS}}}p").text = _clean(text)
    return _serialise(root)


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.casefold())


def build_epub(book: Book, dest: Path) -> None:
    """Write ``book`` to ``dest`` as a plain EPUB 3."""
    lang = _language(book)
    names = [f"text/ch{c.index:03d}.xhtml" for c in book.chapters]
    files: dict[str, bytes] = {"css/book.css": STYLE}
    for chapter, name in zip(book.chapters, names, strict=True):
        files[name] = chapter_document(chapter, lang, book.tags)

    nav_root, nav_body = _xhtml(book.title or "Contents", lang, "css/book.css")
    nav = etree.SubElement(nav_body, f"{{{XHTML_NS}}}nav", id="toc")
    nav.set(f"{{{OPS_NS}}}type", "toc")
    etree.SubElement(nav, f"{{{XHTML_NS}}}h1").text = "Contents"
    ol = etree.SubElement(nav, f"{{{XHTML_NS}}}ol")
    for chapter, name in zip(book.chapters, names, strict=True):
        li = etree.SubElement(ol, f"{{{XHTML_NS}}}li")
        label = _clean(plain(chapter.title) if book.tags else chapter.title) or f"Chapter {chapter.index}"
        etree.SubElement(li, f"{{{XHTML_NS}}}a", href=name).text = label
    files["nav.xhtml"] = _serialise(nav_root)

    cover_name = ""
    if book.cover is not None and book.cover.media_type in COVER_TYPES:
        cover_name = f"images/cover.{COVER_TYPES[book.cover.media_type]}"
        files[cover_name] = book.cover.data
        cover_root, cover_body = _xhtml(book.title or "Cover", lang, "../css/book.css")
        etree.SubElement(
            cover_body, f"{{{XHTML_NS}}}img", {"src": f"../{cover_name}", "alt": "Cover", "class": "cover"}
        )
        files["text/cover.xhtml"] = _serialise(cover_root)

    files["content.opf"] = _package(book, lang, names, cover_name)
    with zipfile.ZipFile(dest, "w") as out:
        out.writestr(zipfile.ZipInfo("mimetype", (1980, 1, 1, 0, 0, 0)), b"application/epub+zip")
        out.writestr(_deflated("META-INF/container.xml"), CONTAINER)
        for name, data in files.items():
            out.writestr(_deflated(f"OEBPS/{name}"), data)


def _deflated(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _package(book: Book, lang: str, names: list[str], cover_name: str) -> bytes:
    root = etree.Element(f"{{{OPF_NS}}}package", nsmap={None: OPF_NS})  # type: ignore[dict-item]
    root.set("version", "3.0")
    root.set("unique-identifier", "book-id")
    root.set("{http://www.w3.org/XML/1998/namespace}lang", lang)
    metadata = etree.SubElement(root, f"{{{OPF_NS}}}metadata", nsmap={"dc": DC_NS})
    ident = uuid.uuid5(uuid.NAMESPACE_URL, f"voxcli:{book.title}\n{book.author}\n{book.year}")
    etree.SubElement(metadata, f"{{{DC_NS}}}identifier", id="book-id").text = f"urn:uuid:{ident}"
    etree.SubElement(metadata, f"{{{DC_NS}}}title").text = _clean(book.title) or "Untitled"
    etree.SubElement(metadata, f"{{{DC_NS}}}language").text = lang
    for author in [a.strip() for a in book.author.split(",") if a.strip()] if book.author else []:
        etree.SubElement(metadata, f"{{{DC_NS}}}creator").text = _clean(author)
    if book.description:
        etree.SubElement(metadata, f"{{{DC_NS}}}description").text = _clean(book.description)
    if book.year:
        etree.SubElement(metadata, f"{{{DC_NS}}}date").text = book.year
    modified = etree.SubElement(metadata, f"{{{OPF_NS}}}meta", property="dcterms:modified")
    modified.text = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    manifest = etree.SubElement(root, f"{{{OPF_NS}}}manifest")
    etree.SubElement(manifest, f"{{{OPF_NS}}}item", id="nav", href="nav.xhtml", properties="nav").set(
        "media-type", "application/xhtml+xml"
    )
    etree.SubElement(manifest, f"{{{OPF_NS}}}item", id="style", href="css/book.css").set(
        "media-type", "text/css"
    )
    spine = etree.SubElement(root, f"{{{OPF_NS}}}spine")
    if cover_name:
        image = etree.SubElement(
            manifest, f"{{{OPF_NS}}}item", id="cover-image", href=cover_name, properties="cover-image"
        )
        image.set("media-type", next(t for t, ext in COVER_TYPES.items() if cover_name.endswith(ext)))
        etree.SubElement(manifest, f"{{{OPF_NS}}}item", id="cover", href="text/cover.xhtml").set(
            "media-type", "application/xhtml+xml"
        )
        etree.SubElement(spine, f"{{{OPF_NS}}}itemref", idref="cover", linear="no")
    for number, name in enumerate(names, 1):
        item_id = f"ch{number:03d}"
        etree.SubElement(manifest, f"{{{OPF_NS}}}item", id=item_id, href=name).set(
            "media-type", "application/xhtml+xml"
        )
        etree.SubElement(spine, f"{{{OPF_NS}}}itemref", idref=item_id)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data
