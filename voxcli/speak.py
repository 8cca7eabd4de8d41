"""Speak a short text with one voice profile: the work behind ``voxcli say``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxcli.arrays import Float32
from voxcli.audio.encode import silence
from voxcli.engines import engine_class, load_engine, speak
from voxcli.engines.base import VoiceProfile
from voxcli.errors import UsageError
from voxcli.lexicon.model import Lexicon
from voxcli.lexicon.pronounce import for_profile
from voxcli.text.pieces import speech_pieces


@dataclass(frozen=True)
class Speech:
    samples: Float32  # float32, mono, in [-1, 1]
    sample_rate: int  # Hz
    chunks: int  # how many pieces the engine spoke

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def say(text: str, profile: VoiceProfile, device: str = "auto", lexicon: Lexicon | None = None) -> Speech:
    """Speak ``text``: the same pieces ``convert`` would make of it (normalised, within the engine's
    limit, with ``lexicon`` and the profile's own pronunciations), with the profile's sentence and
    paragraph pauses between them."""
    cls = engine_class(profile.engine, profile.where("engine"))
    pieces = speech_pieces(text, profile, cls.max_chars, pronounce=for_profile(cls, profile, lexicon))
    if not pieces:
        raise UsageError("nothing to say: the text has no words", "give the text to speak, or '-' for stdin")
    engine = load_engine(profile, device)
    try:
        rate = engine.sample_rate
        parts: list[Float32] = []
        for piece in pieces:
            parts.append(speak(engine, piece.speech, profile.settings).samples)
            if piece.pause:
                parts.append(silence(piece.pause, rate))
    finally:
        engine.close()
    return Speech(samples=np.concatenate(parts), sample_rate=rate, chunks=len(pieces))
