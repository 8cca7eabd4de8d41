"""The coqui (XTTS v2) engine on a tiny random checkpoint, loaded the way a real xtts_v2 folder is."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib
import soundfile
import srt
from typer.testing import CliRunner

from tests.xtts_tiny import build_tiny_xtts
from voxcli.cli import app
from voxcli.engines import load_engine, speak
from voxcli.engines.base import VoiceProfile, forget_models
from voxcli.engines.coqui import CoquiEngine, CoquiOptions, latents_dir
from voxcli.engines.piper import PiperOptions
from voxcli.engines.streams import Streams, chunks_as_made
from voxcli.errors import EngineError

TEXT = "It was the best of times, it was the worst of times, it was the age of wisdom."


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_xtts(tmp_path_factory.mktemp("xtts"))


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real recording to clone: the built-in Piper voice, about 5 s at 22,050 Hz."""
    engine = load_engine(
        VoiceProfile(name="joe", engine="piper", voice="en_US-joe-medium", options=PiperOptions())
    )
    (chunk,) = list(engine.synthesize(TEXT))
    path = tmp_path_factory.mktemp("rec") / "joe.wav"
    soundfile.write(path, chunk.samples, chunk.sample_rate)
    return path


@pytest.fixture
def accepted(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COQUI_TOS_AGREED", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(isolated.parent / "cache"))
    return isolated


def profile(checkpoint: Path, recording: Path, **options: object) -> VoiceProfile:
    settings = {"model_dir": str(checkpoint), "speaker_wav": [str(recording)], "retries": 0, **options}
    return VoiceProfile(name="me", engine="coqui", voice="xtts_v2", options=CoquiOptions(**settings))


@pytest.mark.slow
def test_clone_and_speak_with_cached_latents(
    checkpoint: Path, recording: Path, accepted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = load_engine(profile(checkpoint, recording), "cpu")
    (chunk,) = list(engine.synthesize("Hello there."))
    assert chunk.sample_rate == 24000 and chunk.samples.dtype == np.float32
    assert len(chunk.samples) > 0 and np.isfinite(chunk.samples).all()
    cached = list(latents_dir().glob("*.pt"))
    assert len(cached) == 1
    # A second run (a new process, as far as voxcli knows) reads the latents from disk.
    forget_models()
    import voxcli.engines.coqui as coqui

    def never(*args: object) -> None:
        raise AssertionError("latents were computed again")

    monkeypatch.setattr(coqui, "compute_latents", never)
    again = load_engine(profile(checkpoint, recording), "cpu")
    (chunk,) = list(again.synthesize("Hello again."))
    assert len(chunk.samples) > 0


def test_the_licence_must_be_accepted(
    checkpoint: Path, recording: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COQUI_TOS_AGREED", raising=False)
    with pytest.raises(EngineError) as error:
        load_engine(profile(checkpoint, recording), "cpu")
    assert "Coqui Public Model License" in error.value.message
    assert "voxcli doctor --accept-coqui-license" in str(error.value.fix)


def test_missing_checkpoint_and_recording(recording: Path, accepted: Path, tmp_path: Path) -> None:
    problem = CoquiEngine.profile_problem(profile(tmp_path / "none", recording))
    assert problem is not None and problem.message.startswith("XTTS v2 weights not found in ")
    assert "https://huggingface.co/coqui/XTTS-v2" in str(problem.fix)


def test_the_guard_retries_a_forced_outlier(
    checkpoint: Path, recording: Path, accepted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = load_engine(profile(checkpoint, recording, retries=2, seed=7), "cpu")
    assert isinstance(engine, CoquiEngine)
    seeds: list[int] = []
    text = "A sentence of about fifty characters, give or take."
    plausible = (np.sin(np.arange(int(len(text) * 0.07 * 24000)) / 5) * 0.3).astype(np.float32)
    babble = (np.sin(np.arange(40 * 24000) / 5) * 0.3).astype(np.float32)  # 40 s for 50 characters

    def speak(text: str, seed: int, speed: float) -> np.ndarray:
        seeds.append(seed)
        return babble if seed == 7 else plausible

    monkeypatch.setattr(engine, "_speak", speak)
    (chunk,) = list(engine.synthesize(text))
    assert seeds == [7, 8] and len(chunk.samples) == len(plausible) and engine.suspicious() == []
    monkeypatch.setattr(engine, "_speak", lambda text, seed, speed: seeds.append(seed) or babble)
    list(engine.synthesize(text))
    assert seeds[2:] == [7, 8, 9] and engine.suspicious() == [text]  # every retry failed: reported


def test_convert_with_a_coqui_profile(
    checkpoint: Path, recording: Path, accepted: Path, runner: CliRunner
) -> None:
    voices = accepted / "voices.toml"
    voices.write_text(
        f'default = "me"\n[voices.me]\nengine = "coqui"\nvoice = "xtts_v2"\n'
        f'[voices.me.options]\nmodel_dir = "{checkpoint}"\nspeaker_wav = ["{recording}"]\n'
        "retries = 0\n",
        encoding="utf-8",
    )
    book = accepted / "book.md"
    book.write_text("# One\n\nCall me Ishmael. Some years ago I went to sea.\n", encoding="utf-8")
    result = runner.invoke(
        app, ["convert", str(book), "-o", str(accepted / "out"), "--json", "--device", "cpu"]
    )
    assert result.exit_code == 0, result.output
    (chapter,) = json.loads(result.stdout)["manifest"]["chapters"]
    audio, rate = soundfile.read(accepted / "out" / chapter["files"]["wav"])
    assert rate == 24000 and len(audio) / rate == pytest.approx(chapter["duration"], abs=0.001)


def test_voices_add_clone(recording: Path, accepted: Path, runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["voices", "add", "me", "--clone", str(recording)])
    assert result.exit_code == 0, result.output
    user = tomllib.loads((accepted.parent / "config" / "voxcli" / "voices.toml").read_text())
    table = user["voices"]["me"]
    assert (table["engine"], table["voice"]) == ("coqui", "xtts_v2")
    (stored,) = table["options"]["speaker_wav"]
    assert Path(stored).is_file() and Path(stored).parent.name == "me"
    assert soundfile.info(stored).samplerate == 24000 and soundfile.info(stored).channels == 1
    # Bad recordings: one line each, nothing written.
    short = tmp_path / "short.wav"
    soundfile.write(short, np.zeros(8000, dtype=np.float32) + 0.1, 16000)
    noise = tmp_path / "notes.wav"
    noise.write_text("not audio")
    before = (accepted.parent / "config" / "voxcli" / "voices.toml").read_bytes()
    bad = runner.invoke(app, ["voices", "add", "other", "--clone", str(short), str(noise), str(recording)])
    assert bad.exit_code == 2
    lines = bad.stderr.splitlines()
    assert lines[0].startswith(f"error: {short}: 0.5 s long")
    assert lines[1].startswith(f"error: {noise}: not readable audio")
    assert lines[2].startswith("error: 2 of 3 recordings cannot be used")
    assert (accepted.parent / "config" / "voxcli" / "voices.toml").read_bytes() == before
    assert runner.invoke(app, ["voices", "add", "x", "--clone"]).exit_code == 2


def test_doctor_loads_the_checkpoint(
    checkpoint: Path, accepted: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOXCLI_XTTS_DIR", str(checkpoint))
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    xtts = {c["name"]: c for c in json.loads(result.stdout)["checks"]}["xtts_v2"]
    assert xtts["status"] == "ok" and xtts["detail"].startswith(f"loaded from {checkpoint} in ")


@pytest.mark.slow
def test_text_over_the_token_limit_is_spoken_in_pieces(
    checkpoint: Path, recording: Path, accepted: Path
) -> None:
    engine = load_engine(profile(checkpoint, recording), "cpu")
    assert isinstance(engine, CoquiEngine)
    text = " ".join(["The whale swam past the ship while the crew watched in silence."] * 4)
    limit = engine._model.args.gpt_max_text_tokens  # 100 in the tiny checkpoint, 402 in xtts_v2
    tokens = len(engine._model.tokenizer.encode(text.lower(), lang="en"))
    assert tokens >= limit  # XTTS itself would refuse this text
    pieces = engine.pieces(text)
    assert len(pieces) > 1 and " ".join(pieces).split() == text.split()
    (chunk,) = list(engine.synthesize(text))
    assert len(chunk.samples) > 0


def test_a_built_in_speaker(checkpoint: Path, accepted: Path) -> None:
    from tests.xtts_tiny import TINY_SPEAKER

    options = CoquiOptions(model_dir=str(checkpoint), speaker=TINY_SPEAKER, retries=0)
    engine = load_engine(VoiceProfile(name="s", engine="coqui", voice="xtts_v2", options=options), "cpu")
    assert len(next(iter(engine.synthesize("Hello there."))).samples) > 0
    unknown = CoquiOptions(model_dir=str(checkpoint), speaker="Nobody", retries=0)
    with pytest.raises(EngineError, match="unknown XTTS speaker 'Nobody'"):
        load_engine(VoiceProfile(name="n", engine="coqui", voice="xtts_v2", options=unknown), "cpu")


def test_another_coqui_model_by_name(
    accepted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner: CliRunner
) -> None:
    from tests.xtts_tiny import build_tiny_vits

    monkeypatch.setenv("TTS_HOME", str(tmp_path / "tts-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    name = "tts_models/en/ljspeech/vits"
    missing = VoiceProfile(name="v", engine="coqui", voice=name, options=CoquiOptions())
    problem = CoquiEngine.profile_problem(missing)
    assert problem is not None and problem.message.startswith(f"Coqui model {name} is not in")
    assert "tts --model_name tts_models/en/ljspeech/vits" in str(problem.fix)
    build_tiny_vits(tmp_path / "tts-home")
    assert CoquiEngine.profile_problem(missing) is None
    engine = load_engine(missing, "cpu")
    (chunk,) = list(engine.synthesize("Hello there, this is a test."))
    assert chunk.sample_rate == 22050 and len(chunk.samples) > 0 and np.isfinite(chunk.samples).all()
    result = runner.invoke(app, ["say", "Hello there.", "-v", f"coqui:{name}", "-o", "v.wav"])
    assert result.exit_code == 0, result.output
    assert soundfile.info(accepted / "v.wav").samplerate == 22050


def test_a_multi_speaker_coqui_model(accepted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.xtts_tiny import build_tiny_vits

    monkeypatch.setenv("TTS_HOME", str(tmp_path / "tts-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    name = "tts_models/en/vctk/vits"
    build_tiny_vits(tmp_path / "tts-home", name, speakers=["p225", "p226"])
    with pytest.raises(EngineError) as error:
        load_engine(VoiceProfile(name="v", engine="coqui", voice=name, options=CoquiOptions()), "cpu")
    assert error.value.message.endswith(f"{name} needs a speaker")
    assert error.value.fix == "set options.speaker to one of: p225, p226"
    engine = load_engine(
        VoiceProfile(name="v", engine="coqui", voice=name, options=CoquiOptions(speaker="p226", retries=0)),
        "cpu",
    )
    (chunk,) = list(engine.synthesize("Hello there."))
    assert chunk.sample_rate == 22050 and len(chunk.samples) > 0


@pytest.mark.slow
def test_word_subtitles_from_a_coqui_voice_fall_back_to_sentences_it_cannot_align(
    checkpoint: Path, recording: Path, accepted: Path, runner: CliRunner
) -> None:
    """XTTS reports no word timings, so `srt:words` asks forced alignment for them. The tiny model's
    random babble says no words (PocketSphinx finds no path through it), so every sentence keeps one
    cue for its whole length: nothing is lost, nothing is timed wrongly. (On speech that says its
    words, alignment gives a cue per word: tests/test_alignment.py.)"""
    voices = accepted / "voices.toml"
    voices.write_text(
        f'default = "me"\n[voices.me]\nengine = "coqui"\nvoice = "xtts_v2"\n'
        f'[voices.me.options]\nmodel_dir = "{checkpoint}"\nspeaker_wav = ["{recording}"]\n'
        "retries = 0\n",
        encoding="utf-8",
    )
    book = accepted / "book.md"
    book.write_text("# One\n\nCall me Ishmael. I went to sea.\n", encoding="utf-8")
    out = accepted / "out"
    args = ["convert", str(book), "-o", str(out), "--device", "cpu", "--subtitles", "srt:words"]
    result = runner.invoke(app, [*args, "--format", "wav"])
    assert result.exit_code == 0, result.output
    (subtitles,) = out.glob("*.srt")
    (wav,) = out.glob("*.wav")
    cues = list(srt.parse(subtitles.read_text(encoding="utf-8")))
    assert [c.content for c in cues] == ["One", "Call me Ishmael.", "I went to sea."]
    assert cues[-1].end.total_seconds() <= soundfile.info(str(wav)).duration + 0.001


# ---- streaming and precision ----------------------------------------------------------------------------

# One XTTS audio token is 1,024 samples at 22,050 Hz, i.e. this many samples of 24 kHz output.
TOKEN_SAMPLES = 1024 * 24000 / 22050


def tiny_voice(checkpoint: Path, **options: object) -> VoiceProfile:
    from tests.xtts_tiny import TINY_SPEAKER

    settings = {"model_dir": str(checkpoint), "speaker": TINY_SPEAKER, "retries": 0, **options}
    return VoiceProfile(name="tiny", engine="coqui", voice="xtts_v2", options=CoquiOptions(**settings))


def test_stream_gives_a_sentence_in_pieces_while_it_is_generated(checkpoint: Path, accepted: Path) -> None:
    engine = load_engine(tiny_voice(checkpoint, stream_tokens=7), "cpu")
    assert isinstance(engine, CoquiEngine) and isinstance(engine, Streams)
    text = "Hello there."
    whole = speak(engine, text)
    steps: list[int] = []  # GPT forward passes so far, counted by a hook on the GPT-2 stack
    hook = engine._model.gpt.gpt.register_forward_hook(lambda *_: steps.append(1))
    try:
        made = [(len(steps), chunk) for chunk in chunks_as_made(engine, text)]
    finally:
        hook.remove()
    # The tiny model makes 21 audio tokens (its cap): pieces of 7 tokens, and the tail of the last.
    assert len(made) >= 3
    assert made[0][0] < len(steps)  # the first piece came while the GPT was still generating
    for _, chunk in made:
        assert chunk.sample_rate == 24000 and chunk.samples.dtype == np.float32
        assert np.isfinite(chunk.samples).all() and np.abs(chunk.samples).max() <= 1.0
    streamed = np.concatenate([chunk.samples for _, chunk in made])
    # Two coqui code paths from the same seed and the same token count (the whole sentence's latents
    # come from a second GPT pass, the streamed ones from generation): lengths within one token's audio.
    assert abs(len(streamed) - len(whole.samples)) <= TOKEN_SAMPLES
    assert engine.suspicious() == []  # streaming never feeds the guard


def test_fp16_on_a_cpu_is_ignored_with_one_warning(
    checkpoint: Path, accepted: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import voxcli.engines.coqui as coqui

    monkeypatch.setattr(coqui, "_warned", set())
    plain = tiny_voice(checkpoint)
    half = tiny_voice(checkpoint, precision="fp16")
    with caplog.at_level("WARNING", logger="voxcli.engines.coqui"):
        fp16 = load_engine(half, "cpu")
        load_engine(tiny_voice(checkpoint, precision="fp16", seed=3), "cpu")
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1  # once per process, however many voices ask
    assert warnings[0].startswith("voice 'coqui:xtts_v2'")  # which voice asked
    assert "fp16" in warnings[0] and "CUDA only" in warnings[0] and warnings[0].endswith("using fp32")
    # Ignored means ignored: the audio of fp32 and its cache key (a neutral option, like the device).
    assert np.array_equal(
        speak(fp16, "Hello there.").samples, speak(load_engine(plain, "cpu"), "Hello there.").samples
    )
    assert CoquiEngine.identity(half) == CoquiEngine.identity(plain)
    with pytest.raises(ValueError, match="precision"):
        CoquiOptions(precision="fp8")  # type: ignore[arg-type]


def test_fp16_autocast_lowers_the_gpt_and_keeps_the_decoder_in_fp32(checkpoint: Path, accepted: Path) -> None:
    """What a CUDA voice with precision = "fp16" does, with CPU autocast standing in for CUDA's (the same
    torch.autocast machinery; only the device type differs)."""
    import torch

    loaded = load_engine(tiny_voice(checkpoint), "cpu")
    assert isinstance(loaded, CoquiEngine)
    model = loaded._model
    engine = CoquiEngine(model, loaded._latents, tiny_voice(checkpoint, stream_tokens=7), half_on="cpu")
    dtypes: dict[str, set[torch.dtype]] = {"gpt": set(), "decoder": set()}
    hooks = [
        model.gpt.gpt.h[0].mlp.c_fc.register_forward_hook(lambda _m, _i, out: dtypes["gpt"].add(out.dtype)),
        model.hifigan_decoder.waveform_decoder.conv_post.register_forward_hook(
            lambda _m, _i, out: dtypes["decoder"].add(out.dtype)
        ),
    ]
    try:
        spoken = speak(engine, "Hello there.")
        assert dtypes == {"gpt": {torch.float16}, "decoder": {torch.float32}}
        assert spoken.samples.dtype == np.float32 and np.isfinite(spoken.samples).all()
        assert not torch.is_autocast_enabled("cpu")
        dtypes["gpt"].clear(), dtypes["decoder"].clear()
        held = [torch.is_autocast_enabled("cpu") for _ in engine.stream("Hello there.")]
        assert dtypes == {"gpt": {torch.float16}, "decoder": {torch.float32}}
        assert len(held) >= 3 and not any(held)  # autocast never leaks into the caller between pieces
    finally:
        for hook in hooks:
            hook.remove()
