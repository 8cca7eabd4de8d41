"""Inline tags in plain text, Markdown, ``say`` and the server: pauses, voices and speeds.

``[pause:1.5]`` (seconds of silence, 0 to 30), ``[voice:NAME]…[/voice]`` (a profile or
ENGINE:VOICE; ``narrator`` is the default voice), ``[speed:1.2]…[/speed]`` (0.5 to 2.0). Tags nest
and may span paragraphs. ``\\[`` is a literal bracket. Only ``[name:value]`` and ``[/name]`` are
tags, so "[Illustration]" and "[note: see p. 4]" stay text; an unknown tag name, a bad value or a
stray closing tag is one error naming where it is. Tags are never spoken and never shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from voxcli.errors import UsageError, VoxError

TAG = re.compile(r"\\\[|\[(?P<close>/)?(?P<name>[a-z]+)(?::(?P<value>[^\s\]]+))?\]")
NARRATOR = "narrator"
NAMES = ("pause", "voice", "speed")


@dataclass(frozen=True)
class Run:
    """A stretch of text with one voice and speed, and the silence asked for after it."""

    text: str
    voice: str = ""  # "" for the default voice
    speed: float | None = None  # None: the voice's own
    pause: float | None = None  # seconds of silence after it, from [pause:...]


@dataclass
class State:
    """Open tags, carried from one paragraph to the next."""

    voices: list[str] = field(default_factory=list)
    speeds: list[float] = field(default_factory=list)

    @property
    def voice(self) -> str:
        return self.voices[-1] if self.voices else ""

    @property
    def speed(self) -> float | None:
        return self.speeds[-1] if self.speeds else None


def has_tags(text: str) -> bool:
    """Whether ``text`` holds anything the tag syntax reads (a tag, or an escaped bracket)."""
    return any(_is_tag(m) for m in TAG.finditer(text))


def runs(
    text: str, where: str, state: State | None = None, check_voice: Callable[[str], object] | None = None
) -> list[Run]:
    """``text`` cut into runs at its tags; ``state`` carries open tags across calls (paragraphs).

    ``where`` names the text in errors ("book.txt, chapter 3, paragraph 2"), with the column added;
    ``check_voice`` raises a VoxError for a voice name that does not exist (it gets the position too).
    """
    state = state if state is not None else State()
    found: list[Run] = []
    pieces: list[str] = []

    def flush(pause: float | None = None) -> None:
        text_ = "".join(pieces)
        pieces.clear()
        if text_.strip() or pause is not None:
            found.append(Run(text_, state.voice if state.voice != NARRATOR else "", state.speed, pause))

    position = 0
    for match in TAG.finditer(text):
        if not _is_tag(match):
            continue
        pieces.append(text[position : match.start()])
        position = match.end()
        if match.group(0) == "\\[":
            pieces.append("[")
            continue
        name, value, closing = match.group("name"), match.group("value"), bool(match.group("close"))
        at = f"{where}, column {match.start() + 1}: {match.group(0)}"
        if name not in NAMES:
            raise UsageError(
                f"{at}: unknown tag '{name}'", "use [pause:S], [voice:NAME]…[/voice] or [speed:X]…[/speed]"
            )
        if closing:
            stack: list[str] | list[float] = state.voices if name == "voice" else state.speeds
            if name == "pause" or value is not None or not stack:
                raise UsageError(f"{at}: nothing to close", f"open it first with [{name}:...]")
            flush()
            stack.pop()
        elif name == "pause":
            flush(_number(value, at, 0.0, 30.0, "seconds"))
        elif name == "voice":
            if not value:
                raise UsageError(f"{at}: no voice named", "use [voice:NAME], e.g. [voice:joe]")
            if check_voice is not None and value != NARRATOR:
                try:
                    check_voice(value)
                except VoxError as exc:
                    raise type(exc)(f"{at}: {exc.message}", exc.fix) from None
            flush()
            state.voices.append(value)
        else:
            flush()
            state.speeds.append(_number(value, at, 0.5, 2.0, "a speed"))
    pieces.append(text[position:])
    flush()
    return _merged(found)


def plain(text: str) -> str:
    """``text`` with its tags removed (and escaped brackets unescaped): what is shown."""
    return "".join(run.text for run in runs(text, "text")) if has_tags(text) else text


def voices_in(texts: Iterable[str]) -> set[str]:
    """Every voice named by a [voice:...] tag (without checking the rest)."""
    named = {
        m.group("value")
        for text in texts
        for m in TAG.finditer(text)
        if m.group("name") == "voice" and m.group("value") and not m.group("close")
    }
    return named - {NARRATOR}


def _is_tag(match: re.Match[str]) -> bool:
    return match.group(0) == "\\[" or bool(match.group("close")) or match.group("value") is not None


def _number(value: str | None, at: str, low: float, high: float, what: str) -> float:
    try:
        number = float(value or "")
    except ValueError:
        number = float("nan")
    if not low <= number <= high:
        raise UsageError(f"{at}: expected {what} from {low:g} to {high:g}", "fix the number")
    return number


def _merged(found: list[Run]) -> list[Run]:
    """Neighbouring runs with the same voice and speed and no pause between them, joined."""
    merged: list[Run] = []
    for run in found:
        last = merged[-1] if merged else None
        if last is not None and last.pause is None and (last.voice, last.speed) == (run.voice, run.speed):
            merged[-1] = Run(last.text + run.text, run.voice, run.speed, run.pause)
        else:
            merged.append(run)
    return merged
