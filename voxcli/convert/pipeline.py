"""A book to an audiobook folder: plan, synthesise what the cache lacks, assemble, record.

No typer or rich here: progress goes through a :class:`Reporter`, a stop request through
``should_stop``, and problems are raised as :class:`~voxcli.errors.VoxError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voxcli.book import Book, Cover
from voxcli.convert.assemble import BookTags, ChapterResult, OutputSettings, assemble_chapter
from voxcli.convert.audiobook import AudiobookSettings, ChapterSource
from voxcli.convert.audiobook import Progress as AudiobookProgress
from voxcli.convert.cache import AudioCache, CacheMissing
from voxcli.convert.chapter_audio import KEEP_SAMPLES
from voxcli.convert.manifest import (
    ManifestChapter,
    previous_chapters,
    read_manifest,
    write_manifest,
    write_playlist,
)
from voxcli.convert.plan import ChapterPlan, SentenceMemo, Voiced, VoicePlan, plan_book
from voxcli.convert.readalong import ReadAlongSettings
from voxcli.convert.record import write_plan_record
from voxcli.convert.timeline import Finished
from voxcli.convert.video import VideoRequest
from voxcli.engines import engine_class, ensure_usable, load_engine, registry
from voxcli.engines.base import Engine, VoiceProfile, forget_models
from voxcli.errors import EngineError, Interrupted, VoxError
from voxcli.fsutil import remove_stale_temps, write_error
from voxcli.lexicon.model import Lexicon
from voxcli.lexicon.pronounce import Pronouncer, book_lexicon

if TYPE_CHECKING:
    from voxcli.convert.casting import Casting  # (the cast file's parser: only with a cast)
    from voxcli.convert.passages import Passages
    from voxcli.convert.retake import ChapterVerdict, VerifySettings  # (the speech checks: --verify only)
    from voxcli.convert.synth import Speakers, Voice
    from voxcli.voicelang import BookLanguage

STATE_DIR = ".voxcli"  # inside the output folder: the audio cache
LEAN_KEEP_SAMPLES = 2_000_000  # audio a chapter's levelling holds while a model is loaded (about 4 MB)


@dataclass(frozen=True)
class ConvertRequest:
    book: Book
    source: str  # the book's path, for the manifest
    profile: VoiceProfile
    outdir: Path
    chapters: list[int]  # chapter numbers to convert
    settings: OutputSettings = field(default_factory=OutputSettings)
    jobs: int = 1  # worker processes; 0: the default (see worker_count)
    titles: bool = True
    force: bool = False  # rewrite chapter files even when they are up to date
    device: str = "auto"
    audiobook: AudiobookSettings | None = None  # also write an M4B of the chapters
    verify: VerifySettings | None = None  # listen to each chapter and re-speak what it does not say
    lexicon: Lexicon = field(default_factory=Lexicon)  # the user's pronunciations (files, --lexicon)
    book_lexicon: bool = True  # honour the book's own PLS lexicons and SSML pronunciations
    cast: Casting | None = None  # characters' quotes in their own voices (convert --cast)
    passages: Passages | None = None  # passages in other languages in their own voices (--passages)
    language: BookLanguage | None = None  # the book's language and why the narrator is who it is
    voice_map: dict[int, VoiceProfile] = field(default_factory=dict)  # chapter -> its reader (--voice-map)
    tagged: dict[str, VoiceProfile] | None = None  # the voices of a TXT/Markdown book's tags; None: --no-tags
    readalong: ReadAlongSettings | None = None  # also write a read-along EPUB 3 (--format epub)
    video: VideoRequest | None = None  # also write MP4 video (--format mp4)
    shelf: bool = False  # also write Audiobookshelf's cover.jpg, desc.txt, reader.txt, metadata.json
    cover: Cover | None = field(default=None, repr=False)  # --cover, for the video and Audiobookshelf

    @property
    def voices(self) -> dict[str, VoiceProfile]:
        """Every voice but the narrator's: the cast's and the voice map's, by name."""
        found = dict(self.cast.profiles) if self.cast is not None else {}
        found.update(self.tagged or {})
        for name, profile in (self.passages.profiles if self.passages is not None else {}).items():
            found.setdefault(name, profile)
        for profile in self.voice_map.values():
            if profile != self.profile:
                found.setdefault(profile.name, profile)
        return found

    def voice(self, name: str) -> VoiceProfile:
        """The profile of a segment's voice ("" is the narrator's, the request's own)."""
        return self.voices[name] if name else self.profile


@dataclass
class Summary:
    chapters: int = 0  # written this run
    skipped: int = 0  # already up to date
    sentences: int = 0  # segments in the chapters written
    synthesized: int = 0  # segments spoken this run (the rest came from the cache)
    synth_chars: int = 0
    audio_seconds: float = 0.0  # of the chapters written
    synth_audio_seconds: float = 0.0  # of what was spoken this run
    synth_seconds: float = 0.0  # wall time spent speaking
    wall_seconds: float = 0.0
    jobs: int = 1  # worker processes this run could use
    audiobook_written: list[str] = field(default_factory=list)  # M4B files written this run
    products_written: list[str] = field(
        default_factory=list
    )  # read-along EPUB and MP4 files written this run
    verified: int = 0  # sentences --verify listened to
    verify_flagged: int = 0  # ... that it flagged at first
    repaired: int = 0  # ... and that a new take fixed
    still_flagged: list[str] = field(default_factory=list)  # texts that stayed flagged
    verify_report: Path | None = None  # the HTML page of what --verify heard
    recognizer: str | None = None  # the recogniser --verify listened with
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def chars_per_second(self) -> float:
        return self.synth_chars / self.synth_seconds if self.synth_seconds else 0.0

    @property
    def real_time_factor(self) -> float:
        """Seconds of work per second of audio spoken (below 1: faster than real time)."""
        return self.synth_seconds / self.synth_audio_seconds if self.synth_audio_seconds else 0.0


def worker_count(requested: int | None, engine: type[Engine]) -> int:
    """The number of worker processes a conversion with ``engine`` uses.

    ``requested`` is ``--jobs`` as given; None or 0 means none was given, and then it is one per CPU
    core for engines cheap enough to run a model per core (``Engine.parallel``), else 1. Any other
    number is used as it is (the CLI allows 1 to 64).
    """
    if requested:
        return requested
    return (os.cpu_count() or 1) if engine.parallel else 1


class Reporter:
    """Progress callbacks; the default does nothing. Used as a context manager around the run."""

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def planned(self, plans: list[ChapterPlan], todo: list[ChapterPlan], work_chars: int) -> None: ...
    def chapter_started(self, plan: ChapterPlan, work_chars: int) -> None: ...
    def advanced(self, chars: int) -> None: ...
    def chapter_done(self, result: ChapterResult, plan: ChapterPlan) -> None: ...

    def audiobook(self) -> AudiobookProgress:
        return AudiobookProgress()


def engine_class_of(request: ConvertRequest) -> type[Engine]:
    """The engine class of the request's profile (imported, not loaded)."""
    return engine_class(request.profile.engine, request.profile.where("engine"))


def pronouncer(request: ConvertRequest, cls: type[Engine], profile: VoiceProfile | None = None) -> Pronouncer:
    """The pronunciations of the request for an engine and profile (by default the narrator's): the
    book's (unless turned off) below the user's files, below the profile's own table."""
    profile = profile or request.profile
    user = request.lexicon
    if profile.lexicon is not None:
        user = user.merged(profile.lexicon)
    book = book_lexicon(request.book) if request.book_lexicon else Lexicon()
    return Pronouncer(cls, profile, book=book, user=user, use_marks=request.book_lexicon)


def cast_voices(request: ConvertRequest) -> dict[str, VoicePlan]:
    """Every cast voice but the narrator's, ready for planning (engines imported, never loaded)."""
    voices: dict[str, VoicePlan] = {}
    for name, profile in request.voices.items():
        cls = engine_class(profile.engine, profile.where("engine"))
        voices[name] = VoicePlan(
            profile, cls.identity(profile), cls.max_chars, pronouncer(request, cls, profile)
        )
    return voices


def plan(request: ConvertRequest, remember: bool = False) -> tuple[type[Engine], list[ChapterPlan]]:
    """The chapter plans (cheap: the engine's module is imported, its model is not loaded).

    With ``remember``, sentence splits are kept in (and reused from) the output folder.
    """
    from voxcli.text.normalize import normalize

    profile = request.profile
    cls = engine_class(profile.engine, profile.where("engine"))
    memo = SentenceMemo(request.outdir / STATE_DIR / "sentences.json", writable=remember)
    plans = plan_book(
        request.book,
        request.chapters,
        profile=profile,
        identity=cls.identity(profile),
        max_chars=cls.max_chars,
        normalize=normalize,
        titles=request.titles,
        memo=memo,
        pronounce=pronouncer(request, cls),
        voices=cast_voices(request),
        voiced=voiced(request),
        chapter_voices={n: p.name for n, p in request.voice_map.items() if p != request.profile},
        tags=request.tagged is not None and request.book.tags,
        lang=request.language.lang if request.language is not None else "",
    )
    return cls, plans


def voiced(request: ConvertRequest) -> dict[int, list[Voiced]]:
    """The stretches of each chapter that another voice says: the cast's quotes, then the passages in
    other languages (where a passage and a quote overlap, the one that starts first wins)."""
    found: dict[int, list[Voiced]] = {}
    for source in (
        request.cast.voiced if request.cast is not None else {},
        request.passages.voiced if request.passages is not None else {},
    ):
        for chapter, stretches in source.items():
            found.setdefault(chapter, []).extend(stretches)
    return found


def work_left(request: ConvertRequest) -> int:
    """Characters a conversion of ``request`` would speak (what its cache lacks), planned as
    :func:`convert` plans them (the sentence splits are kept for it)."""
    _, plans = plan(request, remember=True)
    cache = AudioCache(request.outdir / STATE_DIR / "cache")
    return sum(len(speech) for speech in _missing(plans, cache).values())


def convert(
    request: ConvertRequest,
    reporter: Reporter | None = None,
    should_stop: Callable[[], int] = lambda: 0,
    speakers: Speakers[Any] | None = None,
) -> Summary:
    """Convert the requested chapters; ``should_stop`` returns a signal number to stop after the sentence.

    ``speakers``: long-lived speakers shared with other books (``voxcli batch``), which then speak
    everything the narrator says; without them this run starts its own when ``request.jobs`` asks.
    """
    reporter = reporter or Reporter()
    started = time.monotonic()
    outdir = request.outdir
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(outdir, exc) from exc
    cls, plans = plan(request, remember=True)
    request = replace(request, jobs=worker_count(request.jobs, cls))
    write_plan_record(outdir / STATE_DIR, plans, request.profile.lang, narrator(request.profile))
    cache = AudioCache(outdir / STATE_DIR / "cache")
    cache.clean()
    remove_stale_temps(outdir)
    remove_stale_temps(outdir / STATE_DIR)

    old = read_manifest(outdir)
    records = previous_chapters(old)
    book_record = old.get("audiobook") if isinstance(old.get("audiobook"), dict) else None
    products = {kind: old[kind] for kind in PRODUCTS if isinstance(old.get(kind), dict)}
    tracks = len(request.book.chapters)
    builds = {p.index: _build_id(p, request, tracks) for p in plans}
    todo = [
        p
        for p in plans
        if request.force
        or not _up_to_date(records.get(p.index), builds[p.index], outdir)
        # The M4B is made from the cached sentences: a chapter that lost some is made again.
        or (request.audiobook is not None and not all(cache.has(s.key) for s in p.segments))
    ]
    missing = _missing(todo, cache)
    reporter.planned(plans, todo, sum(len(speech) for speech in missing.values()))

    summary = Summary(skipped=len(plans) - len(todo), jobs=request.jobs)
    session = _Session(request, cls, cache, reporter, should_stop, summary, missing, speakers)
    session.voice_of = {s.key: s.voice for p in plans for s in p.segments if s.voice}

    def save() -> dict[str, Any]:
        return _write_records(request, records, book_record, products)

    def finish(chapter_plan: ChapterPlan) -> tuple[ChapterPlan, ChapterResult, list[str]]:
        """Listen (--verify), then write the chapter's files; returns what its record needs."""
        result = session.finish(chapter_plan, tracks)
        flagged = session.suspicious()
        return chapter_plan, result, [s.text for s in chapter_plan.segments if s.speech in flagged]

    def keep(chapter_plan: ChapterPlan, result: ChapterResult, suspicious: list[str]) -> None:
        verdict = session.verdicts.get(chapter_plan.index)
        checked = verdict.as_record(request.verify.recognizer) if verdict and request.verify else None
        record = _record(result, builds[chapter_plan.index], suspicious, checked)
        before = records.get(result.index)
        stale = set(before.files.values() if before else ()) - set(result.files.values())
        for name in stale:
            (outdir / name).unlink(missing_ok=True)
        records[result.index] = record
        summary.manifest = save()

    try:
        # When the speaking happens elsewhere (worker processes, a GPU), this process finishes
        # chapter N (listens to it, assembles and encodes it) while chapter N+1 is spoken.
        with ThreadPoolExecutor(1, thread_name_prefix="voxcli-finish") as finishing:
            pending: Future[tuple[ChapterPlan, ChapterResult, list[str]]] | None = None
            for chapter_plan in todo:
                session.speak(chapter_plan)
                if pending is not None:
                    keep(*pending.result())
                    pending = None
                if session.speaks_elsewhere():
                    pending = finishing.submit(finish, chapter_plan)
                else:
                    keep(*finish(chapter_plan))
            if pending is not None:
                keep(*pending.result())
    finally:
        session.close()
    if request.verify is not None:
        from voxcli.convert.retake import write_report

        summary.verify_report = write_report(outdir, todo, session.verdicts, cache, lang=request.profile.lang)
        summary.recognizer = request.verify.recognizer
    if request.audiobook is not None and plans:
        book_record = _write_audiobook(
            request, plans, records, cache, book_record or {}, reporter, should_stop, summary
        )
        summary.manifest = save()
    finished = [
        Finished(
            p,
            records[p.index].samples,
            records[p.index].sample_rate,
            records[p.index].gain_db,
            records[p.index].build,
        )
        for p in plans
        if p.index in records
    ]
    if finished and (request.readalong is not None or request.video is not None):
        _write_products(request, finished, cache, products, should_stop, summary)
        summary.manifest = save()
    if request.shelf:
        _write_shelf(request, records, {p.index for p in plans})
    if not todo:
        summary.manifest = save()
    summary.wall_seconds = time.monotonic() - started
    return summary


PRODUCTS = ("readalong", "video")  # manifest keys of the book-level files besides the M4B


def _write_products(
    request: ConvertRequest,
    finished: list[Finished],
    cache: AudioCache,
    products: dict[str, Any],
    should_stop: Callable[[], int],
    summary: Summary,
) -> None:
    """The read-along EPUB and the video, from the finished chapters (each kept when up to date)."""
    loudness = request.settings.loudness
    ceiling = loudness.ceiling if loudness is not None else None
    if request.readalong is not None:
        from voxcli.convert.readalong import write_book_readalong

        record, written = write_book_readalong(
            request.book,
            finished,
            request.outdir,
            cache=cache,
            source=request.source,
            settings=request.readalong,
            narrator=narrator(request.profile),
            ceiling=ceiling,
            previous=products.get("readalong"),
            should_stop=should_stop,
            scratch=request.outdir / STATE_DIR,
            force=request.force,
        )
        products["readalong"] = record
        if written:
            summary.products_written.append(record["file"])
    if request.video is not None:
        from voxcli.convert.video import write_book_video

        video = request.video
        if video.cover is None and request.cover is not None:
            video = replace(video, cover=request.cover)
        record, files = write_book_video(
            request.book,
            finished,
            request.outdir,
            cache=cache,
            request=video,
            ceiling=ceiling,
            previous=products.get("video"),
            should_stop=should_stop,
            force=request.force,
        )
        products["video"] = record
        summary.products_written.extend(files)


def _write_shelf(request: ConvertRequest, records: dict[int, ManifestChapter], planned: set[int]) -> None:
    """Audiobookshelf's files beside the audio: the chapters as its audio holds them (the M4B: this
    run's chapters; chapter MP3s: every chapter the folder has)."""
    from voxcli.audio.cover import usable
    from voxcli.convert.shelf import write_shelf_files

    marks, start = [], 0.0
    for record in sorted(records.values(), key=lambda r: r.index):
        if request.audiobook is not None and record.index not in planned:
            continue
        end = start + record.samples / record.sample_rate
        marks.append((" ".join(record.title.split()) or f"Chapter {record.index}", start, end))
        start = end
    write_shelf_files(
        request.outdir,
        request.book,
        narrator=narrator(request.profile),
        chapters=marks,
        cover=request.cover or usable(request.book.cover),
    )


def _write_audiobook(
    request: ConvertRequest,
    plans: list[ChapterPlan],
    records: dict[int, ManifestChapter],
    cache: AudioCache,
    previous: dict[str, Any],
    reporter: Reporter,
    should_stop: Callable[[], int],
    summary: Summary,
) -> dict[str, Any]:
    from voxcli.convert.audiobook import write_audiobook

    assert request.audiobook is not None
    sources = [
        ChapterSource(
            plan=p,
            samples=records[p.index].samples,
            rate=records[p.index].sample_rate,
            gain_db=records[p.index].gain_db,
            build=records[p.index].build,
        )
        for p in plans
    ]
    progress = reporter.audiobook()
    loudness = request.settings.loudness
    settings = request.audiobook
    if not settings.narrator:
        settings = replace(settings, narrator=narrator(request.profile))
    ceiling = loudness.ceiling if loudness is not None else None
    record = write_audiobook(
        request.book,
        sources,
        request.outdir,
        cache=cache,
        settings=settings,
        ceiling=ceiling,
        previous=previous,
        progress=progress,
        should_stop=should_stop,
        force=request.force,
    )
    summary.audiobook_written = [p["file"] for p in record["parts"] if p["file"] in progress.written]
    return record


class _Session:
    """Synthesis state across chapters: the engine or worker pool, loaded on first need."""

    def __init__(
        self,
        request: ConvertRequest,
        cls: type[Engine],
        cache: AudioCache,
        reporter: Reporter,
        should_stop: Callable[[], int],
        summary: Summary,
        missing: dict[str, str],
        speakers: Speakers[Any] | None = None,
    ) -> None:
        self.request, self.cls, self.cache, self.reporter = request, cls, cache, reporter
        self.should_stop, self.summary, self.missing = should_stop, summary, missing
        self._shared = speakers  # another's: used, never closed here
        self._engine: Engine | None = None
        self._voices: dict[str, Engine] = {}  # cast voices other than the narrator's, loaded on need
        self.voice_of: dict[str, str] = {}  # cache key -> its cast voice ("" for the narrator)
        self._pool: Speakers[Any] | None = None  # this run's own worker processes
        self._total = len(missing)
        self.verdicts: dict[int, ChapterVerdict] = {}
        self._flagged: set[str] = set()  # suspicious() of engines closed by _release
        self._speaking = threading.Lock()
        self._loading = threading.Lock()

    def uses_workers(self) -> bool:
        """Whether chapters are spoken by worker processes (so this process is free to listen)."""
        return self._shared is not None or (self.request.jobs > 1 and self.cls.parallel)

    def speaks_elsewhere(self) -> bool:
        """Whether speaking leaves this process's cores free: worker processes, or a model on a GPU."""
        device = getattr(self._engine, "device", "cpu")
        return self.uses_workers() or (isinstance(device, str) and device.startswith("cuda"))

    def speak(self, plan: ChapterPlan) -> None:
        """Speak what the chapter's cache lacks."""
        jobs = [
            (key, self.missing[key])
            for key in dict.fromkeys(s.key for s in plan.segments)
            if key in self.missing
        ]
        self.reporter.chapter_started(plan, sum(len(speech) for _, speech in jobs))
        if jobs:
            self._speak(jobs)
        if not self.missing:
            self._release()

    def _release(self) -> None:
        """Nothing is left to speak: give back what this run loaded to speak (a neural voice's model
        and its buffers, hundreds of MB, or the worker processes) before the last files are made.
        A sentence that has to be spoken again after all (a lost cache entry) loads it again."""
        if self._shared is not None or self.request.verify is not None:
            return  # another's speakers; or --verify, which speaks new takes after the chapter
        with self._speaking:  # (a chapter finishing in the background may be speaking a retake)
            loaded = self._engine is not None or bool(self._voices)
            self._flagged |= self.suspicious()
            self.close()
            if loaded:
                forget_models()  # the process-wide copy too (a CLI run is the only user of the model)

    def _keep(self) -> int:
        """Samples of audio the levelling of a chapter may hold between passes: few while this process
        holds a model (its memory is what a run is measured by), plenty once it has none."""
        return LEAN_KEEP_SAMPLES if self._engine is not None or self._voices else KEEP_SAMPLES

    def finish(self, plan: ChapterPlan, tracks: int) -> ChapterResult:
        """After :meth:`speak`: the check (and new takes) of --verify, word timings, the files."""
        if self.request.verify is not None:
            self._verify(plan, self.request.verify)
        settings = self.request.settings
        words = settings.word_cues or (self.request.readalong is not None and self.request.readalong.words)
        if words:
            # Forced alignment times the sentences the engine did not: all of them for an engine
            # without word timings, the odd one for one with (Piper's phonemes can run two words
            # together, "a bird" as one, and then it gives that sentence none).
            from voxcli.convert.retake import align_chapter

            align_chapter(plan, self.cache, lang=self.request.profile.lang)
        book = self.request.book
        tags = BookTags(book.title, book.author, plan.index, tracks, narrator(self.request.profile))
        speech = {s.key: s.speech for s in plan.segments}
        for _ in range(3):
            try:
                result = assemble_chapter(
                    plan, self.cache, self.request.outdir, settings=settings, tags=tags, keep=self._keep()
                )
                break
            except CacheMissing as missing:
                # An entry that passed the size check but not decoding (it is deleted by now).
                self._speak([(key, speech[key]) for key in missing.keys])
        else:
            raise VoxError(
                f"the audio cache in {self.cache.root} keeps losing entries",
                "check the disk, or delete that folder and run again",
            )
        self.summary.chapters += 1
        self.summary.sentences += result.sentences
        self.summary.audio_seconds += result.duration
        self.reporter.chapter_done(result, plan)
        return result

    def _speak(self, jobs: list[tuple[str, str]]) -> None:
        with self._speaking:  # the worker pool serves one caller at a time
            narrated = [job for job in jobs if not self.voice_of.get(job[0])]
            if narrated:
                self._speak_now(narrated)
            voiced = [job for job in jobs if self.voice_of.get(job[0])]
            if voiced:
                self._speak_voices(voiced)

    def _speak_voices(self, jobs: list[tuple[str, str]]) -> None:
        """Cast voices other than the narrator's speak in this process, each its own engine."""
        from voxcli.convert.synth import synthesize

        began = time.monotonic()
        try:
            for key, speech in jobs:
                if self.should_stop():
                    self._stop()
                engine, settings = self.speaker(self.voice_of[key])
                seconds = synthesize(engine, self.cache, key, speech, settings) / engine.sample_rate
                self.missing.pop(key, None)
                self.summary.synthesized += 1
                self.summary.synth_chars += len(speech)
                self.summary.synth_audio_seconds += seconds
                self.reporter.advanced(len(speech))
        finally:
            self.summary.synth_seconds += time.monotonic() - began

    def speaker(self, voice: str) -> tuple[Engine, Any]:
        """The loaded engine and the per-call settings of a cast voice ("" for the narrator)."""
        if not voice:
            return self._load(), self.request.profile.settings
        profile = self.request.voice(voice)
        with self._loading:  # the --verify thread and the speaking one may ask at once
            if voice not in self._voices:
                self._voices[voice] = load_engine(profile, self.request.device)
            return self._voices[voice], profile.settings

    def _speak_now(self, jobs: list[tuple[str, str]]) -> None:
        began = time.monotonic()

        def done(key: str, speech: str, seconds: float) -> None:
            self.missing.pop(key, None)
            self.summary.synthesized += 1
            self.summary.synth_chars += len(speech)
            self.summary.synth_audio_seconds += seconds
            self.reporter.advanced(len(speech))

        try:
            speakers = self._speakers(len(jobs))
            if speakers is not None:
                finished = speakers.run(
                    [(job, None) for job in jobs],
                    lambda job, _tag, seconds: done(job[0], job[1], seconds),
                    lambda: bool(self.should_stop()),
                    self.voice(speakers),
                )
                if not finished:
                    self._stop()
            else:
                from voxcli.convert.synth import batch_chars, batches, synthesize_many

                engine = self._load()
                settings = self.request.profile.settings
                engine.prefetch([speech for _, speech in jobs])
                # One text at a time, or (an engine with "batch") a few thousand characters' worth.
                for group in batches(((job, None) for job in jobs), batch_chars(self.cls)):
                    if self.should_stop():
                        self._stop()
                    texts = [job for job, _ in group]
                    lengths = synthesize_many(engine, self.cache, texts, settings)
                    for (key, speech), length in zip(texts, lengths, strict=True):
                        done(key, speech, length / engine.sample_rate)
        finally:
            self.summary.synth_seconds += time.monotonic() - began

    def _speakers(self, jobs: int) -> Speakers[Any] | None:
        """Who speaks ``jobs`` narrator segments: the shared speakers, this run's worker processes
        (started on first need), or None for this process."""
        if self._shared is not None:
            return self._shared
        if self.request.jobs > 1 and self.cls.parallel and jobs > 1:
            if self._pool is None:
                from voxcli.convert.synth import WorkerPool

                self._pool = WorkerPool(self.request.jobs)
            return self._pool
        return None

    def voice(self, speakers: Speakers[Any]) -> Voice:
        """The narrator's voice as ``speakers`` in other processes load it, with their share of threads."""
        from voxcli.convert.synth import Voice, batch_chars, worker_profile

        return Voice(
            target=registry()[self.request.profile.engine],
            profile=worker_profile(self.request.profile, self.cls, speakers.threads),
            device=self.request.device,
            cache_root=str(self.cache.root),
            batch_chars=batch_chars(self.cls),
        )

    def _verify(self, plan: ChapterPlan, settings: VerifySettings) -> None:
        from voxcli.convert.retake import verify_chapter

        verdict = verify_chapter(
            plan,
            self.cache,
            lang=self.request.profile.lang,
            settings=settings,
            speaker=self.speaker,
            should_stop=self.should_stop,
        )
        self.verdicts[plan.index] = verdict
        self.summary.verified += verdict.sentences
        self.summary.verify_flagged += verdict.flagged
        self.summary.repaired += verdict.repaired
        self.summary.still_flagged += [c.text for c in verdict.still_flagged]

    def _load(self) -> Engine:
        if self._engine is None:
            self._engine = load_engine(self.request.profile, self.request.device)
        return self._engine

    def _stop(self) -> None:
        signal_number = self.should_stop() or 2
        done = self._total - len(self.missing)
        if self._pool is not None:  # the workers stop now; the engine is closed when the run ends
            self._pool.close()
            self._pool = None
        raise Interrupted(
            f"stopped: {done} of {self._total} new sentences are saved",
            "run the same command again to resume",
            signal_number,
        )

    def suspicious(self) -> set[str]:
        """Texts the engine flagged as probably wrong (the XTTS guard), spoken this run."""
        engines = (
            [self._engine, *self._voices.values()] if self._engine is not None else [*self._voices.values()]
        )
        return self._flagged | {text for engine in engines for text in engine.suspicious()}

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        for engine in self._voices.values():
            engine.close()
        self._voices.clear()
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def _missing(plans: list[ChapterPlan], cache: AudioCache) -> dict[str, str]:
    """Cache key -> text to speak, for every segment of ``plans`` not cached yet, in book order."""
    missing: dict[str, str] = {}
    for chapter_plan in plans:
        for segment in chapter_plan.segments:
            if segment.key not in missing and not cache.has(segment.key):
                missing[segment.key] = segment.speech
    return missing


def _build_id(plan: ChapterPlan, request: ConvertRequest, tracks: int) -> str:
    """Everything the chapter's files depend on: its sound, the output settings and the tags."""
    book = request.book
    parts: list[Any] = [plan.digest, plan.stem, plan.title, asdict(request.settings), book.title, book.author]
    parts.append(tracks)
    if request.verify is not None:  # a verified chapter is rebuilt once, from the takes that passed
        parts.append(asdict(request.verify))
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()


def _up_to_date(record: ManifestChapter | None, build: str, outdir: Path) -> bool:
    if record is None or record.build != build:
        return False
    return all(
        (outdir / name).is_file() and (outdir / name).stat().st_size == record.sizes.get(name)
        for name in record.files.values()
    )


def _record(
    result: ChapterResult, build: str, suspicious: list[str], verify: dict[str, Any] | None
) -> ManifestChapter:
    return ManifestChapter(
        index=result.index,
        title=result.title,
        files=result.files,
        duration=round(result.duration, 3),
        samples=result.samples,
        characters=result.characters,
        sentences=result.sentences,
        sample_rate=result.sample_rate,
        gain_db=result.gain_db,
        loudness=result.loudness,
        unspoken=result.unspoken,
        build=build,
        suspicious=suspicious,
        verify=verify,
    )


def _write_records(
    request: ConvertRequest,
    records: dict[int, ManifestChapter],
    audiobook: dict[str, Any] | None,
    products: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest and playlist of the chapters whose files are all there, with their sizes now."""
    outdir = request.outdir
    chapters = [
        replace(record, sizes={name: (outdir / name).stat().st_size for name in record.files.values()})
        for record in records.values()
        if all((outdir / name).is_file() for name in record.files.values())
    ]
    book = request.book
    profile = request.profile
    voice = {
        "name": profile.name,
        "engine": profile.engine,
        "voice": profile.voice,
        "lang": profile.lang,
        "speed": profile.speed,
    }
    if request.voice_map:
        voice["chapters"] = {str(n): p.name for n, p in sorted(request.voice_map.items())}
    if request.cast is not None:  # which voice says which character's lines
        voice["cast"] = {
            "narrator": profile.name,
            "voices": {name: f"{p.engine}:{p.voice}" for name, p in request.cast.profiles.items()},
            "characters": {name: c.voice for name, c in request.cast.cast.characters.items()},
            "dialogue": request.cast.cast.dialogue,
        }
    if request.language is not None:  # the book's language and why this narrator
        voice["language"] = request.language.record()
    if request.passages is not None and (request.passages.switched or request.passages.unvoiced):
        voice["passages"] = request.passages.record()
    meta = {
        "title": book.title,
        "author": book.author,
        "language": book.language,
        "year": book.year,
        "source": Path(request.source).name,
    }
    warnings = [
        *book.warnings,
        *(f"chapter {c.index}: no audio for: {text}" for c in chapters for text in c.unspoken),
        *(
            f"chapter {c.index}: audio may be wrong (length or silences far from the voice's norm): {text}"
            for c in chapters
            for text in c.suspicious
        ),
    ]
    loudness = request.settings.loudness
    levelling = (
        {"target_lufs": loudness.target, "ceiling_dbtp": loudness.ceiling} if loudness is not None else None
    )
    manifest = write_manifest(
        outdir,
        book=meta,
        voice=voice,
        chapters=chapters,
        warnings=warnings,
        loudness=levelling,
        audiobook=audiobook,
        products=products,
    )
    write_playlist(outdir, chapters, audiobook)
    return manifest


def narrator(profile: VoiceProfile) -> str:
    """The voice, as an audiobook's narrator: 'joe (piper en_US-joe-medium)'."""
    return f"{profile.name} ({' '.join(filter(None, (profile.engine, profile.voice)))})"


def check_engine(request: ConvertRequest) -> None:
    """Fail early, before any work, when an engine (the narrator's, a cast voice's) or its model files
    are missing."""
    check_tools(
        request.profile,
        voices=list(request.voices.values()),
        verify=request.verify,
        aac=request.audiobook is not None or request.readalong is not None,
        video=request.video,
    )


def check_tools(
    profile: VoiceProfile,
    *,
    voices: list[VoiceProfile],
    verify: VerifySettings | None,
    aac: bool,
    video: VideoRequest | None,
) -> None:
    """What :func:`check_engine` checks, given piece by piece (a batch checks before any book is read)."""
    ensure_usable(profile)
    for other in voices:
        ensure_usable(other)
    if verify is not None:
        from voxcli.asr import ready_recognizer

        ready_recognizer(verify.recognizer, profile.lang)  # a download: now, not mid-run
    if aac:
        from voxcli.audio.m4b import choose_encoder

        choose_encoder()  # the M4B's AAC, and the read-along EPUB's
    if video is not None:
        from voxcli.video import video_encoder_problem

        problem = video_encoder_problem(soft_subtitles=False)
        if problem is not None:
            raise EngineError(problem, "install PyAV's wheel (make install), which bundles libx264")
        settings = video.settings
        if settings is None or settings.burn is None:
            problem = video_encoder_problem(soft_subtitles=True)
            if problem is not None:
                raise EngineError(problem, "add --burn-subtitles, or use PyAV 18 or later (Python 3.11+)")
