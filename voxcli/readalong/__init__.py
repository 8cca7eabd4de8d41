"""Read-along EPUB 3: the book with its narration as Media Overlays, each sentence highlighted as heard.

An EPUB 3 source is copied with its sentences wrapped in spans (rendering unchanged); any other book,
EPUB 2 included, first becomes a clean EPUB 3 built from its chapters.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from voxcli.audio.timeline import TimedChapter
from voxcli.book import Book
from voxcli.errors import VoxError
from voxcli.fsutil import atomic_path, write_error
from voxcli.readalong.build import build_epub
from voxcli.readalong.package import NotOverlayable, Overlay, overlay_epub

__all__ = ["ReadAlongResult", "write_readalong"]


@dataclass(frozen=True)
class ReadAlongResult:
    """What was written."""

    pars: int  # par elements written
    documents: int  # content documents with an overlay
    unmatched: list[str]  # sentences not found in the XHTML (still given a par, on an empty span)
    unspoken: list[str]  # sentences with no audio (no par)
    duration: float  # seconds, the total media:duration
    rebuilt: bool  # a clean EPUB 3 was built from the chapters (non-EPUB or EPUB 2 input)
    warnings: list[str] = field(default_factory=list)  # e.g. why the source was rebuilt


def write_readalong(
    out: Path,
    book: Book,
    chapters: Sequence[TimedChapter],
    audio: Mapping[int, Path],
    *,
    source: Path | None,
    narrator: str,
    words: bool = False,
    audio_type: str = "audio/mp4",
) -> ReadAlongResult:
    """Write the read-along EPUB of ``chapters`` (each with its encoded audio) to ``out``, atomically.

    ``source``: the EPUB the book was read from, or None to build one from the book's chapters.
    """
    out = Path(out)
    if not chapters:
        raise VoxError("no chapters to write a read-along EPUB of", "convert at least one chapter")
    warnings: list[str] = []
    with atomic_path(out) as tmp:
        if source is not None:
            try:
                done = overlay_epub(
                    Path(source), tmp, chapters, audio, narrator=narrator, words=words, audio_type=audio_type
                )
            except NotOverlayable as why:
                warnings.append(f"{why}: built a clean EPUB 3 from the chapters instead")
            else:
                return _result(done, rebuilt=False, warnings=warnings)
        try:
            with tempfile.TemporaryDirectory(prefix=".voxcli-readalong-", dir=out.parent) as folder:
                clean = Path(folder) / "book.epub"
                build_epub(book, clean)
                done = overlay_epub(
                    clean, tmp, chapters, audio, narrator=narrator, words=words, audio_type=audio_type
                )
        except OSError as exc:
            raise write_error(out, exc) from exc
        except NotOverlayable as why:  # never for a book built here
            raise VoxError(f"cannot write a read-along EPUB: {why}") from why
        return _result(done, rebuilt=True, warnings=warnings)


def _result(done: Overlay, *, rebuilt: bool, warnings: list[str]) -> ReadAlongResult:
    return ReadAlongResult(
        pars=done.pars,
        documents=done.documents,
        unmatched=done.unmatched,
        unspoken=done.unspoken,
        duration=done.duration_ms / 1000,
        rebuilt=rebuilt,
        warnings=warnings + done.warnings,
    )
