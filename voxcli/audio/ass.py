"""Subtitles as Advanced SubStation Alpha (ASS), written with pysubs2; optionally karaoke, word by word.

Cue text is the book's text, so nothing in it may read as ASS markup. ASS has no escape in its
specification; the renderer nearly every player uses, libass (mpv, VLC, FFmpeg's ``subtitles``
filter, Jellyfin, Plex), reads ``{`` as an override block whenever a ``}`` follows on the line, and
``\\N``, ``\\n``, ``\\h``, ``\\{``, ``\\}`` as escapes (``get_next_char`` in libass's ``ass_render.c``).
FFmpeg's ASS reader (``libavcodec/ass_split.c``) starts a block at ``{\\``. So:

* every ``\\`` of the text is followed by U+2060 WORD JOINER (zero width, not shown), which makes
  ``\\N`` and the rest plain text in every renderer;
* every ``{`` becomes libass's escape ``\\{``, followed by a word joiner so that FFmpeg's reader never
  sees ``{\\``; a ``}`` outside a block is plain text already.

VSFilter, which knows no ``\\{``, shows such a brace with a backslash before it; book text with
braces is rare, and a look-alike character instead (U+FF5B) is missing from common fonts.
"""

from __future__ import annotations

from collections.abc import Sequence

import pysubs2

from voxcli.audio.subtitles import Cue

WORD_JOINER = "\u2060"
LEFT_BRACE = "\\{" + WORD_JOINER  # what a "{" of the text becomes
STYLE = "Default"
_BASE_HEIGHT = 720  # the sizes below are for 720p and scale with the script's height


def to_ass(
    cues: Sequence[Cue], *, karaoke: bool = False, title: str = "", width: int = 1280, height: int = 720
) -> str:
    """ASS text of ``cues``: one "Default" style (sans, outlined, bottom centre) for a ``width`` x
    ``height`` video. With ``karaoke``, a cue whose word times are known gets a ``{\\k}`` tag before
    each word, so players highlight the words as they are spoken; other cues are plain."""
    if width < 1 or height < 1:
        raise ValueError(f"the video size must be positive, got {width}x{height}")
    subs = pysubs2.SSAFile()
    subs.info["Title"] = _one_line(title) or "voxcli"
    subs.info["PlayResX"] = str(width)
    subs.info["PlayResY"] = str(height)
    subs.info["WrapStyle"] = "0"
    subs.info["ScaledBorderAndShadow"] = "yes"
    subs.styles = {STYLE: _style(height)}
    for cue in cues:
        lines = [" ".join(line.split()) for line in cue.lines]
        lines = [line for line in lines if line]
        if not lines:
            continue
        start, end = _cs(cue.start), _cs(cue.end)
        if end <= start:  # shorter than a centisecond: keep it on screen for one
            end = start + 1
        words = [word for line in lines for word in line.split()]
        if karaoke and cue.words and [w for w, _, _ in cue.words] == words:
            text = _karaoke(lines, cue.words, start, end)
        else:
            text = r"\N".join(escape(line) for line in lines)
        subs.events.append(
            pysubs2.SSAEvent(start=start * 10, end=end * 10, style=STYLE, name=_name(cue.speaker), text=text)
        )
    return subs.to_string("ass")


def escape(text: str) -> str:
    """Book text as ASS dialogue text that libass shows as it is (see the module's notes)."""
    text = " ".join(text.split())  # a line break would end the Dialogue line
    return text.replace("\\", "\\" + WORD_JOINER).replace("{", LEFT_BRACE)  # backslashes first


def _karaoke(lines: list[str], timed: Sequence[tuple[str, float, float]], start: int, end: int) -> str:
    """Dialogue text with ``{\\kN}`` before each word; the N (centiseconds) add up to the cue's length.

    A word lasts until the next one starts (a pause after it is folded into it), the last one until
    the cue ends; silence before the first word is an empty ``{\\kN}``.
    """
    bounds = []
    previous = start
    for _, word_start, _ in timed:
        previous = min(max(_cs(word_start), previous), end)  # never backwards, never past the cue
        bounds.append(previous)
    bounds.append(end)
    parts = [f"{{\\k{bounds[0] - start}}}"] if bounds[0] > start else []
    k = 0
    for number, line in enumerate(lines):
        if number:
            parts.append(r"\N")
        for position, word in enumerate(line.split()):
            space = " " if position + 1 < len(line.split()) else ""
            parts.append(f"{{\\k{bounds[k + 1] - bounds[k]}}}{escape(word)}{space}")
            k += 1
    return "".join(parts)


def _style(height: int) -> pysubs2.SSAStyle:
    scale = height / _BASE_HEIGHT
    return pysubs2.SSAStyle(
        fontname="Arial",  # fontconfig maps it to the system's sans (Liberation Sans, DejaVu Sans...)
        fontsize=round(48 * scale),
        primarycolor=pysubs2.Color(255, 255, 255, 0),
        secondarycolor=pysubs2.Color(170, 170, 170, 0),  # karaoke: the words not yet spoken
        outlinecolor=pysubs2.Color(0, 0, 0, 0),
        backcolor=pysubs2.Color(0, 0, 0, 128),
        bold=False,
        borderstyle=1,
        outline=round(2.5 * scale, 1),
        shadow=round(1 * scale, 1),
        alignment=pysubs2.Alignment.BOTTOM_CENTER,
        marginl=round(60 * scale),
        marginr=round(60 * scale),
        marginv=round(40 * scale),
    )


def _cs(seconds: float) -> int:
    """Seconds as whole centiseconds, ASS's resolution."""
    return max(0, round(seconds * 100))


def _name(speaker: str) -> str:
    """The speaker for the Name field: a comma would end the field, a line break the event."""
    return " ".join(speaker.replace(",", " ").split())


def _one_line(text: str) -> str:
    return " ".join(text.split())
