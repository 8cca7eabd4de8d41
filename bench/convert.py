"""Speed and memory of `voxcli convert`: `.venv/bin/python bench/convert.py [--quick] [--readme]`.

Measures, on this machine:
- raw engine throughput: Piper (built-in voice) called in a loop on the exact segments convert
  would speak, nothing else (no cache, no files);
- `voxcli convert` throughput on the same chapter with `--jobs 1` and `--jobs N` (N = cores), from a
  cold output folder, end to end (reading the book, loading the model, writing WAV + subtitles);
- peak memory of a whole-book conversion (moby-dick.epub, eSpeak-NG: the pipeline, not the engine,
  is what could grow) against a 3-chapter excerpt;
- `voxcli --help` start-up time.
Targets: convert >= 95% of the raw engine's chars/s; whole-book peak memory within 1.25x of the
excerpt's; `--help` under 0.5 s. Writes bench/results-convert.json; `--readme` also rewrites the
table between the bench markers in README.md. Exits 1 when a target is missed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
MOBY = CORPUS / "epub" / "moby-dick.epub"
CHAPTER = "7"  # Chapter 3, The Spouter-Inn: about 32,000 characters
QUICK_CHAPTER = "3"  # ETYMOLOGY: about 1,200 characters
EXCERPT = "5-7"
README_START, README_END = "<!-- bench:convert -->", "<!-- /bench:convert -->"


def run(args: list[str]) -> tuple[float, int, dict[str, Any] | None]:
    """(wall seconds, peak RSS of the largest process in MiB, JSON summary) of one `voxcli` run."""
    # A fresh wrapper process per run, so that RUSAGE_CHILDREN covers this run (and its workers) only.
    code = (
        "import resource, subprocess, sys; "
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "sys.stderr.write(r.stderr); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
        "print(r.stdout, end=''); sys.exit(r.returncode)"
    )
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code, sys.executable, "-m", "voxcli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"voxcli {' '.join(args)} failed: {result.stderr.strip()}")
    peak, _, stdout = result.stdout.partition("\n")
    summary = json.loads(stdout) if stdout.strip().startswith("{") else None
    return wall, round(int(peak) / 1024), summary


def raw_engine(chapter: str) -> dict[str, float]:
    """Piper in a loop over convert's own segments for the chapter."""
    from voxcli.config import load_voices, resolve_voice
    from voxcli.convert.pipeline import ConvertRequest, plan
    from voxcli.engines import load_engine
    from voxcli.ingest import read_book

    profile = resolve_voice("joe", load_voices(str(REPO / "voices.toml")))
    book = read_book(str(MOBY))
    _, plans = plan(
        ConvertRequest(
            book=book, source=str(MOBY), profile=profile, outdir=Path("unused"), chapters=[int(chapter)]
        )
    )
    engine = load_engine(profile)
    texts = [segment.speech for chapter_plan in plans for segment in chapter_plan.segments]
    start = time.perf_counter()
    audio = 0.0
    for text in texts:
        for chunk in engine.synthesize(text):
            audio += chunk.duration
    elapsed = time.perf_counter() - start
    chars = sum(len(t) for t in texts)
    return {
        "chars": chars,
        "seconds": round(elapsed, 2),
        "chars_per_second": round(chars / elapsed, 1),
        "real_time_factor": round(elapsed / audio, 4),
    }


def convert_run(chapter: str, jobs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        wall, peak, summary = run(
            [
                "convert",
                str(MOBY),
                "--chapters",
                chapter,
                "-o",
                folder,
                "-v",
                "joe",
                "--voices",
                str(REPO / "voices.toml"),
                "--jobs",
                str(jobs),
                "--json",
            ]
        )
    assert summary is not None
    chars = summary["characters_synthesized"]
    return {
        "jobs": jobs,
        "wall_seconds": round(wall, 2),
        # While speaking: the engine (or its workers), the sentence cache and the chapter files.
        "synthesis_chars_per_second": summary["chars_per_second"],
        # The whole process: start-up, reading the book, loading the model(s) included.
        "end_to_end_chars_per_second": round(chars / wall, 1),
        "real_time_factor": summary["real_time_factor"],
        "peak_mib": peak,
        "audio_seconds": summary["audio_seconds"],
    }


def memory(chapters: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        args = [
            "convert",
            str(MOBY),
            "-o",
            folder,
            "-v",
            "espeak:en-us",
            "--jobs",
            "1",
            "--json",
            "--subtitles",
            "srt",
        ]
        if chapters != "all":
            args += ["--chapters", chapters]
        wall, peak, _ = run(args)
    return {"chapters": chapters, "peak_mib": peak, "wall_seconds": round(wall, 1)}


def help_time() -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "voxcli", "--help"], capture_output=True, check=True, cwd=REPO)
        times.append(time.perf_counter() - start)
    return round(sorted(times)[len(times) // 2], 3)


def table(results: dict[str, Any]) -> str:
    raw = results["raw_engine"]
    lines = [
        f"Measured {results['date']} on {results['machine']} (`python bench/convert.py`), Moby-Dick "
        f"chapter {results['chapter']} ({raw['chars']:,} characters), built-in Piper voice:",
        "",
        "| run | chars/s while speaking | vs raw engine | chars/s end to end | real-time factor "
        "| peak memory |",
        "|---|---|---|---|---|---|",
        f"| raw engine loop (all cores) | {raw['chars_per_second']:,.0f} | 100% | "
        f"| {raw['real_time_factor']} | |",
    ]
    for run_ in results["convert"]:
        share = run_["synthesis_chars_per_second"] / raw["chars_per_second"]
        lines.append(
            f"| `convert --jobs {run_['jobs']}` | {run_['synthesis_chars_per_second']:,.0f} "
            f"| {share:.0%} | {run_['end_to_end_chars_per_second']:,.0f} "
            f"| {run_['real_time_factor']} | {run_['peak_mib']} MiB |"
        )
    whole, excerpt = results["memory"]
    lines += [
        "",
        f"Peak memory, eSpeak-NG, `--jobs 1`: whole book {whole['peak_mib']} MiB "
        f"({whole['wall_seconds']} s), chapters {excerpt['chapters']} {excerpt['peak_mib']} MiB. "
        f"`voxcli --help`: {results['help_seconds']} s.",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    chapter = QUICK_CHAPTER if quick else CHAPTER
    cores = os.cpu_count() or 1
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "chapter": chapter,
        "machine": f"{cores} cores, {os.uname().machine}",
    }
    results["raw_engine"] = raw_engine(chapter)
    results["convert"] = [convert_run(chapter, jobs) for jobs in sorted({1, cores})]
    results["memory"] = [memory("all" if not quick else "1-40"), memory(EXCERPT)]
    results["help_seconds"] = help_time()
    best = max(r["synthesis_chars_per_second"] for r in results["convert"])
    whole, excerpt = results["memory"]
    checks = {
        "convert >= 95% of raw engine": best >= 0.95 * results["raw_engine"]["chars_per_second"],
        "memory flat with book length": whole["peak_mib"] <= 1.25 * excerpt["peak_mib"],
        "--help under 0.5 s": results["help_seconds"] < 0.5,
    }
    results["targets"] = checks
    (REPO / "bench" / "results-convert.json").write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    for name, ok in checks.items():
        print(f"{'ok    ' if ok else 'MISSED'} {name}")
    if "--readme" in argv:
        readme = (REPO / "README.md").read_text(encoding="utf-8")
        head, _, rest = readme.partition(README_START)
        _, _, tail = rest.partition(README_END)
        (REPO / "README.md").write_text(
            f"{head}{README_START}\n{table(results)}\n{README_END}{tail}", encoding="utf-8"
        )
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
