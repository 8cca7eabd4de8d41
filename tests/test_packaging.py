"""The wheel: it carries the top-level voices.toml as the packaged default, and the engine entry points."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from tests.conftest import REPO
from voxcli.cli import app
from voxcli.config import packaged_text


def test_packaged_default_is_the_top_level_voices_toml() -> None:
    assert packaged_text() == (REPO / "voices.toml").read_text(encoding="utf-8")


def test_wheel_contents(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("voxcli-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert archive.read("voxcli/data/voices.toml") == (REPO / "voices.toml").read_bytes()
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        text = archive.read(entry_points).decode()
    assert "[voxcli.engines]" in text
    assert "piper = voxcli.engines.piper:PiperEngine" in text
    assert "espeak = voxcli.engines.espeak:EspeakEngine" in text
    assert {"voxcli/engines/piper.py", "voxcli/engines/espeak.py", "voxcli/py.typed"} <= set(names)
    # Every module of the source tree is in the wheel (no subpackage forgotten).
    source = {path.relative_to(REPO).as_posix() for path in (REPO / "voxcli").rglob("*.py")}
    assert source - set(names) == set()


def test_engines_command(runner: CliRunner) -> None:
    result = runner.invoke(app, ["engines", "--json"])
    assert result.exit_code == 0, result.output
    engines = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert {"piper", "espeak"} <= set(engines)
    assert engines["piper"]["installed"] and engines["piper"]["status"] == "ok"
    result = runner.invoke(app, ["engines"])
    assert result.exit_code == 0 and "piper-tts" in result.stderr


def test_engines_command_shows_the_install_hint_of_a_missing_engine(runner: CliRunner, fake_engines) -> None:
    result = runner.invoke(app, ["engines", "--json"])
    missing = next(e for e in json.loads(result.stdout) if e["name"] == "missing")
    assert missing["installed"] is False and missing["status"] == "missing"
    assert missing["fix"] == "pip install voxcli-missing-engine"
    assert "voxcli_no_such_package not installed" in missing["detail"]


def test_third_party_engines_come_from_entry_points(monkeypatch) -> None:
    import importlib.metadata

    from voxcli import engines

    real = importlib.metadata.entry_points

    def fake_entry_points(**kwargs):
        if kwargs.get("group") == engines.ENTRY_POINT_GROUP:
            return [
                importlib.metadata.EntryPoint(
                    "tones", "tests.fake_engine:FakeEngine", engines.ENTRY_POINT_GROUP
                )
            ]
        return real(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
    engines.registry.cache_clear()
    try:
        assert engines.registry()["tones"] == "tests.fake_engine:FakeEngine"
        assert engines.engine_class("tones").description == "test tones"
    finally:
        monkeypatch.undo()
        engines.registry.cache_clear()


def test_every_commented_example_profile_is_valid() -> None:
    """The shipped voices.toml's commented examples, uncommented, validate (schema and engine options)."""
    from voxcli.config import parse_voices

    lines = (REPO / "voices.toml").read_text(encoding="utf-8").splitlines()
    examples: list[str] = []
    inside = False
    for line in lines:
        if line.startswith("# [voices."):
            inside = True
        elif not line.startswith("# ") or line.startswith("# More examples") or not line[2:].strip():
            inside = inside and line.startswith("# ") and bool(line[2:].strip())
        if inside and line.startswith("# "):
            examples.append(line[2:])
    text = "\n".join(examples)
    assert text.count("[voices.") >= 10  # examples for every engine, with their options
    shipped = (REPO / "voices.toml").read_text(encoding="utf-8")
    voices = parse_voices(shipped + "\n" + text, "voices.toml", None)
    assert {"alan", "marie", "heart", "bella", "me"} <= set(voices.profiles)
    engines = {p.engine for p in voices.profiles.values()}
    assert engines == {"piper", "espeak", "kokoro", "kokoro-onnx", "coqui"}
