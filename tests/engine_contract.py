"""The engine contract (v2) as checks any engine can run: voxcli's own, the test fakes, a third party's.

An engine's tests subclass :class:`EngineContract` and give the ``case`` fixture, a profile that
speaks on the test machine::

    import pytest
    from tests.engine_contract import ContractCase, EngineContract, copy_files
    from voxcli.engines import VoiceProfile

    class TestMyEngine(EngineContract):
        @pytest.fixture(scope="class")
        def case(self) -> ContractCase:
            model = Path("/models/mine.onnx")
            return ContractCase(
                VoiceProfile(name="mine", engine="mine", voice=str(model)),
                copy_model=lambda folder: ...,  # the profile on copies of its model files, and the copies
            )

Every check takes the real path: the registry, ``voice_problem``, ``load_engine``, the engine's own
``synthesize``, ``identity`` and ``close``. The oracles are the contract's rules (float32 mono in
[-1, 1] at the engine's rate, durations ordered by speed, no thread left behind), never audio the
engine produced earlier. Nothing is timed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO
from voxcli.engines import (
    AudioChunk,
    Engine,
    Settings,
    VoiceProfile,
    engine_class,
    load_engine,
    registry,
    voice_problem,
)

FOX = "The quick brown fox jumps over the lazy dog."
# Packages that take seconds (or hundreds of MB) to import: an engine imports them in load(), so that
# `voxcli --help`, `voxcli voices` and the registry stay fast (ARCHITECTURE.md, habit 5).
HEAVY_MODULES = frozenset(
    {
        "torch",
        "torchaudio",
        "onnxruntime",
        "onnx",
        "TTS",
        "kokoro",
        "kokoro_onnx",
        "piper",
        "misaki",
        "transformers",
        "phonemizer",
        "espeakng_loader",
        "spacy",
        "librosa",
        "numba",
        "scipy",
        "huggingface_hub",
    }
)
SPEEDS = (0.7, 1.0, 1.4)

# (folder) -> (the case's profile on copies of its model files in ``folder``, the copied files whose
# bytes shape the sound: the model weights and any per-voice weights or recordings)
CopyModel = Callable[[Path], tuple[VoiceProfile, tuple[Path, ...]]]


@dataclass(frozen=True)
class ContractCase:
    """What the contract needs to know about one engine on this machine."""

    profile: VoiceProfile  # a profile that speaks here
    copy_model: CopyModel | None = None  # engines whose voice lives in files
    other_voice: str | None = None  # engines without model files: another voice of the same engine
    sentence: str = FOX  # a sentence the profile's language reads
    device: str = "cpu"
    heavy_modules: frozenset[str] = HEAVY_MODULES

    def __post_init__(self) -> None:
        if self.copy_model is None and self.other_voice is None:
            raise ValueError("a contract case needs copy_model (model files) or other_voice (none)")


def copy_files(sources: list[Path], folder: Path) -> list[Path]:
    """Copies of ``sources`` in ``folder`` (real copies, never links: the contract edits them)."""
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for source in sources:
        target = folder / source.name
        shutil.copyfile(source, target)
        copies.append(target)
    return copies


# ---- the checks (plain functions: usable without the class below) ------------------------------------


def check_import_is_cheap(case: ContractCase) -> None:
    """Importing the engine's module, alone in a fresh interpreter, imports none of the heavy packages."""
    target = registry()[case.profile.engine]
    module = target.partition(":")[0]
    script = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": path},
        timeout=120,
    )
    assert result.returncode == 0, f"importing {module} failed:\n{result.stderr}"
    heavy = sorted(set(json.loads(result.stdout)) & case.heavy_modules)
    assert not heavy, f"importing {module} imports {', '.join(heavy)}: import them inside load()"


def check_identity(case: ContractCase, folder: Path) -> None:
    """``identity`` is a stable cache key that changes with the speed and with what shapes the sound:
    the bytes of every model file (a re-downloaded or retrained model), or the voice."""
    cls = engine_class(case.profile.engine)
    profile = case.profile
    first = cls.identity(profile)
    json.dumps(first, sort_keys=True, default=str)  # it goes into cache keys as JSON
    assert cls.identity(profile) == first, "identity changes when nothing did: cached audio would never match"
    faster = cls.identity(replace(profile, speed=round(profile.speed * 1.25, 4)))
    assert faster != first, "identity does not include the speed"
    if case.copy_model is None:
        assert case.other_voice is not None
        other = cls.identity(replace(profile, voice=case.other_voice))
        assert other != first, f"voices {profile.voice!r} and {case.other_voice!r} have one identity"
        return
    copied, files = case.copy_model(folder)
    assert files, "copy_model named no file"
    before = cls.identity(copied)
    assert cls.identity(copied) == before
    for path in files:
        with path.open("ab") as out:
            out.write(b"\0")  # one byte more: a different file to anyone who looks at its bytes
        after = cls.identity(copied)
        assert after != before, f"identity does not change when {path.name} changes: stale audio reused"
        before = after


def spoken(engine: Engine, text: str, settings: Settings) -> np.ndarray:
    """All the audio of one synthesize() call, every chunk checked against the contract."""
    rate = engine.sample_rate
    assert isinstance(rate, int) and 8000 <= rate <= 96000, f"sample_rate {rate!r}"
    parts = []
    for chunk in engine.synthesize(text, settings):
        assert isinstance(chunk, AudioChunk), f"synthesize gave a {type(chunk).__name__}"
        assert chunk.sample_rate == rate, f"a chunk at {chunk.sample_rate} Hz from an engine at {rate} Hz"
        samples = chunk.samples
        assert isinstance(samples, np.ndarray) and samples.dtype == np.float32, (
            f"samples are {getattr(samples, 'dtype', type(samples))}, not float32"
        )
        assert samples.ndim == 1, f"samples of shape {samples.shape}: not mono"
        assert np.isfinite(samples).all(), "samples that are not finite"
        if len(samples):
            peak = float(np.abs(samples).max())
            assert peak <= 1.0, f"samples up to {peak:.3f}, outside [-1, 1]"
        parts.append(samples)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def check_audio(engine: Engine, case: ContractCase) -> None:
    """A sentence gives float32 mono audio in [-1, 1], at the engine's rate, the same rate every call."""
    rate = engine.sample_rate
    first = spoken(engine, case.sentence, Settings())
    assert len(first) > 0.2 * rate, f"{len(first)} samples for {case.sentence!r}"
    again = spoken(engine, case.sentence, Settings())
    assert len(again) > 0 and engine.sample_rate == rate, "the sample rate changed between calls"


def text_of_length(sentence: str, length: int) -> str:
    """``sentence`` repeated and cut to exactly ``length`` characters, ending with a full stop."""
    base = " ".join([sentence] * (length // (len(sentence) + 1) + 2))
    text = base[: length - 1]
    if text.endswith(" "):
        text = text[:-1] + "a"
    return text + "."


def check_max_chars(engine: Engine, case: ContractCase) -> None:
    """A text of exactly ``max_chars`` characters is spoken, whole: longer than one sentence of it."""
    text = text_of_length(case.sentence, type(engine).max_chars)
    assert len(text) == type(engine).max_chars
    long = spoken(engine, text, Settings())
    short = spoken(engine, case.sentence, Settings())
    assert len(long) > len(short), (
        f"{len(text)} characters gave {len(long) / engine.sample_rate:.2f} s, one sentence of them "
        f"{len(short) / engine.sample_rate:.2f} s"
    )


def check_speed(engine: Engine, case: ContractCase) -> None:
    """Speed is a per-call setting of one shared instance: slower is longer, and the profile's own speed
    is not baked in at load (else a server would apply it twice, or keep an instance per speed)."""
    rate = engine.sample_rate
    seconds = {speed: len(spoken(engine, case.sentence, Settings(speed=speed))) / rate for speed in SPEEDS}
    shown = ", ".join(f"{speed}: {s:.3f} s" for speed, s in seconds.items())
    slow, normal, fast = (seconds[speed] for speed in SPEEDS)
    assert slow > normal > fast, f"durations by speed are not strictly decreasing ({shown})"
    other = load_engine(replace(case.profile, speed=2.0), case.device)
    try:
        at_one = len(spoken(other, case.sentence, Settings(speed=1.0))) / rate
    finally:
        other.close()
    assert 0.8 < at_one / normal < 1.25, (
        f"loaded from a profile at speed 2 and spoken at 1.0: {at_one:.3f} s, against {normal:.3f} s"
    )


def check_close(engine: Engine, case: ContractCase, grace: float = 10.0) -> None:
    """close() stops every thread the instance started, twice is harmless, and the shared model stays:
    ``engine`` (another instance of the same model) still speaks afterwards. ``grace``: seconds a
    thread told to stop may take to end (not a speed requirement: the check waits, it does not time)."""
    before = set(threading.enumerate())
    mine = load_engine(case.profile, case.device)
    spoken(mine, case.sentence, Settings())  # threads an engine starts on first use are running now
    mine.close()
    mine.close()
    left = [thread for thread in threading.enumerate() if thread not in before]
    for thread in left:
        thread.join(timeout=grace)
    alive = [thread.name for thread in left if thread.is_alive()]
    assert not alive, f"threads still running after close(): {', '.join(alive)}"
    assert threading.active_count() <= len(before), (
        f"{threading.active_count()} threads, {len(before)} before"
    )
    assert len(spoken(engine, case.sentence, Settings())) > 0, "closing one instance broke the shared model"


def check_phonemes(engine: Engine, case: ContractCase) -> None:
    """An engine with the "phonemes" capability says a phoneme span as those phonemes: the audio of
    "[Mab](/.../) said." differs from that of "Mab said." and from another span's, and the engine
    names an alphabet voxcli knows and (when it can tell) the symbols its model says."""
    cls = type(engine)
    if "phonemes" not in cls.capabilities:
        assert cls.phoneme_alphabet is None, "phoneme_alphabet without the phonemes capability"
        return
    assert cls.phoneme_alphabet in ("ipa", "espeak"), f"unknown phoneme alphabet {cls.phoneme_alphabet!r}"
    symbols = cls.phoneme_symbols(case.profile)
    assert symbols is None or (symbols and all(isinstance(s, str) for s in symbols))
    first, second = ("bˈuːbuː", "zˈiːziː") if cls.phoneme_alphabet == "ipa" else ("b'u:bu:", "z'i:zi:")
    plain = spoken(engine, "Mab said.", Settings())
    said = spoken(engine, f"[Mab](/{first}/) said.", Settings())
    other = spoken(engine, f"[Mab](/{second}/) said.", Settings())
    assert len(said) > 0.2 * engine.sample_rate
    for a, b in ((said, plain), (said, other)):
        assert a.shape != b.shape or not np.allclose(a, b), "the phonemes made no difference"


# ---- the same checks as a test class ----------------------------------------------------------------


class EngineContract:
    """Subclass as ``TestSomething`` and give the ``case`` fixture; every test here then runs on it."""

    @pytest.fixture(scope="class")
    @classmethod
    def case(cls) -> ContractCase:
        raise NotImplementedError("give the case fixture: a ContractCase that speaks on this machine")

    @pytest.fixture(scope="class")
    @classmethod
    def engine(cls, case: ContractCase) -> Iterator[Engine]:
        problem = voice_problem(case.profile)
        assert problem is None, f"the contract case cannot speak here: {problem}"
        loaded = load_engine(case.profile, case.device)
        yield loaded
        loaded.close()

    def test_importing_the_engine_module_is_cheap(self, case: ContractCase) -> None:
        check_import_is_cheap(case)

    def test_identity_follows_the_model_the_voice_and_the_speed(
        self, case: ContractCase, tmp_path: Path
    ) -> None:
        check_identity(case, tmp_path)

    def test_audio_is_float32_mono_in_range_at_the_engine_rate(
        self, engine: Engine, case: ContractCase
    ) -> None:
        check_audio(engine, case)

    def test_a_text_of_max_chars_is_spoken(self, engine: Engine, case: ContractCase) -> None:
        check_max_chars(engine, case)

    def test_speed_is_per_call_on_one_instance(self, engine: Engine, case: ContractCase) -> None:
        check_speed(engine, case)

    def test_close_releases_what_the_instance_owns(self, engine: Engine, case: ContractCase) -> None:
        check_close(engine, case)

    def test_phoneme_spans_are_said_as_phonemes(self, engine: Engine, case: ContractCase) -> None:
        check_phonemes(engine, case)
