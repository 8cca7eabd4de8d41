"""M4B audiobooks and loudness on real books and real engines, checked with ffprobe, ffmpeg and pyloudnorm.

Moby-Dick's front matter and chapter "Breakfast" with the built-in Piper voice (first as WAV, then adding
m4b to the finished run) and the whole of Children's Literature with eSpeak-NG at double speed (22
chapters, over 2 hours). The M4B's
chapter marks are compared with the chapter WAVs' lengths, and the audio at every mark with the
start of that chapter's WAV; the loudness of every chapter is measured here, with pyloudnorm.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile
from scipy.signal import correlate, resample_poly
from typer.testing import CliRunner

from tests.audiocheck import probe
from tests.conftest import corpus_file
from voxcli.cli import app
from voxcli.ingest import read_book

pytestmark = [pytest.mark.usefixtures("ffmpeg"), pytest.mark.slow]

TARGET, CEILING = -18.0, -1.0
MARK_TOLERANCE = 0.050  # seconds
# Moby-Dick's title page, transcriber's notes and etymology (under 2 min) and chapter 5, "Breakfast"
# (5 min): four chapters of the built-in voice, one long enough to make a part of its own.
MOBY = "1-3,9"


@dataclass(frozen=True)
class Run:
    book: Path
    out: Path
    summaries: list[dict]
    wav_mtimes: dict[str, int]  # after the first run


def convert(*args: str, env: dict[str, str] | None = None) -> dict:
    result = CliRunner().invoke(app, ["convert", *args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def decode(path: Path, rate: int) -> np.ndarray:
    """The whole file through ffmpeg, as float mono at ``rate``; fails on any decoding error."""
    result = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-xerror",
            "-i",
            str(path),
            "-map",
            "0:a",
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            str(rate),
            "-",
        ],
        capture_output=True,
        check=True,
    )
    assert result.stderr == b"", result.stderr.decode()
    return np.frombuffer(result.stdout, dtype=np.int16).astype(np.float64) / 32768.0


def lufs(x: np.ndarray, rate: int) -> float:
    return float(pyloudnorm.Meter(rate).integrated_loudness(x))


def true_peak_db(x: np.ndarray, around: int = 400) -> float:
    """The peak of the signal oversampled 8 times (scipy) around its ``around`` largest samples: where
    intersample peaks are (oversampling hours of audio whole would take minutes)."""
    top = np.argpartition(np.abs(x), -around)[-around:]
    peak = 0.0
    for k in top.tolist():
        low = max(0, k - 256)
        window = resample_poly(x[low : k + 256], 8, 1)
        middle = window[8 * (k - low - 8) : 8 * (k - low + 8)]
        peak = max(peak, float(np.abs(middle).max()))
    return float(20 * np.log10(peak))


def wavs(out: Path) -> list[tuple[dict, Path]]:
    return [(c, out / c["files"]["wav"]) for c in manifest(out)["chapters"]]


@pytest.fixture(scope="module")
def moby_epub() -> Path:
    return corpus_file("epub", "moby-dick.epub")


@pytest.fixture(scope="module")
def children_epub() -> Path:
    return corpus_file("epub", "childrens-literature.epub")


@pytest.fixture(scope="module")
def moby(tmp_path_factory: pytest.TempPathFactory, moby_epub: Path) -> Run:
    out = tmp_path_factory.mktemp("moby") / "out"
    first = convert(str(moby_epub), "--chapters", MOBY, "--format", "wav", "-o", str(out))
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("*.wav")}
    second = convert(str(moby_epub), "--chapters", MOBY, "--format", "wav,m4b", "-o", str(out))
    return Run(moby_epub, out, [first, second], mtimes)


@pytest.fixture(scope="module")
def children(tmp_path_factory: pytest.TempPathFactory, children_epub: Path) -> Run:
    out = tmp_path_factory.mktemp("children") / "out"
    summary = convert(
        str(children_epub),
        "-v",
        "espeak",
        # Double speed: the whole book, every chapter mark, in half the audio to speak and encode.
        "--speed",
        "2",
        "--format",
        "wav,m4b",
        "--subtitles",
        "none",
        "-o",
        str(out),
    )
    return Run(children_epub, out, [summary], {})


def check_m4b(out: Path, file: str, book_path: Path) -> dict:
    """Marks, titles, audio at each mark, cover, tags and a full decode of the M4B holding every chapter."""
    book = read_book(str(book_path))
    chapters = wavs(out)
    info = probe(out / file)
    rate = soundfile.info(chapters[0][1]).samplerate

    # One mark per chapter, with its title, where the chapter WAVs put it (each WAV's exact length).
    marks = info["chapters"]
    assert [m["tags"]["title"] for m in marks] == [" ".join(c["title"].split()) for c, _ in chapters]
    start = 0.0
    for mark, (_, wav) in zip(marks, chapters, strict=True):
        length = soundfile.info(wav).frames / rate
        assert float(mark["start_time"]) == pytest.approx(start, abs=MARK_TOLERANCE), mark
        assert float(mark["end_time"]) == pytest.approx(start + length, abs=MARK_TOLERANCE), mark
        start += length

    # The file plays to the end, and at every mark is the start of that chapter's audio.
    audio = decode(out / file, rate)
    assert len(audio) / rate == pytest.approx(start, abs=0.1)
    for mark, (_, wav) in zip(marks, chapters, strict=True):
        head, _ = soundfile.read(wav, frames=3 * rate, dtype="float64")
        at = round(float(mark["start_time"]) * rate)
        begin = max(0, at - rate // 2)
        window = audio[begin : at + 3 * rate + rate // 2]
        lag = int(np.argmax(correlate(window, head, mode="valid", method="fft"))) - (at - begin)
        assert abs(lag) / rate <= MARK_TOLERANCE, f"{mark['tags']['title']}: audio {lag / rate:+.3f} s off"

    # The cover: an attached picture holding the book's own image, byte for byte.
    streams = info["streams"]
    assert [s["codec_type"] for s in streams if s["codec_type"] == "audio"] == ["audio"]
    audio_stream = next(s for s in streams if s["codec_type"] == "audio")
    assert audio_stream["codec_name"] == "aac" and int(audio_stream["sample_rate"]) == rate
    assert audio_stream["tags"]["language"] == "eng"
    pictures = [s for s in streams if s.get("disposition", {}).get("attached_pic") == 1]
    assert len(pictures) == 1
    assert book.cover is not None
    assert pictures[0]["codec_name"] == {"image/jpeg": "mjpeg", "image/png": "png"}[book.cover.media_type]
    picture = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(out / file),
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
    assert picture == book.cover.data

    # The tags audiobook players read.
    tags = info["format"]["tags"]
    assert tags["title"] == book.title and tags["album"] == book.title
    assert tags["artist"] == book.author and tags["album_artist"] == book.author
    assert tags["genre"] == "Audiobook" and tags["media_type"] == "2"  # iTunes media kind: audiobook
    assert tags["composer"] == tags["NARRATOR"]
    assert tags["LANGUAGE"] == book.language
    assert tags.get("date", "") == book.year
    return info


def check_loudness(out: Path) -> None:
    """Every chapter WAV within 1 LU of the target and under the ceiling, as measured here; the
    manifest says what was measured."""
    for chapter, wav in wavs(out):
        x, rate = soundfile.read(wav, dtype="float64")
        measured = lufs(x, rate)
        assert measured == pytest.approx(TARGET, abs=1.0), f"{wav.name}: {measured:.2f} LUFS"
        assert true_peak_db(x) <= CEILING + 0.15, wav.name
        assert np.abs(x).max() < 1.0  # no clipping
        record = chapter["loudness"]
        assert record["target_lufs"] == TARGET
        assert record["output_lufs"] == pytest.approx(measured, abs=0.1)
        # The gain is what the loudness difference asks for, plus what the limiter took back (if any).
        assert TARGET - record["input_lufs"] - 0.05 <= record["gain_db"] <= TARGET - record["input_lufs"] + 3
    assert manifest(out)["loudness"] == {"target_lufs": TARGET, "ceiling_dbtp": CEILING}


# ---- Moby-Dick, four chapters, the built-in Piper voice ------------------------------------------------


def test_adding_m4b_to_a_finished_run_speaks_nothing_and_leaves_the_chapters(moby: Run) -> None:
    first, second = moby.summaries
    assert first["chapters_written"] == 4 and first["sentences_synthesized"] > 40
    assert first["audiobook_written"] == [] and "audiobook" not in first["manifest"]
    assert second["sentences_synthesized"] == 0 and second["chapters_written"] == 0
    assert second["chapters_up_to_date"] == 4
    assert second["audiobook_written"] == ["Moby-Dick.m4b"]
    assert {p.name: p.stat().st_mtime_ns for p in moby.out.glob("*.wav")} == moby.wav_mtimes
    record = manifest(moby.out)["audiobook"]
    assert record["encoder"].startswith("PyAV ") and record["cover"] == "image/jpeg"
    assert [p["file"] for p in record["parts"]] == ["Moby-Dick.m4b"]
    assert record["parts"][0]["chapters"] == [1, 2, 3, 9]
    assert record["parts"][0]["size"] == (moby.out / "Moby-Dick.m4b").stat().st_size
    assert not list(moby.out.glob(".*.part")) and not list(moby.out.glob(".*.ffmeta"))


def test_moby_m4b_marks_cover_tags_and_audio(moby: Run) -> None:
    info = check_m4b(moby.out, "Moby-Dick.m4b", moby.book)
    assert len(info["chapters"]) == 4
    assert "joe" in info["format"]["tags"]["NARRATOR"]
    assert info["format"]["tags"]["track"] == "1/1"


def test_moby_chapters_are_levelled(moby: Run) -> None:
    check_loudness(moby.out)


def test_moby_m4b_chapters_keep_their_loudness(moby: Run) -> None:
    info = probe(moby.out / "Moby-Dick.m4b")
    audio = decode(moby.out / "Moby-Dick.m4b", 22050)
    for mark in info["chapters"]:
        part = audio[round(float(mark["start_time"]) * 22050) : round(float(mark["end_time"]) * 22050)]
        assert lufs(part, 22050) == pytest.approx(TARGET, abs=1.0), mark["tags"]["title"]


def test_rerun_rewrites_nothing(moby: Run) -> None:
    m4b = moby.out / "Moby-Dick.m4b"
    before = {p.name: p.stat().st_mtime_ns for p in moby.out.iterdir() if p.is_file()}
    summary = convert(str(moby.book), "--chapters", MOBY, "--format", "wav,m4b", "-o", str(moby.out))
    assert summary["sentences_synthesized"] == 0 and summary["chapters_written"] == 0
    assert summary["audiobook_written"] == []
    assert {p.name: p.stat().st_mtime_ns for p in moby.out.iterdir() if p.is_file()} == before
    assert m4b.is_file()


def test_the_ffmpeg_program_writes_the_same_m4b(moby: Run, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(moby.out, out)
    (out / "Moby-Dick.m4b").unlink()
    summary = convert(
        str(moby.book),
        "--chapters",
        MOBY,
        "--format",
        "wav,m4b",
        "-o",
        str(out),
        env={"VOXCLI_M4B_ENCODER": "ffmpeg"},
    )
    assert summary["sentences_synthesized"] == 0 and summary["audiobook_written"] == ["Moby-Dick.m4b"]
    assert manifest(out)["audiobook"]["encoder"].startswith("ffmpeg ")
    check_m4b(out, "Moby-Dick.m4b", moby.book)
    assert not list(out.glob(".*.ffmeta")) and not list(out.glob(".*.part"))


def test_loudness_off_writes_the_voice_as_it_spoke(moby: Run, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(moby.out, out)
    summary = convert(
        str(moby.book), "--chapters", "1-2", "--format", "wav", "--loudness", "off", "-o", str(out)
    )
    assert summary["sentences_synthesized"] == 0 and summary["chapters_written"] == 2
    levelled = {c["index"]: c for c in manifest(moby.out)["chapters"]}
    for chapter, wav in wavs(out)[:2]:
        record = chapter["loudness"]
        assert record["target_lufs"] is None and record["gain_db"] == 0
        x, rate = soundfile.read(wav, dtype="float64")
        assert lufs(x, rate) == pytest.approx(levelled[chapter["index"]]["loudness"]["input_lufs"], abs=0.1)
        assert record["output_lufs"] == pytest.approx(record["input_lufs"], abs=0.01)
    assert manifest(out)["loudness"] is None


# ---- Children's Literature, the whole book, eSpeak-NG at double speed ---------------------------------


def test_children_m4b_marks_cover_tags_and_audio(children: Run) -> None:
    summary = children.summaries[0]
    assert summary["chapters_written"] == 22
    name = "Children's Literature.m4b"
    assert summary["audiobook_written"] == [name]
    info = check_m4b(children.out, name, children.book)
    assert len(info["chapters"]) == 22
    assert info["format"]["tags"]["date"] == "2008"
    assert float(info["format"]["duration"]) > 2 * 3600


def test_children_chapters_are_levelled(children: Run) -> None:
    check_loudness(children.out)


def test_split_hours_makes_parts_at_chapter_boundaries(moby: Run, tmp_path: Path) -> None:
    """Under 2 min of front matter and a 5 min chapter: at 0.05 h (3 min) the long chapter is a part of
    its own, the short ones share one (how parts are balanced is tested in test_loudness)."""
    out = tmp_path / "out"
    shutil.copytree(moby.out, out)
    summary = convert(
        str(moby.book), "--chapters", MOBY, "--format", "wav,m4b", "--split-hours", "0.05", "-o", str(out)
    )
    assert summary["sentences_synthesized"] == 0 and summary["chapters_written"] == 0
    names = ["Moby-Dick - Part 1.m4b", "Moby-Dick - Part 2.m4b"]
    assert summary["audiobook_written"] == names
    assert not (out / "Moby-Dick.m4b").exists()  # the single file it replaces is gone
    parts = manifest(out)["audiobook"]["parts"]
    assert [p["file"] for p in parts] == names
    assert [p["chapters"] for p in parts] == [[1, 2, 3], [9]]
    chapters = manifest(out)["chapters"]
    for number, (name, members) in enumerate(zip(names, ([1, 2, 3], [9]), strict=True), start=1):
        info = probe(out / name)
        wanted = [c for c in chapters if c["index"] in members]
        titles = [" ".join(c["title"].split()) for c in wanted]
        assert [m["tags"]["title"] for m in info["chapters"]] == titles
        assert float(info["chapters"][0]["start_time"]) == 0.0
        assert float(info["format"]["duration"]) == pytest.approx(sum(c["duration"] for c in wanted), abs=0.1)
        tags = info["format"]["tags"]
        assert tags["track"] == f"{number}/2"
        assert tags["title"] == f"Moby-Dick (Part {number} of 2)" and tags["album"] == "Moby-Dick"
        assert len([s for s in info["streams"] if s.get("disposition", {}).get("attached_pic") == 1]) == 1
        decode(out / name, 22050)
    # Back to one file: the parts go.
    convert(str(moby.book), "--chapters", MOBY, "--format", "wav,m4b", "-o", str(out))
    assert sorted(p.name for p in out.glob("*.m4b")) == ["Moby-Dick.m4b"]
