"""``voxcli cast BOOK``: find who speaks, propose a voice for each, write ``BOOK.cast.toml`` to edit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxcli.cli import console
from voxcli.cli.common import VoiceOption, VoicesOption, handled


def cast_command(
    book: Annotated[
        str,
        typer.Argument(
            help="A book: EPUB, TXT, Markdown, PDF, DOCX, ODT, HTML, FB2, RTF, MOBI, AZW3 ...",
            show_default=False,
        ),
    ],
    voice: VoiceOption = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            show_default=False,
            help="The cast file (default: BOOK.cast.toml beside it).",
        ),
    ] = None,
    minimum: Annotated[
        int,
        typer.Option("--min-lines", min=1, help="Characters with fewer lines speak with the dialogue voice."),
    ] = 2,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the cast as JSON on stdout; write nothing.")
    ] = False,
    voices_file: VoicesOption = None,
) -> None:
    """Find the book's quoted speech and who says it; write (or update) a cast file of voices to edit.
    ``-v`` is the narrator's voice."""
    from voxcli.cast.castfile import as_record, cast_path, cast_toml, find_cast, propose, read_cast
    from voxcli.cast.voices import candidate_voices
    from voxcli.config import load_voices, resolve_voice
    from voxcli.fsutil import atomic_write_bytes
    from voxcli.ingest import read_book

    with handled():
        voices = load_voices(voices_file)
        narrator = resolve_voice(voice, voices)
        result = read_book(book)
        target = output or cast_path(book)
        previous = read_cast(target) if target.is_file() else None
        found = find_cast(result)
        cast = propose(found, narrator.name, candidate_voices(voices, narrator), previous, minimum)
        if as_json:
            console.emit_json(as_record(cast, found))
            return
        text = cast_toml(cast, result.title, found)
        atomic_write_bytes(target, text.encode("utf-8"))
        kept = "updated" if previous else "wrote"
        console.info(
            f"{kept} {target}: {len(cast.characters)} characters, {found.attributed} of {found.quotes} "
            f"quotes attributed; edit the voices, then: voxcli convert {book} --cast {target}"
        )
