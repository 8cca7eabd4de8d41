"""`convert --verify` repairs what it hears wrong: a Piper engine that spoils the first take of some
sentences (silence, or the second half cut off) and speaks every later take cleanly; the faults it
made are its own record, the oracle; the repaired chapter is then checked again from its WAV file."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import lxml.html
import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import corpus_file
from voxcli import engines
from voxcli.cli import app
from voxcli.convert.plan import spoken_text
from voxcli.engines.base import DEFAULT_SETTINGS, AudioChunk, Settings
from voxcli.engines.piper import PiperEngine
from voxcli.ingest import read_book
from voxcli.text.segment import paragraphs


class FirstTakeFaulty(PiperEngine):
    """Piper, except that the first take of one long sentence in eight is silent or cut in half (faults
    are rare in real books: the verdicts compare a sentence with its chapter's typical one)."""

    name: ClassVar[str] = "first-take-faulty"
    spoiled: ClassVar[dict[str, str]] = {}  # text -> the fault its first take got
    seen: ClassVar[set[str]] = set()

    def synthesize(self, text: str, settings: Settings = DEFAULT_SETTINGS) -> Iterator[AudioChunk]:
        first = text not in FirstTakeFaulty.seen
        FirstTakeFaulty.seen.add(text)
        for chunk in super().synthesize(text, settings):
            if first and len(text) > 30 and zlib.crc32(text.encode()) % 8 == 0:
                kind = "silence" if (zlib.crc32(text.encode()) // 8) % 2 == 0 else "cut"
                FirstTakeFaulty.spoiled[text] = kind
                samples = (
                    np.zeros_like(chunk.samples)
                    if kind == "silence"
                    else chunk.samples[: len(chunk.samples) // 2]
                )
                chunk = AudioChunk(samples=samples, sample_rate=chunk.sample_rate, text=text)
            yield chunk


@pytest.fixture
def faulty(monkeypatch: pytest.MonkeyPatch, isolated: Path) -> Iterator[Path]:
    monkeypatch.setitem(engines.BUILTIN, "first-take-faulty", f"{__name__}:FirstTakeFaulty")
    engines.registry.cache_clear()
    FirstTakeFaulty.spoiled.clear()
    FirstTakeFaulty.seen.clear()
    voices = isolated / "voices.toml"
    voices.write_text(
        'default = "spoilt"\n[voices.spoilt]\nengine = "first-take-faulty"\nvoice = "en_US-joe-medium"\n',
        encoding="utf-8",
    )
    yield voices
    monkeypatch.undo()
    engines.registry.cache_clear()


@pytest.mark.slow
def test_verify_speaks_again_what_it_hears_wrong(faulty: Path, isolated: Path, runner: CliRunner) -> None:
    chapter = read_book(str(corpus_file("epub", "childrens-literature.epub"))).chapters[9]
    text = "\n\n".join(paragraphs(spoken_text(chapter))[:14])  # real prose: the first dozen paragraphs
    book = isolated / "andersen.txt"
    book.write_text(text, encoding="utf-8")
    out = isolated / "out"
    args = ["convert", str(book), "-o", str(out), "--format", "wav", "--jobs", "1", "--voices", str(faulty)]
    result = runner.invoke(app, [*args, "--verify", "--json"])
    assert result.exit_code == 0, result.output
    spoiled = dict(FirstTakeFaulty.spoiled)
    assert len(spoiled) >= 3, spoiled  # the engine really spoilt some first takes
    summary = json.loads(result.stdout)
    verify = summary["verify"]
    assert verify["flagged"] >= len(spoiled)  # every spoilt take was heard as wrong...
    assert verify["repaired"] >= len(spoiled)  # ...and spoken again, cleanly
    assert verify["still_flagged"] == []
    # The report of what it heard: a section per chapter, a point per sentence, no flagged row left.
    page = lxml.html.fromstring((out / "check.html").read_text(encoding="utf-8"))
    sections = page.xpath("//section[@class='chapter']")
    assert verify["report"] == str(out / "check.html") and len(sections) == len(list(out.glob("*.wav")))
    assert len(page.xpath("//svg[@class='plot']//circle")) == verify["sentences"]
    assert page.xpath("//tr[@class='flagged']") == []
    # The chapter files themselves now say their text: each WAV heard again, against its chapter. A
    # whole recording is heard less surely than a sentence alone: one false alarm is allowed, never
    # on a sentence that was spoilt and repaired.
    checked: set[str] = set()
    flagged: list[str] = []
    for wav in sorted(out.glob("*.wav")):
        number = wav.name.split(" - ")[0]
        check = runner.invoke(
            app, ["check", "--audio", str(wav), "--text", str(book), "-c", number, "--json"]
        )
        report = json.loads(check.stdout)
        assert check.exit_code in (0, 1), check.output
        checked |= {c["text"] for c in report["chapters"][0]["checks"]}
        flagged += [c["text"] for c in report["chapters"][0]["checks"] if c["flagged"]]
    assert all(any(s in t or t in s for t in checked) for s in spoiled)  # the spoilt ones were heard too
    assert not [t for t in flagged if any(s in t or t in s for s in spoiled)], flagged
    assert len(flagged) <= 1, flagged
