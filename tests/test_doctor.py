"""`voxcli doctor`: a truthful report of this machine, valid JSON, and the default voice's exit status."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from voxcli.cli import app


def checks(result) -> dict[str, dict]:
    data = json.loads(result.stdout)
    return {check["name"]: check for check in data["checks"]} | {"_works": data["default_voice_works"]}


def test_doctor_reports_this_machine(runner: CliRunner, isolated: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TTS_HOME", str(tmp_path / "tts-home"))
    monkeypatch.delenv("VOXCLI_XTTS_DIR", raising=False)
    monkeypatch.delenv("COQUI_TOS_AGREED", raising=False)
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    found = checks(result)
    assert found["_works"] is True
    assert found["python"]["status"] == "ok"
    assert found["piper-tts"]["status"] == "ok" and found["coqui-tts"]["status"] == "ok"
    assert found["piper voice"]["status"] == "ok"
    expected = "built-in voices.toml (built-in), 2 profiles, default joe"
    assert found["voices.toml"]["detail"].startswith(expected)
    speak = found["speak joe"]
    assert speak["status"] == "ok"
    assert "real-time factor" in speak["detail"] and "average novel" in speak["detail"]
    # The XTTS weights are not on this machine: said, with where to get them.
    xtts = found["xtts_v2"]
    assert xtts["status"] == "warning"
    assert xtts["detail"].startswith("XTTS v2 weights not found in ")
    cache = tmp_path / "tts-home" / "tts" / "tts_models--multilingual--multi-dataset--xtts_v2"
    assert str(cache) in xtts["detail"]
    assert "https://huggingface.co/coqui/XTTS-v2" in xtts["fix"] and "VOXCLI_XTTS_DIR" in xtts["fix"]
    assert found["coqui licence"]["status"] == "warning"
    assert "--accept-coqui-license" in found["coqui licence"]["fix"]
    assert found["gpu"]["status"] in ("ok", "warning")
    # M4B: PyAV (a dependency) is what writes them, with its FFmpeg version.
    assert found["m4b encoder"]["status"] == "ok"
    encoder = found["m4b encoder"]["detail"]
    assert encoder.startswith("PyAV ") and "libavformat" in encoder
    # MP4: PyAV's wheel bundles libx264 (checked against PyAV's own list of codecs here).
    import av

    assert found["video encoder"]["status"] == "ok"
    assert {"libx264", "aac", "mov_text"} <= set(av.codecs_available)
    assert found["av"]["status"] == "ok" and found["pyloudnorm"]["status"] == "ok"
    for name in ("engine piper", "engine espeak", "engine kokoro", "engine kokoro-onnx"):
        assert found[name]["status"] == "ok", found[name]


def test_no_load_skips_torch_and_speech(runner: CliRunner, isolated: Path) -> None:
    result = runner.invoke(app, ["doctor", "--no-load", "--json"])
    assert result.exit_code == 0, result.output
    found = checks(result)
    assert "gpu" not in found and "speak joe" not in found
    assert found["_works"] is True


def test_another_voice_is_tried_and_timed(runner: CliRunner, isolated: Path) -> None:
    result = runner.invoke(app, ["doctor", "--json", "--voice", "espeak:en-us"])
    assert result.exit_code == 0, result.output
    assert "real-time factor" in checks(result)["speak espeak:en-us"]["detail"]
    unknown = checks(runner.invoke(app, ["doctor", "--json", "--no-load", "--voice", "nobody"]))
    assert unknown["speak nobody"]["status"] == "missing"
    assert "unknown voice" in unknown["speak nobody"]["detail"]


def test_a_broken_default_voice_exits_1(runner: CliRunner, isolated: Path) -> None:
    (isolated / "voices.toml").write_text(
        'default = "gone"\n[voices.gone]\nengine = "piper"\nvoice = "models/gone.onnx"\n', encoding="utf-8"
    )
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 1
    found = checks(result)
    assert found["_works"] is False
    assert found["voice gone"]["status"] == "missing"
    assert "Piper model file not found" in found["voice gone"]["detail"]
    assert found["speak gone"]["status"] == "missing"
    table = runner.invoke(app, ["doctor", "--no-load"])
    assert table.exit_code == 1 and "the default voice does not work" in table.stderr


def test_accepting_the_coqui_licence_is_recorded(runner: CliRunner, isolated: Path, monkeypatch) -> None:
    monkeypatch.delenv("COQUI_TOS_AGREED", raising=False)
    result = runner.invoke(app, ["doctor", "--no-load", "--json", "--accept-coqui-license"])
    assert result.exit_code == 0, result.output
    assert checks(result)["coqui licence"]["status"] == "ok"
    again = runner.invoke(app, ["doctor", "--no-load", "--json"])
    assert checks(again)["coqui licence"]["status"] == "ok"
    assert (isolated.parent / "config" / "voxcli" / "coqui-cpml-accepted").is_file()


def test_doctor_names_the_m4b_encoder_in_use(runner: CliRunner, isolated: Path, monkeypatch) -> None:
    import shutil

    program = shutil.which("ffmpeg")
    monkeypatch.setenv("VOXCLI_M4B_ENCODER", "ffmpeg")
    found = checks(runner.invoke(app, ["doctor", "--json", "--no-load"]))
    if program is None:  # said, with the fix
        assert found["m4b encoder"]["status"] == "missing" and "install ffmpeg" in found["m4b encoder"]["fix"]
    else:
        assert found["m4b encoder"]["status"] == "ok"
        detail = found["m4b encoder"]["detail"]
        assert detail.startswith("ffmpeg ") and program in detail
    monkeypatch.setenv("VOXCLI_M4B_ENCODER", "lame")
    found = checks(runner.invoke(app, ["doctor", "--json", "--no-load"]))
    assert found["m4b encoder"]["status"] == "missing"
    assert "is not an M4B encoder" in found["m4b encoder"]["detail"] and found["m4b encoder"]["fix"]
