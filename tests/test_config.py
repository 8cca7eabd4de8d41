"""voices.toml: validation messages, voice resolution, relative paths and the search order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile
from typer.testing import CliRunner

from tests.conftest import user_voices
from voxcli import config
from voxcli.cli import app
from voxcli.errors import ConfigError

RATE = 16000
WORD = 0.2  # seconds per word of the fake engine at speed 1.0
PAUSE = 0.25  # default sentence pause

JOE = 'default = "joe"\n\n[voices.joe]\nengine = "piper"\nvoice = "en_US-joe-medium"\n'


def one_error_line(result, code: int) -> str:
    """The single 'error: ...' line a failed command printed; checks the exit code and no traceback."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert result.stdout == ""
    return lines[0]


def list_error(runner: CliRunner, text: str, code: int = 4) -> str:
    """Write ./voices.toml (label 'voices.toml') and run 'voices list' on it."""
    Path("voices.toml").write_text(text, encoding="utf-8")
    return one_error_line(runner.invoke(app, ["voices", "list"]), code)


def say(runner: CliRunner, *args: str, text: str = "Hello there."):
    return runner.invoke(app, ["say", text, "-o", "out.wav", *args])


def wav_seconds(path: Path | str) -> float:
    data, rate = soundfile.read(str(path))
    assert rate == RATE
    return len(data) / rate


# ---- TOML syntax ------------------------------------------------------------------------------


def test_bad_toml_keeps_line_and_column(runner: CliRunner, isolated: Path) -> None:
    text = JOE + 'lang "en-us"\n'  # line 6: a key with no '=' ; column 6 is the '"'
    line = list_error(runner, text)
    assert line.startswith("error: voices.toml: invalid TOML: ")
    assert "(at line 6, column 6)" in line
    assert "fix the syntax at that line and column" in line


def test_bad_toml_unclosed_table_header(runner: CliRunner, isolated: Path) -> None:
    line = list_error(runner, 'default = "joe"\n\n[voices.joe\nengine = "piper"\n')
    assert "Expected ']' at the end of a table declaration (at line 3, column 12)" in line


def test_bad_toml_through_say_with_voices_option(runner: CliRunner, isolated: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('default = "joe"\nx = 1 2\n', encoding="utf-8")
    line = one_error_line(say(runner, "--voices", str(bad)), 4)
    assert line.startswith(f"error: {bad}: invalid TOML: ")
    assert "after a statement (at line 2, column 7)" in line


def test_parse_toml_directly() -> None:
    with pytest.raises(ConfigError) as caught:
        config.parse_voices("a = 1\nb = = 2\n", "mine.toml", None)
    assert caught.value.message.startswith("mine.toml: invalid TOML: ")
    assert caught.value.message.endswith("(at line 2, column 5)")
    assert caught.value.exit_code == 4


# ---- unknown keys -----------------------------------------------------------------------------


def test_unknown_profile_key_suggests_the_right_one(runner: CliRunner, isolated: Path) -> None:
    line = list_error(runner, JOE + "speeed = 1.2\n")
    assert "voices.toml: voices.joe.speeed: unknown field (did you mean 'speed'?)" in line


def test_unknown_top_level_key(runner: CliRunner, isolated: Path) -> None:
    line = list_error(runner, 'defualt = "joe"\n\n[voices.joe]\nengine = "piper"\nvoice = "v"\n')
    assert "voices.toml: defualt: unknown field (did you mean 'default'?)" in line
    line = list_error(runner, 'colour = "red"\n' + JOE)
    assert "voices.toml: colour: unknown field (allowed: default, voices, languages)" in line


def test_unknown_engine_option_key(runner: CliRunner, isolated: Path, fake_engines: None) -> None:
    text = 'default = "x"\n\n[voices.x]\nengine = "fake"\nvoice = "v"\n\n[voices.x.options]\npich = 300.0\n'
    line = list_error(runner, text)
    assert "voices.toml: voices.x.options.pich: unknown field (did you mean 'pitch'?)" in line


def test_bad_engine_option_value(runner: CliRunner, isolated: Path, fake_engines: None) -> None:
    text = 'default = "x"\n\n[voices.x]\nengine = "fake"\nvoice = "v"\n\n[voices.x.options]\npitch = "high"\n'
    line = list_error(runner, text)
    assert "voices.toml: voices.x.options.pitch: expected a number, got string 'high'" in line


def test_more_errors_are_counted(runner: CliRunner, isolated: Path) -> None:
    line = list_error(runner, JOE + "speeed = 1.2\npich = 3\n")
    assert "voices.toml: voices.joe.speeed: unknown field (and 1 more)" in line


# ---- types, ranges, required fields ----------------------------------------------------------


def test_wrong_type(runner: CliRunner, isolated: Path) -> None:
    line = list_error(runner, JOE + 'speed = "fast"\n')
    assert "voices.toml: voices.joe.speed: expected a number, got string 'fast'" in line
    line = list_error(runner, JOE.replace('voice = "en_US-joe-medium"', "voice = 7"))
    assert "voices.toml: voices.joe.voice: expected a string, got integer 7" in line


def test_out_of_range(runner: CliRunner, isolated: Path) -> None:
    line = list_error(runner, JOE + "speed = 3.0\n")
    assert "voices.toml: voices.joe.speed: " in line
    assert "less than or equal to 2" in line and "3.0" in line
    line = list_error(runner, JOE + "sentence_pause = -1.0\n")
    assert "voices.toml: voices.joe.sentence_pause: " in line and "greater than or equal to 0" in line


def test_missing_voice(runner: CliRunner, isolated: Path) -> None:
    line = list_error(runner, 'default = "joe"\n\n[voices.joe]\nengine = "piper"\n')
    assert "voices.toml: voices.joe.voice: missing required field (add voice = ... to that table)" in line


def test_invalid_profile_name(runner: CliRunner, isolated: Path) -> None:
    line = list_error(runner, '[voices."a:b"]\nengine = "piper"\nvoice = "v"\n')
    assert "voices.toml: voices.a:b: invalid voice name" in line


def test_unknown_engine_suggests_piper(runner: CliRunner, isolated: Path) -> None:
    line = list_error(runner, JOE.replace('"piper"', '"pipr"'))
    assert "voices.toml: voices.joe.engine: unknown engine 'pipr'" in line
    assert "did you mean 'piper'?" in line


def test_default_names_a_missing_profile(runner: CliRunner, isolated: Path) -> None:
    line = list_error(runner, JOE.replace('default = "joe"', 'default = "jo"'))
    assert "voices.toml: default: no voice named 'jo'" in line
    assert "did you mean 'joe'?" in line


def test_validation_directly() -> None:
    with pytest.raises(ConfigError) as caught:
        config.parse_voices(JOE + "speed = 0.1\n", "v.toml", None)
    assert caught.value.message.startswith("v.toml: voices.joe.speed: ")
    parsed = config.parse_voices(JOE + "speed = 1\n", "v.toml", None, "test")
    assert parsed.default == "joe" and parsed.origin == "test" and parsed.label == "v.toml"
    joe = parsed.profiles["joe"]
    assert (joe.engine, joe.voice, joe.lang, joe.speed) == ("piper", "en_US-joe-medium", "en-us", 1.0)
    assert (joe.sentence_pause, joe.paragraph_pause, joe.source) == (0.25, 0.6, "v.toml")


def test_no_default_and_no_voice_given() -> None:
    voices = config.parse_voices('[voices.joe]\nengine = "piper"\nvoice = "v"\n', "v.toml", None)
    assert voices.default is None
    with pytest.raises(ConfigError) as caught:
        config.resolve_voice(None, voices)
    assert caught.value.message == "v.toml sets no default voice"
    assert config.resolve_voice("joe", voices).name == "joe"


# ---- resolving -v -----------------------------------------------------------------------------

THREE = """default = "ann"

[voices.ann]
engine = "fake"
voice = "a"

[voices.joe]
engine = "fake"
voice = "j"

[voices.zed]
engine = "fake"
voice = "z"
"""


def test_unknown_voice_lists_known(runner: CliRunner, isolated: Path, fake_engines: None) -> None:
    Path("voices.toml").write_text(THREE, encoding="utf-8")
    line = one_error_line(say(runner, "-v", "nobody"), 4)
    assert "unknown voice 'nobody' in voices.toml" in line
    assert "known voices: ann, joe, zed" in line
    assert not Path("out.wav").exists()
    line = one_error_line(say(runner, "-v", "jeo"), 4)
    assert "did you mean 'joe'? known voices: ann, joe, zed" in line


def test_default_and_named_profile_speak(runner: CliRunner, isolated: Path, fake_engines: None) -> None:
    Path("voices.toml").write_text(THREE.replace('voice = "z"', 'voice = "z"\nspeed = 2.0'), encoding="utf-8")
    result = say(runner, text="Hello there. How are you?")
    assert result.exit_code == 0, result.output
    assert "voice ann (fake)" in result.stderr
    assert wav_seconds("out.wav") == pytest.approx(5 * WORD + PAUSE, abs=1e-3)
    result = say(runner, "-v", "zed")
    assert result.exit_code == 0, result.output
    assert wav_seconds("out.wav") == pytest.approx(2 * WORD / 2.0, abs=1e-3)


def test_engine_colon_voice_without_profile(runner: CliRunner, isolated: Path, fake_engines: None) -> None:
    Path("voices.toml").write_text(THREE, encoding="utf-8")
    result = say(runner, "-v", "fake:anything")
    assert result.exit_code == 0, result.output
    assert Path("out.wav").is_file()
    assert wav_seconds("out.wav") == pytest.approx(2 * WORD, abs=1e-3)
    assert "voice fake:anything (fake)" in result.stderr


def test_engine_colon_voice_resolution_directly(fake_engines: None) -> None:
    voices = config.parse_voices(JOE, "v.toml", None)
    profile = config.resolve_voice("espeak:en-gb", voices)
    assert (profile.engine, profile.voice, profile.lang) == ("espeak", "en-gb", "en-gb")
    assert profile.name == "espeak:en-gb"
    assert config.resolve_voice("espeak:fr+f3", voices).lang == "fr"
    assert config.resolve_voice("fake:bob", voices).lang == "en-us"
    with pytest.raises(ConfigError, match="voice 'fake:' names no voice"):
        config.resolve_voice("fake:", voices)


def test_unknown_engine_in_engine_colon_voice(runner: CliRunner, isolated: Path, fake_engines: None) -> None:
    Path("voices.toml").write_text(THREE, encoding="utf-8")
    line = one_error_line(say(runner, "-v", "nosuch:thing"), 4)
    assert "unknown engine 'nosuch' in voice 'nosuch:thing'" in line
    assert "known engines: " in line and "espeak" in line and "piper" in line
    line = one_error_line(say(runner, "-v", "espek:en"), 4)
    assert "did you mean 'espeak'?" in line


# ---- model files and relative paths ------------------------------------------------------------


def model_profile(voice: str) -> str:
    return f'default = "m"\n\n[voices.m]\nengine = "fake"\nvoice = "{voice}"\n'


def test_missing_model_file_names_resolved_path(
    runner: CliRunner, isolated: Path, fake_engines: None
) -> None:
    Path("voices.toml").write_text(model_profile("models/x.model"), encoding="utf-8")
    line = one_error_line(say(runner), 5)
    expected = (isolated / "models" / "x.model").resolve()
    assert f"voices.toml: voices.m.voice: model file not found: {expected}" in line
    assert not Path("out.wav").exists()


def test_relative_model_path_starts_at_the_voices_file(
    runner: CliRunner, isolated: Path, tmp_path: Path, fake_engines: None
) -> None:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    voices = folder / "v.toml"
    voices.write_text(model_profile("models/x.model"), encoding="utf-8")
    # A model beside the working folder does not count: the path starts at the TOML file's folder.
    (isolated / "models").mkdir()
    (isolated / "models" / "x.model").write_bytes(b"model")
    line = one_error_line(say(runner, "--voices", str(voices)), 5)
    assert f"model file not found: {(folder / 'models' / 'x.model').resolve()}" in line
    assert f"{voices}: voices.m.voice: " in line
    (folder / "models").mkdir()
    (folder / "models" / "x.model").write_bytes(b"model")
    (isolated / "models" / "x.model").unlink()
    result = say(runner, "--voices", str(voices))
    assert result.exit_code == 0, result.output
    assert wav_seconds(isolated / "out.wav") == pytest.approx(2 * WORD, abs=1e-3)


def test_profile_base_dir_is_the_voices_folder(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "v.toml"
    path.parent.mkdir()
    path.write_text(JOE, encoding="utf-8")
    voices = config.load_voices(str(path))
    assert voices.profiles["joe"].base_dir == path.resolve().parent
    assert voices.profiles["joe"].path("a/b.onnx") == path.resolve().parent / "a" / "b.onnx"


def test_tilde_expands_in_profile_path(
    runner: CliRunner, isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_engines: None
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    Path("voices.toml").write_text(model_profile("~/models/x.model"), encoding="utf-8")
    line = one_error_line(say(runner), 5)
    assert f"model file not found: {home / 'models' / 'x.model'}" in line
    assert "~" not in line.split("model file not found: ")[1]
    (home / "models").mkdir()
    (home / "models" / "x.model").write_bytes(b"model")
    result = say(runner)
    assert result.exit_code == 0, result.output
    assert wav_seconds("out.wav") == pytest.approx(2 * WORD, abs=1e-3)


def test_engine_not_installed(runner: CliRunner, isolated: Path, fake_engines: None) -> None:
    Path("voices.toml").write_text(
        'default = "m"\n\n[voices.m]\nengine = "missing"\nvoice = "v"\n', encoding="utf-8"
    )
    line = one_error_line(say(runner), 5)
    assert "engine 'missing' is not installed (voxcli_no_such_package missing)" in line
    assert "pip install voxcli-missing-engine" in line


# ---- search order -----------------------------------------------------------------------------


def named_default(name: str) -> str:
    return f'default = "{name}"\n\n[voices.{name}]\nengine = "fake"\nvoice = "v"\n'


def listed(runner: CliRunner, *args: str) -> dict:
    result = runner.invoke(app, ["voices", "list", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_search_order(
    runner: CliRunner, isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_engines: None
) -> None:
    flag = tmp_path / "flag.toml"
    env = tmp_path / "env.toml"
    local = isolated / "voices.toml"
    user = user_voices(tmp_path)
    user.parent.mkdir(parents=True)
    for path, name in ((flag, "from_flag"), (env, "from_env"), (local, "from_cwd"), (user, "from_user")):
        path.write_text(named_default(name), encoding="utf-8")
    monkeypatch.setenv("VOXCLI_VOICES", str(env))

    data = listed(runner, "--voices", str(flag))
    assert (data["file"], data["origin"], data["default"]) == (str(flag), "--voices", "from_flag")
    assert [v["name"] for v in data["voices"]] == ["from_flag"]  # files are not merged

    data = listed(runner)
    assert (data["file"], data["origin"], data["default"]) == (str(env), "$VOXCLI_VOICES", "from_env")

    monkeypatch.delenv("VOXCLI_VOICES")
    data = listed(runner)
    assert (data["file"], data["origin"], data["default"]) == ("voices.toml", "./voices.toml", "from_cwd")

    local.unlink()
    data = listed(runner)
    assert (data["file"], data["origin"], data["default"]) == (str(user), "user config", "from_user")

    user.unlink()
    data = listed(runner)
    assert (data["file"], data["origin"], data["default"]) == ("built-in voices.toml", "built-in", "joe")
    assert [v["name"] for v in data["voices"]] == ["joe", "espeak"]
    joe = data["voices"][0]
    assert (joe["engine"], joe["voice"], joe["lang"]) == ("piper", "en_US-joe-medium", "en-us")
    assert joe["default"] is True
    assert data["voices"][1]["engine"] == "espeak" and data["voices"][1]["default"] is False


def test_empty_env_is_ignored(runner: CliRunner, isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXCLI_VOICES", "")
    assert listed(runner)["origin"] == "built-in"


def test_locate_directly(isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.locate(None) == (None, "built-in voices.toml", "built-in")
    user = user_voices(tmp_path)
    assert config.user_voices_path() == user
    user.parent.mkdir(parents=True)
    user.write_text(JOE, encoding="utf-8")
    assert config.locate(None) == (user, str(user), "user config")
    Path("voices.toml").write_text(JOE, encoding="utf-8")
    assert config.locate(None) == (Path("voices.toml"), "voices.toml", "./voices.toml")
    home = tmp_path / "home"
    home.mkdir()
    (home / "mine.toml").write_text(JOE, encoding="utf-8")
    monkeypatch.setenv("HOME", str(home))
    assert config.locate("~/mine.toml") == (home / "mine.toml", "~/mine.toml", "--voices")


def test_voices_option_missing_file(runner: CliRunner, isolated: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "voices.toml"
    line = one_error_line(runner.invoke(app, ["voices", "list", "--voices", str(missing)]), 4)
    assert f"voices file not found: {missing}" in line
    assert "check the path given by --voices" in line
    line = one_error_line(say(runner, "--voices", str(missing)), 4)
    assert f"voices file not found: {missing}" in line


def test_env_missing_file(
    runner: CliRunner, isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "gone.toml"
    monkeypatch.setenv("VOXCLI_VOICES", str(missing))
    Path("voices.toml").write_text(JOE, encoding="utf-8")  # not a fallback: the env names the file
    line = one_error_line(runner.invoke(app, ["voices", "list"]), 4)
    assert f"voices file not found: {missing} (check the path given by $VOXCLI_VOICES)" in line


def test_voices_option_is_a_folder(runner: CliRunner, isolated: Path, tmp_path: Path) -> None:
    line = one_error_line(runner.invoke(app, ["voices", "list", "--voices", str(tmp_path)]), 4)
    assert f"voices file not found: {tmp_path}" in line


def test_unreadable_encoding(runner: CliRunner, isolated: Path) -> None:
    Path("voices.toml").write_bytes(b'default = "\xff"\n')
    line = one_error_line(runner.invoke(app, ["voices", "list"]), 4)
    assert line.startswith("error: voices.toml: cannot be read: ")


def test_booleans_are_not_numbers(runner: CliRunner, isolated: Path) -> None:
    line = list_error(runner, JOE + "speed = true\n")
    assert "voices.toml: voices.joe.speed: expected a number, got boolean True" in line
    line = list_error(runner, "default = 1\n" + JOE.split("\n", 1)[1])
    assert "voices.toml: default: expected a string, got integer 1" in line
