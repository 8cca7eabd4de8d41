"""``voxcli voices add/remove/set-default/show/list``: round trips that keep every other profile intact."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import user_voices
from voxcli import config
from voxcli.cli import app

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PACKAGED_JOE = {
    "engine": "piper",
    "voice": "en_US-joe-medium",
    "lang": "en-us",
    "speed": 1.0,
    "sentence_pause": 0.25,
}
PACKAGED_ESPEAK = {"engine": "espeak", "voice": "en-us", "lang": "en-us"}

THREE = """# my voices
default = "b"

[voices.a]
engine = "fake"
voice = "alpha"
lang = "en-gb"
speed = 1.5
sentence_pause = 0.1
paragraph_pause = 2.0

[voices.a.options]
pitch = 300.0

[voices.b]
engine = "fake"
voice = "beta"
lang = "fr"
speed = 0.75
paragraph_pause = 0.0

[voices.b.options]
pitch = 440.5

[voices.c]
engine = "espeak"
voice = "de"
lang = "de"
speed = 1

[voices.c.options]
pitch = 60
word_gap = 3
library = "system"
"""


def read(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def exact(value: Any) -> str:
    """A type-aware form for comparing tables: 60 and 60.0 differ, as they do in TOML."""
    return json.dumps(value, sort_keys=True)


def assert_same(after: dict[str, Any], before: dict[str, Any]) -> None:
    assert after == before
    assert exact(after) == exact(before)


def no_temp_files(folder: Path) -> None:
    assert sorted(p.name for p in folder.glob(".voices.toml.*.part")) == []
    assert sorted(p.name for p in folder.glob("*.part")) == []


def invoke(runner: CliRunner, *args: str):
    return runner.invoke(app, ["voices", *args])


def ok(runner: CliRunner, *args: str):
    result = invoke(runner, *args)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def error_line(result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture
def three(tmp_path: Path, isolated: Path, fake_engines: None) -> Path:
    """A user voices.toml with three profiles, every one with non-default values and options."""
    path = user_voices(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(THREE, encoding="utf-8")
    return path


# ---- a fresh setup ----------------------------------------------------------------------------


def test_add_to_fresh_setup_copies_the_packaged_profiles(
    runner: CliRunner, isolated: Path, tmp_path: Path, fake_engines: None
) -> None:
    user = user_voices(tmp_path)
    assert not user.exists()
    result = ok(
        runner, "add", "narrator", "--engine", "fake", "--voice", "bob", "--lang", "en-gb", "--speed", "1.3"
    )
    assert f"added voice 'narrator' to {user}" in result.stderr
    assert user.is_file()
    assert not (isolated / "voices.toml").exists()  # the user's own file, not the working folder's
    data = read(user)
    assert set(data) == {"default", "voices", "languages"}
    assert data["default"] == "joe"
    assert list(data["voices"]) == ["joe", "espeak", "narrator"]
    assert data["languages"] == tomllib.loads(config.packaged_text())["languages"]
    assert_same(data["voices"]["joe"], PACKAGED_JOE)
    assert_same(data["voices"]["espeak"], PACKAGED_ESPEAK)
    assert_same(data["voices"]["narrator"], {"engine": "fake", "voice": "bob", "lang": "en-gb", "speed": 1.3})
    packaged = tomllib.loads(config.packaged_text())
    assert_same({k: v for k, v in data["voices"].items() if k != "narrator"}, packaged["voices"])
    no_temp_files(user.parent)

    listed = json.loads(ok(runner, "list", "--json").stdout)
    assert (listed["file"], listed["origin"], listed["default"]) == (str(user), "user config", "joe")
    assert [v["name"] for v in listed["voices"]] == ["joe", "espeak", "narrator"]


def test_fresh_setup_add_with_unknown_engine_writes_nothing(
    runner: CliRunner, isolated: Path, tmp_path: Path
) -> None:
    line = error_line(invoke(runner, "add", "n", "--engine", "espek", "--voice", "x"), 4)
    assert "voices.n.engine: unknown engine 'espek'" in line and "did you mean 'espeak'?" in line
    assert not user_voices(tmp_path).exists()


def test_set_default_in_fresh_setup(runner: CliRunner, isolated: Path, tmp_path: Path) -> None:
    ok(runner, "set-default", "espeak")
    data = read(user_voices(tmp_path))
    assert data["default"] == "espeak"
    assert_same(data["voices"], {"joe": PACKAGED_JOE, "espeak": PACKAGED_ESPEAK})


# ---- round trips ------------------------------------------------------------------------------


def test_add_set_default_remove_keep_other_profiles(runner: CliRunner, three: Path) -> None:
    before = read(three)["voices"]

    ok(runner, "add", "d", "--engine", "fake", "--voice", "delta", "--sentence-pause", "0.5")
    data = read(three)
    assert data["default"] == "b"
    assert list(data["voices"]) == ["a", "b", "c", "d"]
    for name in "abc":
        assert_same(data["voices"][name], before[name])
    assert_same(data["voices"]["d"], {"engine": "fake", "voice": "delta", "sentence_pause": 0.5})
    no_temp_files(three.parent)

    before = data["voices"]
    result = ok(runner, "set-default", "a")
    assert f"default voice is now 'a' in {three}" in result.stderr
    data = read(three)
    assert data["default"] == "a"
    assert_same(data["voices"], before)
    no_temp_files(three.parent)

    result = ok(runner, "remove", "b")
    assert f"removed voice 'b' from {three}" in result.stderr
    data = read(three)
    assert data["default"] == "a"
    assert list(data["voices"]) == ["a", "c", "d"]
    for name in "acd":
        assert_same(data["voices"][name], before[name])
    no_temp_files(three.parent)

    listed = json.loads(ok(runner, "list", "--json").stdout)
    assert [v["name"] for v in listed["voices"]] == ["a", "c", "d"]
    a = listed["voices"][0]
    assert (a["speed"], a["sentence_pause"], a["paragraph_pause"]) == (1.5, 0.1, 2.0)
    assert a["options"] == {"pitch": 300.0, "delay": 0.0}
    assert a["default"] is True


def test_add_existing_needs_force(runner: CliRunner, three: Path) -> None:
    original = three.read_bytes()
    line = error_line(invoke(runner, "add", "a", "--engine", "fake", "--voice", "new"), 4)
    assert f"voice 'a' already exists in {three}" in line
    assert "use --force to replace it" in line
    assert three.read_bytes() == original
    no_temp_files(three.parent)

    before = read(three)
    ok(runner, "add", "a", "--engine", "fake", "--voice", "new", "--speed", "0.5", "--force")
    data = read(three)
    assert_same(data["voices"]["a"], {"engine": "fake", "voice": "new", "speed": 0.5})  # replaced whole
    assert list(data["voices"]) == ["a", "b", "c"]
    for name in "bc":
        assert_same(data["voices"][name], before["voices"][name])
    assert data["default"] == "b"
    no_temp_files(three.parent)


def test_add_unknown_engine_leaves_file_unchanged(runner: CliRunner, three: Path) -> None:
    original = three.read_bytes()
    result = invoke(runner, "add", "e", "--engine", "pipr", "--voice", "x")
    assert result.exit_code != 0
    line = error_line(result, 4)
    assert "voices.e.engine: unknown engine 'pipr'" in line and "did you mean 'piper'?" in line
    assert three.read_bytes() == original
    no_temp_files(three.parent)


def test_add_bad_values_are_refused(runner: CliRunner, three: Path) -> None:
    original = three.read_bytes()
    result = invoke(runner, "add", "e", "--engine", "fake", "--voice", "x", "--speed", "9")
    assert result.exit_code == 2  # click's range check
    line = error_line(invoke(runner, "add", "e", "--engine", "fake", "--voice", "x", "--lang", "english!"), 4)
    assert "voices.e.lang" in line
    line = error_line(invoke(runner, "add", "a:b", "--engine", "fake", "--voice", "x"), 4)
    assert "invalid voice name" in line
    assert three.read_bytes() == original
    no_temp_files(three.parent)


def test_remove_default_is_refused(runner: CliRunner, three: Path) -> None:
    original = three.read_bytes()
    line = error_line(invoke(runner, "remove", "b"), 4)
    assert f"'b' is the default voice in {three}" in line
    assert "voxcli voices set-default a" in line
    assert three.read_bytes() == original
    no_temp_files(three.parent)


def test_remove_unknown_lists_known(runner: CliRunner, three: Path) -> None:
    original = three.read_bytes()
    line = error_line(invoke(runner, "remove", "zzz"), 4)
    assert f"no voice named 'zzz' in {three}" in line
    assert "known voices: a, b, c" in line
    assert three.read_bytes() == original


def test_set_default_unknown(runner: CliRunner, three: Path) -> None:
    original = three.read_bytes()
    line = error_line(invoke(runner, "set-default", "cc"), 4)
    assert f"no voice named 'cc' in {three}" in line
    assert "known voices: a, b, c" in line
    assert three.read_bytes() == original
    no_temp_files(three.parent)


def test_failed_write_leaves_no_temp_file(
    runner: CliRunner, three: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = three.read_bytes()

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    result = invoke(runner, "add", "e", "--engine", "fake", "--voice", "x")
    monkeypatch.undo()
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    assert f"error: cannot write {three}: No space left on device" in result.stderr
    assert three.read_bytes() == original
    no_temp_files(three.parent)


# ---- which file is edited ---------------------------------------------------------------------


def test_voices_option_edits_that_file(runner: CliRunner, three: Path, tmp_path: Path) -> None:
    user_before = three.read_bytes()
    other = tmp_path / "other" / "mine.toml"
    other.parent.mkdir()
    other.write_text('default = "x"\n\n[voices.x]\nengine = "fake"\nvoice = "v"\n', encoding="utf-8")
    result = ok(runner, "add", "y", "--engine", "fake", "--voice", "w", "--voices", str(other))
    assert f"added voice 'y' to {other}" in result.stderr
    assert "is read before" in result.stderr and "user config" in result.stderr  # the user file wins
    assert_same(
        read(other),
        {
            "default": "x",
            "voices": {"x": {"engine": "fake", "voice": "v"}, "y": {"engine": "fake", "voice": "w"}},
        },
    )
    assert three.read_bytes() == user_before
    ok(runner, "set-default", "y", "--voices", str(other))
    ok(runner, "remove", "x", "--voices", str(other))
    assert_same(read(other), {"default": "y", "voices": {"y": {"engine": "fake", "voice": "w"}}})
    assert three.read_bytes() == user_before
    no_temp_files(other.parent)


def test_env_edits_that_file(
    runner: CliRunner, three: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_before = three.read_bytes()
    other = tmp_path / "env.toml"
    other.write_text('default = "x"\n\n[voices.x]\nengine = "fake"\nvoice = "v"\n', encoding="utf-8")
    monkeypatch.setenv("VOXCLI_VOICES", str(other))
    result = ok(runner, "add", "y", "--engine", "fake", "--voice", "w")
    assert f"added voice 'y' to {other}" in result.stderr
    assert "warning" not in result.stderr  # the file edited is the one in use
    assert list(read(other)["voices"]) == ["x", "y"]
    assert three.read_bytes() == user_before


def test_local_voices_toml_is_the_one_edited(runner: CliRunner, three: Path, isolated: Path) -> None:
    user_before = three.read_bytes()
    local = isolated / "voices.toml"
    local.write_text('default = "x"\n\n[voices.x]\nengine = "fake"\nvoice = "v"\n', encoding="utf-8")
    result = ok(runner, "add", "y", "--engine", "fake", "--voice", "w")
    assert "added voice 'y' to voices.toml" in result.stderr
    assert "warning" not in result.stderr
    assert list(read(local)["voices"]) == ["x", "y"]
    assert three.read_bytes() == user_before
    no_temp_files(isolated)


def test_editing_a_shadowed_user_file_warns(
    runner: CliRunner, isolated: Path, tmp_path: Path, fake_engines: None
) -> None:
    user = user_voices(tmp_path)
    user.parent.mkdir(parents=True)
    user.write_text('default = "x"\n\n[voices.x]\nengine = "fake"\nvoice = "v"\n', encoding="utf-8")
    (isolated / "voices.toml").write_text(
        'default = "l"\n\n[voices.l]\nengine = "fake"\nvoice = "v"\n', encoding="utf-8"
    )
    result = ok(runner, "add", "y", "--engine", "fake", "--voice", "w", "--voices", str(user))
    assert f"warning: voices.toml (./voices.toml) is read before {user}" in result.stderr
    assert list(read(user)["voices"]) == ["x", "y"]


def test_relative_voice_path_is_stored_absolute(runner: CliRunner, three: Path, isolated: Path) -> None:
    (isolated / "models").mkdir()
    (isolated / "models" / "m.model").write_bytes(b"model")
    ok(runner, "add", "m", "--engine", "fake", "--voice", "models/m.model")
    assert read(three)["voices"]["m"]["voice"] == str((isolated / "models" / "m.model").resolve())
    shown = json.loads(ok(runner, "show", "m", "--json").stdout)
    assert shown["usable"] is True


# ---- show and list ----------------------------------------------------------------------------


def test_show_json(runner: CliRunner, three: Path) -> None:
    data = json.loads(ok(runner, "show", "a", "--json").stdout)
    assert data == {
        "name": "a",
        "engine": "fake",
        "voice": "alpha",
        "lang": "en-gb",
        "speed": 1.5,
        "sentence_pause": 0.1,
        "paragraph_pause": 2.0,
        "title_pause": 1.0,
        "options": {"pitch": 300.0, "delay": 0.0},
        "default": False,
        "usable": True,
        "problem": None,
        "fix": None,
    }
    data = json.loads(ok(runner, "show", "b", "--json").stdout)
    assert data["default"] is True and data["paragraph_pause"] == 0.0
    assert data["options"] == {"pitch": 440.5, "delay": 0.0}
    data = json.loads(ok(runner, "show", "c", "--json").stdout)
    assert data["options"] == {"pitch": 60, "word_gap": 3, "library": "system"}
    assert (data["speed"], data["sentence_pause"]) == (1.0, 0.25)


def test_show_engine_colon_voice_and_unknown(runner: CliRunner, three: Path) -> None:
    data = json.loads(ok(runner, "show", "fake:zed", "--json").stdout)
    assert (data["name"], data["engine"], data["voice"]) == ("fake:zed", "fake", "zed")
    assert data["default"] is False
    assert data["options"] == {"pitch": 220.0, "delay": 0.0}
    line = error_line(invoke(runner, "show", "nobody", "--json"), 4)
    assert "unknown voice 'nobody'" in line and "known voices: a, b, c" in line


def test_show_table(runner: CliRunner, three: Path) -> None:
    result = ok(runner, "show", "a")
    assert result.stdout == ""
    assert "Voice 'a' from" in result.stderr  # the title wraps to the table's width
    assert "│ voice           │ alpha │" in result.stderr
    assert "options.pitch" in result.stderr and "300.0" in result.stderr


def test_list_marks_unusable_profiles(runner: CliRunner, isolated: Path, fake_engines: None) -> None:
    Path("voices.toml").write_text(
        'default = "good"\n\n'
        '[voices.good]\nengine = "fake"\nvoice = "v"\n\n'
        '[voices.nomodel]\nengine = "fake"\nvoice = "models/x.model"\n\n'
        '[voices.noengine]\nengine = "missing"\nvoice = "v"\n',
        encoding="utf-8",
    )
    data = json.loads(ok(runner, "list", "--json").stdout)
    voices = {v["name"]: v for v in data["voices"]}
    assert list(voices) == ["good", "nomodel", "noengine"]
    assert (voices["good"]["usable"], voices["good"]["problem"], voices["good"]["fix"]) == (True, None, None)
    assert voices["nomodel"]["usable"] is False
    model = (isolated / "models" / "x.model").resolve()
    assert voices["nomodel"]["problem"] == f"model file not found: {model}"
    assert voices["nomodel"]["fix"] == "fix the path"
    assert voices["noengine"]["usable"] is False
    assert voices["noengine"]["problem"] == (
        "engine 'missing' is not installed (voxcli_no_such_package missing)"
    )
    assert voices["noengine"]["fix"] == "pip install voxcli-missing-engine"

    shown = json.loads(ok(runner, "show", "noengine", "--json").stdout)
    assert shown["usable"] is False and "not installed" in shown["problem"]

    table = ok(runner, "list")
    assert table.stdout == ""
    assert "Voices in voices.toml" in table.stderr
    assert "good (default)" in table.stderr
    assert "no: engine 'missing' is not installed" in table.stderr


def test_add_unusable_profile_warns(runner: CliRunner, three: Path) -> None:
    result = ok(runner, "add", "m", "--engine", "fake", "--voice", "gone/x.model")
    assert "warning: voice 'm' cannot speak yet: model file not found: " in result.stderr
    assert read(three)["voices"]["m"] == {"engine": "fake", "voice": "gone/x.model"}


def test_add_to_a_file_without_default_makes_it_the_default(
    runner: CliRunner, isolated: Path, fake_engines: None
) -> None:
    local = isolated / "voices.toml"
    local.write_text('[voices.x]\nengine = "fake"\nvoice = "v"\n', encoding="utf-8")
    ok(runner, "add", "y", "--engine", "fake", "--voice", "w")
    data = read(local)
    assert data["default"] == "y"
    assert_same(
        data["voices"], {"x": {"engine": "fake", "voice": "v"}, "y": {"engine": "fake", "voice": "w"}}
    )


def test_voices_option_naming_a_new_file_creates_it(
    runner: CliRunner, isolated: Path, fake_engines: None
) -> None:
    target = isolated / "project" / "voices.toml"
    ok(runner, "add", "narrator", "--engine", "fake", "--voice", "bob", "--voices", str(target))
    data = read(target)
    assert set(data["voices"]) == {"joe", "espeak", "narrator"}  # seeded from the shipped default
    assert data["default"] == "joe"
    listed = json.loads(ok(runner, "list", "--json", "--voices", str(target)).stdout)
    assert [v["name"] for v in listed["voices"]] == ["joe", "espeak", "narrator"]
    no_temp_files(target.parent)
