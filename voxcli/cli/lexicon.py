"""``voxcli lexicon``: suggest the words of a book that need a pronunciation, and try one out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxcli.cli import console
from voxcli.cli.common import (
    Device,
    DeviceOption,
    LexiconOption,
    VoiceOption,
    VoicesOption,
    deliver_audio,
    handled,
)
from voxcli.errors import UsageError

lexicon_app = typer.Typer(
    help="Pronunciations (lexicon.toml): find the words that need one, and try one out.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@lexicon_app.command("suggest")
def suggest_command(
    book: Annotated[
        str,
        typer.Argument(
            help="A book: EPUB, TXT, Markdown, PDF, DOCX, ODT, HTML, FB2, RTF, MOBI, AZW3 ...",
            show_default=False,
        ),
    ],
    voice: VoiceOption = None,
    voices_file: VoicesOption = None,
    lexicon: LexiconOption = None,
    min_count: Annotated[int, typer.Option("--min-count", min=1, help="Only words seen this often.")] = 2,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000, help="At most this many words.")] = 50,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", show_default=False, help="Write the TOML to FILE."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of TOML.")] = False,
) -> None:
    """Names and rare words of BOOK that the voice's G2P may not know, with counts and an example
    each, as a lexicon.toml to edit (entries commented out until filled in)."""
    from voxcli.config import load_voices, resolve_voice
    from voxcli.fsutil import atomic_write_bytes
    from voxcli.ingest import read_book
    from voxcli.lexicon.model import user_lexicons
    from voxcli.lexicon.pronounce import book_lexicon
    from voxcli.lexicon.suggest import as_toml, suggest

    with handled():
        profile = resolve_voice(voice, load_voices(voices_file))
        result = read_book(book)
        known = book_lexicon(result).merged(user_lexicons(book, lexicon))
        if profile.lexicon is not None:
            known = known.merged(profile.lexicon)
        found = suggest(result, result.language or profile.lang, known, min_count, limit)
        if as_json:
            console.emit_json(
                {
                    "book": result.title,
                    "voice": profile.name,
                    "words": [
                        {
                            "word": s.word,
                            "count": s.count,
                            "why": s.why,
                            "example": s.example,
                            "guess_ipa": s.guess,
                        }
                        for s in found
                    ],
                }
            )
            return
        text = as_toml(found, result.title)
        if output is not None:
            atomic_write_bytes(output, text.encode("utf-8"))
            console.info(f"wrote {output} ({len(found)} words)")
        else:
            console.out(text)


@lexicon_app.command("try")
def try_command(
    word: Annotated[str, typer.Argument(help="The word or phrase.", show_default=False)],
    ipa: Annotated[
        str | None, typer.Option("--ipa", show_default=False, help="Its pronunciation in IPA.")
    ] = None,
    say_as: Annotated[
        str | None, typer.Option("--say", show_default=False, help='A respelling, e.g. "Her-MY-oh-nee".')
    ] = None,
    phonemes: Annotated[
        str | None,
        typer.Option("--phonemes", show_default=False, help="Phonemes in the engine's own alphabet."),
    ] = None,
    sentence: Annotated[
        str | None,
        typer.Option("--in", metavar="TEXT", show_default=False, help="Say it inside TEXT (default: alone)."),
    ] = None,
    voice: VoiceOption = None,
    voices_file: VoicesOption = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            show_default=False,
            help="Write FILE.wav or .mp3 instead of playing.",
        ),
    ] = None,
    device: DeviceOption = Device.auto,
) -> None:
    """Hear a candidate pronunciation with a voice, without touching any lexicon file."""
    from voxcli.audio.encode import encode, format_of
    from voxcli.config import load_voices, resolve_voice
    from voxcli.lexicon.model import parse_lexicon
    from voxcli.speak import say

    with handled():
        if ipa is None and say_as is None and phonemes is None:
            raise UsageError(
                "lexicon try needs a pronunciation", 'give --ipa "...", --say "..." or --phonemes "..."'
            )
        profile = resolve_voice(voice, load_voices(voices_file))
        entry: dict[str, object] = {}
        if ipa is not None:
            entry["ipa"] = ipa
        if say_as is not None:
            entry["say"] = say_as
        if phonemes is not None:
            entry["phonemes"] = {profile.engine: phonemes}
        candidate = parse_lexicon({word: entry}, "the command line")
        text = sentence or word
        if word.casefold() not in text.casefold():
            raise UsageError(f"--in: the text does not contain '{word}'", "put the word in the text")
        fmt = "wav" if output is None else format_of(Path(output))
        speech = say(text, profile, device.value, candidate)
        data = encode(speech.samples, speech.sample_rate, fmt)
        summary = f"{speech.duration:.1f} s, voice {profile.name} ({profile.engine})"
        deliver_audio(data, output, summary)
