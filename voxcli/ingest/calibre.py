"""Formats only calibre reads (LIT, PDB, LRF, ...): converted to EPUB by ``ebook-convert``, then read.

The conversion runs in a private temporary folder that is removed afterwards, with a time limit;
the EPUB it writes goes through the same hardened reader as any other EPUB.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from voxcli.book import Book
from voxcli.errors import BookError, UsageError

if TYPE_CHECKING:
    from voxcli.ingest import ReadOptions

# calibre's input formats that voxcli has no reader of its own for.
CALIBRE_SUFFIXES = (
    ".lit",
    ".pdb",
    ".lrf",
    ".pml",
    ".pmlz",
    ".rb",
    ".snb",
    ".tcr",
    ".txtz",
    ".chm",
    ".azw4",
    ".fbz",
    ".djvu",
    ".djv",
)
TIMEOUT_SECONDS = 900


def ebook_convert() -> str | None:
    """The path of calibre's converter, when calibre is installed."""
    return shutil.which("ebook-convert")


def calibre_version() -> str | None:
    """calibre's version ("6.13.0"), or None when it is not installed or does not answer."""
    program = ebook_convert()
    if program is None:
        return None
    try:
        result = subprocess.run(
            [program, "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"calibre \D*([\d.]+)", result.stdout)
    return match.group(1) if match else (result.stdout.strip().splitlines() or ["unknown"])[0]


def read_with_calibre(path: Path, options: ReadOptions) -> Book:
    program = ebook_convert()
    kind = path.suffix.lstrip(".").upper()
    if program is None:
        raise UsageError(
            f"{path.name}: voxcli reads {kind} books through calibre's ebook-convert, which is not installed",
            "install calibre (apt install calibre) or convert the book to EPUB",
        )
    from voxcli.ingest.epub import read_epub

    with tempfile.TemporaryDirectory(prefix="voxcli-calibre-") as folder:
        target = Path(folder) / "book.epub"
        try:
            result = subprocess.run(
                [program, str(path), str(target)],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                stdin=subprocess.DEVNULL,
                check=False,
                cwd=folder,
            )
        except subprocess.TimeoutExpired:
            raise BookError(
                f"{path.name}: calibre did not finish converting it within {TIMEOUT_SECONDS} s"
            ) from None
        if result.returncode != 0 or not target.exists():
            raise BookError(f"{path.name}: calibre could not convert it ({_last_error(result)})")
        book = read_epub(target, include_nonlinear=options.include_nonlinear, math=options.math)
    return replace(book, warnings=(f"converted from {kind} by calibre's ebook-convert", *book.warnings))


def _last_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = [ln.strip() for ln in (result.stderr or result.stdout or "").splitlines() if ln.strip()]
    drm = next((ln for ln in lines if "DRM" in ln), None)
    if drm:
        return "the book is DRM-protected"
    return lines[-1][:200] if lines else f"exit status {result.returncode}"
