"""A hardened, read-only view of a ZIP-based book: EPUB, DOCX, ODT, HTMLZ, FB2.ZIP.

Everything is checked before any parser sees it: the size of each entry and of the whole book,
the compression ratio (zip bombs), paths that try to leave the archive, XML entity declarations
(XXE and billion laughs) and DRM.
"""

from __future__ import annotations

import posixpath
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from voxcli.errors import BookError

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Caps applied before any entry is decompressed."""

    max_entries: int = 20_000
    max_entry_bytes: int = 64 * MiB  # one uncompressed entry
    max_total_bytes: int = 1024 * MiB  # the whole uncompressed book
    max_ratio: int = 200  # uncompressed/compressed, for entries above ratio_floor_bytes
    ratio_floor_bytes: int = 1 * MiB


# Font obfuscation is not DRM: the IDPF and Adobe algorithms only scramble embedded fonts.
FONT_OBFUSCATION = frozenset({"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"})
_ENC_NS = "http://www.w3.org/2001/04/xmlenc#"


def safe_xml_parser(recover: bool = True, keep: bool = False) -> etree.XMLParser:
    """An lxml parser that never resolves entities, never touches the network, never grows huge.

    With ``keep``, comments, processing instructions and CDATA sections stay (for a document that is
    written back)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        recover=recover,
        remove_comments=not keep,
        remove_pis=not keep,
        strip_cdata=not keep,
    )


def has_entity_declarations(data: bytes) -> bool:
    """True when an XML document declares entities in an internal DTD subset.

    Legitimate EPUB content never needs them; they are how XXE and billion-laughs attacks work.
    Checked on the raw bytes, in every encoding an EPUB may use.
    """
    head = data[:65536]
    return any(
        marker in head
        for marker in (b"<!ENTITY", "<!ENTITY".encode("utf-16-le"), "<!ENTITY".encode("utf-16-be"))
    )


def parse_untrusted_xml(data: bytes, label: str, what: str) -> etree._Element:
    """Parse an XML document from a book: no entities (refused), network, DTD or huge trees.

    ``label`` names the file and ``what`` the document in the one-line errors."""
    if has_entity_declarations(data):
        raise BookError(
            f"{label}: {what} declares XML entities (an XXE or entity-expansion attack); "
            "refusing to read this book"
        )
    try:
        root = etree.fromstring(data, parser=safe_xml_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BookError(f"{label}: {what} is not well-formed XML ({message})") from exc
    if root is None:
        raise BookError(f"{label}: {what} is empty or not XML")
    return root


def prefixed_tag(el: etree._Element, prefixes: dict[str, str]) -> str:
    """An element's name with its namespace written as a prefix ("w:p", "text:h"), by ``prefixes``
    (namespace URI -> prefix); "" for comments and processing instructions."""
    tag: object = el.tag  # a function for comments, PIs and entity references
    if not isinstance(tag, str):
        return ""
    if tag[:1] != "{":
        return tag
    ns, _, local = tag[1:].partition("}")
    prefix = prefixes.get(ns)
    return f"{prefix}:{local}" if prefix else local


class SafeArchive:
    """Read entries of a ZIP-based book by their path inside it, within :class:`Limits`.

    ``kind`` names the format in messages ("EPUB", "DOCX", ...)."""

    def __init__(self, path: Path, limits: Limits | None = None, kind: str = "EPUB") -> None:
        self.path = path
        self.kind = kind
        self.limits = limits or Limits()
        self.label = path.name
        try:
            self._zip = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise  # the caller has already checked; keep the real error for --debug
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise BookError(
                f"{self.label}: not a readable {self.kind} (the ZIP container is damaged or this is not "
                f"a ZIP file: {exc})",
                f"check the file, or convert it to {self.kind} again",
            ) from exc
        self._entries: dict[str, zipfile.ZipInfo] = {}
        self._check_sizes()
        # Hrefs and ZIP names may differ in Unicode normalisation (NFC vs NFD) only.
        self._nfc = {unicodedata.normalize("NFC", name): name for name in self._entries}

    def _check_sizes(self) -> None:
        infos = self._zip.infolist()
        if len(infos) > self.limits.max_entries:
            raise BookError(
                f"{self.label}: the {self.kind} holds {len(infos)} files, more than the "
                f"{self.limits.max_entries} voxcli accepts"
            )
        total = 0
        for info in infos:
            if info.is_dir():
                continue
            size = info.file_size
            if size > self.limits.max_entry_bytes:
                raise BookError(
                    f"{self.label}: {info.filename} would expand to {size // MiB} MiB, more "
                    f"than the {self.limits.max_entry_bytes // MiB} MiB allowed for one file "
                    "(a zip bomb?); refusing to read it"
                )
            if size > self.limits.ratio_floor_bytes and size > self.limits.max_ratio * max(
                info.compress_size, 1
            ):
                ratio = size // max(info.compress_size, 1)
                raise BookError(
                    f"{self.label}: {info.filename} is compressed {ratio}:1, far beyond any "
                    "real book (a zip bomb?); refusing to read it"
                )
            total += size
            # The last duplicate wins, as in zipfile itself.
            self._entries[info.filename] = info
        if total > self.limits.max_total_bytes:
            raise BookError(
                f"{self.label}: the {self.kind} would expand to {total // MiB} MiB, more than the "
                f"{self.limits.max_total_bytes // MiB} MiB voxcli accepts"
            )

    def close(self) -> None:
        self._zip.close()

    def resolve(self, name: str) -> str | None:
        """Normalise a path inside the book; None when it would leave the archive."""
        name = unquote(name.split("#", 1)[0]).replace("\\", "/")
        if name.startswith("/"):
            return None
        norm = posixpath.normpath(name)
        if norm == ".." or norm.startswith("../"):
            return None
        if norm not in self._entries:
            norm = self._nfc.get(unicodedata.normalize("NFC", norm), norm)
        return norm

    def exists(self, name: str) -> bool:
        resolved = self.resolve(name)
        return resolved is not None and resolved in self._entries

    def read(self, name: str) -> bytes:
        """The entry's bytes; KeyError when it is absent or outside the book."""
        resolved = self.resolve(name)
        if resolved is None:
            raise KeyError(f"{name} points outside the book")
        info = self._entries.get(resolved)
        if info is None:
            raise KeyError(f"{resolved} is not in the book")
        # The central directory can lie about sizes: stop reading at the declared size + 1.
        try:
            with self._zip.open(info) as stream:
                data = stream.read(info.file_size + 1)
        except (
            zipfile.BadZipFile,
            zlib.error,
            OSError,
            EOFError,
            NotImplementedError,
            RuntimeError,
        ) as exc:  # bad CRC, corrupt deflate data, unknown method, password
            raise BookError(
                f"{self.label}: {resolved} cannot be extracted ({exc})",
                "the file is damaged; download or convert it again",
            ) from exc
        if len(data) > info.file_size:
            raise BookError(
                f"{self.label}: {resolved} is larger than its ZIP header says; the file is damaged or hostile"
            )
        return data

    def read_xml(self, name: str) -> etree._Element:
        """Parse an XML entry safely; refuses documents that declare entities."""
        return parse_untrusted_xml(self.read(name), self.label, str(self.resolve(name)))

    def check_drm(self) -> None:
        """Raise when content (not just fonts) is encrypted: the book is DRM-protected."""
        names = set(self._entries)
        if "META-INF/sinf.xml" in names:
            raise _drm(self.label, "Apple FairPlay")
        if "META-INF/encryption.xml" not in names:
            return
        root = self.read_xml("META-INF/encryption.xml")
        for data in root.iter(f"{{{_ENC_NS}}}EncryptedData"):
            method = data.find(f"{{{_ENC_NS}}}EncryptionMethod")
            algorithm = method.get("Algorithm", "") if method is not None else ""
            if algorithm not in FONT_OBFUSCATION:
                scheme = "Adobe ADEPT" if "META-INF/rights.xml" in names else algorithm or "unknown"
                raise _drm(self.label, scheme)


def _drm(label: str, scheme: str) -> BookError:
    return BookError(
        f"{label}: this book is DRM-protected ({scheme} encryption); voxcli cannot read it",
        "use a DRM-free copy of the book",
    )
