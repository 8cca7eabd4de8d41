"""Loudness: ITU-R BS.1770 integrated loudness measured as audio streams past, true peak, a peak limiter.

The K-weighting filters are pyloudnorm's; the meter feeds them block by block (carrying the filter
state), so a chapter of any length is measured in constant memory, and reproduces pyloudnorm's gating
(400 ms blocks every 100 ms, absolute gate -70 LUFS, relative gate -10 LU).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from voxcli.arrays import Floats

ABSOLUTE_GATE = -70.0  # LUFS
RELATIVE_GATE = -10.0  # LU below the absolute-gated loudness
TRUE_PEAK_RATE = 176_400  # true peak: oversampled to at least this (BS.1770-4: 4 x 48 kHz is 192 kHz)
SILENCE = -math.inf
# Below half the ceiling (6 dB under it) no intersample peak of speech can reach the ceiling.
_TRUE_PEAK_MARGIN = 0.5
_HEADROOM = 10 ** (-0.1 / 20)  # limited peaks aim this far under the ceiling: no meter is exact
_TAPS_PER_PHASE = 24
_BATCH = 65_536  # samples interpolated at once (bounds the memory of the gather)
_ATTACK = 0.005  # s: the limiter starts lowering the gain this long before a peak
_RELEASE = 0.040  # s: and holds it this long after


@dataclass(frozen=True)
class LoudnessSettings:
    target: float = -18.0  # LUFS, integrated
    ceiling: float = -1.0  # dBTP


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def gain_to_db(gain: float) -> float:
    return 20.0 * math.log10(gain) if gain > 0 else SILENCE


class LoudnessMeter:
    """Integrated loudness of mono float audio in [-1, 1], fed in pieces of any size."""

    def __init__(self, rate: int) -> None:
        import pyloudnorm
        from scipy.signal import tf2sos

        self.rate = rate
        stages = pyloudnorm.Meter(rate)._filters.values()  # the K-weighting: a shelf, then a high-pass
        # Both stages as second-order sections in one filter (half the time of two lfilter calls).
        self._sos = np.vstack(
            [tf2sos(np.asarray(f.b, dtype=np.float64), np.asarray(f.a, dtype=np.float64)) for f in stages]
        )
        self._gain = math.prod(float(f.passband_gain) for f in stages)
        self._state = np.zeros((self._sos.shape[0], 2))
        self._hop = round(rate * 0.1)
        self._hops: list[float] = []  # sum of squares of each complete 100 ms hop
        self._partial = 0.0
        self._partial_len = 0

    def add(self, samples: Floats) -> None:
        from scipy.signal import sosfilt

        x = np.asarray(samples, dtype=np.float64)
        if x.size == 0:
            return
        x, self._state = sosfilt(self._sos, x, zi=self._state)
        squares = x * x * (self._gain * self._gain)
        start = 0
        if self._partial_len:
            take = min(self._hop - self._partial_len, len(squares))
            self._partial += float(squares[:take].sum())
            self._partial_len += take
            start = take
            if self._partial_len < self._hop:
                return
            self._hops.append(self._partial)
            self._partial, self._partial_len = 0.0, 0
        whole = (len(squares) - start) // self._hop
        if whole:
            end = start + whole * self._hop
            self._hops.extend(squares[start:end].reshape(whole, self._hop).sum(axis=1).tolist())
            start = end
        if start < len(squares):
            self._partial = float(squares[start:].sum())
            self._partial_len = len(squares) - start

    def add_silence(self, count: int) -> None:
        if count > 0:
            self.add(np.zeros(count))

    def integrated(self) -> float:
        """LUFS; -inf for silence or audio shorter than one 400 ms block."""
        hops = np.asarray(self._hops, dtype=np.float64)
        if len(hops) < 4:
            return SILENCE
        blocks = (hops[:-3] + hops[1:-2] + hops[2:-1] + hops[3:]) / (4 * self._hop)
        with np.errstate(divide="ignore"):
            loudness = -0.691 + 10.0 * np.log10(blocks)
        gated = blocks[loudness >= ABSOLUTE_GATE]
        if gated.size == 0:
            return SILENCE
        relative = -0.691 + 10.0 * math.log10(float(gated.mean())) + RELATIVE_GATE
        kept = blocks[(loudness > relative) & (loudness > ABSOLUTE_GATE)]
        if kept.size == 0:
            return SILENCE
        return -0.691 + 10.0 * math.log10(float(kept.mean()))


def oversampling(rate: int) -> int:
    """How many times to oversample for a true peak: 4 at 44.1 and 48 kHz, 8 at 22.05 and 24 kHz."""
    return max(4, -(-TRUE_PEAK_RATE // rate))


def true_peak(samples: Floats, rate: int) -> float:
    """The largest absolute value of the oversampled signal (linear, 1.0 = full scale)."""
    x = np.asarray(samples, dtype=np.float64)
    return float(np.max(peak_envelope(x, 0.0, rate), initial=0.0))


def peak_envelope(x: Floats, floor: float, rate: int) -> Floats:
    """Per sample k, the largest absolute value of the oversampled signal in [k, k + 1).

    Interpolated (a polyphase windowed-sinc filter, 24 taps per phase) only where sample k or k + 1
    is at or above ``floor``; elsewhere the envelope is the sample's own magnitude (intersample peaks
    of speech stay well within 6 dB of the samples around them).
    """
    envelope: Floats = np.abs(x)
    loud = envelope >= floor
    loud[:-1] |= loud[1:]
    where = np.flatnonzero(loud)
    if where.size == 0:
        return envelope
    phases = _phases(oversampling(rate))
    taps = phases.shape[0]
    half = taps // 2
    padded = np.concatenate([np.zeros(half), x, np.zeros(half)])
    # Phase p at sample k: sum over j of h[4j + p] * x[k + half - j], i.e. padded[k + 2 * half - j].
    offsets = 2 * half - np.arange(taps)
    for start in range(0, where.size, _BATCH):
        ks = where[start : start + _BATCH]
        values = np.abs(padded[ks[:, None] + offsets[None, :]] @ phases).max(axis=1)
        envelope[ks] = np.maximum(envelope[ks], values)
    return envelope


@functools.cache
def _phases(factor: int) -> Floats:
    """The interpolation filter's phases 1 .. factor - 1, as columns."""
    from scipy.signal import firwin

    fir = firwin(_TAPS_PER_PHASE * factor + 1, 1.0 / factor) * factor
    return np.stack([fir[p::factor][:_TAPS_PER_PHASE] for p in range(1, factor)], axis=1)


def limit(x: Floats, ceiling: float, rate: int) -> tuple[Floats, float]:
    """``x`` with its true peak at most ``ceiling`` (linear), and that peak.

    A look-ahead limiter: the gain each sample needs is held from ``_ATTACK`` before to ``_RELEASE``
    after it, then smoothed by a moving average narrower than the hold, so the smoothed gain is never
    above what any sample needs; a final scale catches what the new signal's interpolation adds.
    """
    from scipy.ndimage import uniform_filter1d

    if x.size == 0:
        return x, 0.0
    floor = ceiling * _TRUE_PEAK_MARGIN
    envelope = peak_envelope(x, floor, rate)
    peak = float(np.max(envelope))
    if peak <= ceiling:
        return x, peak
    aim = ceiling * _HEADROOM
    need = np.minimum(1.0, aim / np.maximum(envelope, 1e-12))
    attack = max(1, round(rate * _ATTACK))
    release = max(attack, round(rate * _RELEASE))
    held = window_min(need, release, attack)
    smooth = uniform_filter1d(held, size=attack // 2 * 2 + 1, mode="nearest")
    y = x * np.minimum(smooth, need)
    peak = float(np.max(peak_envelope(y, floor, rate)))
    if peak > aim:
        y *= aim / peak
        peak = aim
    return y, peak


def window_min(values: Floats, before: int, after: int) -> Floats:
    """Per index n, the minimum of ``values[n - before : n + after + 1]`` (clipped to the array)."""
    from scipy.ndimage import minimum_filter1d

    if (before + after) % 2:  # the centred filter below needs an odd width: take one end apart
        if after:
            end = np.concatenate([values[after:], np.full(min(after, values.size), np.inf)])[: values.size]
            result: Floats = np.minimum(window_min(values, before, after - 1), end)
            return result
        first = np.concatenate([np.full(min(before, values.size), np.inf), values[:-before]])[: values.size]
        result = np.minimum(window_min(values, before - 1, after), first)
        return result
    half = (before + after) // 2
    padded = np.concatenate([np.full(before + after, np.inf), values, np.full(before + after, np.inf)])
    centred: Floats = minimum_filter1d(padded, size=2 * half + 1, mode="nearest")
    # The centred window [m - half, m + half] is [n - before, n + after] for m = n + (after - before) / 2.
    shift = (after - before) // 2
    start = before + after + shift
    return centred[start : start + values.size]


@dataclass(frozen=True)
class Levelling:
    """What was done to a chapter: its loudness before, the gain, and the result."""

    input_lufs: float
    gain_db: float
    output_lufs: float
    true_peak_dbtp: float

    def as_record(self, target: float | None) -> dict[str, float | None]:
        def rounded(value: float) -> float | None:
            return round(value, 2) if math.isfinite(value) else None

        return {
            "target_lufs": target,
            "input_lufs": rounded(self.input_lufs),
            "gain_db": round(self.gain_db, 2),
            "output_lufs": rounded(self.output_lufs),
            "true_peak_dbtp": rounded(self.true_peak_dbtp),
        }
