"""manifest.json and playlist.m3u: what the output folder holds, for people, players and re-runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from voxcli import __version__
from voxcli.fsutil import atomic_write_bytes

MANIFEST = "manifest.json"
PLAYLIST = "playlist.m3u"


def read_manifest(outdir: Path) -> dict[str, Any]:
    """The folder's manifest, or an empty one when there is none (or it is unreadable)."""
    try:
        data = json.loads((outdir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def previous_chapters(manifest: dict[str, Any]) -> dict[int, dict[str, Any]]:
    chapters = manifest.get("chapters", [])
    if not isinstance(chapters, list):
        return {}
    return {c["index"]: c for c in chapters if isinstance(c, dict) and isinstance(c.get("index"), int)}


def write_manifest(
    outdir: Path,
    book: dict[str, Any],
    voice: dict[str, Any],
    chapters: list[dict[str, Any]],
    warnings: list[str],
    loudness: dict[str, Any] | None = None,
    audiobook: dict[str, Any] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "voxcli": __version__,
        "book": book,
        "voice": voice,
        "loudness": loudness,
        "duration": round(sum(c["duration"] for c in chapters), 3),
        "chapters": sorted(chapters, key=lambda c: c["index"]),
    }
    if audiobook is not None:
        data["audiobook"] = audiobook
    data["warnings"] = warnings
    _write_if_changed(outdir / MANIFEST, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode())
    return data


def _write_if_changed(path: Path, data: bytes) -> None:
    # A re-run with nothing to do leaves the folder exactly as it was, timestamps included.
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    atomic_write_bytes(path, data)


def write_playlist(
    outdir: Path,
    chapters: list[dict[str, Any]],
    audiobook: dict[str, Any] | None = None,
    prefer: tuple[str, ...] = ("mp3", "wav"),
) -> None:
    """An extended M3U of the chapters' audio, in book order (MP3 when there is one); the M4B parts
    when there is no chapter audio."""
    lines = ["#EXTM3U"]
    for chapter in sorted(chapters, key=lambda c: c["index"]):
        audio = next((chapter["files"][fmt] for fmt in prefer if fmt in chapter["files"]), None)
        if audio is None:
            continue
        title = " ".join(str(chapter["title"]).split())
        lines += [f"#EXTINF:{round(chapter['duration'])},{title}", audio]
    if len(lines) == 1 and audiobook is not None:
        for part in audiobook.get("parts", []):
            if isinstance(part, dict) and (outdir / str(part.get("file"))).is_file():
                lines += [f"#EXTINF:{round(float(part['duration']))},{part['title']}", str(part["file"])]
    _write_if_changed(outdir / PLAYLIST, ("\n".join(lines) + "\n").encode("utf-8"))
