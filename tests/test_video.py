"""MP4 video writing (voxcli.video), checked by independent readers: ffprobe, ffmpeg, srt and tesseract."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import srt  # type: ignore[import-untyped]
from PIL import Image, ImageDraw

from tests.audiocheck import probe
from tests.conftest import require
from voxcli.audio.subtitles import Cue
from voxcli.book import Cover
from voxcli.errors import Interrupted, VoxError
from voxcli.video import Section, SubtitleStyle, VideoSettings, video_encoder_problem, write_mp4
from voxcli.video.frames import (
    BACKGROUND,
    SubtitlePainter,
    cover_image,
    font_for,
    load_font,
    title_card,
    wrap,
)
from voxcli.video.mp4 import _shots, _Span, _spans

RATE = 24000
TONE = (2.0, 4.0)  # seconds of 440 Hz in the test audio, silence elsewhere
SECONDS = 6.0
CUES = [
    Cue(1, 0.40, 1.90, ["The quick brown fox", "jumps over the dog"]),
    Cue(2, 2.25, 3.70, ["Meanwhile, elsewhere: {braces} & é"]),
    Cue(3, 4.10, 5.55, ["Goodbye now"]),
]
SECTIONS = [Section("Opening Chapter", 0, 3 * RATE), Section("Second Chapter", 3 * RATE, int(SECONDS * RATE))]
TITLE = "Lighthouse Keeper"
AUTHOR = "Mary Example"


def tone_audio(seconds: float = SECONDS) -> np.ndarray:
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    pcm = np.zeros(n, np.int16)
    on = (t >= TONE[0]) & (t < TONE[1])
    pcm[on] = (np.sin(2 * np.pi * 440 * t[on]) * 12000).astype(np.int16)
    return pcm


def blocks(pcm: np.ndarray, size: int = 7000) -> list[np.ndarray]:
    return [pcm[i : i + size] for i in range(0, pcm.size, size)]


def write(path: Path, pcm: np.ndarray | None = None, **overrides: Any) -> Path:
    pcm = tone_audio() if pcm is None else pcm
    arguments: dict[str, Any] = {
        "rate": RATE,
        "samples": pcm.size,
        "audio": blocks(pcm),
        "sections": SECTIONS,
        "cues": CUES,
        "cover": None,
        "book_title": TITLE,
        "author": AUTHOR,
        "language": "en-GB",
    }
    arguments.update(overrides)
    write_mp4(path, **arguments)
    return path


def video_packets(path: Path) -> list[tuple[float, float, bool]]:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time,duration_time,flags",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [
        (float(p["pts_time"]), float(p["duration_time"]), "K" in p["flags"])
        for p in json.loads(out)["packets"]
    ]


def frame_at(path: Path, seconds: float, folder: Path) -> Path:
    """The picture shown at ``seconds``, as ffmpeg decodes it (made constant-rate first: the video has a
    frame only when the picture changes, and ffmpeg's -ss keeps the first frame *after* the time)."""
    png = folder / f"frame-{seconds:.2f}.png"
    command = ["ffmpeg", "-v", "error", "-y", "-i", str(path), "-vf", "fps=10", "-ss", f"{seconds}"]
    subprocess.run([*command, "-frames:v", "1", str(png)], check=True)
    assert png.exists(), f"ffmpeg gave no frame at {seconds} s"
    return png


def ocr(png: Path) -> str:
    require("tesseract", shutil.which("tesseract") is not None, "apt-get install tesseract-ocr")
    out = subprocess.run(["tesseract", str(png), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(out.split()).lower()


def read_words(text: str, png: Path) -> None:
    words = [w.strip(",.:!?").lower() for w in text.split()]
    words = [w for w in words if w.isalpha()]
    seen = ocr(png)
    found = [w for w in words if w in seen]
    assert len(found) >= 0.7 * len(words), f"OCR read {seen!r}, expected most of {words}"


@pytest.fixture(scope="module")
def soft(tmp_path_factory: pytest.TempPathFactory, ffmpeg: None) -> Path:
    return write(tmp_path_factory.mktemp("soft") / "book.mp4")


def test_the_encoders_are_there() -> None:
    assert video_encoder_problem() is None


def test_streams_chapters_tags_and_duration(soft: Path) -> None:
    info = probe(soft)
    kinds = {s["codec_type"]: s for s in info["streams"] if s["codec_type"] != "data"}
    video, sound, text = kinds["video"], kinds["audio"], kinds["subtitle"]
    assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
    assert (video["width"], video["height"]) == (1280, 720)
    assert sound["codec_name"] == "aac" and int(sound["sample_rate"]) == RATE
    assert text["codec_name"] == "mov_text"
    for stream in (video, sound, text):
        assert stream["tags"]["language"] == "eng"
    assert [s["codec_type"] for s in info["streams"]].count("subtitle") == 1
    assert abs(float(info["format"]["duration"]) - SECONDS) < 0.1
    assert abs(float(video["duration"]) - SECONDS) < 0.1, "the last picture must last to the end"
    assert abs(float(sound["duration"]) - SECONDS) < 0.1
    chapters = info["chapters"]
    assert [c["tags"]["title"] for c in chapters] == [s.title for s in SECTIONS]
    for chapter, section in zip(chapters, SECTIONS, strict=True):
        assert abs(float(chapter["start_time"]) - section.start / RATE) < 0.002
        assert abs(float(chapter["end_time"]) - section.end / RATE) < 0.002
    tags = info["format"]["tags"]
    assert tags["title"] == TITLE and tags["artist"] == AUTHOR and tags["album"] == TITLE


def test_decodes_fully_without_errors(soft: Path) -> None:
    run = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(soft), "-f", "null", "-"], capture_output=True, text=True
    )
    assert run.returncode == 0 and run.stderr.strip() == ""


def test_soft_subtitles_read_back(soft: Path, tmp_path: Path) -> None:
    out = tmp_path / "back.srt"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(soft), "-map", "0:s:0", str(out)], check=True)
    back = list(srt.parse(out.read_text(encoding="utf-8")))
    assert len(back) == len(CUES)
    for got, cue in zip(back, CUES, strict=True):
        assert got.content == "\n".join(cue.lines)
        assert abs(got.start.total_seconds() - cue.start) <= 0.01
        assert abs(got.end.total_seconds() - cue.end) <= 0.01


def test_audio_decodes_with_the_tone_in_place(soft: Path) -> None:
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(soft),
            "-map",
            "0:a",
            "-ac",
            "1",
            "-ar",
            str(RATE),
            "-f",
            "wav",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    with wave.open(io.BytesIO(raw)) as back:
        assert back.getframerate() == RATE
        pcm = np.frombuffer(back.readframes(back.getnframes()), np.int16).astype(np.float64)
    assert abs(pcm.size - SECONDS * RATE) < 0.1 * RATE
    t = np.arange(RATE) / RATE
    probe_tone = np.exp(-2j * np.pi * 440 * t)
    for second in range(int(SECONDS)):
        chunk = pcm[second * RATE : (second + 1) * RATE]
        rms = float(np.sqrt(np.mean(chunk**2)))
        if TONE[0] <= second < TONE[1]:
            assert rms > 6000, f"second {second}: the tone is missing (rms {rms:.0f})"
            # Nearly all the energy is at 440 Hz.
            share = 2 * abs(np.dot(chunk, probe_tone)) ** 2 / chunk.size / np.sum(chunk**2)
            assert share > 0.9, f"second {second}: only {share:.2f} of the energy is at 440 Hz"
        else:
            assert rms < 300, f"second {second} should be silent (rms {rms:.0f})"


def test_frames_only_on_changes_and_every_keyframe_interval(tmp_path: Path, ffmpeg: None) -> None:
    pcm = np.zeros(25 * RATE, np.int16)
    sections = [Section("One", 0, 12 * RATE), Section("Two", 12 * RATE, 25 * RATE)]
    out = write(tmp_path / "long.mp4", pcm, sections=sections, cues=[])
    packets = video_packets(out)
    assert [round(p[0], 3) for p in packets] == [0.0, 10.0, 12.0, 22.0]
    assert all(key for _, _, key in packets)
    assert abs(packets[-1][0] + packets[-1][1] - 25.0) < 0.01
    assert "subtitle" not in {s["codec_type"] for s in probe(out)["streams"]}, "no cues, no track"


def test_burned_subtitles_are_in_the_picture(tmp_path: Path, ffmpeg: None) -> None:
    style = SubtitleStyle(size=48)
    out = write(tmp_path / "burned.mp4", settings=VideoSettings(burn=style))
    info = probe(out)
    assert "subtitle" not in {s["codec_type"] for s in info["streams"]}, (
        "burned: no soft track to double them"
    )
    assert abs(float(info["format"]["duration"]) - SECONDS) < 0.1
    times = [round(p[0], 3) for p in video_packets(out)]
    assert times == [0.0, 0.4, 1.9, 2.25, 3.0, 3.7, 4.1, 5.55]
    read_words(" ".join(CUES[0].lines), frame_at(out, 1.2, tmp_path))
    read_words("Goodbye now", frame_at(out, 5.0, tmp_path))
    gone = ocr(frame_at(out, 5.8, tmp_path))
    assert "goodbye" not in gone and "lighthouse" in gone


def test_title_card_shows_the_book_title(soft: Path, tmp_path: Path) -> None:
    first = ocr(frame_at(soft, 1.0, tmp_path))
    assert "lighthouse keeper" in first and "mary example" in first and "opening chapter" in first
    assert "second chapter" in ocr(frame_at(soft, 4.0, tmp_path))


def jpeg_cover(colour: tuple[int, int, int], size: tuple[int, int] = (400, 600)) -> Cover:
    image = Image.new("RGB", size, colour)
    ImageDraw.Draw(image).rectangle((10, 10, size[0] - 10, 40), fill=(250, 250, 250))
    data = io.BytesIO()
    image.save(data, "JPEG", quality=92)
    return Cover("image/jpeg", data.getvalue())


def test_cover_is_fitted_and_letterboxed(tmp_path: Path, ffmpeg: None) -> None:
    colour = (200, 60, 40)
    out = write(tmp_path / "cover.mp4", cover=jpeg_cover(colour), cues=[])
    picture = np.asarray(Image.open(frame_at(out, 1.0, tmp_path)).convert("RGB")).astype(int)
    assert picture.shape == (720, 1280, 3)
    centre = picture[340:380, 620:660].reshape(-1, 3).mean(axis=0)
    assert np.abs(centre - colour).max() < 12, f"centre {centre} is not the cover's {colour}"
    # A 2:3 cover on a 16:9 frame: 480 pixels wide, dark bars either side, full height.
    assert np.abs(picture[360, 100] - BACKGROUND).max() < 12
    assert np.abs(picture[360, 1180] - BACKGROUND).max() < 12
    assert np.abs(picture[700, 640] - colour).max() < 16
    assert np.abs(picture[360, 420] - colour).max() < 16 and np.abs(picture[360, 380] - BACKGROUND).max() < 16


def test_an_unusable_cover_gives_the_title_card(tmp_path: Path, ffmpeg: None) -> None:
    svg = Cover("image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    broken = Cover("image/jpeg", b"\xff\xd8\xff\xe0 not really a jpeg")
    plain = np.asarray(Image.open(frame_at(write(tmp_path / "plain.mp4", cues=[]), 1.0, tmp_path)))
    for name, cover in (("svg", svg), ("broken", broken)):
        folder = tmp_path / name
        folder.mkdir()
        out = write(folder / "x.mp4", cover=cover, cues=[])
        picture = np.asarray(Image.open(frame_at(out, 1.0, folder)))
        assert np.abs(picture.astype(int) - plain).mean() < 1


def test_stopping_leaves_nothing(tmp_path: Path) -> None:
    polls = iter(range(100))
    with pytest.raises(Interrupted, match=r"stopped while writing book\.mp4"):
        write(tmp_path / "book.mp4", should_stop=lambda: next(polls) >= 3)
    assert list(tmp_path.iterdir()) == []


def test_wrong_sample_count_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="samples"):
        write(tmp_path / "book.mp4", samples=int(SECONDS * RATE) + 5000)
    assert list(tmp_path.iterdir()) == []


def test_settings_problems_are_vox_errors(tmp_path: Path) -> None:
    with pytest.raises(VoxError, match="1279x720"):
        write(tmp_path / "a.mp4", settings=VideoSettings(width=1279))
    with pytest.raises(VoxError, match="font"):
        write(tmp_path / "b.mp4", settings=VideoSettings(burn=SubtitleStyle(font=tmp_path / "none.ttf")))
    with pytest.raises(VoxError, match="keyframe"):
        write(tmp_path / "d.mp4", settings=VideoSettings(keyframe_seconds=0.01))
    with pytest.raises(ValueError, match="int16"):
        write(tmp_path / "e.mp4", audio=[np.zeros(int(SECONDS * RATE), np.float32)])
    with pytest.raises(VoxError, match="colour"):
        write(tmp_path / "c.mp4", settings=VideoSettings(burn=SubtitleStyle(colour="not-a-colour")))
    assert list(tmp_path.iterdir()) == []


def test_overlapping_cues_are_cut_and_clipped() -> None:
    cues = [
        Cue(2, 1.0, 3.0, ["b"]),
        Cue(1, 0.0, 1.5, ["a"]),
        Cue(3, 2.5, 9.0, ["c"]),
        Cue(4, 4.0, 4.0, ["x"]),
    ]
    assert _spans(cues, 5000) == [_Span(0, 1000, ["a"]), _Span(1000, 2500, ["b"]), _Span(2500, 5000, ["c"])]


def test_shot_timing() -> None:
    spans = [_Span(500, 1500, ["a"]), _Span(1500, 2000, ["b"])]
    shots = list(_shots([0, 1800], spans, 25000, 10.0))
    assert [(s.ms, s.section, s.cue, s.key) for s in shots] == [
        (0, 0, -1, True),
        (500, 0, 0, False),
        (1500, 0, 1, False),
        (1800, 1, 1, True),
        (2000, 1, -1, False),
        (12000, 1, -1, True),
        (22000, 1, -1, True),
    ]


def test_wrapping_keeps_lines_inside() -> None:
    font = load_font(None, 40)
    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    text = "a fairly long sentence that certainly needs wrapping " + "x" * 80
    lines = wrap(text, font, 400, draw)
    assert len(lines) > 2 and "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert all(draw.textlength(line, font=font) <= 400 for line in lines)


def test_burned_patch_matches_a_full_repaint() -> None:
    from voxcli.video.mp4 import _Pictures, _yuv

    settings = VideoSettings(burn=SubtitleStyle(position="top"))
    painter = SubtitlePainter(SubtitleStyle(position="top"), 1280, 720)
    pictures = _Pictures(None, settings, TITLE, AUTHOR, ["One"], painter)
    lines = ["Some words to draw,", "and a second line of them"]
    fast = pictures.frame(0, lines)
    base = title_card(1280, 720, title=TITLE, author=AUTHOR, section="One", keep_clear="top")
    assert np.array_equal(fast, _yuv(painter.paint(base, lines)))
    assert not np.array_equal(fast, pictures.frame(0, None))


def test_text_the_bundled_font_lacks_uses_an_installed_font() -> None:
    from voxcli.video.frames import _missing

    text = "Война и мир"
    if not shutil.which("fc-match"):
        pytest.skip("no fontconfig here")
    font = font_for(text, 40, None)
    path = getattr(font, "path", None)
    if _missing(None, text) == "":
        pytest.skip("the bundled font draws Cyrillic itself")
    if path is None:
        pytest.skip("no installed font draws Cyrillic")
    assert _missing(str(path), text) == ""


def test_a_transparent_png_cover_is_laid_on_the_canvas() -> None:
    image = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((50, 50, 250, 250), fill=(30, 200, 90, 255))
    data = io.BytesIO()
    image.save(data, "PNG")
    fitted = cover_image(Cover("image/png", data.getvalue()), 1280, 720)
    assert fitted is not None and fitted.size == (1280, 720) and fitted.mode == "RGB"
    assert fitted.getpixel((640, 360)) == (30, 200, 90)
    assert fitted.getpixel((500, 10)) == BACKGROUND  # transparent corner: the canvas shows
    assert cover_image(Cover("image/jpeg", b""), 1280, 720) is None


def test_a_cover_tagged_as_rotated_is_turned_upright() -> None:
    image = Image.new("RGB", (600, 300), (200, 0, 0))
    exif = image.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees to display
    data = io.BytesIO()
    image.save(data, "JPEG", exif=exif.tobytes())
    fitted = cover_image(Cover("image/jpeg", data.getvalue()), 1280, 720)
    assert fitted is not None
    assert fitted.getpixel((300, 360)) == BACKGROUND  # upright it is portrait: bars either side
    centre = np.asarray(fitted)[360, 640].astype(int)
    assert np.abs(centre - (200, 0, 0)).max() < 8
