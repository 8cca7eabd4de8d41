"""Subtitles for a chapter's audio: cues built from the spoken sentences, written as SRT or WebVTT.

The pipeline knows where each sentence lies in the chapter audio (in samples) and what the reader
should see (the book's text, not the normalised speech text). A sentence that fits on screen is one
cue; a longer one is cut at word boundaries into consecutive cues, timed by the engine's word timings
when they match the display words one to one, else in proportion to the characters of each part.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from voxcli.engines.base import WordTiming

# A cut right after one of these reads naturally, so it may win over a slightly better-balanced cut.
_PAUSE_MARKS = (",", ";", ":", ".", "!", "?", "…", "—", "–")
_CLOSERS = "\"'”’)]»"  # a closing quote or bracket after the mark still ends the clause

_Span = tuple[float, float]
_Timed = tuple[tuple[str, float, float], ...]  # (display word, absolute start, absolute end)
_RawCue = tuple[float, float, list[str], _Timed]
_Speaking = tuple[float, float, list[str], str]


@dataclass(frozen=True)
class Spoken:
    """One spoken sentence: its display text and where it lies in the chapter audio."""

    text: str  # the sentence as shown to readers
    start: int  # first sample in the chapter audio
    end: int  # one past the last sample
    # relative to `start`, in seconds, from the engine: the *spoken* words, which may not match the
    # display text word for word (normalisation turns "1851" into several words)
    words: list[WordTiming] | None = None
    speaker: str = ""  # the character saying it (a cast), for WebVTT voice spans
    lang: str = ""  # a passage in another language than the book's: its tag (WebVTT language spans)

    def __post_init__(self) -> None:
        if self.start < 0 or self.end <= self.start:
            raise ValueError(f"a spoken sentence needs 0 <= start < end, got {self.start}..{self.end}")


@dataclass(frozen=True)
class Cue:
    """One subtitle: 1-based index, times in seconds, and the lines shown."""

    index: int
    start: float
    end: float
    lines: list[str]
    speaker: str = ""
    # each display word of ``lines`` in order with its absolute times, when the engine's word timings
    # match the display words (for karaoke); () when they are not known
    words: _Timed = ()
    lang: str = ""  # the language of a passage in another language than the book's


def build_cues(
    spoken: Sequence[Spoken],
    sample_rate: int,
    duration: float,
    *,
    max_line: int = 42,
    max_lines: int = 2,
    word_level: bool = False,
    min_duration: float = 0.0,
) -> list[Cue]:
    """Subtitle cues for a chapter's sentences, in order, never overlapping, all within ``duration``.

    ``spoken`` must be in audio order without overlaps. With ``word_level`` each word is its own cue
    wherever the engine's word timings match the display words. ``min_duration`` lengthens short cues
    into the silence that follows them (never into the next cue); 0 keeps every time exact.
    """
    if sample_rate <= 0 or max_line < 1 or max_lines < 1 or duration < 0 or min_duration < 0:
        raise ValueError("sample_rate, max_line and max_lines must be positive; durations not negative")
    raw: list[_RawCue] = []
    speakers: list[tuple[str, str]] = []  # per raw cue: (speaker, lang)
    previous_end = 0
    for sentence in spoken:
        if sentence.start < previous_end:
            raise ValueError(f"spoken sentences overlap or are out of order at sample {sentence.start}")
        previous_end = sentence.end
        words = sentence.text.split()
        if not words:
            continue
        start = sentence.start / sample_rate
        if start >= duration:
            raise ValueError(f"a sentence starts at {start:.3f} s, past the audio's end ({duration:.3f} s)")
        # A duration measured from encoded audio may be a little short: clamp rather than refuse.
        end = min(sentence.end / sample_rate, duration)
        spans = _word_spans(sentence.words, len(words), start, end)
        before = len(raw)
        if word_level and spans is not None:
            raw.extend((a, b, [word], ((word, a, b),)) for word, (a, b) in zip(words, spans, strict=True))
        else:
            raw.extend(_chunk_cues(words, start, end, spans, max_line=max_line, max_lines=max_lines))
        speakers.extend([(sentence.speaker, sentence.lang)] * (len(raw) - before))
    _lengthen_short(raw, min_duration, duration)
    return [
        Cue(index, start, end, lines, speaker, timed, lang)
        for index, ((start, end, lines, timed), (speaker, lang)) in enumerate(
            zip(raw, speakers, strict=True), 1
        )
    ]


def to_srt(cues: Sequence[Cue]) -> str:
    """SubRip text: numbered cues, ``HH:MM:SS,mmm`` times, a blank line after each cue."""
    blocks = []
    for cue in cues:
        lines = [_no_arrow(line) for line in _clean(cue.lines)]
        if lines:
            times = f"{_stamp(cue.start, ',')} --> {_stamp(cue.end, ',')}"
            blocks.append(f"{cue.index}\n{times}\n" + "\n".join(lines) + "\n\n")
    return "".join(blocks)


def to_vtt(cues: Sequence[Cue], speakers: bool = False) -> str:
    """WebVTT text: the ``WEBVTT`` header, then cues with ``HH:MM:SS.mmm`` times and escaped text;
    with ``speakers``, a character's cue is a voice span (``<v Peleg>Who is Captain Ahab, sir?``). A
    passage in another language is a language span (``<lang fr>mon semblable</lang>``)."""
    blocks = ["WEBVTT\n\n"]
    for cue in cues:
        lines = [_escape_vtt(line) for line in _clean(cue.lines)]
        if lines and cue.lang:
            tag = "".join(ch for ch in cue.lang if ch.isalnum() or ch == "-")
            lines = [f"<lang {tag}>{line}</lang>" for line in lines]
        if lines and speakers and cue.speaker:
            name = _escape_vtt(" ".join(cue.speaker.replace(">", " ").split()))
            lines = [f"<v {name}>{line}" for line in lines]
        if lines:
            times = f"{_stamp(cue.start, '.')} --> {_stamp(cue.end, '.')}"
            blocks.append(f"{cue.index}\n{times}\n" + "\n".join(lines) + "\n\n")
    return "".join(blocks)


def _word_spans(timings: list[WordTiming] | None, count: int, start: float, end: float) -> list[_Span] | None:
    """Absolute (start, end) of each display word, or None when the engine's timings cannot be trusted.

    Only a one-to-one match is usable: a different count means normalisation changed the words, and
    then no spoken word can be tied to a display word.
    """
    if timings is None or len(timings) != count:
        return None
    if not all(math.isfinite(t.start) and math.isfinite(t.end) for t in timings):
        return None
    starts = [min(max(start + t.start, start), end) for t in timings]
    if any(b <= a for a, b in pairwise(starts)) or starts[-1] >= end:
        return None
    spans = []
    for timing, word_start, following in zip(timings, starts, [*starts[1:], end], strict=True):
        word_end = min(start + timing.end, following)  # an engine's words may overlap: never the cues
        spans.append((word_start, word_end if word_end > word_start else following))
    return spans


def _chunk_cues(
    words: list[str], start: float, end: float, spans: list[_Span] | None, *, max_line: int, max_lines: int
) -> list[_RawCue]:
    """A sentence's cues: its words cut into parts that each fit on screen, timed part by part."""
    chunks = _split(words, max_line, max_lines)
    if spans is not None:
        # Each part begins when its first word is heard; the first and last keep the sentence's edges.
        inner = [spans[i][0] for i, _ in chunks[1:]]
    else:
        weights = [len(" ".join(words[i:j])) + 1 for i, j in chunks]  # + 1: the space between parts
        total, done, inner = sum(weights), 0, []
        for weight in weights[:-1]:
            done += weight
            inner.append(start + (end - start) * done / total)
    bounds = [start, *inner, end]
    timed: list[_Timed] = [
        () if spans is None else tuple((words[k], *spans[k]) for k in range(i, j)) for i, j in chunks
    ]
    return [
        (a, b, _wrap(words[i:j], max_line), part)
        for (i, j), (a, b), part in zip(chunks, pairwise(bounds), timed, strict=True)
    ]


def _split(words: list[str], max_line: int, max_lines: int) -> list[tuple[int, int]]:
    """Index ranges of the parts of a sentence, as few as possible, cut where it reads best."""
    count = len(words)
    longest = [_longest_fit(words, i, max_line, max_lines) for i in range(count)]
    # Filling greedily gives the fewest parts, so need[i] (parts for words i onwards) follows at once.
    need = [0] * (count + 1)
    for i in range(count - 1, -1, -1):
        need[i] = 1 + need[longest[i]]
    offsets = [0]
    for word in words:
        offsets.append(offsets[-1] + len(word) + 1)
    chunks = []
    i = 0
    while i < count:
        j = _best_cut(words, i, longest[i], need, offsets, max_line)
        chunks.append((i, j))
        i = j
    return chunks


def _best_cut(
    words: list[str], i: int, longest: int, need: list[int], offsets: list[int], max_line: int
) -> int:
    """Where the part starting at word ``i`` ends: near an even share of the rest, after a pause if close."""
    if longest == len(words):
        return longest
    target = (offsets[-1] - offsets[i]) / need[i]
    bonus = max_line / 3  # how far from the even share a cut after punctuation may be and still win
    best, best_score = longest, math.inf
    for j in range(i + 1, longest + 1):
        if need[j] > need[i] - 1:  # a cut here would cost an extra part later
            continue
        score = abs(offsets[j] - offsets[i] - target)
        if words[j - 1].rstrip(_CLOSERS).endswith(_PAUSE_MARKS):
            score -= bonus
        if score < best_score:
            best, best_score = j, score
    return best


def _longest_fit(words: list[str], i: int, max_line: int, max_lines: int) -> int:
    """The largest ``j`` such that ``words[i:j]`` fits in one cue (always at least ``i + 1``)."""
    # A single word always fits (an overlong one gets a line of its own); a line holds at most
    # (max_line + 1) // 2 words, which bounds the search.
    low, high = i + 1, min(len(words), i + max_lines * ((max_line + 1) // 2))
    while low < high:
        middle = (low + high + 1) // 2
        if len(_greedy(words[i:middle], max_line)) <= max_lines:
            low = middle
        else:
            high = middle - 1
    return low


def _greedy(words: list[str], width: int) -> list[str]:
    """Words filled into lines of at most ``width`` characters; a longer word stands alone."""
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _wrap(words: list[str], max_line: int) -> list[str]:
    """Balanced lines: as few as fit in ``max_line``, at the narrowest width that keeps that count."""
    count = len(_greedy(words, max_line))
    low, high = 1, max_line
    while low < high:  # fewer lines never come from a narrower width, so the count is monotonic
        middle = (low + high) // 2
        if len(_greedy(words, middle)) <= count:
            high = middle
        else:
            low = middle + 1
    return _greedy(words, low)


def _lengthen_short(raw: list[_RawCue], min_duration: float, duration: float) -> None:
    """Let short cues stay on screen into the following silence, up to the next cue or the end."""
    if min_duration <= 0:
        return
    for k, (start, end, lines, timed) in enumerate(raw):
        limit = raw[k + 1][0] if k + 1 < len(raw) else duration
        if end - start < min_duration:
            raw[k] = (start, max(end, min(start + min_duration, limit)), lines, timed)


def _stamp(seconds: float, separator: str) -> str:
    """``HH:MM:SS,mmm``: rounded to the millisecond, which keeps ordered times ordered."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _clean(lines: Sequence[str]) -> list[str]:
    """Lines with no line breaks, runs of spaces or blank lines: a blank line would end the cue."""
    return [line for line in (" ".join(text.split()) for text in lines) if line]


def _no_arrow(line: str) -> str:
    """SRT has no escapes, and ``-->`` would read as a timing line: shorten every arrow."""
    while "-->" in line:  # "--->" becomes "-->" after one pass
        line = line.replace("-->", "->")
    return line


def _escape_vtt(line: str) -> str:
    """WebVTT cue text is markup: escape ``&``, ``<`` and ``>`` (which also breaks any ``-->``)."""
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
