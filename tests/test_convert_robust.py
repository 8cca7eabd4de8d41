"""`voxcli convert` survives what real runs meet: kills at random points, a full disk, a folder it
cannot write, edits to the book, changed options, a damaged cache and temp files of killed runs.

Runs are real processes (``tests/voxcli_with_fakes.py``) speaking with the fake engine, so
signals and resource limits behave as they do for users (one test calls the pipeline in-process).
The book is generated here: three chapters of short, all-different sentences, so every sentence is
one cache entry.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import soundfile

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # real processes: kill, restart, many runs

SCRIPT = REPO / "tests" / "voxcli_with_fakes.py"
DELAY = 0.05  # seconds per sentence in the runs that get killed: ~2 s of work with --jobs 1
RESUME_HINT = "run the same command again"

_ADJ = (
    "quiet",
    "bright",
    "old",
    "narrow",
    "windy",
    "green",
    "silver",
    "heavy",
    "gentle",
    "distant",
    "broken",
    "golden",
)
_NOUN = (
    "river",
    "lantern",
    "captain",
    "garden",
    "harbour",
    "orchard",
    "bridge",
    "meadow",
    "tower",
    "village",
    "forest",
    "ship",
)
_VERB = (
    "watched",
    "crossed",
    "followed",
    "reached",
    "painted",
    "guarded",
    "passed",
    "circled",
    "remembered",
    "visited",
)

# Replaces the second paragraph of chapter II in the incremental test: three sentences, none elsewhere.
EDITED = [
    "A small grey heron waited by the reeds all morning.",
    "Nobody in the valley had ever seen it fly so low.",
    "At noon it lifted over the mill and was gone.",
]


def book_text(edited: bool = False) -> str:
    """Three chapters ("CHAPTER I" ...), four paragraphs of three distinct sentences each."""
    rng = random.Random(7)
    seen: set[str] = set()
    parts: list[str] = []
    for roman in ("I", "II", "III"):
        parts.append(f"CHAPTER {roman}")
        for number in range(4):
            found: list[str] = []
            while len(found) < 3:
                s = (
                    f"The {rng.choice(_ADJ)} {rng.choice(_NOUN)} {rng.choice(_VERB)} the {rng.choice(_ADJ)} "
                    f"{rng.choice(_NOUN)} before the {rng.choice(_NOUN)} {rng.choice(_VERB)} it."
                )
                if s not in seen:
                    seen.add(s)
                    found.append(s)
            parts.append(" ".join(EDITED if edited and roman == "II" and number == 1 else found))
    return "\n\n".join(parts) + "\n"


def write_voices(folder: Path, delay: float = 0.0, speed: float | None = None) -> Path:
    path = folder / f"voices-{delay}-{speed}.toml"
    speed_line = f"speed = {speed}\n" if speed is not None else ""
    path.write_text(
        f'default = "tone"\n[voices.tone]\nengine = "fake"\nvoice = "tone"\n{speed_line}'
        f"[voices.tone.options]\ndelay = {delay}\n",
        encoding="utf-8",
    )
    return path


def convert_args(book: Path, out: Path, voices: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        str(SCRIPT),
        "convert",
        str(book),
        "-o",
        str(out),
        "--voices",
        str(voices),
        "--json",
        *extra,
    ]


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=120, **kwargs)


def run_ok(args: list[str]) -> dict:
    result = run(args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def outputs(out: Path) -> dict[str, bytes]:
    """The output folder's files for people and players: everything but the hidden state and temps."""
    if not out.is_dir():
        return {}
    return {
        p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file() and not p.name.startswith(".")
    }


def cache_entries(out: Path) -> dict[str, Path]:
    root = out / ".voxcli" / "cache"
    return {p.name: p for p in root.glob("*/*.voxc")} if root.is_dir() else {}


def temp_files(out: Path) -> list[Path]:
    return sorted(out.rglob("*.part")) if out.is_dir() else []


def counts(summary: dict) -> tuple[int, int, int]:
    """(sentences synthesised, chapters written, chapters up to date)."""
    return summary["sentences_synthesized"], summary["chapters_written"], summary["chapters_up_to_date"]


def assert_same_outputs(out: Path, ref: dict[str, bytes]) -> None:
    got = outputs(out)
    assert sorted(got) == sorted(ref)
    different = [name for name in ref if got[name] != ref[name]]
    assert not different, f"differ from the uninterrupted run: {different}"


@dataclass(frozen=True)
class Reference:
    book: Path  # .../ref/book.txt
    out: Path  # an uninterrupted run's output folder
    files: dict[str, bytes]
    manifest: dict
    cache: dict[str, bytes]  # cache entry file name -> bytes


@pytest.fixture(scope="module")
def ref(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    folder = tmp_path_factory.mktemp("ref")
    book = folder / "book.txt"
    book.write_text(book_text(), encoding="utf-8")
    out = folder / "out"
    summary = run_ok(convert_args(book, out, write_voices(folder), "--jobs", "1"))
    assert summary["chapters_written"] == 3
    assert summary["sentences_synthesized"] == 39  # 3 titles + 3 x 4 x 3 sentences, all different
    assert len(cache_entries(out)) == 39
    assert not temp_files(out)
    files = outputs(out)
    assert sorted(files) == [
        "01 - CHAPTER I.srt",
        "01 - CHAPTER I.vtt",
        "01 - CHAPTER I.wav",
        "02 - CHAPTER II.srt",
        "02 - CHAPTER II.vtt",
        "02 - CHAPTER II.wav",
        "03 - CHAPTER III.srt",
        "03 - CHAPTER III.vtt",
        "03 - CHAPTER III.wav",
        "manifest.json",
        "playlist.m3u",
    ]
    manifest = json.loads(files["manifest.json"])
    assert manifest == summary["manifest"]
    return Reference(book, out, files, manifest, {n: p.read_bytes() for n, p in cache_entries(out).items()})


def copy_of_ref(ref: Reference, tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the book and of the finished reference output folder."""
    book = tmp_path / "book.txt"
    shutil.copy2(ref.book, book)
    out = tmp_path / "out"
    shutil.copytree(ref.out, out)
    return book, out


# ---- 1. kills at random points ---------------------------------------------------------------------


def assert_nothing_torn(out: Path, ref: Reference) -> None:
    """After a kill: every file under a final name is complete (the very file an uninterrupted run
    writes), and the manifest and playlist list only complete chapters."""
    by_name = {f for c in ref.manifest["chapters"] for f in c["files"].values()}
    durations = {c["files"]["wav"]: c["duration"] for c in ref.manifest["chapters"]}
    for name, data in outputs(out).items():
        if name == "manifest.json":
            manifest = json.loads(data)
            for chapter in manifest["chapters"]:
                for file in chapter["files"].values():
                    assert (out / file).read_bytes() == ref.files[file], file
                    assert chapter["sizes"][file] == len(ref.files[file])
        elif name == "playlist.m3u":
            lines = data.decode().splitlines()
            assert lines[0] == "#EXTM3U"
            for line in lines[1:]:
                assert line.startswith("#EXTINF:") or (out / line).is_file(), line
        else:
            assert name in by_name, f"unexpected file {name}"
            if name.endswith(".wav"):
                info = soundfile.info(out / name)
                assert info.frames / info.samplerate == pytest.approx(durations[name], abs=0.001), name
            assert data == ref.files[name], f"{name} is incomplete or different"
    for name, path in cache_entries(out).items():
        assert path.read_bytes() == ref.cache[name], f"cache entry {name} is torn"


def wait_for(condition, proc: subprocess.Popen[str], what: str) -> bool:
    """Poll until ``condition()``; False when the run ends first."""
    deadline = time.monotonic() + 60
    while not condition():
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, f"no {what} within a minute"
        time.sleep(0.001)
    return True


def kill_run(
    args: list[str], out: Path, rng: random.Random, sig: int, when: str, jobs: int
) -> tuple[int, str, str] | None:
    """Start a run in its own process group and send ``sig`` to the group at a random point.

    ``when`` is "start" (while Python starts and plans), "work" (once speaking has begun: a Ctrl-C
    while Python is still importing is Python's business) or "assembly" (the moment a chapter file is
    being written). Windows end well before the run can finish, as the fake engine sleeps DELAY per
    sentence whatever the machine. None when there is too little work left for such a kill.
    """
    before = len(cache_entries(out))
    left = 39 - before  # sentences still to speak
    # With --jobs 2 the worker processes get whole batches (600 characters: a chapter of this book),
    # and write their entries when a batch is done; a stop request waits for the batches handed out.
    # So the first entry seen is a whole batch, and a kill must come before the last chapter's.
    in_flight = 13 if jobs > 1 else 0
    if left - in_flight < (8 if sig != signal.SIGKILL else 2):
        return None  # a stop request during the book's last sentences may rightly finish the book
    window = 0.8 * (left - 1 - in_flight) * DELAY / jobs
    proc = subprocess.Popen(
        args, cwd=REPO, start_new_session=True, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        if when == "start":
            time.sleep(rng.uniform(0.0, min(0.3, window)))
        elif when == "work":
            spoke = wait_for(lambda: len(cache_entries(out)) > before, proc, "sentence spoken")
            assert spoke, proc.communicate()
            time.sleep(rng.uniform(0.0, window))
        elif not wait_for(lambda: out.is_dir() and any(out.glob(".*.part")), proc, "chapter file written"):
            stdout, stderr = proc.communicate()
            assert proc.returncode == 0, stderr  # too fast to catch: the run simply finished
            return None
        assert proc.poll() is None, "the run finished before the kill: the test's timing is off"
        os.killpg(proc.pid, sig)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, stdout, stderr


INT, TERM, KILL = signal.SIGINT, signal.SIGTERM, signal.SIGKILL
KILLS = [
    pytest.param(11, 1, [(INT, "work"), (KILL, "assembly"), (KILL, "work")], id="jobs1-INT-KILL-KILL"),
    pytest.param(12, 1, [(KILL, "start"), (KILL, "work"), (INT, "work")], id="jobs1-KILL-KILL-INT"),
    pytest.param(13, 1, [(TERM, "work")], id="jobs1-TERM"),
    pytest.param(21, 2, [(INT, "work"), (KILL, "work")], id="jobs2-INT-KILL"),
    pytest.param(22, 2, [(KILL, "assembly"), (KILL, "work")], id="jobs2-KILL-KILL"),
    pytest.param(23, 2, [(TERM, "work")], id="jobs2-TERM"),
]


@pytest.mark.parametrize(("seed", "jobs", "signals"), KILLS)
def test_killed_runs_resume_to_identical_output(
    ref: Reference, tmp_path: Path, seed: int, jobs: int, signals: list[tuple[int, str]]
) -> None:
    rng = random.Random(seed)
    book, out = tmp_path / "book.txt", tmp_path / "out"
    shutil.copy2(ref.book, book)
    args = convert_args(book, out, write_voices(tmp_path, DELAY), "--jobs", str(jobs))
    for sig, when in signals:
        killed = kill_run(args, out, rng, sig, when, jobs)
        if killed is None:
            continue
        code, stdout, stderr = killed
        if sig == signal.SIGKILL:
            assert code == -signal.SIGKILL
        else:
            assert code == 128 + sig, stderr  # 130 after SIGINT, 143 after SIGTERM
            assert RESUME_HINT in stderr and "Traceback" not in stderr, stderr
            assert stdout == ""
            assert not temp_files(out), "a stop on request leaves no temp files"
        assert_nothing_torn(out, ref)
    cached = len(cache_entries(out))
    assert cached < 39, "no kill landed before the work was done"

    summary = run_ok(args)
    assert summary["sentences_synthesized"] == 39 - cached  # what was saved is never spoken again
    assert summary["chapters_written"] + summary["chapters_up_to_date"] == 3
    assert_same_outputs(out, ref.files)
    assert not temp_files(out)
    assert {n: p.read_bytes() for n, p in cache_entries(out).items()} == ref.cache

    again = run_ok(args)
    assert counts(again) == (0, 0, 3)
    assert_same_outputs(out, ref.files)


# ---- 2. a full disk ----------------------------------------------------------------------------------


def file_size_limit(limit: int):
    def apply() -> None:
        # Python ignores SIGXFSZ, so an oversized write fails with EFBIG, as on a full disk.
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.parametrize(
    ("limit", "jobs", "where"),
    [
        pytest.param(200_000, 1, "01 - CHAPTER I.wav", id="chapter-wav-jobs1"),
        pytest.param(200_000, 2, "01 - CHAPTER I.wav", id="chapter-wav-jobs2"),
        pytest.param(10_000, 1, ".voxc", id="cache-entry-jobs1"),
        pytest.param(10_000, 2, ".voxc", id="cache-entry-jobs2"),
    ],
)
def test_full_disk_is_one_clear_error_and_the_rerun_completes(
    ref: Reference, tmp_path: Path, limit: int, jobs: int, where: str
) -> None:
    book, out = tmp_path / "book.txt", tmp_path / "out"
    shutil.copy2(ref.book, book)
    args = convert_args(book, out, write_voices(tmp_path), "--jobs", str(jobs))
    result = run(args, preexec_fn=file_size_limit(limit))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot write ") and where in lines[0], lines[0]
    assert "free some disk space" in lines[0]
    # Nothing corrupt under a final name: no chapter was finished, every cache entry is whole.
    assert not [name for name in outputs(out) if name.endswith((".wav", ".srt", ".vtt"))]
    for name, path in cache_entries(out).items():
        assert path.read_bytes() == ref.cache[name], f"cache entry {name} is torn"
    assert not temp_files(out), "the failed write's temp file is left behind"

    cached = len(cache_entries(out))
    summary = run_ok(args)
    assert summary["sentences_synthesized"] == 39 - cached
    assert_same_outputs(out, ref.files)
    assert not temp_files(out)


def test_full_disk_names_the_file_that_could_not_be_written(ref: Reference, tmp_path: Path) -> None:
    """The MP3 is what outgrows the limit (subtitles are a few kB): the error must name it."""
    book, out = tmp_path / "book.txt", tmp_path / "out"
    shutil.copy2(ref.book, book)
    args = convert_args(book, out, write_voices(tmp_path), "--jobs", "1", "--format", "mp3")
    result = run(args, preexec_fn=file_size_limit(100_000))  # a chapter's MP3 is ~280 kB
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot write "), result.stderr
    assert "01 - CHAPTER I.mp3" in lines[0], lines[0]
    assert not temp_files(out)


def test_a_failed_chapter_stops_the_worker_processes(
    ref: Reference, tmp_path: Path, fake_engines: None
) -> None:
    """A write error with --jobs 2 must not leave the worker pool running. (Left to the interpreter's exit,
    the pool races its own shutdown there and now and then prints a traceback after the error line.)"""
    import multiprocessing

    from voxcli.config import load_voices, resolve_voice
    from voxcli.convert.pipeline import ConvertRequest, convert
    from voxcli.errors import VoxError
    from voxcli.ingest import read_book

    out = tmp_path / "out"
    (out / "01 - CHAPTER I.wav").mkdir(parents=True)  # the chapter's audio cannot take its name
    request = ConvertRequest(
        book=read_book(str(ref.book)),
        source=str(ref.book),
        profile=resolve_voice(None, load_voices(str(write_voices(tmp_path)))),
        outdir=out,
        chapters=[1, 2, 3],
        jobs=2,
    )
    before = set(multiprocessing.active_children())
    with pytest.raises(VoxError, match=r"cannot write .*01 - CHAPTER I\.wav"):
        convert(request)
    left = [child for child in multiprocessing.active_children() if child not in before]
    for child in left:
        child.kill()
    assert not left, f"{len(left)} worker process(es) still running after the error"
    assert not temp_files(out)


# ---- 3. an output folder that cannot be written --------------------------------------------------------


@pytest.fixture
def unwritable_dir(tmp_path: Path):
    """An existing folder nobody may write to: chmod 0500, or for root (who ignores modes) chattr +i."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o500)
        yield folder
        folder.chmod(0o700)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("running as root and this file system cannot make a folder immutable")
    try:
        yield folder
    finally:
        subprocess.run([chattr, "-i", str(folder)], check=True)


def assert_one_write_error(result: subprocess.CompletedProcess[str], path_part: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot write ") and path_part in lines[0], lines[0]
    assert lines[0].endswith(")"), lines[0]  # ... (the fix)


def test_output_folder_under_a_file(ref: Reference, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    out = blocker / "out"
    result = run(convert_args(ref.book, out, write_voices(tmp_path), "--jobs", "1"))
    assert_one_write_error(result, str(out))
    assert blocker.read_text(encoding="utf-8") == "x"


@pytest.mark.parametrize("jobs", [1, 2])
def test_output_folder_not_writable(ref: Reference, tmp_path: Path, unwritable_dir: Path, jobs: int) -> None:
    result = run(convert_args(ref.book, unwritable_dir, write_voices(tmp_path), "--jobs", str(jobs)))
    assert_one_write_error(result, str(unwritable_dir))
    assert list(unwritable_dir.iterdir()) == []


def test_state_folder_blocked_by_a_file(ref: Reference, tmp_path: Path) -> None:
    """OUTDIR/.voxcli is a plain file, so the cache cannot be created (what a read-only folder does too)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / ".voxcli").write_text("x", encoding="utf-8")
    result = run(convert_args(ref.book, out, write_voices(tmp_path), "--jobs", "1"))
    assert_one_write_error(result, str(out / ".voxcli"))


# ---- 4. incremental re-runs ---------------------------------------------------------------------------


def test_editing_one_paragraph_resynthesises_only_it(ref: Reference, tmp_path: Path) -> None:
    from voxcli.text.segment import sentences

    book, out = copy_of_ref(ref, tmp_path)
    edited_paragraph = " ".join(EDITED)
    assert sentences(edited_paragraph) == EDITED  # the paragraph has exactly these 3 sentences
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.iterdir() if p.is_file()}
    old_text = book_text()
    new_text = book_text(edited=True)
    assert new_text != old_text and edited_paragraph in new_text
    book.write_text(new_text, encoding="utf-8")
    time.sleep(0.01)

    args = convert_args(book, out, write_voices(tmp_path), "--jobs", "1")
    summary = run_ok(args)
    assert summary["sentences_synthesized"] == len(EDITED)
    assert (summary["chapters_written"], summary["chapters_up_to_date"]) == (1, 2)
    for name in ("01 - CHAPTER I", "03 - CHAPTER III"):
        for ext in ("wav", "srt", "vtt"):
            path = out / f"{name}.{ext}"
            assert (path.stat().st_mtime_ns, path.read_bytes()) == before[path.name], path.name
    assert (out / "02 - CHAPTER II.wav").read_bytes() != ref.files["02 - CHAPTER II.wav"]

    # The result is exactly what a fresh conversion of the edited book gives.
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy2(book, fresh / "book.txt")
    run_ok(convert_args(fresh / "book.txt", fresh / "out", write_voices(tmp_path), "--jobs", "1"))
    assert_same_outputs(out, outputs(fresh / "out"))

    started = time.monotonic()
    again = run_ok(args)
    elapsed = time.monotonic() - started
    assert counts(again) == (0, 0, 3)
    assert elapsed < 10 and again["wall_seconds"] < 3, (elapsed, again["wall_seconds"])
    assert_same_outputs(out, outputs(fresh / "out"))


# ---- 5. --force, formats and speed ---------------------------------------------------------------------


def test_force_format_and_speed(ref: Reference, tmp_path: Path) -> None:
    book, out = copy_of_ref(ref, tmp_path)
    voices = write_voices(tmp_path)
    wavs = sorted(n for n in ref.files if n.endswith(".wav"))
    mtimes = {n: (out / n).stat().st_mtime_ns for n in wavs}
    time.sleep(0.01)

    forced = run_ok(convert_args(book, out, voices, "--jobs", "1", "--force"))
    assert (forced["chapters_written"], forced["sentences_synthesized"]) == (3, 0)
    assert all((out / n).stat().st_mtime_ns != mtimes[n] for n in wavs), "--force did not rewrite"
    assert_same_outputs(out, ref.files)

    both = run_ok(convert_args(book, out, voices, "--jobs", "1", "--format", "wav,mp3"))
    assert (both["chapters_written"], both["sentences_synthesized"]) == (3, 0)
    for chapter in both["manifest"]["chapters"]:
        assert set(chapter["files"]) == {"wav", "mp3", "srt", "vtt"}
        samples, rate = soundfile.read(out / chapter["files"]["mp3"], dtype="float32")
        assert rate == 16000 and abs(len(samples) / rate - chapter["duration"]) < 0.15
    for name in wavs:
        assert (out / name).read_bytes() == ref.files[name]
    playlist = (out / "playlist.m3u").read_text(encoding="utf-8").splitlines()
    assert playlist[2::2] == [n.replace(".wav", ".mp3") for n in wavs]

    back = run_ok(convert_args(book, out, voices, "--jobs", "1", "--format", "wav"))
    assert (back["chapters_written"], back["sentences_synthesized"]) == (3, 0)
    assert_same_outputs(out, ref.files)  # the MP3s are gone again, manifest and playlist as before

    faster = run_ok(convert_args(book, out, write_voices(tmp_path, speed=1.25), "--jobs", "1"))
    assert (faster["chapters_written"], faster["sentences_synthesized"]) == (3, 39)
    assert faster["manifest"]["voice"]["speed"] == 1.25
    assert faster["audio_seconds"] < ref.manifest["duration"] * 0.9
    assert len(cache_entries(out)) == 78  # both speeds are kept

    normal = run_ok(convert_args(book, out, voices, "--jobs", "1"))
    assert (normal["chapters_written"], normal["sentences_synthesized"]) == (3, 0)
    assert_same_outputs(out, ref.files)


# ---- 6. a damaged cache -----------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_damaged_cache_entry_is_spoken_again(ref: Reference, tmp_path: Path, damage: str) -> None:
    book, out = copy_of_ref(ref, tmp_path)
    entries = cache_entries(out)
    victim = entries[sorted(entries)[17]]
    if damage == "truncate":
        data = victim.read_bytes()
        victim.write_bytes(data[: len(data) // 2])
    else:
        victim.unlink()
    args = convert_args(book, out, write_voices(tmp_path), "--jobs", "1", "--force")
    result = run(args)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["sentences_synthesized"], summary["chapters_written"]) == (1, 3)
    assert victim.read_bytes() == ref.cache[victim.name]
    assert_same_outputs(out, ref.files)


# ---- 7. temp files of a killed run ---------------------------------------------------------------------


def test_stale_temp_files_are_removed(ref: Reference, tmp_path: Path) -> None:
    book, out = copy_of_ref(ref, tmp_path)
    chapter_temp = out / ".01 - X.wav.123.part"
    chapter_temp.write_bytes(b"RIFF half a file")
    (out / ".voxcli" / "cache" / "ab").mkdir(exist_ok=True)
    cache_temp = out / ".voxcli" / "cache" / "ab" / ".something.part"
    cache_temp.write_bytes(b"VOXC1\n half an entry")
    manifest_temp = out / ".manifest.json.k3j2h1.part"
    manifest_temp.write_bytes(b"{")
    summary = run_ok(convert_args(book, out, write_voices(tmp_path), "--jobs", "1"))
    assert (summary["sentences_synthesized"], summary["chapters_written"]) == (0, 0)
    assert not chapter_temp.exists() and not cache_temp.exists() and not manifest_temp.exists()
    assert not temp_files(out)
    assert_same_outputs(out, ref.files)


def test_stale_temp_file_in_the_state_folder_is_removed(ref: Reference, tmp_path: Path) -> None:
    """.voxcli/sentences.json is written through a temp file too; a kill leaves that one in .voxcli."""
    book, out = copy_of_ref(ref, tmp_path)
    stale = out / ".voxcli" / ".sentences.json.k3j2h1.part"
    stale.write_bytes(b'{"version"')
    summary = run_ok(convert_args(book, out, write_voices(tmp_path), "--jobs", "1"))
    assert (summary["sentences_synthesized"], summary["chapters_written"]) == (0, 0)
    assert not stale.exists(), "a killed run's temp file stays in .voxcli for good"
