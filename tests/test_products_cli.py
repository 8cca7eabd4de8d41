"""`convert --format epub|mp4`, `--subtitles ass` and `--layout audiobookshelf`, end to end, checked with
tools that are not voxcli: epubcheck, ffprobe/ffmpeg, Python's own HTML parser, tesseract, mutagen.

The fake engine speaks a tone per word and silence in the pauses, so each sentence is one run of
sound in the chapter WAV: the clip times of the read-along EPUB are checked against those runs.
"""

from __future__ import annotations

import io
import itertools
import json
import posixpath
import re
import shutil
import subprocess
import tempfile
import zipfile
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pytest
import soundfile
import srt
from lxml import etree
from typer.testing import CliRunner

from tests.audiocheck import probe
from tests.conftest import corpus_file
from voxcli.cli import app
from voxcli.ingest import read_book

OPF = "{http://www.idpf.org/2007/opf}"
SMIL = "{http://www.w3.org/ns/SMIL}"
EPUB_NS = "{http://www.idpf.org/2007/ops}"
TOLERANCE = 0.020  # seconds: a clip boundary against the sentence boundary heard in the WAV


def run(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["convert", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def fake_run(runner: CliRunner, book: Path, *args: str) -> dict[str, Any]:
    """`convert BOOK` with the test engine in this process, and its JSON summary."""
    return run(runner, str(book), "-v", "fake:tone", "--jobs", "1", *args)


def smil_seconds(value: str) -> float:
    """A SMIL 3 clock value: hh:mm:ss.f, mm:ss.f, or a timecount (12.5s, 250ms, 1.5min, 2h, 12.5)."""
    value = value.strip()
    if ":" in value:
        parts = [float(p) for p in value.split(":")]
        seconds = 0.0
        for part in parts:
            seconds = seconds * 60 + part
        return seconds
    match = re.fullmatch(r"([0-9.]+)(h|min|s|ms)?", value)
    assert match, value
    scale = {"h": 3600.0, "min": 60.0, "s": 1.0, "ms": 0.001, None: 1.0}[match.group(2)]
    return float(match.group(1)) * scale


class _Text(HTMLParser):
    """The visible text of an XHTML body, by the standard library's parser (not lxml)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._body = False
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._body = True
        elif tag in ("script", "style"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if self._body and not self._hidden:
            self.parts.append(data)


def visible_text(data: bytes) -> str:
    parser = _Text()
    parser.feed(data.decode("utf-8"))
    return " ".join("".join(parser.parts).split())


def epubcheck(path: Path) -> None:
    """Debian's epubcheck reports no error and no warning. Its /usr/bin/epubcheck is an executable
    jar, which runs through binfmt_misc (jarwrapper) where the kernel allows it, else java -jar."""
    program = shutil.which("epubcheck")
    assert program, "epubcheck is missing: apt-get install epubcheck (.ci/run does)"
    with Path(program).open("rb") as handle:
        command = ["java", "-jar", program] if handle.read(2) == b"PK" else [program]
    done = subprocess.run([*command, str(path)], capture_output=True, text=True, timeout=600)
    report = done.stdout + done.stderr
    problems = [line for line in report.splitlines() if line.startswith(("ERROR", "FATAL", "WARNING"))]
    assert done.returncode == 0 and not problems, report[-4000:]


def decode(path: Path, rate: int) -> np.ndarray:
    """Any audio file decoded by ffmpeg to mono int16 at ``rate``."""
    done = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", str(rate), "-"],
        capture_output=True,
        check=True,
        timeout=300,
    )
    return np.frombuffer(done.stdout, dtype=np.int16)


def sound_runs(samples: np.ndarray, rate: int) -> list[tuple[float, float]]:
    """(start, end) seconds of each stretch of sound (the fake engine's sentences); silence is 0."""
    loud = np.abs(samples.astype(np.int32)) > 0
    edges = np.flatnonzero(np.diff(np.concatenate(([0], loud.astype(np.int8), [0]))))
    runs = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    merged: list[list[int]] = []
    for a, b in runs:  # a sine crosses zero: gaps under 2 ms are inside a tone
        if merged and a - merged[-1][1] < rate // 500:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [(a / rate, b / rate) for a, b in merged]


def read_epub(path: Path) -> tuple[zipfile.ZipFile, etree._Element, str]:
    archive = zipfile.ZipFile(path)
    container = etree.fromstring(archive.read("META-INF/container.xml"))
    opf_path = container.find(".//{urn:oasis:names:tc:opendocument:xmlns:container}rootfile").get("full-path")
    return archive, etree.fromstring(archive.read(opf_path)), opf_path


def overlays(path: Path) -> dict[str, Any]:
    """Every par of the EPUB, checked for targets; by audio file: [(begin, end, text file, id)]."""
    archive, opf, opf_path = read_epub(path)
    base = PurePosixPath(opf_path).parent
    items = {i.get("id"): i for i in opf.iter(f"{OPF}item")}
    metas = {(m.get("property"), m.get("refines")): (m.text or "") for m in opf.iter(f"{OPF}meta")}
    assert metas.get(("media:active-class", None)), "no media:active-class"
    assert metas.get(("media:narrator", None)), "no media:narrator"
    clips: dict[str, list[tuple[float, float, str, str]]] = {}
    durations = 0.0
    documents = 0
    for item in items.values():
        overlay = item.get("media-overlay")
        if not overlay:
            continue
        documents += 1
        smil_item = items[overlay]
        assert smil_item.get("media-type") == "application/smil+xml"
        smil_path = PurePosixPath(posixpath.normpath((base / smil_item.get("href")).as_posix()))
        smil = etree.fromstring(archive.read(str(smil_path)))
        duration = smil_seconds(metas[("media:duration", f"#{overlay}")])
        durations += duration
        doc_path = PurePosixPath(posixpath.normpath((base / item.get("href")).as_posix()))
        ids = set(etree.fromstring(archive.read(str(doc_path))).xpath("//@id"))
        total = 0.0
        for par in smil.iter(f"{SMIL}par"):
            text = par.find(f"{SMIL}text")
            audio = par.find(f"{SMIL}audio")
            target, _, fragment = text.get("src").partition("#")
            assert posixpath.normpath((smil_path.parent / target).as_posix()) == doc_path.as_posix(), target
            assert fragment in ids, f"{fragment} not in {doc_path}"
            begin, end = smil_seconds(audio.get("clipBegin")), smil_seconds(audio.get("clipEnd"))
            assert 0 <= begin < end
            total += end - begin
            audio_path = posixpath.normpath((smil_path.parent / audio.get("src")).as_posix())
            clips.setdefault(audio_path, []).append((begin, end, doc_path.as_posix(), fragment))
        assert duration == pytest.approx(total, abs=0.01)
    assert documents
    total = smil_seconds(metas[("media:duration", None)])
    assert total == pytest.approx(durations, abs=0.01)
    return {"archive": archive, "clips": clips, "opf": opf, "base": base, "items": items}


def check_clips_against_wav(epub: dict[str, Any], outdir: Path, manifest: dict[str, Any]) -> None:
    """Each chapter's clips: in order, no overlap, inside its audio, on the sentence runs of its WAV;
    as many pars as the chapter has spoken sentences."""
    archive = epub["archive"]
    by_length: dict[int, list[Any]] = {}
    for audio_path, clips in epub["clips"].items():
        starts = [c[0] for c in clips]
        assert starts == sorted(starts), audio_path
        for (_, end, *_), (begin, *_) in itertools.pairwise(clips):
            assert end <= begin + 1e-6, f"overlapping clips in {audio_path}"
        by_length.setdefault(len(clips), []).append((audio_path, clips))
    assert len(epub["clips"]) == len(manifest["chapters"])
    for chapter in manifest["chapters"]:
        wav = outdir / chapter["files"]["wav"]
        samples, rate = soundfile.read(str(wav), dtype="int16")
        assert len(samples) == chapter["samples"] and rate == chapter["sample_rate"]
        spoken = chapter["sentences"] - len(chapter["unspoken"])
        # the chapter's audio file in the EPUB: the one with its number of clips and its length
        candidates = by_length.get(spoken, [])
        assert candidates, f"no audio in the EPUB has {spoken} clips (chapter {chapter['index']})"
        runs = sound_runs(samples, rate)
        starts = np.array([a for a, _ in runs])
        ends = np.array([b for _, b in runs])
        matched = None
        for audio_path, clips in candidates:
            decoded = decode_member(archive, audio_path, rate)
            # AAC comes in frames of 1024 samples: FFmpeg trims the encoder's priming (the MP4 edit
            # list) but may keep the last frame's padding, which is silence after the last clip.
            if len(samples) <= len(decoded) <= len(samples) + 1024:
                matched = clips
                break
        assert matched is not None, f"no EPUB audio as long as chapter {chapter['index']}'s WAV"
        # The decoded AAC is in step with the WAV: the same sound at the same moments (10 ms windows).
        assert np.array_equal(_loud_windows(decoded[: len(samples)], rate), _loud_windows(samples, rate))
        duration = len(samples) / rate
        for begin, end, *_ in matched:
            assert end <= duration + 0.001
            # every clip starts where a sentence's sound starts, and ends where it ends (or where the
            # next sentence begins, when no pause lies between them)
            assert np.min(np.abs(starts - begin)) <= TOLERANCE or _inside(runs, begin), begin
            assert np.min(np.abs(ends - end)) <= TOLERANCE or _inside(runs, end), end
        # and every run of sound is covered by the clips
        for a, b in runs:
            assert any(c[0] - TOLERANCE <= a and b <= c[1] + TOLERANCE for c in matched) or any(
                c[0] - TOLERANCE <= a < c[1] for c in matched
            ), (a, b)
        run_edges = sorted([*starts, *ends])
        clip_edges = sorted({round(x, 6) for c in matched for x in c[:2]})
        for edge in run_edges:  # no sentence boundary heard in the WAV is missing from the clips
            assert min(abs(edge - e) for e in clip_edges) <= TOLERANCE, edge


def _loud_windows(samples: np.ndarray, rate: int) -> np.ndarray:
    """Which 10 ms windows hold sound (a tone), with the windows next to a change left out (AAC smears
    an edge over a few milliseconds)."""
    window = rate // 100
    count = len(samples) // window
    energy = np.abs(samples[: count * window].astype(np.float64)).reshape(count, window).mean(axis=1)
    loud = energy > 300
    steady = np.ones(count, dtype=bool)
    change = np.flatnonzero(np.diff(loud.astype(np.int8)))
    for index in change:
        steady[max(0, index - 1) : index + 3] = False
    return np.where(steady, loud, False)


def _inside(runs: list[tuple[float, float]], moment: float) -> bool:
    """Whether ``moment`` falls inside a run of sound (two sentences with no pause between them)."""
    return any(a + TOLERANCE < moment < b - TOLERANCE for a, b in runs)


_DECODED: dict[tuple[int, str], np.ndarray] = {}


def decode_member(archive: zipfile.ZipFile, name: str, rate: int) -> np.ndarray:
    """An audio file inside the EPUB, decoded by ffmpeg (from a file: MP4 needs seeking)."""
    key = (str(archive.filename), name)
    if key not in _DECODED:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / PurePosixPath(name).name
            path.write_bytes(archive.read(name))
            _DECODED[key] = decode(path, rate)
    return _DECODED[key]


def check_text_unchanged(source: Path, out: Path) -> None:
    """The visible text of every content document is what the source book shows."""
    original = zipfile.ZipFile(source)
    overlaid = zipfile.ZipFile(out)
    names = [n for n in original.namelist() if n.endswith((".xhtml", ".html", ".htm"))]
    assert names
    for name in names:
        assert visible_text(overlaid.read(name)) == visible_text(original.read(name)), name
    for name in original.namelist():  # everything else byte for byte
        if name not in names and not name.endswith(".opf"):
            assert overlaid.read(name) == original.read(name), name


@pytest.mark.slow
def test_readalong_epub_cut_at_fragments(
    runner: CliRunner, tmp_path: Path, fake_engines: None, ffmpeg: None
) -> None:
    """childrens-literature.epub: chapters cut at #fragments of one XHTML file, overlaid in place, in a
    document whose later chapters are not spoken."""
    book = corpus_file("epub", "childrens-literature.epub")
    out = tmp_path / "out"
    common = [
        str(book),
        "-v",
        "fake:tone",
        "--jobs",
        "1",
        "--speed",
        "2",
        # Eleven of the 22 chapters the book cuts at #fragments of s04.xhtml: the overlay must stop where
        # the spoken text does (the whole book is 3 hours of audio to encode, for nothing more).
        "--chapters",
        "1-11",
        "-o",
        str(out),
    ]
    first = run(runner, *common, "--format", "wav")
    assert first["sentences_synthesized"] > 0
    # Adding epub to a finished run speaks nothing: it is made from the sentence cache.
    summary = run(runner, *common, "--format", "wav,epub")
    assert summary["sentences_synthesized"] == 0
    manifest = summary["manifest"]
    record = manifest["readalong"]
    epub_path = out / record["file"]
    assert summary["products_written"] == [record["file"]] and not record["rebuilt"]
    epubcheck(epub_path)
    epub = overlays(epub_path)
    check_clips_against_wav(epub, out, manifest)
    check_text_unchanged(book, epub_path)
    spoken = sum(c["sentences"] - len(c["unspoken"]) for c in manifest["chapters"])
    assert sum(len(c) for c in epub["clips"].values()) == spoken == record["pars"]
    # A CSS highlight for the active class, linked from the overlaid documents.
    active = next(m.text for m in epub["opf"].iter(f"{OPF}meta") if m.get("property") == "media:active-class")
    css = [n for n in epub["archive"].namelist() if n.endswith(".css")]
    assert any(active in epub["archive"].read(n).decode("utf-8") for n in css)
    # Again: nothing spoken, nothing rewritten.
    again = run(runner, *common, "--format", "wav,epub")
    assert again["sentences_synthesized"] == 0 and again["products_written"] == []


def test_readalong_markdown_is_built_then_overlaid(
    runner: CliRunner, tmp_path: Path, fake_engines: None, ffmpeg: None
) -> None:
    """A Markdown book becomes a clean EPUB 3 with its chapters, then gets its overlays."""
    book = corpus_file("md", "rust-book-ch04-01-what-is-ownership.md")
    out = tmp_path / "out"
    summary = fake_run(
        runner,
        book,
        "--speed",
        "2",
        "--format",
        "wav,epub",
        "-o",
        str(out),
    )
    manifest = summary["manifest"]
    record = manifest["readalong"]
    assert record["rebuilt"] is True and record["unmatched"] == []
    epub_path = out / record["file"]
    epubcheck(epub_path)
    epub = overlays(epub_path)
    check_clips_against_wav(epub, out, manifest)
    # The built book shows every sentence the chapters have: its text holds each sentence's words.
    archive = epub["archive"]
    shown = " ".join(visible_text(archive.read(n)) for n in archive.namelist() if n.endswith(".xhtml"))
    for chapter in manifest["chapters"]:
        cues = srt.parse((out / chapter["files"]["srt"]).read_text(encoding="utf-8"))
        for cue in cues:
            assert " ".join(cue.content.split()) in shown


def test_readalong_words(runner: CliRunner, tmp_path: Path, fake_engines: None, ffmpeg: None) -> None:
    """--read-along words: the fake engine times every word, so every word has its own par."""
    book = tmp_path / "tiny.md"
    book.write_text(
        "# One\n\nHello there, friend. This is tiny.\n\n# Two\n\nGoodbye now.\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    summary = fake_run(
        runner,
        book,
        "--format",
        "wav,epub",
        "--read-along",
        "words",
        "-o",
        str(out),
    )
    record = summary["manifest"]["readalong"]
    assert record["level"] == "words"
    epub_path = out / record["file"]
    epubcheck(epub_path)
    epub = overlays(epub_path)
    archive = epub["archive"]
    texts: list[str] = []
    for clips in epub["clips"].values():
        for _, _, doc, fragment in clips:
            tree = etree.fromstring(archive.read(doc))
            (element,) = tree.xpath("//*[@id=$id]", id=fragment)
            texts.append("".join(element.itertext()).strip())
    words = ["One", "Hello", "there", "friend", "This", "is", "tiny", "Two", "Goodbye", "now"]
    assert [re.sub(r"\W", "", t) for t in texts if t] == words


def test_video_book_and_chapters(runner: CliRunner, tmp_path: Path, fake_engines: None, ffmpeg: None) -> None:
    book = tmp_path / "tiny.md"
    book.write_text(
        "# The Start\n\nHello there, friend. This is a tiny book.\n\n# The End\n\nGoodbye now, and thanks.\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    summary = fake_run(runner, book, "--format", "wav,mp4", "-o", str(out))
    manifest = summary["manifest"]
    (part,) = manifest["video"]["parts"]
    video = out / part["file"]
    probed = probe(video)
    # (a "data" stream, when there is one, is the QuickTime chapter track)
    kinds = {s["codec_type"]: s["codec_name"] for s in probed["streams"] if s["codec_type"] != "data"}
    assert kinds == {"video": "h264", "audio": "aac", "subtitle": "mov_text"}
    wav_seconds = sum(soundfile.info(str(out / c["files"]["wav"])).duration for c in manifest["chapters"])
    assert float(probed["format"]["duration"]) == pytest.approx(wav_seconds, abs=0.1)
    assert [c["tags"]["title"] for c in probed["chapters"]] == ["The Start", "The End"]
    first_wav = soundfile.info(str(out / manifest["chapters"][0]["files"]["wav"])).duration
    assert float(probed["chapters"][1]["start_time"]) == pytest.approx(first_wav, abs=0.01)
    decoded = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(video), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert decoded.returncode == 0 and decoded.stderr == ""
    # The soft subtitles, read back by ffmpeg, are the chapters' SRT cues moved to their place.
    srt_path = tmp_path / "back.srt"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(video), "-map", "0:s:0", str(srt_path)], check=True, timeout=60
    )
    back = list(srt.parse(srt_path.read_text(encoding="utf-8")))
    expected = []
    offset = 0.0
    for chapter in manifest["chapters"]:
        for cue in srt.parse((out / chapter["files"]["srt"]).read_text(encoding="utf-8")):
            expected.append((cue.start.total_seconds() + offset, " ".join(cue.content.split())))
        offset += chapter["samples"] / chapter["sample_rate"]
    assert [" ".join(c.content.split()) for c in back] == [text for _, text in expected]
    for cue, (start, _) in zip(back, expected, strict=True):
        assert cue.start.total_seconds() == pytest.approx(start, abs=0.01)
    # One video per chapter: made from the cache, nothing spoken again.
    again = fake_run(
        runner,
        book,
        "--format",
        "wav,mp4",
        "--video",
        "chapters",
        "-o",
        str(out),
    )
    assert again["sentences_synthesized"] == 0
    parts = again["manifest"]["video"]["parts"]
    assert [p["chapters"] for p in parts] == [[1], [2]]
    assert not video.exists()  # the book's video gave way to the chapters'
    for part, chapter in zip(parts, manifest["chapters"], strict=True):
        probed = probe(out / part["file"])
        assert float(probed["format"]["duration"]) == pytest.approx(chapter["duration"], abs=0.1)


def test_video_burned_subtitles_can_be_read(
    runner: CliRunner, tmp_path: Path, fake_engines: None, ffmpeg: None
) -> None:
    """--burn-subtitles: a frame in the middle of a cue, read by tesseract, shows the cue's words."""
    assert shutil.which("tesseract"), "tesseract is missing: apt-get install tesseract-ocr (.ci/run does)"
    book = tmp_path / "tiny.md"
    book.write_text("# Clover\n\nThe garden was quiet tonight.\n", encoding="utf-8")
    out = tmp_path / "out"
    summary = fake_run(
        runner,
        book,
        "--format",
        "wav,mp4",
        "--no-titles",
        "--burn-subtitles",
        "--subtitle-size",
        "56",
        "--subtitle-position",
        "middle",
        "-o",
        str(out),
    )
    manifest = summary["manifest"]
    video = out / manifest["video"]["parts"][0]["file"]
    probed = probe(video)
    assert {s["codec_type"] for s in probed["streams"]} >= {"video", "audio"}
    cue = list(srt.parse((out / manifest["chapters"][0]["files"]["srt"]).read_text(encoding="utf-8")))[-1]
    assert cue.content == "The garden was quiet tonight."
    middle = (cue.start.total_seconds() + cue.end.total_seconds()) / 2
    frame = tmp_path / "frame.png"
    subprocess.run(
        # Frames come only when the picture changes: sample at 10 per second, then seek.
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(video),
            "-vf",
            "fps=10",
            "-ss",
            f"{middle:.3f}",
            "-frames:v",
            "1",
            str(frame),
        ],
        check=True,
        timeout=60,
    )
    read = subprocess.run(["tesseract", str(frame), "-"], capture_output=True, text=True, timeout=60).stdout
    seen = set(re.findall(r"[a-z]+", read.lower()))
    assert {"garden", "quiet", "tonight"} <= seen, read


def test_ass_subtitles_equal_the_srt(
    runner: CliRunner, tmp_path: Path, fake_engines: None, ffmpeg: None
) -> None:
    """--subtitles srt,ass: the ASS, read back by ffmpeg, has the SRT's cues; ass:words is karaoke."""
    book = corpus_file("md", "rust-book-ch04-01-what-is-ownership.md")
    out = tmp_path / "out"
    summary = fake_run(
        runner,
        book,
        "--chapters",
        "1",
        "--subtitles",
        "srt,ass",
        "-o",
        str(out),
    )
    (chapter,) = summary["manifest"]["chapters"]
    assert set(chapter["files"]) == {"wav", "srt", "ass"}
    back = tmp_path / "back.srt"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(out / chapter["files"]["ass"]), str(back)], check=True, timeout=60
    )
    ours = list(srt.parse((out / chapter["files"]["srt"]).read_text(encoding="utf-8")))
    theirs = list(srt.parse(back.read_text(encoding="utf-8")))
    assert len(ours) == len(theirs) > 10
    for a, b in zip(ours, theirs, strict=True):
        assert " ".join(a.content.split()) == " ".join(re.sub(r"<[^>]+>", "", b.content).split())
        assert a.start.total_seconds() == pytest.approx(b.start.total_seconds(), abs=0.011)
        assert a.end.total_seconds() == pytest.approx(b.end.total_seconds(), abs=0.011)
    karaoke = fake_run(
        runner,
        book,
        "--chapters",
        "1",
        "--subtitles",
        "ass:words",
        "-o",
        str(tmp_path / "k"),
    )
    (chapter,) = karaoke["manifest"]["chapters"]
    text = (tmp_path / "k" / chapter["files"]["ass"]).read_text(encoding="utf-8")
    dialogues = [line for line in text.splitlines() if line.startswith("Dialogue:")]
    assert dialogues and all("\\k" in line for line in dialogues)


def test_usage_errors(runner: CliRunner, tmp_path: Path, fake_engines: None) -> None:
    book = tmp_path / "tiny.md"
    book.write_text("# One\n\nHello.\n", encoding="utf-8")
    cases = [
        (["--read-along", "words"], "--read-along is for the EPUB"),
        (["--burn-subtitles"], "--burn-subtitles is for videos"),
        (["--video", "chapters"], "--video is for videos"),
        (["--format", "mp4", "--subtitle-size", "40"], "--subtitle-size styles burned-in subtitles"),
        (
            ["--format", "mp4", "--burn-subtitles", "--subtitle-font", str(tmp_path / "no.ttf")],
            "is not a file",
        ),
        (
            ["--layout", "audiobookshelf", "--format", "wav,m4b", "-o", str(tmp_path / "lib")],
            "one copy of the audio",
        ),
        (["--subtitles", "ass:speakers"], "ass has no voice spans"),
        (["--format", "epub,gif"], "unknown format 'gif'"),
    ]
    for extra, message in cases:
        result = runner.invoke(app, ["convert", str(book), "-v", "fake:tone", *extra])
        assert result.exit_code == 2, (extra, result.output)
        assert message in result.stderr, (extra, result.stderr)
        assert "Traceback" not in result.output
    result = runner.invoke(app, ["convert", str(book), "-v", "fake:tone", "--layout", "audiobookshelf"])
    assert result.exit_code == 2 and "needs the library folder" in result.stderr


def test_audiobookshelf_layout_for_two_books(
    runner: CliRunner, tmp_path: Path, fake_engines: None, ffmpeg: None
) -> None:
    """Two books into one library: Author/Title folders with what Audiobookshelf scans, read back."""
    from mutagen.id3 import ID3
    from mutagen.mp4 import MP4
    from PIL import Image

    library = tmp_path / "library"
    quick = corpus_file("epub", "calibre-quickstart-eng.epub")
    georgia = corpus_file("epub", "georgia-pls-ssml.epub")
    common = ["-v", "fake:tone", "--jobs", "1", "--layout", "audiobookshelf", "-o", str(library)]
    first = run(runner, str(quick), *common, "--chapters", "1-3")
    second = run(runner, str(georgia), *common, "--chapters", "1-2", "--format", "mp3")
    folder_one = library / "John Schember" / "Quick Start Guide"
    folder_two = library / "Various" / "Georgia"
    assert Path(first["outdir"]) == folder_one and Path(second["outdir"]) == folder_two
    audio_suffixes = {".wav", ".mp3", ".m4b", ".m4a", ".mp4", ".flac"}
    one = sorted(p.name for p in folder_one.iterdir() if p.suffix in audio_suffixes)
    two = sorted(p.name for p in folder_two.iterdir() if p.suffix in audio_suffixes)
    assert one == ["Quick Start Guide.m4b"]  # one copy of the audio: no chapter WAVs beside it
    assert len(two) == 2 and all(name.endswith(".mp3") for name in two)
    for folder, book_title, author in (
        (folder_one, "Quick Start Guide", "John Schember"),
        (folder_two, "Georgia", "Various"),
    ):
        meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
        assert meta["title"] == book_title and meta["authors"] == [author]
        reader = (folder / "reader.txt").read_text(encoding="utf-8").strip()
        assert reader.startswith("fake") and meta["narrators"] == [reader]
        with Image.open(folder / "cover.jpg") as image:
            assert image.format == "JPEG"
        starts = [c["start"] for c in meta["chapters"]]
        assert starts == sorted(starts) and starts[0] == 0
    # The M4B's own chapters and tags, as ffprobe and mutagen read them, agree with metadata.json.
    meta = json.loads((folder_one / "metadata.json").read_text(encoding="utf-8"))
    probed = probe(folder_one / "Quick Start Guide.m4b")
    assert [c["tags"]["title"] for c in probed["chapters"]] == [c["title"] for c in meta["chapters"]]
    for theirs, ours in zip(probed["chapters"], meta["chapters"], strict=True):
        assert float(theirs["start_time"]) == pytest.approx(ours["start"], abs=0.01)
        assert float(theirs["end_time"]) == pytest.approx(ours["end"], abs=0.01)
    tags = MP4(folder_one / "Quick Start Guide.m4b").tags
    assert tags["\xa9nam"] == ["Quick Start Guide"] and tags["\xa9ART"] == ["John Schember"]
    assert tags["\xa9wrt"] == meta["narrators"]
    assert (folder_one / "desc.txt").read_text(encoding="utf-8").strip()
    # The chapter MP3s: track numbers, album and narrator.
    numbers = []
    for name in two:
        id3 = ID3(folder_two / name)
        assert str(id3["TALB"]) == "Georgia" and str(id3["TPE1"]) == "Various"
        assert str(id3["TCOM"]).startswith("fake")
        numbers.append(str(id3["TRCK"]))
    assert numbers == ["1/10", "2/10"]
    cover = read_book(georgia).cover
    assert cover is not None
    with Image.open(folder_two / "cover.jpg") as image, Image.open(io.BytesIO(cover.data)) as original:
        assert image.size == original.size  # the book's PNG cover, as JPEG
    # Again: nothing spoken, nothing rewritten.
    again = run(runner, str(quick), *common, "--chapters", "1-3")
    assert again["sentences_synthesized"] == 0 and again["audiobook_written"] == []
    # Fewer chapters: the M4B and metadata.json both hold just those.
    fewer = run(runner, str(quick), *common, "--chapters", "1-2")
    assert fewer["sentences_synthesized"] == 0
    meta = json.loads((folder_one / "metadata.json").read_text(encoding="utf-8"))
    probed = probe(folder_one / "Quick Start Guide.m4b")
    assert len(meta["chapters"]) == len(probed["chapters"]) == 2
    assert meta["chapters"][-1]["end"] == pytest.approx(float(probed["format"]["duration"]), abs=0.05)


def test_readalong_and_video_with_the_builtin_voice(runner: CliRunner, tmp_path: Path, ffmpeg: None) -> None:
    """The real built-in Piper voice: a word-level read-along EPUB and a video, both valid, both in step
    with the chapter WAVs."""
    book = tmp_path / "short.md"
    book.write_text(
        "# The Garden\n\nThe garden was quiet. A bird sang on the wall.\n\n"
        "# The House\n\nInside, the kettle began to whistle.\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    summary = run(
        runner, str(book), "--jobs", "1", "--format", "wav,epub,mp4", "--read-along", "words", "-o", str(out)
    )
    manifest = summary["manifest"]
    record = manifest["readalong"]
    epub_path = out / record["file"]
    epubcheck(epub_path)
    epub = overlays(epub_path)
    archive = epub["archive"]
    # Piper times its words (phoneme alignment) and forced alignment times the sentences it did not
    # ("a bird" is one eSpeak word): the pars read the book in order, a word each where timed.
    texts = []
    for clips in epub["clips"].values():
        for _, _, doc, fragment in clips:
            (element,) = etree.fromstring(archive.read(doc)).xpath("//*[@id=$id]", id=fragment)
            texts.append(re.sub(r"\W", "", "".join(element.itertext())))
    words = (
        "The Garden The garden was quiet A bird sang on the wall The House Inside the kettle began to whistle"
    )
    assert "".join(texts) == "".join(words.split())
    assert sum(t in words.split() for t in texts) >= 16  # of 18 words (18 here)
    for chapter in manifest["chapters"]:  # each chapter's clips lie within its audio
        duration = soundfile.info(str(out / chapter["files"]["wav"])).duration
        rate, samples = chapter["sample_rate"], chapter["samples"]
        (clips,) = [
            c
            for path, c in epub["clips"].items()
            if samples <= len(decode_member(archive, path, rate)) <= samples + 1024
        ]
        assert clips[-1][1] <= duration + 0.001
    (part,) = manifest["video"]["parts"]
    probed = probe(out / part["file"])
    assert {s["codec_name"] for s in probed["streams"]} >= {"h264", "aac", "mov_text"}
    total = sum(c["samples"] / c["sample_rate"] for c in manifest["chapters"])
    assert float(probed["format"]["duration"]) == pytest.approx(total, abs=0.1)
