"""Listen to spoken sentences with a recogniser and check each against its text.

Two shapes of input: sentences whose audio is known one by one (a converted book's sentence cache),
and one recording of a whole text (an audiobook made anywhere), whose sentences are found by
aligning every word heard to every word expected.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from voxcli.arrays import Float32
from voxcli.asr.base import Recognizer
from voxcli.asr.words import words
from voxcli.engines.base import WordTiming
from voxcli.text.markup import parts
from voxcli.verify.score import Comparison, SentenceCheck, compare, judge

FRAME = 0.02  # seconds per frame when looking for silence
SILENT_RMS = 10 ** (-50 / 20)  # a frame under -50 dBFS is silence
UTTERANCE = 8.0  # seconds: a long recording is heard in pieces of about this length, cut in pauses
PAUSE = 0.25  # seconds of silence that make a place to cut


@dataclass(frozen=True)
class Sentence:
    """A sentence to check: its text as written and as spoken."""

    text: str
    speech: str


def expected_words(speech: str, recognizer: Recognizer) -> tuple[list[str], list[str]]:
    """(words the recogniser can check, words it cannot hear) of ``speech``.

    Words said with the lexicon's or the book's phonemes are not checked: the recogniser would
    expect its own pronunciation of them, not the one asked for.
    """
    checked: list[str] = []
    unchecked: list[str] = []
    for part in parts(speech):
        for word in words(part.text):
            (checked if part.phonemes is None and recognizer.known(word) else unchecked).append(word)
    return checked, unchecked


def _voiced(samples: Float32, rate: int) -> Float32:
    """Per 20 ms frame, whether it holds sound."""
    size = max(1, round(FRAME * rate))
    count = len(samples) // size
    if count == 0:
        return np.zeros(0, dtype=bool)
    frames = samples[: count * size].reshape(count, size).astype(np.float64)
    voiced: Float32 = np.sqrt((frames**2).mean(axis=1)) >= SILENT_RMS
    return voiced


def longest_silence(samples: Float32, rate: int) -> float:
    """The longest silence between the first and the last sound, in seconds (all of it if silent)."""
    voiced = _voiced(samples, rate)
    if not voiced.any():
        return len(samples) / rate
    inside = voiced[int(np.argmax(voiced)) : len(voiced) - int(np.argmax(voiced[::-1]))]
    longest = run = 0
    for frame in inside:
        run = 0 if frame else run + 1
        longest = max(longest, run)
    return longest * FRAME


def level(samples: Float32, rate: int) -> float:
    """The RMS level of the sound in ``samples``, in dBFS, silent frames left out (-120 if silent)."""
    size = max(1, round(FRAME * rate))
    voiced = _voiced(samples, rate)
    if not voiced.any():
        return -120.0
    frames = samples[: len(voiced) * size].reshape(len(voiced), size)[voiced].astype(np.float64)
    return float(10 * np.log10(max(float((frames**2).mean()), 1e-12)))


def check_sentences(
    chapter: int,
    sentences: Sequence[Sentence],
    audio: Callable[[int], tuple[Float32, int]],
    recognizer: Recognizer,
    progress: Callable[[int], None] | None = None,
) -> list[SentenceCheck]:
    """Each sentence heard on its own: ``audio(i)`` gives sentence i's samples and rate."""
    checks: list[SentenceCheck] = []
    start = 0.0
    for index, sentence in enumerate(sentences):
        samples, rate = audio(index)
        heard = recognizer.recognize(samples, rate)
        checkable, unchecked = expected_words(sentence.speech, recognizer)
        seconds = len(samples) / rate
        checks.append(
            SentenceCheck(
                chapter=chapter,
                index=index,
                text=sentence.text,
                speech=sentence.speech,
                comparison=compare(checkable, [w.word for w in heard.words]),
                unchecked=unchecked,
                seconds=seconds,
                start=start,
                longest_silence=longest_silence(samples, rate),
                level=level(samples, rate),
            )
        )
        start += seconds
        if progress is not None:
            progress(index + 1)
    return judge(checks)


def utterances(samples: Float32, rate: int, length: float = UTTERANCE) -> list[tuple[int, int]]:
    """(start, end) sample ranges of about ``length`` seconds, cut in the middle of pauses."""
    voiced = _voiced(samples, rate)
    size = max(1, round(FRAME * rate))
    cuts = [0]
    run = 0
    for index, frame in enumerate(voiced):
        run = 0 if frame else run + 1
        if run * FRAME >= PAUSE and (index * size - cuts[-1]) / rate >= length:
            cuts.append((index - run // 2) * size)
            run = 0
    cuts.append(len(samples))
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def hear_recording(samples: Float32, rate: int, recognizer: Recognizer) -> list[WordTiming]:
    """Every word heard in a long recording, with its time from the recording's start."""
    heard: list[WordTiming] = []
    for begin, end in utterances(samples, rate):
        offset = begin / rate
        piece = recognizer.recognize(samples[begin:end], rate)
        heard += [WordTiming(w.word, w.start + offset, w.end + offset) for w in piece.words]
    return heard


def check_recording(
    sentences: Sequence[Sentence], samples: Float32, rate: int, recognizer: Recognizer
) -> list[SentenceCheck]:
    """The sentences of a text against one recording of all of it: every word heard is aligned to the
    words expected, and each sentence gets the words heard where its own words were expected (a word
    heard where none was expected goes to the sentence before it)."""
    heard = hear_recording(samples, rate, recognizer)
    per_sentence = [expected_words(s.speech, recognizer) for s in sentences]
    owner: list[int] = [i for i, (checkable, _) in enumerate(per_sentence) for _ in checkable]
    flat = [w for checkable, _ in per_sentence for w in checkable]
    assigned: list[list[WordTiming]] = [[] for _ in sentences]
    whole = compare(flat, [w.word for w in heard])
    _assign(whole, flat, heard, owner, assigned)
    checks = []
    duration = len(samples) / rate
    for index, (sentence, (checkable, unchecked)) in enumerate(zip(sentences, per_sentence, strict=True)):
        mine = assigned[index]
        start = mine[0].start if mine else 0.0
        seconds = (mine[-1].end - mine[0].start) if mine else 0.0
        clip = samples[int(start * rate) : int((start + seconds) * rate)]
        checks.append(
            SentenceCheck(
                chapter=0,
                index=index,
                text=sentence.text,
                speech=sentence.speech,
                comparison=compare(checkable, [w.word for w in mine]),
                unchecked=unchecked,
                seconds=min(seconds, duration),
                start=start,
                longest_silence=0.0,
                level=level(clip, rate),
            )
        )
    return judge(checks, use_pace=False)


def _assign(
    whole: Comparison,
    expected: list[str],
    heard: list[WordTiming],
    owner: list[int],
    assigned: list[list[WordTiming]],
) -> None:
    """Give each heard word to the sentence whose expected word it was aligned with."""
    import jiwer

    if not expected or not heard:
        return
    output = jiwer.process_words(" ".join(expected), " ".join(w.word for w in heard))
    last = 0
    for chunk in output.alignments[0]:
        if chunk.type in ("equal", "substitute"):
            for offset in range(chunk.hyp_end_idx - chunk.hyp_start_idx):
                ref = min(chunk.ref_start_idx + offset, chunk.ref_end_idx - 1)
                last = owner[ref]
                assigned[last].append(heard[chunk.hyp_start_idx + offset])
        elif chunk.type == "insert":
            assigned[last] += heard[chunk.hyp_start_idx : chunk.hyp_end_idx]
        else:  # delete: nothing heard for these expected words
            last = owner[chunk.ref_end_idx - 1]
