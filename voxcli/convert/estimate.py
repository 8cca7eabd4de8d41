"""What ``convert --dry-run`` shows: the plan, what the cache holds already, and what the rest will cost.

Nothing is spoken and nothing is written: the engine's class is imported, its model is not loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxcli.book import WORDS_PER_MINUTE
from voxcli.convert.cache import AudioCache
from voxcli.convert.pipeline import STATE_DIR, ConvertRequest, plan, pronouncer, worker_count


@dataclass(frozen=True)
class ChapterEstimate:
    index: int
    title: str
    file: str  # the name of the chapter's files, without a suffix
    sentences: int
    characters: int
    cached_sentences: int  # already in the audio cache: nothing to speak
    audio_seconds: float  # estimated length of the audio, to 0.1 s
    work_seconds: float  # estimated time to speak what the cache lacks, to 0.1 s
    # Per segment: the book's text, what the engine is given (text, or phonemes), and whether cached.
    segments: list[dict[str, Any]] = field(default_factory=list)

    def as_record(self) -> dict[str, Any]:
        """The chapter as ``convert --dry-run --json`` prints it."""
        return {
            "index": self.index,
            "title": self.title,
            "file": self.file,
            "sentences": self.sentences,
            "characters": self.characters,
            "cached_sentences": self.cached_sentences,
            "estimated_audio_seconds": self.audio_seconds,
            "estimated_work_seconds": self.work_seconds,
            "segments": self.segments,
        }


@dataclass(frozen=True)
class Estimate:
    outdir: Path
    voice: str  # the profile's name
    engine: str
    jobs: int  # worker processes the conversion would use
    chapters: list[ChapterEstimate]
    warnings: list[str] = field(default_factory=list)  # pronunciations the engine cannot use

    @property
    def audio_seconds(self) -> float:
        return sum(c.audio_seconds for c in self.chapters)

    @property
    def work_seconds(self) -> float:
        return sum(c.work_seconds for c in self.chapters)

    def as_record(self) -> dict[str, Any]:
        """What ``convert --dry-run --json`` prints."""
        return {
            "outdir": str(self.outdir),
            "voice": self.voice,
            "engine": self.engine,
            "jobs": self.jobs,
            "chapters": [c.as_record() for c in self.chapters],
            "warnings": self.warnings,
        }


def estimate(request: ConvertRequest) -> Estimate:
    """The requested chapters with their estimated audio length (at :data:`~voxcli.book.WORDS_PER_MINUTE`
    and the voice's speed) and the work left (at the engine's ``chars_per_second`` per worker)."""
    cls, plans = plan(request)
    cache = AudioCache(request.outdir / STATE_DIR / "cache")
    jobs = worker_count(request.jobs, cls)
    throughput = cls.chars_per_second * (jobs if cls.parallel else 1)
    chapters = []
    for chapter in plans:
        todo = [s for s in chapter.segments if not cache.has(s.key)]
        words = sum(len(s.text.split()) for s in chapter.segments)
        chapters.append(
            ChapterEstimate(
                index=chapter.index,
                title=chapter.title,
                file=chapter.stem,
                sentences=len(chapter.segments),
                characters=chapter.chars,
                cached_sentences=len(chapter.segments) - len(todo),
                audio_seconds=round(words / WORDS_PER_MINUTE * 60 / request.profile.speed, 1),
                work_seconds=round(sum(len(s.speech) for s in todo) / throughput, 1),
                segments=[
                    {
                        "kind": s.kind,
                        "voice": s.voice or request.profile.name,
                        "speaker": s.speaker,
                        "lang": s.lang,
                        "pause": s.pause,
                        "text": s.text,
                        "speech": s.speech,
                        "cached": cache.has(s.key),
                    }
                    for s in chapter.segments
                ],
            )
        )
    return Estimate(
        outdir=request.outdir,
        voice=request.profile.name,
        engine=cls.name,
        jobs=jobs,
        chapters=chapters,
        warnings=[*request.book.warnings, *pronouncer(request, cls).warnings()],
    )
