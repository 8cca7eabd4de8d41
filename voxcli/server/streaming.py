"""Audio as the speech server sends it: whole files (WAV, MP3, FLAC, raw PCM) or a stream of pieces.

Raw PCM is what OpenAI's API sends: 16-bit little-endian mono at 24 kHz, so it is resampled to
24 kHz; the other formats carry their own sample rate.
"""

from __future__ import annotations

import io
import struct
from math import gcd

import numpy as np

from voxcli.arrays import Float32
from voxcli.audio.encode import MP3_RATES, mp3_bytes, to_pcm16, wav_bytes

PCM_RATE = 24000
MEDIA_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "pcm": "audio/pcm"}
STREAMABLE = ("wav", "mp3", "pcm")


def to_pcm_rate(samples: Float32, rate: int) -> Float32:
    from scipy.signal import resample_poly

    if rate == PCM_RATE or samples.size == 0:
        return samples
    common = gcd(rate, PCM_RATE)
    return np.asarray(resample_poly(samples, PCM_RATE // common, rate // common), dtype=np.float32)


def whole(samples: Float32, rate: int, fmt: str) -> bytes:
    if fmt == "wav":
        return wav_bytes(samples, rate)
    if fmt == "mp3":
        return mp3_bytes(samples, rate)
    if fmt == "pcm":
        return to_pcm16(to_pcm_rate(samples, rate)).tobytes()
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, to_pcm16(samples), rate, format="FLAC", subtype="PCM_16")
    return buffer.getvalue()


def can_stream(fmt: str, rate: int) -> bool:
    return fmt in STREAMABLE and (fmt != "mp3" or rate in MP3_RATES)


class Streamer:
    """Bytes of one format, piece by piece: a WAV header that says 'length unknown', MP3 frames, PCM."""

    def __init__(self, fmt: str, rate: int) -> None:
        self.fmt, self.rate = fmt, rate
        self._encoder = None
        if fmt == "mp3":
            import lameenc

            encoder = lameenc.Encoder()
            encoder.set_bit_rate(64)
            encoder.set_in_sample_rate(rate)
            encoder.set_channels(1)
            encoder.set_quality(2)
            self._encoder = encoder

    def start(self) -> bytes:
        if self.fmt != "wav":
            return b""
        # RIFF and data sizes at their maximum: players read a stream of unknown length to its end.
        return (
            b"RIFF"
            + struct.pack("<I", 0xFFFFFFFF)
            + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, self.rate, self.rate * 2, 2, 16)
            + b"data"
            + struct.pack("<I", 0xFFFFFFFF)
        )

    def piece(self, samples: Float32) -> bytes:
        if self.fmt == "pcm":
            return to_pcm16(to_pcm_rate(samples, self.rate)).tobytes()
        pcm = to_pcm16(samples).tobytes()
        if self._encoder is not None:
            return bytes(self._encoder.encode(pcm))
        return pcm

    def end(self) -> bytes:
        return bytes(self._encoder.flush()) if self._encoder is not None else b""
