"""Speak a short text with one voice profile: the work behind ``voxcli say``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxcli.audio import silence
from voxcli.engines import load_engine
from voxcli.engines.base import VoiceProfile
from voxcli.errors import EngineError, UsageError
from voxcli.segment import speech_units


@dataclass(frozen=True)
class Speech:
    samples: np.ndarray  # float32, mono, in [-1, 1]
    sample_rate: int  # Hz
    chunks: int  # how many pieces the engine spoke

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def speak(text: str, profile: VoiceProfile, device: str = "auto") -> Speech:
    """Speak ``text``: paragraphs and sentences separated by the profile's pauses."""
    engine = load_engine(profile, device)
    units = speech_units(text, profile.lang, engine.max_chars)
    if not units:
        raise UsageError("nothing to say: the text has no words", "give the text to speak, or '-' for stdin")
    rate = engine.sample_rate
    parts: list[np.ndarray] = []
    spoken = 0
    for paragraph_index, paragraph in enumerate(units):
        if paragraph_index:
            parts.append(silence(profile.paragraph_pause, rate))
        for index, piece in enumerate(paragraph):
            if index:
                parts.append(silence(profile.sentence_pause, rate))
            for chunk in engine.synthesize(piece):
                if chunk.sample_rate != rate:
                    raise EngineError(f"engine '{profile.engine}' changed its sample rate mid-text",
                                      "report this engine's bug")
                parts.append(np.asarray(chunk.samples, dtype=np.float32))
                spoken += 1
    return Speech(samples=np.concatenate(parts), sample_rate=rate, chunks=spoken)
