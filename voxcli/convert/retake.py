"""``convert --verify``: listen to each chapter as it is made, and speak again what does not say the book.

A flagged sentence gets up to ``tries`` new takes: the same text again where the engine is
stochastic (another take sounds different), another cut of the text otherwise (the sentence in
smaller pieces). The best take is kept in the sentence cache under the sentence's own key, so the
chapter files, the M4B and later runs all use it; what stays flagged is reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from voxcli.arrays import Float32
from voxcli.audio.encode import silence, to_pcm16
from voxcli.convert.cache import AudioCache
from voxcli.convert.plan import ChapterPlan
from voxcli.engines.base import Engine, Settings, WordTiming, speak
from voxcli.text.pieces import CLAUSE_PAUSE
from voxcli.text.segment import fit
from voxcli.verify.listen import Sentence, check_sentences, level, longest_silence
from voxcli.verify.score import SentenceCheck, compare, judge

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifySettings:
    recognizer: str = "pocketsphinx"
    tries: int = 2  # new takes of a flagged sentence


@dataclass
class ChapterVerdict:
    """What --verify found in one chapter, and what it did."""

    recognizer: str = "pocketsphinx"
    sentences: int = 0
    flagged: int = 0  # at the first listening
    repaired: int = 0  # flagged, then a new take passed
    still_flagged: list[SentenceCheck] = field(default_factory=list)
    checks: list[SentenceCheck] = field(default_factory=list)  # every sentence, as it was left

    def as_record(self, recognizer: str) -> dict[str, object]:
        return {
            "recognizer": recognizer,
            "sentences": self.sentences,
            "flagged": self.flagged,
            "repaired": self.repaired,
            "still_flagged": [
                {"text": c.text, "heard": " ".join(c.comparison.heard), "reasons": c.reasons}
                for c in self.still_flagged
            ],
        }


def verify_chapter(
    plan: ChapterPlan,
    cache: AudioCache,
    *,
    lang: str,
    settings: VerifySettings,
    speaker: Callable[[str], tuple[Engine, Settings]],
    should_stop: Callable[[], int] = lambda: 0,
) -> ChapterVerdict:
    """Check every segment of ``plan`` from the cache and re-speak the flagged ones (see the module)
    with their voice: ``speaker(segment.voice)`` gives its loaded engine and per-call settings."""
    from voxcli.asr import load_recognizer

    segments = list(plan.segments)
    sentences = [Sentence(s.text, s.speech) for s in segments]
    listener = load_recognizer(settings.recognizer, lang, [s.speech for s in sentences])
    try:

        def audio(index: int) -> tuple[Float32, int]:
            entry = cache.get(segments[index].key)
            if entry is None:  # cannot happen after synthesis; an empty take is flagged
                return np.zeros(0, dtype=np.float32), 16000
            return entry.samples.astype(np.float32) / 32768.0, entry.sample_rate

        checks = check_sentences(plan.index, sentences, audio, listener)
        flagged = sum(c.flagged for c in checks)
        verdict = ChapterVerdict(settings.recognizer, sentences=len(checks), flagged=flagged)
        for position, check in enumerate(checks):
            if not check.flagged:
                continue
            engine, speech_settings = speaker(segments[position].voice)
            best = check
            for attempt in range(1, settings.tries + 1):
                if should_stop():
                    break
                samples, rate, words = _take(engine, check.speech, attempt, speech_settings)
                heard = listener.recognize(samples, rate)
                take = replace(
                    check,
                    comparison=compare(check.comparison.expected, [w.word for w in heard.words]),
                    seconds=len(samples) / rate,
                    longest_silence=longest_silence(samples, rate),
                    level=level(samples, rate),
                )
                judged = judge([*checks[:position], take, *checks[position + 1 :]])[position]
                if _badness(judged) < _badness(best):
                    best = judged
                    cache.put(segments[position].key, to_pcm16(samples), rate, words)
                if not judged.flagged:
                    break
            checks[position] = best
            if best.flagged:
                verdict.still_flagged.append(best)
            else:
                verdict.repaired += 1
        verdict.checks = checks
        return verdict
    finally:
        listener.close()


def _badness(check: SentenceCheck) -> tuple[int, int, float]:
    """Fewer reasons, then fewer word errors, then less silence: the better take."""
    return len(check.reasons), check.comparison.errors, check.longest_silence


def _take(
    engine: Engine, speech: str, attempt: int, settings: Settings
) -> tuple[Float32, int, list[WordTiming] | None]:
    """A new take: the same text from a stochastic engine, else the text in ``attempt + 1`` pieces."""
    if "stochastic" in type(engine).capabilities:
        spoken = speak(engine, speech, settings)
        return spoken.samples, spoken.sample_rate, spoken.words
    pieces = fit(speech, max(8, len(speech) // (attempt + 1) + 1))
    rate = engine.sample_rate
    parts: list[Float32] = []
    words: list[WordTiming] | None = []
    offset = 0.0
    for index, piece in enumerate(pieces):
        spoken = speak(engine, piece, settings)
        if words is not None and spoken.words is not None:
            words += [WordTiming(w.word, w.start + offset, w.end + offset) for w in spoken.words]
        else:
            words = None
        parts.append(spoken.samples)
        offset += spoken.duration
        if index < len(pieces) - 1:
            parts.append(silence(CLAUSE_PAUSE, rate))
            offset += CLAUSE_PAUSE
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32), rate, words


def align_chapter(
    plan: ChapterPlan, cache: AudioCache, *, lang: str, recognizer: str = "pocketsphinx"
) -> int:
    """Give the chapter's cached sentences that have no word timings the ones forced alignment finds
    (for engines that report none); returns how many were timed. Without a recogniser for ``lang``,
    nothing changes and the subtitles time sentences."""
    from voxcli.asr import recognizer_class
    from voxcli.verify.timing import aligned_words

    cls = recognizer_class(recognizer)
    problem = cls.problem(lang)
    if problem is not None:
        log.warning("no word timings from alignment: %s (%s)", problem.message, problem.fix)
        return 0
    todo = []
    for segment in dict((s.key, s) for s in plan.segments).values():
        entry = cache.get(segment.key)
        if entry is not None and entry.words is None and len(entry.samples):
            todo.append((segment, entry))
    if not todo:
        return 0
    listener = cls.load(lang, [segment.speech for segment, _ in todo])
    timed = 0
    try:
        for segment, entry in todo:
            samples = entry.samples.astype(np.float32) / 32768.0
            found = aligned_words(listener, samples, entry.sample_rate, segment.speech)
            if found is not None:
                cache.put(segment.key, entry.samples, entry.sample_rate, found)
                timed += 1
    finally:
        listener.close()
    return timed


def write_report(
    outdir: Path,
    plans: list[ChapterPlan],
    verdicts: dict[int, ChapterVerdict],
    cache: AudioCache,
    *,
    lang: str,
) -> Path | None:
    """``OUTDIR/check.html`` of what --verify heard in this run's chapters (None when it checked none)."""
    from voxcli.fsutil import atomic_write_bytes
    from voxcli.verify.book import BookCheck, ChapterCheck
    from voxcli.verify.report import render

    checked = [p for p in plans if p.index in verdicts]
    if not checked:
        return None
    keys = {(p.index, i): s.key for p in checked for i, s in enumerate(p.segments)}

    def clip(check: SentenceCheck) -> tuple[Float32, int] | None:
        key = keys.get((check.chapter, check.index))
        entry = cache.get(key) if key is not None else None
        return (entry.samples.astype(np.float32) / 32768.0, entry.sample_rate) if entry is not None else None

    chapters = [ChapterCheck(p.index, p.title, verdicts[p.index].checks) for p in checked]
    page = outdir / "check.html"
    atomic_write_bytes(
        page, render(BookCheck(verdicts[checked[0].index].recognizer, lang, chapters, clip)).encode()
    )
    return page
