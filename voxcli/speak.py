"""Speak a short text with one voice profile: the work behind ``voxcli say``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxcli.arrays import Float32
from voxcli.audio.encode import silence
from voxcli.engines import load_engine
from voxcli.engines.base import VoiceProfile
from voxcli.errors import EngineError, UsageError
from voxcli.text.segment import speech_units


@dataclass(frozen=True)
class Speech:
    samples: Float32  # float32, mono, in [-1, 1]
    sample_rate: int  # Hz
    chunks: int  # how many pieces the engine spoke

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def speech_pieces(text: str, profile: VoiceProfile, max_chars: int) -> list[tuple[str, float]]:
    """(piece, seconds of silence after it) in order: sentences, or pieces of long ones, within
    ``max_chars``; the profile's sentence and paragraph pauses between them, none after the last."""
    units = speech_units(text, profile.lang, max_chars)
    pieces: list[tuple[str, float]] = []
    for p_index, paragraph in enumerate(units):
        for s_index, piece in enumerate(paragraph):
            if s_index < len(paragraph) - 1:
                pause = profile.sentence_pause
            else:
                pause = profile.paragraph_pause if p_index < len(units) - 1 else 0.0
            pieces.append((piece, pause))
    return pieces


def speak(text: str, profile: VoiceProfile, device: str = "auto") -> Speech:
    """Speak ``text``: paragraphs and sentences separated by the profile's pauses."""
    engine = load_engine(profile, device)
    pieces = speech_pieces(text, profile, engine.max_chars)
    if not pieces:
        raise UsageError("nothing to say: the text has no words", "give the text to speak, or '-' for stdin")
    rate = engine.sample_rate
    parts: list[Float32] = []
    spoken = 0
    for piece, pause in pieces:
        for chunk in engine.synthesize(piece):
            if chunk.sample_rate != rate:
                raise EngineError(
                    f"engine '{profile.engine}' changed its sample rate mid-text", "report this engine's bug"
                )
            parts.append(np.asarray(chunk.samples, dtype=np.float32))
            spoken += 1
        if pause:
            parts.append(silence(pause, rate))
    return Speech(samples=np.concatenate(parts), sample_rate=rate, chunks=spoken)
