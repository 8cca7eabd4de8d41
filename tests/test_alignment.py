"""Word timings by forced alignment, against Piper's own (from its phoneme durations): the oracle."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_engines import JOE
from voxcli.asr import load_recognizer
from voxcli.engines import load_engine, speak
from voxcli.verify.timing import aligned_words

SENTENCES = [
    "The Prince travelled all over the world to find a real Princess.",
    "There were Princesses enough, but he could not be sure they were real.",
    "One evening a terrible storm came on, with thunder and lightning.",
    "Somebody knocked at the town gate, and the old King went to open it.",
    "It was a Princess standing outside, and the rain ran down her hair.",
    "The Queen thought, we shall soon find out, but said nothing at all.",
]
TOLERANCE = 0.1  # seconds: the mean distance of aligned word starts and ends from Piper's own


@pytest.mark.slow
def test_aligned_words_are_within_a_tenth_of_a_second_of_pipers_own() -> None:
    engine = load_engine(JOE)
    listener = load_recognizer("pocketsphinx", "en-us", SENTENCES)
    starts, ends = [], []
    compared = 0
    for text in SENTENCES:
        spoken = speak(engine, text)
        aligned = aligned_words(listener, spoken.samples, spoken.sample_rate, text)
        assert aligned is not None, text  # every word is in the recogniser's dictionary
        if spoken.words is None:  # Piper's own timings need its phonemes to match the words one to one
            continue
        compared += 1
        assert [w.word for w in aligned] == [w.word for w in spoken.words]
        starts += [abs(a.start - b.start) for a, b in zip(aligned, spoken.words, strict=True)]
        ends += [abs(a.end - b.end) for a, b in zip(aligned, spoken.words, strict=True)]
    listener.close()
    assert compared >= 3, "Piper timed too few of the sentences to compare"
    print(f"aligned against Piper: starts {np.mean(starts):.3f} s, ends {np.mean(ends):.3f} s on average")
    assert np.mean(starts) < TOLERANCE and np.mean(ends) < TOLERANCE
