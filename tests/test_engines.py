"""The real engines on real weights: Piper with the built-in joe voice, eSpeak-NG bundled and system."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.audiocheck import assert_speech
from tests.conftest import require
from voxcli.engines import AudioChunk, VoiceProfile, engine_report, load_engine
from voxcli.engines.base import forget_models, loaded_models
from voxcli.engines.espeak import EspeakOptions, system_library
from voxcli.engines.piper import PiperOptions, builtin_voice
from voxcli.errors import EngineError

FOX = "The quick brown fox jumps over the lazy dog."
JOE = VoiceProfile(name="joe", engine="piper", voice="en_US-joe-medium", options=PiperOptions())
ESPEAK = VoiceProfile(name="espeak", engine="espeak", voice="en-us", options=EspeakOptions())


def speak(profile: VoiceProfile, text: str = FOX):
    engine = load_engine(profile)
    chunks = list(engine.synthesize(text, profile.settings))
    assert len(chunks) == 1 and chunks[0].text == text
    chunk = chunks[0]
    assert chunk.samples.dtype == np.float32 and chunk.sample_rate == engine.sample_rate
    return chunk


def assert_word_timings(chunk, words: list[str]) -> None:
    assert chunk.words is not None
    assert [w.word for w in chunk.words] == words
    ends = 0.0
    for timing in chunk.words:
        assert ends <= timing.start + 1e-9 and timing.start <= timing.end <= chunk.duration + 1e-9
        ends = timing.end


def test_piper_builtin_voice_speaks() -> None:
    chunk = speak(JOE)
    assert chunk.sample_rate == 22050
    assert_speech(chunk.samples, 22050, 1.5, 5.0)
    assert_word_timings(chunk, FOX.split())
    # The words cover the speech, not just its start.
    assert chunk.words[-1].end > 0.7 * chunk.duration


def test_piper_rejoins_what_espeak_cuts_after_abbreviations() -> None:
    chunk = speak(JOE, "Mr. Smith met Dr. Jones.")
    assert_word_timings(chunk, ["Mr.", "Smith", "met", "Dr.", "Jones."])


def test_piper_without_matching_words_gives_no_timings_rather_than_wrong_ones() -> None:
    chunk = speak(JOE, "It cost $5 in 1851.")  # espeak-ng reads more words than the text has
    assert chunk.words is None
    assert_speech(chunk.samples, 22050, 1.0, 6.0)


def test_piper_speed_and_a_shared_model() -> None:
    text = f"{FOX} {FOX} {FOX}"
    normal = speak(JOE, text)
    before = [key for key in loaded_models() if key[0] == "piper"]
    fast = speak(replace(JOE, name="fast", speed=2.0), text)
    assert [key for key in loaded_models() if key[0] == "piper"] == before  # no second load
    # Twice as fast, give or take Piper's random phoneme lengths and its fixed edges of silence.
    assert 0.35 < fast.duration / normal.duration < 0.72


def test_piper_voice_by_path_relative_to_the_profile(tmp_path: Path) -> None:
    model = builtin_voice()
    assert model is not None
    folder = tmp_path / "voices"
    folder.mkdir()
    (folder / "my.onnx").symlink_to(model)
    profile = replace(JOE, voice="voices/my.onnx", base_dir=tmp_path, options=PiperOptions(threads=1))
    with pytest.raises(EngineError, match=r"put the voice's \.onnx\.json file beside"):
        load_engine(profile)
    (folder / "my.onnx.json").symlink_to(model.with_name(model.name + ".json"))
    assert_speech(speak(profile).samples, 22050, 1.5, 5.0)


def test_piper_voice_by_name_from_the_voice_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = builtin_voice()
    assert model is not None
    monkeypatch.setenv("VOXCLI_PIPER_DIR", str(tmp_path))
    profile = replace(JOE, voice="en_US-other-medium")
    with pytest.raises(EngineError) as error:
        load_engine(profile)
    assert "python -m piper.download_voices en_US-other-medium" in str(error.value.fix)
    (tmp_path / "en_US-other-medium.onnx").symlink_to(model)
    (tmp_path / "en_US-other-medium.onnx.json").symlink_to(model.with_name(model.name + ".json"))
    assert speak(profile).sample_rate == 22050


# Loads the built-in voice in a fresh interpreter; prints the words it timed and whether onnx was imported.
LOAD_JOE = """
import sys
from voxcli.engines import VoiceProfile, load_engine
from voxcli.engines.piper import PiperOptions
profile = VoiceProfile(name="joe", engine="piper", voice="en_US-joe-medium", options=PiperOptions())
(chunk,) = load_engine(profile).synthesize("Hello there, my old friend.")
print(" ".join(w.word for w in chunk.words or []), "onnx" in sys.modules)
"""


def test_piper_keeps_its_model_patched_for_word_timings(tmp_path: Path) -> None:
    """The first load patches the model (with onnx) and keeps the copy; later processes load that file
    as plain Piper loads a model, without onnx, and still time the words; a damaged copy is replaced."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def load() -> list[str]:
        done = subprocess.run([sys.executable, "-c", LOAD_JOE], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    words = ["Hello", "there,", "my", "old", "friend."]
    assert load() == [*words, "True"]
    (kept,) = (tmp_path / "cache" / "voxcli" / "piper-aligned").glob("*.onnx")
    model = builtin_voice()
    assert model is not None and kept.stat().st_size > model.stat().st_size  # the model, and one output
    assert load() == [*words, "False"]
    kept.write_bytes(b"not a model")
    assert load() == [*words, "True"]  # patched again, in memory
    assert load() == [*words, "True"] and kept.stat().st_size > model.stat().st_size  # and kept again
    assert load() == [*words, "False"]


def test_piper_drops_the_patched_copies_of_models_that_are_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = builtin_voice()
    assert model is not None
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    kept = tmp_path / "cache" / "voxcli" / "piper-aligned"
    copy = tmp_path / "copy.onnx"
    shutil.copyfile(model, copy)
    shutil.copyfile(model.with_name(model.name + ".json"), tmp_path / "copy.onnx.json")
    forget_models()  # the built-in voice loads again, from this test's cache folder
    try:
        assert speak(replace(JOE, voice=str(copy))).words is not None
        assert len(list(kept.glob("*.onnx"))) == 1
        copy.unlink()
        assert speak(JOE).words is not None  # a new copy kept, and the one of the deleted model dropped
        (left,) = kept.glob("*.json")
        assert str(model.resolve()) in left.read_text(encoding="utf-8")
        assert len(list(kept.glob("*.onnx"))) == 1
    finally:
        forget_models()  # the models loaded here came from this test's folders


def test_piper_corrupt_model_is_one_clear_error(tmp_path: Path) -> None:
    model = builtin_voice()
    assert model is not None
    (tmp_path / "bad.onnx").write_bytes(model.read_bytes()[:4096])
    (tmp_path / "bad.onnx.json").symlink_to(model.with_name(model.name + ".json"))
    with pytest.raises(EngineError, match="cannot be loaded"):
        load_engine(replace(JOE, voice=str(tmp_path / "bad.onnx")))


def test_piper_speaker_option_on_a_single_speaker_voice() -> None:
    with pytest.raises(EngineError, match="only one speaker"):
        load_engine(replace(JOE, options=PiperOptions(speaker=3)))


def test_espeak_bundled_speaks_with_word_timings() -> None:
    chunk = speak(ESPEAK)
    assert chunk.sample_rate == 22050
    assert_speech(chunk.samples, 22050, 1.5, 5.0)
    assert_word_timings(chunk, [w.strip(".") for w in FOX.split()])


def test_espeak_speed_language_and_unknown_voice() -> None:
    normal = speak(ESPEAK)
    fast = speak(replace(ESPEAK, speed=2.0))
    assert 0.35 < fast.duration / normal.duration < 0.7
    french = speak(replace(ESPEAK, voice="fr", lang="fr"), "Le renard brun saute par-dessus le chien.")
    assert_speech(french.samples, 22050, 1.0, 5.0)
    with pytest.raises(EngineError, match="no voice 'xx-nowhere'"):
        load_engine(replace(ESPEAK, voice="xx-nowhere"))


def test_espeak_is_safe_across_threads() -> None:
    # eSpeak-NG has global state; without the engine's lock, threads would mix up each other's audio.
    engine = load_engine(ESPEAK)
    texts = [f"Sentence number {n} is spoken here, {'and again ' * n}at the end." for n in range(8)]
    serial = [next(iter(engine.synthesize(t))) for t in texts]
    results: dict[int, AudioChunk] = {}

    def work(index: int) -> None:
        results[index] = next(iter(engine.synthesize(texts[index])))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, expected in enumerate(serial):
        got = results[index]
        assert got.words is not None and expected.words is not None
        assert [w.word for w in got.words] == [w.word for w in expected.words]
        # eSpeak-NG varies a few milliseconds from run to run, never more.
        assert abs(got.duration - expected.duration) < 0.03 * expected.duration


# An eSpeak-NG engine kept across a run's end (forget_models), while later runs load their own and end:
# a server's voice, a batch's speakers, a test's fixture. Prints each take's duration and words as JSON.
ESPEAK_OUTLIVES_A_RUN = """
import gc, json
from voxcli.engines import VoiceProfile, load_engine
from voxcli.engines.base import forget_models
from voxcli.engines.espeak import EspeakOptions
profile = VoiceProfile(name="e", engine="espeak", voice="en-us", lang="en-us", options=EspeakOptions())
def take(engine):
    (chunk,) = engine.synthesize("The quick brown fox jumps over the lazy dog.")
    return [chunk.duration, [w.word for w in chunk.words or []], float(abs(chunk.samples).max(initial=0))]
kept = load_engine(profile)
takes = [take(kept)]
forget_models()
later = load_engine(profile)
takes += [take(later), take(kept)]  # two engines alive, loaded either side of a run's end
del later
forget_models()
gc.collect()
takes.append(take(kept))  # the later run's engine and its library state are gone
print(json.dumps(takes))
"""


def test_espeak_engine_outlives_the_end_of_a_run() -> None:
    """A run's end drops the shared models; eSpeak-NG's library must not be opened and initialised a
    second time under a new callback, which sent a kept engine's audio elsewhere (an empty take) and,
    once that callback was collected, crashed the process inside espeak_Synth (CI, 2026-12-07)."""
    done = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", ESPEAK_OUTLIVES_A_RUN], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    takes = json.loads(done.stdout)
    words = ["The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]
    first = takes[0][0]
    assert 1.5 < first < 5.0
    for duration, said, peak in takes:
        assert [w.strip(".") for w in said] == words
        assert abs(duration - first) < 0.03 * first and peak > 0.05


def test_espeak_system_library() -> None:
    require(
        "the system eSpeak-NG library",
        system_library() is not None,
        "apt-get install espeak-ng; .ci/run installs it",
    )
    chunk = speak(replace(ESPEAK, options=EspeakOptions(library="system")))
    assert_speech(chunk.samples, chunk.sample_rate, 1.5, 5.0)


def test_engine_report_lists_the_builtin_engines() -> None:
    report = {check.name: check for _, check in engine_report()}
    assert report["piper"].status == "ok" and "piper-tts" in report["piper"].detail
    assert report["espeak"].status == "ok" and "bundled" in report["espeak"].detail


def test_espeak_absent_is_one_error_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from voxcli.engines import espeak

    monkeypatch.setattr(espeak, "bundled_library", lambda: None)
    monkeypatch.setattr(espeak, "system_library", lambda: None)
    with pytest.raises(EngineError) as error:
        load_engine(replace(ESPEAK, name="nolib"))
    assert error.value.message == "engine 'espeak' is not installed (espeak-ng missing)"
    assert error.value.fix is not None and "pip install espeakng-loader" in error.value.fix
    assert "apt-get install espeak-ng" in error.value.fix
    (check,) = espeak.EspeakEngine.check()
    assert check.status == "missing"
