"""``voxcli batch`` on this machine: which books, one folder each like ``convert``'s, the broken ones
reported, one engine load per speaker, the summary against the files themselves, and a resume after
kill -9 that speaks nothing twice."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import soundfile

from tests.batchcheck import (
    BROKEN,
    GOOD,
    batch_args,
    by_book,
    cache_entries,
    library_files,
    run_batch,
    shelf,
    tone_voices,
    wav_seconds,
)
from tests.conftest import REPO, corpus_file
from voxcli.batch.books import find_books
from voxcli.errors import UsageError


def test_books_come_from_files_folders_and_lists(tmp_path: Path) -> None:
    books = shelf(tmp_path)
    (books / "notes.json").write_text("{}", encoding="utf-8")  # not a book
    (books / ".hidden").mkdir()
    shutil.copy(books / BROKEN, books / ".hidden" / "x.epub")
    library = books / "out"  # a library inside the folder: what voxcli wrote is no book
    (library / "old").mkdir(parents=True)
    shutil.copy(books / BROKEN, library / "old" / "y.epub")
    found = find_books([str(books)], library)
    assert [(e.path.relative_to(books).as_posix(), str(e.folder)) for e in found] == [
        ("cnt-mathml-support.epub", "cnt-mathml-support"),
        ("manuals/epub2__epub_ocf-minimal-valid.epub", "manuals/epub2__epub_ocf-minimal-valid"),
        ("rust-book-ch04-01-what-is-ownership.md", "rust-book-ch04-01-what-is-ownership"),
        (BROKEN, "xxe_opf"),
    ]

    listing = tmp_path / "list.txt"
    listing.write_text(
        "# my books\nbooks/manuals/epub2__epub_ocf-minimal-valid.epub\n\n  books/cnt-mathml-support.epub  \n",
        encoding="utf-8",
    )
    gutenberg = tmp_path / "devils-dictionary.txt"  # a .txt that is a book, not a list
    shutil.copy(corpus_file("txt", "devils-dictionary-972.txt"), gutenberg)
    found = find_books([str(listing), str(gutenberg), str(books / "cnt-mathml-support.epub")], library)
    assert [(e.path.name, str(e.folder)) for e in found] == [
        ("epub2__epub_ocf-minimal-valid.epub", "epub2__epub_ocf-minimal-valid"),
        ("cnt-mathml-support.epub", "cnt-mathml-support"),  # named twice: once
        ("devils-dictionary.txt", "devils-dictionary"),
    ]
    with pytest.raises(UsageError, match="no such file"):
        find_books([str(tmp_path / "nowhere")], library)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no books in this folder"):
        find_books([str(tmp_path / "empty")], library)


def test_a_library_with_the_builtin_voice(tmp_path: Path, ffmpeg: None) -> None:
    """Four corpus books, one broken, spoken by the built-in Piper voice: three folders, the broken book
    reported, the summary as the files say; a re-run speaks nothing and touches nothing."""
    books = tmp_path / "books"
    books.mkdir()
    for folder, name in (
        ("epub", "cnt-mathml-support.epub"),
        ("bad", "epub2__epub_ocf-minimal-valid.epub"),
        ("bad", "utf16_chapter.epub"),
        ("bad", BROKEN),
    ):
        shutil.copy(corpus_file(folder, name), books)
    library = tmp_path / "library"
    code, summary, stderr = run_batch(books, "-o", library, "-j", "2", "-f", "wav,mp3")
    assert code == 1, stderr  # one book failed
    results = by_book(summary)
    assert summary["converted"] == 3 and summary["failed"] == 1 and summary["up_to_date"] == 0
    assert results[BROKEN]["status"] == "failed" and results[BROKEN]["exit_code"] == 3
    assert "XXE" in results[BROKEN]["error"]
    assert sorted(p.name for p in library.iterdir() if not p.name.startswith(".")) == [
        "cnt-mathml-support",
        "epub2__epub_ocf-minimal-valid",
        "utf16_chapter",
    ]
    for name, book in results.items():
        if name == BROKEN:
            continue
        folder = Path(book["folder"])
        seconds = wav_seconds(folder)
        assert book["status"] == "converted" and book["chapters"] == len(seconds) >= 1
        assert book["audio_seconds"] == pytest.approx(sum(seconds), abs=0.01)
        for mp3 in folder.glob("*.mp3"):  # decoded by FFmpeg, not by voxcli
            probe = subprocess.run(
                ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(mp3)],
                capture_output=True,
                text=True,
                check=True,
            )
            wav = soundfile.info(str(mp3.with_suffix(".wav"))).duration
            assert float(probe.stdout) == pytest.approx(wav, abs=0.1)
        assert book["characters_spoken"] > 0
    before = {p: p.stat().st_mtime_ns for p in library.rglob("*") if p.is_file()}

    code, again, _ = run_batch(books, "-o", library, "-j", "2", "-f", "wav,mp3")
    assert code == 1
    assert again["characters_spoken"] == 0 and again["up_to_date"] == 3 and again["failed"] == 1
    assert {p: p.stat().st_mtime_ns for p in library.rglob("*") if p.is_file()} == before


def test_one_engine_load_per_speaker_and_convert_s_layout(tmp_path: Path) -> None:
    """Three books and a broken one through two speakers: each loads the engine once for all books, and
    each book's folder is what ``voxcli convert`` writes for it alone."""
    books = shelf(tmp_path)
    loads = tmp_path / "loads.txt"
    voices = tone_voices(tmp_path, extra=f'loads = "{loads}"\n')
    library = tmp_path / "library"
    code, summary, stderr = run_batch(books, "-o", library, "--voices", voices, "-j", "2")
    assert code == 1, stderr
    assert [b["status"] for b in summary["books"]] == ["converted"] * 3 + ["failed"]
    pids = loads.read_text(encoding="utf-8").split()
    assert 1 <= len(pids) <= 2 and len(set(pids)) == len(pids)  # one load in each worker process
    for label in GOOD:
        folder = library / label
        record = next(b for b in summary["books"] if b["folder"] == str(folder))
        assert record["chapters"] == len(wav_seconds(folder))
        assert record["audio_seconds"] == pytest.approx(sum(wav_seconds(folder)), abs=0.01)

    alone = tmp_path / "alone"
    book = books / "rust-book-ch04-01-what-is-ownership.md"
    converted = subprocess.run(
        [*batch_args()[:2], "convert", book, "-o", alone, "--voices", voices, "-j", "1"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert converted.returncode == 0, converted.stderr
    assert library_files(library / "rust-book-ch04-01-what-is-ownership") == library_files(alone)
    pids = loads.read_text(encoding="utf-8").split()  # and convert's own load

    code, again, _ = run_batch(books, "-o", library, "--voices", voices, "-j", "2")
    assert code == 1 and again["characters_spoken"] == 0
    assert [b["status"] for b in again["books"]] == ["up to date"] * 3 + ["failed"]
    assert loads.read_text(encoding="utf-8").split() == pids  # nothing loaded: nothing to speak

    # The manifest is the proof: a chapter file gone, and that book (only) is made whole again,
    # from its cache; an edited book is read again.
    folder = library / "rust-book-ch04-01-what-is-ownership"
    lost = sorted(folder.glob("*.wav"))[2]
    kept = lost.read_bytes()
    lost.unlink()
    edited = books / "cnt-mathml-support.epub"
    edited.write_bytes(edited.read_bytes() + b"\0")  # other bytes, the same book (a zip reads past them)
    index = library / ".voxcli" / "batch.json"
    before = json.loads(index.read_text(encoding="utf-8"))["books"]
    code, third, _ = run_batch(books, "-o", library, "--voices", voices, "-j", "2")
    assert code == 1 and third["characters_spoken"] == 0
    assert [b["status"] for b in third["books"]] == ["up to date", "up to date", "converted", "failed"]
    assert lost.read_bytes() == kept
    after = json.loads(index.read_text(encoding="utf-8"))["books"]
    changed = {Path(name).name for name in after if after[name] != before.get(name)}
    assert changed == {"cnt-mathml-support.epub"}  # read and planned again: a new recipe


@pytest.mark.slow
def test_kill_9_then_the_same_command_speaks_only_what_was_missing(tmp_path: Path) -> None:
    books = shelf(tmp_path)
    (books / BROKEN).unlink()

    def voices(delay: float, record: Path) -> Path:
        folder = record.parent / f"voices-{record.stem}"
        folder.mkdir()
        path = tone_voices(folder, delay=delay, extra=f'record = "{record}"\n')
        path.write_text(path.read_text(encoding="utf-8").replace('"fake"', '"recording"'), encoding="utf-8")
        return path

    reference = tmp_path / "reference"
    code, _, stderr = run_batch(
        books, "-o", reference, "--voices", voices(0.0, tmp_path / "ref.jsonl"), "-j", "2"
    )
    assert code == 0, stderr
    sentences = len(cache_entries(reference))

    record = tmp_path / "spoken.jsonl"
    slow = voices(0.01, record)
    library = tmp_path / "library"
    process = subprocess.Popen(
        batch_args(books, "-o", library, "--voices", slow, "-j", "2", "--json"),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while len(cache_entries(library)) < sentences // 3 and time.monotonic() < deadline:
        assert process.poll() is None, "the batch ended before it was killed"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the batch and its worker processes
    process.wait()
    kept = len(cache_entries(library))
    assert 0 < kept < sentences
    record.unlink()

    code, summary, stderr = run_batch(books, "-o", library, "--voices", slow, "-j", "2")
    assert code == 0, stderr
    spoken = record.read_text(encoding="utf-8").splitlines()
    assert len(spoken) == sentences - kept  # nothing the killed run finished was spoken again
    assert len(cache_entries(library)) == sentences
    assert library_files(library) == library_files(reference)
    assert sum(b["characters_spoken"] for b in summary["books"]) > 0


def test_batch_usage_errors_are_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for args, code, words in (
        ((empty, "-o", tmp_path / "lib"), 2, "no books in this folder"),
        ((tmp_path / "none.epub", "-o", tmp_path / "lib"), 2, "no such file"),
        ((corpus_file("bad", BROKEN), "-o", tmp_path / "lib", "--shared-output"), 2, "--shared-output"),
        ((corpus_file("bad", BROKEN), "-o", tmp_path / "lib", "--cluster", "nowhere"), 6, "--cluster"),
        ((corpus_file("bad", BROKEN), "-o", tmp_path / "lib", "-v", "nobody"), 4, "nobody"),
    ):
        result = subprocess.run(batch_args(*args), capture_output=True, text=True, cwd=REPO, timeout=120)
        assert result.returncode == code, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], result.stderr
        assert "Traceback" not in result.stderr
