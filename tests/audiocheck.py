"""Checks that decoded audio is speech: not silence, not clipped, not a tone or noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def assert_speech(samples: np.ndarray, rate: int, min_seconds: float, max_seconds: float) -> None:
    """Fail unless ``samples`` look like a voice speaking for between min and max seconds."""
    assert samples.ndim == 1, f"expected mono, got shape {samples.shape}"
    duration = len(samples) / rate
    assert min_seconds <= duration <= max_seconds, f"duration {duration:.2f} s"
    peak = float(np.abs(samples).max())
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    assert rms > 0.02, f"nearly silent (RMS {rms:.4f})"
    clipped = float(np.mean(np.abs(samples) >= 0.999))
    assert clipped < 0.001, f"{clipped:.2%} of samples at full scale"
    assert peak <= 1.0
    # Speech comes and goes in syllables: some 20 ms frames are quiet, some loud (a tone is all loud).
    frame = int(0.02 * rate)
    count = len(samples) // frame
    energy = np.sqrt(np.mean(samples[: count * frame].reshape(count, frame).astype(np.float64) ** 2, axis=1))
    quiet = float(np.mean(energy < 0.1 * energy.max()))
    loud = float(np.mean(energy > 0.3 * energy.max()))
    assert 0.03 < quiet < 0.85 and loud > 0.1, f"not speech-like: quiet {quiet:.2f}, loud {loud:.2f}"
    # Its energy lies in the voice band (noise spreads up to the Nyquist frequency).
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    share = float(spectrum[(freqs > 80) & (freqs < 4000)].sum() / spectrum.sum())
    assert share > 0.8, f"only {share:.0%} of the energy in the voice band"


def probe_seconds(path: Path) -> float:
    """The file's duration as ffprobe (the independent decoder) reads it."""
    import subprocess

    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(probe.stdout)


def probe(path: Path) -> dict:  # type: ignore[type-arg]
    """ffprobe's view of a media file: its format, streams and chapters (JSON)."""
    import json
    import subprocess

    done = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_format",
            "-show_streams",
            "-show_chapters",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]
