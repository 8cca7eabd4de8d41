"""How a conversion shows its progress: rich bars on a terminal, plain log lines otherwise."""

from __future__ import annotations

import time
from typing import Any

from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from voxcli.cli import console
from voxcli.convert.assemble import ChapterResult
from voxcli.convert.audiobook import Progress as AudiobookProgress
from voxcli.convert.pipeline import Reporter
from voxcli.convert.plan import ChapterPlan
from voxcli.timefmt import clock

PLAIN_EVERY = 15.0  # seconds between progress lines when stderr is not a terminal


class Speed(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} chars/s" if speed else "", style="cyan")


def _done_line(result: ChapterResult, plan: ChapterPlan) -> str:
    noun = "sentence" if result.sentences == 1 else "sentences"
    return f"{plan.stem}: {clock(result.duration)} of audio, {result.sentences} {noun}"


def speech_bars() -> Progress:
    """Bars of characters to speak, with their speed and the time left."""
    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        TaskProgressColumn(),
        Speed(),
        TimeRemainingColumn(),
        console=console.console(),
        transient=True,
    )


class RichReporter(Reporter):
    """Two bars, the book and the current chapter (in characters still to speak), with speed and ETA."""

    def __init__(self) -> None:
        self._progress = speech_bars()
        self._book: Any = None
        self._chapter: Any = None

    def __enter__(self) -> RichReporter:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def planned(self, plans: list[ChapterPlan], todo: list[ChapterPlan], work_chars: int) -> None:
        skipped = len(plans) - len(todo)
        if skipped:
            self._progress.console.print(Text(f"{skipped} chapter(s) already up to date", style="dim"))
        self._book = self._progress.add_task("book", total=max(work_chars, 1))

    def chapter_started(self, plan: ChapterPlan, work_chars: int) -> None:
        if self._chapter is not None:
            self._progress.remove_task(self._chapter)
        self._chapter = self._progress.add_task(plan.stem[:40], total=max(work_chars, 1))

    def advanced(self, chars: int) -> None:
        self._progress.advance(self._book, chars)
        self._progress.advance(self._chapter, chars)

    def chapter_done(self, result: ChapterResult, plan: ChapterPlan) -> None:
        self._progress.console.print(Text.assemble(("✓ ", "green"), _done_line(result, plan)))

    def audiobook(self) -> AudiobookProgress:
        return _RichAudiobook(self._progress)


class _RichAudiobook(AudiobookProgress):
    """A bar per M4B file, in seconds of audio encoded."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self._progress = progress
        self._task: Any = None

    def started(self, name: str, seconds: float) -> None:
        self._task = self._progress.add_task(name[:40], total=max(seconds, 0.001))

    def advanced(self, seconds: float) -> None:
        self._progress.advance(self._task, seconds)

    def done(self, name: str, written: bool) -> None:
        super().done(name, written)
        if self._task is not None:
            self._progress.remove_task(self._task)
            self._task = None
        state = "written" if written else "up to date"
        self._progress.console.print(Text.assemble(("✓ ", "green"), f"{name}: {state}"))


class PlainReporter(Reporter):
    """A line per chapter and a progress line every so often: for logs, CI and `make`."""

    def __init__(self) -> None:
        self._total = 1
        self._done = 0
        self._began = time.monotonic()
        self._last = self._began

    def planned(self, plans: list[ChapterPlan], todo: list[ChapterPlan], work_chars: int) -> None:
        self._total = max(work_chars, 1)
        console.info(f"{len(todo)} of {len(plans)} chapter(s) to write, {work_chars:,} characters to speak")

    def chapter_started(self, plan: ChapterPlan, work_chars: int) -> None:
        console.info(f"{plan.stem}: {work_chars:,} characters to speak")

    def advanced(self, chars: int) -> None:
        self._done += chars
        now = time.monotonic()
        if now - self._last >= PLAIN_EVERY:
            self._last = now
            speed = self._done / (now - self._began)
            left = (self._total - self._done) / speed if speed else 0.0
            console.info(f"{self._done / self._total:.0%} ({speed:,.0f} chars/s, {clock(left)} left)")

    def chapter_done(self, result: ChapterResult, plan: ChapterPlan) -> None:
        console.info(_done_line(result, plan))

    def audiobook(self) -> AudiobookProgress:
        return _PlainAudiobook()


class _PlainAudiobook(AudiobookProgress):
    def __init__(self) -> None:
        super().__init__()
        self._total = 0.0
        self._done = 0.0
        self._last = time.monotonic()

    def started(self, name: str, seconds: float) -> None:
        self._total, self._done = seconds, 0.0
        console.info(f"{name}: encoding {clock(seconds)} of audio")

    def advanced(self, seconds: float) -> None:
        self._done += seconds
        now = time.monotonic()
        if now - self._last >= PLAIN_EVERY:
            self._last = now
            console.info(f"{self._done / max(self._total, 0.001):.0%} encoded")

    def done(self, name: str, written: bool) -> None:
        super().done(name, written)
        console.info(f"{name}: {'written' if written else 'up to date'}")
