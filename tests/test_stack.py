"""Engines are usable only when their packages really load: broken stacks, made on purpose, in real processes.

Each scenario puts a folder on PYTHONPATH with a ``sitecustomize`` import hook that breaks one module the
way real installs break (torchaudio's compiled library failing to load against torch, ``TTS`` failing
halfway through its imports) and, where the scenario needs it, the metadata of another release of a
package. Then ``voxcli doctor``, ``voices list``, ``convert``, ``say`` and ``serve --preload`` run as a
user would run them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # about 20 voxcli processes, each importing torch

HOOK = '''\
import importlib.abc
import importlib.machinery
import sys


class _Broken(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds {module!r} and fails to execute it, as a damaged install does."""

    def find_spec(self, name, path=None, target=None):
        return importlib.machinery.ModuleSpec(name, self) if name == {module!r} else None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
{raise_}


sys.meta_path.insert(0, _Broken())
'''
# What torch.ops.load_library raises for torchaudio 2.11.1 on torch 2.11.0 (its cause: the dlopen error).
TORCHAUDIO_RAISE = """\
        library = "/site-packages/torchaudio/lib/libtorchaudio.so"
        try:
            raise OSError(library + ": undefined symbol: torch_exception_get_what_without_backtrace")
        except OSError as exc:
            raise OSError("Could not load this library: " + library) from exc"""
TTS_RAISE = """\
        raise ImportError("cannot import name 'GPT2InferenceModel' from partially initialized module "
                          "'TTS.tts.layers.xtts.gpt_inference'")"""
PAIR = "torchaudio 2.11.1 does not match torch 2.11.0"
PAIR_FIX = "pip install torchaudio==2.11.0"

VOICES = """\
default = "joe"

[voices.joe]
engine = "piper"
voice = "en_US-joe-medium"

[voices.clone]
engine = "coqui"
voice = "xtts_v2"

[voices.heart]
engine = "kokoro"
voice = "af_heart"
"""
BOOK = "CHAPTER I\n\nIt was a dark and stormy night. The rain fell in torrents.\n"


def fake_release(folder: Path, name: str, version: str) -> None:
    """Metadata of another release of ``name``, found before the installed one (PYTHONPATH comes first)."""
    info = folder / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


@pytest.fixture
def broken(tmp_path: Path):
    """Make a hook folder for one scenario; returns a function that runs voxcli under it."""

    def setup(module: str | None = None, raise_: str = "", releases: dict[str, str] | None = None):
        hook = tmp_path / "hook"
        hook.mkdir()
        if module is not None:
            (hook / "sitecustomize.py").write_text(HOOK.format(module=module, raise_=raise_))
        for name, version in (releases or {}).items():
            fake_release(hook, name, version)
        work = tmp_path / "work"
        work.mkdir()
        (work / "voices.toml").write_text(VOICES)
        (work / "book.txt").write_text(BOOK)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(hook), str(REPO)]),
            "NO_COLOR": "1",
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "HF_HUB_OFFLINE": "1",
            "COLUMNS": "300",
        }
        env.pop("VOXCLI_VOICES", None)
        env.pop("VOXCLI_IGNORE_VERSIONS", None)

        def voxcli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "voxcli", *args],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )

        return voxcli, work

    return setup


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def doctor_checks(voxcli) -> dict[str, dict]:
    result = voxcli("doctor", "--no-load", "--json")
    assert result.returncode == 0, result.stderr  # the default voice (Piper) still works
    return {check["name"]: check for check in json.loads(result.stdout)["checks"]}


def test_a_torchaudio_that_does_not_match_torch(broken) -> None:
    voxcli, work = broken("torchaudio", TORCHAUDIO_RAISE, {"torchaudio": "2.11.1"})

    found = doctor_checks(voxcli)
    coqui = found["engine coqui"]
    assert coqui["status"] == "missing"
    assert PAIR in coqui["detail"] and coqui["fix"] == PAIR_FIX
    assert found["torchaudio"]["status"] == "warning"
    assert found["torchaudio"]["detail"] == "2.11.1 (voxcli supports ==2.11.0)"
    # Kokoro too: transformers 5 imports torchaudio whenever it is installed. The ONNX engines are fine.
    kokoro = found["engine kokoro"]
    assert kokoro["status"] == "missing" and PAIR in kokoro["detail"] and kokoro["fix"] == PAIR_FIX
    for name in ("engine piper", "engine kokoro-onnx", "engine espeak"):
        assert found[name]["status"] == "ok", found[name]
    assert found["voice clone"]["status"] == "warning" and PAIR in found["voice clone"]["detail"]

    listed = voxcli("voices", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    voices = {v["name"]: v for v in json.loads(listed.stdout)["voices"]}
    assert voices["clone"]["usable"] is False
    assert voices["clone"]["problem"] == f"engine 'coqui' cannot start: {PAIR}"
    assert voices["clone"]["fix"] == PAIR_FIX
    assert voices["joe"]["usable"] is True
    table = voxcli("voices", "list")
    assert f"no: engine 'coqui' cannot start: {PAIR} ({PAIR_FIX})" in table.stderr

    engines = voxcli("engines", "--json")
    status = {e["name"]: e for e in json.loads(engines.stdout)}
    assert status["coqui"]["status"] == "missing" and status["coqui"]["usable"] is False
    assert status["coqui"]["installed"] is True  # on disk, but broken
    assert status["kokoro"]["status"] == "missing" and status["piper"]["status"] == "ok"

    converted = voxcli("convert", "book.txt", "-v", "clone", "-o", "out")
    assert converted.returncode == 5
    assert one_error_line(converted) == f"error: engine 'coqui' cannot start: {PAIR} ({PAIR_FIX})"
    assert not (work / "out").exists() or not list((work / "out").glob("*.wav"))

    said = voxcli("say", "Hello there.", "-v", "clone", "-o", "hello.wav")
    assert said.returncode == 5 and PAIR in one_error_line(said)
    assert not (work / "hello.wav").exists()

    served = voxcli("serve", "--port", "0", "--preload", "clone", timeout=120)
    assert served.returncode == 5 and PAIR in one_error_line(served)

    # Listings reuse the verdict an earlier process saved for this environment; a change to the
    # environment (here: the broken torchaudio goes) makes the next listing import again.
    saved = json.loads((work.parent / "cache" / "voxcli" / "engine-stacks.json").read_text())
    assert any(PAIR in (verdict["message"] or "") for verdict in saved.values())
    hook = work.parent / "hook"
    (hook / "sitecustomize.py").unlink()
    (hook / "torchaudio-2.11.1.dist-info" / "METADATA").unlink()
    (hook / "torchaudio-2.11.1.dist-info").rmdir()
    mended = {e["name"]: e for e in json.loads(voxcli("engines", "--json").stdout)}
    assert mended["coqui"]["status"] == "ok" and mended["kokoro"]["status"] == "ok"


def test_a_tts_that_fails_to_import(broken) -> None:
    voxcli, _ = broken("TTS.tts.models.xtts", TTS_RAISE)

    found = doctor_checks(voxcli)
    coqui = found["engine coqui"]
    assert coqui["status"] == "missing"
    problem = coqui["detail"].split("; ", 1)[1]  # after the engine's description
    assert problem.startswith("coqui-tts ")
    assert "does not load (ImportError: cannot import name 'GPT2InferenceModel'" in problem
    assert coqui["fix"].startswith("pip install --force-reinstall 'coqui-tts>=")
    assert found["engine kokoro"]["status"] == "ok"

    converted = voxcli("convert", "book.txt", "-v", "clone", "-o", "out")
    assert converted.returncode == 5
    line = one_error_line(converted)
    assert line.startswith("error: engine 'coqui' cannot start: coqui-tts ")
    assert "pip install --force-reinstall" in line


def test_a_transformers_release_that_breaks_xtts(broken) -> None:
    """transformers 5.24.0 imports fine but XTTS inference fails with it: the range says so."""
    voxcli, _ = broken(releases={"transformers": "5.24.0"})

    found = doctor_checks(voxcli)
    coqui = found["engine coqui"]
    assert coqui["status"] == "missing"
    problem = coqui["detail"].split("; ", 1)[1]
    assert problem.startswith("transformers 5.24.0 is not a release voxcli supports (")
    assert "<5.24" in coqui["detail"] and "VOXCLI_IGNORE_VERSIONS=1" in coqui["fix"]
    # Kokoro works with transformers 5.24 (its tests pass there): not marked.
    assert found["engine kokoro"]["status"] == "ok"

    converted = voxcli("convert", "book.txt", "-v", "clone", "-o", "out")
    assert converted.returncode == 5
    assert "transformers 5.24.0 is not a release voxcli supports" in one_error_line(converted)


def test_a_missing_dependency_names_the_module(broken) -> None:
    """A package whose own dependency is gone: the fix installs that dependency."""
    voxcli, _ = broken(
        "onnxruntime",
        '        raise ModuleNotFoundError("No module named \'flatbuffers\'", name="flatbuffers")',
    )
    result = voxcli("engines", "--json")
    status = {e["name"]: e for e in json.loads(result.stdout)}
    for name in ("piper", "kokoro-onnx"):
        assert status[name]["status"] == "missing"
        assert "needs the module 'flatbuffers', which is missing" in status[name]["detail"]
        assert status[name]["fix"] == "pip install flatbuffers"
    said = voxcli("say", "Hello.", "-o", "hello.wav")
    assert said.returncode == 5
    assert "engine 'piper' cannot start: onnxruntime " in one_error_line(said)
