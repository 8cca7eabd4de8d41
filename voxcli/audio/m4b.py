"""Writing one M4B file: AAC audio with chapter markers (PyAV, or the ffmpeg program), then tags and cover.

PyAV (``av`` on PyPI) bundles FFmpeg's libraries, so it is the default; the ``ffmpeg`` program on
PATH is used when PyAV is missing, or when ``$VOXCLI_M4B_ENCODER=ffmpeg`` asks for it. Tags and the
cover are written with mutagen afterwards, the same way for both.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from voxcli import __version__
from voxcli.arrays import Int16
from voxcli.book import Cover
from voxcli.errors import EngineError, VoxError
from voxcli.fsutil import TEMP_SUFFIX, write_error
from voxcli.text.languages import iso639_2

ENCODER_ENV = "VOXCLI_M4B_ENCODER"
ENCODERS = ("pyav", "ffmpeg")
INSTALL_FIX = "pip install av, or install ffmpeg (apt-get install ffmpeg, brew install ffmpeg)"


@dataclass(frozen=True)
class Marker:
    title: str
    start: int  # samples from the start of the file
    end: int


@dataclass(frozen=True)
class M4bTags:
    title: str
    album: str
    author: str
    narrator: str
    year: str
    language: str  # BCP 47, as the book declares it
    description: str
    track: int
    tracks: int
    cover: Cover | None
    genre: str = "Audiobook"


class Encoder(Protocol):
    def write(self, pcm: Int16) -> None: ...
    def finish(self) -> None: ...
    def abort(self) -> None: ...


def choose_encoder() -> str:
    """'pyav' or 'ffmpeg', as ``$VOXCLI_M4B_ENCODER`` asks or as installed; EngineError when neither is."""
    wanted = os.environ.get(ENCODER_ENV, "").strip().lower()
    if wanted and wanted not in ENCODERS:
        raise EngineError(
            f"${ENCODER_ENV}={wanted!r} is not an M4B encoder", "set it to pyav or ffmpeg, or unset it"
        )
    if wanted == "ffmpeg":
        if shutil.which("ffmpeg") is None:
            raise EngineError(
                f"${ENCODER_ENV}=ffmpeg but there is no ffmpeg program on PATH",
                f"install ffmpeg, or unset ${ENCODER_ENV} to use PyAV",
            )
        return "ffmpeg"
    if _pyav_works():
        return "pyav"
    if wanted == "pyav":
        raise EngineError(f"${ENCODER_ENV}=pyav but PyAV cannot be imported", "pip install av")
    if shutil.which("ffmpeg") is None:
        raise EngineError("writing M4B needs PyAV or the ffmpeg program, and neither was found", INSTALL_FIX)
    return "ffmpeg"


def _pyav_works() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def describe_encoder(name: str) -> str:
    """What will write M4B files, with versions (for doctor and the manifest)."""
    if name == "pyav":
        import av

        ffmpeg = av.library_versions.get("libavformat", ())
        return f"PyAV {av.__version__} (libavformat {'.'.join(map(str, ffmpeg))})"
    path = shutil.which("ffmpeg") or "ffmpeg"
    try:
        first = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=20).stdout
        version = first.split()[2] if first.startswith("ffmpeg version") else "?"
    except (OSError, subprocess.SubprocessError, IndexError):
        version = "?"
    return f"ffmpeg {version} ({path})"


def open_encoder(
    name: str, path: Path, *, rate: int, kbps: int, markers: list[Marker], language: str
) -> Encoder:
    if name == "pyav":
        return _PyAv(path, rate, kbps, markers, language)
    return _FfmpegProgram(path, rate, kbps, markers, language)


def pcm_frame(pcm: Int16, rate: int, pts: int) -> Any:
    """A PyAV audio frame of mono int16 samples that start ``pts`` samples into the stream."""
    import av

    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(pcm, dtype=np.int16).reshape(1, -1), format="s16", layout="mono"
    )
    frame.sample_rate = rate
    frame.pts = pts
    frame.time_base = Fraction(1, rate)
    return frame


class _PyAv:
    def __init__(self, path: Path, rate: int, kbps: int, markers: list[Marker], language: str) -> None:
        import av

        self._av = av
        self._rate = rate
        self._pts = 0
        self._path = path
        try:
            self._out: Any = av.open(str(path), "w", format="ipod")
        except OSError as exc:
            raise write_error(path, exc) from exc
        # FFmpeg's "fast" AAC coder: about 6 times the speed of its default, alike for speech at 64k.
        self._stream: Any = self._out.add_stream(
            "aac", rate=rate, layout="mono", options={"aac_coder": "fast"}
        )
        self._stream.bit_rate = kbps * 1000
        self._stream.metadata["language"] = iso639_2(language)
        base = Fraction(1, rate)
        # A Fraction works with every PyAV release; PyAV 19's stubs ask for its own AVRational type.
        chapters: list[Any] = [
            {"id": i, "start": m.start, "end": m.end, "time_base": base, "metadata": {"title": m.title}}
            for i, m in enumerate(markers, start=1)
        ]
        self._out.set_chapters(chapters)

    def write(self, pcm: Int16) -> None:
        if pcm.size == 0:
            return
        frame = pcm_frame(pcm, self._rate, self._pts)
        self._pts += pcm.size
        self._mux(frame)

    def _mux(self, frame: Any) -> None:
        try:
            self._out.mux(self._stream.encode(frame))
        except OSError as exc:
            raise write_error(self._path, exc) from exc
        except self._av.FFmpegError as exc:
            raise VoxError(
                f"cannot encode {self._path.name}: {exc}", "report this with `voxcli doctor`'s output"
            ) from exc

    def finish(self) -> None:
        self._mux(None)
        try:
            self._out.close()
        except OSError as exc:
            raise write_error(self._path, exc) from exc

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._out.close()


class _FfmpegProgram:
    """``ffmpeg`` reading raw PCM on stdin and the chapters from an FFMETADATA file."""

    def __init__(self, path: Path, rate: int, kbps: int, markers: list[Marker], language: str) -> None:
        self._path = path
        handle, name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=f".ffmeta{TEMP_SUFFIX}", dir=path.parent
        )
        self._meta = Path(name)
        with os.fdopen(handle, "w", encoding="utf-8") as meta:
            meta.write(ffmetadata(markers, rate))
        command = [
            shutil.which("ffmpeg") or "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "s16le",
            "-ar",
            str(rate),
            "-ac",
            "1",
            "-i",
            "pipe:0",
            "-f",
            "ffmetadata",
            "-i",
            str(self._meta),
            # Global metadata from the (empty) metadata file: "-1" would drop the chapter titles too.
            "-map",
            "0:a",
            "-map_metadata",
            "1",
            "-map_chapters",
            "1",
            "-c:a",
            "aac",
            "-aac_coder",
            "fast",
            "-b:a",
            f"{kbps}k",
            "-metadata:s:a:0",
            f"language={iso639_2(language)}",
            "-f",
            "ipod",
            str(path),
        ]
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
        )

    def write(self, pcm: Int16) -> None:
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(np.ascontiguousarray(pcm, dtype="<i2").tobytes())
        except BrokenPipeError:
            self._fail()

    def finish(self) -> None:
        assert self._process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._process.stdin.close()
        code = self._process.wait()
        self._meta.unlink(missing_ok=True)
        if code != 0:
            self._fail()

    def _fail(self) -> None:
        self.abort()
        assert self._process.stderr is not None
        message = self._process.stderr.read().decode("utf-8", "replace").strip().splitlines()
        detail = message[-1] if message else f"exit status {self._process.returncode}"
        if "No space left" in detail or "File too large" in detail:
            raise VoxError(
                f"cannot write {self._path}: {detail}",
                "free some disk space, or write somewhere else with -o",
            )
        raise VoxError(
            f"ffmpeg could not write {self._path.name}: {detail}",
            f"check ffmpeg (`ffmpeg -version`), or pip install av and unset ${ENCODER_ENV}",
        )

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            if self._process.stdin is not None:
                self._process.stdin.close()
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._meta.unlink(missing_ok=True)


def ffmetadata(markers: list[Marker], rate: int) -> str:
    """FFmpeg's metadata file format, holding only the chapters."""
    lines = [";FFMETADATA1"]
    for marker in markers:
        lines += [
            "[CHAPTER]",
            f"TIMEBASE=1/{rate}",
            f"START={marker.start}",
            f"END={marker.end}",
            f"title={_escape(marker.title)}",
        ]
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    text = " ".join(text.split())
    for char in "\\=;#":
        text = text.replace(char, "\\" + char)
    return text


def write_tags(path: Path, tags: M4bTags, shown: Path) -> None:
    """iTunes-style tags (what audiobook players read) and the cover, into the written file."""
    from mutagen import MutagenError
    from mutagen.mp4 import MP4, MP4Cover, MP4FreeForm

    try:
        mp4 = MP4(path)
        if getattr(mp4, "tags", None) is None:
            mp4.add_tags()
        tags_: Any = mp4.tags
        values: dict[str, Any] = {
            "\xa9nam": tags.title,
            "\xa9alb": tags.album,
            "\xa9gen": tags.genre,
            "\xa9too": f"voxcli {__version__}",
            "trkn": [(tags.track, tags.tracks)],
            "stik": [2],  # media kind 2: audiobook
        }
        if tags.author:
            values |= {"\xa9ART": tags.author, "aART": tags.author}
        if tags.narrator:
            values |= {
                "\xa9wrt": tags.narrator,
                "----:com.apple.iTunes:NARRATOR": [MP4FreeForm(tags.narrator.encode("utf-8"))],
            }
        if tags.year:
            values["\xa9day"] = tags.year
        if tags.language:
            values["----:com.apple.iTunes:LANGUAGE"] = [MP4FreeForm(tags.language.encode("utf-8"))]
        if tags.description:
            values |= {"desc": tags.description[:255], "ldes": tags.description}
        if tags.cover is not None:
            kind = MP4Cover.FORMAT_PNG if tags.cover.media_type == "image/png" else MP4Cover.FORMAT_JPEG
            values["covr"] = [MP4Cover(tags.cover.data, imageformat=kind)]
        for key, value in values.items():
            tags_[key] = value if isinstance(value, list) else [value]
        mp4.save()
    except OSError as exc:
        raise write_error(shown, exc) from exc
    except MutagenError as exc:
        raise VoxError(
            f"cannot tag {shown}: {exc}", "free some disk space, or write somewhere else with -o"
        ) from exc
