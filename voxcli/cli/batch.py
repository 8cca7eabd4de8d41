"""``voxcli batch``: every book of a library, with ``convert``'s options, on this machine or on Ray.

The command takes ``convert``'s options by the same names (its signature is built from
``convert_command``'s), less those that belong to one book (``--output``, ``--cover``, ``--cast``,
``--voice-map``, ``--dry-run``); a cast file beside a book is still found.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from voxcli.cli import console
from voxcli.cli.common import handled
from voxcli.cli.convert import convert_command, stop_on_signals

if TYPE_CHECKING:
    from voxcli.batch.runner import BatchSummary
    from voxcli.cli.request import Preparer
    from voxcli.convert.synth import Speakers

PER_BOOK = ("book", "outdir", "cover", "cast", "voice_map", "dry_run", "jobs")  # not batch options


def _batch(
    books: Annotated[
        list[str],
        typer.Argument(
            metavar="BOOK|DIR|LIST.txt...",
            help="Books, folders of books (searched recursively) and lists of books (a .txt file of "
            "book paths, one a line, # comments).",
            show_default=False,
        ),
    ],
    library: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="LIBRARY",
            help="The library folder: each book goes to LIBRARY/NAME (a folder's books keep their "
            "subfolders), or LIBRARY/Author/Title with --layout audiobookshelf.",
            show_default=False,
        ),
    ],
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            max=1024,
            show_default=False,
            help="Speakers, each loading the engine once: worker processes here (default: one per core "
            "for CPU-light engines, else 1), or Ray actors with --cluster (default: one per CPU, or per "
            "GPU for GPU voices, of the cluster).",
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            metavar="ADDRESS",
            show_default=False,
            help="Speak on a Ray cluster: ray://HOST:PORT (Ray Client), HOST:PORT (the head's GCS "
            "port), auto (the cluster 'ray start' made here, or RAY_ADDRESS), or local (a private one "
            "for this run). Needs voxcli[ray].",
        ),
    ] = None,
    shared_output: Annotated[
        bool,
        typer.Option(
            "--shared-output",
            help="With --cluster: the workers see LIBRARY at the same path (a shared file system) and "
            "write the audio cache there themselves, instead of sending the audio to this machine.",
        ),
    ] = False,
) -> None:
    """The batch-only parameters; the command's signature adds convert's (see batch_command)."""


def batch_command(**given: Any) -> None:
    """Convert a library: every book into its own folder, one engine load per speaker, finished books
    skipped, failed ones reported. Exit 0 when every book is converted or up to date, 1 when some failed."""
    from voxcli.cli.request import ConvertOptions, Preparer

    options = ConvertOptions.of(given)
    library: Path = given["library"]
    as_json: bool = given["as_json"]
    with handled():
        from voxcli.batch.books import find_books
        from voxcli.errors import UsageError

        if given["shared_output"] and not given["cluster"]:
            raise UsageError("--shared-output is for --cluster", "add --cluster ADDRESS, or leave it out")
        preparer = Preparer(options, library)
        entries = find_books(given["books"], library)
        summary = _run(preparer, entries, library, given, as_json)
    if as_json:
        console.emit_json(summary.as_record())
    else:
        _show(summary)
    if summary.exit_code:
        raise typer.Exit(summary.exit_code)


def _run(preparer: Preparer, entries: list[Any], library: Path, given: dict[str, Any], as_json: bool) -> Any:
    from voxcli.batch.runner import BatchReporter, BatchRequest, run_batch
    from voxcli.cli.batchprogress import PlainBatchReporter, RichBatchReporter
    from voxcli.convert.pipeline import check_tools
    from voxcli.engines import engine_class

    profile = preparer.profile
    check_tools(
        profile,
        voices=[],
        verify=preparer.verify,
        aac=preparer.audiobook is not None or preparer.readalong is not None,
        video=preparer.video,
    )
    cls = engine_class(profile.engine, profile.where("engine"))
    recipe = "\n".join(
        (preparer.options.digest(), repr(profile), repr(sorted(cls.identity(profile).items())))
    )

    def prepare(entry: Any) -> Any:
        outdir = library if preparer.shelf else library / entry.folder
        return preparer.request(str(entry.path), outdir)

    batch = BatchRequest(
        books=entries, library=library, prepare=prepare, options=recipe, debug=console.settings.debug
    )
    quiet = as_json or console.settings.quiet
    reporter = (
        BatchReporter()
        if quiet
        else RichBatchReporter()
        if console.console().is_terminal
        else PlainBatchReporter()
    )
    # Ray prints its cluster's messages (a speaker that died and is retried) on this process's stdout:
    # they go to stderr, so that stdout holds only the JSON summary.
    with contextlib.redirect_stdout(sys.stderr):
        speakers = _speakers(given, cls, preparer)
        try:
            with stop_on_signals() as stop, reporter:
                return run_batch(batch, speakers, reporter, stop)
        finally:
            speakers.close()


def _speakers(given: dict[str, Any], cls: Any, preparer: Preparer) -> Speakers[Any]:
    from voxcli.convert.pipeline import worker_count

    if given["cluster"]:
        from voxcli.batch.raypool import RayPool, cluster_address

        return RayPool(
            cluster_address(given["cluster"]),
            engine=cls,
            device=preparer.options.device.value,
            jobs=given["jobs"],
            shared_output=given["shared_output"],
        )
    from voxcli.convert.synth import WorkerPool

    return WorkerPool(worker_count(given["jobs"], cls))


def _show(summary: BatchSummary) -> None:
    from rich.table import Table
    from rich.text import Text

    from voxcli.batch.runner import CONVERTED, FAILED, INTERRUPTED, NOT_STARTED, UP_TO_DATE
    from voxcli.timefmt import clock

    table = Table(title=Text(f"{summary.library}"), title_justify="left")
    for column in ("Book", "Status", "Chapters", "Audio", "Time", "Error"):
        table.add_column(column, justify="right" if column in ("Chapters", "Audio", "Time") else "left")
    styles = {
        CONVERTED: "green",
        UP_TO_DATE: "dim",
        FAILED: "red",
        INTERRUPTED: "yellow",
        NOT_STARTED: "yellow",
    }
    for book in summary.books:
        table.add_row(
            Text(book.entry.label),
            Text(book.status, style=styles.get(book.status, "yellow")),
            str(book.chapters) if book.ok else "",
            clock(book.audio_seconds) if book.ok else "",
            clock(book.wall_seconds),
            Text(book.error or ""),
        )
    console.show(table)
    speed = (
        f"; {summary.spoken_chars:,} characters spoken, {summary.spoken_chars / summary.wall_seconds:,.0f}/s"
        if summary.spoken_chars and summary.wall_seconds
        else "; nothing to speak"
    )
    stopped = summary.count(INTERRUPTED) + summary.count(NOT_STARTED)
    console.show(
        f"{len(summary.books)} book(s): {summary.count(CONVERTED)} converted, "
        f"{summary.count(UP_TO_DATE)} up to date, {summary.count(FAILED)} failed"
        + (f", {stopped} stopped" if stopped else "")
        + f" in {clock(summary.wall_seconds)} by {summary.slots} speaker(s) ({summary.backend}){speed}"
    )


def _signature() -> tuple[inspect.Signature, dict[str, Any]]:
    """batch's parameters, then convert's (less PER_BOOK), all keyword-only, with their types."""
    own = inspect.signature(_batch)
    convert = inspect.signature(convert_command)
    hints = typing.get_type_hints(_batch, include_extras=True)
    hints.update(
        {
            name: hint
            for name, hint in typing.get_type_hints(convert_command, include_extras=True).items()
            if name not in PER_BOOK and name != "return"
        }
    )
    parameters = [
        parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints[parameter.name])
        for parameter in (
            *own.parameters.values(),
            *(p for p in convert.parameters.values() if p.name not in PER_BOOK),
        )
    ]
    return inspect.Signature(parameters, return_annotation=None), hints


batch_command.__signature__, batch_command.__annotations__ = _signature()  # type: ignore[attr-defined]
