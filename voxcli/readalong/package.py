"""An EPUB 3 copied with Media Overlays added: spans in its documents, SMIL, audio, package metadata.

Every archive member that is not changed is copied byte for byte; ``mimetype`` comes first, stored.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote

from lxml import etree

from voxcli.audio.timeline import TimedChapter
from voxcli.errors import BookError, VoxError
from voxcli.ingest.archive import SafeArchive, has_entity_declarations, safe_xml_parser
from voxcli.ingest.xhtml import numeric_entities
from voxcli.readalong.apply import Ids, apply, existing_ids
from voxcli.readalong.match import Placement, match
from voxcli.readalong.smil import Sentence, clock_value, duration_ms, smil_document
from voxcli.readalong.wrap import XHTML_NS, DocText, body_of, read_text

OPF_NS = "http://www.idpf.org/2007/opf"
DC_NS = "http://purl.org/dc/elements/1.1/"
CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
ACTIVE_CLASS = "-epub-media-overlay-active"
CSS = f"""/* voxcli read-along: the sentence being read */
.{ACTIVE_CLASS} {{
  background-color: #fff3a8;
  color: #000000;
  border-radius: 0.15em;
}}
""".encode()


class NotOverlayable(Exception):
    """The source cannot be overlaid as it is (EPUB 2, a document that is not well-formed XML)."""


@dataclass
class Overlay:
    """What :func:`overlay_epub` wrote."""

    pars: int
    documents: int
    unmatched: list[str]
    unspoken: list[str]
    duration_ms: int
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Doc:
    path: str  # inside the archive
    item: etree._Element  # its manifest item
    root: etree._Element
    text: DocText


def _parser() -> etree.XMLParser:
    # Comments and processing instructions are kept: the document is written back.
    return safe_xml_parser(recover=False, keep=True)


def parse_content(data: bytes, label: str) -> etree._Element:
    """A content document as XML, for writing back; NotOverlayable when it is not well-formed."""
    if has_entity_declarations(data):
        raise BookError(f"{label} declares XML entities (an XXE or entity-expansion attack); refusing it")
    for attempt in (data, numeric_entities(data)):
        try:
            root = etree.fromstring(attempt, parser=_parser())
        except etree.XMLSyntaxError:
            continue
        if root is not None:
            return root
    raise NotOverlayable(f"{label} is not well-formed XHTML")


def _opf_path(archive: SafeArchive) -> str:
    root = archive.read_xml("META-INF/container.xml")
    for el in root.iter(f"{{{CONTAINER_NS}}}rootfile"):
        path = el.get("full-path")
        if (
            path
            and (el.get("media-type") or "application/oebps-package+xml") == "application/oebps-package+xml"
        ):
            return path
    raise BookError(f"{archive.label}: META-INF/container.xml names no package document")


def _rel(target: str, base_file: str) -> str:
    """``target`` (an archive path) as an href from the file ``base_file``."""
    return quote(posixpath.relpath(target, posixpath.dirname(base_file) or "."))


def _unique(path: str, taken: set[str]) -> str:
    stem, dot, suffix = path.rpartition(".")
    if not dot:
        stem, suffix = path, ""
    candidate, n = path, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}.{suffix}" if suffix else f"{stem}-{n}"
    taken.add(candidate)
    return candidate


def overlay_epub(
    source: Path,
    dest: Path,
    chapters: Sequence[TimedChapter],
    audio: Mapping[int, Path],
    *,
    narrator: str,
    words: bool,
    audio_type: str,
) -> Overlay:
    """Write ``source`` (an EPUB 3) to ``dest`` with overlays; NotOverlayable when it cannot be."""
    archive = SafeArchive(source)
    try:
        return _overlay(archive, dest, chapters, audio, narrator=narrator, words=words, audio_type=audio_type)
    finally:
        archive.close()


def _overlay(
    archive: SafeArchive,
    dest: Path,
    chapters: Sequence[TimedChapter],
    audio: Mapping[int, Path],
    *,
    narrator: str,
    words: bool,
    audio_type: str,
) -> Overlay:
    archive.check_drm()
    opf_path = _opf_path(archive)
    opf = archive.read_xml(opf_path)
    if not (opf.get("version") or "").startswith("3"):
        raise NotOverlayable(f"{archive.label} is an EPUB {opf.get('version') or '2'}")
    opf_dir = posixpath.dirname(opf_path)
    manifest = opf.find(f"{{{OPF_NS}}}manifest")
    spine = opf.find(f"{{{OPF_NS}}}spine")
    metadata = opf.find(f"{{{OPF_NS}}}metadata")
    if manifest is None or spine is None or metadata is None:
        raise BookError(f"{archive.label}: the package document has no manifest, spine or metadata")
    items = {el.get("id"): el for el in manifest.iter(f"{{{OPF_NS}}}item")}

    docs: list[_Doc] = []
    seen_paths: set[str] = set()
    for itemref in spine.iter(f"{{{OPF_NS}}}itemref"):
        item = items.get(itemref.get("idref"))
        if item is None or (itemref.get("linear") or "yes") == "no":
            continue
        if item.get("media-type") != "application/xhtml+xml":
            continue
        path = posixpath.normpath(posixpath.join(opf_dir, unquote(item.get("href") or "")))
        if path in seen_paths or not archive.exists(path):
            continue
        seen_paths.add(path)
        root = parse_content(archive.read(path), path)
        body = body_of(root)
        if body is None:
            continue
        docs.append(_Doc(path, item, root, read_text(body)))
    if not docs:
        raise NotOverlayable(f"{archive.label} has no XHTML content documents in its spine")

    dropped = _drop_old_overlays(archive, metadata, manifest, opf_path)
    found = match([d.text for d in docs], chapters)
    with zipfile.ZipFile(archive.path) as listing:
        infos = [info for info in listing.infolist() if info.filename not in dropped]
    names = {info.filename for info in infos}
    audio_paths: dict[int, str] = {}
    rates = {c.index: c for c in chapters}
    width = max(2, len(str(max(rates, default=1))))
    for chapter in chapters:
        if not any(s.spoken for s in chapter.sentences):
            continue
        if chapter.index not in audio:
            raise VoxError(
                f"no audio file for chapter {chapter.index} ({chapter.title})",
                "convert the chapter again (this is a bug if it keeps happening)",
            )
        suffix = Path(audio[chapter.index]).suffix or ".m4a"
        audio_paths[chapter.index] = _unique(
            posixpath.join(opf_dir, "audio", f"{chapter.index:0{width}d}{suffix}"), names
        )
    css_path = _unique(posixpath.join(opf_dir, "css", "voxcli-readalong.css"), names)

    opf_ids = Ids({str(v) for v in opf.xpath("//@id")})  # type: ignore[union-attr]
    new_members: dict[str, bytes] = {}
    changed: dict[str, bytes] = {}
    overlays: list[tuple[str, int]] = []  # (smil item id, duration in ms)
    pars = 0
    by_doc: dict[int, list[Placement]] = {}
    for placement in found.placements:
        by_doc.setdefault(placement.doc, []).append(placement)
    for number, doc in enumerate(docs):
        placed = by_doc.get(number, [])
        if not placed:
            continue
        stem = PurePosixPath(doc.path).stem
        smil_path = _unique(posixpath.join(opf_dir, "smil", f"{stem}.smil"), names)
        entries: list[Sentence] = apply(
            doc.text,
            placed,
            Ids(existing_ids(doc.root)),
            partial(_audio_href, audio_paths, smil_path),
            words=words,
        )
        pars += sum(max(1, len(e.words)) for e in entries)
        _link_css(doc.root, _rel(css_path, doc.path))
        _keep_end_tags(doc.root)
        changed[doc.path] = etree.tostring(doc.root.getroottree(), xml_declaration=True, encoding="UTF-8")
        new_members[smil_path] = smil_document(_rel(doc.path, smil_path), entries)
        smil_id = opf_ids.fresh(f"mo-{_idsafe(stem)}")
        _add_item(manifest, smil_id, _rel(smil_path, opf_path), "application/smil+xml")
        doc.item.set("media-overlay", smil_id)
        overlays.append((smil_id, duration_ms(entries)))

    for index, path in audio_paths.items():
        _add_item(manifest, opf_ids.fresh(f"audio-{index:0{width}d}"), _rel(path, opf_path), audio_type)
    _add_item(manifest, opf_ids.fresh("voxcli-readalong-css"), _rel(css_path, opf_path), "text/css")
    total = sum(ms for _, ms in overlays)
    _metadata(metadata, overlays, total, narrator)
    changed[opf_path] = etree.tostring(opf.getroottree(), xml_declaration=True, encoding="UTF-8")

    _write_zip(
        archive,
        infos,
        dest,
        changed,
        new_members,
        css_path,
        audio_paths,
        audio,
    )
    return Overlay(
        pars=pars,
        documents=len(overlays),
        unmatched=found.unmatched,
        unspoken=found.unspoken,
        duration_ms=total,
        warnings=found.warnings,
    )


def _audio_href(paths: Mapping[int, str], smil_path: str, index: int) -> str:
    return _rel(paths[index], smil_path)


def _idsafe(text: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in text)
    return safe if safe[:1].isalpha() else f"d{safe}"


def _add_item(manifest: etree._Element, item_id: str, href: str, media_type: str) -> None:
    item = manifest.makeelement(f"{{{OPF_NS}}}item", {})
    _append(manifest, item)
    item.set("id", item_id)
    item.set("href", href)
    item.set("media-type", media_type)


def _meta(metadata: etree._Element, prop: str, value: str, refines: str | None = None) -> None:
    meta = metadata.makeelement(f"{{{OPF_NS}}}meta", {})
    _append(metadata, meta)
    meta.set("property", prop)
    if refines:
        meta.set("refines", refines)
    meta.text = value


def _drop_old_overlays(
    archive: SafeArchive, metadata: etree._Element, manifest: etree._Element, opf_path: str
) -> set[str]:
    """The source's own overlays, if any, give way to the new ones: their metadata, their SMIL
    documents and the audio those play go; returns the archive paths dropped."""
    for meta in list(metadata.iter(f"{{{OPF_NS}}}meta")):
        if (meta.get("property") or "").startswith("media:"):
            _remove(meta)
    base = posixpath.dirname(opf_path)
    smils: set[str] = set()
    items: dict[str, etree._Element] = {}
    for item in manifest.iter(f"{{{OPF_NS}}}item"):
        if item.get("media-overlay") is not None:
            del item.attrib["media-overlay"]
        path = posixpath.normpath(posixpath.join(base, unquote(item.get("href") or "")))
        items[path] = item
        if item.get("media-type") == "application/smil+xml":
            smils.add(path)
    dropped = set(smils)
    for smil in smils:
        try:
            root = archive.read_xml(smil)
        except (KeyError, BookError):
            continue
        for audio in root.iter("{http://www.w3.org/ns/SMIL}audio"):
            src = unquote((audio.get("src") or "").split("#", 1)[0])
            if src:
                dropped.add(posixpath.normpath(posixpath.join(posixpath.dirname(smil), src)))
    for path in dropped:
        if path in items:
            _remove(items[path])
    return dropped


def _remove(el: etree._Element) -> None:
    parent = el.getparent()
    if parent is None:
        return
    previous = el.getprevious()
    if previous is not None:
        previous.tail = el.tail  # keep the layout: the removed element's indentation goes with it
    else:
        parent.text = el.tail
    parent.remove(el)


def _append(parent: etree._Element, el: etree._Element) -> None:
    """Append ``el`` indented like the children before it."""
    if len(parent):
        el.tail = parent[-1].tail
        parent[-1].tail = parent[-2].tail if len(parent) > 1 else parent.text
    parent.append(el)


def _metadata(metadata: etree._Element, overlays: list[tuple[str, int]], total: int, narrator: str) -> None:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    modified = [m for m in metadata.iter(f"{{{OPF_NS}}}meta") if m.get("property") == "dcterms:modified"]
    if modified:
        modified[0].text = now
    else:
        _meta(metadata, "dcterms:modified", now)
    for smil_id, ms in overlays:
        _meta(metadata, "media:duration", clock_value(ms), f"#{smil_id}")
    _meta(metadata, "media:duration", clock_value(total))
    if narrator.strip():
        _meta(metadata, "media:narrator", " ".join(narrator.split()))
    _meta(metadata, "media:active-class", ACTIVE_CLASS)


VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)


def _keep_end_tags(root: etree._Element) -> None:
    """``<div></div>`` stays so, not ``<div/>`` (lxml would write an empty element self-closed, which
    some reading systems take as an open tag)."""
    for el in root.iter():
        if isinstance(el.tag, str) and el.text is None and len(el) == 0:
            namespace, _, name = el.tag[1:].partition("}") if el.tag[:1] == "{" else ("", "", el.tag)
            if namespace in ("", XHTML_NS) and name not in VOID:
                el.text = ""


def _link_css(root: etree._Element, href: str) -> None:
    head = next(iter(root.iter(f"{{{XHTML_NS}}}head", "head")), None)
    if head is None:
        head = root.makeelement(f"{{{XHTML_NS}}}head", {})
        root.insert(0, head)
    link = head.makeelement(
        f"{{{XHTML_NS}}}link" if str(head.tag).startswith("{") else "link",
        {"rel": "stylesheet", "type": "text/css", "href": href},
    )
    if len(head):
        link.tail = head[-1].tail
        head[-1].tail = head.text
    head.append(link)


def _write_zip(
    archive: SafeArchive,
    infos: Sequence[zipfile.ZipInfo],
    dest: Path,
    changed: Mapping[str, bytes],
    new_members: Mapping[str, bytes],
    css_path: str,
    audio_paths: Mapping[int, str],
    audio: Mapping[int, Path],
) -> None:
    with zipfile.ZipFile(dest, "w") as out:
        out.writestr(zipfile.ZipInfo("mimetype", (1980, 1, 1, 0, 0, 0)), b"application/epub+zip")
        written = {"mimetype"}
        for info in infos:
            if info.filename in written:
                continue
            written.add(info.filename)
            copy = zipfile.ZipInfo(info.filename, info.date_time)
            copy.external_attr = info.external_attr
            copy.compress_type = info.compress_type
            if info.is_dir():
                out.writestr(copy, b"")
                continue
            data = changed.get(info.filename)
            if data is not None:
                copy.compress_type = zipfile.ZIP_DEFLATED
            else:
                data = archive.read(info.filename)
            out.writestr(copy, data)
        stamp = datetime.now(timezone.utc).timetuple()[:6]
        out.writestr(_info(css_path, stamp, zipfile.ZIP_DEFLATED), CSS)
        for path, data in new_members.items():
            out.writestr(_info(path, stamp, zipfile.ZIP_DEFLATED), data)
        for index, path in audio_paths.items():
            try:
                data = Path(audio[index]).read_bytes()
            except OSError as exc:
                raise VoxError(
                    f"cannot read the audio of chapter {index} ({audio[index]}): {exc.strerror or exc}",
                    "convert the chapter again",
                ) from exc
            out.writestr(_info(path, stamp, zipfile.ZIP_STORED), data)


def _info(path: str, stamp: tuple[int, ...], method: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(path, (stamp[0], stamp[1], stamp[2], stamp[3], stamp[4], stamp[5]))
    info.compress_type = method
    info.external_attr = 0o644 << 16
    return info
