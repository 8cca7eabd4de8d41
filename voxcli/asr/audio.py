"""Audio as recognisers take it: 16 kHz mono float32."""

from __future__ import annotations

from math import gcd

import numpy as np

from voxcli.arrays import Float32

RATE = 16000  # Hz: what PocketSphinx's acoustic model and Whisper were trained on


def to_16k(samples: Float32, rate: int) -> Float32:
    """``samples`` (mono, at ``rate`` Hz) resampled to 16 kHz, clipped to [-1, 1]."""
    audio = np.asarray(samples, dtype=np.float32).reshape(-1)
    if rate != RATE:
        from scipy.signal import resample_poly

        common = gcd(RATE, rate)
        audio = resample_poly(audio, RATE // common, rate // common).astype(np.float32)
    return np.clip(audio, -1.0, 1.0).astype(np.float32)
