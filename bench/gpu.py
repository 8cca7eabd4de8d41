"""Kokoro throughput on one device, side by side: `.venv/bin/python bench/gpu.py [--device cuda|cpu]
[--chars N] [--weights DIR] [--sweep] [--onnx]`.

In one run, on the same text (Moby-Dick from ../shared/corpus, from its first chapter, whole paragraphs:
100,000 characters on a GPU, 500 on a CPU unless --chars says otherwise), the same model and voice,
each in a fresh process and end to end (start-up, model load, reading, speaking, WAV chapter files):

1. **bare**: what the peers do (audiblez, abogen, Kokoro-FastAPI): the text cut at sentence ends, eSpeak-NG
   phonemes (misaki's EspeakG2P, as voxcli uses without spaCy's model), ``KPipeline.infer`` once per piece
   of at most 510 phonemes, each chapter written with soundfile;
2. **voxcli batched**: ``voxcli convert --format wav`` with ``batch = 0`` (the default: as many pieces
   as the GPU's memory holds) on a GPU, ``batch = 4`` on a CPU (``--batch N`` chooses);
3. **voxcli unbatched**: the same with ``batch = 1`` (one piece per forward pass).

``--sweep`` adds, in this process, batch sizes against seconds, characters per second and peak device
memory (CUDA) on the same 64 pieces; ``--onnx`` adds kokoro-onnx with the real Kokoro-82M int8 weights of
the test packages (CPU provider, and CUDA when onnxruntime has it), and the real model's frames per
phoneme (the stand-in's fixed duration, tests/kokoro_models.py).

Without ``--weights`` (a folder of config.json, kokoro-v1_0.pth and voices/VOICE.pt) the model is a
stand-in: Kokoro-82M's published architecture with random weights, every phoneme FRAMES_PER_PHONEME
frames long. It costs what the real model costs; its figures measure compute, not sound.

Goals on one datacentre GPU: voxcli over 1,000 characters per second, and at least twice bare.
Writes bench/results-gpu-DEVICE.json; exits 1 when a GPU run misses a goal.
"""

from __future__ import annotations

import json
import os
import resource
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
VOICE = "af_test"

BARE = r"""
import json, re, sys, time
import numpy as np, soundfile, torch
from kokoro import KModel, KPipeline
from misaki import espeak

book, folder, device, voice, out = sys.argv[1:6]
model = KModel(repo_id="hexgrad/Kokoro-82M", config=f"{folder}/config.json",
               model=f"{folder}/kokoro-v1_0.pth").to(device).eval()
pack = torch.load(f"{folder}/voices/{voice}.pt", weights_only=True).to(device)
g2p = espeak.EspeakG2P(language="en-us")
for number, paragraphs in enumerate(json.loads(open(book, encoding="utf-8").read())):
    audio = []
    for paragraph in paragraphs:
        for sentence in re.split(r"(?<=[.!?])\s+", paragraph):
            phonemes, _ = g2p(sentence)
            for start in range(0, len(phonemes), 510):
                output = KPipeline.infer(model, phonemes[start:start + 510], pack, 1.0)
                audio.append(output.audio.cpu().numpy())
    soundfile.write(f"{out}/{number:03d}.wav", np.concatenate(audio), 24000)
"""


def arg(name: str, default: str | None = None) -> str | None:
    argv = sys.argv[1:]
    return argv[argv.index(name) + 1] if name in argv else default


def chapters(limit: int) -> list[list[str]]:
    """Whole paragraphs of Moby-Dick's chapters, from "Loomings", up to ``limit`` characters."""
    from voxcli.ingest import read_book

    book = read_book(str(MOBY))
    start = next(i for i, c in enumerate(book.chapters) if "loomings" in c.title.casefold())
    found: list[list[str]] = []
    total = 0
    for chapter in book.chapters[start:]:
        paragraphs = []
        for paragraph in chapter.paragraphs[1:]:  # the first is the heading
            text = " ".join(paragraph.split())
            if total and total + len(text) > limit:
                break
            paragraphs.append(text)
            total += len(text)
        if paragraphs:
            found.append(paragraphs)
        if total >= limit * 0.97 or len(paragraphs) < len(chapter.paragraphs) - 1:
            break
    return found


def measured(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """(wall seconds, peak RSS MiB, stdout) of one process."""
    wrapper = (
        "import resource, subprocess, sys; "
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "sys.stderr.write(r.stderr); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
        "print(r.stdout, end=''); sys.exit(r.returncode)"
    )
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", wrapper, *command],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        env={**os.environ, **(env or {})},
    )
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} ... failed: {result.stderr.strip()[-2000:]}")
    peak, _, stdout = result.stdout.partition("\n")
    return wall, round(int(peak) / 1024), stdout


def write_book(folder: Path, text: list[list[str]]) -> tuple[Path, Path]:
    """The text as a Markdown book (one heading a chapter) for voxcli, and as JSON for the bare loop."""
    markdown = folder / "book.md"
    markdown.write_text(
        "\n\n".join(f"# Chapter {n + 1}\n\n" + "\n\n".join(paras) for n, paras in enumerate(text)) + "\n",
        encoding="utf-8",
    )
    plain = folder / "book.json"
    plain.write_text(json.dumps(text), encoding="utf-8")
    return markdown, plain


def write_voices(folder: Path, weights: Path, batch: int) -> Path:
    path = folder / f"voices-{batch}.toml"
    path.write_text(
        f'[voices.bench]\nengine = "kokoro"\nvoice = "{VOICE}"\nlang = "en-us"\n\n'
        f'[voices.bench.options]\nmodel_dir = "{weights}"\ng2p = "espeak"\nbatch = {batch}\n',
        encoding="utf-8",
    )
    return path


def bare_run(plain: Path, weights: Path, device: str, chars: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as out:
        wall, peak, _ = measured([sys.executable, "-c", BARE, str(plain), str(weights), device, VOICE, out])
        files = len(list(Path(out).glob("*.wav")))
    return {
        "wall_seconds": round(wall, 2),
        "chars_per_second": round(chars / wall, 1),
        "peak_mib": peak,
        "files": files,
    }


def voxcli_run(book: Path, voices: Path, device: str, chars: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as out:
        wall, peak, stdout = measured(
            [
                sys.executable,
                "-m",
                "voxcli",
                "convert",
                str(book),
                "-o",
                out,
                "-v",
                "bench",
                "--voices",
                str(voices),
                "--format",
                "wav",
                "--device",
                device,
                "--json",
            ]
        )
    summary = json.loads(stdout)
    return {
        "wall_seconds": round(wall, 2),
        "chars_per_second": round(chars / wall, 1),
        "synthesis_chars_per_second": summary["chars_per_second"],
        "peak_mib": peak,
        "chapters": summary.get("chapters"),
        "audio_seconds": summary.get("audio_seconds"),
    }


def sweep(weights: Path, device: str, text: list[list[str]]) -> list[dict[str, Any]]:
    """Batch size against time and peak device memory, on the same pieces, in this process."""
    import torch

    from voxcli.config import VoiceProfile
    from voxcli.engines import load_engine
    from voxcli.engines.kokoro import KokoroEngine, KokoroOptions
    from voxcli.engines.kokoro_batch import Batcher, Piece
    from voxcli.engines.phonemes import split_phonemes

    options = KokoroOptions(model_dir=str(weights), g2p="espeak")
    engine = load_engine(
        VoiceProfile(name="b", engine="kokoro", voice=VOICE, lang="en-us", options=options), device
    )
    assert isinstance(engine, KokoroEngine)
    model, pack = engine._model, engine._pack
    pieces: list[Piece] = []
    chars = 0
    for paragraph in (p for chapter in text for p in chapter):
        for chunk in split_phonemes(engine.phonemes(paragraph)):
            ids = [model.vocab[p] for p in chunk if p in model.vocab]
            pieces.append(Piece(ids, pack[len(ids) - 1]))
        chars += len(paragraph)
        if len(pieces) >= 64:
            break
    sizes = [1, 4, 16, 32, 64] if device.startswith("cuda") else [1, 2, 4, 8]
    rows = []
    for size in sizes:
        if device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        batcher = Batcher(device, cap=size)
        start = time.perf_counter()
        batcher.run(model, pieces, 1.0)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        peak = torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None
        rows.append(
            {
                "batch": size,
                "passes": batcher.passes,
                "seconds": round(seconds, 2),
                "chars_per_second": round(chars / seconds, 1),
                "peak_device_mib": None if peak is None else round(peak),
                "peak_process_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
        print(f"  batch {size}: {rows[-1]}", file=sys.stderr)
    if device.startswith("cuda"):
        rows += precisions(model, [(p.ids, p.style) for p in pieces], device, chars)
    return rows


def precisions(model: Any, pieces: list[tuple[Any, Any]], device: str, chars: int) -> list[dict[str, Any]]:
    """fp16 and bf16 autocast against fp32 on the same pieces and noise: time and spectral distance."""
    import torch

    from voxcli.engines.kokoro_batch import Batcher, Piece

    def run(precision: str) -> tuple[float, list[Any]]:
        batch = [Piece(ids, style, i) for i, (ids, style) in enumerate(pieces)]
        batcher = Batcher(device, cap=64, precision=precision)
        torch.cuda.synchronize()
        start = time.perf_counter()
        audio = [a for a, _ in batcher.run(model, batch, 1.0)]
        torch.cuda.synchronize()
        return time.perf_counter() - start, audio

    run("fp32")  # warm-up
    base_seconds, base = run("fp32")
    rows = []
    for precision in ("fp16", "bf16"):
        seconds, audio = run(precision)
        rows.append(
            {
                "precision": precision,
                "seconds": round(seconds, 2),
                "speed_vs_fp32": round(base_seconds / seconds, 2),
                "chars_per_second": round(chars / seconds, 1),
                "spectral_distance_db": round(
                    sum(spectral_distance(a, b) for a, b in zip(base, audio, strict=True)) / len(base), 2
                ),
            }
        )
        print(f"  {precision}: {rows[-1]}", file=sys.stderr)
    return rows


def spectral_distance(reference: Any, other: Any) -> float:
    """Mean absolute difference of log-magnitude spectra (dB, 1024-point frames, hop 256), over the
    bins within 60 dB of the reference's loudest: 0 for the same audio."""
    import numpy as np

    def spectrum(x: Any) -> Any:
        frames = np.lib.stride_tricks.sliding_window_view(x, 1024)[::256] * np.hanning(1024)
        return 20 * np.log10(np.abs(np.fft.rfft(frames, axis=-1)) + 1e-9)

    a, b = spectrum(reference), spectrum(other[: len(reference)])
    keep = a > a.max() - 60
    return float(np.abs(a - b)[keep].mean())


def onnx(text: list[list[str]]) -> dict[str, Any]:
    """kokoro-onnx on the real int8 weights: chars/s per provider, and the real frames per phoneme."""
    import onnxruntime

    from bench.kokoro_onnx import assemble_model
    from voxcli.config import VoiceProfile
    from voxcli.engines import load_engine
    from voxcli.engines.base import forget_models, speak
    from voxcli.engines.kokoro_onnx import KokoroOnnxOptions

    sentences = [p for chapter in text for p in chapter][:12]
    chars = sum(len(s) for s in sentences)
    results: dict[str, Any] = {"chars": chars}
    with tempfile.TemporaryDirectory() as folder:
        model, voices, vocab = assemble_model(Path(folder))
        options = KokoroOnnxOptions(model=str(model), voices=str(voices), vocab=str(vocab))
        profile = VoiceProfile(
            name="o", engine="kokoro-onnx", voice="jf_alpha", lang="en-us", options=options
        )
        devices = ["cpu"] + (
            ["cuda"] if "CUDAExecutionProvider" in onnxruntime.get_available_providers() else []
        )
        for device in devices:
            forget_models()
            engine = load_engine(profile, device)
            speak(engine, "Warm up.")
            start = time.perf_counter()
            audio = [speak(engine, s) for s in sentences]
            seconds = time.perf_counter() - start
            results[device] = {"seconds": round(seconds, 2), "chars_per_second": round(chars / seconds, 1)}
        phonemes = sum(len(engine.phonemize(s)) for s in sentences)  # type: ignore[attr-defined]
        frames = sum(len(a.samples) for a in audio) / 600
        results["frames_per_phoneme"] = round(frames / phonemes, 2)
    return results


def main() -> int:
    import torch

    from tests.kokoro_models import FRAMES_PER_PHONEME, KOKORO_82M, write_weights

    device = arg("--device") or ("cuda" if torch.cuda.is_available() else "cpu")
    gpu = device.startswith("cuda")
    # A CPU speaks the full-size model at about real time: a few hundred characters keep the run short.
    limit = int(arg("--chars") or (100_000 if gpu else 500))
    # On a CPU the default is one piece a pass (batching saves nothing there): batch 4 shows its cost.
    batch = int(arg("--batch") or (0 if gpu else 4))
    text = chapters(limit)
    chars = sum(len(p) for chapter in text for p in chapter)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "device": torch.cuda.get_device_name()
        if device.startswith("cuda")
        else f"{os.cpu_count()} CPU cores",
        "chars": chars,
        "chapters": len(text),
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if arg("--weights"):
            weights = Path(str(arg("--weights")))
            results["model"] = f"real weights from {weights}"
        else:
            torch.manual_seed(0)
            weights = write_weights(
                folder / "kokoro-82m", KOKORO_82M, durations=FRAMES_PER_PHONEME, voices=(VOICE,)
            )
            results["model"] = (
                f"stand-in: Kokoro-82M architecture, random weights, {FRAMES_PER_PHONEME} frames a phoneme"
            )
        book, plain = write_book(folder, text)
        print(f"{chars} characters in {len(text)} chapters on {results['device']}", file=sys.stderr)
        results["bare"] = bare_run(plain, weights, device, chars)
        print(f"  bare KPipeline loop: {results['bare']}", file=sys.stderr)
        results["batch"] = batch
        results["voxcli_batched"] = voxcli_run(book, write_voices(folder, weights, batch), device, chars)
        print(f"  voxcli batched: {results['voxcli_batched']}", file=sys.stderr)
        results["voxcli_unbatched"] = voxcli_run(book, write_voices(folder, weights, 1), device, chars)
        print(f"  voxcli unbatched: {results['voxcli_unbatched']}", file=sys.stderr)
        bare = results["bare"]["wall_seconds"]
        results["ratios"] = {
            "voxcli_batched_vs_bare": round(bare / results["voxcli_batched"]["wall_seconds"], 2),
            "voxcli_unbatched_vs_bare": round(bare / results["voxcli_unbatched"]["wall_seconds"], 2),
            "batched_vs_unbatched": round(
                results["voxcli_unbatched"]["wall_seconds"] / results["voxcli_batched"]["wall_seconds"], 2
            ),
        }
        if "--sweep" in sys.argv:
            results["sweep"] = sweep(weights, device, text)
    if "--onnx" in sys.argv:
        results["kokoro_onnx"] = onnx(text)
    goals: dict[str, bool] = {}
    if device.startswith("cuda"):
        goals = {
            "voxcli over 1,000 chars/s": results["voxcli_batched"]["chars_per_second"] > 1000,
            "voxcli at least 2x bare": results["ratios"]["voxcli_batched_vs_bare"] >= 2,
        }
    results["goals"] = goals
    name = "cuda" if device.startswith("cuda") else "cpu"
    (REPO / "bench" / f"results-gpu-{name}.json").write_text(
        json.dumps(results, indent=2) + "\n", encoding="utf-8"
    )
    print(json.dumps(results, indent=2))
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
