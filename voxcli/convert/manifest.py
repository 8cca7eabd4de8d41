"""manifest.json and playlist.m3u: what the output folder holds, for people, players and re-runs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from voxcli import __version__
from voxcli.fsutil import write_if_changed

_T = TypeVar("_T")

MANIFEST = "manifest.json"
PLAYLIST = "playlist.m3u"


def read_manifest(outdir: Path) -> dict[str, Any]:
    """The folder's manifest, or an empty one when there is none (or it is unreadable)."""
    try:
        data = json.loads((outdir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class ManifestChapter:
    """A finished chapter as ``manifest.json`` records it: what a re-run and the M4B need to know.

    The fields are in the order the manifest has always written them.
    """

    index: int  # the chapter's number in the book
    title: str
    files: dict[str, str]  # format -> file name in the output folder
    duration: float  # seconds
    samples: int  # the chapter's length in samples
    characters: int
    sentences: int
    sample_rate: int  # Hz
    gain_db: float  # the levelling gain applied to every sentence
    loudness: dict[str, float | None]  # as measured: see Levelling.as_record
    unspoken: list[str]  # segments the engine gave no audio for
    build: str  # everything the chapter's files depend on (a digest)
    suspicious: list[str] = field(default_factory=list)  # audio the engine flagged as probably wrong
    sizes: dict[str, int] = field(default_factory=dict)  # file name -> bytes, as written
    verify: dict[str, Any] | None = None  # what convert --verify heard and re-spoke (retake.ChapterVerdict)

    @classmethod
    def parse(cls, data: object) -> ManifestChapter | None:
        """The record read from JSON; None when it is not one voxcli wrote (an edited or older manifest):
        such a chapter counts as not converted yet."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                index=_typed(data["index"], int),
                title=_typed(data["title"], str),
                files=_mapping(data["files"], str),
                duration=_number(data["duration"]),
                samples=_typed(data["samples"], int),
                characters=_typed(data["characters"], int),
                sentences=_typed(data["sentences"], int),
                sample_rate=_typed(data["sample_rate"], int),
                gain_db=_number(data["gain_db"]),
                loudness=_loudness(data["loudness"]),
                unspoken=_strings(data["unspoken"]),
                build=_typed(data["build"], str),
                suspicious=_strings(data.get("suspicious", [])),
                sizes=_mapping(data.get("sizes", {}), int),
                verify=_optional_object(data.get("verify")),
            )
        except (KeyError, TypeError):
            return None

    def as_record(self) -> dict[str, Any]:
        """The JSON object written to the manifest."""
        return {
            "index": self.index,
            "title": self.title,
            "files": self.files,
            "duration": self.duration,
            "samples": self.samples,
            "characters": self.characters,
            "sentences": self.sentences,
            "sample_rate": self.sample_rate,
            "gain_db": self.gain_db,
            "loudness": self.loudness,
            "unspoken": self.unspoken,
            "build": self.build,
            "suspicious": self.suspicious,
            "sizes": self.sizes,
            **({"verify": self.verify} if self.verify is not None else {}),
        }


def _typed(value: object, kind: type[_T]) -> _T:
    # bool is an int to Python, never to the manifest.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"expected {kind.__name__}")
    return value


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("expected a number")
    return value  # kept as read (an int stays an int), so a re-run writes the same bytes


def _mapping(value: object, kind: type[_T]) -> dict[str, _T]:
    if not isinstance(value, dict):
        raise TypeError("expected an object")
    return {_typed(k, str): _typed(v, kind) for k, v in value.items()}


def _optional_object(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError("expected an object")
    return value


def _strings(value: object) -> list[str]:
    if not isinstance(value, list):
        raise TypeError("expected a list")
    return [_typed(item, str) for item in value]


def _loudness(value: object) -> dict[str, float | None]:
    if not isinstance(value, dict):
        raise TypeError("expected an object")
    return {_typed(k, str): None if v is None else _number(v) for k, v in value.items()}


def previous_chapters(manifest: dict[str, Any]) -> dict[int, ManifestChapter]:
    """The chapters a manifest (from :func:`read_manifest`) records, by index; unreadable ones left out."""
    chapters = manifest.get("chapters", [])
    if not isinstance(chapters, list):
        return {}
    parsed = (ManifestChapter.parse(c) for c in chapters)
    return {c.index: c for c in parsed if c is not None}


def write_manifest(
    outdir: Path,
    *,
    book: dict[str, Any],
    voice: dict[str, Any],
    chapters: list[ManifestChapter],
    warnings: list[str],
    loudness: dict[str, Any] | None = None,
    audiobook: dict[str, Any] | None = None,
    products: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Write ``manifest.json`` (only when its bytes change); returns what was written.

    ``products`` are the book-level files other than the M4B, by kind: "readalong", "video"."""
    data: dict[str, Any] = {
        "voxcli": __version__,
        "book": book,
        "voice": voice,
        "loudness": loudness,
        "duration": round(sum(c.duration for c in chapters), 3),
        "chapters": [c.as_record() for c in sorted(chapters, key=lambda c: c.index)],
    }
    if audiobook is not None:
        data["audiobook"] = audiobook
    for kind, record in sorted((products or {}).items()):
        data[kind] = record
    data["warnings"] = warnings
    write_if_changed(outdir / MANIFEST, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode())
    return data


def write_playlist(
    outdir: Path,
    chapters: list[ManifestChapter],
    audiobook: dict[str, Any] | None = None,
    prefer: tuple[str, ...] = ("mp3", "wav"),
) -> None:
    """An extended M3U of the chapters' audio, in book order (MP3 when there is one); the M4B parts
    when there is no chapter audio."""
    lines = ["#EXTM3U"]
    for chapter in sorted(chapters, key=lambda c: c.index):
        audio = next((chapter.files[fmt] for fmt in prefer if fmt in chapter.files), None)
        if audio is None:
            continue
        title = " ".join(chapter.title.split())
        lines += [f"#EXTINF:{round(chapter.duration)},{title}", audio]
    if len(lines) == 1 and audiobook is not None:
        for part in audiobook.get("parts", []):
            if isinstance(part, dict) and (outdir / str(part.get("file"))).is_file():
                lines += [f"#EXTINF:{round(float(part['duration']))},{part['title']}", str(part["file"])]
    write_if_changed(outdir / PLAYLIST, ("\n".join(lines) + "\n").encode("utf-8"))
