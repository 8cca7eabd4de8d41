"""The library's record of finished books: what lets a re-run skip a book without reading it.

``LIBRARY/.voxcli/batch.json`` maps each finished book's path to its folder and its recipe: a digest
of the book file's bytes and of everything the conversion was asked to do. A book is finished when
its recipe is unchanged and its manifest's files are all there at the sizes it records; anything
else (an edited book, other options, a deleted or truncated file) sends it through ``convert``
again, which itself re-speaks only what its cache lacks.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxcli import __version__
from voxcli.convert.manifest import ManifestChapter, read_manifest
from voxcli.fsutil import atomic_write_bytes, make_dirs

INDEX = Path(".voxcli") / "batch.json"


@dataclass(frozen=True)
class Finished:
    """A finished book as its manifest proves it."""

    outdir: Path
    chapters: int
    audio_seconds: float


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(2**20):
            digest.update(block)
    return digest.hexdigest()


def recipe(book: Path, options: str) -> str:
    """What a book's audio is made from: its bytes, the options (a digest the caller makes) and voxcli."""
    payload = json.dumps([__version__, file_digest(book), options])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def proven(outdir: Path) -> Finished | None:
    """The book in ``outdir`` when its manifest's chapter files are all there at the sizes it records,
    and its M4B, read-along EPUB and video files are there; None otherwise."""
    manifest = read_manifest(outdir)
    chapters = [ManifestChapter.parse(c) for c in manifest.get("chapters", [])]
    if not chapters or any(c is None or not _sized(outdir, c.sizes) for c in chapters):
        return None
    if any(name not in c.sizes for c in chapters if c is not None for name in c.files.values()):
        return None
    for product in ("audiobook", "readalong", "video"):
        record = manifest.get(product)
        if isinstance(record, dict):
            files = _product_files(record)
            if not files or not all((outdir / name).is_file() for name in files):
                return None
    seconds = sum(c.duration for c in chapters if c is not None)
    return Finished(outdir=outdir, chapters=len(chapters), audio_seconds=seconds)


def _sized(outdir: Path, sizes: dict[str, int]) -> bool:
    for name, size in sizes.items():
        try:
            if (outdir / name).stat().st_size != size:
                return False
        except OSError:
            return False
    return True


def _product_files(record: dict[str, Any]) -> list[str]:
    """The files a book-level record names: its own, or its parts' (the M4B's, the videos')."""
    parts = record.get("parts", [])
    named = [record.get("file"), *(p.get("file") for p in parts if isinstance(p, dict))]
    return [name for name in named if isinstance(name, str)]


class BatchIndex:
    """The library's ``batch.json``, shared by the threads of one run (each write replaces the file)."""

    def __init__(self, library: Path) -> None:
        self.path = library / INDEX
        self._lock = threading.Lock()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        books = data.get("books") if isinstance(data, dict) else None
        self._books: dict[str, dict[str, str]] = {
            source: record
            for source, record in (books.items() if isinstance(books, dict) else ())
            if isinstance(record, dict)
            and isinstance(record.get("outdir"), str)
            and isinstance(record.get("recipe"), str)
        }

    def finished(self, book: Path, made_from: str) -> Finished | None:
        """The book's folder when it was converted from the same recipe and is still whole."""
        with self._lock:
            record = self._books.get(str(book.resolve()))
        if record is None or record["recipe"] != made_from:
            return None
        return proven(Path(record["outdir"]))

    def record(self, book: Path, outdir: Path, made_from: str) -> None:
        """Note a finished book (after its conversion succeeded)."""
        with self._lock:
            self._books[str(book.resolve())] = {"outdir": str(outdir.resolve()), "recipe": made_from}
            make_dirs(self.path.parent)
            data = {"voxcli": __version__, "books": dict(sorted(self._books.items()))}
            atomic_write_bytes(self.path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
