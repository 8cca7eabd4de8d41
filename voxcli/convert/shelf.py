"""``--layout audiobookshelf``: a book's folder as Audiobookshelf (ABS) scans it, and the files it reads.

ABS takes one library item per folder, laid out ``Author/Title/`` (or ``Author/Series/Title/``), and
reads beside the audio: ``cover.jpg`` (an image named ``cover`` wins), ``desc.txt`` (the description,
trimmed), ``reader.txt`` (its first line: the narrators) and ``metadata.json``, which by default takes
precedence over everything else.

The metadata.json form follows advplyr/audiobookshelf (v2.36.0): the writer is ``getAbsMetadataJson``
in ``server/models/Book.js`` and the reader is ``parseJsonMetadataText`` (its ``mediaTypeKeys.book``
table and ``cleanChaptersArray``) in ``server/utils/generators/abmetadataGenerator.js``, called from
``server/scanner/AbsMetadataFileScanner.js``. Flat keys (the old nested ``"metadata"`` object is still
read but no longer written); strings may be null; ``series`` is a list of ``"Name #sequence"``
strings; a chapter needs a number ``start`` and ``end`` and a non-empty string ``title``, and one bad
chapter makes ABS drop them all. Author folders with several authors are written the way the ABS
docs list them: ``Ichiro Kishimi, Fumitake Koga`` (``server/utils/parsers/parseNameString.js``).
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from voxcli.book import Book, Cover
from voxcli.convert.plan import safe_name
from voxcli.fsutil import make_dirs, write_if_changed
from voxcli.ingest.xhtml import BLOCK_TAGS

UNKNOWN_AUTHOR = "Unknown Author"
UNTITLED = "Untitled"
COVER, DESCRIPTION, READER, METADATA = "cover.jpg", "desc.txt", "reader.txt", "metadata.json"

# What ABS's reader accepts for a book (abmetadataGenerator.js, mediaTypeKeys.book), plus chapters.
BOOK_KEYS: dict[str, str] = {
    "tags": "stringArray",
    "title": "string",
    "subtitle": "string",
    "authors": "stringArray",
    "narrators": "stringArray",
    "series": "stringArray",
    "genres": "stringArray",
    "publishedYear": "string",
    "publishedDate": "string",
    "publisher": "string",
    "description": "string",
    "isbn": "string",
    "asin": "string",
    "language": "string",
    "explicit": "boolean",
    "abridged": "boolean",
}

# Names Windows keeps for devices, whatever the extension: "NUL.txt" is the NUL device too.
_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}
# ABS reads "Title {Narrator}" and "Title [B0ASIN1234]" out of a title folder's name.
_FOLDER_MARKUP = str.maketrans("{}[]", "()()")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_BLOCK = BLOCK_TAGS | {"br"}  # what starts a new line in desc.txt


def shelf_folder(root: Path, book: Book) -> Path:
    """``root/Author/Title``: where ABS looks for the book, with names every file system accepts."""
    return root / _folder_name(book.author, UNKNOWN_AUTHOR) / _folder_name(book.title, UNTITLED)


def write_shelf_files(
    folder: Path,
    book: Book,
    *,
    narrator: str,
    chapters: Sequence[tuple[str, float, float]],
    cover: Cover | None,
    tags: Sequence[str] = ("Audiobook",),
) -> list[str]:
    """Write ABS's files into ``folder`` (created if missing); returns the names written.

    ``chapters`` are (title, start, end) in seconds of the whole audiobook, in order. No cover (or
    one Pillow cannot read) writes no cover.jpg; an empty description no desc.txt, an empty narrator
    no reader.txt. metadata.json is always written.
    """
    make_dirs(folder)
    written: list[str] = []
    jpeg = cover_jpeg(cover) if cover is not None else None
    if jpeg is not None:
        write_if_changed(folder / COVER, jpeg)
        written.append(COVER)
    description = plain_text(book.description)
    if description:
        write_if_changed(folder / DESCRIPTION, (description + "\n").encode("utf-8"))
        written.append(DESCRIPTION)
    reader = " ".join(narrator.split())  # ABS reads the first line only
    if reader:
        write_if_changed(folder / READER, (reader + "\n").encode("utf-8"))
        written.append(READER)
    data = abs_metadata(book, narrator=reader, chapters=chapters, tags=tags, description=description)
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    write_if_changed(folder / METADATA, text.encode("utf-8"))
    written.append(METADATA)
    return written


def abs_metadata(
    book: Book,
    *,
    narrator: str,
    chapters: Sequence[tuple[str, float, float]],
    tags: Sequence[str] = ("Audiobook",),
    description: str | None = None,
) -> dict[str, Any]:
    """metadata.json as ABS writes it (``Book.getAbsMetadataJson``): same keys, order and types."""
    if description is None:
        description = plain_text(book.description)
    return {
        "tags": _names(tags),
        "chapters": _chapters(chapters),
        "title": _one_line(book.title) or UNTITLED,
        "subtitle": None,
        "authors": _names(book.author.split(",")),
        "narrators": _names([narrator]),
        "series": [],
        "genres": [],
        "publishedYear": book.year if re.fullmatch(r"\d{4}", book.year) else None,
        "publishedDate": None,
        "publisher": None,
        "description": description or None,
        "isbn": None,
        "asin": None,
        "language": book.language or None,
        "explicit": False,
        "abridged": False,
    }


def cover_jpeg(cover: Cover) -> bytes | None:
    """The cover as JPEG bytes: a JPEG as it is, any other image Pillow reads converted; None when
    Pillow cannot read it."""
    try:
        with Image.open(io.BytesIO(cover.data)) as image:
            if image.format == "JPEG" and image.mode in ("RGB", "L"):
                image.verify()
                return cover.data
            image.load()
            frame = image.convert("RGBA") if _has_alpha(image) else image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        return None
    if frame.mode == "RGBA":  # JPEG has no transparency: lay the image on white
        background = Image.new("RGB", frame.size, (255, 255, 255))
        background.paste(frame, mask=frame.getchannel("A"))
        frame = background
    out = io.BytesIO()
    frame.save(out, format="JPEG", quality=92, optimize=True)
    return out.getvalue()


def plain_text(description: str) -> str:
    """A description as plain text: HTML tags removed, entities decoded, paragraphs kept as lines."""
    if "<" not in description and "&" not in description:
        return _tidy(description)
    parser = _TextOnly()
    parser.feed(description)
    parser.close()
    return _tidy("".join(parser.parts))


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _tidy(text: str) -> str:
    """Runs of spaces collapsed within lines, blank lines dropped, lines stripped."""
    lines = (" ".join(line.split()) for line in text.replace("\r", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def _folder_name(text: str, fallback: str) -> str:
    name = safe_name(text.translate(_FOLDER_MARKUP), fallback)
    stem, dot, rest = name.partition(".")
    if stem.strip().upper() in _RESERVED:  # "con.txt" would still be the console on Windows
        name = f"{stem.strip()} (book){dot}{rest}"
    return name


def _chapters(chapters: Sequence[tuple[str, float, float]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    previous_end = 0.0
    for index, (title, start, end) in enumerate(chapters):
        if not (math.isfinite(start) and math.isfinite(end)) or start < previous_end - 1e-6 or end <= start:
            raise ValueError(f"chapter {index + 1} ({start}..{end}) is out of order or empty")
        previous_end = end
        # ABS drops every chapter when one title is empty
        name = _one_line(title) or f"Chapter {index + 1}"
        out.append({"id": index, "start": round(start, 3), "end": round(end, 3), "title": name})
    return out


def _names(values: Sequence[str]) -> list[str]:
    """Trimmed, non-empty, without duplicates: what ABS keeps of a string array."""
    return list(dict.fromkeys(name for name in (_one_line(v) for v in values) if name))


def _one_line(text: str) -> str:
    """One line of text: control characters dropped, runs of spaces collapsed."""
    return " ".join(_CONTROL.sub(" ", text).split())


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
