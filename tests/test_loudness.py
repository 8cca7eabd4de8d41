"""Loudness on real eSpeak-NG speech: the streaming meter against pyloudnorm, its filters against
scipy's, true peak and the limiter against scipy's 8x oversampling, chapter levelling end to end, and
how an audiobook is split in parts."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import firwin, resample_poly, sosfilt, tf2sos

from voxcli.audio.iir import BlockFilter
from voxcli.audio.loudness import (
    LoudnessMeter,
    LoudnessSettings,
    k_weighting,
    limit,
    lowpass,
    true_peak,
    window_min,
)
from voxcli.convert.audiobook import split_parts
from voxcli.convert.cache import Entry
from voxcli.convert.chapter_audio import ChapterAudio
from voxcli.convert.plan import ChapterPlan, Segment
from voxcli.engines import VoiceProfile, load_engine
from voxcli.engines.espeak import EspeakOptions

RATE = 22050
SENTENCES = [
    "Call me Ishmael.",
    "Some years ago, never mind how long precisely, having little or no money in my purse, "
    "I thought I would sail about a little and see the watery part of the world.",
    "It is a way I have of driving off the spleen, and regulating the circulation!",
    "Whenever I find myself growing grim about the mouth, I account it high time to get to sea.",
]
PAUSES = [0.6, 0.35, 0.5, 1.0]
CEILING_DB = -1.0


def db(linear: float) -> float:
    return 20.0 * math.log10(linear)


def lufs(x: np.ndarray, rate: int) -> float:
    return float(pyloudnorm.Meter(rate).integrated_loudness(np.asarray(x, dtype=np.float64)))


def oversampled(x: np.ndarray) -> np.ndarray:
    return np.abs(resample_poly(np.asarray(x, dtype=np.float64), 8, 1))


def true_peak_x8(x: np.ndarray, edge: int = 0) -> float:
    """An independent true peak: scipy's polyphase resampler at 8x, ``edge`` input samples ignored."""
    up = oversampled(x)
    if edge:
        up = up[8 * edge : -8 * edge]
    return float(up.max())


def envelope_x8(x: np.ndarray) -> np.ndarray:
    """Per input sample k, the largest magnitude of the 8x oversampled signal in [k, k + 1)."""
    up = oversampled(x)
    return np.maximum(np.abs(x), up[: 8 * len(x)].reshape(len(x), 8).max(axis=1))


@pytest.fixture(scope="module")
def sentences() -> list[np.ndarray]:
    """Each sentence spoken by eSpeak-NG (float32 at 22050 Hz)."""
    engine = load_engine(VoiceProfile(name="espeak", engine="espeak", voice="en-us", options=EspeakOptions()))
    spoken = []
    for text in SENTENCES:
        chunks = list(engine.synthesize(text))
        assert chunks and all(c.sample_rate == RATE for c in chunks)
        spoken.append(np.concatenate([c.samples for c in chunks]).astype(np.float64))
    assert all(len(s) > RATE // 2 for s in spoken)
    return spoken


@pytest.fixture(scope="module")
def speech(sentences: list[np.ndarray]) -> np.ndarray:
    """The sentences with their pauses: about 15 s of float speech at 22050 Hz."""
    parts = []
    for samples, pause in zip(sentences, PAUSES, strict=True):
        parts += [samples, np.zeros(round(pause * RATE))]
    whole = np.concatenate(parts)
    assert 8 * RATE < len(whole) < 40 * RATE
    return whole


@pytest.fixture(scope="module")
def uneven(sentences: list[np.ndarray]) -> np.ndarray:
    """The sentences at very different levels over a faint noise floor, so that both gates matter."""
    rng = np.random.default_rng(7)
    parts = []
    for samples, pause, level in zip(sentences, PAUSES, [0.0, -14.0, -30.0, -6.0], strict=True):
        parts += [samples * 10 ** (level / 20), np.zeros(round(pause * RATE))]
    whole = np.concatenate(parts)
    return whole + rng.normal(0.0, 10 ** (-65 / 20), len(whole))


def metered(x: np.ndarray, rate: int, seed: int) -> float:
    """LoudnessMeter fed ``x`` in random pieces (empty ones and ones shorter than a hop included)."""
    rng = np.random.default_rng(seed)
    meter = LoudnessMeter(rate)
    position = 0
    while position < len(x):
        size = int(rng.choice([0, 1, 7, int(rng.integers(1, rate // 10)), int(rng.integers(1, 3 * rate))]))
        meter.add(x[position : position + size])
        position += size
    return meter.integrated()


# --- the streaming meter -----------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [RATE, 16000, 24000, 44100])
@pytest.mark.parametrize("which", ["speech", "uneven"])
def test_meter_in_chunks_matches_pyloudnorm(request: pytest.FixtureRequest, which: str, rate: int) -> None:
    audio = request.getfixturevalue(which)
    common = math.gcd(rate, RATE)
    x = audio if rate == RATE else resample_poly(audio, rate // common, RATE // common)
    expected = lufs(x, rate)
    assert -40 < expected < -5
    whole = LoudnessMeter(rate)
    whole.add(x)
    assert whole.integrated() == pytest.approx(expected, abs=0.05)
    for seed in range(3):
        streamed = metered(x, rate, seed)
        assert streamed == pytest.approx(expected, abs=0.05)
        # Streaming is exact: however the audio is cut, the filters and blocks see the same samples.
        assert streamed == pytest.approx(whole.integrated(), abs=1e-6)
    # The same audio 12 dB quieter reads 12 LU lower.
    quieter = LoudnessMeter(rate)
    quieter.add(x * 10 ** (-12 / 20))
    assert quieter.integrated() == pytest.approx(expected - 12.0, abs=0.05)


def test_meter_gives_minus_infinity_for_silence_and_for_less_than_one_block(speech: np.ndarray) -> None:
    silent = LoudnessMeter(RATE)
    silent.add(np.zeros(5 * RATE))
    assert silent.integrated() == -math.inf
    nothing = LoudnessMeter(RATE)
    assert nothing.integrated() == -math.inf
    loud = speech[np.argmax(np.abs(speech)) - RATE // 10 :][: int(0.39 * RATE)]
    assert np.abs(loud).max() > 0.3
    short = LoudnessMeter(RATE)
    short.add(loud)
    assert short.integrated() == -math.inf
    # Once past 400 ms the same audio has a loudness.
    longer = LoudnessMeter(RATE)
    longer.add(speech[np.argmax(np.abs(speech)) - RATE // 10 :][: int(0.45 * RATE)])
    assert math.isfinite(longer.integrated())


def test_add_silence_is_adding_zeros(sentences: list[np.ndarray]) -> None:
    with_zeros, with_silence = LoudnessMeter(RATE), LoudnessMeter(RATE)
    whole = []
    for samples, pause in zip(sentences, [123, 2205, 0, 31_007], strict=True):
        for meter in (with_zeros, with_silence):
            meter.add(samples)
        with_zeros.add(np.zeros(pause))
        with_silence.add_silence(pause)
        whole += [samples, np.zeros(pause)]
    assert with_silence.integrated() == pytest.approx(with_zeros.integrated(), abs=1e-9)
    assert with_silence.integrated() == pytest.approx(lufs(np.concatenate(whole), RATE), abs=0.05)


# --- the filters, without scipy ---------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [16000, RATE, 44100, 48000])
def test_k_weighting_is_pyloudnorms_and_filters_as_sosfilt_does(rate: int) -> None:
    stages = list(pyloudnorm.Meter(rate)._filters.values())
    ours = k_weighting(rate)
    assert len(ours) == len(stages) == 2
    for (b, a), stage in zip(ours, stages, strict=True):
        assert np.allclose(np.asarray(b) / a[0], stage.b, rtol=1e-12, atol=0)
        assert np.allclose(np.asarray(a) / a[0], stage.a, rtol=1e-12, atol=0)
    x = np.random.default_rng(rate).normal(0.0, 0.3, 150_001)
    expected = sosfilt(np.vstack([tf2sos(stage.b, stage.a) for stage in stages]), x)
    # Fed in pieces of every awkward size (around the 32-sample blocks and 2,048-sample groups).
    block = BlockFilter(ours)
    state = block.zero_state()
    rng = np.random.default_rng(1)
    pieces, position = [], 0
    while position < len(x):
        size = int(rng.choice([0, 1, 31, 32, 33, 2047, 2048, 2049, int(rng.integers(1, 40_000))]))
        filtered, state = block(x[position : position + size], state)
        assert len(filtered) == len(x[position : position + size])
        pieces.append(filtered)
        position += size
    assert np.abs(np.concatenate(pieces) - expected).max() < 1e-10


@pytest.mark.parametrize("factor", [4, 8])
def test_lowpass_is_firwins_default_design(factor: int) -> None:
    taps = 24 * factor + 1
    assert np.abs(lowpass(taps, 1.0 / factor) - firwin(taps, 1.0 / factor)).max() < 1e-15


# --- true peak -----------------------------------------------------------------------------------------


def test_true_peak_finds_the_peak_between_samples() -> None:
    n = np.arange(4000)
    sine = np.sin(np.pi / 2 * n + np.pi / 4)  # fs / 4: every sample at +-0.707, the crests between them
    assert np.abs(sine).max() == pytest.approx(math.sqrt(0.5), abs=1e-9)
    assert abs(db(true_peak(sine, RATE))) < 0.3
    assert abs(db(true_peak_x8(sine, edge=100))) < 0.05  # the reference agrees
    assert true_peak(0.25 * sine, RATE) == pytest.approx(0.25 * true_peak(sine, RATE), rel=1e-9)
    assert true_peak(np.zeros(100), RATE) == 0.0


def test_true_peak_of_speech_matches_8x_oversampling(sentences: list[np.ndarray], speech: np.ndarray) -> None:
    for x in [*sentences, speech, 3.0 * speech]:
        found = true_peak(x, RATE)
        assert found >= np.abs(x).max()
        assert db(found) == pytest.approx(db(true_peak_x8(x)), abs=0.2)


# --- the limiter ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("gain_db", [6.0, 12.0, 18.0])
def test_limiter_keeps_loud_speech_under_the_ceiling(speech: np.ndarray, gain_db: float) -> None:
    ceiling = 10 ** (CEILING_DB / 20)
    x = speech * 10 ** (gain_db / 20)
    assert true_peak_x8(x) > 1.2 * ceiling  # over it
    y, peak = limit(x, ceiling, RATE)
    assert len(y) == len(x)
    assert db(true_peak_x8(y, edge=100)) <= CEILING_DB + 0.05
    assert np.abs(y).max() <= ceiling + 1e-12
    assert peak <= ceiling + 1e-12
    assert db(peak) == pytest.approx(db(true_peak_x8(y)), abs=0.2)
    # Only ever turned down, and the gain is not all lost: the result is louder than before the gain.
    assert np.all(np.abs(y) <= np.abs(x) + 1e-12)
    assert lufs(y, RATE) > lufs(speech, RATE) + 3.0


def test_limiter_leaves_quiet_parts_alone(speech: np.ndarray) -> None:
    ceiling = 10 ** (CEILING_DB / 20)
    x = speech * 10 ** (6 / 20)
    y, _ = limit(x, ceiling, RATE)
    hot = envelope_x8(x) > 0.9 * ceiling
    assert 0 < hot.sum() < len(x) // 20
    # Samples more than 100 ms from any that gets near the ceiling keep their exact value.
    reach = round(0.1 * RATE)
    near = np.convolve(hot.astype(np.int64), np.ones(2 * reach + 1, dtype=np.int64), mode="same") > 0
    far = ~near
    assert far.sum() > len(x) // 4 and np.abs(x[far]).max() > 0.05  # there is speech left to compare
    # Unchanged but for the limiter's final trim of the whole signal: one common factor, a few
    # hundred-thousandths of a dB at most.
    assert np.array_equal(y[far] == 0, x[far] == 0)
    ratio = y[far][x[far] != 0] / x[far][x[far] != 0]
    assert np.ptp(ratio) < 1e-12
    assert abs(db(float(ratio[0]))) < 0.001
    assert not np.array_equal(y[hot], x[hot])


def test_limiter_returns_audio_under_the_ceiling_unchanged(speech: np.ndarray) -> None:
    ceiling = 10 ** (CEILING_DB / 20)
    x = speech * (0.8 * ceiling / true_peak_x8(speech))
    y, peak = limit(x, ceiling, RATE)
    assert np.array_equal(y, x)
    assert db(peak) == pytest.approx(db(true_peak_x8(x)), abs=0.2)
    empty, peak = limit(np.zeros(0), ceiling, RATE)
    assert empty.size == 0 and peak == 0.0


# --- window_min -----------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=0, max_size=60),
    before=st.integers(0, 70),
    after=st.integers(0, 70),
)
def test_window_min_is_the_minimum_over_the_window(values: list[float], before: int, after: int) -> None:
    x = np.asarray(values, dtype=np.float64)
    expected = [min(values[max(0, n - before) : n + after + 1]) for n in range(len(values))]
    assert window_min(x, before, after).tolist() == expected


# --- a chapter levelled to the target --------------------------------------------------------------------


def int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)


def chapter(sentences: list[np.ndarray], scale: float, shape=None) -> tuple[ChapterPlan, dict[str, Entry]]:
    """A chapter of the spoken sentences, each ``shape(samples * scale)`` cached as int16."""
    cache, segments = {}, []
    for i, (samples, text) in enumerate(zip(sentences, SENTENCES, strict=True)):
        key = f"sentence-{i}"
        x = samples * scale
        cache[key] = Entry(samples=int16(shape(x) if shape else x), sample_rate=RATE, words=None)
        segments.append(Segment(text=text, speech=text, pause=PAUSES[i], key=key))
    plan = ChapterPlan(
        index=3,
        title="Loomings",
        stem="03 - Loomings",
        segments=tuple(segments),
        chars=sum(len(t) for t in SENTENCES),
    )
    return plan, cache


def written(plan: ChapterPlan, samples: list[np.ndarray]) -> np.ndarray:
    """The chapter as a file holds it: each segment's int16 samples followed by its pause, as float."""
    out = []
    for x, segment in zip(samples, plan.segments, strict=True):
        assert x.dtype == np.int16
        out += [x, np.zeros(round(segment.pause * RATE), dtype=np.int16)]
    return np.concatenate(out).astype(np.float64) / 32768.0


def as_written(plan: ChapterPlan, cache: dict[str, Entry]) -> np.ndarray:
    return written(plan, [cache[s.key].samples for s in plan.segments])


def scale_for(sentences: list[np.ndarray], target: float, shape=None) -> float:
    """The scale that brings the chapter (after ``shape``) to ``target`` LUFS, by bisection on pyloudnorm."""
    low, high = -60.0, 40.0
    for _ in range(30):
        middle = (low + high) / 2
        plan, cache = chapter(sentences, 10 ** (middle / 20), shape)
        if lufs(as_written(plan, cache), RATE) < target:
            low = middle
        else:
            high = middle
    return 10 ** ((low + high) / 2 / 20)


def clipped(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -1.0, 1.0)


def with_spikes(x: np.ndarray) -> np.ndarray:
    """Three 15 ms stretches around the loudest moments lifted 15 dB: peaks far above the speech."""
    y = x.copy()
    width = round(0.015 * RATE)
    for start in np.linspace(0, len(x) - width, 5).astype(int)[1:4]:
        centre = start + int(np.argmax(np.abs(x[start : start + RATE // 4])))
        y[max(0, centre - width // 2) : centre + width // 2] *= 10 ** (15 / 20)
    return y


def check_levelled(plan: ChapterPlan, cache: dict[str, Entry]) -> float:
    before = as_written(plan, cache)
    audio = ChapterAudio(plan, cache.__getitem__)
    target = LoudnessSettings()
    assert (target.target, target.ceiling) == (-18.0, CEILING_DB)
    input_lufs, gain = audio.level(target)
    assert input_lufs == pytest.approx(lufs(before, RATE), abs=0.05)
    pieces = list(audio.pieces(gain, target.ceiling))
    assert [p.segment for p in pieces] == list(plan.segments)
    after = written(plan, [p.samples for p in pieces])
    assert len(after) == len(before)
    assert lufs(after, RATE) == pytest.approx(target.target, abs=0.5)
    assert db(true_peak_x8(after)) <= target.ceiling + 0.1
    assert np.abs(after).max() < 32767 / 32768  # nothing clipped in the int16 conversion
    return gain


def test_quiet_chapter_is_lifted_to_the_target(sentences: list[np.ndarray]) -> None:
    plan, cache = chapter(sentences, scale_for(sentences, -35.0))
    assert lufs(as_written(plan, cache), RATE) == pytest.approx(-35.0, abs=0.1)
    gain = check_levelled(plan, cache)
    assert gain == pytest.approx(17.0, abs=1.0)


def test_loud_clipped_chapter_is_brought_down_to_the_target(sentences: list[np.ndarray]) -> None:
    plan, cache = chapter(sentences, scale_for(sentences, -10.0, clipped), clipped)
    before = as_written(plan, cache)
    assert lufs(before, RATE) == pytest.approx(-10.0, abs=0.1)
    assert np.sum(np.abs(before) >= 32767 / 32768) > 10  # peaks at full scale
    gain = check_levelled(plan, cache)
    assert gain == pytest.approx(-8.0, abs=0.5)


def test_peaky_chapter_is_limited_and_still_reaches_the_target(sentences: list[np.ndarray]) -> None:
    scale = 1.0 / max(np.abs(with_spikes(s)).max() for s in sentences)  # the spikes at full scale
    plan, cache = chapter(sentences, scale, with_spikes)
    before = as_written(plan, cache)
    assert lufs(before, RATE) < -25.0 and np.abs(before).max() > 0.99
    gain = check_levelled(plan, cache)
    # The gain lifts the spikes far past the ceiling, so the limiter had real work to do.
    assert db(np.abs(before).max()) + gain > CEILING_DB + 6.0


def test_without_a_ceiling_the_cached_samples_come_back_untouched(sentences: list[np.ndarray]) -> None:
    plan, cache = chapter(sentences, 0.5)
    pieces = list(ChapterAudio(plan, cache.__getitem__).pieces())
    assert len(pieces) == len(plan.segments)
    for piece, segment in zip(pieces, plan.segments, strict=True):
        assert piece.segment == segment and piece.entry is cache[segment.key]
        assert np.array_equal(piece.samples, cache[segment.key].samples)
        assert piece.samples.dtype == np.int16
        assert piece.pause == round(segment.pause * RATE)


def test_a_sentence_at_another_rate_is_resampled_to_the_chapters(sentences: list[np.ndarray]) -> None:
    """A cast voice at 16 kHz in a 22.05 kHz chapter: its sentence comes back at the chapter's rate,
    as long as it was, and the same sound (compared with the original before its round trip)."""
    plan, cache = chapter(sentences, 0.5)
    key = plan.segments[2].key
    cache[key] = Entry(
        samples=int16(resample_poly(sentences[2] * 0.5, 16000, RATE)), sample_rate=16000, words=None
    )
    audio = ChapterAudio(plan, cache.__getitem__)
    pieces = list(audio.pieces())
    assert audio.rate == RATE
    back = pieces[2].samples.astype(np.float64) / 32768.0
    original = sentences[2] * 0.5
    assert abs(len(back) - len(original)) <= 2
    size = min(len(back), len(original))
    assert np.corrcoef(back[:size], original[:size])[0, 1] > 0.95
    ChapterAudio(plan, cache.__getitem__).level(LoudnessSettings())  # levelling reads it the same way


# --- splitting an audiobook in parts --------------------------------------------------------------------


def greedy(lengths: list[int], limit: int) -> list[list[int]]:
    """Simple packing: start a new part whenever the next chapter would take this one past the limit."""
    parts: list[list[int]] = []
    total = 0
    for i, length in enumerate(lengths):
        if not parts or total + length > limit:
            parts.append([])
            total = 0
        parts[-1].append(i)
        total += length
    return parts


def longest(lengths: list[int], parts: list[list[int]]) -> int:
    return max(sum(lengths[i] for i in part) for part in parts)


def best_longest(lengths: list[int], count: int) -> int:
    """The shortest possible longest part over every split of ``lengths`` in ``count`` consecutive parts."""
    n = len(lengths)
    prefix = [0, *np.cumsum(lengths).tolist()]
    best = [[math.inf] * (n + 1) for _ in range(count + 1)]
    best[0][0] = 0
    for k in range(1, count + 1):
        for end in range(1, n + 1):
            for start in range(k - 1, end):
                best[k][end] = min(best[k][end], max(best[k - 1][start], prefix[end] - prefix[start]))
    return int(best[count][n])


@settings(max_examples=300, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 1000), min_size=1, max_size=14),
    limit=st.one_of(st.none(), st.integers(1, 4000)),
)
def test_split_parts_properties(lengths: list[int], limit: int | None) -> None:
    parts = split_parts(lengths, limit)
    assert all(parts)
    assert [i for part in parts for i in part] == list(range(len(lengths)))  # consecutive, all, in order
    if limit is None or sum(lengths) <= limit:
        assert len(parts) == 1
        return
    for part in parts:
        total = sum(lengths[i] for i in part)
        assert total <= limit or (len(part) == 1 and total > limit)
    simple = greedy(lengths, limit)
    assert len(parts) == len(simple)  # as few parts as the limit allows
    assert longest(lengths, parts) <= longest(lengths, simple)
    if max(lengths) <= limit:
        assert longest(lengths, parts) == best_longest(lengths, len(parts))  # as balanced as can be


def test_split_parts_examples() -> None:
    assert split_parts([], 10) == []
    assert split_parts([5, 6, 7], None) == [[0, 1, 2]]
    assert split_parts([5, 6, 7], 18) == [[0, 1, 2]]
    # Greedy packing would give [9, 1, 1, 1] + [1]: two parts, the first 12 long; balanced is 9 + 4.
    assert split_parts([9, 1, 1, 1, 1], 12) == [[0], [1, 2, 3, 4]]
    # A chapter over the limit is a part of its own.
    assert split_parts([3, 20, 3, 3], 8) == [[0], [1], [2, 3]]
    # Six hours of chapters, a five-hour limit: two parts of three hours rather than five and one.
    hour = 3600 * RATE
    assert split_parts([hour] * 6, 5 * hour) == [[0, 1, 2], [3, 4, 5]]
