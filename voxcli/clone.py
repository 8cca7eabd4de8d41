"""Reference recordings for voice cloning: checked, made 24 kHz mono WAV, kept in the user's voices folder.

Each sample must be readable audio (WAV, MP3, FLAC or OGG), 3 to 60 seconds long, not silent and
not clipped; every problem is one line naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxcli.arrays import Float32
from voxcli.audio.encode import wav_bytes
from voxcli.fsutil import atomic_write_bytes, make_dirs

RATE = 24000  # Hz: what XTTS conditions on
FORMATS = {"WAV": "WAV", "MP3": "MP3", "FLAC": "FLAC", "OGG": "OGG"}
MIN_SECONDS, MAX_SECONDS = 3.0, 60.0
SILENT_RMS = 0.003  # about -50 dBFS
CLIPPED_SHARE = 0.001  # of samples at full scale


@dataclass(frozen=True)
class Sample:
    source: Path
    samples: Float32  # float32 mono at RATE
    seconds: float


def voices_dir() -> Path:
    """Where cloned voices' reference recordings are kept."""
    import platformdirs

    return Path(platformdirs.user_data_dir("voxcli")) / "voices"


def check_sample(path: Path) -> Sample | str:
    """The sample ready for cloning, or one line saying what is wrong with it."""
    import soundfile

    if not path.is_file():
        return f"{path}: no such file"
    try:
        info = soundfile.info(str(path))
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as exc:
        return f"{path}: not readable audio ({exc}); use WAV, MP3, FLAC or OGG"
    if info.format not in FORMATS:
        return f"{path}: {info.format_info} is not supported; use WAV, MP3, FLAC or OGG"
    seconds = len(data) / rate if rate else 0.0
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        return f"{path}: {seconds:.1f} s long; use {MIN_SECONDS:g} to {MAX_SECONDS:g} seconds of clean speech"
    mono = data.mean(axis=1)
    if float(np.sqrt(np.mean(mono.astype(np.float64) ** 2))) < SILENT_RMS:
        return f"{path}: silent or nearly so; record closer to the microphone"
    clipped = float(np.mean(np.abs(data) >= 0.999))
    if clipped > CLIPPED_SHARE:
        return f"{path}: clipped ({clipped:.1%} of samples at full scale); record at a lower level"
    return Sample(path, resample(mono, rate, RATE), seconds)


def resample(samples: Float32, rate: int, target: int) -> Float32:
    """Polyphase resampling (scipy) from ``rate`` to ``target`` Hz."""
    if rate == target:
        return samples.astype(np.float32)
    from math import gcd

    from scipy.signal import resample_poly

    step = gcd(rate, target)
    return np.asarray(resample_poly(samples, target // step, rate // step), dtype=np.float32)


def store(name: str, samples: list[Sample], root: Path | None = None) -> list[Path]:
    """Write the samples as ``ROOT/NAME/sample-N.wav`` (24 kHz mono 16-bit), replacing older ones."""
    folder = (root or voices_dir()) / name
    make_dirs(folder)
    paths = []
    for number, sample in enumerate(samples, start=1):
        path = folder / f"sample-{number}.wav"
        atomic_write_bytes(path, wav_bytes(np.clip(sample.samples, -1.0, 1.0), RATE))
        paths.append(path)
    # Samples of an earlier, longer set go only once the new set is complete.
    for old in set(folder.glob("sample-*.wav")) - set(paths):
        old.unlink()
    return paths
