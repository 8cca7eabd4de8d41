"""Batched Kokoro: several pieces per forward pass give each the audio it gets alone.

The oracle is kokoro's own ``KModel.forward_with_tokens`` (one piece at a time, as KPipeline and every
peer call it) on the same weights. The stated tolerance: 1e-4 of full scale, sample by sample, and the
same durations; what remains is float rounding (reductions summed in another order), measured at
about 3e-6.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import corpus_file
from tests.kokoro_models import KOKORO_82M, TINY, write_weights
from voxcli.engines import kokoro_batch, load_engine
from voxcli.engines.base import VoiceProfile, speak_many
from voxcli.engines.kokoro import SAMPLES_PER_FRAME, KokoroEngine, KokoroOptions
from voxcli.engines.kokoro_batch import Batcher, Piece, forward, padded
from voxcli.errors import EngineError

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_weights(tmp_path_factory.mktemp("kokoro-tiny"), TINY)


def profile(folder: Path, **options: object) -> VoiceProfile:
    return VoiceProfile(
        name="k",
        engine="kokoro",
        voice="af_test",
        lang="en-us",
        options=KokoroOptions(model_dir=str(folder), **options),  # type: ignore[arg-type]
    )


def sentences(count: int) -> list[str]:
    """Sentences of a real book, of varied length (so that a batch is padded)."""
    text = corpus_file("txt", "devils-dictionary-972.txt").read_text(encoding="utf-8")
    found = [s for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if 15 <= len(s) <= 60]
    found = found[200:]  # past the front matter
    return [found[i * 7] for i in range(count)]


def pieces_of(engine: KokoroEngine, texts: list[str], seed: int | None) -> list[Piece]:
    model, pack = engine._model, engine._pack
    out = []
    for text in texts:
        ids = [model.vocab[p] for p in engine.phonemes(text) if p in model.vocab][:60]
        out.append(Piece(ids, pack[len(ids) - 1], None if seed is None else seed + len(out)))
    return out


def assert_same(
    alone: list[tuple[np.ndarray, np.ndarray]], batched: list[tuple[np.ndarray, np.ndarray]]
) -> None:
    assert len(alone) == len(batched)
    for (a, da), (b, db) in zip(alone, batched, strict=True):
        assert np.array_equal(da, db)
        assert len(a) == len(b) == SAMPLES_PER_FRAME * int(da.sum())
        assert np.abs(a - b).max() <= TOLERANCE, np.abs(a - b).max()


def test_the_padded_pass_is_kokoros_own_forward_pass(tiny: Path) -> None:
    engine = load_engine(profile(tiny), "cpu")
    assert isinstance(engine, KokoroEngine)
    for piece in pieces_of(engine, sentences(2), seed=None):
        tokens = torch.LongTensor([[0, *piece.ids, 0]])
        torch.manual_seed(11)  # the vocoder's noise: the same draws in both
        audio, durations = engine._model.forward_with_tokens(tokens, piece.style, 1.0)
        torch.manual_seed(11)
        assert_same([(audio.numpy(), durations.numpy())], padded(engine._model, [piece]))


def test_a_batch_gives_each_piece_its_own_audio(tiny: Path) -> None:
    engine = load_engine(profile(tiny), "cpu")
    assert isinstance(engine, KokoroEngine)
    pieces = pieces_of(engine, sentences(4), seed=5)
    assert len({len(p.ids) for p in pieces}) > 2  # really padded
    alone = [forward(engine._model, [p])[0] for p in pieces]  # kokoro's own pass, one at a time
    assert_same(alone, forward(engine._model, pieces))


@pytest.mark.slow
def test_full_size_model_batched_equals_unbatched(tmp_path: Path) -> None:
    """Kokoro-82M's own architecture (random weights, fixed durations): its 12-layer ALBERT, three
    prosody layers and the full vocoder pad and mask as the tiny one does."""
    torch.manual_seed(0)
    folder = write_weights(tmp_path / "kokoro-82m", KOKORO_82M, durations=3.2)
    engine = load_engine(profile(folder), "cpu")
    assert isinstance(engine, KokoroEngine)
    assert 80e6 < sum(p.numel() for p in engine._model.parameters()) < 84e6  # Kokoro-82M
    pieces = pieces_of(engine, sentences(3), seed=1)
    alone = [forward(engine._model, [p])[0] for p in pieces]
    assert_same(alone, forward(engine._model, pieces))
    # The fixed durations took: 3.2 frames a phoneme rounds to 3 (the boundary pads too).
    assert all(set(d.tolist()) == {3} for _, d in alone)


def test_the_engine_batches_a_whole_text_list_and_the_audio_does_not_depend_on_it(tiny: Path) -> None:
    texts = sentences(6)
    one = load_engine(profile(tiny, batch=1, seed=3), "cpu")
    many = load_engine(profile(tiny, batch=4, seed=3), "cpu")
    assert isinstance(one, KokoroEngine) and isinstance(many, KokoroEngine)
    alone, together = speak_many(one, texts), speak_many(many, texts)
    assert one._batcher.passes == 6 and many._batcher.passes == 2
    for a, b in zip(alone, together, strict=True):
        assert len(a.samples) == len(b.samples) > 0
        assert np.abs(a.samples - b.samples).max() <= TOLERANCE
        assert a.words == b.words  # timed from the same integer durations
    assert any(spoken.words for spoken in together)
    # The seed makes the audio repeatable; without one the noise differs each time.
    again = speak_many(many, texts[:2])[1].samples  # in another batch, padded otherwise
    assert np.abs(again - together[1].samples).max() <= TOLERANCE
    free = load_engine(profile(tiny, batch=4), "cpu")
    first, second = speak_many(free, texts[:2]), speak_many(free, texts[:2])
    assert np.abs(first[0].samples - second[0].samples).max() > 100 * TOLERANCE


def test_batches_are_sorted_by_length_and_bounded() -> None:
    lengths = [5, 300, 40, 41, 200, 7, 120, 119, 6, 250]
    pieces = [Piece(list(range(n)), None) for n in lengths]
    batcher = Batcher("cpu", cap=3)
    groups = batcher.groups(pieces)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    order = [lengths[i] for g in groups for i in g]
    assert order == sorted(lengths, reverse=True)
    for group in groups:
        assert len(group) <= 3
        assert len(group) == 1 or len(group) * (lengths[group[0]] + 2) <= kokoro_batch.CPU_TOKENS


def test_out_of_memory_splits_the_batch_and_loses_nothing(
    tiny: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    texts = sentences(6)
    engine = load_engine(profile(tiny, batch=6, seed=2), "cpu")
    assert isinstance(engine, KokoroEngine)
    expected = speak_many(engine, texts)
    real = kokoro_batch.forward
    sizes: list[int] = []

    def small_device(model: object, pieces: list[Piece], speed: float = 1.0) -> object:
        sizes.append(len(pieces))
        if len(pieces) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(model, pieces, speed)

    monkeypatch.setattr(kokoro_batch, "forward", small_device)
    with caplog.at_level(logging.WARNING):
        got = speak_many(engine, texts)
    assert sizes[0] == 6 and max(sizes[1:]) <= 3 and sum(s for s in sizes if s <= 2) == 6
    assert engine._batcher.limit == 2  # later passes stay small
    assert "ran out of cpu memory" in caplog.text
    for a, b in zip(expected, got, strict=True):
        assert np.abs(a.samples - b.samples).max() <= TOLERANCE
    sizes.clear()
    speak_many(engine, texts)
    assert max(sizes) <= 2  # no new failed attempt

    def no_memory(model: object, pieces: list[Piece], speed: float = 1.0) -> object:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(kokoro_batch, "forward", no_memory)
    with pytest.raises(EngineError, match="ran out of cpu memory on one piece"):
        speak_many(engine, texts[:1])


def test_other_errors_are_not_taken_for_memory(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = load_engine(profile(tiny, batch=4), "cpu")

    def broken(model: object, pieces: list[Piece], speed: float = 1.0) -> object:
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(kokoro_batch, "forward", broken)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        speak_many(engine, sentences(3))


def test_half_precision_is_for_a_gpu(tiny: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        engine = load_engine(profile(tiny, precision="fp16"), "cpu")
    assert isinstance(engine, KokoroEngine) and engine._batcher.precision == "fp32"
    assert "fp16 runs on a CUDA GPU only; using fp32 on cpu" in caplog.text


def test_convert_sends_the_engine_many_sentences_at_once(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from voxcli.cli import app

    calls: list[int] = []
    real = KokoroEngine.synthesize_batch

    def recording(self: KokoroEngine, texts: list[str], settings: object = None) -> object:
        calls.append(len(texts))
        return real(self, texts, settings) if settings is not None else real(self, texts)

    monkeypatch.setattr(KokoroEngine, "synthesize_batch", recording)
    voices = tmp_path / "voices.toml"
    voices.write_text(
        f'default = "k"\n[voices.k]\nengine = "kokoro"\nvoice = "af_test"\n'
        f'[voices.k.options]\nmodel_dir = "{tiny}"\ndevice = "cpu"\n',
        encoding="utf-8",
    )
    book = tmp_path / "book.md"
    book.write_text("# One\n\n" + " ".join(sentences(4)) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["convert", str(book), "--voices", str(voices), "-o", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = __import__("json").loads(result.stdout)
    assert calls and max(calls) > 1 and sum(calls) == summary["sentences_synthesized"]
