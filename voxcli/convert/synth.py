"""Speak segments into the audio cache: in this process, or through long-lived speakers.

Speakers are worker processes on this machine (``--jobs N``, :class:`WorkerPool`) or actors on a
Ray cluster (``voxcli batch --cluster``, :mod:`voxcli.batch.raypool`). Each loads an engine once and
keeps it for every book and call that names the same voice; it writes its cache entries itself, or
(when it cannot see the output folder) sends them back whole, so this process never decodes audio
it did not ask for.
"""

from __future__ import annotations

import importlib
import multiprocessing.util
import os
import signal
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Generic, TypeVar

from voxcli.audio.encode import to_pcm16
from voxcli.convert.cache import AudioCache, encode_entry
from voxcli.engines.base import Engine, Settings, VoiceProfile, speak, speak_many

Job = tuple[str, str]  # (cache key, text to speak)
BATCH_CHARS = 600  # per task sent to a speaker: big enough to hide the round trip, small enough to stop soon
# An engine with the "batch" capability speaks a task's texts in a few padded model calls: it needs
# enough of them at once to fill a batch (a GPU's), sorted by length (about 30 sentences of a novel).
BATCHED_CHARS = 4000
_H = TypeVar("_H")  # a speaker's handle on a task in flight


@dataclass(frozen=True)
class Done:
    key: str
    seconds: float  # of audio
    entry: bytes | None = None  # the cache entry, when the speaker did not write it itself


@dataclass(frozen=True)
class Voice:
    """What a speaker needs for a call: the engine to load (once per speaker) and where audio goes."""

    target: str  # the engine class, "module:Class"
    profile: VoiceProfile
    device: str
    cache_root: str  # the book's audio cache, as this process sees it
    write: bool = True  # the speaker writes entries under cache_root itself; False: it sends them back
    batch_chars: int = BATCH_CHARS  # texts sent in one task, in characters

    @property
    def engine_key(self) -> str:
        """What a loaded engine is kept under: everything but the book's folder."""
        return repr((self.target, self.profile, self.device))


def synthesize(engine: Engine, cache: AudioCache, key: str, speech: str, settings: Settings) -> int:
    """Speak ``speech`` and store it under ``key``; returns its length in samples."""
    spoken = speak(engine, speech, settings)
    cache.put(key, to_pcm16(spoken.samples), spoken.sample_rate, spoken.words or None)
    return len(spoken.samples)


def synthesize_many(engine: Engine, cache: AudioCache, jobs: Sequence[Job], settings: Settings) -> list[int]:
    """:func:`synthesize` for several jobs at once (one batch for an engine with "batch")."""
    lengths = []
    for (key, _), spoken in zip(
        jobs, speak_many(engine, [speech for _, speech in jobs], settings), strict=True
    ):
        cache.put(key, to_pcm16(spoken.samples), spoken.sample_rate, spoken.words or None)
        lengths.append(len(spoken.samples))
    return lengths


def batch_chars(cls: type[Engine]) -> int:
    """How many characters of text to send an engine at once."""
    return BATCHED_CHARS if "batch" in cls.capabilities else BATCH_CHARS


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


def worker_profile(profile: VoiceProfile, cls: type[Engine], threads: int = 1) -> VoiceProfile:
    """``threads`` threads per worker unless the profile says otherwise: N workers share the cores."""
    if "threads" in cls.capabilities and getattr(profile.options, "threads", None) is None:
        return replace(profile, options=profile.options.model_copy(update={"threads": threads}))
    return profile


# ---- what runs in a speaker (a worker process or a Ray actor) --------------------------------------


class Speaking:
    """A speaker's loaded engines, one per voice, kept for every later call with that voice."""

    def __init__(self) -> None:
        self.engines: dict[str, Engine] = {}
        self.loads = 0  # engines loaded by this speaker (a model load each, unless shared)

    def engine(self, voice: Voice) -> Engine:
        # Loaded on the first call, not when the speaker starts: a load error then reaches the caller
        # as that call's exception (one clear line) instead of a traceback and a broken pool.
        found = self.engines.get(voice.engine_key)
        if found is None:
            module, _, name = voice.target.partition(":")
            cls: type[Engine] = getattr(importlib.import_module(module), name)
            found = self.engines[voice.engine_key] = cls.load(voice.profile, voice.device)
            self.loads += 1
        return found

    def speak(self, voice: Voice, jobs: list[Job]) -> list[Done]:
        engine = self.engine(voice)
        settings = voice.profile.settings
        if voice.write:
            cache = AudioCache(Path(voice.cache_root))
            lengths = synthesize_many(engine, cache, jobs, settings)
            return [
                Done(key, length / engine.sample_rate) for (key, _), length in zip(jobs, lengths, strict=True)
            ]
        done = []
        for (key, _), spoken in zip(
            jobs, speak_many(engine, [speech for _, speech in jobs], settings), strict=True
        ):
            entry = encode_entry(to_pcm16(spoken.samples), spoken.sample_rate, spoken.words or None)
            done.append(Done(key, len(spoken.samples) / spoken.sample_rate, entry))
        return done

    def close(self) -> None:
        for engine in self.engines.values():
            engine.close()
        self.engines.clear()


_speaking: Speaking | None = None  # a worker process's own


def _init_worker() -> None:
    global _speaking
    # Ctrl-C (and `kill` of the process group) reaches the workers too: they finish their batch and
    # the parent decides. If the parent dies, their queue closes and they exit.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _speaking = Speaking()
    # A worker ends through multiprocessing's exit path (os._exit, no atexit): close the engines there.
    multiprocessing.util.Finalize(None, _speaking.close, exitpriority=10)


def _run_batch(voice: Voice, jobs: list[Job]) -> list[Done]:
    assert _speaking is not None  # _init_worker
    return _speaking.speak(voice, jobs)


# ---- the caller's side ------------------------------------------------------------------------------


class Speakers(ABC, Generic[_H]):
    """Long-lived speakers shared by every book of a run; :meth:`run` may be called from several
    threads at once (one per book in flight)."""

    slots: int  # speakers working at once
    threads: int = 1  # engine threads for each speaker (for engines with the "threads" capability)
    backend: str = "local"  # where they run, for people: "local", "ray ADDRESS"

    @abstractmethod
    def _submit(self, voice: Voice, jobs: list[Job]) -> _H: ...

    @abstractmethod
    def _wait(self, handles: list[_H], timeout: float) -> list[_H]:
        """The handles of ``handles`` that are finished (waiting at most ``timeout`` seconds)."""

    @abstractmethod
    def _result(self, handle: _H) -> list[Done]:
        """A finished task's outcome, or its exception (a VoxError as raised in the speaker)."""

    def run(
        self,
        work: Sequence[tuple[Job, Any]],
        done: Callable[[Job, Any, float], None],
        should_stop: Callable[[], bool],
        voice: Voice,
    ) -> bool:
        """Speak every job into ``voice``'s cache, calling ``done`` in completion order; False when
        stopped early. At most two batches per speaker are in flight, so a stop waits only for those."""
        pending: dict[Any, list[tuple[Job, Any]]] = {}
        stream = iter(batches(work, voice.batch_chars))
        cache = AudioCache(Path(voice.cache_root))
        stopped = False
        while True:
            while not stopped and len(pending) < 2 * self.slots:
                batch = next(stream, None)
                if batch is None:
                    break
                pending[self._submit(voice, [job for job, _ in batch])] = batch
            if not pending:
                return not stopped
            for handle in self._wait(list(pending), 0.2):
                batch = pending.pop(handle)
                results = self._result(handle)
                for result in results:
                    if result.entry is not None:
                        cache.put_entry(result.key, result.entry)
                seconds = {result.key: result.seconds for result in results}
                for job, tag in batch:
                    done(job, tag, seconds[job[0]])
            stopped = stopped or should_stop()

    @abstractmethod
    def close(self) -> None: ...


class WorkerPool(Speakers["Future[list[Done]]"]):
    """``jobs`` worker processes on this machine, each loading an engine once per voice."""

    def __init__(self, jobs: int) -> None:
        self.slots = jobs
        # The cores shared out: one speaker of one thread would leave the others idle.
        self.threads = max(1, (os.cpu_count() or 1) // jobs)
        self._pool = ProcessPoolExecutor(
            max_workers=jobs, mp_context=get_context("spawn"), initializer=_init_worker
        )

    def _submit(self, voice: Voice, jobs: list[Job]) -> Future[list[Done]]:
        return self._pool.submit(_run_batch, voice, jobs)

    def _wait(self, handles: list[Future[list[Done]]], timeout: float) -> list[Future[list[Done]]]:
        finished, _ = wait(handles, timeout=timeout, return_when=FIRST_COMPLETED)
        return list(finished)

    def _result(self, handle: Future[list[Done]]) -> list[Done]:
        return handle.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
