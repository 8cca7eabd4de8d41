"""``voxcli convert``: parse the options, run the pipeline, show progress, stop cleanly on signals."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from voxcli.cli import console
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
    Passages,
    SkipNotesOption,
    SpeedOption,
    VoiceOption,
    VoicesOption,
    handled,
    lang_option,
)
from voxcli.cli.request import Layout, Position, ReadAlong, VideoMode
from voxcli.errors import UsageError

if TYPE_CHECKING:
    from voxcli.convert.pipeline import ConvertRequest


def convert_command(
    book: Annotated[
        str,
        typer.Argument(
            help="A book: EPUB, TXT, Markdown, PDF, DOCX, ODT, HTML, FB2, RTF, MOBI, AZW3 ...",
            show_default=False,
        ),
    ],
    voice: VoiceOption = None,
    outdir: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="OUTDIR",
            show_default=False,
            help="Output folder (default: the book's name, beside it).",
        ),
    ] = None,
    formats: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            show_default=False,
            help="Formats, comma-separated: wav, mp3 (one file per chapter), m4b (one audiobook with "
            "chapter markers), epub (read-along EPUB 3 with Media Overlays), mp4 (video with subtitles). "
            "Default: wav (m4b with --layout audiobookshelf).",
        ),
    ] = None,
    read_along: Annotated[
        ReadAlong | None,
        typer.Option(
            "--read-along",
            case_sensitive=False,
            show_default=False,
            help="EPUB: highlight each sentence (default) or each word as it is spoken.",
        ),
    ] = None,
    video: Annotated[
        VideoMode | None,
        typer.Option(
            "--video",
            case_sensitive=False,
            show_default=False,
            help="MP4: one video for the book (default) or one per chapter.",
        ),
    ] = None,
    burn_subtitles: Annotated[
        bool,
        typer.Option(
            "--burn-subtitles", help="MP4: render the subtitles into the picture (not a soft track)."
        ),
    ] = False,
    subtitle_font: Annotated[
        Path | None,
        typer.Option(
            "--subtitle-font",
            metavar="FILE",
            show_default=False,
            help="With --burn-subtitles: a TTF/OTF font (default: a bundled sans font).",
        ),
    ] = None,
    subtitle_size: Annotated[
        int | None,
        typer.Option(
            "--subtitle-size",
            metavar="PX",
            min=8,
            max=200,
            show_default=False,
            help="With --burn-subtitles: text height in pixels (default: from the frame height).",
        ),
    ] = None,
    subtitle_position: Annotated[
        Position | None,
        typer.Option(
            "--subtitle-position",
            case_sensitive=False,
            show_default=False,
            help="With --burn-subtitles: where the text goes (default: bottom).",
        ),
    ] = None,
    layout: Annotated[
        Layout,
        typer.Option(
            "--layout",
            case_sensitive=False,
            help="folder: OUTDIR holds the book; audiobookshelf: OUTDIR is a library, the book goes to "
            "OUTDIR/Author/Title with cover.jpg, desc.txt, reader.txt and metadata.json.",
        ),
    ] = Layout.folder,
    bitrate: Annotated[str, typer.Option("--bitrate", help="MP3 and M4B (AAC) bitrate, e.g. 64k.")] = "64k",
    loudness: Annotated[
        str,
        typer.Option(
            "--loudness",
            metavar="LUFS|off",
            help="Bring every chapter to this integrated loudness (EBU R 128 / BS.1770), or 'off'.",
        ),
    ] = "-18",
    true_peak: Annotated[
        float,
        typer.Option(
            "--true-peak",
            metavar="DBTP",
            min=-12.0,
            max=0.0,
            help="Peak ceiling while levelling, in dB true peak.",
        ),
    ] = -1.0,
    cover: Annotated[
        Path | None,
        typer.Option(
            "--cover",
            metavar="FILE",
            show_default=False,
            help="Cover image (JPEG or PNG) for the M4B, the video and Audiobookshelf (default: the book's).",
        ),
    ] = None,
    split_hours: Annotated[
        float | None,
        typer.Option(
            "--split-hours",
            metavar="H",
            min=0.01,
            show_default=False,
            help="Split the M4B into parts of at most H hours, at chapter boundaries.",
        ),
    ] = None,
    subtitles: Annotated[
        str,
        typer.Option(
            "--subtitles",
            help="Subtitle formats, comma-separated: srt, vtt, ass, both (srt and vtt), or none; "
            "FORMAT:words for a cue per word, e.g. both:words (ass:words: karaoke highlighting).",
        ),
    ] = "srt,vtt",
    chapters: Annotated[
        str | None,
        typer.Option(
            "--chapters", "-c", show_default=False, help="Chapters to convert, e.g. 1-3,7 (default: all)."
        ),
    ] = None,
    speed: SpeedOption = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            max=64,
            show_default=False,
            help="Worker processes (default: one per core for CPU-light engines, else 1).",
        ),
    ] = None,
    no_titles: Annotated[bool, typer.Option("--no-titles", help="Do not announce chapter titles.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan and estimates; speak nothing.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Rewrite chapter files and the M4B even when they are up to date.")
    ] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Listen to each chapter (speech recognition) and speak again what it does not say.",
        ),
    ] = False,
    verify_tries: Annotated[
        int,
        typer.Option("--verify-tries", min=1, max=10, help="With --verify: new takes of a flagged sentence."),
    ] = 2,
    asr: Annotated[
        str,
        typer.Option(
            "--asr",
            help="With --verify: the speech recogniser (pocketsphinx, faster-whisper; see voxcli check).",
        ),
    ] = "pocketsphinx",
    as_json: Annotated[bool, typer.Option("--json", help="Print only a JSON summary, on stdout.")] = False,
    lexicon: LexiconOption = None,
    ignore_book_lexicon: IgnoreBookLexiconOption = False,
    math: MathOption = MathMode.speak,
    skip_notes: SkipNotesOption = False,
    ocr: OcrOption = False,
    ocr_lang: OcrLangOption = "",
    cast: CastOption = None,
    no_cast: NoCastOption = False,
    no_tags: NoTagsOption = False,
    voice_map: Annotated[
        str | None,
        typer.Option(
            "--voice-map",
            metavar="MAP",
            show_default=False,
            help='Chapters read by other voices, e.g. "1-3=joe,4-=narrator" (the narrator still '
            "announces each title).",
        ),
    ] = None,
    lang: Annotated[
        str | None,
        lang_option(
            "The book's language (e.g. fr, pt-br) when its metadata is wrong or missing; without -v "
            "it picks the voice ([languages] in voices.toml). Default: the book's, else detected."
        ),
    ] = None,
    passages: Annotated[
        Passages,
        typer.Option(
            "--passages",
            help="Passages marked as another language (xml:lang, lang): follow = read by the voice mapped "
            "to their language in [languages]; ignore = by the chapter's voice.",
        ),
    ] = Passages.follow,
    voices_file: VoicesOption = None,
    device: DeviceOption = Device.auto,
) -> None:
    """Convert a book into one audio file per chapter and/or an M4B audiobook, with subtitles, a manifest
    and a playlist."""
    from voxcli.cli.request import ConvertOptions, Preparer

    options = ConvertOptions.of(locals())
    with handled():
        if book == "-" and outdir is None:
            raise UsageError("a book read from stdin needs an output folder", "add -o OUTDIR")
        request = Preparer(options, outdir).request(book, outdir)
        if not as_json:
            from voxcli.convert.pipeline import engine_class_of, pronouncer

            for warning in request.book.warnings:
                console.warn(warning)
            for warning in pronouncer(request, engine_class_of(request)).warnings():
                console.warn(warning)
        if dry_run:
            _dry_run(request, as_json)
        else:
            _run(request, as_json)


def _run(request: ConvertRequest, as_json: bool) -> None:
    from voxcli.cli.progress import PlainReporter, RichReporter
    from voxcli.convert.pipeline import Reporter, check_engine, convert
    from voxcli.convert.summary import audiobook_parts, product_outcomes, summary_record
    from voxcli.timefmt import clock

    check_engine(request)
    quiet = as_json or console.settings.quiet
    reporter: Reporter
    if quiet:
        reporter = Reporter()
    elif console.console().is_terminal:
        reporter = RichReporter()
    else:
        reporter = PlainReporter()
    with stop_on_signals() as stop, reporter:
        summary = convert(request, reporter, stop)
    if as_json:
        from voxcli.convert.pipeline import engine_class_of, pronouncer

        record = summary_record(summary, request.outdir)
        unusable = pronouncer(request, engine_class_of(request)).warnings()
        record["warnings"] = [*request.book.warnings, *unusable]  # what progress lines would have shown
        console.emit_json(record)
        return
    speed = (
        f", {summary.chars_per_second:,.0f} chars/s, real-time factor {summary.real_time_factor:.3f}"
        if summary.synthesized
        else "; nothing to synthesise"
    )
    console.show(
        f"{summary.chapters} chapter(s) written, {summary.skipped} up to date in {request.outdir}: "
        f"{clock(summary.audio_seconds)} of audio in {clock(summary.wall_seconds)}{speed}"
    )
    for part in audiobook_parts(summary, request):
        state = "written" if part.written else "up to date"
        console.show(f"{part.file}: {clock(part.duration)}, {part.chapters} chapter(s), {state}")
    for product in product_outcomes(summary, request):
        state = "written" if product.written else "up to date"
        console.show(f"{product.file}: {product.kind}, {clock(product.duration)}, {product.detail}, {state}")
        for warning in product.warnings:
            console.warn(f"{product.file}: {warning}")
    if request.verify is not None:
        console.show(
            f"verified {summary.verified} sentences: {summary.verify_flagged} flagged, "
            f"{summary.repaired} spoken again and fixed, {len(summary.still_flagged)} still flagged"
        )
        for text in summary.still_flagged:
            console.warn(f"still flagged: {text}")
        if summary.verify_report is not None:
            console.info(f"report: {summary.verify_report}")


@contextmanager
def stop_on_signals() -> Iterator[Any]:
    """First Ctrl-C or SIGTERM: finish the current sentence, then stop. A second Ctrl-C: stop now."""
    received: list[int] = []

    def ask_to_stop(number: int, frame: FrameType | None) -> None:
        if received and number == signal.SIGINT:
            raise KeyboardInterrupt
        received.append(number)
        console.warn("stopping after the current sentence (Ctrl-C again to stop at once)")

    previous = {number: signal.signal(number, ask_to_stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: received[0] if received else 0
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _dry_run(request: ConvertRequest, as_json: bool) -> None:
    from rich.table import Table
    from rich.text import Text

    from voxcli.convert.estimate import estimate
    from voxcli.timefmt import clock

    plan = estimate(request)
    if as_json:
        console.emit_json(plan.as_record())
        return
    table = Table(title=Text(f"{request.book.title}: plan for {request.outdir}"), title_justify="left")
    for column in ("#", "File", "Sentences", "Cached", "Chars", "Audio", "Work"):
        table.add_column(column, justify="left" if column == "File" else "right", overflow="fold")
    for row in plan.chapters:
        table.add_row(
            str(row.index),
            Text(row.file),
            str(row.sentences),
            str(row.cached_sentences),
            f"{row.characters:,}",
            clock(row.audio_seconds),
            clock(row.work_seconds),
        )
    console.show(table)
    extras = [
        name
        for name, wanted in (
            ("an M4B", request.audiobook is not None),
            ("a read-along EPUB", request.readalong is not None),
            ("video", request.video is not None),
        )
        if wanted
    ]
    book_file = f", then {' and '.join(extras)} of these chapters" if extras else ""
    console.show(
        f"about {clock(plan.audio_seconds)} of audio, about {clock(plan.work_seconds)} of work with "
        f"{plan.engine} ({plan.jobs} job(s)){book_file}; nothing was synthesised"
    )
