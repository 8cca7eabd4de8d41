"""ASS subtitles: written with pysubs2, read back by FFmpeg's own ASS reader (converted to SRT and parsed
with the ``srt`` package), and the karaoke tags checked by a parser of our own."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import srt
from PIL import Image

from tests.conftest import corpus_file, require
from voxcli.audio.ass import LEFT_BRACE, WORD_JOINER, to_ass
from voxcli.audio.subtitles import Cue, Spoken, build_cues, to_srt
from voxcli.engines.base import WordTiming

SR = 24000
DIALOGUE = re.compile(r"^Dialogue: (\d+),([^,]*),([^,]*),([^,]*),([^,]*),(\d*),(\d*),(\d*),([^,]*),(.*)$")
BLOCK = re.compile(r"(?<!\\)\{[^}]*\}")  # an override block; "\{" is libass's escaped brace
HOSTILE = r"Say {\b1}bold{\b0} now, C:\Nope\new \h and {\k50}x} {\fnComic Sans}\{ end\ ok"


def corpus_sentences() -> list[str]:
    """Sentences of a real entry of The Devil's Dictionary (ABSOLUTE, adj.)."""
    text = corpus_file("txt", "devils-dictionary-972.txt").read_text(encoding="utf-8")
    paragraphs = [" ".join(p.split()) for p in re.split(r"\r?\n\s*\r?\n", text)]
    entry = next(p for p in paragraphs if p.startswith("ABSOLUTE, adj."))
    return [s for s in re.split(r"(?<=[.!?])\s+", entry) if s]


def spoken(sentences: list[str], *, words: bool, speakers: bool = False) -> tuple[list[Spoken], float]:
    """The sentences laid end to end with a pause between, ~0.3 s a word, and word timings if asked."""
    out, at = [], int(0.4 * SR)
    for number, sentence in enumerate(sentences):
        count = len(sentence.split())
        length = count * 0.3 + 0.2
        timings = None
        if words:
            timings = [
                WordTiming(w, 0.1 + 0.3 * i, 0.1 + 0.3 * i + 0.22) for i, w in enumerate(sentence.split())
            ]
        speaker = ("Ahab" if number % 2 else "Starbuck, first mate") if speakers else ""
        out.append(Spoken(sentence, at, at + round(length * SR), timings, speaker))
        at += round((length + 0.5) * SR)
    return out, at / SR + 1.0


def ffmpeg_srt(ass: str, tmp_path: Path) -> list[srt.Subtitle]:
    """FFmpeg's reading of the ASS, as SubRip, minus the font tags it adds for the style."""
    source, target = tmp_path / "x.ass", tmp_path / "x.srt"
    source.write_text(ass, encoding="utf-8")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), str(target)], check=True)
    text = target.read_text(encoding="utf-8").replace("\r\n", "\n")
    subs = list(srt.parse(text))
    for sub in subs:
        sub.content = re.sub(r"</?font[^>]*>", "", sub.content)
    return subs


def literal(text: str) -> str:
    """What a viewer reads: our stand-ins back as the characters they stand for."""
    return text.replace(LEFT_BRACE, "{").replace(WORD_JOINER, "")


def ms(delta: timedelta) -> int:
    return round(delta.total_seconds() * 1000)


def assert_same(ours: list[srt.Subtitle], theirs: list[srt.Subtitle]) -> None:
    assert len(ours) == len(theirs) > 0
    for a, b in zip(ours, theirs, strict=True):
        assert abs(ms(a.start) - ms(b.start)) <= 10, (a, b)
        assert abs(ms(a.end) - ms(b.end)) <= 10, (a, b)
        assert literal(b.content) == a.content


def dialogues(ass: str) -> list[re.Match[str]]:
    found = [DIALOGUE.match(line) for line in ass.splitlines() if line.startswith("Dialogue:")]
    assert all(found)
    return [m for m in found if m]


def centis(stamp: str) -> int:
    hours, minutes, rest = stamp.split(":")
    secs, cs = rest.split(".")
    return ((int(hours) * 60 + int(minutes)) * 60 + int(secs)) * 100 + int(cs)


def shown(text: str) -> str:
    """Dialogue text without override blocks, ``\\N`` as a line break."""
    return literal(BLOCK.sub("", text).replace(r"\N", "\n"))


@pytest.mark.parametrize(
    ("words", "word_level", "karaoke"),
    [
        (False, False, False),
        (True, False, False),
        (True, True, False),
        (True, False, True),
        (False, False, True),
    ],
)
def test_ffmpeg_reads_what_srt_says(
    ffmpeg: None, tmp_path: Path, words: bool, word_level: bool, karaoke: bool
) -> None:
    sentences, duration = spoken(corpus_sentences(), words=words)
    cues = build_cues(sentences, SR, duration, word_level=word_level)
    assert len(cues) > len(sentences)  # long sentences were cut
    assert all(bool(c.words) == words for c in cues)
    ass = to_ass(cues, karaoke=karaoke, title="The Devil's Dictionary")
    assert_same(list(srt.parse(to_srt(cues))), ffmpeg_srt(ass, tmp_path))
    assert "PlayResX: 1280" in ass and "PlayResY: 720" in ass
    assert ("\\k" in ass) == (karaoke and words)


def test_karaoke_durations_add_up() -> None:
    sentences, duration = spoken(corpus_sentences(), words=True)
    cues = build_cues(sentences, SR, duration)
    found = dialogues(to_ass(cues, karaoke=True))
    assert len(found) == len(cues)
    for cue, match in zip(cues, found, strict=True):
        start, end, text = centis(match[2]), centis(match[3]), match[10]
        assert abs(start - cue.start * 100) <= 0.5 and abs(end - cue.end * 100) <= 0.5
        ks = [int(k) for k in re.findall(r"(?<!\\)\{\\k(\d+)\}", text)]
        words = [w for line in cue.lines for w in line.split()]
        assert len(ks) in (len(words), len(words) + 1)  # + 1: the silence before the first word
        assert abs(sum(ks) - (end - start)) <= 1
        assert shown(text) == "\n".join(cue.lines)
        # each word's tag comes right before the word, its start the sum of the tags before it
        at, starts = start, []
        for k, word in re.findall(r"(?<!\\)\{\\k(\d+)\}((?:[^{]|(?<=\\)\{)*)", text):
            if word.replace(r"\N", "").strip():
                starts.append((at, literal(word.replace(r"\N", "")).strip()))
            at += int(k)
        assert [w for _, w in starts] == [display for display, _, _ in cue.words]
        for (at_word, _), (_, word_start, _) in zip(starts, cue.words, strict=True):
            assert abs(at_word - word_start * 100) <= 1
    # without word times the karaoke file is the plain one
    plain, _ = spoken(corpus_sentences(), words=False)
    cues = build_cues(plain, SR, duration)
    assert to_ass(cues, karaoke=True) == to_ass(cues)


def test_hostile_text_comes_out_literally(ffmpeg: None, tmp_path: Path) -> None:
    timings = [WordTiming(w, 0.25 * i, 0.25 * i + 0.2) for i, w in enumerate(HOSTILE.split())]
    sentences = [Spoken(HOSTILE, 0, 6 * SR, timings), Spoken(HOSTILE, 7 * SR, 13 * SR)]
    cues = build_cues(sentences, SR, 14.0)
    for karaoke in (False, True):
        ass = to_ass(cues, karaoke=karaoke, title="{\\b1}x\ny")
        theirs = ffmpeg_srt(ass, tmp_path)
        assert_same(list(srt.parse(to_srt(cues))), theirs)
        assert " ".join(literal(s.content) for s in theirs[: len(theirs) // 2]).split() == HOSTILE.split()
        assert "<b>" not in " ".join(s.content for s in theirs)
        found = dialogues(ass)
        assert len(found) == len(cues)
        # no override block but our own \k tags, no \N but our own line breaks
        blocks = BLOCK.findall("".join(m[10] for m in found))
        assert all(re.fullmatch(r"\{\\k\d+\}", b) for b in blocks) and (karaoke or not blocks)
        for cue, match in zip(cues, found, strict=True):
            assert shown(match[10]) == "\n".join(cue.lines)
        assert "Title: {\\b1}x y" in ass


def test_speaker_in_name_field() -> None:
    sentences, duration = spoken(corpus_sentences()[:3], words=False, speakers=True)
    cues = build_cues(sentences, SR, duration)
    names = {m[5] for m in dialogues(to_ass(cues))}
    assert names == {"Starbuck first mate", "Ahab"}


def test_style_and_size() -> None:
    ass = to_ass([Cue(1, 0.0, 1.0, ["Hello"])], width=1920, height=1080)
    style = next(line for line in ass.splitlines() if line.startswith("Style: Default,"))
    fields = style.removeprefix("Style: ").split(",")
    assert fields[1] == "Arial" and int(fields[2]) == 72  # 48 at 720p, scaled
    assert fields[18] == "2"  # bottom centre
    assert "PlayResX: 1920" in ass and "PlayResY: 1080" in ass
    with pytest.raises(ValueError):
        to_ass([], width=0)


def rendered_box(ass: str, tmp_path: Path) -> tuple[int, int, int, int]:
    """Where libass (FFmpeg's subtitles filter) draws the text of the ASS at 0.5 s on a black frame."""
    source, frame = tmp_path / "r.ass", tmp_path / "r.png"
    source.write_text(ass, encoding="utf-8")
    filters = subprocess.run(["ffmpeg", "-hide_banner", "-filters"], capture_output=True, text=True).stdout
    require("FFmpeg built with libass", " subtitles " in filters, "install an ffmpeg with libass")
    command = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=black:s=1280x720:d=1"]
    command += ["-vf", f"subtitles={source.name}", "-ss", "0.5", "-frames:v", "1", frame.name]
    subprocess.run(command, check=True, cwd=tmp_path)
    with Image.open(frame) as image:
        box = image.convert("L").getbbox()
    assert box is not None, "nothing was drawn"
    return box


def test_libass_shows_markup_as_text(ffmpeg: None, tmp_path: Path) -> None:
    def box(text: str, karaoke: bool = False) -> tuple[int, int, int, int]:
        words = tuple((w, 0.2 * i, 0.2 * i + 0.2) for i, w in enumerate(text.split()))
        return rendered_box(to_ass([Cue(1, 0.0, 2.0, [text], words=words)], karaoke=karaoke), tmp_path)

    one_line = box("c:Nope x")
    escaped = box(r"c:\Nope x")
    assert escaped[3] - escaped[1] <= (one_line[3] - one_line[1]) * 1.2  # "\N" did not break the line
    assert escaped[2] - escaped[0] > one_line[2] - one_line[0]  # and the backslash is drawn
    plain = box("x")
    for karaoke in (False, True):
        shown_box = box(r"{\b1}x{\fs200}", karaoke)
        assert shown_box[2] - shown_box[0] > 5 * (plain[2] - plain[0])  # the tags are drawn as text
        assert shown_box[3] - shown_box[1] < 2 * (plain[3] - plain[1])  # and not obeyed (\fs200)
    left, _, right, bottom = box("Hello")
    assert 560 < (left + right) / 2 < 720 and bottom > 600  # bottom centre
