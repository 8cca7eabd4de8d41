"""A chapter's files from its cached sentences: WAV and/or MP3, SRT and/or VTT, all or nothing.

The chapter is levelled to the loudness target first (see :mod:`voxcli.convert.chapter_audio`), then its
audio is streamed one sentence at a time, so memory stays bounded whatever the chapter's length.
Every file goes to a temp name first; all of them are renamed only once the chapter is complete.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from voxcli.arrays import Int16
from voxcli.audio.loudness import Levelling, LoudnessSettings
from voxcli.audio.tags import tag_mp3
from voxcli.convert.cache import AudioCache, CacheMissing, Entry
from voxcli.convert.chapter_audio import KEEP_SAMPLES, ChapterAudio
from voxcli.convert.plan import ChapterPlan
from voxcli.engines.base import WordTiming
from voxcli.errors import EngineError, VoxError
from voxcli.fsutil import atomic_path, write_error


@dataclass(frozen=True)
class OutputSettings:
    formats: tuple[str, ...] = ("wav",)  # wav, mp3
    kbps: int = 64  # MP3 bitrate
    subtitles: tuple[str, ...] = ("srt", "vtt")  # and/or "ass"
    word_cues: tuple[str, ...] = ()  # formats with a cue per word (ass: karaoke), where words are timed
    speaker_cues: bool = False  # WebVTT: mark a cast character's cues with a voice span
    loudness: LoudnessSettings | None = field(default_factory=LoudnessSettings)  # None: as spoken


@dataclass(frozen=True)
class BookTags:
    title: str
    author: str
    track: int  # 1-based position among the chapters written
    tracks: int
    narrator: str = ""


@dataclass
class ChapterResult:
    index: int
    title: str
    files: dict[str, str]  # format -> file name in the output folder
    duration: float  # seconds
    characters: int
    sentences: int
    digest: str
    sample_rate: int
    samples: int  # the chapter's length in samples
    gain_db: float  # applied to every sentence (then peaks limited to the ceiling, when levelling)
    loudness: dict[str, float | None]  # as measured: see Levelling.as_record
    unspoken: list[str] = field(default_factory=list)  # segments the engine gave no audio for


class _Mp3Stream:
    """lameenc fed block by block into an open file."""

    def __init__(self, handle: BinaryIO, sample_rate: int, kbps: int) -> None:
        import lameenc

        from voxcli.audio.encode import MP3_RATES

        if sample_rate not in MP3_RATES:
            raise EngineError(f"MP3 cannot hold {sample_rate} Hz audio", "use --format wav")
        self._handle = handle
        self._encoder = lameenc.Encoder()
        self._encoder.set_bit_rate(kbps)
        self._encoder.set_in_sample_rate(sample_rate)
        self._encoder.set_channels(1)
        self._encoder.set_quality(2)

    def write(self, pcm: Int16) -> None:
        self._handle.write(bytes(self._encoder.encode(pcm.tobytes())))

    def close(self) -> None:
        self._handle.write(bytes(self._encoder.flush()))


def assemble_chapter(
    plan: ChapterPlan,
    cache: AudioCache,
    outdir: Path,
    *,
    settings: OutputSettings,
    tags: BookTags,
    read_entry: Callable[[str], Entry] | None = None,
    keep: int = KEEP_SAMPLES,
) -> ChapterResult:
    """Write the chapter's files from the cache; every segment must be cached already.

    ``keep``: samples of audio the levelling may hold between its passes (see :class:`ChapterAudio`).
    """
    from voxcli.audio.subtitles import Spoken, build_cues, to_srt, to_vtt

    def fetch(key: str) -> Entry:
        entry = cache.get(key)
        if entry is None:
            raise CacheMissing([key])
        return entry

    get = read_entry or fetch
    spoken: list[Spoken] = []
    unspoken: list[str] = []
    files = {fmt: f"{plan.stem}.{fmt}" for fmt in (*settings.formats, *settings.subtitles)}
    audio = ChapterAudio(plan, get, keep)
    target = settings.loudness
    input_lufs, gain = audio.level(target) if target is not None else (math.nan, 0.0)
    ceiling = target.ceiling if target is not None else None
    output_lufs, peak = audio.measure(gain, ceiling)  # usually known already, from levelling
    with contextlib.ExitStack() as stack:
        temps = {fmt: stack.enter_context(atomic_path(outdir / name)) for fmt, name in files.items()}
        position = 0
        finals = {fmt: outdir / name for fmt, name in files.items()}
        with _audio_sinks(temps, finals, settings) as sinks:
            for piece in audio.pieces(gain, ceiling):
                if position == 0:
                    sinks.open(audio.rate)
                samples = piece.samples
                if len(samples) == 0:
                    unspoken.append(piece.segment.text)
                else:
                    spoken.append(
                        Spoken(
                            piece.segment.text,
                            position,
                            position + len(samples),
                            _words(piece.entry.words),
                            piece.segment.speaker,
                            piece.segment.lang,
                        )
                    )
                sinks.write(samples)
                sinks.write(np.zeros(piece.pause, dtype=np.int16))
                position += len(samples) + piece.pause
        rate = audio.rate
        duration = position / rate
        for fmt in ("srt", "vtt", "ass"):
            if fmt in temps:
                # ass:words is karaoke: sentence cues whose words light up in turn, not a cue per word.
                karaoke = fmt == "ass" and fmt in settings.word_cues
                word_level = fmt in settings.word_cues and not karaoke
                cues = build_cues(spoken, rate, duration, word_level=word_level)
                if fmt == "srt":
                    text = to_srt(cues)
                elif fmt == "vtt":
                    text = to_vtt(cues, speakers=settings.speaker_cues)
                else:
                    from voxcli.audio.ass import to_ass

                    text = to_ass(cues, karaoke=karaoke, title=plan.title)
                _write_text(temps[fmt], text, finals[fmt])
        if "mp3" in temps:
            tag_mp3(
                temps["mp3"],
                title=plan.title,
                album=tags.title,
                artist=tags.author,
                track=tags.track,
                tracks=tags.tracks,
                narrator=tags.narrator,
                shown=finals["mp3"],
            )
    levelling = Levelling(input_lufs if target is not None else output_lufs, gain, output_lufs, peak)
    return ChapterResult(
        index=plan.index,
        title=plan.title,
        files=files,
        duration=duration,
        characters=plan.chars,
        sentences=len(plan.segments),
        digest=plan.digest,
        sample_rate=rate,
        samples=position,
        gain_db=gain,
        loudness=levelling.as_record(target.target if target is not None else None),
        unspoken=unspoken,
    )


def _words(words: list[WordTiming] | None) -> list[WordTiming] | None:
    return list(words) if words else None


class _Sinks:
    """The chapter's audio writers; a failure names the file the user will look for, not a temp file."""

    def __init__(
        self,
        temps: dict[str, Path],
        finals: dict[str, Path],
        settings: OutputSettings,
        stack: contextlib.ExitStack,
    ) -> None:
        self._temps, self._finals, self._settings, self._stack = temps, finals, settings, stack
        self._wav: Any = None
        self._mp3: _Mp3Stream | None = None

    def open(self, rate: int) -> None:
        import soundfile

        if "wav" in self._temps:
            with self._failing("wav"):
                self._wav = self._stack.enter_context(
                    soundfile.SoundFile(self._temps["wav"], "w", rate, 1, "PCM_16", format="WAV")
                )
        if "mp3" in self._temps:
            with self._failing("mp3"):
                handle = self._stack.enter_context(self._temps["mp3"].open("wb"))
            self._mp3 = _Mp3Stream(handle, rate, self._settings.kbps)

    def write(self, pcm: Int16) -> None:
        if self._wav is not None:
            with self._failing("wav"):
                self._wav.write(pcm)
        if self._mp3 is not None:
            with self._failing("mp3"):
                self._mp3.write(pcm)

    def close(self) -> None:
        if self._mp3 is not None:
            with self._failing("mp3"):
                self._mp3.close()

    @contextlib.contextmanager
    def _failing(self, fmt: str) -> Iterator[None]:
        import soundfile

        try:
            yield
        except OSError as exc:
            raise write_error(self._finals[fmt], exc) from exc
        except soundfile.LibsndfileError as exc:
            # libsndfile reports a full disk or a file size limit only as "System error".
            raise VoxError(
                f"cannot write {self._finals[fmt]}: {exc.error_string}",
                "free some disk space, or write somewhere else with -o",
            ) from exc


@contextlib.contextmanager
def _audio_sinks(
    temps: dict[str, Path], finals: dict[str, Path], settings: OutputSettings
) -> Iterator[_Sinks]:
    import soundfile

    with contextlib.ExitStack() as stack:
        sinks = _Sinks(temps, finals, settings, stack)
        yield sinks
        sinks.close()
        # Closing the WAV writes its header: that can fail too.
        try:
            stack.close()
        except (OSError, soundfile.LibsndfileError) as exc:
            fmt = "wav" if "wav" in finals else "mp3"
            raise VoxError(
                f"cannot write {finals[fmt]}: {exc}", "free some disk space, or write somewhere else with -o"
            ) from exc


def _write_text(path: Path, text: str, shown: Path) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise write_error(shown, exc) from exc
