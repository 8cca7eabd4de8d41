"""How a batch shows its progress: the library, the books in flight and the ETA (rich bars on a
terminal, a log line every so often otherwise). Called from several threads at once."""

from __future__ import annotations

import threading
import time
from typing import Any

from rich.text import Text

from voxcli.batch.books import BookEntry
from voxcli.batch.runner import FAILED, BatchReporter, BookOutcome
from voxcli.cli import console
from voxcli.cli.progress import PLAIN_EVERY, speech_bars
from voxcli.timefmt import clock


def _outcome_line(outcome: BookOutcome) -> str:
    if outcome.ok:
        audio = clock(outcome.audio_seconds)
        return f"{outcome.entry.label}: {outcome.status}, {outcome.chapters} chapter(s), {audio}"
    return f"{outcome.entry.label}: {outcome.status}" + (f": {outcome.error}" if outcome.error else "")


class _Counts:
    """The library's numbers, shared by both reporters."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.books = 0
        self.done = 0
        self.failed = 0
        self.slots = 0

    def line(self) -> str:
        failed = f", {self.failed} failed" if self.failed else ""
        return f"library: {self.done} of {self.books} book(s) done{failed}, {self.slots} speaker(s)"


class RichBatchReporter(BatchReporter):
    """A bar for the library (characters to speak, with speed and ETA) and one per book in flight."""

    def __init__(self) -> None:
        self._progress = speech_bars()
        self._counts = _Counts()
        self._library: Any = None
        self._total = 0  # characters to speak, of the books surveyed so far
        self._books: dict[BookEntry, Any] = {}

    def __enter__(self) -> RichBatchReporter:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def started(self, books: list[BookEntry], slots: int) -> None:
        self._counts.books, self._counts.slots = len(books), slots
        # The total grows as the survey reads the books; until then the ETA counts what is known.
        self._library = self._progress.add_task(self._counts.line(), total=None)

    def surveyed(self, entry: BookEntry, chars: int) -> None:
        with self._counts.lock:
            self._total += chars
            self._progress.update(self._library, total=self._total)

    def book_started(self, entry: BookEntry, chars: int) -> None:
        with self._counts.lock:
            self._books[entry] = self._progress.add_task(f"  {entry.label[:40]}", total=max(chars, 1))

    def advanced(self, entry: BookEntry, chars: int) -> None:
        self._progress.advance(self._library, chars)
        task = self._books.get(entry)
        if task is not None:
            self._progress.advance(task, chars)

    def book_done(self, outcome: BookOutcome) -> None:
        with self._counts.lock:
            self._counts.done += 1
            self._counts.failed += outcome.status == FAILED
            task = self._books.pop(outcome.entry, None)
            if task is not None:
                self._progress.remove_task(task)
            self._progress.update(self._library, description=self._counts.line())
        mark = ("✓ ", "green") if outcome.ok else ("✗ ", "red")
        self._progress.console.print(Text.assemble(mark, _outcome_line(outcome)))
        for warning in outcome.warnings:
            console.warn(f"{outcome.entry.label}: {warning}")


class PlainBatchReporter(BatchReporter):
    """A line per book and a library line every so often: for logs, CI and ``make``."""

    def __init__(self) -> None:
        self._counts = _Counts()
        self._total = 0
        self._spoken = 0
        self._flying: list[str] = []
        self._began = self._last = time.monotonic()

    def started(self, books: list[BookEntry], slots: int) -> None:
        self._counts.books, self._counts.slots = len(books), slots
        console.info(self._counts.line())

    def surveyed(self, entry: BookEntry, chars: int) -> None:
        with self._counts.lock:
            self._total += chars

    def book_started(self, entry: BookEntry, chars: int) -> None:
        with self._counts.lock:
            self._flying.append(entry.label)
        console.info(f"{entry.label}: {chars:,} characters to speak")

    def advanced(self, entry: BookEntry, chars: int) -> None:
        with self._counts.lock:
            self._spoken += chars
            now = time.monotonic()
            if now - self._last < PLAIN_EVERY:
                return
            self._last = now
            speed = self._spoken / (now - self._began)
            left = max(self._total - self._spoken, 0) / speed if speed else 0.0
            line = (
                f"{self._counts.line()}; {self._spoken / max(self._total, 1):.0%} spoken "
                f"({speed:,.0f} chars/s, {clock(left)} left); in flight: {', '.join(self._flying)}"
            )
        console.info(line)

    def book_done(self, outcome: BookOutcome) -> None:
        with self._counts.lock:
            self._counts.done += 1
            self._counts.failed += outcome.status == FAILED
            if outcome.entry.label in self._flying:
                self._flying.remove(outcome.entry.label)
        console.info(_outcome_line(outcome))
        for warning in outcome.warnings:
            console.warn(f"{outcome.entry.label}: {warning}")
