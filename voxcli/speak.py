"""Speak a short text with one voice profile: the work behind ``voxcli say``."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from voxcli.arrays import Float32
from voxcli.audio.encode import silence
from voxcli.engines import engine_class, load_engine, speak
from voxcli.engines.base import Engine, VoiceProfile
from voxcli.errors import UsageError
from voxcli.lexicon.model import Lexicon
from voxcli.lexicon.pronounce import for_profile
from voxcli.text.pieces import Piece, speech_pieces
from voxcli.text.tags import Run, has_tags, runs

# How a [voice:NAME] tag's name becomes a profile (resolve_voice with the voices file in use).
Resolve = Callable[[str], VoiceProfile]


@dataclass(frozen=True)
class Speech:
    samples: Float32  # float32, mono, in [-1, 1]
    sample_rate: int  # Hz
    chunks: int  # how many pieces the engine spoke

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def say(
    text: str,
    profile: VoiceProfile,
    device: str = "auto",
    lexicon: Lexicon | None = None,
    *,
    resolve: Resolve | None = None,
) -> Speech:
    """Speak ``text``: the same pieces ``convert`` would make of it (normalised, within the engine's
    limit, with ``lexicon`` and the profile's own pronunciations), with the profile's sentence and
    paragraph pauses between them.

    With ``resolve``, inline tags are read: ``[pause:S]``, ``[voice:NAME]…[/voice]`` and
    ``[speed:X]…[/speed]`` (voices at another sample rate are resampled to the first one's)."""
    parts = (
        tagged_runs(text, profile, resolve)
        if resolve is not None and has_tags(text)
        else [(text, profile, None)]
    )
    planned: list[tuple[VoiceProfile, Piece]] = []
    for words, voice, pause in parts:
        cls = engine_class(voice.engine, voice.where("engine"))
        pieces = speech_pieces(words, voice, cls.max_chars, pronounce=for_profile(cls, voice, lexicon))
        if pieces and pause is not None:
            pieces[-1] = replace(pieces[-1], pause=pause)
        elif not pieces and pause is not None and planned:
            planned[-1] = (planned[-1][0], replace(planned[-1][1], pause=pause))
        planned += [(voice, piece) for piece in pieces]
    if not planned:
        raise UsageError("nothing to say: the text has no words", "give the text to speak, or '-' for stdin")
    engines: dict[tuple[str, str, str], Engine] = {}  # by profile name, engine and voice: speed is per call
    try:
        rate = 0
        audio: list[Float32] = []
        for voice, piece in planned:
            loaded = (voice.name, voice.engine, voice.voice)
            if loaded not in engines:
                engines[loaded] = load_engine(voice, device)
            engine = engines[loaded]
            samples = speak(engine, piece.speech, voice.settings).samples
            rate = rate or engine.sample_rate
            if engine.sample_rate != rate:
                samples = resample(samples, engine.sample_rate, rate)
            audio.append(samples)
            if piece.pause:
                audio.append(silence(piece.pause, rate))
    finally:
        for engine in engines.values():
            engine.close()
    return Speech(samples=np.concatenate(audio), sample_rate=rate, chunks=len(planned))


def tagged_runs(
    text: str, profile: VoiceProfile, resolve: Resolve
) -> list[tuple[str, VoiceProfile, float | None]]:
    """The text's runs with the profile each is said with (a mistake is one error with its column)."""
    found: list[tuple[str, VoiceProfile, float | None]] = []
    voices: dict[str, VoiceProfile] = {}
    run: Run
    for run in runs(text, "the text", check_voice=resolve):
        if run.voice and run.voice not in voices:
            voices[run.voice] = resolve(run.voice)
        voice = voices[run.voice] if run.voice else profile
        if run.speed is not None:
            voice = replace(voice, speed=run.speed)
        found.append((run.text, voice, run.pause))
    return found


def resample(samples: Float32, rate: int, target: int) -> Float32:
    """Audio at another sample rate (a polyphase filter)."""
    from scipy.signal import resample_poly

    divisor = math.gcd(rate, target)
    resampled: Float32 = resample_poly(samples, target // divisor, rate // divisor).astype(np.float32)
    return resampled
