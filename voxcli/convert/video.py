"""``--format mp4``: the finished chapters as video (one file for the book, or one per chapter).

Made from the audio cache after the chapters, like the M4B: the picture is the cover (or a title
card), the sound the chapter audio, the subtitles the chapter's cues, and the chapters are marks.
A file up to date (same chapters, settings, cover and tags) is kept.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from voxcli.arrays import Int16
from voxcli.audio.subtitles import Cue, build_cues
from voxcli.audio.timeline import TimedChapter
from voxcli.book import Book, Cover
from voxcli.convert.cache import AudioCache
from voxcli.convert.plan import safe_name
from voxcli.convert.timeline import ChapterReader, Finished, spoken
from voxcli.errors import VoxError

if TYPE_CHECKING:
    from voxcli.video import Section, VideoSettings


@dataclass(frozen=True)
class VideoRequest:
    mode: Literal["book", "chapters"] = "book"
    settings: VideoSettings | None = None  # None: voxcli.video's defaults
    cover: Cover | None = field(default=None, repr=False)  # --cover; else the book's own


@dataclass(frozen=True)
class _Part:
    file: str
    title: str
    chapters: list[Finished]


def _parts(book: Book, chapters: list[Finished], mode: str) -> list[_Part]:
    if mode == "chapters":
        return [_Part(f"{c.plan.stem}.mp4", c.plan.title, [c]) for c in chapters]
    return [_Part(f"{safe_name(book.title, 'Audiobook')}.mp4", book.title, chapters)] if chapters else []


def write_book_video(
    book: Book,
    chapters: list[Finished],
    outdir: Path,
    *,
    cache: AudioCache,
    request: VideoRequest,
    ceiling: float | None,
    previous: dict[str, Any] | None,
    should_stop: Callable[[], int],
    force: bool = False,
) -> tuple[dict[str, Any], list[str]]:
    """Write the video files that are not up to date; returns the manifest record and the files
    written this run."""
    from voxcli.audio.cover import usable
    from voxcli.video import Section, VideoSettings, write_mp4

    settings = request.settings or VideoSettings()
    cover = request.cover or usable(book.cover)
    cover_digest = hashlib.sha256(cover.data).hexdigest() if cover else ""
    old = {
        p.get("file"): p for p in (previous or {}).get("parts", []) if isinstance(p, dict) and p.get("file")
    }
    records, written = [], []
    for part in _parts(book, chapters, request.mode):
        rate = part.chapters[0].rate
        for chapter in part.chapters:
            if chapter.rate != rate:
                raise VoxError(
                    f"chapter {chapter.plan.index} is at {chapter.rate} Hz, the others at {rate}",
                    "convert every chapter with one voice (again with --force), or use --video chapters",
                )
        build = hashlib.sha256(
            json.dumps(
                [
                    [(c.build, c.gain_db, c.samples) for c in part.chapters],
                    _settings_record(settings),
                    cover_digest,
                    [book.title, book.author, book.language],
                    part.file,
                ],
                sort_keys=True,
                default=str,
            ).encode("utf-8")
        ).hexdigest()
        final = outdir / part.file
        before = old.get(part.file)
        samples = sum(c.samples for c in part.chapters)
        record = {
            "file": part.file,
            "title": part.title,
            "chapters": [c.plan.index for c in part.chapters],
            "duration": round(samples / rate, 3),
            "build": build,
        }
        if (
            not force
            and before is not None
            and before.get("build") == build
            and final.is_file()
            and final.stat().st_size == before.get("size")
        ):
            records.append({**record, "size": before["size"]})
            continue
        readers = [ChapterReader(c, cache, ceiling) for c in part.chapters]
        sections: list[Section] = []
        cues: list[Cue] = []
        offset = 0
        for reader in readers:
            timeline = reader.timeline()
            sections.append(Section(timeline.title, offset, offset + timeline.samples))
            cues.extend(_cues(timeline, offset, len(cues)))
            offset += timeline.samples

        def audio(readers: list[ChapterReader] = readers) -> Iterator[Int16]:
            for reader in readers:
                yield from reader.pcm()

        write_mp4(
            final,
            rate=rate,
            samples=samples,
            audio=audio(),
            sections=sections,
            cues=cues,
            cover=cover,
            book_title=book.title,
            author=book.author,
            language=book.language,
            settings=settings,
            should_stop=lambda: bool(should_stop()),
        )
        written.append(part.file)
        records.append({**record, "size": final.stat().st_size})
    kept = {r["file"] for r in records}
    for name in old:
        if isinstance(name, str) and name not in kept and Path(name).name == name and name.endswith(".mp4"):
            (outdir / name).unlink(missing_ok=True)
    return {
        "format": "mp4",
        "mode": request.mode,
        "subtitles": "burned" if settings.burn is not None else "mov_text",
        "cover": cover.media_type if cover else None,
        "parts": records,
    }, written


def _cues(timeline: TimedChapter, offset: int, before: int) -> list[Cue]:
    """The chapter's subtitle cues, ``offset`` samples into the file, numbered after ``before``."""
    sentences = spoken(timeline)
    if not sentences:
        return []
    shift = offset / timeline.rate
    cues = build_cues(sentences, timeline.rate, timeline.duration)
    return [
        replace(c, index=before + i, start=c.start + shift, end=c.end + shift)
        for i, c in enumerate(cues, start=1)
    ]


def _settings_record(settings: VideoSettings) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(settings).items()}
