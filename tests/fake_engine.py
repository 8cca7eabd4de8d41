"""A fake speech engine for CLI tests: a short tone per word, a model file when one is named."""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from voxcli.arrays import Float32
from voxcli.convert.cache import AudioCache, cache_key
from voxcli.engines.base import (
    DEFAULT_SETTINGS,
    AudioChunk,
    Engine,
    EngineOptions,
    Problem,
    Settings,
    VoiceProfile,
    WordTiming,
)
from voxcli.engines.piper import BUILTIN_VOICE, PiperEngine, PiperOptions

RATE = 16000
WORD_SECONDS = 0.2


class FakeOptions(EngineOptions):
    pitch: float = Field(default=220.0, gt=0, le=4000)  # Hz of the tone
    delay: float = Field(default=0.0, ge=0, le=10)  # seconds each call takes, to interrupt runs mid-way
    threads: int | None = None  # like Piper's: convert --jobs sets 1 per worker
    loads: str | None = None  # a file: every load of the engine appends its process id, one a line


class FakeEngine(Engine):
    """Speaks a tone per word; ``voice`` is a name, or a path to a 'model' file that must exist."""

    name: ClassVar[str] = "fake"
    description: ClassVar[str] = "test tones"
    install_hint: ClassVar[str] = "pip install fake-engine"
    max_chars: ClassVar[int] = 200
    Options: ClassVar[type[EngineOptions]] = FakeOptions
    neutral_options: ClassVar[frozenset[str]] = frozenset({"threads", "delay", "loads"})
    parallel: ClassVar[bool] = True
    capabilities: ClassVar[frozenset[str]] = frozenset({"threads", "word_timings"})
    loads: ClassVar[int] = 0

    def __init__(self, profile: VoiceProfile) -> None:
        self.sample_rate = RATE
        options = profile.options_as(FakeOptions)
        self._pitch, self._delay = options.pitch, options.delay

    @classmethod
    def profile_problem(cls, profile: VoiceProfile) -> Problem | None:
        if profile.voice.endswith(".model") and not profile.path(profile.voice).is_file():
            return Problem(f"model file not found: {profile.path(profile.voice)}", "fix the path")
        return None

    @classmethod
    def load(cls, profile: VoiceProfile, device: str = "auto") -> FakeEngine:
        FakeEngine.loads += 1
        record = profile.options_as(FakeOptions).loads
        if record:
            import os

            with profile.path(record).open("a", encoding="utf-8") as out:
                out.write(f"{os.getpid()}\n")
        return cls(profile)

    def synthesize(self, text: str, settings: Settings = DEFAULT_SETTINGS) -> Iterator[AudioChunk]:
        if self._delay:
            time.sleep(self._delay)
        words = text.split()
        length = round(WORD_SECONDS / settings.speed * RATE)
        t = np.arange(length) / RATE
        tone = (0.5 * np.sin(2 * np.pi * self._pitch * t)).astype(np.float32)
        samples = np.tile(tone, len(words))
        timings = [WordTiming(w, i * length / RATE, (i + 1) * length / RATE) for i, w in enumerate(words)]
        yield AudioChunk(samples=samples, sample_rate=RATE, text=text, words=timings)


class MissingEngine(FakeEngine):
    """An engine whose package is not installed."""

    name: ClassVar[str] = "missing"
    install_hint: ClassVar[str] = "pip install voxcli-missing-engine"
    requires: ClassVar[tuple[str, ...]] = ("voxcli_no_such_package",)


# ---- test engines for the server and speech-piece tests (tests/plugin_engines.py registers them) -------


class RecordingOptions(FakeOptions):
    record: str  # a file: every synthesize() call appends the text it was given, as one JSON line


class RecordingEngine(FakeEngine):
    """The fake engine's tones, and a record of every text it is asked to say (in any process)."""

    name: ClassVar[str] = "recording"
    Options: ClassVar[type[EngineOptions]] = RecordingOptions
    neutral_options: ClassVar[frozenset[str]] = frozenset({"threads", "delay", "record"})

    def __init__(self, profile: VoiceProfile) -> None:
        super().__init__(profile)
        self._record = profile.path(profile.options_as(RecordingOptions).record)

    def synthesize(self, text: str, settings: Settings = DEFAULT_SETTINGS) -> Iterator[AudioChunk]:
        import json

        with self._record.open("a", encoding="utf-8") as out:
            out.write(json.dumps(text) + "\n")
        yield from super().synthesize(text, settings)


class SlowLoadOptions(FakeOptions):
    load_seconds: float = Field(default=5.0, ge=0, le=60)  # how long loading the "model" takes
    marker: str | None = None  # a folder: "loading" is written there as the load starts, "loaded" at its end


class SlowLoadEngine(FakeEngine):
    """A fake engine whose model takes seconds to load, through shared_model as a real model does."""

    name: ClassVar[str] = "slowload"
    Options: ClassVar[type[EngineOptions]] = SlowLoadOptions

    @classmethod
    def load(cls, profile: VoiceProfile, device: str = "auto") -> FakeEngine:
        from voxcli.engines.base import shared_model

        options = profile.options_as(SlowLoadOptions)
        marker = profile.path(options.marker) if options.marker else None

        def slow_model() -> str:
            if marker is not None:
                (marker / "loading").write_text(profile.voice, encoding="utf-8")
            time.sleep(options.load_seconds)
            if marker is not None:
                (marker / "loaded").write_text(profile.voice, encoding="utf-8")
            return profile.voice

        shared_model(("slowload", profile.voice), slow_model)
        return super().load(profile, device)


class ResourceOptions(FakeOptions):
    buffer_mb: float = Field(default=1.0, ge=0, le=256)  # memory each instance holds (a voice's tensors)


class ResourceEngine(FakeEngine):
    """A fake engine whose every instance owns a thread and memory, as a Kokoro instance owns its
    phonemizer thread and its voice pack; close() gives both back. A server that kept an instance per
    request setting (say, per speed) would show here as threads and memory that grow."""

    name: ClassVar[str] = "resource"
    Options: ClassVar[type[EngineOptions]] = ResourceOptions

    def __init__(self, profile: VoiceProfile) -> None:
        import threading

        super().__init__(profile)
        size = round(profile.options_as(ResourceOptions).buffer_mb * 2**20)
        self._buffer = np.ones(size, dtype=np.uint8)  # written: resident
        self._stop = threading.Event()
        self._helper = threading.Thread(
            target=self._stop.wait, name=f"resource-helper-{profile.voice}", daemon=True
        )
        self._helper.start()

    def close(self) -> None:
        self._stop.set()
        self._helper.join()
        self._buffer = np.zeros(0, dtype=np.uint8)


# ---- a real voice that sometimes says the wrong thing, for the tests of `voxcli check` ---------------


FAULTS = ("cut", "swap", "silence", "repeat")
FAULT_EVERY = 10  # one sentence in this many (by a hash of its text, so every run faults the same ones)


def fault_of(text: str) -> str | None:
    """The fault FaultyPiper puts in ``text``'s audio, or None: a rule of the text alone, so the same
    sentences are faulted whatever the order, the worker process or the run."""
    digest = zlib.crc32(text.encode("utf-8"))
    if digest % FAULT_EVERY:
        return None
    return FAULTS[(digest // FAULT_EVERY) % len(FAULTS)]


class FaultyOptions(PiperOptions):
    record: str  # a file: each faulted sentence appends "KIND<TAB>text" (the tests' answer key)
    swap: str = "The quick brown fox jumps over the lazy dog."  # what a "swap" fault says instead
    # An output folder the built-in voice converted: its cached audio is used instead of speaking again
    # (the same voice says the same text; tests save a second synthesis of the same chapters).
    borrow: str | None = None


class FaultyPiper(PiperEngine):
    """The built-in Piper voice, with one sentence in ten broken in one of four ways (see FAULTS):
    its second half cut off; another sentence (``swap``) said instead; silence as long as the
    sentence; its first third said three times before the rest."""

    name: ClassVar[str] = "faulty"
    description: ClassVar[str] = "Piper with injected faults"
    Options: ClassVar[type[EngineOptions]] = FaultyOptions
    neutral_options: ClassVar[frozenset[str]] = frozenset({"threads", "record", "borrow"})
    capabilities: ClassVar[frozenset[str]] = frozenset({"threads"})  # faulted audio has no true timings

    def __init__(self, voice: Any, profile: VoiceProfile, speaker_id: int | None, alignments: bool) -> None:
        super().__init__(voice, profile, speaker_id, alignments)
        options = profile.options_as(FaultyOptions)
        self._record = profile.path(options.record)
        self._swap = options.swap
        self._borrowed: AudioCache | None = None
        self._identity: dict[str, Any] = {}
        if options.borrow is not None:
            builtin = replace(profile, engine="piper", voice=BUILTIN_VOICE, options=PiperOptions())
            self._borrowed = AudioCache(profile.path(options.borrow) / ".voxcli" / "cache")
            self._identity = PiperEngine.identity(builtin)

    @classmethod
    def load(cls, profile: VoiceProfile, device: str = "auto") -> PiperEngine:
        return super().load(replace(profile, engine="piper", voice=BUILTIN_VOICE), device)

    def _clean(self, text: str, settings: Settings) -> Float32:
        if self._borrowed is not None and settings == DEFAULT_SETTINGS:
            entry = self._borrowed.get(cache_key(text, self._identity))
            if entry is not None and entry.sample_rate == self.sample_rate:
                return entry.samples.astype(np.float32) / 32768.0
        return np.concatenate([c.samples for c in super().synthesize(text, settings)])

    def synthesize(self, text: str, settings: Settings = DEFAULT_SETTINGS) -> Iterator[AudioChunk]:
        kind = fault_of(text)
        if kind == "swap" and text == self._swap:
            kind = None  # saying the swap sentence instead of itself is no fault
        samples = self._clean(text, settings)
        if kind == "cut":
            samples = samples[: len(samples) // 2]
        elif kind == "swap":
            samples = self._clean(self._swap, settings)
        elif kind == "silence":
            samples = np.zeros_like(samples)
        elif kind == "repeat":
            third = samples[: len(samples) // 3]
            samples = np.concatenate([third, third, samples])
        if kind is not None:
            with self._record.open("a", encoding="utf-8") as out:
                out.write(f"{kind}\t{text}\n")
        yield AudioChunk(samples=samples, sample_rate=self.sample_rate, text=text)
