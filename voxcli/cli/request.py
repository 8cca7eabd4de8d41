"""From ``convert``'s options and a book to a :class:`~voxcli.convert.pipeline.ConvertRequest`.

The options are checked once (:class:`Preparer`), then each book is read and given its request:
``voxcli convert`` does it for one book, ``voxcli batch`` for every book of a library.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voxcli.cli.common import Device, MathMode, Passages, find_cast_file
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


@dataclass(frozen=True)
class ConvertOptions:
    """``convert``'s options as given (the parameters of the command, by the same names)."""

    voice: str | None = None
    formats: str | None = None
    read_along: ReadAlong | None = None
    video: VideoMode | None = None
    burn_subtitles: bool = False
    subtitle_font: Path | None = None
    subtitle_size: int | None = None
    subtitle_position: Position | None = None
    layout: Layout = Layout.folder
    bitrate: str = "64k"
    loudness: str = "-18"
    true_peak: float = -1.0
    cover: Path | None = None
    split_hours: float | None = None
    subtitles: str = "srt,vtt"
    chapters: str | None = None
    speed: float | None = None
    jobs: int | None = None
    no_titles: bool = False
    force: bool = False
    verify: bool = False
    verify_tries: int = 2
    asr: str = "pocketsphinx"
    lexicon: str | None = None
    ignore_book_lexicon: bool = False
    math: MathMode = MathMode.speak
    skip_notes: bool = False
    ocr: bool = False
    ocr_lang: str = ""
    cast: Path | None = None
    no_cast: bool = False
    no_tags: bool = False
    voice_map: str | None = None
    lang: str | None = None
    passages: Passages = Passages.follow
    voices_file: str | None = None
    device: Device = Device.auto

    @classmethod
    def of(cls, given: dict[str, Any]) -> ConvertOptions:
        """The options among a command's parameters (the others, such as ``book``, are left out)."""
        names = {f.name for f in fields(cls)}
        return cls(**{name: value for name, value in given.items() if name in names})

    def digest(self) -> str:
        """Everything the options ask for, as text: with the voices file's bytes, part of a book's
        recipe in a batch (see voxcli.batch.index)."""
        import hashlib

        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.pop("jobs")  # how many speakers: the sound does not depend on it
        for name in ("subtitle_font", "cover", "voices_file", "lexicon", "cast"):  # files: their bytes
            path = None if values[name] is None else Path(values[name]).expanduser()
            values[name] = _file_digest(path) if path is not None and path.is_file() else str(path)
        text = repr(sorted(values.items()))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _file_digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


class Preparer:
    """The options, checked once; :meth:`request` reads a book and gives its request.

    Nothing here prints: the book's warnings travel in its ``Book``, the pronunciations' in
    :func:`~voxcli.convert.pipeline.pronouncer`.
    """

    def __init__(self, options: ConvertOptions, outdir: Path | None) -> None:
        from voxcli.config import load_voices
        from voxcli.convert.assemble import OutputSettings

        self.options = options
        self.shelf = options.layout is Layout.audiobookshelf
        chosen = _audio_formats(options.formats or ("m4b" if self.shelf else "wav"))
        if self.shelf:
            _check_shelf(chosen, outdir)
        self.kbps = _bitrate(
            options.bitrate, aac_only="mp3" not in chosen and bool(set(BOOK_FORMATS) & set(chosen))
        )
        self.settings = OutputSettings(
            formats=tuple(f for f in chosen if f not in BOOK_FORMATS),
            kbps=self.kbps,
            loudness=_loudness(options.loudness, options.true_peak),
            **_subtitles(options.subtitles),
        )
        self.cover = _cover(options.cover, chosen, self.shelf)
        self.audiobook = _audiobook(chosen, self.kbps, self.cover, options.split_hours)
        self.readalong = _readalong(chosen, options.read_along, self.kbps)
        self.video = _video(
            chosen,
            options.video,
            self.kbps,
            self.cover,
            options.burn_subtitles,
            options.subtitle_font,
            options.subtitle_size,
            options.subtitle_position,
        )
        self.verify = None
        if options.verify:  # (retake imports the speech checks: only when asked for)
            from voxcli.convert.retake import VerifySettings

            self.verify = VerifySettings(options.asr, options.verify_tries)
        self.voices = load_voices(options.voices_file)
        # The narrator when no cast file names one (a book's cast file may).
        self.profile = self._narrator(options.voice)

    def _narrator(self, name: str | None) -> Any:
        from voxcli.config import resolve_voice

        profile = resolve_voice(name, self.voices)
        return replace(profile, speed=self.options.speed) if self.options.speed is not None else profile

    def request(self, book: str, outdir: Path | None) -> ConvertRequest:
        """Read ``book`` and give its request; ``outdir``: the folder (the library with
        --layout audiobookshelf; None: beside the book)."""
        from voxcli.convert.pipeline import ConvertRequest
        from voxcli.convert.plan import parse_chapters
        from voxcli.convert.tagging import tag_voices
        from voxcli.ingest import ReadOptions, read_book
        from voxcli.lexicon.model import user_lexicons

        options = self.options
        cast_file = find_cast_file(book, options.cast, options.no_cast)
        chosen_cast = None
        if cast_file is not None:
            from voxcli.cast.castfile import read_cast

            chosen_cast = read_cast(cast_file)
        profile = self.profile
        if options.voice is None and chosen_cast is not None:
            profile = self._narrator(chosen_cast.narrator)
        result = read_book(
            book,
            ReadOptions(
                math=options.math.value,
                skip_notes=options.skip_notes,
                ocr=options.ocr,
                ocr_lang=options.ocr_lang,
            ),
        )
        named = options.voice is not None or (chosen_cast is not None and chosen_cast.narrator is not None)
        language, result, profile = self._language(result, profile, named)
        passages = self._passages(result, options.chapters, profile)
        if passages is not None:
            result = passages.with_marks(result)
            result = replace(result, warnings=(*result.warnings, *passages.warnings(self.voices.label)))
        digits = _digit_languages(result, parse_chapters(options.chapters, len(result.chapters)), passages)
        if digits:
            result = replace(
                result,
                warnings=(
                    *result.warnings,
                    f"numbers are left as digits for the voice to read in {', '.join(digits)}: "
                    "num2words has no rules for these languages",
                ),
            )
        cast_plan = None
        if chosen_cast is not None and cast_file is not None:
            from voxcli.convert.casting import casting

            cast_plan = casting(chosen_cast, result, self.voices, profile, str(cast_file))
        if self.shelf:
            from voxcli.convert.shelf import shelf_folder

            assert outdir is not None  # _check_shelf
            outdir = shelf_folder(outdir, result)
        return ConvertRequest(
            book=result,
            source=book,
            profile=profile,
            outdir=outdir if outdir is not None else Path(book).with_suffix(""),
            chapters=parse_chapters(options.chapters, len(result.chapters)),
            settings=self.settings,
            jobs=options.jobs or 0,  # 0: worker_count picks the default once the engine is known
            titles=not options.no_titles,
            force=options.force,
            device=options.device.value,
            audiobook=self.audiobook,
            verify=self.verify,
            lexicon=user_lexicons(book, options.lexicon),
            book_lexicon=not options.ignore_book_lexicon,
            cast=cast_plan,
            passages=passages,
            language=language,
            voice_map=_voice_map(options.voice_map, len(result.chapters), self.voices, profile),
            tagged=None if options.no_tags else tag_voices(result, book, self.voices, profile),
            readalong=self.readalong,
            video=self.video,
            shelf=self.shelf,
            cover=self.cover,
        )

    def _language(self, book: Any, profile: Any, named: bool) -> tuple[Any, Any, Any]:
        """The book's language (--lang, else its metadata, else detected in its text) and its
        narrator: the voice named, else the one voices.toml maps to the language; the book with the
        language set and a warning when the narrator speaks another language."""
        from voxcli.book import same_language
        from voxcli.text.languages import normalise_tag
        from voxcli.voicelang import BookLanguage, mismatch, narrator

        lang, source, confidence = normalise_tag(self.options.lang or ""), "--lang", None
        if self.options.lang and not lang:
            raise UsageError(
                f"--lang: '{self.options.lang}' is not a language tag", "use a tag such as fr, de or pt-br"
            )
        if not lang:
            lang, source = normalise_tag(book.language), "metadata"
        if not lang:
            from voxcli.text.detect import detect_language, release_model

            try:
                found = detect_language("\n\n".join(c.text for c in book.chapters))
            finally:
                release_model()  # about 100 MB the engine can use
            lang, source = (found.lang, "detected") if found is not None else ("", "unknown")
            confidence = found.confidence if found is not None else None
        warnings: list[str] = []
        if named:
            chosen = BookLanguage(lang, source, profile, f"named: {profile.name}", confidence)
            warning = mismatch(profile, lang, source)
        else:
            chosen, warning = narrator(lang, source, self.voices)
            chosen = replace(chosen, confidence=confidence)
            if self.options.speed is not None:
                chosen = replace(chosen, profile=replace(chosen.profile, speed=self.options.speed))
        if source == "detected" and not same_language(lang, self.profile.lang):
            # Said when it matters: the language chose the voice, or the voice named does not speak it.
            warnings.append(
                f"the book does not say its language: {lang} detected in its text (confidence "
                f"{confidence or 0:.2f}), read by '{chosen.profile.name}'; pass --lang to set another"
            )
        warnings += [warning] if warning else []
        book = replace(book, language=lang or book.language, warnings=(*book.warnings, *warnings))
        return chosen, book, chosen.profile

    def _passages(self, book: Any, chapters: str | None, profile: Any) -> Any:
        """The passages in other languages that go to their languages' voices (None: --passages ignore)."""
        from voxcli.convert.passages import plan_passages
        from voxcli.convert.plan import parse_chapters

        if self.options.passages is Passages.ignore:
            return None
        from voxcli.engines import engine_class

        engine = engine_class(profile.engine, profile.where("engine"))
        phonemes = "phonemes" in engine.capabilities and engine.phoneme_alphabet is not None
        numbers = parse_chapters(chapters, len(book.chapters))
        return plan_passages(
            book, numbers, self.voices, profile, phonemes and not self.options.ignore_book_lexicon
        )


def _digit_languages(book: Any, numbers: list[int], passages: Any) -> list[str]:
    """The languages of text with digits in it (the book's, and its passages' that another voice
    reads) that num2words cannot say: their numbers reach the engine as digits."""
    from voxcli.text.normalize import has_number_rules

    chosen = [c for c in book.chapters if c.index in set(numbers)]
    found: set[str] = set()
    digits = any(ch.isdigit() for c in chosen for p in c.paragraphs for ch in p)
    if book.language and not has_number_rules(book.language) and digits:
        found.add(book.language)
    for chapter in chosen:
        for stretch in passages.voiced.get(chapter.index, []) if passages is not None else []:
            text = chapter.paragraphs[stretch.paragraph][stretch.start : stretch.end]
            if not has_number_rules(stretch.lang) and any(ch.isdigit() for ch in text):
                found.add(stretch.lang)
    return sorted(found)


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
    from voxcli.convert.video import VideoRequest  # (PIL and PyAV: only for a video)
    from voxcli.video import SubtitleStyle, VideoSettings

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
