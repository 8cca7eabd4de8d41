"""`voxcli convert` on real books with the built-in Piper voice: audio, subtitles, manifest, playlist."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import soundfile
import srt
import webvtt
from mutagen.id3 import ID3
from typer.testing import CliRunner

from tests.audiocheck import assert_speech
from tests.conftest import corpus_file
from voxcli.cli import app
from voxcli.ingest import read_book

MOBY = ("epub", "moby-dick.epub")


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def vtt_seconds(stamp: str) -> float:
    hours, minutes, seconds = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@pytest.fixture(scope="module")
def moby_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Moby-Dick chapters 1-3 in WAV and MP3 with the built-in voice (shared by the tests below)."""
    out = tmp_path_factory.mktemp("moby") / "out"
    result = CliRunner().invoke(
        app,
        [
            "convert",
            str(corpus_file(*MOBY)),
            "--chapters",
            "1-3",
            "--format",
            "wav,mp3",
            "-o",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout)


def test_convert_writes_every_chapter(moby_run: tuple[Path, dict]) -> None:
    out, summary = moby_run
    manifest = json.loads((out / "manifest.json").read_text())
    assert summary["manifest"] == manifest
    assert summary["chapters_written"] == 3 and summary["sentences_synthesized"] > 10
    assert manifest["book"] == {
        "title": "Moby-Dick",
        "author": "Herman Melville",
        "language": "en-US",
        "year": "",
        "source": "moby-dick.epub",
    }
    assert manifest["voice"]["name"] == "joe" and manifest["voice"]["engine"] == "piper"
    chapters = manifest["chapters"]
    assert [c["index"] for c in chapters] == [1, 2, 3]
    assert [c["files"]["wav"] for c in chapters] == [
        "001 - Moby-Dick.wav",
        "002 - Original Transcriber’s Notes.wav",
        "003 - ETYMOLOGY.wav",
    ]
    for chapter in chapters:
        assert set(chapter["files"]) == {"wav", "mp3", "srt", "vtt"}
        assert chapter["sentences"] >= 1 and chapter["characters"] > 0
        wav = out / chapter["files"]["wav"]
        info = soundfile.info(wav)
        assert (info.samplerate, info.channels) == (22050, 1)
        assert info.frames / info.samplerate == pytest.approx(chapter["duration"], abs=0.001)
        samples, rate = soundfile.read(wav, dtype="float32")
        assert_speech(samples, rate, 1.0, 600.0)
        mp3, mp3_rate = soundfile.read(out / chapter["files"]["mp3"], dtype="float32")
        assert mp3_rate == 22050
        assert abs(len(mp3) / mp3_rate - chapter["duration"]) < 0.15  # MP3 frames pad the end a little
    assert manifest["duration"] == pytest.approx(sum(c["duration"] for c in chapters), abs=0.01)
    playlist = (out / "playlist.m3u").read_text().splitlines()
    assert playlist[0] == "#EXTM3U"
    assert playlist[2::2] == [c["files"]["mp3"] for c in chapters]
    assert playlist[1].startswith(f"#EXTINF:{round(chapters[0]['duration'])},Moby-Dick")
    # Nothing but the outputs and the cache: no temp files.
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".voxcli"]


def test_subtitles_parse_and_cover_the_audio(moby_run: tuple[Path, dict]) -> None:
    out, _ = moby_run
    book = read_book(str(corpus_file(*MOBY)))
    manifest = json.loads((out / "manifest.json").read_text())
    for chapter in manifest["chapters"]:
        duration = chapter["duration"]
        subs = list(srt.parse((out / chapter["files"]["srt"]).read_text(encoding="utf-8")))
        vtt = webvtt.from_string((out / chapter["files"]["vtt"]).read_text(encoding="utf-8"))
        assert len(subs) == len(vtt.captions) >= chapter["sentences"]
        previous_end = 0.0
        for sub, caption in zip(subs, vtt.captions, strict=True):
            start, end = sub.start.total_seconds(), sub.end.total_seconds()
            assert previous_end <= start < end <= duration + 0.0005
            previous_end = end
            assert vtt_seconds(caption.start) == pytest.approx(start, abs=0.001)
            assert vtt_seconds(caption.end) == pytest.approx(end, abs=0.001)
            assert all(len(line) <= 42 for line in sub.content.splitlines()) or len(sub.content.split()) == 1
            assert len(sub.content.splitlines()) <= 2
        # The cues start with the first sentence and end with the last sentence's audio.
        assert subs[0].start.total_seconds() < 0.5
        assert subs[-1].end.total_seconds() > duration - 2.0
        # Every word of the chapter is in the subtitles, in order (the title once, when it leads the text).
        text = book.chapters[chapter["index"] - 1]
        spoken = words(" ".join(s.content for s in subs))
        expected = words(text.text)
        if spoken[: len(words(text.title))] == words(text.title) and expected[
            : len(words(text.title))
        ] != words(text.title):
            spoken = spoken[len(words(text.title)) :]
        assert spoken == expected


def test_mp3_tags(moby_run: tuple[Path, dict]) -> None:
    out, _ = moby_run
    tags = ID3(out / "003 - ETYMOLOGY.mp3")
    assert str(tags["TIT2"]) == "ETYMOLOGY."
    assert str(tags["TALB"]) == "Moby-Dick"
    assert str(tags["TPE1"]) == "Herman Melville"
    assert str(tags["TRCK"]).startswith("3/")


@pytest.mark.usefixtures("ffmpeg")
def test_ffprobe_reads_every_file(moby_run: tuple[Path, dict]) -> None:
    out, _ = moby_run
    manifest = json.loads((out / "manifest.json").read_text())
    for chapter in manifest["chapters"]:
        for fmt, codec in (("wav", "pcm_s16le"), ("mp3", "mp3")):
            path = out / chapter["files"][fmt]
            probe = subprocess.run(
                ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            data = json.loads(probe.stdout)
            stream = data["streams"][0]
            assert (stream["codec_name"], stream["sample_rate"], stream["channels"]) == (codec, "22050", 1)
            assert float(data["format"]["duration"]) == pytest.approx(chapter["duration"], abs=0.15)
            if fmt == "mp3":
                assert data["format"]["tags"]["album"] == "Moby-Dick"
                assert data["format"]["tags"]["title"] == chapter["title"]
            # Decoding to the end finds no error.
            decode = subprocess.run(
                ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
                capture_output=True,
                text=True,
                check=False,
            )
            assert decode.returncode == 0 and decode.stderr == ""


def test_rerun_of_a_finished_book_does_nothing(moby_run: tuple[Path, dict]) -> None:
    out, _ = moby_run
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()}
    result = CliRunner().invoke(
        app,
        [
            "convert",
            str(corpus_file(*MOBY)),
            "--chapters",
            "1-3",
            "--format",
            "wav,mp3",
            "-o",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    counts = (summary["chapters_written"], summary["chapters_up_to_date"], summary["sentences_synthesized"])
    assert counts == (0, 3, 0)
    assert summary["wall_seconds"] < 5
    after = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()}
    assert after == before  # the manifest and playlist too: nothing changed, nothing is rewritten


def test_dry_run_speaks_nothing(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["convert", str(corpus_file(*MOBY)), "--chapters", "5-6", "-o", str(out), "--dry-run", "--json"]
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert [c["index"] for c in plan["chapters"]] == [5, 6]
    assert plan["chapters"][0]["file"] == "005 - Chapter 1. Loomings"
    assert plan["chapters"][0]["cached_sentences"] == 0
    assert 10 * 60 < plan["chapters"][0]["estimated_audio_seconds"] < 20 * 60
    assert not out.exists()
    table = runner.invoke(
        app, ["convert", str(corpus_file(*MOBY)), "--chapters", "5", "-o", str(out), "--dry-run"]
    )
    assert table.exit_code == 0 and "nothing was synthesised" in table.stderr and not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "ogg"], "--format: unknown format 'ogg'"),
        (["--bitrate", "65k"], "--bitrate: '65k' is not an MP3 bitrate"),
        (["--chapters", "0-2"], "--chapters: 0-2 is outside 1-"),
        (["--subtitles", "ssa"], "--subtitles: unknown 'ssa'"),
    ],
)
def test_bad_options_are_one_line(runner: CliRunner, tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["convert", str(corpus_file(*MOBY)), "-o", str(tmp_path / "o"), *args])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {message}") and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_missing_book_and_stdin_without_output(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["convert", str(tmp_path / "nope.epub")])
    assert result.exit_code == 2 and "nope.epub" in result.stderr
    result = runner.invoke(app, ["convert", "-"], input="Some text.")
    assert result.exit_code == 2 and "add -o OUTDIR" in result.stderr


def test_subtitles_none_and_default_output_folder(runner: CliRunner, tmp_path: Path) -> None:
    book = tmp_path / "tiny.md"
    book.write_text("# One\n\nHello there. This is tiny.\n\n# Two\n\nGoodbye now.\n", encoding="utf-8")
    result = runner.invoke(app, ["convert", str(book), "-v", "espeak:en-us", "--subtitles", "none"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "tiny"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "01 - One.wav",
        "02 - Two.wav",
        "manifest.json",
        "playlist.m3u",
    ]


def test_json_mode_prints_only_json_and_logs_are_plain_lines(runner: CliRunner, tmp_path: Path) -> None:
    book = tmp_path / "tiny.md"
    book.write_text("# One\n\nHello there. This is tiny.\n\n# Two\n\nGoodbye now.\n", encoding="utf-8")
    result = runner.invoke(
        app, ["convert", str(book), "-v", "espeak:en-us", "-o", str(tmp_path / "a"), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert json.loads(result.stdout)["chapters_written"] == 2
    # Not a terminal: a line per chapter instead of bars, then the summary.
    result = runner.invoke(app, ["convert", str(book), "-v", "espeak:en-us", "-o", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "2 of 2 chapter(s) to write, 43 characters to speak"
    assert any(line.startswith("01 - One: 0:0") and line.endswith("of audio, 3 sentences") for line in lines)
    assert "\x1b[" not in result.stderr
    assert "2 chapter(s) written, 0 up to date" in result.stderr


@pytest.mark.parametrize("value", ["both", "both:words"])
def test_subtitles_both_means_srt_and_vtt(
    runner: CliRunner, tmp_path: Path, fake_engines: None, value: str
) -> None:
    """`--subtitles both` writes SRT and VTT, as the help says; `both:words` a cue per word in each."""
    book = tmp_path / "tiny.md"
    book.write_text("# One\n\nHello there. This is tiny.\n\n# Two\n\nGoodbye now.\n", encoding="utf-8")
    out = tmp_path / "out"
    args = ["convert", str(book), "-v", "fake:tone", "--jobs", "1", "--subtitles", value, "-o", str(out)]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    chapters = json.loads(result.stdout)["manifest"]["chapters"]
    assert [sorted(c["files"]) for c in chapters] == [["srt", "vtt", "wav"]] * 2
    heard = {"One": "One. Hello there. This is tiny.", "Two": "Two. Goodbye now."}  # titles announced
    for chapter in chapters:
        spoken = words(heard[chapter["title"]])
        duration = soundfile.info(str(out / chapter["files"]["wav"])).duration
        srt_cues = list(srt.parse((out / chapter["files"]["srt"]).read_text(encoding="utf-8")))
        vtt_cues = webvtt.read(str(out / chapter["files"]["vtt"])).captions
        for texts, ends in (
            ([c.content for c in srt_cues], [c.end.total_seconds() for c in srt_cues]),
            ([c.text for c in vtt_cues], [vtt_seconds(c.end) for c in vtt_cues]),
        ):
            assert words(" ".join(texts)) == spoken
            assert max(ends) <= duration + 0.001
            if value == "both:words":
                assert [len(words(text)) for text in texts] == [1] * len(spoken)
            else:
                assert len(texts) < len(spoken)
