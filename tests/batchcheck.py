"""What the batch tests share: a library of corpus books, voices, real runs, and the library's files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import soundfile

from tests.conftest import REPO, corpus_file

SCRIPT = REPO / "tests" / "voxcli_with_fakes.py"
BROKEN = "xxe_opf.epub"  # refused (an XXE attack): the batch reports it and goes on


def shelf(folder: Path) -> Path:
    """Four corpus books, one of them broken, in ``folder/books`` (a subfolder for one of them)."""
    books = folder / "books"
    (books / "manuals").mkdir(parents=True)
    shutil.copy(corpus_file("epub", "cnt-mathml-support.epub"), books)
    shutil.copy(corpus_file("md", "rust-book-ch04-01-what-is-ownership.md"), books)
    shutil.copy(corpus_file("bad", "epub2__epub_ocf-minimal-valid.epub"), books / "manuals")
    shutil.copy(corpus_file("bad", BROKEN), books)
    return books


GOOD = ("cnt-mathml-support", "manuals/epub2__epub_ocf-minimal-valid", "rust-book-ch04-01-what-is-ownership")


def tone_voices(folder: Path, *, delay: float = 0.0, extra: str = "") -> Path:
    """A voices.toml whose default is the fake engine's tones (``delay`` seconds per sentence)."""
    path = folder / f"voices-{delay}.toml"
    path.write_text(
        f'default = "tone"\n[voices.tone]\nengine = "fake"\nvoice = "tone"\n'
        f"[voices.tone.options]\ndelay = {delay}\n{extra}",
        encoding="utf-8",
    )
    return path


def batch_args(*args: str | Path) -> list[str]:
    """A real ``voxcli batch`` process with the test engines registered."""
    return [sys.executable, str(SCRIPT), "batch", *map(str, args)]


def run_batch(
    *args: str | Path, timeout: float = 600, env: dict[str, str] | None = None
) -> tuple[int, dict, str]:
    """(exit code, the --json summary, stderr) of a real batch run."""
    result = subprocess.run(
        batch_args(*args, "--json"), capture_output=True, text=True, cwd=REPO, timeout=timeout, env=env
    )
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout), result.stderr


def library_files(library: Path) -> dict[str, bytes]:
    """Every file of the library for people and players (not the hidden state), by relative path."""
    return {
        str(p.relative_to(library)): p.read_bytes()
        for p in sorted(library.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(library).parts)
    }


def cache_entries(library: Path) -> set[str]:
    """The names of every book's sentence cache entries."""
    return {p.name for p in library.glob("**/.voxcli/cache/*/*.voxc")}


def wav_seconds(folder: Path) -> list[float]:
    """The duration of each chapter WAV in the folder, decoded by libsndfile."""
    return [soundfile.info(str(p)).duration for p in sorted(folder.glob("*.wav"))]


def by_book(summary: dict) -> dict[str, dict]:
    """The summary's books by file name."""
    return {Path(book["book"]).name: book for book in summary["books"]}
