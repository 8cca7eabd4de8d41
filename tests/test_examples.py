"""examples/Makefile and examples/convert-all.sh: convert a folder of books incrementally.

They run the real voxcli command line (through tests/voxcli_with_fakes.py, for the fast 'fake'
engine) on tiny books written here; one test speaks with eSpeak-NG.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import soundfile

from tests.audiocheck import assert_speech

pytestmark = pytest.mark.slow  # make and a shell script converting folders of books

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
SCRIPT = EXAMPLES / "convert-all.sh"
FAKE_VOXCLI = f"{sys.executable} {REPO / 'tests' / 'voxcli_with_fakes.py'}"
VOICES = 'default = "tone"\n[voices.tone]\nengine = "fake"\nvoice = "tone"\n'

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")


def _txt(path: Path, *chapters: str) -> Path:
    numbers = ("I", "II", "III", "IV", "V")
    text = "".join(f"CHAPTER {numbers[i]}\n\n{words}\n\n" for i, words in enumerate(chapters))
    path.write_text(text, encoding="utf-8")
    return path


def _md(path: Path, *chapters: str) -> Path:
    path.write_text(
        "".join(f"# Part {i}\n\n{words}\n\n" for i, words in enumerate(chapters, 1)), encoding="utf-8"
    )
    return path


def _epub(path: Path, title: str, words: str) -> Path:
    """A minimal EPUB 3: one chapter and its navigation document."""
    xhtml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml" '
        'xmlns:epub="http://www.idpf.org/2007/ops" xml:lang="en"><head><title>{0}</title></head>'
        "<body>{1}</body></html>"
    )
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        book.writestr(
            "META-INF/container.xml",
            (
                '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:'
                'container"><rootfiles><rootfile full-path="OPS/package.opf" '
                'media-type="application/oebps-package+xml"/></rootfiles></container>'
            ),
        )
        book.writestr(
            "OPS/package.opf",
            (
                '<?xml version="1.0" encoding="UTF-8"?><package xmlns="http://www.idpf.org/2007/opf" '
                'version="3.0" unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
                f"<dc:title>{title}</dc:title><dc:language>en</dc:language>"
                '<dc:identifier id="id">x</dc:identifier>'
                '<meta property="dcterms:modified">2024-01-01T00:00:00Z</meta></metadata><manifest>'
                '<item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/>'
                '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
                '</manifest><spine><itemref idref="c1"/></spine></package>'
            ),
        )
        book.writestr(
            "OPS/nav.xhtml",
            xhtml.format(
                "Contents", '<nav epub:type="toc"><ol><li><a href="c1.xhtml">Opening</a></li></ol></nav>'
            ),
        )
        book.writestr("OPS/c1.xhtml", xhtml.format("Opening", f"<h1>Opening</h1><p>{words}</p>"))
    return path


@pytest.fixture
def library(tmp_path: Path) -> tuple[Path, Path]:
    """A books folder with two tiny books, and the (not yet created) audiobooks folder."""
    books = tmp_path / "books"
    books.mkdir()
    _txt(books / "alpha.txt", "It was a dark night. The rain fell.", "Morning came at last.")
    _md(books / "beta.md", "Hello there. What a fine day.", "Good bye now.")
    return books, tmp_path / "audiobooks"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of the example runs: the fake engine's voices.toml, no outer make's flags."""
    voices = tmp_path / "voices.toml"
    voices.write_text(VOICES, encoding="utf-8")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VOXCLI_VOICES", "VOXCLI")
    }
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        NO_COLOR="1",
        VOICES_FILE=str(voices),
    )
    return env


def _make(
    books: Path, out: Path, env: dict[str, str], *args: str, flags: str = "--jobs 1"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            str(EXAMPLES),
            f"BOOKS_DIR={books}",
            f"OUT_DIR={out}",
            f"VOXCLI={FAKE_VOXCLI}",
            f"VOXCLI_FLAGS=--voices {env['VOICES_FILE']} {flags}",
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _script(books: Path, out: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), str(books), str(out), "--voices", env["VOICES_FILE"], "--format", "mp3", *args],
        capture_output=True,
        text=True,
        env={**env, "VOXCLI": FAKE_VOXCLI},
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _converted_by_make(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The books whose convert command make ran (it echoes each recipe line)."""
    return sorted(
        Path(line.split(" convert ", 1)[1].split('" -o ', 1)[0].strip('"')).name
        for line in result.stdout.splitlines()
        if " convert " in line
    )


def _snapshot(folder: Path) -> dict[str, int]:
    """Every file of an audiobook folder (the stamp and manifest included) and its mtime."""
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir() if p.is_file()}


def _check_audiobook(folder: Path, chapters: int, fmt: str = "mp3") -> None:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["chapters"]) == chapters
    assert (folder / ".converted").is_file() and (folder / "playlist.m3u").is_file()
    for chapter in manifest["chapters"]:
        audio = folder / chapter["files"][fmt]
        samples, rate = soundfile.read(audio)
        assert rate > 0 and len(samples) / rate > 0.5, audio
        assert (folder / chapter["files"]["srt"]).is_file()


def _touch(book: Path, stamp: Path) -> None:
    """Give ``book`` a modification time later than ``stamp``'s, as an editor saving it would."""
    while True:
        os.utime(book)
        if book.stat().st_mtime_ns > stamp.stat().st_mtime_ns:
            return
        time.sleep(0.01)


@needs_make
def test_makefile_converts_only_new_and_changed_books(library, env) -> None:
    books, out = library
    first = _make(books, out, env, "-j2")
    assert first.returncode == 0, first.stderr
    assert _converted_by_make(first) == ["alpha.txt", "beta.md"]
    _check_audiobook(out / "alpha", 2)
    _check_audiobook(out / "beta", 2)

    # Nothing changed: make has nothing to do and voxcli does not even start.
    assert _make(books, out, env, "-q").returncode == 0
    before = {name: _snapshot(out / name) for name in ("alpha", "beta")}
    again = _make(books, out, env, "-j2")
    assert again.returncode == 0 and _converted_by_make(again) == [], again.stdout
    assert {name: _snapshot(out / name) for name in ("alpha", "beta")} == before

    # A new book: only it is converted; the others' files keep their modification times.
    _epub(books / "gamma.epub", "Gamma", "Call me Ishmael. Some years ago I went to sea.")
    added = _make(books, out, env, "-j2")
    assert added.returncode == 0, added.stderr
    assert _converted_by_make(added) == ["gamma.epub"]
    _check_audiobook(out / "gamma", 1)
    assert {name: _snapshot(out / name) for name in ("alpha", "beta")} == before

    # An edited book is converted again, and only it.
    _touch(books / "beta.md", out / "beta" / ".converted")
    assert _make(books, out, env, "-q").returncode != 0
    touched = _make(books, out, env)
    assert touched.returncode == 0, touched.stderr
    assert _converted_by_make(touched) == ["beta.md"]
    assert _snapshot(out / "alpha") == before["alpha"]
    assert _make(books, out, env, "-q").returncode == 0


@needs_make
def test_makefile_failing_book_gets_no_stamp(library, env) -> None:
    books, out = library
    (books / "broken.epub").write_bytes(b"this is not a zip file\x00\xff" * 40)
    result = _make(books, out, env, "-k", "-j2")
    assert result.returncode != 0
    assert "broken.epub" in result.stderr
    _check_audiobook(out / "alpha", 2)
    _check_audiobook(out / "beta", 2)
    assert not (out / "broken" / ".converted").exists()
    # The next run tries the broken book again, and only it.
    retry = _make(books, out, env, "-k")
    assert retry.returncode != 0 and _converted_by_make(retry) == ["broken.epub"]


@needs_make
def test_makefile_refuses_names_it_cannot_handle(library, env) -> None:
    books, out = library
    _txt(books / "two words.txt", "A sentence.")
    result = _make(books, out, env, "-n")
    assert result.returncode != 0
    assert '"two words.txt"' in result.stderr and "convert-all.sh" in result.stderr
    (books / "two words.txt").unlink()
    _md(books / "alpha.md", "Same name as alpha.txt.")
    result = _make(books, out, env, "-n")
    assert result.returncode != 0 and "alpha.*" in result.stderr
    assert not out.exists()


@needs_make
def test_makefile_speaks_with_espeak(tmp_path, env) -> None:
    books = tmp_path / "books"
    books.mkdir()
    _txt(books / "short.txt", "The quick brown fox jumps over the lazy dog. It was a bright cold day.")
    out = tmp_path / "audiobooks"
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            str(EXAMPLES),
            f"BOOKS_DIR={books}",
            f"OUT_DIR={out}",
            f"VOXCLI={sys.executable} -m voxcli",
            "VOICE=espeak:en-us",
            "FORMAT=wav",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    _check_audiobook(out / "short", 1, "wav")
    samples, rate = soundfile.read(out / "short" / "01 - CHAPTER I.wav", dtype="float32")
    assert_speech(samples, rate, 2.0, 15.0)


@needs_bash
def test_script_converts_only_new_and_changed_books(library, env) -> None:
    books, out = library
    _txt(books / "two words.txt", "Spaces in names are fine here.")
    first = _script(books, out, env)
    assert first.returncode == 0, first.stderr
    assert sorted(first.stdout.splitlines()[:-1]) == [
        "alpha.txt: converted",
        "beta.md: converted",
        "two words.txt: converted",
    ]
    assert first.stdout.splitlines()[-1] == "3 book(s): 3 converted, 0 up to date, 0 failed"
    for name, chapters in (("alpha", 2), ("beta", 2), ("two words", 1)):
        _check_audiobook(out / name, chapters)

    names = ("alpha", "beta", "two words")
    before = {name: _snapshot(out / name) for name in names}
    again = _script(books, out, env)
    assert again.returncode == 0, again.stderr
    assert "converted" not in again.stdout.replace("0 converted", "")
    assert {name: _snapshot(out / name) for name in names} == before

    # A new book, an edited book and a broken one: the broken one fails, the others go on.
    _epub(books / "gamma.epub", "Gamma", "Call me Ishmael. Some years ago I went to sea.")
    _touch(books / "beta.md", out / "beta" / ".converted")
    (books / "bad.epub").write_bytes(b"this is not a zip file\x00\xff" * 40)
    third = _script(books, out, env)
    assert third.returncode == 1
    lines = third.stdout.splitlines()
    assert sorted(lines[:-1]) == [
        "alpha.txt: up to date",
        "bad.epub: failed (exit 3)",
        "beta.md: converted",
        "gamma.epub: converted",
        "two words.txt: up to date",
    ]
    assert lines[-1] == "5 book(s): 2 converted, 2 up to date, 1 failed"
    assert third.stderr.rstrip().endswith("  bad.epub")
    _check_audiobook(out / "gamma", 1)
    assert _snapshot(out / "alpha") == before["alpha"]
    assert _snapshot(out / "two words") == before["two words"]
    # The touched book was converted again (a new stamp); its text did not change, so voxcli rewrote nothing.
    assert _snapshot(out / "beta")[".converted"] != before["beta"][".converted"]
    assert _snapshot(out / "beta")["manifest.json"] == before["beta"]["manifest.json"]
    assert not (out / "bad").exists()


@needs_bash
def test_script_usage_and_missing_command(library, env) -> None:
    books, out = library
    result = subprocess.run(["bash", str(SCRIPT), str(books)], capture_output=True, text=True, env=env)
    assert result.returncode == 2 and result.stderr.startswith("usage: convert-all.sh BOOKS_DIR OUT_DIR")
    result = subprocess.run(
        ["bash", str(SCRIPT), str(books), str(out)],
        capture_output=True,
        text=True,
        env={**env, "VOXCLI": "no-such-voxcli-command"},
    )
    assert result.returncode == 2 and "no-such-voxcli-command: command not found" in result.stderr
    assert not out.exists()
