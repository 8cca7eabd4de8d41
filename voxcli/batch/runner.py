"""Many books through one set of long-lived speakers: the library's progress, its summary, its resume.

Each book is converted by :func:`voxcli.convert.pipeline.convert`, exactly as ``voxcli convert``
converts it, except that the speaking is done by speakers shared with every other book (worker
processes here, or Ray actors), which load the engine once. A few books are in flight at once, so
the speakers have work while one book's chapters are being assembled and encoded here. A book that
cannot be read or fails is reported and the others go on.

Before any speaking, a survey thread reads and plans each book (once more when its turn comes:
books are not kept in memory) to learn how many characters the library still needs spoken, which
is what the progress and its ETA count.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxcli.batch.books import BookEntry
from voxcli.batch.index import BatchIndex, recipe
from voxcli.convert.assemble import ChapterResult
from voxcli.convert.pipeline import ConvertRequest, Reporter, convert, work_left
from voxcli.convert.plan import ChapterPlan
from voxcli.convert.synth import Speakers
from voxcli.errors import BookError, Interrupted, VoxError

CONVERTED = "converted"
UP_TO_DATE = "up to date"
FAILED = "failed"
INTERRUPTED = "interrupted"
NOT_STARTED = "not started"
MAX_BOOKS_IN_FLIGHT = 8  # the books assembled here at once; more only adds memory


@dataclass(frozen=True)
class BookOutcome:
    """What the batch did with one book."""

    entry: BookEntry
    status: str  # CONVERTED, UP_TO_DATE, FAILED, INTERRUPTED or NOT_STARTED
    outdir: Path | None = None  # the book's folder (None when it failed before one was known)
    chapters: int = 0  # chapters the folder holds
    audio_seconds: float = 0.0  # of those chapters
    wall_seconds: float = 0.0  # this run's time on the book
    spoken_chars: int = 0  # characters spoken for it this run
    error: str | None = None  # the one line a failure gives: the problem (the fix)
    exit_code: int = 0  # what `voxcli convert` would have exited with
    warnings: tuple[str, ...] = ()  # the book's own (what it could not read, and so on)

    @property
    def ok(self) -> bool:
        return self.status in (CONVERTED, UP_TO_DATE)

    def as_record(self) -> dict[str, Any]:
        """The book as ``voxcli batch --json`` prints it."""
        return {
            "book": str(self.entry.path),
            "folder": str(self.outdir) if self.outdir is not None else None,
            "status": self.status,
            "chapters": self.chapters,
            "audio_seconds": round(self.audio_seconds, 3),
            "wall_seconds": round(self.wall_seconds, 3),
            "characters_spoken": self.spoken_chars,
            "error": self.error,
            "exit_code": self.exit_code,
            "warnings": list(self.warnings),
        }


@dataclass
class BatchSummary:
    library: Path
    backend: str  # "local" or "ray ADDRESS"
    slots: int  # speakers
    books: list[BookOutcome] = field(default_factory=list)  # in the order given
    wall_seconds: float = 0.0
    driver_cpu_seconds: float = 0.0  # this process's CPU time (reading, assembling, encoding): its load
    stopped_by: int = 0  # the signal that stopped the run, 0 when none did

    def count(self, status: str) -> int:
        return sum(1 for book in self.books if book.status == status)

    @property
    def exit_code(self) -> int:
        """0: every book converted or up to date; 1: some failed; 128 + signal: stopped."""
        if self.stopped_by:
            return 128 + self.stopped_by
        return 0 if all(book.ok for book in self.books) else 1

    @property
    def spoken_chars(self) -> int:
        return sum(book.spoken_chars for book in self.books)

    def as_record(self) -> dict[str, Any]:
        """What ``voxcli batch --json`` prints."""
        return {
            "library": str(self.library),
            "backend": self.backend,
            "speakers": self.slots,
            "books": [book.as_record() for book in self.books],
            "converted": self.count(CONVERTED),
            "up_to_date": self.count(UP_TO_DATE),
            "failed": self.count(FAILED),
            "interrupted": self.count(INTERRUPTED) + self.count(NOT_STARTED),
            "characters_spoken": self.spoken_chars,
            "audio_seconds": round(sum(book.audio_seconds for book in self.books), 3),
            "wall_seconds": round(self.wall_seconds, 3),
            "driver_cpu_seconds": round(self.driver_cpu_seconds, 3),
            "exit_code": self.exit_code,
        }


class BatchReporter:
    """Progress callbacks, from several threads at once; the default does nothing."""

    def __enter__(self) -> BatchReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def started(self, books: list[BookEntry], slots: int) -> None: ...
    def surveyed(self, entry: BookEntry, chars: int) -> None: ...  # characters it needs spoken
    def book_started(self, entry: BookEntry, chars: int) -> None: ...
    def advanced(self, entry: BookEntry, chars: int) -> None: ...
    def chapter_done(self, entry: BookEntry, result: ChapterResult) -> None: ...
    def book_done(self, outcome: BookOutcome) -> None: ...


@dataclass(frozen=True)
class BatchRequest:
    books: list[BookEntry]
    library: Path
    prepare: Callable[[BookEntry], ConvertRequest]  # reads the book (a VoxError when it cannot)
    options: str  # a digest of the conversion options: with the book's bytes, its recipe
    debug: bool = False  # let unexpected errors through with their traceback (--debug)


def run_batch(
    batch: BatchRequest,
    speakers: Speakers[Any],
    reporter: BatchReporter | None = None,
    should_stop: Callable[[], int] = lambda: 0,
) -> BatchSummary:
    """Convert every book of ``batch`` (finished ones are only checked); never raises for one book."""
    reporter = reporter or BatchReporter()
    began, cpu = time.monotonic(), time.process_time()
    index = BatchIndex(batch.library)
    outcomes: dict[int, BookOutcome] = {}
    recipes: dict[int, str] = {}
    reporter.started(batch.books, speakers.slots)
    todo: list[int] = []
    for number, entry in enumerate(batch.books):
        started = time.monotonic()
        try:
            recipes[number] = recipe(entry.path, batch.options)
        except OSError as exc:
            problem = BookError(f"{entry.path}: cannot read: {exc.strerror or exc}", "check the path")
            outcomes[number] = _failed(entry, problem, started)
            reporter.book_done(outcomes[number])
            continue
        finished = index.finished(entry.path, recipes[number])
        if finished is None:
            todo.append(number)
            continue
        outcomes[number] = BookOutcome(
            entry,
            UP_TO_DATE,
            outdir=finished.outdir,
            chapters=finished.chapters,
            audio_seconds=finished.audio_seconds,
            wall_seconds=time.monotonic() - started,
        )
        reporter.book_done(outcomes[number])

    survey = _Survey(batch, todo, reporter, should_stop)
    folders = _Folders()

    def one(number: int) -> BookOutcome:
        entry = batch.books[number]
        surveyed = survey.result(number)
        if isinstance(surveyed, BookOutcome):
            return surveyed
        if should_stop():
            return BookOutcome(entry, NOT_STARTED)
        return _convert_book(
            batch, entry, surveyed, speakers, reporter, should_stop, folders, index, recipes[number]
        )

    in_flight = min(len(todo), max(2, min(speakers.slots + 1, MAX_BOOKS_IN_FLIGHT)))
    survey.start()
    try:
        if todo:
            with ThreadPoolExecutor(in_flight, thread_name_prefix="voxcli-book") as pool:
                pending: dict[Future[BookOutcome], int] = {pool.submit(one, n): n for n in todo}
                while pending:
                    # A timeout, so that the main thread keeps handling signals (Ctrl-C) meanwhile.
                    done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    for future in done:
                        number = pending.pop(future)
                        outcomes[number] = future.result()
                        reporter.book_done(outcomes[number])
    finally:
        survey.stop()
    return BatchSummary(
        library=batch.library,
        backend=speakers.backend,
        slots=speakers.slots,
        books=[outcomes[n] for n in range(len(batch.books))],
        wall_seconds=time.monotonic() - began,
        driver_cpu_seconds=time.process_time() - cpu,
        stopped_by=should_stop(),
    )


def _convert_book(
    batch: BatchRequest,
    entry: BookEntry,
    chars: int,
    speakers: Speakers[Any],
    reporter: BatchReporter,
    should_stop: Callable[[], int],
    folders: _Folders,
    index: BatchIndex,
    made_from: str,
) -> BookOutcome:
    began = time.monotonic()
    outdir: Path | None = None
    try:
        request = batch.prepare(entry)
        outdir = request.outdir
        folders.claim(outdir, entry)
        reporter.book_started(entry, chars)
        summary = convert(request, _BookProgress(reporter, entry), should_stop, speakers)
        index.record(entry.path, outdir, made_from)
    except Interrupted as exc:
        return BookOutcome(entry, INTERRUPTED, outdir, error=exc.message, exit_code=exc.exit_code)
    except VoxError as exc:
        return _failed(entry, exc, began, outdir)
    except Exception as exc:
        if batch.debug:
            raise
        return _failed(entry, _internal(exc), began, outdir)
    chapters = summary.manifest.get("chapters", [])
    spoke = summary.synthesized > 0 or summary.chapters > 0
    return BookOutcome(
        entry,
        CONVERTED if spoke or summary.audiobook_written or summary.products_written else UP_TO_DATE,
        outdir=outdir,
        chapters=len(chapters),
        audio_seconds=sum(float(c.get("duration", 0.0)) for c in chapters),
        wall_seconds=time.monotonic() - began,
        spoken_chars=summary.synth_chars,
        warnings=tuple(request.book.warnings),
    )


def _internal(exc: Exception) -> VoxError:
    """A bug met in one book, as the one line that book's failure gives."""
    return VoxError(
        f"internal error: {type(exc).__name__}: {exc}",
        "run again with --debug for the traceback, and please report it",
    )


def _failed(entry: BookEntry, problem: VoxError, began: float, outdir: Path | None = None) -> BookOutcome:
    return BookOutcome(
        entry,
        FAILED,
        outdir,
        wall_seconds=time.monotonic() - began,
        error=str(problem),
        exit_code=problem.exit_code,
    )


class _BookProgress(Reporter):
    """One book's progress, passed on to the library's reporter."""

    def __init__(self, reporter: BatchReporter, entry: BookEntry) -> None:
        self._reporter, self._entry = reporter, entry

    def advanced(self, chars: int) -> None:
        self._reporter.advanced(self._entry, chars)

    def chapter_done(self, result: ChapterResult, plan: ChapterPlan) -> None:
        self._reporter.chapter_done(self._entry, result)


class _Folders:
    """Which book has which folder: two books never share one (the same name, author and title)."""

    def __init__(self) -> None:
        self._owners: dict[Path, BookEntry] = {}
        self._lock = threading.Lock()

    def claim(self, outdir: Path, entry: BookEntry) -> None:
        with self._lock:
            owner = self._owners.setdefault(outdir.resolve(), entry)
        if owner is not entry:
            raise VoxError(
                f"{entry.path} would share the folder {outdir} with {owner.path}",
                "rename one of them, or convert them in separate batches",
            )


class _Survey:
    """Reads and plans the books to convert, in order, ahead of their conversion: the characters each
    needs spoken (for the library's progress), or the failure that spares converting it."""

    def __init__(
        self,
        batch: BatchRequest,
        todo: list[int],
        reporter: BatchReporter,
        should_stop: Callable[[], int],
    ) -> None:
        self._batch, self._todo, self._reporter, self._should_stop = batch, todo, reporter, should_stop
        self._results: dict[int, BookOutcome | int | BaseException] = {}
        self._ready = threading.Condition()
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, name="voxcli-survey", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._ready:
            self._cancelled = True
        self._thread.join()

    def result(self, number: int) -> BookOutcome | int:
        """The book's characters to speak, or its failure (waits for the survey to reach it)."""
        with self._ready:
            self._ready.wait_for(lambda: number in self._results or self._cancelled)
            found = self._results.get(number, 0)
        if isinstance(found, BaseException):
            raise found
        return found

    def _run(self) -> None:
        for number in self._todo:
            entry = self._batch.books[number]
            began = time.monotonic()
            found: BookOutcome | int | BaseException
            if self._cancelled or self._should_stop():
                found = BookOutcome(entry, NOT_STARTED)
            else:
                try:
                    found = work_left(self._batch.prepare(entry))
                    self._reporter.surveyed(entry, found)
                except VoxError as exc:
                    found = _failed(entry, exc, began)
                except Exception as exc:
                    # --debug: raised again in the book's own thread, with its traceback.
                    found = exc if self._batch.debug else _failed(entry, _internal(exc), began)
            with self._ready:
                self._results[number] = found
                self._ready.notify_all()
