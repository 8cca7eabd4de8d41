"""How far what was heard is from what should have been said, and the verdict on each sentence.

The verdicts are relative to the chapter as well as absolute: a sentence is flagged when it is worse
than both a fixed bound and the chapter's own typical sentence, so a recogniser that mishears this
voice a little everywhere does not flag a whole clean book, while one sentence that says something
else, stops half-way, repeats itself or is silent stands out.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import jiwer

from voxcli.text.markup import plain

WER_FLOOR = 0.35  # a sentence is never flagged for its words below this word error rate
WER_OVER_TYPICAL = 0.25  # ... nor below the chapter's median rate plus this
MIN_ERRORS = 2  # one misheard word is the recogniser's noise, not a fault (unless it was all there was)
MISSING_RUN = 4  # this many expected words in a row with nothing heard is a hole, however long the sentence
WER_CEILING = 0.6  # ... and above this it is always flagged, however badly the rest of the chapter is heard
PACE_LOW, PACE_HIGH = 0.6, 1.6  # seconds per character against the chapter's median
PACE_MIN_CHARS = 25  # shorter sentences have too few characters for a pace to mean anything
PACE_MIN_SENTENCES = 5  # ... and a chapter needs this many to have a typical pace
SILENCE_LIMIT = 1.5  # seconds of silence inside a sentence


@dataclass(frozen=True)
class Comparison:
    """The expected words against the heard ones."""

    expected: list[str]
    heard: list[str]
    missing: list[str]  # expected words not heard (deleted, or heard as something else)
    inserted: list[str]  # heard words not expected (inserted, or heard instead of an expected one)
    errors: int  # substitutions + deletions + insertions
    missing_run: int = 0  # the most expected words in a row with nothing heard in their place

    @property
    def wer(self) -> float:
        """Word error rate: errors per expected word (0 when nothing was expected and nothing heard)."""
        if not self.expected:
            return float(bool(self.heard))
        return self.errors / len(self.expected)


def compare(expected: Sequence[str], heard: Sequence[str]) -> Comparison:
    """Align the two word lists (jiwer's Levenshtein alignment) and count what differs."""
    expected, heard = list(expected), list(heard)
    if not expected:
        return Comparison(expected, heard, [], heard, len(heard))
    if not heard:
        return Comparison(expected, heard, expected, [], len(expected), len(expected))
    output = jiwer.process_words(" ".join(expected), " ".join(heard))
    missing: list[str] = []
    inserted: list[str] = []
    run = longest = 0
    for chunk in output.alignments[0]:
        if chunk.type in ("delete", "substitute"):
            missing += expected[chunk.ref_start_idx : chunk.ref_end_idx]
        if chunk.type == "delete":  # misheard words (substitutions) are the recogniser's; holes are not
            run += chunk.ref_end_idx - chunk.ref_start_idx
            longest = max(longest, run)
        elif chunk.type != "insert":
            run = 0
        if chunk.type in ("insert", "substitute"):
            inserted += heard[chunk.hyp_start_idx : chunk.hyp_end_idx]
    errors = output.substitutions + output.deletions + output.insertions
    return Comparison(expected, heard, missing, inserted, errors, longest)


@dataclass(frozen=True)
class SentenceCheck:
    """One sentence: what it should say, what was heard, its measures and the verdict."""

    chapter: int  # the chapter's number in the book (0 for a lone recording)
    index: int  # the sentence's position in its chapter, from 0
    text: str  # as written
    speech: str  # as sent to the engine
    comparison: Comparison
    unchecked: list[str]  # words the recogniser cannot hear (not in its dictionary)
    seconds: float  # of audio
    start: float  # seconds from the start of the chapter's audio (or recording)
    longest_silence: float  # seconds, inside the sentence
    level: float = -120.0  # dBFS: the RMS of its sound (silent frames left out)
    flagged: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def pace(self) -> float:
        """Seconds per character of the spoken text."""
        return self.seconds / max(len(plain(self.speech)), 1)

    def as_record(self) -> dict[str, object]:
        c = self.comparison
        return {
            "chapter": self.chapter,
            "index": self.index,
            "text": self.text,
            "heard": " ".join(c.heard),
            "wer": round(c.wer, 4),
            "missing": c.missing,
            "inserted": c.inserted,
            "unchecked": self.unchecked,
            "start": round(self.start, 3),
            "seconds": round(self.seconds, 3),
            "seconds_per_char": round(self.pace, 5),
            "longest_silence": round(self.longest_silence, 3),
            "level_dbfs": round(self.level, 1),
            "flagged": self.flagged,
            "reasons": self.reasons,
        }


def judge(checks: Sequence[SentenceCheck], use_pace: bool = True) -> list[SentenceCheck]:
    """The chapter's sentences with their verdicts (see the module's docstring for the rules)."""
    rates = [c.comparison.wer for c in checks if c.comparison.expected]
    typical_wer = statistics.median(rates) if rates else 0.0
    wer_limit = min(max(WER_FLOOR, typical_wer + WER_OVER_TYPICAL), WER_CEILING)
    paces = [c.pace for c in checks if len(c.speech) >= PACE_MIN_CHARS and c.seconds > 0]
    typical_pace = statistics.median(paces) if use_pace and len(paces) >= PACE_MIN_SENTENCES else None
    judged: list[SentenceCheck] = []
    for check in checks:
        reasons: list[str] = []
        c = check.comparison
        if c.expected and not c.heard:
            reasons.append("nothing recognisable was heard")
        elif c.expected and c.wer > wer_limit and (c.errors >= MIN_ERRORS or c.errors >= len(c.expected)):
            counts = f"{len(c.missing)} missing, {len(c.inserted)} not in the text"
            reasons.append(f"{c.wer:.0%} of the words differ ({counts})")
        elif c.missing_run >= MISSING_RUN:
            reasons.append(f"{c.missing_run} words in a row were not heard")
        if typical_pace is not None and len(plain(check.speech)) >= PACE_MIN_CHARS:
            ratio = check.pace / typical_pace
            if ratio < PACE_LOW:
                reasons.append(f"too short: {ratio:.0%} of the chapter's usual length for its text")
            elif ratio > PACE_HIGH:
                reasons.append(f"too long: {ratio:.0%} of the chapter's usual length for its text")
        if check.longest_silence > SILENCE_LIMIT:
            reasons.append(f"{check.longest_silence:.1f} s of silence inside it")
        judged.append(replace(check, flagged=bool(reasons), reasons=reasons))
    return judged
