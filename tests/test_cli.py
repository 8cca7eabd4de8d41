"""The command line: exit codes, JSON on stdout, one-line errors, global options, cheap imports."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from tests.conftest import REPO, corpus_file
from voxcli import __version__
from voxcli.cli import app

WASTELAND = ("epub", "wasteland-otf-obf.epub")


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"voxcli {__version__}\n"


def test_chapters_json_on_stdout(runner: CliRunner) -> None:
    result = runner.invoke(app, ["chapters", "--json", "--skip-notes", str(corpus_file(*WASTELAND))])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"title", "author", "language", "chapters"}
    assert (data["title"], data["author"], data["language"]) == ("The Waste Land", "T.S. Eliot", "en-US")
    assert [c["index"] for c in data["chapters"]] == [1, 2, 3, 4, 5]
    first = data["chapters"][0]
    assert set(first) == {"index", "title", "kind", "words", "chars"}
    assert first["title"] == "I. THE BURIAL OF THE DEAD" and first["words"] > 500
    assert "notes left out" in result.stderr  # warnings go to stderr (and into the JSON's list)
    assert data["warnings"] == ["1 chapter(s) of notes left out (--skip-notes)"]


def test_chapters_full_text(runner: CliRunner) -> None:
    result = runner.invoke(app, ["chapters", "--json", "--full", str(corpus_file(*WASTELAND))])
    data = json.loads(result.stdout)
    text = data["chapters"][4]["text"]
    assert text.startswith("V. WHAT THE THUNDER SAID\n\n") and text.endswith("Shantih shantih shantih")
    assert len(text) == data["chapters"][4]["chars"]


def test_chapters_table_goes_to_stderr(runner: CliRunner) -> None:
    book = corpus_file("md", "rust-book-ch04-01-what-is-ownership.md")
    result = runner.invoke(app, ["chapters", str(book)])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "Memory and Allocation" in result.stderr and "total" in result.stderr
    assert "\x1b[" not in result.stderr  # NO_COLOR and not a terminal: no escape codes


def test_quiet_hides_warnings_not_results(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--quiet", "chapters", "--json", str(corpus_file(*WASTELAND))])
    assert result.exit_code == 0
    assert result.stderr == ""
    assert json.loads(result.stdout)["chapters"]


def test_stdin_text(runner: CliRunner) -> None:
    result = runner.invoke(
        app,
        ["chapters", "--json", "--full", "-"],
        input="CHAPTER I\n\nHello there,\nreader.\n\nCHAPTER II\n\nBye.\n",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [c["title"] for c in data["chapters"]] == ["CHAPTER I", "CHAPTER II"]
    assert data["chapters"][0]["text"] == "CHAPTER I\n\nHello there, reader."


def test_user_mistakes_are_one_line_and_non_zero(runner: CliRunner, tmp_path) -> None:
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "empty.txt").write_bytes(b"\n\n")
    cases = [
        (["chapters", str(tmp_path / "missing.epub")], 2, "missing.epub: no such file"),
        (["chapters", str(tmp_path)], 2, "is a directory"),
        (["chapters", str(tmp_path / "notes.pdf")], 3, "notes.pdf: not a readable PDF"),
        (["chapters", str(tmp_path / "empty.txt")], 3, "holds no text"),
        (["chapters", "--full", str(tmp_path / "empty.txt")], 2, "--full only applies to --json"),
        (["chapters", str(corpus_file("bad", "fake_drm_sherlock.epub"))], 3, "DRM-protected"),
    ]
    for args, code, phrase in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == code, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and phrase in lines[0], result.stderr
        assert "Traceback" not in result.output


def test_debug_shows_the_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "voxcli", "--debug", "chapters", "missing.epub"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "UsageError" in result.stderr


def test_console_script_and_module_run() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "voxcli",
            "chapters",
            "--json",
            str(corpus_file("bad", "cp1252_chapter.epub")),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["chapters"][0]["words"] == 5
    voxcli = REPO / ".venv" / "bin" / "voxcli"
    exe = str(voxcli) if voxcli.exists() else "voxcli"
    result = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "chapters" in result.stdout


def test_help_and_chapters_do_not_import_torch() -> None:
    book = str(corpus_file(*WASTELAND))
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from voxcli.cli import app\n"
        "r = CliRunner()\n"
        "assert r.invoke(app, ['--help']).exit_code == 0\n"
        f"assert r.invoke(app, ['chapters', '--json', {book!r}]).exit_code == 0\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'torch', 'TTS', 'kokoro', 'piper', 'onnxruntime', 'numpy'})\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
