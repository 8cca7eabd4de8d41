"""The command line: parse options, call the library, turn errors into one line and an exit code.

Commands stay thin; the work lives in the library modules. Heavy imports (engines, torch) happen
inside the commands that need them, so ``voxcli --help`` and ``voxcli chapters`` start fast.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from voxcli import __version__
from voxcli.cli import console
from voxcli.cli.batch import batch_command
from voxcli.cli.cast import cast_command
from voxcli.cli.check import check_command
from voxcli.cli.common import (
    CastOption,
    Device,
    DeviceOption,
    IgnoreBookLexiconOption,
    LexiconOption,
    MathMode,
    MathOption,
    NoCastOption,
    NoTagsOption,
    OcrLangOption,
    OcrOption,
    SkipNotesOption,
    SpeedOption,
    VoiceOption,
    VoicesOption,
    deliver_audio,
    find_cast_file,
    handled,
    read_text_argument,
)
from voxcli.cli.convert import convert_command
from voxcli.cli.lexicon import lexicon_app
from voxcli.cli.serve import serve_command
from voxcli.cli.voices import voices_app
from voxcli.errors import UsageError

if TYPE_CHECKING:
    from voxcli.book import Book

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
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Turn EPUB, TXT and Markdown books into audiobooks with neural text-to-speech."""
    console.configure(quiet=quiet, debug=debug)


@app.command("chapters")
def chapters_command(
    book: Annotated[
        str,
        typer.Argument(
            help="A book (EPUB, TXT, Markdown, PDF, DOCX, HTML, FB2, MOBI ...); '-' reads stdin.",
            show_default=False,
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    full: Annotated[bool, typer.Option("--full", help="With --json: include each chapter's text.")] = False,
    include_nonlinear: Annotated[
        bool, typer.Option("--include-nonlinear", help="EPUB: also read spine items marked non-linear.")
    ] = False,
    split_level: Annotated[
        int | None,
        typer.Option("--split-level", min=1, max=6, help="Markdown: heading level that starts chapters."),
    ] = None,
    include_code: Annotated[
        bool, typer.Option("--include-code", help="Markdown: read code blocks too.")
    ] = False,
    speech: Annotated[
        bool,
        typer.Option(
            "--speech",
            help="With --json: each sentence as the voice's engine will get it (text or phonemes), "
            "after the normaliser and the pronunciations.",
        ),
    ] = False,
    voice: VoiceOption = None,
    voices_file: VoicesOption = None,
    lexicon: LexiconOption = None,
    ignore_book_lexicon: IgnoreBookLexiconOption = False,
    math: MathOption = MathMode.speak,
    skip_notes: SkipNotesOption = False,
    ocr: OcrOption = False,
    ocr_lang: OcrLangOption = "",
    cast: CastOption = None,
    no_cast: NoCastOption = False,
    no_tags: NoTagsOption = False,
) -> None:
    """List the chapters voxcli would read aloud, with words, characters and estimated minutes."""
    from voxcli.cli.report import book_json, chapters_table
    from voxcli.ingest import ReadOptions, read_book

    with handled():
        if full and not as_json:
            raise UsageError("--full only applies to --json output", "add --json")
        if speech and not as_json:
            raise UsageError("--speech only applies to --json output", "add --json")
        options = ReadOptions(
            include_nonlinear, split_level, include_code, math.value, skip_notes, ocr=ocr, ocr_lang=ocr_lang
        )
        result = read_book(book, options)
        for warning in result.warnings:
            console.warn(warning)
        if as_json:
            said = (
                _speech(
                    book, result, voice, voices_file, lexicon, ignore_book_lexicon, (cast, no_cast, no_tags)
                )
                if speech
                else None
            )
            console.emit_json(book_json(result, full, said))
        else:
            console.show(chapters_table(result))


def _speech(
    source: str,
    book: Book,
    voice: str | None,
    voices_file: str | None,
    lexicon: str | None,
    ignore: bool,
    cast: tuple[Path | None, bool, bool],
) -> dict[int, list[dict[str, Any]]]:
    """Every chapter's segments as their voices' engines get them (``chapters --json --speech``)."""
    from voxcli.cast.castfile import read_cast
    from voxcli.config import load_voices, resolve_voice
    from voxcli.convert.casting import casting
    from voxcli.convert.pipeline import ConvertRequest, plan, pronouncer
    from voxcli.convert.tagging import tag_voices
    from voxcli.lexicon.model import user_lexicons

    voices = load_voices(voices_file)
    cast_file = find_cast_file(source, cast[0], cast[1])
    chosen = read_cast(cast_file) if cast_file is not None else None
    profile = resolve_voice(voice if voice is not None or chosen is None else chosen.narrator, voices)
    cast_plan = casting(chosen, book, voices, profile, str(cast_file)) if chosen and cast_file else None
    request = ConvertRequest(
        book=book,
        source=source,
        profile=profile,
        outdir=Path(source).with_suffix(""),
        chapters=[c.index for c in book.chapters],
        lexicon=user_lexicons(source, lexicon),
        book_lexicon=not ignore,
        cast=cast_plan,
        tagged=None if cast[2] else tag_voices(book, source, voices, profile),
    )
    cls, plans = plan(request)
    for warning in pronouncer(request, cls).warnings():
        console.warn(warning)
    return {
        p.index: [
            {
                "kind": s.kind,
                "voice": s.voice or profile.name,
                "speaker": s.speaker,
                "text": s.text,
                "speech": s.speech,
                "engine": request.voice(s.voice).engine,
            }
            for s in p.segments
        ]
        for p in plans
    }


@app.command("say")
def say_command(
    text: Annotated[str, typer.Argument(help="What to say; '-' reads it from stdin.", show_default=False)],
    voice: VoiceOption = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            show_default=False,
            help="Write FILE.wav or FILE.mp3 ('-': WAV on stdout) instead of playing the audio.",
        ),
    ] = None,
    speed: SpeedOption = None,
    voices_file: VoicesOption = None,
    device: DeviceOption = Device.auto,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            metavar="URL",
            envvar="VOXCLI_SERVER",
            show_default=False,
            help="Speak through a running 'voxcli serve' (default: $VOXCLI_SERVER): no model to load.",
        ),
    ] = None,
    lexicon: LexiconOption = None,
    no_tags: NoTagsOption = False,
) -> None:
    """Speak a sentence or two: play it, or write it to a WAV or MP3 file."""
    from voxcli.audio.encode import encode, format_of
    from voxcli.config import load_voices, resolve_voice
    from voxcli.lexicon.model import user_lexicons
    from voxcli.speak import say

    with handled():
        if output == "-" and sys.stdout.isatty():
            raise UsageError("refusing to write audio to a terminal", "redirect stdout, or use -o FILE.wav")
        fmt = "wav" if output in (None, "-") else format_of(Path(output))
        words = read_text_argument(text)
        if server:
            from voxcli.cli.client import speak_remote

            if voices_file is not None:
                raise UsageError(
                    "--voices does not apply with --server: the server reads its own",
                    "leave out --voices, or unset VOXCLI_SERVER",
                )
            data, spoke = speak_remote(server, words, voice, speed, fmt)
            summary = f"voice {spoke}, through {server}"
        else:
            voices = load_voices(voices_file)
            profile = resolve_voice(voice, voices)
            if speed is not None:
                profile = replace(profile, speed=speed)
            speech = say(
                words,
                profile,
                device.value,
                user_lexicons("-", lexicon),
                resolve=None if no_tags else lambda name: resolve_voice(name, voices),
            )
            data = encode(speech.samples, speech.sample_rate, fmt)
            summary = f"{speech.duration:.1f} s, voice {profile.name} ({profile.engine})"
        deliver_audio(data, output, summary)


@app.command("engines")
def engines_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """List the speech engines, whether each is installed, and how to install it if not."""
    from voxcli.cli.tables import engines_json, engines_table
    from voxcli.engines import engine_report

    with handled():
        report = engine_report(cached=True)
        if as_json:
            console.emit_json(engines_json(report))
        else:
            console.show(engines_table(report))


@app.command("doctor")
def doctor_command(
    load: Annotated[
        bool,
        typer.Option(
            "--load/--no-load",
            help="Ask torch for GPUs, load xtts_v2 and speak a sentence with the default voice (the engines' "
            "packages are imported either way).",
        ),
    ] = True,
    voice: Annotated[
        str | None,
        typer.Option(
            "--voice",
            "-v",
            show_default=False,
            help="Also speak a sentence with this voice and report its speed.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON on stdout.")] = False,
    accept_coqui_license: Annotated[
        bool,
        typer.Option(
            "--accept-coqui-license", help="Record that you accept the Coqui Public Model License (XTTS v2)."
        ),
    ] = False,
    voices_file: VoicesOption = None,
    device: DeviceOption = Device.auto,
) -> None:
    """Check the installation: packages, GPUs, engines, model files and voices (exit 1: no default voice)."""
    from voxcli.cli.tables import check_json, checks_table
    from voxcli.doctor import diagnose

    with handled():
        if accept_coqui_license:
            from voxcli.engines.xtts_files import accept_license

            console.info(f"recorded your acceptance of the Coqui Public Model License in {accept_license()}")
        report = diagnose(
            load=load,
            voice=voice,
            voices_file=voices_file,
            device=device.value,
            progress=lambda step: None if as_json else console.info(f"checking {step}..."),
        )
        if as_json:
            console.emit_json(
                {
                    "default_voice_works": report.default_voice_works,
                    "checks": [check_json(check) for check in report.checks],
                }
            )
        else:
            console.show(checks_table("voxcli doctor", report.checks))
            console.show(
                "the default voice works"
                if report.default_voice_works
                else "the default voice does not work: see the fixes above"
            )
        if not report.default_voice_works:
            raise typer.Exit(1)


app.command("convert")(convert_command)
app.command("batch")(batch_command)
app.command("check")(check_command)
app.command("cast")(cast_command)
app.command("serve")(serve_command)
app.add_typer(voices_app, name="voices")
app.add_typer(lexicon_app, name="lexicon")


def main() -> None:
    """Console-script entry point."""
    app()
