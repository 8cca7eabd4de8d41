"""Throughput of `voxcli batch`: `.venv/bin/python bench/batch.py [--quick] [--cluster ADDRESS] [--readme]`.

A small library of corpus books (a Markdown chapter of the Rust book and three short EPUBs, about
20,000 characters; --quick: the three EPUBs alone) is converted with the built-in Piper voice from a
cold library each time:
- on this machine with 1 and with 2 speakers (worker processes);
- on Ray, a private local cluster started for the run (`--cluster local`, 2 actors; its start-up is
  in the wall time), or the cluster at `--cluster ADDRESS` with one actor per CPU or GPU; the audio
  sent back through the driver.
Each run reports books per hour, characters per second end to end, and the driver's own CPU time,
from which the ceiling one driver puts on many speakers follows (the README's scaling model).
Writes bench/results-batch.json; `--readme` also rewrites the table between the bench markers in
README.md.
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
CORPUS = REPO.parent / "shared" / "corpus"
BOOKS = (
    CORPUS / "md" / "rust-book-ch04-01-what-is-ownership.md",
    CORPUS / "epub" / "cnt-mathml-support.epub",
    CORPUS / "bad" / "epub2__epub_ocf-minimal-valid.epub",
    CORPUS / "bad" / "utf16_chapter.epub",
)
README_START, README_END = "<!-- bench:batch -->", "<!-- /bench:batch -->"
RUNS = (
    ("local, 1 speaker", ("-j", "1")),
    ("local, 2 speakers", ("-j", "2")),
    ("Ray local, 2 actors", ("--cluster", "local", "-j", "2")),
)


def library(folder: Path, quick: bool) -> Path:
    books = folder / "books"
    books.mkdir()
    for book in BOOKS[1:] if quick else BOOKS:
        shutil.copy(book, books)
    return books


def batch(books: Path, out: Path, args: tuple[str, ...]) -> tuple[float, dict[str, Any]]:
    """(wall seconds, JSON summary) of one batch process."""
    # The private Ray cluster of --cluster local listens on loopback only here (this machine's other
    # addresses are not for test traffic), with no token (none to leave in ~/.ray).
    env = dict(os.environ, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_AUTH_MODE="disabled")
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "voxcli", "batch", str(books), "-o", str(out), "--json", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        env=env,
    )
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"voxcli batch {' '.join(args)} failed: {result.stderr.strip()}")
    return wall, json.loads(result.stdout)


def measure(quick: bool, cluster: str | None) -> dict[str, Any]:
    runs = []
    plan = list(RUNS)
    if cluster:  # a real cluster instead of the private one: its default number of actors
        plan[-1] = (f"Ray {cluster}", ("--cluster", cluster))
    with tempfile.TemporaryDirectory() as tmp:
        books = library(Path(tmp), quick)
        for name, args in plan:
            out = Path(tmp) / f"library-{len(runs)}"
            wall, summary = batch(books, out, args)
            chars = summary["characters_spoken"]
            runs.append(
                {
                    "run": name,
                    "speakers": summary["speakers"],
                    "books": len(summary["books"]),
                    "characters": chars,
                    "audio_seconds": summary["audio_seconds"],
                    "wall_seconds": round(wall, 2),
                    "books_per_hour": round(len(summary["books"]) / wall * 3600),
                    "chars_per_second": round(chars / wall, 1),
                    "driver_cpu_seconds": summary["driver_cpu_seconds"],
                    "driver_chars_per_cpu_second": round(chars / max(summary["driver_cpu_seconds"], 1e-9)),
                }
            )
            print(f"{name}: {runs[-1]}", file=sys.stderr)
    one = runs[0]["chars_per_second"]
    return {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {os.uname().machine}",
        "voice": "built-in Piper en_US-joe-medium",
        "runs": runs,
        "speedup_2_speakers": round(runs[1]["chars_per_second"] / one, 2),
        "ray_vs_local_2": round(runs[2]["chars_per_second"] / runs[1]["chars_per_second"], 2),
    }


def table(results: dict[str, Any]) -> str:
    first = results["runs"][0]
    lines = [
        f"Measured {results['date']} on {results['machine']} ({results['voice']}, "
        f"{first['books']} books, {first['characters']:,} characters, cold library):",
        "",
        "| run | speakers | wall | books/hour | chars/s | driver CPU | driver chars per CPU second |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in results["runs"]:
        lines.append(
            f"| {run['run']} | {run['speakers']} | {run['wall_seconds']:.1f} s | {run['books_per_hour']:,} | "
            f"{run['chars_per_second']:,.0f} | {run['driver_cpu_seconds']:.1f} s | "
            f"{run['driver_chars_per_cpu_second']:,} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    cluster = argv[argv.index("--cluster") + 1] if "--cluster" in argv else None
    results = measure(quick="--quick" in argv, cluster=cluster)
    Path(REPO / "bench" / "results-batch.json").write_text(
        json.dumps(results, indent=2) + "\n", encoding="utf-8"
    )
    text = table(results)
    print(text)
    if "--readme" in argv:
        readme = REPO / "README.md"
        content = readme.read_text(encoding="utf-8")
        start, end = content.index(README_START) + len(README_START), content.index(README_END)
        readme.write_text(content[:start] + "\n" + text + "\n" + content[end:], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
