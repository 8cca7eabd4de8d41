"""Warm engines shared by many requests: one worker thread per engine, fair and bounded.

Each request is cut into sentences. An engine's worker speaks one sentence at a time, taking the
requests in turn (round robin), so a long request slows the others down but never holds them up
until it is done. At most ``capacity`` requests wait for or use an engine; one more is refused
(:class:`Busy`, HTTP 429). Models load in the worker, once per voice, on first use or at preload.
A streaming request gets each sentence's audio in pieces as the engine makes them
(``chunks_as_made``), and the rest of a sentence is not made once the request is cancelled.

An engine instance is kept per voice (its model and voice), never per speed: speed travels with each
request as :class:`Settings`. At most ``MAX_ENGINES`` voices stay warm per engine; the one used
longest ago is closed (its threads stop) when another is needed.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from voxcli.engines import load_engine, speak
from voxcli.engines.base import AudioChunk, Engine, Settings, Spoken, VoiceProfile
from voxcli.engines.streams import chunks_as_made

MAX_ENGINES = 8  # warm voices per engine


class Busy(Exception):
    """The engine's queue is full."""


@dataclass
class Job:
    """One request: its pieces, spoken in order; ``deliver`` gets (index, audio or error)."""

    profile: VoiceProfile
    pieces: list[str]
    deliver: Callable[[int, Spoken | BaseException], None]
    settings: Settings = field(default_factory=Settings)  # this request's speed
    # Streaming: gets (index, chunk) for each chunk of a piece as it is made, before the piece's Spoken
    parts: Callable[[int, AudioChunk], None] | None = None
    next: int = 0
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class _Lane:
    """One engine's worker thread and the requests it serves."""

    name: str
    capacity: int
    device: str
    jobs: deque[Job] = field(default_factory=deque)
    engines: OrderedDict[str, Engine] = field(default_factory=OrderedDict)  # least recently used first
    busy: bool = False
    condition: threading.Condition = field(default_factory=threading.Condition)
    thread: threading.Thread | None = None


class SpeechQueue:
    def __init__(self, capacity: int = 32, device: str = "auto") -> None:
        self.capacity = capacity
        self.device = device
        self._lanes: dict[str, _Lane] = {}
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, job: Job) -> None:
        lane = self._lane(job.profile.engine)
        with lane.condition:
            if len(lane.jobs) >= lane.capacity:
                raise Busy(f"engine '{lane.name}' has {len(lane.jobs)} requests waiting")
            lane.jobs.append(job)
            lane.condition.notify()

    def preload(self, profile: VoiceProfile) -> None:
        """Load the voice's model now (in the caller's thread), so the first request is fast."""
        self._engine(self._lane(profile.engine), profile)

    def status(self) -> dict[str, dict[str, object]]:
        """Each engine's queue; never waits for a model that is loading."""
        with self._lock:
            lanes = list(self._lanes.values())
        return {
            lane.name: {
                "waiting": len(lane.jobs),
                "capacity": lane.capacity,
                "speaking": lane.busy,
                "voices": sorted(json.loads(key)[0] for key in list(lane.engines)),
            }
            for lane in lanes
        }

    def close(self) -> None:
        """Cancel what waits, stop the workers and close every engine."""
        self._closed = True
        with self._lock:
            lanes = list(self._lanes.values())
        for lane in lanes:
            with lane.condition:
                for job in lane.jobs:
                    job.cancel()
                lane.condition.notify_all()
        for lane in lanes:
            if lane.thread is not None and lane.thread is not threading.current_thread():
                lane.thread.join(timeout=30)
            while lane.engines:
                _, engine = lane.engines.popitem()
                engine.close()

    def _lane(self, engine: str) -> _Lane:
        with self._lock:
            lane = self._lanes.get(engine)
            if lane is None:
                lane = _Lane(engine, self.capacity, self.device)
                lane.thread = threading.Thread(
                    target=self._work, args=(lane,), name=f"voxcli-{engine}", daemon=True
                )
                self._lanes[engine] = lane
                lane.thread.start()
            return lane

    def _work(self, lane: _Lane) -> None:
        while True:
            with lane.condition:
                while not lane.jobs and not self._closed:
                    lane.condition.wait()
                if self._closed:
                    return
                job = lane.jobs.popleft()
                if job.cancelled or job.next >= len(job.pieces):
                    continue
                index = job.next
                job.next += 1
                if job.next < len(job.pieces):
                    lane.jobs.append(job)  # to the back of the line: the others go first
                lane.busy = True
            try:
                job.deliver(index, self._speak(lane, job, index))
            except Exception as exc:
                job.cancel()
                job.deliver(index, exc)
            finally:
                lane.busy = False

    def _engine(self, lane: _Lane, profile: VoiceProfile) -> Engine:
        """The voice's engine, loaded on first use (its model shared through ``shared_model``)."""
        key = _key(profile)
        engine = lane.engines.get(key)
        if engine is None:
            engine = load_engine(profile, self.device)
            lane.engines[key] = engine
            while len(lane.engines) > MAX_ENGINES:
                _, oldest = lane.engines.popitem(last=False)
                oldest.close()
        lane.engines.move_to_end(key)
        return engine

    def _speak(self, lane: _Lane, job: Job, index: int) -> Spoken:
        engine = self._engine(lane, job.profile)
        if job.parts is None:
            return speak(engine, job.pieces[index], job.settings)
        made: list[AudioChunk] = []
        for chunk in chunks_as_made(engine, job.pieces[index], job.settings):
            if job.cancelled:  # the listener left: stop making the rest of the sentence
                break
            job.parts(index, chunk)
            made.append(chunk)
        samples = [np.asarray(chunk.samples, dtype=np.float32).reshape(-1) for chunk in made]
        joined = np.concatenate(samples) if samples else np.zeros(0, dtype=np.float32)
        return Spoken(joined, engine.sample_rate, None, len(made))  # sent already: the piece's end


def _key(profile: VoiceProfile) -> str:
    """What makes one engine instance: the profile, its voice and options; never the speed."""
    options = profile.options.model_dump(mode="json")
    return json.dumps([profile.name, profile.engine, profile.voice, profile.lang, options], sort_keys=True)
