"""Scoring quote attribution against the hand annotations in tests/data/cast (see its README)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tests.conftest import corpus_file
from voxcli.book import Book
from voxcli.cast.castfile import find_cast
from voxcli.ingest import read_book

DATA = Path(__file__).parent / "data" / "cast"


@dataclass
class Score:
    annotated: int = 0  # speech quotes with a known speaker
    attributed: int = 0  # of the quotes the program gave a speaker (including not-speech ones)
    correct: int = 0
    found: int = 0  # annotated quotes the program found at all (same paragraph, same opening mark)

    @property
    def precision(self) -> float:
        return self.correct / self.attributed if self.attributed else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.annotated if self.annotated else 0.0

    def add(self, other: Score) -> None:
        self.annotated += other.annotated
        self.attributed += other.attributed
        self.correct += other.correct
        self.found += other.found


@lru_cache(maxsize=4)
def book(name: str) -> Book:
    return read_book(str(corpus_file("epub", name)))


def score(path: Path) -> Score:
    """One annotated chapter: the program's speaker for each quote against the annotator's."""
    data = json.loads(path.read_text(encoding="utf-8"))
    read = book(data["book"])
    lines = {
        (line.quote.paragraph, line.quote.start): line.speaker
        for line in find_cast(read).lines[data["chapter"]]
    }
    names: dict[str, str] = {}
    for canonical, aliases in data["characters"].items():
        for alias in [canonical, *aliases]:
            names[alias.casefold()] = canonical
            if alias.lower().startswith("the "):
                names[alias[4:].casefold()] = canonical
    result = Score()
    for quote in data["quotes"]:
        key = (quote["paragraph"], quote["offset"])
        speech = quote["speaker"] not in ("unknown", "not-speech")
        said = lines.get(key)
        if speech:
            result.annotated += 1
            result.found += key in lines
        if said is None:
            continue
        if quote["speaker"] == "unknown":
            continue  # nobody can tell: neither right nor wrong
        result.attributed += 1
        result.correct += speech and names.get(said.casefold()) == quote["speaker"]
    return result
