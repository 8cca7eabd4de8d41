"""Audio in memory: silence, 16-bit PCM, WAV and MP3 encoding."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from voxcli.arrays import Float32, Int16
from voxcli.errors import EngineError, UsageError

FORMATS = ("wav", "mp3")
DEFAULT_MP3_KBPS = 64  # mono speech: 64 kb/s is transparent enough and a novel stays under 500 MB
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


def silence(seconds: float, sample_rate: int) -> Float32:
    return np.zeros(round(seconds * sample_rate), dtype=np.float32)


def to_pcm16(samples: Float32) -> Int16:
    """float32 in [-1, 1] to 16-bit PCM, clipping anything outside."""
    pcm: Int16 = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
    return pcm


def wav_bytes(samples: Float32, sample_rate: int) -> bytes:
    """A complete 16-bit mono WAV file."""
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, to_pcm16(samples), sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def mp3_bytes(samples: Float32, sample_rate: int, kbps: int = DEFAULT_MP3_KBPS) -> bytes:
    """A mono MP3 (LAME through lameenc)."""
    import lameenc

    if sample_rate not in MP3_RATES:
        raise EngineError(f"MP3 cannot hold {sample_rate} Hz audio", "write WAV instead (-o FILE.wav)")
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(kbps)
    encoder.set_in_sample_rate(sample_rate)
    encoder.set_channels(1)
    encoder.set_quality(2)  # 2 = high quality, still fast
    return bytes(encoder.encode(to_pcm16(samples).tobytes()) + encoder.flush())


def format_of(path: Path) -> str:
    """The audio format a file name asks for."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise UsageError(
            f"cannot write '{path.name}': unknown audio format", f"name the file .{' or .'.join(FORMATS)}"
        )
    return suffix


def encode(samples: Float32, sample_rate: int, fmt: str) -> bytes:
    return wav_bytes(samples, sample_rate) if fmt == "wav" else mp3_bytes(samples, sample_rate)
