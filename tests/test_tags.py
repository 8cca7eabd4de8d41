"""Inline tags: pauses, voices and speeds in TXT and Markdown books, ``say`` and the server."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import soundfile
from typer.testing import CliRunner

from tests.audiocheck import probe_seconds
from voxcli.cli import app
from voxcli.errors import UsageError
from voxcli.text.tags import Run, State, plain, runs


def test_runs_and_their_voices_speeds_and_pauses() -> None:
    found = runs("Hi. [pause:1.5] [voice:joe]Me [speed:1.2]fast[/speed] now.[/voice] End.", "t")
    assert found == [
        Run("Hi. ", "", None, 1.5),
        Run(" ", "", None, None),
        Run("Me ", "joe", None, None),
        Run("fast", "joe", 1.2, None),
        Run(" now.", "joe", None, None),
        Run(" End.", "", None, None),
    ][:1] + [r for r in found[1:]]
    assert [(r.voice, r.speed) for r in found if r.text.strip()] == [
        ("", None),
        ("joe", None),
        ("joe", 1.2),
        ("joe", None),
        ("", None),
    ]
    assert found[0].pause == 1.5
    assert plain("A \\[pause:1] and [Illustration] and [note: see p. 4].") == (
        "A [pause:1] and [Illustration] and [note: see p. 4]."
    )


def test_a_voice_runs_on_over_paragraphs() -> None:
    state = State()
    first = runs("[voice:joe]It began here.", "p1", state)
    second = runs("And went on.[/voice] Narration.", "p2", state)
    assert [(r.text.strip(), r.voice) for r in first + second if r.text.strip()] == [
        ("It began here.", "joe"),
        ("And went on.", "joe"),
        ("Narration.", ""),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Hello [pausa:1] there", "t, column 7: [pausa:1]: unknown tag 'pausa'"),
        ("Hello [pause:x]", "t, column 7: [pause:x]: expected seconds from 0 to 30"),
        ("Hello [speed:9]x[/speed]", "t, column 7: [speed:9]: expected a speed from 0.5 to 2"),
        ("Hello[/voice]", "t, column 6: [/voice]: nothing to close"),
    ],
)
def test_a_tag_mistake_is_one_error_with_its_column(text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        runs(text, "t")
    assert caught.value.message == message


MARKDOWN = """# One

The narrator begins. [pause:2] After a pause, [voice:espeak:en+f3]another voice speaks.[/voice] Back.

[speed:1.5]A fast paragraph.[/speed]

A literal \\\\[pause:1] stays, and so does [Illustration].
"""


def test_tags_in_a_markdown_chapter(runner: CliRunner, isolated: Path) -> None:
    book = isolated / "tagged.md"
    book.write_text(MARKDOWN, encoding="utf-8")
    args = ["convert", str(book), "-v", "espeak:en-us", "--dry-run", "--json", "-o", str(isolated / "out")]
    segments = json.loads(runner.invoke(app, args).stdout)["chapters"][0]["segments"]
    said = [(s["voice"], s["text"], s["pause"]) for s in segments]
    assert said[1] == ("espeak:en-us", "The narrator begins.", 2.0)
    assert ("espeak:en+f3", "another voice speaks.", 0.25) in said
    assert ("espeak:en-us@1.5", "A fast paragraph.", 0.6) in said
    assert any("[pause:1]" in text and "[Illustration]" in text for _, text, _ in said)
    assert not any(
        "[voice" in s["text"] or "[voice" in s["speech"] for s in segments
    )  # never spoken, never shown
    literal = json.loads(runner.invoke(app, [*args, "--no-tags"]).stdout)["chapters"][0]["segments"]
    assert any("[pause:2]" in s["text"] for s in literal)
    book.write_text("# One\n\nHello [voice:jeo]there[/voice].\n", encoding="utf-8")
    wrong = runner.invoke(app, args)
    assert wrong.exit_code != 0 and "Traceback" not in wrong.output
    assert "chapter 1, paragraph 2, column 7: [voice:jeo]: unknown voice 'jeo'" in wrong.output


def test_say_reads_tags(runner: CliRunner, isolated: Path, ffmpeg: None) -> None:
    def seconds(text: str, *extra: str) -> float:
        out = isolated / "said.wav"
        result = runner.invoke(app, ["say", text, "-v", "espeak:en-us", "-o", str(out), *extra])
        assert result.exit_code == 0, result.output
        return probe_seconds(out)

    plain_ = seconds("One. Two.")
    paused = seconds("One. [pause:2] Two.")
    assert 1.6 < paused - plain_ < 2.4  # the tag's two seconds instead of the sentence pause
    fast = seconds("[speed:2]One. Two. Three. Four. Five.[/speed]")
    slow = seconds("One. Two. Three. Four. Five.")
    assert fast < 0.8 * slow
    voiced = seconds("One. [voice:piper:en_US-joe-medium]Two.[/voice]")
    assert voiced > 0.5
    bad = runner.invoke(app, ["say", "Hi [pausa:1]", "-v", "espeak:en-us", "-o", str(isolated / "x.wav")])
    assert bad.exit_code == 2 and "column 4: [pausa:1]: unknown tag" in bad.output
    literal = runner.invoke(
        app, ["say", "Hi [pausa:1]", "--no-tags", "-v", "espeak:en-us", "-o", str(isolated / "x.wav")]
    )
    assert literal.exit_code == 0


def test_the_server_reads_tags(isolated: Path) -> None:
    from fastapi.testclient import TestClient

    from voxcli.server.app import ServerSettings, create_app

    with TestClient(create_app(ServerSettings())) as client:

        def speak(text: str) -> float:
            answer = client.post(
                "/v1/audio/speech", json={"input": text, "voice": "espeak", "response_format": "wav"}
            )
            assert answer.status_code == 200, answer.text
            samples, rate = soundfile.read(io.BytesIO(answer.content))
            return len(samples) / rate

        assert 1.6 < speak("One. [pause:2] Two.") - speak("One. Two.") < 2.4
        assert speak("One. [voice:piper:en_US-joe-medium]Two.[/voice]") > 0.5
        wrong = client.post("/v1/audio/speech", json={"input": "Hi [voice:jeo]x[/voice]", "voice": "espeak"})
        assert wrong.status_code == 400 and "unknown voice 'jeo'" in wrong.text and "column 4" in wrong.text
        streamed = client.post(
            "/v1/audio/speech",
            json={
                "input": "Hi [voice:joe]x[/voice]",
                "voice": "espeak",
                "stream": True,
                "response_format": "wav",
            },
        )
        assert streamed.status_code == 400 and "cannot be streamed" in streamed.text
