"""What levelling and M4B packaging cost: `.venv/bin/python bench/audiobook.py [--quick]`.

On Children's Literature spoken with eSpeak-NG (fast, so the book is cached in seconds), measures:
- levelling: `convert --force` of the cached chapters (nothing is spoken: the cost is reading the
  cache and writing WAVs) with `--loudness -18` against `--loudness off`: seconds per hour of audio;
- M4B: adding `--format m4b` to the finished run, with PyAV and with the ffmpeg program: times real
  time (hours of audio encoded per hour of wall time).
Targets: levelling under 15 s per hour of audio; M4B over 60x real time with either encoder. Writes
bench/results-audiobook.json; exits 1 when a target is missed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO.parent / "shared" / "corpus" / "epub" / "childrens-literature.epub"
LEVELLING_TARGET = 15.0  # seconds per hour of audio
M4B_TARGET = 60.0  # times real time


def voxcli(*args: str, env: dict[str, str] | None = None) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "voxcli",
            "convert",
            str(BOOK),
            "-v",
            "espeak",
            "--subtitles",
            "none",
            "--json",
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        check=False,
    )
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"voxcli convert {' '.join(args)} failed: {result.stderr.strip()}")
    return wall, json.loads(result.stdout)


def main() -> int:
    quick = "--quick" in sys.argv
    chapters = ["--chapters", "10-13"] if quick else []
    results: dict[str, Any] = {
        "book": BOOK.name,
        "chapters": "10-13" if quick else "all",
        "cores": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        wall, summary = voxcli("-o", str(out), "--format", "wav", "--loudness", "off", *chapters)
        hours = summary["audio_seconds"] / 3600
        results["audio_hours"] = round(hours, 3)
        results["first_run_seconds"] = round(wall, 1)

        plain, _ = voxcli("-o", str(out), "--format", "wav", "--loudness", "off", "--force", *chapters)
        levelled, summary = voxcli("-o", str(out), "--format", "wav", "--force", *chapters)
        assert summary["sentences_synthesized"] == 0
        cost = (levelled - plain) / hours
        results["rewrite_seconds"] = {"loudness_off": round(plain, 1), "loudness_-18": round(levelled, 1)}
        results["levelling_seconds_per_audio_hour"] = round(cost, 1)

        speeds = {}
        for encoder in ("pyav", "ffmpeg"):
            if encoder == "ffmpeg" and shutil.which("ffmpeg") is None:
                continue
            for stale in out.glob("*.m4b"):
                stale.unlink()
            wall, summary = voxcli(
                "-o", str(out), "--format", "wav,m4b", *chapters, env={"VOXCLI_M4B_ENCODER": encoder}
            )
            assert summary["sentences_synthesized"] == 0 and summary["audiobook_written"]
            speeds[encoder] = round(hours * 3600 / wall, 1)
        results["m4b_times_real_time"] = speeds

    (REPO / "bench" / "results-audiobook.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    missed = []
    if results["levelling_seconds_per_audio_hour"] > LEVELLING_TARGET:
        missed.append(f"levelling costs {cost:.1f} s per hour of audio (target {LEVELLING_TARGET})")
    missed += [
        f"M4B with {name}: {speed}x real time (target {M4B_TARGET}x)"
        for name, speed in speeds.items()
        if speed < M4B_TARGET
    ]
    for line in missed:
        print(f"missed: {line}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
