"""``voxcli convert``: parse the options, run the pipeline, show progress, stop cleanly on signals."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from enum import Enum
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
    SkipNotesOption,
    SpeedOption,
    VoiceOption,
    VoicesOption,
    find_cast_file,
    handled,
)
from voxcli.errors import UsageError

if TYPE_CHECKING:
    from voxcli.convert.pipeline import ConvertRequest

AUDIO_FORMATS = ("wav", "mp3", "m4b", "epub", "mp4")
BOOK_FORMATS = ("m4b", "epub", "mp4")  # made from the finished chapters, for the whole book
SUBTITLE_FORMATS = ("srt", "vtt", "ass")
MP3_KBPS = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)


class ReadAlong(str, Enum):
    sentences = "sentences"
    words = "words"


class VideoMode(str, Enum):
    book = "book"
    chapters = "chapters"


class Position(str, Enum):
    bottom = "bottom"
    middle = "middle"
    top = "top"


class Layout(str, Enum):
    folder = "folder"
    audiobookshelf = "audiobookshelf"


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
    voices_file: VoicesOption = None,
    device: DeviceOption = Device.auto,
) -> None:
    """Convert a book into one audio file per chapter and/or an M4B audiobook, with subtitles, a manifest
    and a playlist."""
    from voxcli.cast.castfile import read_cast
    from voxcli.config import load_voices, resolve_voice
    from voxcli.convert.assemble import OutputSettings
    from voxcli.convert.casting import casting
    from voxcli.convert.pipeline import ConvertRequest
    from voxcli.convert.plan import parse_chapters
    from voxcli.convert.retake import VerifySettings
    from voxcli.convert.tagging import tag_voices
    from voxcli.ingest import ReadOptions, read_book
    from voxcli.lexicon.model import user_lexicons

    with handled():
        if book == "-" and outdir is None:
            raise UsageError("a book read from stdin needs an output folder", "add -o OUTDIR")
        shelf = layout is Layout.audiobookshelf
        chosen = _audio_formats(formats or ("m4b" if shelf else "wav"))
        if shelf:
            _check_shelf(chosen, outdir)
        kbps = _bitrate(bitrate, aac_only="mp3" not in chosen and bool(set(BOOK_FORMATS) & set(chosen)))
        settings = OutputSettings(
            formats=tuple(f for f in chosen if f not in BOOK_FORMATS),
            kbps=kbps,
            loudness=_loudness(loudness, true_peak),
            **_subtitles(subtitles),
        )
        cover_image = _cover(cover, chosen, shelf)
        audiobook = _audiobook(chosen, kbps, cover_image, split_hours)
        readalong = _readalong(chosen, read_along, kbps)
        video_request = _video(
            chosen,
            video,
            kbps,
            cover_image,
            burn_subtitles,
            subtitle_font,
            subtitle_size,
            subtitle_position,
        )
        voices = load_voices(voices_file)
        cast_file = find_cast_file(book, cast, no_cast)
        chosen_cast = read_cast(cast_file) if cast_file is not None else None
        narrator_voice = voice if voice is not None or chosen_cast is None else chosen_cast.narrator
        profile = resolve_voice(narrator_voice, voices)
        if speed is not None:
            profile = replace(profile, speed=speed)
        result = read_book(
            book, ReadOptions(math=math.value, skip_notes=skip_notes, ocr=ocr, ocr_lang=ocr_lang)
        )
        cast_plan = (
            casting(chosen_cast, result, voices, profile, str(cast_file))
            if chosen_cast is not None and cast_file is not None
            else None
        )
        if not as_json:
            for warning in result.warnings:
                console.warn(warning)
        pronunciations = user_lexicons(book, lexicon)
        if shelf:
            from voxcli.convert.shelf import shelf_folder

            assert outdir is not None  # _check_shelf
            outdir = shelf_folder(outdir, result)
        request = ConvertRequest(
            book=result,
            source=book,
            profile=profile,
            outdir=outdir if outdir is not None else Path(book).with_suffix(""),
            chapters=parse_chapters(chapters, len(result.chapters)),
            settings=settings,
            jobs=jobs or 0,  # 0: worker_count picks the default once the engine is known
            titles=not no_titles,
            force=force,
            device=device.value,
            audiobook=audiobook,
            verify=VerifySettings(asr, verify_tries) if verify else None,
            lexicon=pronunciations,
            book_lexicon=not ignore_book_lexicon,
            cast=cast_plan,
            voice_map=_voice_map(voice_map, len(result.chapters), voices, profile),
            tagged=None if no_tags else tag_voices(result, book, voices, profile),
            readalong=readalong,
            video=video_request,
            shelf=shelf,
            cover=cover_image,
        )
        if not as_json:
            from voxcli.convert.pipeline import engine_class_of, pronouncer

            for warning in pronouncer(request, engine_class_of(request)).warnings():
                console.warn(warning)
        if dry_run:
            _dry_run(request, as_json)
        else:
            _run(request, as_json)


def _voice_map(value: str | None, count: int, voices: Any, narrator: Any) -> dict[int, Any]:
    """--voice-map "1-3=joe,4-=narrator": chapter number -> the profile that reads it."""
    from voxcli.config import resolve_voice
    from voxcli.convert.plan import parse_chapters

    if not value:
        return {}
    mapped: dict[int, Any] = {}
    for part in (p.strip() for p in value.split(",") if p.strip()):
        chapters, sep, name = part.partition("=")
        if not sep or not chapters.strip() or not name.strip():
            raise UsageError(
                f"--voice-map: cannot read '{part}'", 'use CHAPTERS=VOICE pairs, e.g. "1-3=joe,4-=narrator"'
            )
        profile = narrator if name.strip() == "narrator" else resolve_voice(name.strip(), voices)
        for number in parse_chapters(chapters, count):
            if number in mapped:
                raise UsageError(
                    f"--voice-map: chapter {number} is given two voices", "give each chapter one voice"
                )
            mapped[number] = profile
    return mapped


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
    with _stop_on_signals() as stop, reporter:
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
def _stop_on_signals() -> Iterator[Any]:
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


def _audio_formats(value: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(part.strip().lower() for part in value.split(",") if part.strip()))
    unknown = [fmt for fmt in chosen if fmt not in AUDIO_FORMATS]
    if unknown or not chosen:
        raise UsageError(
            f"--format: unknown format '{','.join(unknown) or value}'",
            f"use {', '.join(AUDIO_FORMATS)} (comma-separated)",
        )
    return chosen


def _bitrate(value: str, aac_only: bool) -> int:
    """The MP3 bitrate, also used for the M4B's AAC (which allows a few more: 16k, 24k)."""
    from voxcli.convert.audiobook import AAC_KBPS

    text = value.strip().lower().removesuffix("kbps").removesuffix("k")
    allowed = AAC_KBPS if aac_only else MP3_KBPS
    if not text.isdigit() or int(text) not in allowed:
        kind = "an AAC" if aac_only else "an MP3"
        raise UsageError(
            f"--bitrate: '{value}' is not {kind} bitrate", "use one of 32k, 48k, 64k, 96k, 128k ..."
        )
    return int(text)


def _loudness(value: str, ceiling: float) -> Any:
    from voxcli.audio.loudness import LoudnessSettings

    text = value.strip().lower().removesuffix("lufs").strip()
    if text in ("off", "none", "no"):
        return None
    try:
        target = float(text)
    except ValueError:
        raise UsageError(
            f"--loudness: cannot read '{value}'", "give a loudness in LUFS, e.g. -18, or off"
        ) from None
    if not -40.0 <= target <= -5.0:
        raise UsageError(
            f"--loudness: {target:g} LUFS is out of range", "use -40 to -5 (audiobooks: -18 to -23)"
        )
    if ceiling < target:
        raise UsageError(
            f"--true-peak {ceiling:g} is below the loudness target {target:g}",
            "raise --true-peak or lower --loudness",
        )
    return LoudnessSettings(target=target, ceiling=ceiling)


def _cover(cover: Path | None, chosen: tuple[str, ...], shelf: bool) -> Any:
    from voxcli.audio.cover import read_cover

    if cover is None:
        return None
    if not shelf and not {"m4b", "mp4"} & set(chosen):
        raise UsageError(
            "--cover is for M4B files, videos and Audiobookshelf",
            "add m4b or mp4 to --format, e.g. --format m4b",
        )
    return read_cover(cover)


def _audiobook(chosen: tuple[str, ...], kbps: int, cover: Any, split_hours: float | None) -> Any:
    from voxcli.convert.audiobook import AudiobookSettings

    if "m4b" not in chosen:
        if split_hours is not None:
            raise UsageError("--split-hours is for M4B files", "add m4b to --format, e.g. --format m4b")
        return None
    return AudiobookSettings(kbps=kbps, split_hours=split_hours, cover=cover)


def _check_shelf(chosen: tuple[str, ...], outdir: Path | None) -> None:
    """Audiobookshelf takes every audio file in a book's folder as a track: one copy of the audio."""
    if outdir is None:
        raise UsageError(
            "--layout audiobookshelf needs the library folder",
            "add -o LIBRARY (the folder Audiobookshelf scans)",
        )
    audio = [f for f in chosen if f in ("wav", "mp3", "m4b", "mp4")]
    if audio not in (["m4b"], ["mp3"]):
        raise UsageError(
            f"--layout audiobookshelf holds one copy of the audio, not {', '.join(audio) or 'none'}",
            "use --format m4b or --format mp3 (epub may be added: Audiobookshelf shows it as the ebook)",
        )


def _readalong(chosen: tuple[str, ...], level: ReadAlong | None, kbps: int) -> Any:
    from voxcli.convert.readalong import ReadAlongSettings

    if "epub" not in chosen:
        if level is not None:
            raise UsageError("--read-along is for the EPUB", "add epub to --format, e.g. --format wav,epub")
        return None
    return ReadAlongSettings(words=level is ReadAlong.words, kbps=kbps)


def _video(
    chosen: tuple[str, ...],
    mode: VideoMode | None,
    kbps: int,
    cover: Any,
    burn: bool,
    font: Path | None,
    size: int | None,
    position: Position | None,
) -> Any:
    from voxcli.convert.video import VideoRequest
    from voxcli.video import SubtitleStyle, VideoSettings

    styled = [
        n
        for n, v in (("--subtitle-font", font), ("--subtitle-size", size), ("--subtitle-position", position))
        if v is not None
    ]
    if "mp4" not in chosen:
        given = [
            n for n, v in (("--video", mode), ("--burn-subtitles", burn or None)) if v is not None
        ] + styled
        if given:
            raise UsageError(f"{given[0]} is for videos", "add mp4 to --format, e.g. --format wav,mp4")
        return None
    if styled and not burn:
        raise UsageError(f"{styled[0]} styles burned-in subtitles", "add --burn-subtitles")
    if font is not None and not font.is_file():
        raise UsageError(f"--subtitle-font: {font} is not a file", "give a TTF or OTF font file")
    style = (
        SubtitleStyle(font=font, size=size or 0, position=(position or Position.bottom).value)
        if burn
        else None
    )
    return VideoRequest(
        mode=(mode or VideoMode.book).value, settings=VideoSettings(kbps=kbps, burn=style), cover=cover
    )


def _subtitles(value: str) -> dict[str, Any]:
    """--subtitles as OutputSettings fields: "srt,vtt:words" -> subtitles (srt, vtt), word_cues (vtt);
    "vtt:speakers" marks a cast character's cues with WebVTT voice spans."""
    if value.strip().lower() == "none":
        return {"subtitles": (), "word_cues": (), "speaker_cues": False}
    formats: list[str] = []
    words: list[str] = []
    speakers = False
    for part in (p.strip().lower() for p in value.split(",") if p.strip()):
        fmt, _, mode = part.partition(":")
        modes = set(mode.split("+")) - {""}
        if fmt not in (*SUBTITLE_FORMATS, "both") or not modes <= {"words", "speakers"}:
            raise UsageError(
                f"--subtitles: unknown '{part}'",
                "use srt, vtt, ass, both, FORMAT:words (e.g. srt:words, ass:words), vtt:speakers, "
                "vtt:words+speakers or none",
            )
        if "speakers" in modes and fmt in ("srt", "ass"):
            raise UsageError(
                f"--subtitles: {fmt} has no voice spans", "use vtt:speakers (WebVTT <v Name> spans)"
            )
        chosen = ("srt", "vtt") if fmt == "both" else (fmt,)
        formats.extend(chosen)
        if "words" in modes:
            words.extend(chosen)
        speakers = speakers or "speakers" in modes
    if not formats:
        raise UsageError("--subtitles: nothing given", "use srt, vtt, ass, both, or none")
    return {"subtitles": tuple(dict.fromkeys(formats)), "word_cues": tuple(words), "speaker_cues": speakers}
