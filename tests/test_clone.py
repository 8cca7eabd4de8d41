"""Reference recordings for cloning: good ones become 24 kHz mono WAV, bad ones get one line each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.audiocheck import assert_speech
from voxcli.clone import RATE, Sample, check_sample, store
from voxcli.engines import VoiceProfile, load_engine
from voxcli.engines.piper import PiperOptions

TEXT = (
    "It was the best of times, it was the worst of times, it was the age of wisdom, "
    "it was the age of foolishness."
)


@pytest.fixture(scope="module")
def recording() -> tuple[np.ndarray, int]:
    """A real recording: the built-in Piper voice reading a sentence (about 5 s at 22,050 Hz)."""
    engine = load_engine(
        VoiceProfile(name="joe", engine="piper", voice="en_US-joe-medium", options=PiperOptions())
    )
    (chunk,) = list(engine.synthesize(TEXT))
    return chunk.samples, chunk.sample_rate


@pytest.mark.parametrize(
    ("suffix", "fmt", "channels"),
    [(".wav", "WAV", 1), (".flac", "FLAC", 2), (".ogg", "OGG", 1), (".mp3", "MP3", 2)],
)
def test_good_samples_become_24k_mono(
    recording, tmp_path: Path, suffix: str, fmt: str, channels: int
) -> None:
    samples, rate = recording
    data = np.stack([samples] * channels, axis=1) if channels == 2 else samples
    path = tmp_path / f"me{suffix}"
    soundfile.write(path, data * 0.8, rate, format=fmt)
    checked = check_sample(path)
    assert isinstance(checked, Sample), checked
    assert checked.seconds == pytest.approx(len(samples) / rate, abs=0.1)
    assert len(checked.samples) == pytest.approx(checked.seconds * RATE, abs=RATE * 0.1)
    (stored,) = store("narrator", [checked], tmp_path / "voices")
    info = soundfile.info(stored)
    assert (info.samplerate, info.channels, info.subtype) == (24000, 1, "PCM_16")
    decoded, decoded_rate = soundfile.read(stored, dtype="float32")
    assert_speech(decoded, decoded_rate, 3.0, 10.0)


def test_bad_samples_get_one_line_each(recording, tmp_path: Path) -> None:
    samples, rate = recording
    cases = {
        "short.wav": (samples[: rate // 2], "0.5 s long; use 3 to 60 seconds"),
        "long.wav": (np.tile(samples, 14), "s long; use 3 to 60 seconds"),
        "silent.wav": (np.zeros(rate * 5, dtype=np.float32), "silent or nearly so"),
        "clipped.wav": (np.clip(samples * 20, -1, 1), "clipped ("),
    }
    for name, (data, message) in cases.items():
        soundfile.write(tmp_path / name, data, rate)
        problem = check_sample(tmp_path / name)
        assert isinstance(problem, str) and problem.startswith(f"{tmp_path / name}: ") and message in problem
        assert "\n" not in problem
    (tmp_path / "text.wav").write_text("not audio at all")
    assert "not readable audio" in str(check_sample(tmp_path / "text.wav"))
    soundfile.write(tmp_path / "sound.aiff", samples, rate, format="AIFF")
    assert "is not supported; use WAV, MP3, FLAC or OGG" in str(check_sample(tmp_path / "sound.aiff"))
    assert str(check_sample(tmp_path / "missing.wav")).endswith("missing.wav: no such file")


def test_storing_again_replaces_the_set(recording, tmp_path: Path) -> None:
    samples, rate = recording
    soundfile.write(tmp_path / "a.wav", samples, rate)
    good = check_sample(tmp_path / "a.wav")
    assert isinstance(good, Sample)
    store("v", [good, good, good], tmp_path)
    paths = store("v", [good], tmp_path)
    assert sorted(p.name for p in (tmp_path / "v").iterdir()) == ["sample-1.wav"] == [p.name for p in paths]
