"""The M4B stage meets what real runs meet: Ctrl-C and kills while it is written, a full disk, a cover
given by hand, and every option mistake. Runs speak with the deterministic test engine (16 kHz tones),
in real processes where signals and resource limits are involved.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.audiocheck import probe
from tests.conftest import REPO
from tests.test_convert_robust import (
    SCRIPT,
    book_text,
    file_size_limit,
    run,
    run_ok,
    temp_files,
    write_voices,
)

pytestmark = [pytest.mark.usefixtures("ffmpeg"), pytest.mark.slow]

# A 1x1 PNG, and a JPEG header: the cover checks look at the bytes.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000105"
    "7e2a3a0f0000000049454e44ae426082"
)


def long_book(folder: Path) -> Path:
    """Three chapters of about 6 minutes of tones each: long enough to stop the M4B mid-way."""
    paragraphs = book_text().split("\n\n")
    body = []
    for paragraph in paragraphs:
        body.append(paragraph)
        if not paragraph.startswith("CHAPTER"):
            body += [
                f"{paragraph[:-1]} again and again, for the {n} time."
                for n in ("second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")
            ]
    book = folder / "book.txt"
    book.write_text("\n\n".join(body) + "\n", encoding="utf-8")
    return book


def args(book: Path, out: Path, voices: Path, *extra: str) -> list[str]:
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
        "--jobs",
        "1",
        "--subtitles",
        "none",
        "--format",
        "m4b",
        *extra,
    ]


def m4b_temps(out: Path) -> list[Path]:
    return sorted(out.glob(".book.m4b.*"))


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The long book, its voices file, and a folder where every chapter is done but no M4B yet."""
    folder = tmp_path_factory.mktemp("long")
    book, voices = long_book(folder), write_voices(folder)
    out = folder / "out"
    summary = run_ok([*args(book, out, voices)[:-2], "--format", "wav"])
    assert summary["chapters_written"] == 3
    assert summary["audio_seconds"] > 15 * 60
    return book, voices, out


def fresh(spoken: tuple[Path, Path, Path], tmp_path: Path) -> tuple[Path, Path, Path]:
    book, voices, out = spoken
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    return book, voices, copy


def test_m4b_from_the_cache_has_every_chapter(spoken: tuple[Path, Path, Path], tmp_path: Path) -> None:
    book, voices, out = fresh(spoken, tmp_path)
    summary = run_ok(args(book, out, voices))
    assert summary["sentences_synthesized"] == 0 and summary["audiobook_written"] == ["book.m4b"]
    info = probe(out / "book.m4b")
    assert [c["tags"]["title"] for c in info["chapters"]] == ["CHAPTER I", "CHAPTER II", "CHAPTER III"]
    assert float(info["format"]["duration"]) == pytest.approx(summary["manifest"]["duration"], abs=0.1)
    # A text book has no cover, and none is invented.
    assert not [s for s in info["streams"] if s["codec_type"] == "video"]
    assert summary["manifest"]["audiobook"]["cover"] is None
    assert "date" not in info["format"]["tags"]
    # No chapter audio: the playlist lists the audiobook.
    assert (out / "playlist.m3u").read_text().splitlines()[1:] == [
        f"#EXTINF:{round(float(info['format']['duration']))},book",
        "book.m4b",
    ]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["INT", "TERM", "KILL"])
def test_stopped_while_writing_the_m4b(spoken: tuple[Path, Path, Path], tmp_path: Path, sig: int) -> None:
    book, voices, out = fresh(spoken, tmp_path)
    command = args(book, out, voices)
    proc = subprocess.Popen(
        command, cwd=REPO, start_new_session=True, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while not m4b_temps(out):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the M4B was never started"
            time.sleep(0.005)
        time.sleep(0.3)
        assert proc.poll() is None, "the M4B was finished before the signal: the book is too short"
        os.killpg(proc.pid, sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert not (out / "book.m4b").exists(), "a half-written M4B under its final name"
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL and m4b_temps(out)  # what a kill leaves behind
    else:
        assert proc.returncode == 128 + sig, stderr
        lines = stderr.strip().splitlines()
        assert "stopped while writing book.m4b" in lines[-1] and "run the same command again" in lines[-1]
        assert "Traceback" not in stderr
        assert not m4b_temps(out)
    assert "audiobook" not in json.loads((out / "manifest.json").read_text())

    summary = run_ok(command)
    assert summary["sentences_synthesized"] == 0 and summary["audiobook_written"] == ["book.m4b"]
    assert not m4b_temps(out) and not temp_files(out)
    assert len(probe(out / "book.m4b")["chapters"]) == 3


def test_full_disk_while_writing_the_m4b(spoken: tuple[Path, Path, Path], tmp_path: Path) -> None:
    book, voices, out = fresh(spoken, tmp_path)
    command = args(book, out, voices)
    result = run(command, preexec_fn=file_size_limit(2_000_000))  # the M4B is about 10 MB
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("error: cannot write ") and "book.m4b" in lines[0], lines[0]
    assert "free some disk space" in lines[0]
    assert not (out / "book.m4b").exists() and not m4b_temps(out)
    summary = run_ok(command)
    assert summary["audiobook_written"] == ["book.m4b"] and summary["sentences_synthesized"] == 0


def test_cover_given_by_hand(spoken: tuple[Path, Path, Path], tmp_path: Path) -> None:
    book, voices, out = fresh(spoken, tmp_path)
    cover = tmp_path / "cover.png"
    cover.write_bytes(PNG)
    summary = run_ok(args(book, out, voices, "--cover", str(cover)))
    assert summary["manifest"]["audiobook"]["cover"] == "image/png"
    pictures = [s for s in probe(out / "book.m4b")["streams"] if s.get("disposition", {}).get("attached_pic")]
    assert [p["codec_name"] for p in pictures] == ["png"]
    data = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(out / "book.m4b"),
            "-map",
            "0:v",
            "-c",
            "copy",
            "-f",
            "image2pipe",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    assert data == PNG
    # Another cover is another file: the M4B is written again, nothing is spoken.
    cover.write_bytes(b"\xff\xd8\xff\xe0" + PNG[4:])
    again = run_ok(args(book, out, voices, "--cover", str(cover)))
    assert again["audiobook_written"] == ["book.m4b"] and again["sentences_synthesized"] == 0


def test_stop_request_in_process_leaves_no_m4b(
    spoken: tuple[Path, Path, Path], tmp_path: Path, fake_engines: None
) -> None:
    """The pipeline API: a stop request once the M4B has begun raises Interrupted and writes nothing."""
    from voxcli.config import load_voices, resolve_voice
    from voxcli.convert.audiobook import AudiobookSettings
    from voxcli.convert.audiobook import Progress as AudiobookProgress
    from voxcli.convert.pipeline import ConvertRequest, Reporter, convert
    from voxcli.errors import Interrupted
    from voxcli.ingest import read_book

    book, voices, out = fresh(spoken, tmp_path)
    began: list[str] = []

    class Watch(Reporter):
        def audiobook(self) -> AudiobookProgress:
            class Progress(AudiobookProgress):
                def started(self, name: str, seconds: float) -> None:
                    began.append(name)

            return Progress()

    request = ConvertRequest(
        book=read_book(str(book)),
        source=str(book),
        profile=resolve_voice(None, load_voices(str(voices))),
        outdir=out,
        chapters=[1, 2, 3],
        audiobook=AudiobookSettings(),
    )
    with pytest.raises(Interrupted) as stopped:
        convert(request, Watch(), lambda: signal.SIGINT if began else 0)
    assert stopped.value.exit_code == 130
    assert began == ["book.m4b"] and not (out / "book.m4b").exists() and not m4b_temps(out)


def test_wav_and_m4b_hold_the_same_samples(spoken: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """The M4B is made from the same levelled audio as the chapter files (AAC aside)."""
    book, voices, out = fresh(spoken, tmp_path)
    run_ok([*args(book, out, voices)[:-2], "--format", "wav,m4b"])
    manifest = json.loads((out / "manifest.json").read_text())
    wav = np.concatenate(
        [soundfile.read(out / c["files"]["wav"], dtype="float64")[0] for c in manifest["chapters"]]
    )
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(out / "book.m4b"),
            "-map",
            "0:a",
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            "16000",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    m4b = np.frombuffer(raw, dtype=np.int16).astype(np.float64) / 32768.0
    assert abs(len(m4b) - len(wav)) < 2048  # the last AAC frame is padded
    n = min(len(m4b), len(wav))
    residual = m4b[:n] - wav[:n]
    snr = 10 * np.log10(np.sum(wav[:n] ** 2) / np.sum(residual**2))
    assert snr > 15, f"the M4B's audio is not the WAVs' audio ({snr:.1f} dB)"


BAD = [
    (["--cover", "missing.png"], 2, "--cover: missing.png does not exist"),
    (["--cover", "voices.toml"], 2, "is not a JPEG or PNG image"),
    (["--loudness", "loud"], 2, "--loudness: cannot read 'loud'"),
    (["--loudness", "-60"], 2, "--loudness: -60 LUFS is out of range"),
    (["--loudness", "-8", "--true-peak", "-9"], 2, "--true-peak -9 is below the loudness target -8"),
    (["--bitrate", "7k"], 2, "--bitrate: '7k' is not an AAC bitrate"),
]


@pytest.mark.parametrize(("extra", "code", "message"), BAD, ids=[" ".join(b[0]) for b in BAD])
def test_option_mistakes_are_one_line(extra: list[str], code: int, message: str, tmp_path: Path) -> None:
    book, voices = long_book(tmp_path), write_voices(tmp_path)
    shutil.copy(voices, tmp_path / "voices.toml")
    result = subprocess.run(
        args(book, tmp_path / "out", voices, *extra), capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "out").exists()  # nothing was started


@pytest.mark.parametrize("option", [["--cover", "x.png"], ["--split-hours", "2"]])
def test_m4b_options_need_m4b(option: list[str], tmp_path: Path) -> None:
    book, voices = long_book(tmp_path), write_voices(tmp_path)
    command = [*args(book, tmp_path / "out", voices)[:-2], "--format", "wav", *option]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    if option[0] == "--cover":  # the cover is also the video's picture and Audiobookshelf's cover.jpg
        expected = (
            "--cover is for M4B files, videos and Audiobookshelf "
            "(add m4b or mp4 to --format, e.g. --format m4b)"
        )
    else:
        expected = f"{option[0]} is for M4B files (add m4b to --format, e.g. --format m4b)"
    assert result.stderr.strip() == f"error: {expected}"


def test_no_encoder_is_one_line_before_any_work(tmp_path: Path) -> None:
    book, voices = long_book(tmp_path), write_voices(tmp_path)
    shadow, bare = tmp_path / "shadow", tmp_path / "bin"
    shadow.mkdir()
    bare.mkdir()
    (shadow / "av.py").write_text('raise ImportError("no PyAV here")\n', encoding="utf-8")
    cases = [
        (
            {"PYTHONPATH": str(shadow), "PATH": str(bare)},
            "error: writing M4B needs PyAV or the ffmpeg program, and neither was found (pip install av, or "
            "install ffmpeg (apt-get install ffmpeg, brew install ffmpeg))",
        ),
        (
            {"VOXCLI_M4B_ENCODER": "ffmpeg", "PATH": str(bare)},
            "error: $VOXCLI_M4B_ENCODER=ffmpeg but there is no ffmpeg program on PATH "
            "(install ffmpeg, or unset $VOXCLI_M4B_ENCODER to use PyAV)",
        ),
        (
            {"VOXCLI_M4B_ENCODER": "pyav", "PYTHONPATH": str(shadow)},
            "error: $VOXCLI_M4B_ENCODER=pyav but PyAV cannot be imported (pip install av)",
        ),
        (
            {"VOXCLI_M4B_ENCODER": "lame"},
            "error: $VOXCLI_M4B_ENCODER='lame' is not an M4B encoder (set it to pyav or ffmpeg, or unset it)",
        ),
    ]
    for change, message in cases:
        env = {**os.environ, **change}
        result = subprocess.run(
            args(book, tmp_path / "out", voices), capture_output=True, text=True, env=env, timeout=60
        )
        assert result.returncode == 5, result.stderr
        assert result.stderr.strip().splitlines() == [message]
        assert not (tmp_path / "out" / ".voxcli" / "cache").exists()  # nothing was spoken


def test_the_ffmpeg_program_is_used_without_pyav(spoken: tuple[Path, Path, Path], tmp_path: Path) -> None:
    book, voices, out = fresh(spoken, tmp_path)
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "av.py").write_text('raise ImportError("no PyAV here")\n', encoding="utf-8")
    result = run(args(book, out, voices), env={**os.environ, "PYTHONPATH": str(shadow)})
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)["manifest"]["audiobook"]
    assert record["encoder"].startswith("ffmpeg ")
    assert [c["tags"]["title"] for c in probe(out / "book.m4b")["chapters"]] == [
        "CHAPTER I",
        "CHAPTER II",
        "CHAPTER III",
    ]
    assert not list(out.glob(".*.part"))
