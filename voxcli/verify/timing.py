"""Word timings from forced alignment, for engines that report none (XTTS, Kokoro ONNX without them):
with them, ``--subtitles srt:words`` gives a cue per word whatever the engine."""

from __future__ import annotations

from voxcli.arrays import Float32
from voxcli.asr.base import Recognizer
from voxcli.asr.words import words
from voxcli.engines.base import WordTiming


def aligned_words(
    recognizer: Recognizer, samples: Float32, rate: int, speech: str
) -> list[WordTiming] | None:
    """One timing per word of ``speech`` as it is written (``fifty-one,`` is one), as engines report
    them; None when the recogniser cannot align every word (subtitles then time the sentence)."""
    tokens = [token for token in speech.split() if words(token)]
    parts = [words(token) for token in tokens]
    flat = [w for part in parts for w in part]
    found = recognizer.align(samples, rate, flat) if flat else None
    if found is None or len(found) != len(flat):
        return None
    timings: list[WordTiming] = []
    position = 0
    for token, part in zip(tokens, parts, strict=True):
        first, last = found[position], found[position + len(part) - 1]
        timings.append(WordTiming(token, first.start, last.end))
        position += len(part)
    return timings
