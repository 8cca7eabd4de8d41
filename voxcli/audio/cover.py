"""Cover images for M4B files: MP4 holds JPEG or PNG, told apart by their bytes, not their names."""

from __future__ import annotations

from pathlib import Path

from voxcli.book import Cover
from voxcli.errors import UsageError

MAX_COVER_BYTES = 20 * 1024 * 1024


def image_type(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def cover_problem(cover: Cover) -> str | None:
    """Why the book's own cover cannot go into an M4B, or None when it can."""
    if len(cover.data) > MAX_COVER_BYTES:
        size = len(cover.data) / 1e6
        return f"the book's cover is {size:.0f} MB, over the {MAX_COVER_BYTES // 2**20} MiB limit"
    if image_type(cover.data) is None:
        return f"the book's cover ({cover.media_type}) is not a JPEG or PNG image"
    return None


def usable(cover: Cover | None) -> Cover | None:
    """The cover with its true media type, or None when it cannot be embedded."""
    if cover is None or cover_problem(cover) is not None:
        return None
    kind = image_type(cover.data)
    assert kind is not None
    return Cover(media_type=kind, data=cover.data)


def read_cover(path: Path) -> Cover:
    """``--cover FILE``: a JPEG or PNG image, or a UsageError naming what is wrong."""
    try:
        size = path.stat().st_size
        if size > MAX_COVER_BYTES:
            raise UsageError(
                f"--cover: {path} is {size / 1e6:.0f} MB; covers are limited to "
                f"{MAX_COVER_BYTES // 2**20} MiB",
                "give a smaller JPEG or PNG image",
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"--cover: {path} does not exist", "give the path of a JPEG or PNG image") from None
    except IsADirectoryError:
        raise UsageError(f"--cover: {path} is a folder", "give the path of a JPEG or PNG image") from None
    except OSError as exc:
        raise UsageError(
            f"--cover: cannot read {path}: {exc.strerror}", "check the file's permissions"
        ) from None
    kind = image_type(data)
    if kind is None:
        raise UsageError(
            f"--cover: {path} is not a JPEG or PNG image", "convert it, e.g. with an image editor"
        )
    return Cover(media_type=kind, data=data)
