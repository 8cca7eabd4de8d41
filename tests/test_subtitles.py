"""Subtitles: cues from spoken sentences, checked through independent SRT and WebVTT parsers."""

from __future__ import annotations

import html
from datetime import timedelta
from itertools import pairwise

import pytest
import srt
import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st

from voxcli.audio.subtitles import Cue, Spoken, build_cues, to_srt, to_vtt
from voxcli.engines.base import WordTiming

SR = 24000

MOBY = (
    "Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my "
    "purse, and nothing particular to interest me on shore, I thought I would sail about a little and "
    "see the watery part of the world. It is a way I have of driving off the spleen, and regulating."
)


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def td_ms(delta: timedelta) -> int:
    return round(delta.total_seconds() * 1000)


def parse_srt(text: str) -> list[srt.Subtitle]:
    return list(srt.parse(text))


def parse_vtt(text: str) -> list[webvtt.Caption]:
    return list(webvtt.from_string(text).captions)


def vtt_ms(stamp: str) -> int:
    hours, minutes, rest = stamp.split(":")
    secs, millis = rest.split(".")
    return ((int(hours) * 60 + int(minutes)) * 60 + int(secs)) * 1000 + int(millis)


def no_arrow(word: str) -> str:
    while "-->" in word:
        word = word.replace("-->", "->")
    return word


def cue_words(cues: list[Cue]) -> list[str]:
    return [word for cue in cues for line in cue.lines for word in line.split()]


def srt_words(subs: list[srt.Subtitle]) -> list[str]:
    return [word for sub in subs for word in sub.content.split()]


def vtt_words(captions: list[webvtt.Caption]) -> list[str]:
    return [word for caption in captions for word in html.unescape(caption.text).split()]


def assert_well_formed(cues: list[Cue], duration: float, max_line: int = 42, max_lines: int = 2) -> None:
    assert [cue.index for cue in cues] == list(range(1, len(cues) + 1))
    for cue in cues:
        assert 0 <= cue.start < cue.end <= duration
        assert 1 <= len(cue.lines) <= max_lines
        for line in cue.lines:
            assert line == line.strip() and line
            assert len(line) <= max_line or " " not in line  # only a single overlong word may exceed
    for before, after in pairwise(cues):
        assert before.end <= after.start


def test_one_cue_per_short_sentence_through_both_parsers():
    sr = 22050
    spoken = [
        Spoken("Call me Ishmael.", 1000, 40000),
        Spoken("It was a cold day.", 45000, 80000),
        Spoken("The sea was grey and wide and still.", 90001, 150000),
    ]
    duration = 160000 / sr
    cues = build_cues(spoken, sr, duration)
    assert_well_formed(cues, duration)
    subs, captions = parse_srt(to_srt(cues)), parse_vtt(to_vtt(cues))
    assert len(cues) == len(subs) == len(captions) == 3
    for sentence, sub, caption in zip(spoken, subs, captions, strict=True):
        assert td_ms(sub.start) == ms(sentence.start / sr) == vtt_ms(caption.start)
        assert td_ms(sub.end) == ms(sentence.end / sr) == vtt_ms(caption.end)
        assert sub.content == sentence.text == caption.text
    assert to_srt(cues).startswith("1\n00:00:00,045 --> 00:00:01,814\nCall me Ishmael.\n\n2\n")
    assert to_vtt(cues).startswith("WEBVTT\n\n")


def test_two_balanced_lines():
    text = "The whale rose from the deep water and the whole crew stood silent."
    cues = build_cues([Spoken(text, 0, SR * 4)], SR, 4.0)
    assert len(cues) == 1 and len(cues[0].lines) == 2
    first, second = cues[0].lines
    assert abs(len(first) - len(second)) <= 8  # greedy filling would give 42 + 25
    assert " ".join(cues[0].lines) == text


def test_long_sentence_splits_proportionally_inside_its_span():
    text = (MOBY + " " + MOBY)[:300].rsplit(" ", 1)[0]
    start, end = SR * 2, SR * 40
    cues = build_cues([Spoken(text, start, end)], SR, 45.0)
    assert_well_formed(cues, 45.0)
    assert len(cues) >= 4
    assert cues[0].start == start / SR and cues[-1].end == end / SR
    for before, after in pairwise(cues):
        assert before.end == after.start  # consecutive parts of one sentence touch
    total = sum(len(" ".join(cue.lines)) + 1 for cue in cues)
    for cue in cues:
        share = (cue.end - cue.start) / ((end - start) / SR)
        assert share == pytest.approx((len(" ".join(cue.lines)) + 1) / total)
    subs = parse_srt(to_srt(cues))
    assert srt_words(subs) == text.split()
    assert all(ms(start / SR) <= td_ms(sub.start) < td_ms(sub.end) <= ms(end / SR) for sub in subs)


def test_prefers_cutting_after_punctuation():
    text = (
        "She opened the heavy door slowly and the cold wind from the northern hills rushed into the "
        "quiet little room at last."
    )
    words = text.split()
    plain = build_cues([Spoken(" ".join(words), 0, SR * 6)], SR, 6.0)
    assert cue_words(plain[:1])[-1] == "the"
    words[8] += ","  # "cold," a little before the even split
    with_comma = build_cues([Spoken(" ".join(words), 0, SR * 6)], SR, 6.0)
    assert len(with_comma) == len(plain) == 2
    assert cue_words(with_comma[:1])[-1] == "cold,"


def timings_for(words: list[str], start: float = 0.1, step: float = 0.3) -> list[WordTiming]:
    # Deliberately uneven: the first half is spoken slowly, so proportional timing would differ.
    timings, t = [], start
    for k, word in enumerate(words):
        length = step * (3 if k < len(words) // 2 else 1)
        timings.append(WordTiming(word, t, t + length * 0.8))
        t += length
    return timings


def test_word_timings_set_the_cut_when_they_match():
    words = MOBY.split()[:40]
    timings = timings_for(words)
    start = 12345
    end = start + round((timings[-1].end + 0.2) * SR)
    duration = end / SR + 1
    cues = build_cues([Spoken(" ".join(words), start, end, timings)], SR, duration)
    assert_well_formed(cues, duration)
    assert len(cues) >= 2
    first_of_second = len(cue_words(cues[:1]))
    assert cues[1].start == start / SR + timings[first_of_second].start
    subs = parse_srt(to_srt(cues))
    assert td_ms(subs[1].start) == ms(start / SR + timings[first_of_second].start)
    proportional = build_cues([Spoken(" ".join(words), start, end)], SR, duration)
    assert [c.lines for c in proportional] == [c.lines for c in cues]
    assert proportional[1].start != cues[1].start


def test_word_timings_ignored_when_the_count_differs():
    text = "In 1851 the whaler Pequod sailed from Nantucket, bound for the far Pacific and the white whale."
    said = "In eighteen fifty one the whaler Pequod sailed from Nantucket bound for the far Pacific"
    timings = timings_for(said.split())
    with_words = build_cues([Spoken(text, 0, SR * 8, timings)], SR, 8.0)
    without = build_cues([Spoken(text, 0, SR * 8)], SR, 8.0)
    assert with_words == without
    assert with_words == build_cues([Spoken(text, 0, SR * 8, timings)], SR, 8.0, word_level=True)


def test_word_level_cues_follow_the_word_timings():
    first = "Call me Ishmael."
    timings = [WordTiming("call", 0.05, 0.3), WordTiming("me", 0.35, 0.5), WordTiming("ishmael", 0.45, 1.1)]
    second = "In 1851 they sailed."  # the engine said "eighteen fifty one": no match, so a normal cue
    said = ["in", "eighteen", "fifty", "one", "they", "sailed"]
    second_timings = [WordTiming(w, 0.1 * k, 0.1 * k + 0.05) for k, w in enumerate(said)]
    spoken = [Spoken(first, SR, SR * 3, timings), Spoken(second, SR * 4, SR * 6, second_timings)]
    cues = build_cues(spoken, SR, 7.0, word_level=True)
    assert_well_formed(cues, 7.0)
    assert [cue.lines for cue in cues] == [["Call"], ["me"], ["Ishmael."], ["In 1851 they sailed."]]
    assert [(c.start, c.end) for c in cues[:3]] == [(1.05, 1.3), (1.35, 1.45), (1.45, 2.1)]  # overlap clipped
    assert (cues[3].start, cues[3].end) == (4.0, 6.0)
    subs = parse_srt(to_srt(cues))
    assert [(td_ms(s.start), td_ms(s.end)) for s in subs] == [
        (1050, 1300),
        (1350, 1450),
        (1450, 2100),
        (4000, 6000),
    ]


def test_escaping_keeps_both_formats_intact():
    text = "  He wrote -->  <b>bold</b> & ---> fish\n\nthen\r\n  left.  "
    cues = build_cues([Spoken(text, 0, SR), Spoken("Next one.", SR * 2, SR * 3)], SR, 3.0)
    srt_text, vtt_text = to_srt(cues), to_vtt(cues)
    subs, captions = parse_srt(srt_text), parse_vtt(vtt_text)
    assert len(subs) == len(captions) == 2
    assert "-->" not in srt_text.replace(" --> ", " ")
    assert srt_words(subs) == [
        "He",
        "wrote",
        "->",
        "<b>bold</b>",
        "&",
        "->",
        "fish",
        "then",
        "left.",
        "Next",
        "one.",
    ]
    assert "--&gt; &lt;b&gt;bold&lt;/b&gt;" in vtt_text and "&amp; ---&gt;" in vtt_text
    assert vtt_words(captions) == [*text.split(), "Next", "one."]
    assert [(vtt_ms(c.start), vtt_ms(c.end)) for c in captions] == [(0, 1000), (2000, 3000)]


def test_empty_sentences_give_no_cue():
    spoken = [Spoken("", 0, 100), Spoken("  \n ", 100, 200), Spoken("Words.", 200, 300)]
    cues = build_cues(spoken, SR, 1.0)
    assert [cue.lines for cue in cues] == [["Words."]] and cues[0].index == 1
    assert to_srt([]) == "" and to_vtt([]) == "WEBVTT\n\n"


def test_overlong_word_gets_a_line_of_its_own():
    word = "Supercalifragilisticexpialidociouslyspeaking" * 2
    cues = build_cues([Spoken(f"He said {word} and left.", 0, SR * 3)], SR, 3.0)
    assert_well_formed(cues, 3.0)
    assert any(word in cue.lines for cue in cues)
    assert cue_words(cues) == ["He", "said", word, "and", "left."]


def test_duration_clamps_ends_and_bad_input_is_refused():
    cues = build_cues([Spoken("Almost done.", 0, SR * 2)], SR, 1.9)
    assert cues[0].end == 1.9
    with pytest.raises(ValueError, match="past the audio"):
        build_cues([Spoken("Too late.", SR * 3, SR * 4)], SR, 2.0)
    with pytest.raises(ValueError, match="overlap"):
        build_cues([Spoken("One.", 0, SR), Spoken("Two.", SR // 2, SR * 2)], SR, 3.0)
    with pytest.raises(ValueError):
        Spoken("Backwards.", 10, 10)
    with pytest.raises(ValueError):
        build_cues([], 0, 1.0)


def test_timestamps_past_an_hour_and_rounding_keeps_order():
    cues = [Cue(1, 3725.5, 3725.9994, ["a"]), Cue(2, 3725.9996, 3727.0, ["b"])]
    text = to_srt(cues)
    assert "01:02:05,500 --> 01:02:05,999" in text and "01:02:06,000 --> 01:02:07,000" in text
    assert "01:02:05.500 --> 01:02:05.999" in to_vtt(cues)
    subs = parse_srt(text)
    assert subs[0].end <= subs[1].start


def test_min_duration_borrows_only_the_following_silence():
    spoken = [
        Spoken("Ah.", 0, SR // 5),
        Spoken("Oh.", SR * 2 // 5, SR // 2),
        Spoken("Well then.", SR, SR * 2),
    ]
    cues = build_cues(spoken, SR, 2.0, min_duration=0.7)
    assert [(c.start, c.end) for c in cues] == [(0.0, 0.4), (0.4, 1.0), (1.0, 2.0)]
    assert build_cues(spoken, SR, 2.0)[0].end == 0.2


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789,.;:!?'\"&<>-", min_size=1, max_size=14)
LONG_WORD = st.text(alphabet="abcxyz", min_size=40, max_size=60)


@st.composite
def chapters(draw: st.DrawFn) -> tuple[list[Spoken], int, float]:
    sample_rate = draw(st.sampled_from([16000, 22050, 24000]))
    spoken, cursor = [], 0
    for _ in range(draw(st.integers(0, 6))):
        words = draw(st.lists(st.one_of(WORD, WORD, WORD, WORD, LONG_WORD), max_size=60))
        start = cursor + draw(st.integers(0, 50000))
        end = start + draw(st.integers(1, 400000))
        cursor = end
        seconds = (end - start) / sample_rate
        kind = draw(st.sampled_from(["none", "match", "mismatch"]))
        timings = None
        if kind != "none":
            count = len(words) if kind == "match" else len(words) + draw(st.integers(1, 3))
            fractions = draw(st.lists(st.floats(0, 1.1), min_size=count, max_size=count))
            if draw(st.booleans()):
                fractions.sort()
            timings = [WordTiming("w", f * seconds, f * seconds + draw(st.floats(0, 0.5))) for f in fractions]
        separator = draw(st.sampled_from([" ", "  ", "\n", " \n\n "]))
        spoken.append(Spoken(separator.join(words), start, end, timings))
    duration = cursor / sample_rate + draw(st.floats(0, 5))
    return spoken, sample_rate, duration


@settings(max_examples=300, deadline=None)
@given(chapter=chapters(), word_level=st.booleans(), max_line=st.integers(8, 60), max_lines=st.integers(1, 3))
def test_invariants_hold_for_random_chapters(chapter, word_level, max_line, max_lines):
    spoken, sample_rate, duration = chapter
    cues = build_cues(
        spoken, sample_rate, duration, max_line=max_line, max_lines=max_lines, word_level=word_level
    )
    assert_well_formed(cues, duration, max_line, max_lines)
    # Every word once, in order, and each cue inside the sentence its words come from.
    owners = [(word, k) for k, sentence in enumerate(spoken) for word in sentence.text.split()]
    assert cue_words(cues) == [word for word, _ in owners]
    position = 0
    for cue in cues:
        count = len(" ".join(cue.lines).split())
        sentence_ids = {k for _, k in owners[position : position + count]}
        assert len(sentence_ids) == 1
        sentence = spoken[sentence_ids.pop()]
        assert sentence.start / sample_rate <= cue.start and cue.end <= sentence.end / sample_rate
        position += count
    # The independent parsers read the same cues back, in order and without overlaps.
    subs, captions = parse_srt(to_srt(cues)), parse_vtt(to_vtt(cues))
    assert len(subs) == len(captions) == len(cues)
    assert [(td_ms(s.start), td_ms(s.end)) for s in subs] == [(ms(c.start), ms(c.end)) for c in cues]
    assert [(vtt_ms(c.start), vtt_ms(c.end)) for c in captions] == [(ms(c.start), ms(c.end)) for c in cues]
    for before, after in pairwise(subs):
        assert before.start <= before.end <= after.start
    assert all(td_ms(s.end) <= ms(duration) for s in subs)
    assert srt_words(subs) == [no_arrow(word) for word, _ in owners]
    assert vtt_words(captions) == [word for word, _ in owners]
