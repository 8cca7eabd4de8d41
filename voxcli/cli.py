"""The command line: parse options, call the library, turn errors into one line and an exit code.

Commands stay thin; the work lives in the library modules. Heavy imports (engines, torch) happen
inside the commands that need them, so ``voxcli --help`` and ``voxcli chapters`` start fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from voxcli import __version__, console
from voxcli.errors import UsageError, VoxError

EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in voxcli, not a user mistake

app = typer.Typer(
    name="voxcli",
    help="Turn EPUB, TXT and Markdown books into audiobooks with neural text-to-speech.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"voxcli {__version__}\n")
        raise typer.Exit()


@app.callback()
def _global(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only print errors and results.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Turn EPUB, TXT and Markdown books into audiobooks with neural text-to-speech."""
    console.configure(quiet=quiet, debug=debug)


@contextmanager
def handled() -> Iterator[None]:
    """Turn library errors into one line on stderr and an exit code (tracebacks with --debug)."""
    try:
        yield
    except VoxError as exc:
        if console.settings.debug:
            raise
        console.error(exc.message, exc.fix)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        console.error("interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        # The reader of our stdout went away (`voxcli ... --json | head`): not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:
        if console.settings.debug:
            raise
        console.error(f"internal error: {type(exc).__name__}: {exc}",
                      "run again with --debug for the traceback, and please report it")
        raise typer.Exit(EXIT_INTERNAL) from None


@app.command("chapters")
def chapters_command(
    book: Annotated[str, typer.Argument(help="An .epub, .txt or .md book; '-' reads text from stdin.",
                                        show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    full: Annotated[bool, typer.Option("--full", help="With --json: include each chapter's text.")] = False,
    include_nonlinear: Annotated[bool, typer.Option(
        "--include-nonlinear", help="EPUB: also read spine items marked non-linear.")] = False,
    split_level: Annotated[int | None, typer.Option(
        "--split-level", min=1, max=6, help="Markdown: heading level that starts chapters.")] = None,
    include_code: Annotated[bool, typer.Option(
        "--include-code", help="Markdown: read code blocks too.")] = False,
) -> None:
    """List the chapters voxcli would read aloud, with words, characters and estimated minutes."""
    from voxcli.ingest import ReadOptions, read_book
    from voxcli.report import book_json, chapters_table

    with handled():
        if full and not as_json:
            raise UsageError("--full only applies to --json output", "add --json")
        result = read_book(book, ReadOptions(include_nonlinear, split_level, include_code))
        for warning in result.warnings:
            console.warn(warning)
        if as_json:
            console.emit_json(book_json(result, full))
        else:
            console.show(chapters_table(result))


def main() -> None:
    """Console-script entry point."""
    app()
