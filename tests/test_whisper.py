"""The faster-whisper recogniser: where it finds a model, when it downloads one, and a check through it.

The real models cannot be downloaded here, so the model is tests/whisper_tiny.py's: full-size
vocabulary, random weights, loaded by faster-whisper and CTranslate2 from a folder or the Hugging
Face cache exactly as a downloaded one is. What it hears is noise; these tests show the plumbing
(finding, loading, languages, JSON) and never judge audio with it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from tests.whisper_tiny import make_tiny_whisper
from voxcli.asr import load_recognizer, recognizer_class, recognizer_report
from voxcli.asr.whisper import WhisperRecognizer, find_model
from voxcli.cli import app
from voxcli.engines import VoiceProfile, load_engine, speak
from voxcli.engines.piper import PiperOptions

JOE = VoiceProfile(name="joe", engine="piper", voice="en_US-joe-medium", options=PiperOptions())
TEXT = "The night was cold and clear. Three ships came into the harbour at dawn."


@pytest.fixture(scope="session")
def tiny_whisper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_whisper(tmp_path_factory.mktemp("whisper"))


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty Hugging Face cache and no model named: what a fresh install has."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))  # read when it is imported
    monkeypatch.delenv("VOXCLI_WHISPER_MODEL", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return tmp_path / "hub"


def put_in_cache(model: Path, hub: Path, repo: str) -> Path:
    """The model laid out as huggingface_hub's cache holds a downloaded repository."""
    root = hub / ("models--" + repo.replace("/", "--"))
    snapshot = root / "snapshots" / "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(model, snapshot)
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(snapshot.name)
    return snapshot


def spoken_wav(path: Path) -> Path:
    engine = load_engine(JOE)
    samples = np.concatenate([speak(engine, part).samples for part in TEXT.split(". ")])
    soundfile.write(path, samples, engine.sample_rate, subtype="PCM_16")
    return path


def error_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    assert "Traceback" not in output
    return lines[0]


# ---- finding the model ----------------------------------------------------------------------------


def test_a_folder_named_by_the_environment_is_used_and_hears_every_language(
    tiny_whisper: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOXCLI_WHISPER_MODEL", str(tiny_whisper))
    assert find_model() == tiny_whisper
    for lang in ("en-us", "fr", "pt-br", "ja", "nb"):
        assert WhisperRecognizer.problem(lang) is None, lang
    problem = WhisperRecognizer.problem("tlh")
    assert problem is not None and "does not hear 'tlh'" in problem.message
    [line] = [c for c in recognizer_report() if c.name == "recogniser faster-whisper"]
    assert line.status == "ok" and str(tiny_whisper) in line.detail and "100 languages" in line.detail


def test_an_english_only_model_refuses_other_languages(
    tiny_whisper: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    english = tmp_path / "tiny.en"
    shutil.copytree(tiny_whisper, english)
    vocabulary = json.loads((english / "vocabulary.json").read_text())
    (english / "vocabulary.json").write_text(json.dumps(vocabulary[:51864]))  # as the *.en models
    monkeypatch.setenv("VOXCLI_WHISPER_MODEL", str(english))
    assert WhisperRecognizer.problem("en") is None
    problem = WhisperRecognizer.problem("de")
    assert problem is not None and "hears only English" in problem.message
    assert problem.fix is not None and "multilingual" in problem.fix


def test_the_hugging_face_cache_is_looked_in_without_downloading(
    tiny_whisper: Path, no_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("VOXCLI_WHISPER_MODEL", "base")
    problem = WhisperRecognizer.problem("fr")
    assert (
        problem is not None
        and "Systran/faster-whisper-base is not in the Hugging Face cache" in problem.message
    )
    snapshot = put_in_cache(tiny_whisper, no_model, "Systran/faster-whisper-base")
    assert find_model() == snapshot
    assert WhisperRecognizer.problem("fr") is None
    heard = load_recognizer("faster-whisper", "fr", [TEXT]).recognize(np.zeros(16000, np.float32), 16000)
    assert all(isinstance(w.word, str) for w in heard.words)


def test_a_missing_model_is_one_line_with_the_fix(
    runner: CliRunner, isolated: Path, no_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated / "book.txt").write_text(TEXT)
    soundfile.write(isolated / "quiet.wav", np.zeros(8000, np.float32), 16000)
    check = ["check", "--audio", "quiet.wav", "--text", "book.txt", "--asr", "faster-whisper"]

    monkeypatch.setenv("VOXCLI_WHISPER_MODEL", str(isolated / "nowhere"))
    result = runner.invoke(app, check)
    assert result.exit_code == 5
    line = error_line(result.stderr)
    assert f"no faster-whisper model in {isolated / 'nowhere'}" in line and "VOXCLI_WHISPER_MODEL" in line

    monkeypatch.delenv("VOXCLI_WHISPER_MODEL")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = runner.invoke(app, check)
    assert result.exit_code == 5
    line = error_line(result.stderr)
    assert "not in the Hugging Face cache" in line and "hf download Systran/faster-whisper-small" in line

    monkeypatch.setenv("VOXCLI_WHISPER_MODEL", "enormous")
    line = error_line(runner.invoke(app, check).stderr)
    assert "VOXCLI_WHISPER_MODEL=enormous" in line and "large-v3" in line


def test_doctor_warns_that_the_model_would_be_downloaded(no_model: Path) -> None:
    [line] = [c for c in recognizer_report() if c.name == "recogniser faster-whisper"]
    assert line.status == "warning" and "not downloaded yet" in line.detail
    assert line.fix is not None and "hf download Systran/faster-whisper-small" in line.fix


# ---- downloading: before the run, never in the middle of it ---------------------------------------


@dataclass
class FakeHub:
    """huggingface_hub.snapshot_download as it behaves with internet: the files land in the cache."""

    model: Path
    hub: Path
    out: Path
    calls: list[tuple[str, bool]]

    def __call__(self, repo: str, allow_patterns: list[str]) -> str:
        assert "model.bin" in allow_patterns and "tokenizer.json" in allow_patterns
        spoken = list(self.out.glob("**/*.wav")) + list(self.out.glob(".voxcli/**/*"))
        self.calls.append((repo, bool(spoken)))
        return str(put_in_cache(self.model, self.hub, repo))


@pytest.mark.slow  # a short book spoken by Piper and heard (again and again) by a random Whisper
def test_convert_verify_downloads_the_model_before_speaking_a_word(
    runner: CliRunner, isolated: Path, no_model: Path, tiny_whisper: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    (isolated / "book.txt").write_text(f"# One\n\n{TEXT}\n")
    fake = FakeHub(tiny_whisper, no_model, isolated / "out", [])
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake)
    args = ["convert", "book.txt", "-o", "out", "--verify", "--verify-tries", "1", "--asr", "faster-whisper"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code in (0, 1), result.output
    assert fake.calls == [("Systran/faster-whisper-small", False)]  # once, and before any audio
    summary = json.loads(result.stdout)
    assert summary["verify"]["recognizer"] == "faster-whisper"
    # Run again: the model is in the cache now, so nothing is downloaded.
    assert runner.invoke(app, [*args, "--json"]).exit_code in (0, 1)
    assert len(fake.calls) == 1


def test_a_failed_download_is_one_line(
    runner: CliRunner, isolated: Path, no_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    def unreachable(repo: str, allow_patterns: list[str]) -> str:
        raise OSError("Network is unreachable")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", unreachable)
    (isolated / "book.txt").write_text(f"# One\n\n{TEXT}\n")
    result = runner.invoke(app, ["convert", "book.txt", "-o", "out", "--verify", "--asr", "faster-whisper"])
    assert result.exit_code == 5
    line = error_line(result.stderr)
    assert "cannot download the Whisper model Systran/faster-whisper-small: Network is unreachable" in line
    assert not (isolated / "out").exists() or not list((isolated / "out").glob("*.wav"))


# ---- hearing -----------------------------------------------------------------------------------


@pytest.mark.slow  # Piper speaks two sentences; the random Whisper decodes them
def test_check_a_recording_in_any_language_through_whisper(
    runner: CliRunner, isolated: Path, tiny_whisper: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOXCLI_WHISPER_MODEL", str(tiny_whisper))
    (isolated / "book.txt").write_text(TEXT)
    spoken_wav(isolated / "two.wav")
    args = ["check", "--audio", "two.wav", "--text", "book.txt", "--lang", "fr", "--asr", "faster-whisper"]
    result = runner.invoke(app, [*args, "--no-titles", "--json"])
    assert result.exit_code == 1, result.output  # the random model hears nothing: every sentence flagged
    report = json.loads(result.stdout)
    assert (report["recognizer"], report["lang"]) == ("faster-whisper", "fr")
    checks = report["chapters"][0]["checks"]
    assert [c["text"] for c in checks] == ["The night was cold and clear.", TEXT.split(". ")[1]]
    assert all(c["flagged"] and c["heard"] == "" for c in checks)


class Words:
    """What faster-whisper's transcribe yields, for the tests of what voxcli does with it."""

    def __init__(self, heard: list[tuple[str, float, float]]) -> None:
        self.heard = heard

    def transcribe(self, audio: object, **options: object) -> tuple[list[object], object]:
        @dataclass
        class Word:
            word: str
            start: float
            end: float

        @dataclass
        class Segment:
            words: list[Word]

        assert options["language"] == "en" and options["word_timestamps"] is True
        return [Segment([Word(*w) for w in self.heard])], None


def test_what_whisper_writes_is_compared_as_spoken_words() -> None:
    model = Words(
        [(" It", 0.0, 0.2), (" cost", 0.2, 0.5), (" $5", 0.5, 1.1), (" in", 1.1, 1.2), (" 1851.", 1.2, 2.0)]
    )
    heard = WhisperRecognizer(model, "en").recognize(np.zeros(32000, np.float32), 16000).words
    assert [w.word for w in heard] == ["it", "cost", "five", "dollars", "in", "eighteen", "fifty", "one"]
    assert (heard[2].start, heard[3].end) == (0.5, 1.1) and heard[2].end == pytest.approx(0.8)
    assert [round(w.start, 3) for w in heard[5:]] == [1.2, 1.467, 1.733]


def test_alignment_times_the_words_heard_and_places_the_others_between() -> None:
    model = Words([(" the", 0.1, 0.3), (" cat", 0.3, 0.6), (" on", 1.2, 1.4), (" mat", 1.6, 2.0)])
    recognizer = WhisperRecognizer(model, "en")
    timed = recognizer.align(np.zeros(40000, np.float32), 16000, ["the", "cat", "sat", "on", "the", "mat"])
    assert timed is not None
    assert [w.word for w in timed] == ["the", "cat", "sat", "on", "the", "mat"]
    assert (timed[2].start, timed[2].end) == (0.6, 1.2)  # "sat": between "cat" and "on"
    assert (timed[4].start, timed[4].end) == (1.4, 1.6)
    assert recognizer.align(np.zeros(40000, np.float32), 16000, ["a", "dog", "ran", "far", "away"]) is None


def test_whisper_is_in_the_registry() -> None:
    assert recognizer_class("faster-whisper") is WhisperRecognizer
