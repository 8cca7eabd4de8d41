"""Word timings by forced alignment, against Piper's own (from its phoneme durations): the oracle."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import soundfile
import srt
from typer.testing import CliRunner

from tests.test_engines import JOE
from voxcli import engines
from voxcli.asr import load_recognizer
from voxcli.cli import app
from voxcli.engines import load_engine, speak
from voxcli.engines.base import DEFAULT_SETTINGS, AudioChunk, Settings
from voxcli.engines.piper import PiperEngine
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


class Untimed(PiperEngine):
    """Piper without its word timings: an engine that reports none, as XTTS does."""

    name: ClassVar[str] = "untimed"
    capabilities: ClassVar[frozenset[str]] = frozenset({"stochastic"})

    def synthesize(self, text: str, settings: Settings = DEFAULT_SETTINGS) -> Iterator[AudioChunk]:
        for chunk in super().synthesize(text, settings):
            yield AudioChunk(samples=chunk.samples, sample_rate=chunk.sample_rate, text=text)


@pytest.mark.slow
def test_word_subtitles_for_an_engine_without_timings_come_from_alignment(
    isolated: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(engines.BUILTIN, "untimed", f"{__name__}:Untimed")
    engines.registry.cache_clear()
    voices = isolated / "voices.toml"
    voices.write_text(
        'default = "u"\n[voices.u]\nengine = "untimed"\nvoice = "en_US-joe-medium"\n', encoding="utf-8"
    )
    book = isolated / "princess.md"
    book.write_text("# The Princess\n\n" + " ".join(SENTENCES[:3]) + "\n", encoding="utf-8")
    out = isolated / "out"
    args = [
        "convert",
        str(book),
        "-o",
        str(out),
        "--format",
        "wav",
        "--subtitles",
        "srt:words",
        "--jobs",
        "1",
    ]
    result = runner.invoke(app, [*args, "--voices", str(voices)])
    engines.registry.cache_clear()
    assert result.exit_code == 0, result.output
    (subtitles,) = out.glob("*.srt")
    (wav,) = out.glob("*.wav")
    cues = list(srt.parse(subtitles.read_text(encoding="utf-8")))
    expected = ["The", "Princess", *" ".join(SENTENCES[:3]).split()]
    assert [cue.content for cue in cues] == expected  # a cue per word, every word, in order
    duration = soundfile.info(str(wav)).duration
    assert all(a.end <= b.start for a, b in itertools.pairwise(cues))
    assert cues[-1].end.total_seconds() <= duration + 0.001
