"""Cost of MP4 video: `.venv/bin/python bench/video.py [--minutes 20]`.

Writes a synthetic narration (24 kHz speech-like noise, a chapter every 10 minutes, a two-line cue every
3.2 seconds) as MP4 with voxcli.video, with soft and with burned subtitles, on a generated title card and
on a photo-like JPEG cover, each case in its own process; prints a Markdown table of seconds of work per
hour of audio, file size per hour, frames per hour and the peak memory of the process.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [str(REPO), *(p for p in sys.path if Path(p or ".").resolve() != REPO / "bench")]
RATE = 24000
CASES = ("soft, title cards", "soft, cover", "burned, title cards", "burned, cover")


def speechlike(seconds: int, block: int = RATE * 5) -> Iterator[np.ndarray]:
    """A minute of noise shaped by a syllable-rate envelope, made once and repeated block by block, so
    that the benchmark times the writer, not the making of the audio (and memory stays bounded)."""
    generator = np.random.default_rng(7)
    t = np.arange(60 * RATE) / RATE
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4.0 * t) * np.sin(2 * np.pi * 0.3 * t)
    voice = np.sin(2 * np.pi * 140 * t) + 0.5 * np.sin(2 * np.pi * 280 * t)
    minute = (envelope * (0.6 * voice + 0.4 * generator.standard_normal(t.size)) * 6000).astype(np.int16)
    total = seconds * RATE
    for at in range(0, total, block):
        offset = at % minute.size
        n = min(block, total - at, minute.size - offset)
        yield minute[offset : offset + n]
        if n < min(block, total - at):  # the minute wrapped inside this block
            rest = min(block, total - at) - n
            yield minute[:rest]


def photo_cover() -> bytes:
    """A 1600x2400 JPEG with smooth colour and fine grain, compressing about as badly as a photograph."""
    from PIL import Image

    generator = np.random.default_rng(3)
    coarse = Image.fromarray(generator.integers(0, 255, (24, 16, 3), dtype=np.uint8)).resize(
        (1600, 2400), Image.Resampling.BICUBIC
    )
    grain = generator.integers(-30, 31, (2400, 1600, 3), dtype=np.int16)
    pixels = np.clip(np.asarray(coarse).astype(np.int16) + grain, 0, 255).astype(np.uint8)
    data = io.BytesIO()
    Image.fromarray(pixels).save(data, "JPEG", quality=90)
    return data.getvalue()


def one(case: str, minutes: int) -> dict[str, float]:
    import av

    from voxcli.audio.subtitles import Cue
    from voxcli.book import Cover
    from voxcli.video import Section, SubtitleStyle, VideoSettings, write_mp4

    seconds = minutes * 60
    sections = [
        Section(f"Chapter {i + 1}: A Somewhat Long Chapter Title", s * RATE, min(seconds, s + 600) * RATE)
        for i, s in enumerate(range(0, seconds, 600))
    ]
    words = ["the", "keeper", "climbed", "the", "winding", "stair", "and", "lit", "the", "lamp"]
    words += ["against", "the", "storm"]
    cues = [
        Cue(i + 1, t, t + 3.0, [" ".join(words[i % 5 : i % 5 + 5]), " ".join(words[i % 7 + 3 : i % 7 + 8])])
        for i, t in enumerate(np.arange(0.2, seconds - 3.2, 3.2).tolist())
    ]
    cover = Cover("image/jpeg", photo_cover()) if "cover" in case else None
    settings = VideoSettings(burn=SubtitleStyle() if case.startswith("burned") else None)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "book.mp4"
        start = time.perf_counter()
        write_mp4(
            out,
            rate=RATE,
            samples=seconds * RATE,
            audio=speechlike(seconds),
            sections=sections,
            cues=cues,
            cover=cover,
            book_title="The Lighthouse Keeper",
            author="Mary Example",
            language="en",
            settings=settings,
        )
        work = time.perf_counter() - start
        size = out.stat().st_size
        with av.open(str(out)) as back:
            sizes = [p.size for p in back.demux(back.streams.video[0]) if p.size]
        frames, video_bytes = len(sizes), sum(sizes)
    hours = seconds / 3600
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {
        "work_s_per_hour": work / hours,
        "mb_per_hour": size / 1e6 / hours,
        "video_mb_per_hour": video_bytes / 1e6 / hours,
        "frames_per_hour": frames / hours,
        "peak_mib": peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=int, default=20, help="audio length of each case")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.minutes)))
        return
    print(f"MP4 video, {args.minutes} minutes of 24 kHz mono audio per case, 1280x720, AAC 64 kbps\n")
    print(
        "| case | work s / hour of audio | real-time factor | MB / hour (video) | frames / hour | peak RSS |"
    )
    print("|---|---|---|---|---|---|")
    for case in CASES:
        run = subprocess.run(
            [sys.executable, __file__, "--minutes", str(args.minutes), "--one", case],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(run.stdout.strip().splitlines()[-1])
        print(
            f"| {case} | {r['work_s_per_hour']:.1f} | {r['work_s_per_hour'] / 3600:.4f} | "
            f"{r['mb_per_hour']:.1f} ({r['video_mb_per_hour']:.1f}) | {r['frames_per_hour']:.0f} | "
            f"{r['peak_mib']:.0f} MiB |",
            flush=True,
        )


if __name__ == "__main__":
    main()
