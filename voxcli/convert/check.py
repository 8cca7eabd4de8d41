"""``voxcli check OUTDIR``: listen to every sentence of a converted book, from its sentence cache.

Chapters are heard in parallel worker processes (``jobs``, one per core by default; longest chapter
first): PocketSphinx's search holds Python's global lock, so threads would take turns.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from voxcli.arrays import Float32
from voxcli.asr import DEFAULT, load_recognizer, ready_recognizer
from voxcli.convert.cache import AudioCache
from voxcli.convert.pipeline import STATE_DIR
from voxcli.convert.record import PlannedChapter, read_plan_record
from voxcli.errors import UsageError
from voxcli.verify.book import BookCheck, ChapterCheck
from voxcli.verify.listen import Sentence, check_sentences
from voxcli.verify.score import SentenceCheck

Progress = Callable[[str, int, int], None]  # (chapter title, sentences done, of how many)


def check_folder(
    outdir: Path,
    *,
    recognizer: str = DEFAULT,
    chapters: list[int] | None = None,
    progress: Progress | None = None,
    jobs: int | None = None,
) -> BookCheck:
    """Every sentence of the chapters ``convert`` made in ``outdir`` (all, or those numbered
    ``chapters``), ``jobs`` chapters at a time (None: one per core)."""
    record = read_plan_record(outdir / STATE_DIR)
    if record is None:
        raise UsageError(
            f"{outdir}: no conversion by this voxcli found there",
            "run 'voxcli convert BOOK -o FOLDER' first, or check a recording with --audio FILE --text FILE",
        )
    cache = AudioCache(outdir / STATE_DIR / "cache")
    wanted = [c for c in record.chapters if chapters is None or c.index in chapters]
    if chapters is not None and not wanted:
        known = ", ".join(str(c.index) for c in record.chapters)
        raise UsageError(f"{outdir}: none of chapters {chapters} was converted", f"converted: {known}")

    ready_recognizer(recognizer, record.lang)  # a missing model or a download: once, before any chapter
    workers = max(1, min(jobs or os.cpu_count() or 1, len(wanted)))
    if workers == 1:
        results = [_check_chapter(c, cache, record.lang, recognizer, progress) for c in wanted]
    else:
        results = _in_parallel(wanted, cache, record.lang, recognizer, progress, workers)
    keys = {(c.index, i): s.key for c in wanted for i, s in enumerate(c.sentences)}

    def clip(check: SentenceCheck) -> tuple[Float32, int] | None:
        key = keys.get((check.chapter, check.index))
        entry = cache.get(key) if key is not None else None
        return (entry.samples.astype(np.float32) / 32768.0, entry.sample_rate) if entry is not None else None

    return BookCheck(recognizer, record.lang, results, clip)


def _check_chapter(
    chapter: PlannedChapter, cache: AudioCache, lang: str, recognizer: str, progress: Progress | None
) -> ChapterCheck:
    sentences = [Sentence(s.text, s.speech) for s in chapter.sentences]
    listener = load_recognizer(recognizer, lang, [s.speech for s in sentences])
    missing: set[int] = set()

    def audio(index: int) -> tuple[Float32, int]:
        entry = cache.get(chapter.sentences[index].key)
        if entry is None:
            missing.add(index)
            return np.zeros(1600, dtype=np.float32), 16000
        return entry.samples.astype(np.float32) / 32768.0, entry.sample_rate

    def done(count: int) -> None:
        if progress is not None:
            progress(chapter.title, count, len(sentences))

    try:
        checks = check_sentences(chapter.index, sentences, audio, listener, done)
    finally:
        listener.close()
    lost = ["its audio is not in the cache (run convert again)"]
    checks = [replace(c, flagged=True, reasons=lost) if c.index in missing else c for c in checks]
    return ChapterCheck(chapter.index, chapter.title, checks)


def _in_parallel(
    chapters: list[PlannedChapter],
    cache: AudioCache,
    lang: str,
    recognizer: str,
    progress: Progress | None,
    workers: int,
) -> list[ChapterCheck]:
    """The chapters checked in ``workers`` processes, the longest first; returned in book order."""
    found: dict[int, ChapterCheck] = {}
    longest_first = sorted(range(len(chapters)), key=lambda i: -len(chapters[i].sentences))
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker) as pool:
        futures = {
            pool.submit(_check_chapter, chapters[i], cache, lang, recognizer, None): i for i in longest_first
        }
        for future in as_completed(futures):
            index = futures[future]
            found[index] = future.result()
            if progress is not None:
                total = len(chapters[index].sentences)
                progress(chapters[index].title, total, total)
    return [found[i] for i in range(len(chapters))]


def _init_worker() -> None:
    # Ctrl-C reaches the whole process group: the parent stops the check; workers let it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
