"""What every command shares: error handling, common options, reading text arguments."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from voxcli.cli import console
from voxcli.errors import UsageError, VoxError

EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in voxcli, not a user mistake
MAX_SAY_BYTES = 16 * 1024 * 1024


def lang_option(help_text: str) -> Any:
    """A ``--lang TAG`` option (a BCP 47 language tag) with its command's help."""
    return typer.Option("--lang", metavar="TAG", show_default=False, help=help_text)


VoiceOption = Annotated[
    str | None,
    typer.Option(
        "--voice",
        "-v",
        show_default=False,
        help="A voice profile name, or ENGINE:VOICE (e.g. espeak:en-us). Default: the default profile.",
    ),
]
SpeedOption = Annotated[
    float | None,
    typer.Option("--speed", min=0.5, max=2.0, show_default=False, help="0.5 to 2.0; overrides the profile."),
]
VoicesOption = Annotated[
    str | None,
    typer.Option(
        "--voices",
        metavar="FILE",
        show_default=False,
        help="The voices.toml to use (default: $VOXCLI_VOICES, ./voices.toml, the user's, the built-in).",
    ),
]


LexiconOption = Annotated[
    str | None,
    typer.Option(
        "--lexicon",
        metavar="FILE",
        show_default=False,
        help="A lexicon.toml of pronunciations for this book (default: BOOK.lexicon.toml beside the book); "
        "it goes on top of the user's lexicon.toml and below the voice profile's.",
    ),
]
IgnoreBookLexiconOption = Annotated[
    bool,
    typer.Option(
        "--ignore-book-lexicon",
        help="Do not use the book's own pronunciations (EPUB 3 PLS lexicons, SSML ph attributes).",
    ),
]


class Passages(str, Enum):
    """``--passages``: who reads a passage marked as another language."""

    follow = "follow"
    ignore = "ignore"


class MathMode(str, Enum):
    speak = "speak"
    skip = "skip"


MathOption = Annotated[
    MathMode,
    typer.Option(
        "--math",
        case_sensitive=False,
        help="MathML: speak it (its alttext, else the formula in words), or skip it (counted in warnings).",
    ),
]
SkipNotesOption = Annotated[
    bool,
    typer.Option(
        "--skip-notes",
        help='Leave out chapters of notes (sections the table of contents lists, "kind": "notes").',
    ),
]

OcrOption = Annotated[
    bool,
    typer.Option(
        "--ocr",
        help="PDF without a text layer (scanned pages): read it with Tesseract (see voxcli doctor).",
    ),
]
OcrLangOption = Annotated[
    str,
    typer.Option(
        "--ocr-lang",
        metavar="CODES",
        help='With --ocr: Tesseract\'s languages, e.g. "eng", "deu+fra" (default eng).',
    ),
]


CastOption = Annotated[
    Path | None,
    typer.Option(
        "--cast",
        metavar="FILE",
        show_default=False,
        help="A cast file (voxcli cast): characters' quotes in their own voices "
        "(default: BOOK.cast.toml beside the book, when there is one).",
    ),
]
NoCastOption = Annotated[bool, typer.Option("--no-cast", help="Ignore the cast file beside the book.")]
NoTagsOption = Annotated[
    bool,
    typer.Option("--no-tags", help="Read [pause:...], [voice:...] and [speed:...] in the text literally."),
]


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


DeviceOption = Annotated[Device, typer.Option("--device", help="Where engines run.", case_sensitive=False)]


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
        console.error(
            f"internal error: {type(exc).__name__}: {exc}",
            "run again with --debug for the traceback, and please report it",
        )
        raise typer.Exit(EXIT_INTERNAL) from None


def read_text_argument(text: str) -> str:
    """A text argument, or all of stdin when it is '-'."""
    if text != "-":
        return text
    from voxcli.ingest.textutil import decode_text

    data = sys.stdin.buffer.read(MAX_SAY_BYTES + 1)
    if len(data) > MAX_SAY_BYTES:
        raise UsageError(
            f"stdin: more than {MAX_SAY_BYTES // (1024 * 1024)} MiB of text",
            "use 'voxcli convert' for whole books",
        )
    return decode_text(data)[0]


def find_cast_file(book: str, given: Path | None, ignore: bool) -> Path | None:
    """The cast file to use: --cast FILE, else BOOK.cast.toml beside the book (unless --no-cast)."""
    from voxcli.cast.castfile import cast_path

    if given is not None:
        if ignore:
            raise UsageError("--cast and --no-cast contradict each other", "give one of them")
        return given
    if ignore or book == "-":
        return None
    beside = cast_path(book)
    return beside if beside.is_file() else None


def deliver_audio(data: bytes, output: str | None, summary: str) -> None:
    """Encoded audio to where it was asked: stdout ("-"), a file (written atomically), or the speakers."""
    from voxcli.fsutil import atomic_write_bytes

    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    elif output is not None:
        atomic_write_bytes(Path(output), data)
        console.info(f"wrote {output} ({summary})")
    else:
        from voxcli.cli.playback import play_wav

        console.info(f"played through {play_wav(data)} ({summary})")
