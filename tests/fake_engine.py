"""A fake speech engine for CLI tests: a short tone per word, a model file when one is named."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import ClassVar

import numpy as np
from pydantic import Field

from voxcli.engines.base import AudioChunk, Engine, EngineOptions, Problem, VoiceProfile, WordTiming

RATE = 16000
WORD_SECONDS = 0.2


class FakeOptions(EngineOptions):
    pitch: float = Field(default=220.0, gt=0, le=4000)  # Hz of the tone
    delay: float = Field(default=0.0, ge=0, le=10)  # seconds each call takes, to interrupt runs mid-way
    threads: int | None = None  # like Piper's: convert --jobs sets 1 per worker


class FakeEngine(Engine):
    """Speaks a tone per word; ``voice`` is a name, or a path to a 'model' file that must exist."""

    name: ClassVar[str] = "fake"
    description: ClassVar[str] = "test tones"
    install_hint: ClassVar[str] = "pip install fake-engine"
    max_chars: ClassVar[int] = 200
    Options: ClassVar[type[EngineOptions]] = FakeOptions
    neutral_options: ClassVar[frozenset[str]] = frozenset({"threads", "delay"})
    parallel: ClassVar[bool] = True
    loads: ClassVar[int] = 0

    def __init__(self, profile: VoiceProfile) -> None:
        self.sample_rate = RATE
        options = profile.options_as(FakeOptions)
        self._pitch, self._delay = options.pitch, options.delay
        self._speed = profile.speed

    @classmethod
    def profile_problem(cls, profile: VoiceProfile) -> Problem | None:
        if profile.voice.endswith(".model") and not profile.path(profile.voice).is_file():
            return Problem(f"model file not found: {profile.path(profile.voice)}", "fix the path")
        return None

    @classmethod
    def load(cls, profile: VoiceProfile, device: str = "auto") -> FakeEngine:
        FakeEngine.loads += 1
        return cls(profile)

    def synthesize(self, text: str) -> Iterator[AudioChunk]:
        if self._delay:
            time.sleep(self._delay)
        words = text.split()
        length = round(WORD_SECONDS / self._speed * RATE)
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
