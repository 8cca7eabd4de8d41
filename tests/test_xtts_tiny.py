"""The tiny random XTTS v2 checkpoint of tests/xtts_tiny.py, through coqui-tts's real loading path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from tests.xtts_tiny import TINY_MODEL_ARGS, TINY_SPEAKER, build_tiny_xtts
from voxcli.engines import VoiceProfile, load_engine
from voxcli.engines.espeak import EspeakOptions

REF_RATE = 22050
REF_SECONDS = 3
DIM = TINY_MODEL_ARGS["gpt_n_model_channels"]
# generate() stops after gpt_max_audio_tokens - 3 codes of 1024 input samples, resampled to 24 kHz
MAX_SAMPLES = (TINY_MODEL_ARGS["gpt_max_audio_tokens"] - 3) * 1024 * 24000 // 22050 + 1024

pytestmark = pytest.mark.filterwarnings("ignore:Xtts.init_from_config:UserWarning")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_xtts(tmp_path_factory.mktemp("xtts_v2"))


@pytest.fixture(scope="module")
def reference_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three seconds of eSpeak speech at 22,050 Hz, padded or cut to length."""
    profile = VoiceProfile(name="espeak", engine="espeak", voice="en-us", options=EspeakOptions())
    engine = load_engine(profile)
    text = "The quick brown fox jumps over the lazy dog, and then it runs away into the forest."
    samples = np.concatenate([chunk.samples for chunk in engine.synthesize(text)]).astype(np.float32)
    if engine.sample_rate != REF_RATE:
        import librosa

        samples = librosa.resample(samples, orig_sr=engine.sample_rate, target_sr=REF_RATE)
    wanted = REF_RATE * REF_SECONDS
    samples = np.pad(samples, (0, max(0, wanted - len(samples))))[:wanted]
    path = tmp_path_factory.mktemp("ref") / "reference.wav"
    sf.write(path, samples, REF_RATE, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def model(checkpoint: Path):
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.models.xtts import Xtts

    config = XttsConfig()
    config.load_json(str(checkpoint / "config.json"))
    model = Xtts.init_from_config(config)
    model.load_checkpoint(config, checkpoint_dir=str(checkpoint), eval=True)
    return model


def test_folder_is_laid_out_like_the_real_download(checkpoint: Path):
    names = {path.name for path in checkpoint.iterdir()}
    assert {"config.json", "model.pth", "vocab.json", "speakers_xtts.pth"} <= names
    assert (checkpoint / "model.pth").stat().st_size < 150_000_000


def test_build_is_deterministic(checkpoint: Path, tmp_path: Path):
    again = build_tiny_xtts(tmp_path / "again")
    for name in ("model.pth", "vocab.json", "config.json", "speakers_xtts.pth"):
        assert (again / name).read_bytes() == (checkpoint / name).read_bytes(), name


def test_clone_and_speak(model, reference_wav: Path):
    assert sf.info(str(reference_wav)).samplerate == REF_RATE
    assert sf.info(str(reference_wav)).duration == pytest.approx(REF_SECONDS)
    gpt_cond_latent, speaker_embedding = model.get_conditioning_latents(audio_path=[str(reference_wav)])
    assert tuple(gpt_cond_latent.shape) == (1, 32, DIM)  # perceiver resampler: 32 latents
    assert tuple(speaker_embedding.shape) == (1, 512, 1)
    assert torch.isfinite(gpt_cond_latent).all() and torch.isfinite(speaker_embedding).all()

    torch.manual_seed(0)
    out = model.inference("Hello there.", "en", gpt_cond_latent, speaker_embedding, temperature=0.7)
    wav = out["wav"]
    assert isinstance(wav, np.ndarray) and wav.ndim == 1
    assert wav.dtype == np.float32
    assert 0 < wav.size <= MAX_SAMPLES
    assert np.isfinite(wav).all()
    assert out["gpt_latents"].shape[-1] == DIM


def test_built_in_speaker(model):
    assert model.speaker_manager is not None and model.speaker_manager.speaker_names == [TINY_SPEAKER]
    torch.manual_seed(1)
    out = model.synthesize("Hi.", speaker=TINY_SPEAKER, language="en")
    assert out["wav"].ndim == 1 and out["wav"].size > 0 and np.isfinite(out["wav"]).all()
