"""One text, three ways in (`voxcli convert`, `voxcli say`, the server's POST /v1/audio/speech): the engine
is asked to say the same normalised pieces, and the silences between them are the profile's.

The engine is tests/fake_engine.py's ``recording``: tones that are never silent, and a record, one
JSON line per call, of every text it was given (the server writes it from its own process).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from tests.fake_engine import RATE, FakeEngine
from tests.plugin_engines import plugin_path, test_engines  # noqa: F401  (fixtures)
from tests.test_serve import serve
from voxcli.book import Chapter
from voxcli.cli import app
from voxcli.convert.plan import plan_chapter
from voxcli.engines import VoiceProfile
from voxcli.text.normalize import normalize
from voxcli.text.pieces import speech_pieces

TEXT = "It cost $5 in 1851, said Dr. Watson. He left at once! Then he came back."
# What a person reads aloud (written here, not taken from voxcli): the money, the year, the title.
SPOKEN = [
    "It cost five dollars in eighteen fifty-one, said Doctor Watson.",
    "He left at once!",
    "Then he came back.",
]
TITLE = "Chapter One"
# Pauses no default has, so that each gap in the audio says which pause made it.
SENTENCE, PARAGRAPH, HEADING = 0.37, 0.81, 1.13
SILENT = 1e-4  # the tones are never this quiet for more than a sample
MIN_GAP = 0.01  # seconds: a shorter quiet run is a tone's zero crossing


def voices_file(folder: Path) -> Path:
    """A voices.toml whose default voice records what it says in ``folder``/said.jsonl."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "voices.toml"
    path.write_text(
        f"""default = "rec"

[voices.rec]
engine = "recording"
voice = "tone"
sentence_pause = {SENTENCE}
paragraph_pause = {PARAGRAPH}
title_pause = {HEADING}

[voices.rec.options]
record = "said.jsonl"
""",
        encoding="utf-8",
    )
    return path


def said(folder: Path) -> list[str]:
    return [json.loads(line) for line in (folder / "said.jsonl").read_text(encoding="utf-8").splitlines()]


def gaps(samples: np.ndarray, rate: int) -> tuple[list[float], float, float]:
    """(silences between sounds, silence at the start, silence at the end), in seconds."""
    quiet = np.concatenate([[False], np.abs(samples) < SILENT, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    pairs = zip(edges[::2], edges[1::2], strict=True)
    runs = [(start, end) for start, end in pairs if (end - start) / rate >= MIN_GAP]
    lead = next(((end - start) / rate for start, end in runs if start == 0), 0.0)
    tail = next(((end - start) / rate for start, end in runs if end == len(samples)), 0.0)
    inner = [(end - start) / rate for start, end in runs if start > 0 and end < len(samples)]
    return inner, lead, tail


def decode(data: bytes | Path) -> tuple[np.ndarray, int]:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    samples, rate = soundfile.read(source, dtype="float32")
    assert samples.ndim == 1
    return samples, rate


@pytest.fixture
def through_convert(isolated: Path, test_engines: None) -> tuple[list[str], np.ndarray, int]:  # noqa: F811
    folder = isolated / "convert"
    voices = voices_file(folder)
    book = isolated / "book.md"
    book.write_text(f"# {TITLE}\n\n{TEXT}\n", encoding="utf-8")
    out = isolated / "out"
    result = CliRunner().invoke(
        app,
        [
            *("convert", str(book), "--voices", str(voices), "--format", "wav"),
            *("--subtitles", "none", "--jobs", "1", "-o", str(out)),
        ],
    )
    assert result.exit_code == 0, result.output
    (wav,) = sorted(out.glob("*.wav"))
    return said(folder), *decode(wav)


@pytest.fixture
def through_say(isolated: Path, test_engines: None) -> tuple[list[str], np.ndarray, int]:  # noqa: F811
    folder = isolated / "say"
    voices = voices_file(folder)
    result = CliRunner().invoke(app, ["say", TEXT, "--voices", str(voices), "-o", str(folder / "say.wav")])
    assert result.exit_code == 0, result.output
    return said(folder), *decode(folder / "say.wav")


@pytest.fixture
def through_server(tmp_path: Path, plugin_path: str) -> tuple[list[str], np.ndarray, int]:  # noqa: F811
    home = tmp_path / "server"
    voices = voices_file(home)
    with serve(home, "--voices", str(voices)) as server:
        response = httpx.post(
            server.url + "/v1/audio/speech",
            json={"input": TEXT, "voice": "rec", "response_format": "wav"},
            timeout=60,
        )
    assert response.status_code == 200, response.text
    return said(home), *decode(response.content)


def test_convert_say_and_serve_speak_the_same_normalised_pieces(
    through_convert: tuple[list[str], np.ndarray, int],
    through_say: tuple[list[str], np.ndarray, int],
    through_server: tuple[list[str], np.ndarray, int],
) -> None:
    converted, said_aloud, served = through_convert[0], through_say[0], through_server[0]
    assert converted[0] == TITLE, converted  # convert announces the chapter first
    assert converted[1:] == SPOKEN, "convert"
    assert said_aloud == SPOKEN, "say"
    assert served == SPOKEN, "the server"


def test_the_pauses_between_pieces_are_the_profiles_everywhere(
    through_convert: tuple[list[str], np.ndarray, int],
    through_say: tuple[list[str], np.ndarray, int],
    through_server: tuple[list[str], np.ndarray, int],
) -> None:
    found = {}
    for name, (_, samples, rate) in {
        "convert": through_convert,
        "say": through_say,
        "server": through_server,
    }.items():
        assert rate == RATE, name
        inner, _lead, tail = gaps(samples, rate)
        found[name] = (inner, tail)
    tolerance = 1.5 / RATE
    convert_inner, _ = found["convert"]
    assert convert_inner == pytest.approx([HEADING, SENTENCE, SENTENCE], abs=tolerance), found
    for name in ("say", "server"):
        inner, tail = found[name]
        assert inner == pytest.approx([SENTENCE, SENTENCE], abs=tolerance), (name, found)
        assert tail == 0.0, f"{name}: {tail:.3f} s of silence after the last piece"


def test_speech_pieces_are_the_pieces_convert_plans() -> None:
    # Two paragraphs, a sentence too long for the limit, and a line with nothing to say.
    long = "The ship sailed on through the night, and the crew, tired and cold, kept watch until dawn came."
    text = f"{TEXT}\n\n* * *\n\n{long} It was 3:15 AM."
    profile = VoiceProfile(
        name="rec",
        engine="fake",
        voice="tone",
        sentence_pause=SENTENCE,
        paragraph_pause=PARAGRAPH,
        title_pause=HEADING,
    )
    max_chars = 70  # the first sentence fits spoken (63), the long one (96) does not
    pieces = speech_pieces(text, profile, max_chars)
    chapter = Chapter(index=1, title=TITLE, paragraphs=(TEXT, "* * *", f"{long} It was 3:15 AM."))
    plan = plan_chapter(
        chapter,
        number=1,
        width=2,
        profile=profile,
        identity=FakeEngine.identity(profile),
        max_chars=max_chars,
        normalize=normalize,
    )
    segments = [s for s in plan.segments if s.kind == "text"]
    assert [(p.shown, p.speech) for p in pieces] == [(s.text, s.speech) for s in segments]
    # The same pauses, but after the last piece: a text ends there, a chapter's last paragraph does not.
    assert [p.pause for p in pieces[:-1]] == [s.pause for s in segments[:-1]]
    assert pieces[-1].pause == 0.0 and segments[-1].pause == PARAGRAPH
    # Independent of both: the long sentence was cut to fit, nothing was lost, and the text was read out.
    assert all(len(p.speech) <= max_chars for p in pieces)
    assert len(pieces) > 5
    assert [p.speech for p in pieces[:3]] == SPOKEN
    assert "".join(p.shown for p in pieces).replace(" ", "") == (TEXT + long + "It was 3:15 AM.").replace(
        " ", ""
    )
    assert PARAGRAPH in [p.pause for p in pieces]  # between the two paragraphs
