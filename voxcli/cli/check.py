"""``voxcli check``: listen to what was made and say which sentences do not say the book."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from voxcli.cli import console
from voxcli.cli.common import handled
from voxcli.errors import UsageError

if TYPE_CHECKING:
    from voxcli.verify.book import BookCheck

EXIT_FLAGGED = 1


def check_command(
    outdir: Annotated[
        Path | None,
        typer.Argument(help="A folder 'voxcli convert' wrote.", show_default=False),
    ] = None,
    audio: Annotated[
        Path | None, typer.Option("--audio", help="Check this recording instead (WAV, FLAC, OGG, MP3, M4B).")
    ] = None,
    text: Annotated[
        Path | None,
        typer.Option(
            "--text", help="With --audio: the text it reads (.txt, .md or .epub).", show_default=False
        ),
    ] = None,
    chapters: Annotated[
        str | None, typer.Option("--chapters", "-c", help="Only these chapters, e.g. 1-3,7.")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="With --audio: the language spoken.")] = "en-us",
    no_titles: Annotated[
        bool,
        typer.Option("--no-titles", help="With --audio: the recording does not read chapter titles."),
    ] = False,
    asr: Annotated[
        str,
        typer.Option(
            "--asr",
            help="The speech recogniser: pocketsphinx (US English, offline) or faster-whisper (any "
            "language; the model named by VOXCLI_WHISPER_MODEL).",
        ),
    ] = "pocketsphinx",
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            help="Write the report as one HTML page (default for a folder: FOLDER/check.html).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            max=64,
            show_default=False,
            help="Chapters heard at once (default: one per core).",
        ),
    ] = None,
) -> None:
    """Recognise the speech and check every sentence against its text.

    Exit status 0: every sentence says its text; 1: some do not (they are listed); 2 and up: an error.
    """
    from voxcli.convert.check import check_folder
    from voxcli.verify.book import check_audio_file

    with handled():
        if audio is not None or text is not None:
            if audio is None or text is None or outdir is not None:
                raise UsageError(
                    "--audio and --text go together, without a folder", "voxcli check --audio F --text T"
                )
            spoken = _read_text(text, chapters, titles=not no_titles)
            result = check_audio_file(audio, spoken, lang=lang, recognizer=asr)
        else:
            if outdir is None:
                raise UsageError(
                    "nothing to check", "give a folder 'voxcli convert' wrote, or --audio and --text"
                )
            numbers = _chapter_numbers(chapters)
            result = check_folder(
                outdir,
                recognizer=asr,
                chapters=numbers,
                progress=None if as_json else _progress(),
                jobs=jobs,
            )
        page = html if html is not None else (outdir / "check.html" if outdir is not None else None)
        if page is not None:
            _write_page(result, page)
        if as_json:
            console.emit_json(result.as_record())
        else:
            _show(result)
            if page is not None:
                console.info(f"report: {page}")
    if result.flagged:
        raise typer.Exit(EXIT_FLAGGED)


def _write_page(result: BookCheck, page: Path) -> None:
    from voxcli.fsutil import atomic_write_bytes, write_error
    from voxcli.verify.report import render

    try:
        atomic_write_bytes(page, render(result).encode("utf-8"))
    except OSError as exc:
        raise write_error(page, exc) from exc


def _read_text(path: Path, chapters: str | None, titles: bool) -> str:
    from voxcli.convert.plan import parse_chapters, spoken_text
    from voxcli.ingest import read_book

    book = read_book(str(path))
    numbers = parse_chapters(chapters, len(book.chapters))
    return "\n\n".join(spoken_text(book.chapters[n - 1], titles) for n in numbers)


def _chapter_numbers(spec: str | None) -> list[int] | None:
    if spec is None:
        return None
    from voxcli.convert.plan import parse_chapters

    return parse_chapters(spec, 100_000)


def _progress() -> Callable[[str, int, int], None]:
    """A line per chapter as it is checked (hidden by --quiet and --json)."""

    def report(title: str, done: int, total: int) -> None:
        if done == total:
            console.info(f"checked {title}: {total} sentences")

    return report


def _show(result: BookCheck) -> None:
    for chapter in result.chapters:
        if not chapter.flagged:
            continue
        table = Table(title=f"{chapter.title}: {len(chapter.flagged)} of {len(chapter.sentences)} flagged")
        for column in ("#", "at", "text", "heard", "why"):
            table.add_column(column, overflow="fold")
        for s in chapter.flagged:
            minutes, seconds = divmod(int(s.start), 60)
            table.add_row(
                str(s.index + 1),
                f"{minutes}:{seconds:02d}",
                s.text,
                " ".join(s.comparison.heard) or "(nothing)",
                "; ".join(s.reasons),
            )
        console.show(table)
    record = result.as_record()
    verdict = "all say their text" if not result.flagged else f"{len(result.flagged)} flagged"
    checked = (
        f"{result.sentences} sentences in {len(result.chapters)} chapter(s) checked with {result.recognizer}"
    )
    console.show(f"{checked}: {verdict} (word error rate {record['word_error_rate']:.1%})")
