"""The M4B audiobook: the finished chapters, read back from the audio cache, in one file or in parts.

Nothing is synthesised here: every chapter has been assembled (so its sentences are cached and its
loudness gain is known) before this runs. A part whose chapters, settings and tags have not changed
since it was written is left alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voxcli.audio.m4b import M4bTags, Marker, choose_encoder, describe_encoder, open_encoder, write_tags
from voxcli.book import Book, Cover
from voxcli.convert.cache import AudioCache, CacheMissing, Entry
from voxcli.convert.chapter_audio import ChapterAudio
from voxcli.convert.plan import ChapterPlan, safe_name
from voxcli.errors import Interrupted, VoxError
from voxcli.fsutil import atomic_path

AAC_KBPS = (16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)


@dataclass(frozen=True)
class AudiobookSettings:
    kbps: int = 64
    split_hours: float | None = None  # at most this long per part (a longer chapter is a part alone)
    cover: Cover | None = None  # --cover; else the book's own, when it is a JPEG or PNG
    narrator: str = ""


@dataclass(frozen=True)
class ChapterSource:
    """A finished chapter as the M4B needs it."""

    plan: ChapterPlan
    samples: int
    rate: int
    gain_db: float
    build: str


@dataclass
class PartPlan:
    file: str
    title: str
    number: int
    chapters: list[ChapterSource]
    build: str
    tags: M4bTags = field(repr=False)

    @property
    def samples(self) -> int:
        return sum(c.samples for c in self.chapters)


class Progress:
    """Callbacks while M4B files are written (seconds of audio); remembers which were written."""

    def __init__(self) -> None:
        self.written: list[str] = []

    def started(self, name: str, seconds: float) -> None: ...
    def advanced(self, seconds: float) -> None: ...

    def done(self, name: str, written: bool) -> None:
        if written:
            self.written.append(name)


def split_parts(lengths: list[int], limit: int | None) -> list[list[int]]:
    """Consecutive groups of ``lengths`` (their indices), each at most ``limit`` where possible.

    As few parts as the limit allows, then balanced: the longest part is as short as it can be with
    that many parts. A chapter longer than the limit is a part of its own.
    """
    if not lengths:
        return []
    if limit is None or sum(lengths) <= limit:
        return [list(range(len(lengths)))]

    def greedy(cap: int) -> list[list[int]]:
        parts: list[list[int]] = [[]]
        total = 0
        for i, length in enumerate(lengths):
            if parts[-1] and total + length > cap:
                parts.append([])
                total = 0
            parts[-1].append(i)
            total += length
        return parts

    if max(lengths) > limit:
        return greedy(limit)
    count = len(greedy(limit))
    low, high = max(lengths), limit
    while low < high:  # the smallest cap that needs no more parts than the limit does
        middle = (low + high) // 2
        if len(greedy(middle)) <= count:
            high = middle
        else:
            low = middle + 1
    return greedy(low)


def plan_parts(book: Book, chapters: list[ChapterSource], settings: AudiobookSettings) -> list[PartPlan]:
    from voxcli.audio.cover import usable

    rate = chapters[0].rate if chapters else 0
    limit = round(settings.split_hours * 3600 * rate) if settings.split_hours else None
    groups = split_parts([c.samples for c in chapters], limit)
    stem = safe_name(book.title, "Audiobook")
    cover = settings.cover or usable(book.cover)
    cover_digest = hashlib.sha256(cover.data).hexdigest() if cover else ""
    parts = []
    for number, group in enumerate(groups, start=1):
        many = len(groups) > 1
        width = len(str(len(groups)))
        name = f"{stem} - Part {number:0{width}d}.m4b" if many else f"{stem}.m4b"
        title = f"{book.title} (Part {number} of {len(groups)})" if many else book.title
        members = [chapters[i] for i in group]
        tags = M4bTags(
            title=title,
            album=book.title,
            author=book.author,
            narrator=settings.narrator,
            year=book.year,
            language=book.language,
            description=book.description,
            track=number,
            tracks=len(groups),
            cover=cover,
        )
        tag_fields = {k: v for k, v in asdict(tags).items() if k != "cover"}
        build = hashlib.sha256(
            json.dumps(
                [
                    [(c.build, c.gain_db, c.samples) for c in members],
                    settings.kbps,
                    tag_fields,
                    cover_digest,
                    name,
                ],
                sort_keys=True,
            ).encode("utf-8")
        ).hexdigest()
        parts.append(
            PartPlan(file=name, title=title, number=number, chapters=members, build=build, tags=tags)
        )
    return parts


def up_to_date(part: PartPlan, previous: dict[str, Any], outdir: Path) -> bool:
    for old in previous.get("parts", []):
        if isinstance(old, dict) and old.get("file") == part.file and old.get("build") == part.build:
            path = outdir / part.file
            return path.is_file() and path.stat().st_size == old.get("size")
    return False


def write_part(
    part: PartPlan,
    outdir: Path,
    *,
    cache: AudioCache,
    settings: AudiobookSettings,
    encoder: str,
    ceiling: float | None,
    progress: Progress,
    should_stop: Callable[[], int],
) -> None:
    """Write one M4B to a temp file, tag it, and rename it into place."""
    final = outdir / part.file
    rate = part.chapters[0].rate
    markers, start = [], 0
    for chapter in part.chapters:
        markers.append(
            Marker(
                " ".join(chapter.plan.title.split()) or f"Chapter {chapter.plan.index}",
                start,
                start + chapter.samples,
            )
        )
        start += chapter.samples
    progress.started(part.file, part.samples / rate)

    def fetch(key: str) -> Entry:
        entry = cache.get(key)
        if entry is None:
            raise CacheMissing([key])
        return entry

    with atomic_path(final) as temp:
        sink = open_encoder(
            encoder, temp, rate=rate, kbps=settings.kbps, markers=markers, language=part.tags.language
        )
        try:
            for chapter in part.chapters:
                written = 0
                audio = ChapterAudio(chapter.plan, fetch)
                for piece in audio.pieces(chapter.gain_db, ceiling):
                    if should_stop():
                        raise Interrupted(
                            f"stopped while writing {part.file}; the chapters are saved",
                            "run the same command again to finish the M4B",
                            should_stop() or 2,
                        )
                    if audio.rate != rate:
                        raise VoxError(
                            f"chapter {chapter.plan.index} is at {audio.rate} Hz, the others at {rate}",
                            "convert every chapter with the same voice (run again with --force)",
                        )
                    sink.write(piece.samples)
                    sink.write(np.zeros(piece.pause, dtype=np.int16))
                    written += len(piece.samples) + piece.pause
                    progress.advanced((len(piece.samples) + piece.pause) / rate)
                if written != chapter.samples:
                    raise VoxError(
                        f"chapter {chapter.plan.index} changed since it was written",
                        "run the same command again",
                    )
            sink.finish()
        except CacheMissing:
            sink.abort()
            raise VoxError(
                f"a sentence of {part.file} is missing from the audio cache",
                "run the same command again: it will be spoken again",
            ) from None
        except BaseException:
            sink.abort()
            raise
        write_tags(temp, part.tags, final)
    progress.done(part.file, True)


def write_audiobook(
    book: Book,
    chapters: list[ChapterSource],
    outdir: Path,
    *,
    cache: AudioCache,
    settings: AudiobookSettings,
    ceiling: float | None,
    previous: dict[str, Any],
    progress: Progress,
    should_stop: Callable[[], int],
    force: bool = False,
) -> dict[str, Any]:
    """Write the parts that are not up to date (all with ``force``); returns the manifest's record."""
    parts = plan_parts(book, chapters, settings)
    encoder = choose_encoder()
    for part in parts:
        if not force and up_to_date(part, previous, outdir):
            progress.done(part.file, False)
            continue
        write_part(
            part,
            outdir,
            cache=cache,
            settings=settings,
            encoder=encoder,
            ceiling=ceiling,
            progress=progress,
            should_stop=should_stop,
        )
    kept = {part.file for part in parts}
    for old in previous.get("parts", []):
        name = old.get("file") if isinstance(old, dict) else None
        if isinstance(name, str) and name not in kept and Path(name).name == name and name.endswith(".m4b"):
            (outdir / name).unlink(missing_ok=True)
    cover = parts[0].tags.cover if parts else None
    return {
        "format": "m4b",
        "encoder": describe_encoder(encoder),
        "bitrate_kbps": settings.kbps,
        "split_hours": settings.split_hours,
        "cover": cover.media_type if cover else None,
        "parts": [
            {
                "file": p.file,
                "title": p.title,
                "chapters": [c.plan.index for c in p.chapters],
                "duration": round(p.samples / p.chapters[0].rate, 3),
                "build": p.build,
                "size": (outdir / p.file).stat().st_size,
            }
            for p in parts
        ],
    }
