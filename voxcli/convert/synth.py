"""Speak segments into the audio cache: in this process, or in worker processes (``--jobs N``).

Workers load the engine once each, with one thread, write their cache entries themselves and send
back only sample counts, so the parent neither copies audio around nor grows with the book.
"""

from __future__ import annotations

import importlib
import multiprocessing.util
import os
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from voxcli.audio.encode import to_pcm16
from voxcli.convert.cache import AudioCache
from voxcli.engines.base import Engine, Settings, VoiceProfile, speak

Job = tuple[str, str]  # (cache key, text to speak)
BATCH_CHARS = 600  # per task sent to a worker: big enough to hide the round trip, small enough to stop soon


@dataclass(frozen=True)
class Done:
    key: str
    seconds: float  # of audio


def synthesize(engine: Engine, cache: AudioCache, key: str, speech: str, settings: Settings) -> int:
    """Speak ``speech`` and store it under ``key``; returns its length in samples."""
    spoken = speak(engine, speech, settings)
    cache.put(key, to_pcm16(spoken.samples), spoken.sample_rate, spoken.words or None)
    return len(spoken.samples)


def batches(jobs: Iterable[tuple[Job, Any]], limit: int = BATCH_CHARS) -> Iterator[list[tuple[Job, Any]]]:
    """Consecutive jobs grouped up to ``limit`` characters (a longer job goes alone)."""
    batch: list[tuple[Job, Any]] = []
    size = 0
    for item in jobs:
        length = len(item[0][1])
        if batch and size + length > limit:
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += length
    if batch:
        yield batch


def worker_profile(profile: VoiceProfile, cls: type[Engine]) -> VoiceProfile:
    """One thread per worker unless the profile says otherwise: N workers share N cores."""
    if "threads" in cls.capabilities and getattr(profile.options, "threads", None) is None:
        return replace(profile, options=profile.options.model_copy(update={"threads": 1}))
    return profile


# ---- worker processes -----------------------------------------------------------------------------

_engine: Engine | None = None


def _init_worker() -> None:
    # Ctrl-C (and `kill` of the process group) reaches the workers too: they finish their batch and
    # the parent decides. If the parent dies, their queue closes and they exit.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # A worker ends through multiprocessing's exit path (os._exit, no atexit): close the engine there.
    multiprocessing.util.Finalize(None, _close_engine, exitpriority=10)


def _close_engine() -> None:
    global _engine
    if _engine is not None:
        _engine.close()
        _engine = None


def _run_batch(setup: tuple[str, VoiceProfile, str, str], jobs: list[Job]) -> list[Done]:
    # The engine loads on the first batch, not in the pool initializer: a load error then reaches the
    # parent as this task's exception (one clear line) instead of a traceback and a broken pool.
    global _engine
    target, profile, device, cache_root = setup
    if _engine is None:
        module, _, name = target.partition(":")
        cls: type[Engine] = getattr(importlib.import_module(module), name)
        _engine = cls.load(profile, device)
    cache = AudioCache(Path(cache_root))
    rate = _engine.sample_rate
    settings = profile.settings
    return [Done(key, synthesize(_engine, cache, key, speech, settings) / rate) for key, speech in jobs]


class WorkerPool:
    """``jobs`` worker processes, each with its own loaded engine."""

    def __init__(self, jobs: int, target: str, profile: VoiceProfile, device: str, cache: AudioCache) -> None:
        self.jobs = jobs
        self._setup = (target, profile, device, str(cache.root))
        self._pool = ProcessPoolExecutor(
            max_workers=jobs, mp_context=get_context("spawn"), initializer=_init_worker
        )

    def run(
        self,
        work: Sequence[tuple[Job, Any]],
        done: Callable[[Job, Any, float], None],
        should_stop: Callable[[], bool],
    ) -> bool:
        """Speak every job, calling ``done`` in completion order; False when stopped early.

        At most two batches per worker are in flight, so a stop request waits only for those.
        """
        pending: dict[Future[list[Done]], list[tuple[Job, Any]]] = {}
        stream = iter(batches(work))
        stopped = False
        while True:
            while not stopped and len(pending) < 2 * self.jobs:
                batch = next(stream, None)
                if batch is None:
                    break
                pending[self._pool.submit(_run_batch, self._setup, [job for job, _ in batch])] = batch
            if not pending:
                return not stopped
            finished, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for future in finished:
                batch = pending.pop(future)
                counts = {d.key: d.seconds for d in future.result()}
                for job, tag in batch:
                    done(job, tag, counts[job[0]])
            stopped = stopped or should_stop()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
