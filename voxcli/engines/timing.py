"""Word timings from phoneme timings: shared by every engine that knows when each phoneme sounds."""

from __future__ import annotations

from collections.abc import Iterable

from voxcli.engines.base import WordTiming

BOUNDARIES = frozenset({" ", "^", "$"})  # a space, and Piper's start and end markers
SOUNDING_MARKS = frozenset("ˈˌːˑᵊ")  # stress and length marks belong to the word they mark


def word_spans(phonemes: Iterable[tuple[str, int, int]]) -> list[tuple[int, int]]:
    """Sample spans of the spoken words, from (phoneme, start sample, end sample) in order.

    A word is a run of phonemes between spaces; it spans its sounds only (not the pause of a comma
    after it), and a run of punctuation alone is no word.
    """
    spans: list[tuple[int, int]] = []
    start: int | None = None
    end = 0
    for phoneme, first, last in phonemes:
        if phoneme in BOUNDARIES:
            if start is not None:
                spans.append((start, end))
            start = None
        elif phoneme.isalpha() or phoneme in SOUNDING_MARKS:
            start = first if start is None else start
            end = last
    if start is not None:
        spans.append((start, end))
    return spans


def match_words(text: str, spans: list[tuple[int, int]], rate: int) -> list[WordTiming] | None:
    """The text's words with the spoken spans, when they correspond one to one; else None.

    Text read as more or fewer words than it has ("$5" -> "five dollars") gets no word timings
    rather than wrong ones; subtitles then fall back to sentence timing.
    """
    words = [word for word in text.split() if any(ch.isalnum() for ch in word)]
    if not words or len(words) != len(spans):
        return None
    pairs = zip(words, spans, strict=True)
    return [WordTiming(word, start / rate, end / rate) for word, (start, end) in pairs]
