"""Recognisers from other packages: declared as ``voxcli.recognizers`` entry points in a real
distribution's metadata (found by importlib.metadata, nothing patched), and the one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

import pytest

from voxcli import asr
from voxcli.arrays import Float32
from voxcli.asr import Heard, Recognizer, recognizer_class, recognizer_report
from voxcli.errors import EngineError


class DeafRecognizer(Recognizer):
    """Hears nothing, in Welsh."""

    name: ClassVar[str] = "deaf"
    description: ClassVar[str] = "a recogniser that hears nothing"
    install_hint: ClassVar[str] = "pip install deaf"
    languages: ClassVar[frozenset[str]] = frozenset({"cy"})

    @classmethod
    def load(cls, lang: str, vocabulary: Sequence[str]) -> DeafRecognizer:
        return cls()

    def known(self, word: str) -> bool:
        return True

    def recognize(self, samples: Float32, rate: int) -> Heard:
        return Heard([])


NotARecognizer = dict


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    dist = tmp_path / "voxcli_deaf-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: voxcli-deaf\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[voxcli.recognizers]\n"
        f"deaf = {__name__}:DeafRecognizer\n"
        f"dict = {__name__}:NotARecognizer\n"
        "gone = voxcli_no_such_module:Recognizer\n"
        "pocketsphinx = voxcli_no_such_module:Impostor\n"  # cannot replace a built-in one
    )
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    asr.registry.cache_clear()
    yield
    monkeypatch.undo()
    asr.registry.cache_clear()


def test_a_recogniser_another_package_declares_is_found_and_reported(installed: None) -> None:
    assert recognizer_class("deaf") is DeafRecognizer
    assert recognizer_class("pocketsphinx").__name__ == "SphinxRecognizer"
    report = {c.name: c for c in recognizer_report()}
    assert report["recogniser deaf"].status == "ok"
    assert report["recogniser deaf"].detail == "a recogniser that hears nothing, hears cy"
    assert report["recogniser gone"].status == "missing"
    problem = DeafRecognizer.problem("en")
    assert problem is not None and problem.message == "recogniser 'deaf' does not know 'en'"


def test_the_mistakes_are_one_line_each(installed: None) -> None:
    with pytest.raises(EngineError) as unknown:
        recognizer_class("pocketsfinx")
    assert unknown.value.message == "unknown recogniser 'pocketsfinx'"
    assert unknown.value.fix is not None and unknown.value.fix.startswith(
        "did you mean 'pocketsphinx'? known: "
    )
    with pytest.raises(EngineError) as gone:
        recognizer_class("gone")
    assert "recogniser 'gone' cannot be imported from voxcli_no_such_module:Recognizer" in gone.value.message
    with pytest.raises(EngineError) as wrong:
        recognizer_class("dict")
    assert wrong.value.message == f"recogniser 'dict': {__name__}:NotARecognizer is not a voxcli Recognizer"
    assert wrong.value.fix == "fix the voxcli.recognizers entry point of the package that provides it"
