"""The picture of an audiobook video: the cover fitted on a canvas or a title card, and burned subtitles.

Everything here is Pillow, in RGB; :mod:`voxcli.video.mp4` turns the images into video frames.
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Union

from PIL import Image, ImageColor, ImageDraw, ImageFont, ImageOps

from voxcli.book import Cover
from voxcli.errors import VoxError

Font = Union[ImageFont.FreeTypeFont, ImageFont.ImageFont]  # noqa: UP007 (a runtime alias on 3.10)
RGB = tuple[int, int, int]

BACKGROUND: RGB = (18, 19, 24)  # the letterbox and title-card canvas
TITLE_COLOUR: RGB = (240, 240, 236)
AUTHOR_COLOUR: RGB = (190, 192, 198)
SECTION_COLOUR: RGB = (236, 196, 120)
# Formats Pillow decodes that a book's cover may use; anything else is not a picture for the video.
COVER_FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP", "BMP"})
MAX_COVER_PIXELS = 80_000_000  # a 9000x9000 cover; more is a decompression bomb, not a cover


@dataclass(frozen=True)
class SubtitleStyle:
    """How burned subtitles look (``--burn-subtitles``)."""

    font: Path | None = None  # a TTF/OTF file; None: Pillow's bundled font
    size: int = 0  # pixels; 0: picked from the frame height (about height/16)
    position: Literal["bottom", "middle", "top"] = "bottom"
    colour: str = "white"  # drawn with a dark outline on a translucent box, so it reads on any cover


MAX_FONT_LOOKUPS = 16  # fc-match runs per process, at most: a font for each script a book uses


def load_font(path: Path | None, size: int) -> Font:
    """The font file at ``path`` (or Pillow's bundled one) at ``size`` pixels; VoxError when unreadable."""
    try:
        return _font(None if path is None else str(path), size)
    except OSError as exc:
        raise VoxError(
            f"cannot use the subtitle font {path}: {exc}",
            "give a TrueType or OpenType font file (.ttf, .otf), or leave the font unset",
        ) from exc


def font_for(text: str, size: int, chosen: Path | None) -> Font:
    """The font to draw ``text`` with: the one chosen, else Pillow's bundled font (Latin), else, when that
    lacks some of the text's characters (Cyrillic, Greek, Chinese...), an installed font that has them
    (found with fontconfig's ``fc-match``), else the bundled font anyway."""
    if chosen is not None:
        return load_font(chosen, size)
    missing = _missing(None, text)
    if missing:
        fallback = _fallback(missing)
        if fallback is not None:
            return _font(fallback, size)
    return _font(None, size)


@functools.lru_cache(maxsize=64)
def _font(path: str | None, size: int) -> Font:
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size)


def _missing(path: str | None, text: str) -> str:
    """The characters of ``text`` that the font at ``path`` (None: the bundled one) draws as a box."""
    return "".join(sorted({c for c in text if _drawn(c) and not _has_glyph(path, c)}))


def _drawn(char: str) -> bool:
    return unicodedata.category(char)[0] not in "ZCM"  # not spaces, controls or combining marks


@functools.lru_cache(maxsize=8192)
def _has_glyph(path: str | None, char: str) -> bool:
    font = _font(path, 24)
    if not isinstance(font, ImageFont.FreeTypeFont):
        return True  # a bitmap font: nothing better to offer
    return bytes(font.getmask(char)) != _notdef(path)


@functools.lru_cache(maxsize=16)
def _notdef(path: str | None) -> bytes:
    return bytes(_font(path, 24).getmask("\U0010fffd"))  # a private-use character no font draws


_fallbacks: list[str] = []  # installed fonts found so far, each drawing some characters the bundled one lacks
_asked: set[str] = set()  # characters fontconfig has been asked about
_lookups = [0]


def _fallback(missing: str) -> str | None:
    """The installed font file drawing the most characters of ``missing`` (all, if one does), or None."""
    best, left = None, missing
    for path in _fallbacks:
        lacking = _missing(path, missing)
        if len(lacking) < len(left):
            best, left = path, lacking
    if not left:
        return best
    unasked = "".join(c for c in left if c not in _asked)
    fc_match = shutil.which("fc-match")
    if not unasked or fc_match is None or _lookups[0] >= MAX_FONT_LOOKUPS:
        return best
    _lookups[0] += 1
    _asked.update(unasked)
    charset = " ".join(f"{ord(c):x}" for c in unasked[:64])
    try:
        found = subprocess.run(
            [fc_match, "--format=%{file}", f"sans-serif:charset={charset}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
        if not found or found in _fallbacks or not Path(found).is_file():
            return best
        lacking = _missing(found, missing)
    except (OSError, subprocess.SubprocessError):  # no fontconfig, or not a font Pillow reads
        return best
    if len(lacking) < len(missing):
        _fallbacks.append(found)
    return found if len(lacking) < len(left) else best


def parse_colour(colour: str) -> RGB:
    try:
        rgb = ImageColor.getrgb(colour)
    except ValueError as exc:
        raise VoxError(f"{colour!r} is not a colour", "use a colour name (white, yellow) or #rrggbb") from exc
    return rgb[0], rgb[1], rgb[2]


def cover_image(cover: Cover | None, width: int, height: int) -> Image.Image | None:
    """The cover scaled to fit ``width`` x ``height`` (aspect kept) on the dark canvas, or None when the
    cover is absent or not a picture Pillow can read."""
    if cover is None or not cover.data:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(cover.data)) as source:
                if source.format not in COVER_FORMATS or source.width * source.height > MAX_COVER_PIXELS:
                    return None
                source.draft("RGB", (width, height))  # JPEG: decode at a reduced scale, much faster
                image = _flatten(ImageOps.exif_transpose(source))  # a camera's "rotate me" tag obeyed
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None
    scale = min(width / image.width, height / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    fitted = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    canvas.paste(fitted, ((width - size[0]) // 2, (height - size[1]) // 2))
    return canvas


def _flatten(source: Image.Image) -> Image.Image:
    """RGB, with any transparency laid on the canvas colour."""
    if source.mode in ("RGBA", "LA", "PA") or (source.mode == "P" and "transparency" in source.info):
        rgba = source.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        return Image.alpha_composite(base, rgba).convert("RGB")
    return source.convert("RGB")


def title_card(
    width: int,
    height: int,
    *,
    title: str,
    author: str,
    section: str,
    font: Path | None = None,
    keep_clear: Literal["bottom", "middle", "top"] | None = None,
) -> Image.Image:
    """A dark card with the book's title, its author and the section's title, wrapped and centred; with
    ``keep_clear``, centred in the rest of the picture, leaving a band there for burned subtitles."""
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    room = int(width * 0.84)
    blocks: list[tuple[list[str], Font, RGB, int]] = []
    for text, share, colour, most in (
        (title, 11, TITLE_COLOUR, 3),
        (author, 20, AUTHOR_COLOUR, 2),
        (section, 15, SECTION_COLOUR, 3),
    ):
        text = " ".join(text.split())
        if not text:
            continue
        face = font_for(text, max(12, height // share), font)
        lines = wrap(text, face, room, draw)
        if len(lines) > most:
            lines = [*lines[: most - 1], _ellipsis(" ".join(lines[most - 1 :]), face, room, draw)]
        blocks.append((lines, face, colour, _line_height(face)))
    gap = height // 18
    total = sum(len(lines) * step for lines, _, _, step in blocks) + gap * max(0, len(blocks) - 1)
    area_top, area_height = {"bottom": (0, height * 3 // 4), "top": (height // 4, height * 3 // 4)}.get(
        keep_clear or "middle", (0, height)
    )
    y = area_top + max(0, (area_height - total) // 2)
    for lines, face, colour, step in blocks:
        for line in lines:
            draw.text((width // 2, y + step // 2), line, font=face, fill=colour, anchor="mm")
            y += step
        y += gap
    return canvas


class SubtitlePainter:
    """Draws a cue's lines onto a picture, as :class:`SubtitleStyle` says."""

    def __init__(self, style: SubtitleStyle, width: int, height: int) -> None:
        self._style = style
        self._width = width
        self._height = height
        self._size = style.size if style.size > 0 else max(12, round(height / 16))
        load_font(style.font, self._size)  # a bad font file fails here, before anything is written
        self._colour = parse_colour(style.colour)

    def paint(self, picture: Image.Image, lines: Sequence[str]) -> Image.Image:
        """A copy of ``picture`` with ``lines`` drawn on it (the picture itself when there is no text)."""
        placed = self.patch(picture, lines)
        if placed is None:
            return picture
        corner, patch = placed
        image = picture.copy()
        image.paste(patch, corner)
        return image

    def patch(self, picture: Image.Image, lines: Sequence[str]) -> tuple[tuple[int, int], Image.Image] | None:
        """The part of ``picture`` the text covers, with the text drawn on it, and its top-left corner (both
        even, as yuv420p needs); None when there is no text. Cheaper than :meth:`paint`: the rest of the
        picture is neither copied nor converted again."""
        text = [" ".join(line.split()) for line in lines]
        text = [line for line in text if line]
        if not text:
            return None
        measure = ImageDraw.Draw(picture)  # measures only; nothing is drawn on the picture
        font, wrapped = self._fit(text, measure)
        step = _line_height(font)
        pad = max(4, step // 4)
        block_w = max(int(measure.textlength(line, font=font)) for line in wrapped) + 2 * pad
        block_h = step * len(wrapped) + pad
        margin = max(8, self._height // 20)
        top = {
            "bottom": self._height - margin - block_h,
            "middle": (self._height - block_h) // 2,
            "top": margin,
        }[self._style.position]
        top = max(0, top) & ~1
        left = max(0, (self._width - block_w) // 2) & ~1
        right = min(self._width, (left + block_w + 1) & ~1)
        bottom = min(self._height, (top + block_h + 1) & ~1)
        # A translucent dark box behind the text, so that it reads on any cover.
        region = picture.crop((left, top, right, bottom)).convert("RGBA")
        shade = Image.new("RGBA", region.size, (0, 0, 0, 150))
        patch = Image.alpha_composite(region, shade).convert("RGB")
        draw = ImageDraw.Draw(patch)
        outline = max(1, round(font.size / 14)) if isinstance(font, ImageFont.FreeTypeFont) else 0
        y = top + pad // 2
        for line in wrapped:
            draw.text(
                (self._width // 2 - left, y + step // 2 - top),
                line,
                font=font,
                fill=self._colour,
                anchor="mm",
                stroke_width=outline,
                stroke_fill=(0, 0, 0),
            )
            y += step
        return (left, top), patch

    def _fit(self, lines: list[str], measure: ImageDraw.ImageDraw) -> tuple[Font, list[str]]:
        """The font and wrapped lines: the style's size, made smaller when the text would cover more
        than about 40 % of the picture."""
        room = int(self._width * 0.9)
        size = self._size
        while True:
            font = font_for(" ".join(lines), size, self._style.font)
            wrapped = [part for line in lines for part in wrap(line, font, room, measure)]
            if _line_height(font) * len(wrapped) <= self._height * 0.4 or size <= 12:
                return font, wrapped
            size = max(12, int(size * 0.85))


def wrap(text: str, font: Font, room: int, draw: ImageDraw.ImageDraw) -> list[str]:
    """``text`` cut into lines no wider than ``room`` pixels, at spaces; a word wider than a line (or text
    with no spaces, as in Chinese) is cut between characters."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if draw.textlength(candidate, font=font) <= room:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        while draw.textlength(word, font=font) > room and len(word) > 1:
            cut = _longest_prefix(word, font, room, draw)
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines


def _longest_prefix(word: str, font: Font, room: int, draw: ImageDraw.ImageDraw) -> int:
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if draw.textlength(word[:middle], font=font) <= room:
            low = middle
        else:
            high = middle - 1
    return low


def _ellipsis(text: str, font: Font, room: int, draw: ImageDraw.ImageDraw) -> str:
    if draw.textlength(text, font=font) <= room:
        return text
    while text and draw.textlength(text + "…", font=font) > room:
        text = text[:-1]
    return text.rstrip() + "…"


def _line_height(font: Font) -> int:
    if isinstance(font, ImageFont.FreeTypeFont):
        ascent, descent = font.getmetrics()
        return int((ascent + descent) * 1.15)
    box = font.getbbox("Hg")
    return int((box[3] - box[1]) * 1.4) + 2
