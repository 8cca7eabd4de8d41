"""Tags in audio files (mutagen): ID3v2 for MP3 chapters."""

from __future__ import annotations

from pathlib import Path

from voxcli.fsutil import write_error


def tag_mp3(
    path: Path,
    *,
    title: str,
    album: str,
    artist: str,
    track: int,
    tracks: int,
    narrator: str = "",
    shown: Path | None = None,
) -> None:
    """ID3v2.3 tags: title, album (the book), artist (the author), track n/total, genre Audiobook, and
    the narrator as composer (where Audiobookshelf and most audiobook players look for it)."""
    from mutagen.id3 import ID3, TALB, TCOM, TCON, TIT2, TPE1, TRCK

    id3 = ID3()
    id3.add(TIT2(encoding=3, text=title))
    id3.add(TALB(encoding=3, text=album))
    if artist:
        id3.add(TPE1(encoding=3, text=artist))
    id3.add(TRCK(encoding=3, text=f"{track}/{tracks}"))
    id3.add(TCON(encoding=3, text="Audiobook"))
    if narrator:
        id3.add(TCOM(encoding=3, text=narrator))
    try:
        id3.save(path, v2_version=3)
    except OSError as exc:
        raise write_error(shown or path, exc) from exc
