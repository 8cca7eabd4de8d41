"""``--format epub``: the read-along EPUB 3 of the finished chapters, made from the audio cache.

Each chapter's audio is encoded to AAC in an MP4 (.m4a, ``audio/mp4``) for the EPUB: an EPUB 3 core
media type like MP3, but the MP4 edit list records the encoder's priming and padding, so a decoded
chapter is exactly as long as the chapter WAV and the clip times (exact sample offsets) land on the
samples they name. MP3 has no such record that every reading system honours, and AAC at 64 kbps is
as clear for speech as MP3 at 96. A file up to date (same chapters, settings and source) is kept.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxcli.book import Book
from voxcli.convert.cache import AudioCache
from voxcli.convert.plan import safe_name
from voxcli.convert.timeline import ChapterReader, Finished
from voxcli.errors import Interrupted
from voxcli.fsutil import write_error

AUDIO_TYPE = "audio/mp4"
EPUB_SUFFIXES = (".epub",)  # the inputs overlaid in place; every other book is rebuilt as EPUB 3


@dataclass(frozen=True)
class ReadAlongSettings:
    words: bool = False  # word-level pars where the engine (or the alignment) timed the words
    kbps: int = 64  # AAC bitrate of the audio inside the EPUB


def readalong_file(book: Book) -> str:
    return f"{safe_name(book.title, 'Audiobook')}.epub"


def source_digest(source: str) -> str:
    """The input book's digest (an overlaid EPUB copies it), "" when it cannot be read (stdin)."""
    digest = hashlib.sha256()
    try:
        with Path(source).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()


def write_book_readalong(
    book: Book,
    chapters: list[Finished],
    outdir: Path,
    *,
    cache: AudioCache,
    source: str,
    settings: ReadAlongSettings,
    narrator: str,
    ceiling: float | None,
    previous: dict[str, Any] | None,
    should_stop: Callable[[], int],
    scratch: Path,
    force: bool = False,
) -> tuple[dict[str, Any], bool]:
    """Write the read-along EPUB unless it is up to date; returns its manifest record and whether it
    was written."""
    from voxcli.audio.m4b import choose_encoder, open_encoder
    from voxcli.readalong import write_readalong

    name = readalong_file(book)
    overlaid = Path(source).suffix.lower() in EPUB_SUFFIXES
    build = hashlib.sha256(
        json.dumps(
            [
                [(c.build, c.gain_db, c.samples) for c in chapters],
                settings.words,
                settings.kbps,
                narrator,
                source_digest(source) if overlaid else "",
                name,
            ]
        ).encode("utf-8")
    ).hexdigest()
    final = outdir / name
    if (
        not force
        and previous is not None
        and previous.get("build") == build
        and final.is_file()
        and final.stat().st_size == previous.get("size")
    ):
        return previous, False
    encoder = choose_encoder()
    try:
        scratch.mkdir(parents=True, exist_ok=True)
        folder = tempfile.TemporaryDirectory(prefix="readalong.", dir=scratch)
    except OSError as exc:
        raise write_error(scratch, exc) from exc
    with folder as temp:
        timelines, audio = [], {}
        for chapter in chapters:
            if should_stop():
                raise Interrupted(
                    f"stopped while writing {name}; the chapters are saved",
                    "run the same command again to finish the EPUB",
                    should_stop() or 2,
                )
            reader = ChapterReader(chapter, cache, ceiling)
            timelines.append(reader.timeline())
            path = Path(temp) / f"{chapter.plan.index:04d}.m4a"
            sink = open_encoder(
                encoder, path, rate=chapter.rate, kbps=settings.kbps, markers=[], language=book.language
            )
            try:
                for block in reader.pcm():
                    sink.write(block)
                sink.finish()
            except BaseException:
                sink.abort()
                raise
            audio[chapter.plan.index] = path
        result = write_readalong(
            final,
            book,
            timelines,
            audio,
            source=Path(source) if overlaid else None,
            narrator=narrator,
            words=settings.words,
            audio_type=AUDIO_TYPE,
        )
    record = {
        "file": name,
        "build": build,
        "size": final.stat().st_size,
        "chapters": [c.plan.index for c in chapters],
        "duration": round(sum(c.samples / c.rate for c in chapters), 3),  # the audio inside
        "overlay_duration": round(result.duration, 3),  # media:duration: the clips' total
        "audio": f"AAC {settings.kbps} kbps in MP4 ({AUDIO_TYPE})",
        "level": "words" if settings.words else "sentences",
        "pars": result.pars,
        "documents": result.documents,
        "rebuilt": result.rebuilt,
        "unmatched": result.unmatched,
        "unspoken": result.unspoken,
        "warnings": result.warnings,
    }
    return record, True
