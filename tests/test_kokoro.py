"""The torch Kokoro engine on a tiny randomly initialised KModel, loaded the way real weights are."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
import srt
import torch
from typer.testing import CliRunner

from tests.kokoro_models import TINY, write_weights
from voxcli.cli import app
from voxcli.engines import load_engine
from voxcli.engines.base import VoiceProfile, loaded_models
from voxcli.engines.kokoro import (
    SAMPLES_PER_FRAME,
    KokoroEngine,
    KokoroOptions,
    pick_device,
)
from voxcli.engines.phonemes import split_phonemes
from voxcli.errors import EngineError


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """config.json, an empty state dict as the .pth and two random voices, laid out like the real repo."""
    return write_weights(tmp_path_factory.mktemp("kokoro"), TINY)


def model_inputs(engine: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What reaches the shared KModel from now on: the phonemes of each forward pass, in order."""
    seen: list[str] = []
    model = engine._model
    original = type(model).forward_with_tokens
    symbol = {index: phoneme for phoneme, index in model.vocab.items()}

    def recording(self, input_ids, ref_s, speed=1):
        seen.append("".join(symbol[int(i)] for i in input_ids[0, 1:-1]))
        return original(self, input_ids, ref_s, speed)

    monkeypatch.setattr(type(model), "forward_with_tokens", recording)
    return seen


def profile(folder: Path, voice: str = "af_test", **changes: object) -> VoiceProfile:
    options = KokoroOptions(model_dir=str(folder), **changes)  # type: ignore[arg-type]
    return VoiceProfile(name="k", engine="kokoro", voice=voice, lang="en-us", options=options)


def speak(prof: VoiceProfile, text: str, seed: int = 0):
    engine = load_engine(prof, "cpu")
    torch.manual_seed(seed)  # the vocoder's harmonic source adds noise
    (chunk,) = list(engine.synthesize(text))
    return engine, chunk


def test_tiny_model_speaks_through_the_engine(tiny_weights: Path) -> None:
    _, chunk = speak(profile(tiny_weights), "Hello there, world.")
    assert chunk.sample_rate == 24000 and chunk.samples.dtype == np.float32
    assert len(chunk.samples) > 0 and len(chunk.samples) % SAMPLES_PER_FRAME == 0
    assert np.isfinite(chunk.samples).all() and np.abs(chunk.samples).max() <= 1.0
    # Timestamps become word timings matched to the text's words.
    assert chunk.words is not None and [w.word for w in chunk.words] == ["Hello", "there,", "world."]
    ends = [w.end for w in chunk.words]
    assert ends == sorted(ends) and ends[-1] <= chunk.duration
    assert all(w.start < w.end for w in chunk.words)


@pytest.mark.slow
def test_long_text_is_chunked_and_nothing_is_cut(tiny_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = load_engine(profile(tiny_weights, chunk_phonemes=120), "cpu")
    seen = model_inputs(engine, monkeypatch)
    text = " ".join(["The whale, which was white, swam slowly past the ship; the crew watched."] * 10)
    phonemes = engine.phonemes(text)
    assert len(phonemes) > 600  # more than the model's hard limit of 510
    (chunk,) = list(engine.synthesize(text))
    assert len(seen) > 5 and all(len(p) <= 120 for p in seen)
    known = "".join(p for p in phonemes if p in engine._model.vocab)  # what the model can be given
    assert "".join(seen).replace(" ", "") == known.replace(" ", "")
    assert chunk.duration > 10


def test_split_phonemes_prefers_punctuation_and_keeps_everything() -> None:
    phonemes = "ðə wˈeɪl, wɪtʃ wʌz wˈaɪt. swˈæm slˈoʊli; pˈæst " + "x" * 700
    pieces = split_phonemes(phonemes, 30)
    assert "".join(pieces).replace(" ", "") == phonemes.replace(" ", "")
    assert all(len(p) <= 510 for p in pieces)
    assert pieces[:2] == ["ðə wˈeɪl, wɪtʃ wʌz wˈaɪt.", "swˈæm slˈoʊli; pˈæst"]  # cut at a sentence end


def test_weighted_blend(tiny_weights: Path) -> None:
    a = torch.load(tiny_weights / "voices" / "af_test.pt", weights_only=True)
    b = torch.load(tiny_weights / "voices" / "am_test.pt", weights_only=True)
    engine = load_engine(profile(tiny_weights, voice="af_test:0.7,am_test:0.3"), "cpu")
    assert torch.allclose(engine._pack, 0.7 * a + 0.3 * b)
    text = "The sea was calm."
    blended = speak(profile(tiny_weights, voice="af_test:0.7,am_test:0.3"), text)[1].samples
    first = speak(profile(tiny_weights, voice="af_test"), text)[1].samples
    second = speak(profile(tiny_weights, voice="am_test"), text)[1].samples
    for parent in (first, second):
        size = min(len(parent), len(blended))
        assert not np.allclose(parent[:size], blended[:size])


def test_one_model_for_every_voice_and_speed(tiny_weights: Path) -> None:
    load_engine(profile(tiny_weights), "cpu")
    before = [key for key in loaded_models() if key[0] == "kokoro"]
    load_engine(replace(profile(tiny_weights, voice="am_test"), speed=1.5), "cpu")
    assert [key for key in loaded_models() if key[0] == "kokoro"] == before


def test_devices() -> None:
    assert pick_device("cpu") == "cpu"
    if not torch.cuda.is_available():
        assert pick_device("auto") in ("cpu", "mps")
        with pytest.raises(EngineError, match="cannot use cuda"):
            pick_device("cuda")


def test_missing_weights_say_where_to_put_which_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    problem = KokoroEngine.profile_problem(profile(empty))
    assert problem is not None
    assert problem.message == f"Kokoro weights not found in {empty} or the Hugging Face cache"
    assert "config.json, kokoro-v1_0.pth and voices/VOICE.pt" in str(problem.fix)
    assert "VOXCLI_KOKORO_DIR" in str(problem.fix)
    # Offline, with no folder at all: the same message, and no download is attempted.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("VOXCLI_KOKORO_DIR", raising=False)
    bare = VoiceProfile(name="k", engine="kokoro", voice="af_heart", options=KokoroOptions())
    with pytest.raises(EngineError, match="Kokoro weights not found"):
        load_engine(bare, "cpu")


def test_missing_voice(tiny_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EngineError, match="Kokoro voice 'af_nobody' not found"):
        load_engine(profile(tiny_weights, voice="af_nobody"), "cpu")


def test_missing_spacy_model_falls_back_without_downloading(
    tiny_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    import spacy.cli

    if importlib.util.find_spec("en_core_web_sm") is not None:
        pytest.skip("en_core_web_sm is installed here: the fallback does not apply")

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("spaCy tried to download a model")

    monkeypatch.setattr(spacy.cli, "download", no_download)
    with pytest.raises(EngineError, match=r"python -m spacy download en_core_web_sm"):
        load_engine(profile(tiny_weights, g2p="misaki"), "cpu")
    _, chunk = speak(profile(tiny_weights), "A fallback still speaks.")
    assert len(chunk.samples) > 0


def test_convert_with_word_cues(tiny_weights: Path, tmp_path: Path, runner: CliRunner) -> None:
    voices = tmp_path / "voices.toml"
    voices.write_text(
        f'default = "k"\n[voices.k]\nengine = "kokoro"\nvoice = "af_test:0.5,am_test:0.5"\n'
        f'[voices.k.options]\nmodel_dir = "{tiny_weights}"\ndevice = "cpu"\n',
        encoding="utf-8",
    )
    book = tmp_path / "book.md"
    book.write_text("# One\n\nCall me Ishmael. Some years ago I went to sea.\n", encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "convert",
            str(book),
            "--voices",
            str(voices),
            "-o",
            str(tmp_path / "out"),
            "--subtitles",
            "srt:words,vtt",
            "--json",
            "--jobs",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)["manifest"]
    (chapter,) = manifest["chapters"]
    audio, rate = soundfile.read(tmp_path / "out" / chapter["files"]["wav"])
    assert rate == 24000 and len(audio) / rate == pytest.approx(chapter["duration"], abs=0.001)
    cues = list(srt.parse((tmp_path / "out" / chapter["files"]["srt"]).read_text(encoding="utf-8")))
    assert [c.content for c in cues] == [
        "One",
        "Call",
        "me",
        "Ishmael.",
        "Some",
        "years",
        "ago",
        "I",
        "went",
        "to",
        "sea.",
    ]


def test_phonemes_are_made_ahead_of_the_model(tiny_weights: Path) -> None:
    engine = load_engine(profile(tiny_weights), "cpu")
    texts = ["First one.", "Second one.", "Third one."]
    engine.prefetch(texts)
    assert set(engine._ahead) == set(texts)
    for text in texts:
        (chunk,) = list(engine.synthesize(text))
        assert len(chunk.samples) > 0
    assert engine._ahead == {}


def test_phoneme_spans_reach_the_model(tiny_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lexicon's phonemes go to the model as given; the rest of the sentence through the G2P."""
    engine = load_engine(profile(tiny_weights), "cpu")
    seen = model_inputs(engine, monkeypatch)
    plain = engine.phonemes("Queequeg smiled.")
    given = engine.phonemes("[Queequeg](/kwˈeɪkweɪɡ/) smiled.")
    assert given.startswith("kwˈeɪkweɪɡ ") and given.endswith(plain.split(" ", 1)[1])
    (chunk,) = list(engine.synthesize("[Queequeg](/kwˈeɪkweɪɡ/) smiled."))
    assert "kwˈeɪkweɪɡ" in "".join(seen)
    assert chunk.words is not None and [w.word for w in chunk.words] == ["Queequeg", "smiled."]


def test_lexicon_ipa_is_given_in_misakis_symbols(tiny_weights: Path) -> None:
    """Kokoro's English voices learnt misaki's phonemes: an entry's IPA is converted the way misaki
    converts eSpeak-NG's (its own table is the oracle)."""
    from misaki.espeak import EspeakFallback

    from voxcli.lexicon.model import parse_lexicon
    from voxcli.lexicon.pronounce import for_profile, model_ipa
    from voxcli.text.markup import parts

    prof = profile(tiny_weights)
    cls = type(load_engine(prof, "cpu"))
    lexicon = parse_lexicon({"Queequeg": {"ipa": "ˈkweɪkweɪɡ"}, "Cherokee": {"ipa": "ˈtʃɛrəˌki"}}, "t")
    pronounce = for_profile(cls, prof, lexicon)
    assert pronounce is not None
    speech = pronounce.speech("Queequeg met a Cherokee.", "en-us", lambda text, lang: text)
    said = {p.text: p.phonemes for p in parts(speech) if p.phonemes is not None}
    for word, ipa in (("Queequeg", "ˈkweɪkweɪɡ"), ("Cherokee", "ˈtʃɛrəˌki")):
        expected = model_ipa(ipa, None, "en-us")
        for old, new in EspeakFallback.E2M:
            expected = expected.replace(old.replace("^", ""), new)
        expected = expected.replace("oʊ", "O").replace("ː", "")
        assert said[word] == expected
