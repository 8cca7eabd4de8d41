"""`voxcli say` end to end with the real engines: files, stdout, stdin, MP3, players."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile
from typer.testing import CliRunner

from tests.audiocheck import assert_speech
from voxcli.cli import app

FOX = "The quick brown fox."


def decode(path_or_bytes: Path | bytes) -> tuple:
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    samples, rate = soundfile.read(source, dtype="float32")
    return samples, rate


def test_say_with_no_voices_file_anywhere_uses_the_builtin_piper_voice(
    runner: CliRunner, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = runner.invoke(app, ["say", FOX, "-o", "fox.wav"])
    assert result.exit_code == 0, result.output
    assert "voice joe (piper)" in result.stderr
    info = soundfile.info(isolated / "fox.wav")
    assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_16")
    samples, rate = decode(isolated / "fox.wav")
    assert_speech(samples, rate, 0.8, 3.5)
    assert sorted(p.name for p in isolated.iterdir()) == ["fox.wav"]  # no temp files left


def test_say_espeak_ad_hoc_voice(runner: CliRunner, isolated: Path) -> None:
    result = runner.invoke(app, ["say", FOX, "-v", "espeak:en-us", "-o", "fox.wav"])
    assert result.exit_code == 0, result.output
    samples, rate = decode(isolated / "fox.wav")
    assert rate == 22050
    assert_speech(samples, rate, 0.8, 3.5)


def test_say_mp3(runner: CliRunner, isolated: Path) -> None:
    result = runner.invoke(app, ["say", FOX, "-v", "espeak:en-us", "-o", "fox.mp3"])
    assert result.exit_code == 0, result.output
    head = (isolated / "fox.mp3").read_bytes()[:2]
    assert head[0] == 0xFF and head[1] & 0xE0 == 0xE0  # an MPEG audio frame sync
    samples, rate = decode(isolated / "fox.mp3")
    assert rate == 22050
    assert_speech(samples, rate, 0.8, 3.6)


def test_say_wav_to_stdout_and_text_from_stdin(runner: CliRunner, isolated: Path) -> None:
    result = runner.invoke(
        app,
        ["say", "-", "-v", "espeak:en-us", "-o", "-"],
        input="First sentence here.\n\nA second paragraph follows.\n",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes[:4] == b"RIFF"
    samples, rate = decode(result.stdout_bytes)
    assert_speech(samples, rate, 2.0, 6.0)
    # Two paragraphs: the paragraph pause (0.6 s by default) is a run of exact silence.
    longest = longest_silence(samples) / rate
    assert 0.55 <= longest <= 0.8


def longest_silence(samples) -> int:
    best = run = 0
    for quiet in abs(samples) < 1e-4:
        run = run + 1 if quiet else 0
        best = max(best, run)
    return best


def test_say_speed_option(runner: CliRunner, isolated: Path) -> None:
    durations = {}
    for speed in ("1.0", "2.0"):
        result = runner.invoke(app, ["say", FOX * 3, "-o", f"{speed}.wav", "--speed", speed])
        assert result.exit_code == 0, result.output
        durations[speed] = soundfile.info(isolated / f"{speed}.wav").duration
    assert 0.35 < durations["2.0"] / durations["1.0"] < 0.72
    result = runner.invoke(app, ["say", FOX, "-o", "x.wav", "--speed", "3"])
    assert result.exit_code == 2


def test_say_unknown_format_and_empty_text(runner: CliRunner, isolated: Path) -> None:
    result = runner.invoke(app, ["say", FOX, "-o", "fox.ogg"])
    assert result.exit_code == 2
    assert "unknown audio format" in result.stderr and ".wav or .mp3" in result.stderr
    result = runner.invoke(app, ["say", "  \n ", "-v", "espeak:en-us", "-o", "x.wav"])
    assert result.exit_code == 2 and "nothing to say" in result.stderr
    assert not (isolated / "x.wav").exists()


def test_say_into_a_missing_folder_is_one_line(runner: CliRunner, isolated: Path) -> None:
    result = runner.invoke(app, ["say", FOX, "-v", "espeak:en-us", "-o", "no/such/dir/fox.wav"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot write no/such/dir/fox.wav")
    assert "Traceback" not in result.output


def fake_player(folder: Path, name: str, exit_code: int = 0) -> None:
    script = folder / name
    script.write_text(
        f'#!/bin/sh\nfor last; do :; done\n/bin/cp "$last" {folder}/played-by-{name}.wav\n'
        f"echo '{name} says hello' >&2\nexit {exit_code}\n"
    )
    script.chmod(0o755)


def test_say_plays_through_the_first_player_that_works(
    runner: CliRunner, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = isolated / "bin"
    bin_dir.mkdir()
    fake_player(bin_dir, "paplay", exit_code=1)  # e.g. no PulseAudio server
    fake_player(bin_dir, "aplay")
    monkeypatch.setenv("PATH", str(bin_dir))
    result = runner.invoke(app, ["say", FOX, "-v", "espeak:en-us"])
    assert result.exit_code == 0, result.output
    assert "played through aplay" in result.stderr
    samples, rate = decode(bin_dir / "played-by-aplay.wav")
    assert_speech(samples, rate, 0.8, 3.5)


def test_say_without_a_player_says_to_use_output(
    runner: CliRunner, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(isolated))
    result = runner.invoke(app, ["say", FOX, "-v", "espeak:en-us"])
    assert result.exit_code == 1
    assert "no audio player found" in result.stderr and "-o FILE.wav" in result.stderr
    bin_dir = isolated / "bin"
    bin_dir.mkdir()
    fake_player(bin_dir, "aplay", exit_code=1)
    monkeypatch.setenv("PATH", str(bin_dir))
    result = runner.invoke(app, ["say", FOX, "-v", "espeak:en-us"])
    assert result.exit_code == 1
    assert "could not play the audio (aplay: aplay says hello)" in result.stderr


def test_say_in_a_fresh_process_loads_no_torch(isolated: Path) -> None:
    script = (
        "import sys\n"
        "from voxcli.cli import main\n"
        "sys.argv = ['voxcli', 'say', 'Hello there.', '-o', 'hello.wav']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'TTS', 'kokoro'}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert soundfile.info(isolated / "hello.wav").samplerate == 22050
