"""Loudness: ITU-R BS.1770 integrated loudness measured as audio streams past, true peak, a peak limiter.

The K-weighting filters are designed as pyloudnorm designs them; the meter feeds them piece by piece
(carrying the filter state), so a chapter of any length is measured in constant memory, and reproduces
pyloudnorm's gating (400 ms blocks every 100 ms, absolute gate -70 LUFS, relative gate -10 LU).
Everything here is numpy alone: scipy.signal and scipy.ndimage would cost more to import (a second or
more, and 100 MB) than a chapter takes to level.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from voxcli.arrays import Floats
from voxcli.audio.iir import Biquad, BlockFilter

ABSOLUTE_GATE = -70.0  # LUFS
RELATIVE_GATE = -10.0  # LU below the absolute-gated loudness
TRUE_PEAK_RATE = 176_400  # true peak: oversampled to at least this (BS.1770-4: 4 x 48 kHz is 192 kHz)
SILENCE = -math.inf
# Below half the ceiling (6 dB under it) no intersample peak of speech can reach the ceiling.
_TRUE_PEAK_MARGIN = 0.5
_HEADROOM = 10 ** (-0.1 / 20)  # limited peaks aim this far under the ceiling: no meter is exact
_TAPS_PER_PHASE = 24
# Samples interpolated at once: bounds the memory of the gather, and keeps each product under the
# size at which OpenBLAS starts threads (on this shape they cost more than they bring).
_BATCH = 1024
_METER_SLICE = 65_536  # samples filtered at once by the loudness meter
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


def k_weighting(rate: int) -> list[Biquad]:
    """BS.1770's K-weighting at ``rate``: a high shelf (+4 dB above 1.5 kHz), then a high-pass at 38 Hz,
    each an RBJ cookbook biquad with pyloudnorm's parameters (its "K-weighting" filter class)."""
    shelf_gain, shelf_q, shelf_hz = 4.0, 1.0 / math.sqrt(2.0), 1500.0
    amplitude = 10.0 ** (shelf_gain / 40.0)
    w0 = 2.0 * math.pi * shelf_hz / rate
    alpha, cos = math.sin(w0) / (2.0 * shelf_q), math.cos(w0)
    root = 2.0 * math.sqrt(amplitude) * alpha
    shelf = (
        (
            amplitude * ((amplitude + 1) + (amplitude - 1) * cos + root),
            -2 * amplitude * ((amplitude - 1) + (amplitude + 1) * cos),
            amplitude * ((amplitude + 1) + (amplitude - 1) * cos - root),
        ),
        (
            (amplitude + 1) - (amplitude - 1) * cos + root,
            2 * ((amplitude - 1) - (amplitude + 1) * cos),
            (amplitude + 1) - (amplitude - 1) * cos - root,
        ),
    )
    pass_q, pass_hz = 0.5, 38.0
    w0 = 2.0 * math.pi * pass_hz / rate
    alpha, cos = math.sin(w0) / (2.0 * pass_q), math.cos(w0)
    high_pass = (((1 + cos) / 2, -(1 + cos), (1 + cos) / 2), (1 + alpha, -2 * cos, 1 - alpha))
    return [shelf, high_pass]


@functools.cache
def _k_filter(rate: int) -> BlockFilter:
    return BlockFilter(k_weighting(rate))


class LoudnessMeter:
    """Integrated loudness of mono float audio in [-1, 1], fed in pieces of any size."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._filter = _k_filter(rate)
        self._state = self._filter.zero_state()
        self._hop = round(rate * 0.1)
        self._hops: list[float] = []  # sum of squares of each complete 100 ms hop
        self._partial = 0.0
        self._partial_len = 0

    def add(self, samples: Floats) -> None:
        # In slices: the filter's working arrays stay a few MB whatever the length of a sentence.
        for start in range(0, len(samples), _METER_SLICE):
            self._add(samples[start : start + _METER_SLICE])

    def _add(self, samples: Floats) -> None:
        if len(samples) == 0:
            return
        x, self._state = self._filter(np.asarray(samples, dtype=np.float64), self._state)
        squares = x * x  # (both stages have unity passband gain)
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
    # Phase p at sample k: sum over j of h[4j + p] * x[k + half - j], x being 0 outside the array.
    offsets = half - np.arange(taps)
    for start in range(0, where.size, _BATCH):
        ks = where[start : start + _BATCH]
        positions = ks[:, None] + offsets[None, :]
        window = np.take(x, positions, mode="clip")
        if ks[0] < half or ks[-1] >= x.size - half:
            window[(positions < 0) | (positions >= x.size)] = 0.0
        values = np.abs(window @ phases).max(axis=1)
        envelope[ks] = np.maximum(envelope[ks], values)
    return envelope


@functools.cache
def _phases(factor: int) -> Floats:
    """The interpolation filter's phases 1 .. factor - 1, as columns."""
    fir = lowpass(_TAPS_PER_PHASE * factor + 1, 1.0 / factor) * factor
    return np.stack([fir[p::factor][:_TAPS_PER_PHASE] for p in range(1, factor)], axis=1)


def lowpass(taps: int, cutoff: float) -> Floats:
    """A windowed-sinc low-pass FIR (Hamming window, unit gain at 0 Hz), ``cutoff`` a fraction of the
    Nyquist frequency: scipy.signal.firwin's default design."""
    middle = np.arange(taps) - (taps - 1) / 2.0
    fir: Floats = cutoff * np.sinc(cutoff * middle) * np.hamming(taps)
    scaled: Floats = fir / fir.sum()
    return scaled


def limit(x: Floats, ceiling: float, rate: int) -> tuple[Floats, float]:
    """``x`` with its true peak at most ``ceiling`` (linear), and that peak.

    A look-ahead limiter: the gain each sample needs is held from ``_ATTACK`` before to ``_RELEASE``
    after it, then smoothed by a moving average narrower than the hold, so the smoothed gain is never
    above what any sample needs; a final scale catches what the new signal's interpolation adds.
    Only the stretches around samples over the ceiling are worked on: everywhere else the gain is
    exactly 1 and the samples, and their true peak, stay as they were.
    """
    if x.size == 0:
        return x, 0.0
    floor = ceiling * _TRUE_PEAK_MARGIN
    envelope = peak_envelope(x, floor, rate)
    peak = float(np.max(envelope))
    if peak <= ceiling:
        return x, peak
    aim = ceiling * _HEADROOM
    attack = max(1, round(rate * _ATTACK))
    release = max(attack, round(rate * _RELEASE))
    half = attack // 2  # the moving average spans 2 * half + 1 samples
    # A sample further than this from every one over ``aim`` keeps a gain of exactly 1.
    reach = release + attack + half + 1
    spans = _spans(np.flatnonzero(envelope > aim), reach, x.size)
    y = x.copy()
    for start, end in spans:
        need = np.minimum(1.0, aim / np.maximum(envelope[start:end], 1e-12))
        held = window_min(need, release, attack)
        # The average of 1 - held: exactly 0 (a gain of exactly 1) where nothing is held down.
        smooth = 1.0 - _moving_average(1.0 - held, half)
        y[start:end] *= np.minimum(smooth, need)
    peak = _changed_peak(x, y, envelope, spans, floor, rate)
    if peak > aim:
        y *= aim / peak
        peak = aim
    return y, peak


def _spans(hot: np.ndarray, reach: int, size: int) -> list[tuple[int, int]]:
    """[start, end) stretches within ``reach`` of the ``hot`` indices (sorted), overlapping ones merged."""
    if hot.size == 0:
        return []
    breaks = np.flatnonzero(hot[1:] - hot[:-1] > 2 * reach) + 1
    firsts = hot[np.concatenate([[0], breaks])]
    lasts = hot[np.concatenate([breaks - 1, [hot.size - 1]])]
    return [
        (max(0, int(first) - reach), min(size, int(last) + reach + 1))
        for first, last in zip(firsts, lasts, strict=True)
    ]


# A sample's envelope depends on the samples half the taps either side of it: twice that is a margin.
_TAP_REACH = _TAPS_PER_PHASE


def _changed_peak(
    x: Floats, y: Floats, envelope: Floats, spans: list[tuple[int, int]], floor: float, rate: int
) -> float:
    """The largest value of ``y``'s envelope, where ``y`` differs from ``x`` only inside ``spans``:
    recomputed around the spans, ``x``'s own envelope elsewhere."""
    margin = _TAP_REACH
    untouched = np.ones(x.size, dtype=bool)
    peak = 0.0
    for start, end in spans:
        low, high = max(0, start - margin), min(x.size, end + margin)
        untouched[low:high] = False
        # Computed over a wider stretch, so that [low, high) sees its true neighbours.
        wide_low, wide_high = max(0, low - margin), min(x.size, high + margin)
        local = peak_envelope(y[wide_low:wide_high], floor, rate)[low - wide_low : high - wide_low]
        peak = max(peak, float(local.max(initial=0.0)))
    return max(peak, float(np.max(envelope, where=untouched, initial=0.0)))


def _moving_average(values: Floats, half: int) -> Floats:
    """The mean over [n - half, n + half], the ends extended with the end values."""
    padded = np.concatenate([np.full(half, values[0]), values, np.full(half, values[-1])])
    sums = np.concatenate([[0.0], np.cumsum(padded)])
    width = 2 * half + 1
    average: Floats = (sums[width:] - sums[:-width]) / width
    return average


def window_min(values: Floats, before: int, after: int) -> Floats:
    """Per index n, the minimum of ``values[n - before : n + after + 1]`` (clipped to the array).

    The van Herk / Gil-Werman method: the array cut into blocks of the window's width, the running
    minimum of each block from the left and from the right; any window then spans at most two blocks.
    """
    size = values.size
    if size == 0:
        empty: Floats = values.copy()
        return empty
    width = before + after + 1
    tail = after + (-(size + before + after) % width)
    padded = np.concatenate([np.full(before, np.inf), values, np.full(tail, np.inf)]).reshape(-1, width)
    from_left = np.minimum.accumulate(padded, axis=1).reshape(-1)
    from_right = np.minimum.accumulate(padded[:, ::-1], axis=1)[:, ::-1].reshape(-1)
    # The window of n is padded[n : n + width]: the right part of one block, the left part of the next.
    result: Floats = np.minimum(from_right[:size], from_left[width - 1 : width - 1 + size])
    return result


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
