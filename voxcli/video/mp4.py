"""Writing an audiobook as an MP4 video with PyAV: H.264 picture, AAC narration, mov_text subtitles, chapters.

The picture rarely changes, so the video has a variable frame rate in milliseconds: a frame when the
picture changes (a section's title card, a burned subtitle appearing or going) and otherwise one every
``keyframe_seconds`` (a keyframe, so that seeking lands close). The last frame lasts to the end of the
audio. Audio is encoded as the blocks arrive; frames and subtitle samples are muxed as the audio reaches
their time, so the file is interleaved and memory stays bounded whatever the length.

Subtitles are a soft ``mov_text`` track, or, with ``burn``, drawn into the picture and no track: the MP4
muxer marks the first subtitle track enabled whatever its disposition, so players that show an enabled
track by default could print every line twice. The track's samples are made here (a 16-bit
big-endian length, then the UTF-8 text: no ASS parsing to trip on braces or backslashes); the muxer
fills the gaps between cues with empty samples. PyAV's mov_text encoder is only opened to describe the
track (its tx3g sample entry), from an ASS header with FFmpeg's own default style (Arial 16).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from PIL import Image

from voxcli.audio.m4b import pcm_frame
from voxcli.audio.subtitles import Cue
from voxcli.book import Cover
from voxcli.errors import EngineError, Interrupted, VoxError
from voxcli.fsutil import atomic_path, write_error
from voxcli.text.languages import iso639_2
from voxcli.video.frames import SubtitlePainter, SubtitleStyle, cover_image, title_card

MS = Fraction(1, 1000)
CODECS = ("libx264", "aac", "mov_text")
INSTALL_FIX = "pip install --force-reinstall av (PyAV's wheels include libx264, aac and mov_text)"
# x264 for a picture that hardly moves: no B-frames (packets come out in order, so each one's duration
# is known), keyframes only where asked for, no lookahead (a frame is encoded when it is sent).
X264_PARAMS = "bframes=0:scenecut=0:keyint=infinite:rc-lookahead=0:sync-lookahead=0"
X264_OPTIONS = {"preset": "faster", "tune": "stillimage", "crf": "26", "x264-params": X264_PARAMS}
BT709 = 1  # colour primaries, transfer and matrix, as H.264's VUI numbers them
LIMITED_RANGE = 1
# Minimal ASS header for the mov_text encoder, which turns it into the track's default style (tx3g).
_ASS_HEADER = (
    b"[Script Info]\r\nScriptType: v4.00+\r\nPlayResX: 384\r\nPlayResY: 288\r\n\r\n"
    b"[V4+ Styles]\r\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
    b"BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, "
    b"Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\r\n"
    b"Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0\r\n"
    b"\r\n[Events]\r\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\r\n"
)


@dataclass(frozen=True)
class VideoSettings:
    width: int = 1280
    height: int = 720
    kbps: int = 64  # AAC bitrate
    burn: SubtitleStyle | None = None  # None: a soft subtitle track; else drawn into the picture, no track
    keyframe_seconds: float = 10.0  # a keyframe at least this often; otherwise frames only on changes


@dataclass(frozen=True)
class Section:
    """A stretch of the video with its own title card: a chapter."""

    title: str
    start: int  # samples
    end: int


class _Span(NamedTuple):
    start: int  # ms
    end: int
    lines: list[str]


class _Shot(NamedTuple):
    ms: int
    section: int  # index into the sections, -1 before the first
    cue: int  # index into the burned spans, -1 for none
    key: bool


def video_encoder_problem(soft_subtitles: bool = True) -> str | None:
    """Why this PyAV cannot write MP4 video (with a soft subtitle track, unless ``soft_subtitles`` is
    false: burned-in subtitles need none), or None when it can."""
    problem = _encoder_problem()
    if problem is None and soft_subtitles:
        problem = _subtitle_track_problem()
    return problem


def _encoder_problem() -> str | None:
    try:
        import av
    except ImportError:
        return "PyAV is not installed"
    missing = []
    for name in CODECS:
        try:
            av.Codec(name, "w")
        except (ValueError, av.FFmpegError):  # UnknownCodecError is a ValueError
            missing.append(name)
    if missing:
        return f"this PyAV build has no {', '.join(missing)} encoder"
    return None


def _subtitle_track_problem() -> str | None:
    import av
    from av.subtitles.codeccontext import SubtitleCodecContext

    # Opening the mov_text encoder (for the track's description) needs an ASS header: PyAV 18 sets it.
    if not hasattr(SubtitleCodecContext, "subtitle_header"):
        return f"PyAV {av.__version__} cannot write subtitle tracks (18 or later can)"
    return None


def write_mp4(
    path: Path,
    *,
    rate: int,
    samples: int,
    audio: Iterable[np.ndarray],
    sections: Sequence[Section],
    cues: Sequence[Cue],
    cover: Cover | None,
    book_title: str,
    author: str,
    language: str,
    settings: VideoSettings = VideoSettings(),
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Write the narration ``audio`` (int16 mono blocks summing to ``samples``) as an MP4 video at ``path``.

    Raises VoxError for what the user can fix (a missing encoder, a bad font, a full disk), Interrupted
    when ``should_stop`` turns true (nothing is left behind) and ValueError for inconsistent arguments.
    """
    _check(settings, rate, samples, sections)
    problem = _encoder_problem()
    if problem is not None:
        raise EngineError(f"cannot write MP4 video: {problem}", INSTALL_FIX)
    if settings.burn is None and cues:
        problem = _subtitle_track_problem()
        if problem is not None:
            raise EngineError(problem, "pip install -U 'av>=18', or burn the subtitles into the picture")
    painter = SubtitlePainter(settings.burn, settings.width, settings.height) if settings.burn else None
    total = _ms(samples, rate)
    spans = _spans(cues, total)
    pictures = _Pictures(cover, settings, book_title, author, [s.title for s in sections], painter)
    starts = [_ms(s.start, rate) for s in sections]
    shots = _shots(starts, spans if painter else [], total, settings.keyframe_seconds)
    with atomic_path(path) as temp:
        writer = _Writer(temp, path, rate, settings, language, pictures, spans, painter is not None)
        try:
            writer.start(sections, samples, book_title, author)
            written = 0
            for block in audio:
                pcm = np.asarray(block).reshape(-1)
                if pcm.dtype != np.int16:
                    raise ValueError(f"audio blocks must be int16 samples, not {pcm.dtype}")
                for at in range(0, pcm.size, rate):  # a second at a time: steady interleaving and stops
                    if should_stop():
                        raise Interrupted(f"stopped while writing {path.name}", "run the same command again")
                    chunk = pcm[at : at + rate]
                    writer.audio(chunk)
                    written += chunk.size
                    writer.catch_up(shots, _ms(written, rate))
            if written != samples:
                raise ValueError(f"the audio blocks hold {written} samples, not the {samples} announced")
            writer.catch_up(shots, total)
            writer.finish(total)
        except BaseException:
            writer.abort()
            raise


def _check(settings: VideoSettings, rate: int, samples: int, sections: Sequence[Section]) -> None:
    width, height = settings.width, settings.height
    if width % 2 or height % 2 or not (64 <= width <= 4096 and 64 <= height <= 4096):
        raise VoxError(
            f"a video of {width}x{height} cannot be written",
            "use an even width and height from 64 to 4096, such as 1280x720",
        )
    if not 8 <= settings.kbps <= 512:
        raise VoxError(f"{settings.kbps} kbps is not an AAC bitrate voxcli writes", "use 8 to 512 kbps")
    if not settings.keyframe_seconds >= 0.5:
        raise VoxError(
            f"a keyframe every {settings.keyframe_seconds} s is too often", "use 0.5 seconds or more"
        )
    if rate <= 0 or samples <= 0:
        raise ValueError(f"nothing to write: {samples} samples at {rate} Hz")
    starts = [s.start for s in sections]
    if starts != sorted(starts) or any(s.start < 0 or s.end < s.start for s in sections):
        raise ValueError("sections must be in order, each with 0 <= start <= end")


def _ms(samples: int, rate: int) -> int:
    return (samples * 1000 + rate // 2) // rate


def _spans(cues: Sequence[Cue], total: int) -> list[_Span]:
    """The cues in milliseconds, in order, inside the audio, never overlapping (a later cue cuts short
    the one before), empty ones left out."""
    spans: list[_Span] = []
    for cue in sorted(cues, key=lambda c: (c.start, c.end)):
        start = max(0, round(cue.start * 1000))
        end = min(total, round(cue.end * 1000))
        lines = [line for line in cue.lines if line.strip()]
        if end <= start or not lines:
            continue
        if spans and spans[-1].end > start:
            last = spans.pop()
            if start > last.start:
                spans.append(last._replace(end=start))
        spans.append(_Span(start, end, lines))
    return spans


def _shots(starts: list[int], spans: list[_Span], total: int, keyframe_seconds: float) -> Iterator[_Shot]:
    """When frames are shown, in order: at 0, at each section start and burned cue start and end, and
    wherever the picture has not changed for ``keyframe_seconds``; keyframes at section starts and at
    least every ``keyframe_seconds``."""
    every = max(1, round(keyframe_seconds * 1000)) if math.isfinite(keyframe_seconds) else total + 1
    section_starts = {ms for ms in starts if 0 <= ms < total}
    changes = sorted({0} | section_starts | {ms for s in spans for ms in (s.start, s.end) if ms < total})
    section = -1
    cue = 0  # the first span not yet over
    last_key = -every
    for at, change in enumerate(changes):
        following = changes[at + 1] if at + 1 < len(changes) else total
        ms = change
        while ms < following:
            while section + 1 < len(starts) and starts[section + 1] <= ms:
                section += 1
            while cue < len(spans) and spans[cue].end <= ms:
                cue += 1
            shown = cue if cue < len(spans) and spans[cue].start <= ms else -1
            key = ms == 0 or ms in section_starts or ms - last_key >= every
            if key:
                last_key = ms
            yield _Shot(ms, section, shown, key)
            ms += every


class _Pictures:
    """The picture at each shot, as yuv420p planes; the last base picture is kept, no more."""

    def __init__(
        self,
        cover: Cover | None,
        settings: VideoSettings,
        title: str,
        author: str,
        sections: list[str],
        painter: SubtitlePainter | None,
    ) -> None:
        self._settings = settings
        self._title = title
        self._author = author
        self._sections = sections
        self._painter = painter
        self._font = settings.burn.font if settings.burn else None
        self._cover = cover_image(cover, settings.width, settings.height)
        self._base_key: int | None = None
        self._base: Image.Image | None = None
        self._base_yuv: np.ndarray | None = None
        self._last: tuple[tuple[int | None, tuple[str, ...]], np.ndarray] | None = None  # the last cue drawn

    def _base_for(self, section: int) -> tuple[Image.Image, np.ndarray]:
        key = -1 if self._cover is not None else section
        if key != self._base_key or self._base is None or self._base_yuv is None:
            if self._cover is not None:
                image = self._cover
            else:
                name = self._sections[section] if 0 <= section < len(self._sections) else ""
                if " ".join(name.split()) == " ".join(self._title.split()):
                    name = ""  # a one-section book named after itself: say it once
                image = title_card(
                    self._settings.width,
                    self._settings.height,
                    title=self._title,
                    author=self._author,
                    section=name,
                    font=self._font,
                    keep_clear=self._settings.burn.position if self._settings.burn else None,
                )
            self._base_key, self._base, self._base_yuv = key, image, _yuv(image)
        return self._base, self._base_yuv

    def frame(self, section: int, lines: list[str] | None) -> np.ndarray:
        base, yuv = self._base_for(section)
        if lines is None or self._painter is None:
            return yuv
        key = (self._base_key, tuple(lines))
        if self._last is not None and self._last[0] == key:
            return self._last[1]  # a keyframe repeating the picture, subtitle and all
        placed = self._painter.patch(base, lines)
        if placed is None:
            return yuv
        (left, top), patch = placed
        frame: np.ndarray = yuv.copy()
        _paste(frame, _yuv(patch), left, top, self._settings.width, self._settings.height)
        self._last = key, frame
        return frame


def _yuv(image: Image.Image) -> np.ndarray:
    """An RGB picture as yuv420p planes (BT.709, limited range: what HD players assume)."""
    import av
    from av.video.reformatter import ColorRange, Colorspace

    rgb: Any = av.VideoFrame.from_image  # untyped in PyAV's stubs
    frame = rgb(image).reformat(
        format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG
    )
    planes: np.ndarray = frame.to_ndarray()
    return planes


def _planes(yuv: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of the Y, U and V planes of a yuv420p picture laid out as PyAV's ``to_ndarray`` gives it."""
    flat = yuv.reshape(-1)
    luma = width * height
    chroma = luma // 4
    return (
        flat[:luma].reshape(height, width),
        flat[luma : luma + chroma].reshape(height // 2, width // 2),
        flat[luma + chroma : luma + 2 * chroma].reshape(height // 2, width // 2),
    )


def _paste(frame: np.ndarray, patch: np.ndarray, left: int, top: int, width: int, height: int) -> None:
    """Copy the yuv420p ``patch`` into ``frame`` with its top-left corner (even) at ``left``, ``top``."""
    rows = patch.shape[0] * 2 // 3
    columns = patch.shape[1]
    pairs = zip(_planes(frame, width, height), _planes(patch, columns, rows), strict=True)
    for step, (into, part) in zip((1, 2, 2), pairs, strict=True):  # chroma is half size both ways
        into[top // step : (top + rows) // step, left // step : (left + columns) // step] = part


class _Writer:
    def __init__(
        self,
        temp: Path,
        shown: Path,
        rate: int,
        settings: VideoSettings,
        language: str,
        pictures: _Pictures,
        spans: list[_Span],
        burned: bool,
    ) -> None:
        import av

        self._av = av
        self._shown = shown
        self._rate = rate
        self._pictures = pictures
        self._spans = spans
        self._next_span = 0
        self._pending: Any = None  # the last video packet, muxed once the next one gives its duration
        self._next_shot: _Shot | None = None
        self._pts = 0
        try:
            # faststart: the index goes before the media, so players and browsers start at once.
            self._out: Any = av.open(
                str(temp), "w", format="mp4", container_options={"movflags": "+faststart"}
            )
        except OSError as exc:
            raise write_error(shown, exc) from exc
        try:
            self._add_streams(settings, rate, language, burned or not spans)
        except BaseException:
            self.abort()
            raise

    def _add_streams(self, settings: VideoSettings, rate: int, language: str, no_track: bool) -> None:
        lang = iso639_2(language)
        video: Any = self._out.add_stream("libx264", rate=1, options=dict(X264_OPTIONS))
        video.width, video.height, video.pix_fmt = settings.width, settings.height, "yuv420p"
        video.time_base = MS
        context: Any = video.codec_context
        context.time_base = MS
        context.color_primaries = context.color_trc = context.colorspace = BT709
        context.color_range = LIMITED_RANGE
        video.metadata["language"] = lang
        self._video = video
        sound: Any = self._out.add_stream("aac", rate=rate, layout="mono", options={"aac_coder": "fast"})
        sound.bit_rate = settings.kbps * 1000
        sound.metadata["language"] = lang
        self._sound = sound
        self._text: Any = None
        if not no_track:
            text: Any = self._out.add_stream("mov_text")
            text.time_base = MS
            text.codec_context.subtitle_header = _ASS_HEADER
            text.metadata["language"] = lang
            self._text = text

    def start(self, sections: Sequence[Section], samples: int, title: str, author: str) -> None:
        base = Fraction(1, self._rate)
        chapters: list[Any] = [
            {
                "id": i,
                "start": min(s.start, samples),
                "end": min(s.end, samples),
                "time_base": base,
                "metadata": {"title": s.title},
            }
            for i, s in enumerate(sections, start=1)
        ]
        self._out.set_chapters(chapters)
        tags = {
            "title": title,
            "album": title,
            "artist": author,
            "album_artist": author,
            "genre": "Audiobook",
        }
        for name, value in tags.items():
            if value.strip():
                self._out.metadata[name] = value
        self._guard(self._out.start_encoding)

    def audio(self, pcm: np.ndarray) -> None:
        if pcm.size == 0:
            return
        frame = pcm_frame(pcm, self._rate, self._pts)
        self._pts += pcm.size
        self._guard(lambda: self._out.mux(self._sound.encode(frame)))

    def catch_up(self, shots: Iterator[_Shot], until: int) -> None:
        """Mux the frames and subtitle samples that start at or before ``until`` ms."""
        while True:
            if self._next_shot is None:
                self._next_shot = next(shots, None)
            shot = self._next_shot
            if shot is None or shot.ms > until:
                break
            self._next_shot = None
            lines = self._spans[shot.cue].lines if shot.cue >= 0 else None
            self._picture(shot, self._pictures.frame(shot.section, lines))
        while (
            self._text is not None
            and self._next_span < len(self._spans)
            and self._spans[self._next_span].start <= until
        ):
            self._subtitle(self._spans[self._next_span])
            self._next_span += 1

    def _picture(self, shot: _Shot, yuv: np.ndarray) -> None:
        frame = self._av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = shot.ms
        frame.time_base = MS
        kind = self._av.video.frame.PictureType
        frame.pict_type = kind.I if shot.key else kind.NONE
        self._guard(lambda: self._video_packets(self._video.encode(frame)))

    def _video_packets(self, packets: list[Any]) -> None:
        for packet in packets:
            if self._pending is not None:
                self._pending.duration = packet.pts - self._pending.pts
                self._out.mux(self._pending)
            self._pending = packet

    def _subtitle(self, span: _Span) -> None:
        data = "\n".join(span.lines).encode("utf-8")
        if len(data) > 0xFFFF:
            data = data[:0xFFFF].decode("utf-8", "ignore").encode("utf-8")
        packet = self._av.Packet(len(data).to_bytes(2, "big") + data)
        packet.pts = packet.dts = span.start
        packet.duration = span.end - span.start
        packet.time_base = MS
        packet.stream = self._text
        self._guard(lambda: self._out.mux(packet))

    def finish(self, total: int) -> None:
        def flush() -> None:
            self._out.mux(self._sound.encode(None))
            self._video_packets(self._video.encode(None))
            if self._pending is not None:  # the last picture lasts until the audio ends
                self._pending.duration = max(1, total - self._pending.pts)
                self._out.mux(self._pending)
                self._pending = None
            self._out.close()

        self._guard(flush)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._out.close()

    def _guard(self, work: Callable[[], object]) -> None:
        try:
            work()
        except OSError as exc:  # PyAV's errors for a full disk or a lost folder are OSErrors too
            raise write_error(self._shown, exc) from exc
        except self._av.FFmpegError as exc:
            raise self._encode_error(exc) from exc

    def _encode_error(self, exc: Exception) -> VoxError:
        return VoxError(
            f"cannot encode {self._shown.name}: {exc}", "report this with `voxcli doctor`'s output"
        )
