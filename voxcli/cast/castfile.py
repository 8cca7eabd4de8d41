"""``book.cast.toml``: the narrator, every character with a voice, made by ``voxcli cast`` and edited.

A second ``voxcli cast`` keeps what the user wrote (voices, names) and only adds new characters and
refreshes the counts.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from voxcli.book import Book
from voxcli.cast.attribute import NARRATOR_I, Line, attribute
from voxcli.cast.quotes import find_quotes

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover - Python 3.10
    pass

SUFFIX = ".cast.toml"
NARRATOR = "narrator"  # as a voice: the narrator's


class CharacterModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    voice: str = Field(min_length=1)  # a profile, ENGINE:VOICE, or "narrator"
    lines: int = Field(default=0, ge=0)  # how many quotes it speaks (refreshed by voxcli cast)
    sample: str = ""  # one of its lines
    names: list[str] = Field(default_factory=list)  # other names the text uses for it


class CastModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    narrator: str = Field(min_length=1)  # the narration's voice
    dialogue: str = NARRATOR  # quotes nobody is named for: "narrator" or a voice
    characters: dict[str, CharacterModel] = Field(default_factory=dict)


@dataclass(frozen=True)
class Cast:
    narrator: str
    dialogue: str = NARRATOR
    characters: dict[str, CharacterModel] = field(default_factory=dict)

    def voice_of(self, speaker: str | None) -> str:
        """The voice that says a quote of ``speaker`` (None: unknown)."""
        if speaker is None:
            voice = self.dialogue
        else:
            found = self.character(speaker)
            voice = found.voice if found is not None else self.dialogue
        return self.narrator if voice == NARRATOR else voice

    def name_of(self, speaker: str) -> str:
        """The cast file's name for ``speaker`` (one of its names, or itself)."""
        if speaker in self.characters:
            return speaker
        for name, character in self.characters.items():
            if speaker in character.names:
                return name
        return speaker

    def character(self, speaker: str) -> CharacterModel | None:
        if speaker in self.characters:
            return self.characters[speaker]
        for character in self.characters.values():
            if speaker in character.names:
                return character
        return None


def cast_path(book: str) -> Path:
    path = Path(book).expanduser()
    return path.with_name(path.stem + SUFFIX)


def read_cast(path: Path) -> Cast:
    """A cast file, validated: a mistake is one line with the key path."""
    from voxcli.config import read_toml, validation_error

    label = str(path)
    data = read_toml(path, label, (f"cast file not found: {path}", "make one with: voxcli cast BOOK"))
    try:
        model = CastModel.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, label, (), CastModel, {"characters.*": CharacterModel}) from None
    return Cast(model.narrator, model.dialogue, dict(model.characters))


@dataclass(frozen=True)
class Found:
    """What ``voxcli cast`` finds in a book."""

    lines: dict[int, list[Line]]  # chapter index -> its quotes with their speakers
    counts: Counter[str]  # speaker -> quotes
    samples: dict[str, str]
    names: dict[str, list[str]]  # speaker -> the other names it is called by

    @property
    def quotes(self) -> int:
        return sum(len(v) for v in self.lines.values())

    @property
    def attributed(self) -> int:
        return sum(1 for v in self.lines.values() for line in v if line.speaker)


def find_cast(book: Book) -> Found:
    """Every chapter's quotes and their speakers (names learnt over the whole book first)."""
    lang = book.language or "en"
    found = {c.index: (c, find_quotes(c.paragraphs, lang)) for c in book.chapters}
    first = Counter(
        line.speaker
        for chapter, quotes in found.values()
        for line in attribute(chapter.paragraphs, quotes)
        if line.speaker
    )
    lines = {
        index: attribute(chapter.paragraphs, quotes, first) for index, (chapter, quotes) in found.items()
    }
    counts: Counter[str] = Counter()
    samples: dict[str, str] = {}
    by_chapter = {c.index: c for c in book.chapters}
    for index, chapter_lines in lines.items():
        for line in chapter_lines:
            if line.speaker is None:
                continue
            counts[line.speaker] += 1
            text = by_chapter[index].paragraphs[line.quote.paragraph][
                line.quote.text_start : line.quote.text_end
            ]
            text = " ".join(text.split()).strip(" ,")
            if (
                len(text) > len(samples.get(line.speaker, "")) and len(text) <= 120
            ) or line.speaker not in samples:
                samples[line.speaker] = text[:120]
    return Found(lines, counts, samples, {})


def propose(
    found: Found, narrator: str, voices: Sequence[str], previous: Cast | None = None, minimum: int = 2
) -> Cast:
    """A cast: the previous one's characters as the user left them, new characters (with at least
    ``minimum`` lines) with the next unused voice of ``voices`` (then the narrator's)."""
    characters: dict[str, CharacterModel] = {}
    kept = previous.characters if previous else {}
    used = {c.voice for c in kept.values()}
    spare = [v for v in voices if v != narrator and v not in used]
    for name, count in found.counts.most_common():
        old = previous.character(name) if previous else None
        if old is not None:
            key = next(k for k, v in kept.items() if v is old)
            characters[key] = old.model_copy(
                update={"lines": count, "sample": found.samples.get(name, old.sample)}
            )
            continue
        if count < minimum:
            continue
        voice = NARRATOR if name == NARRATOR_I else (spare.pop(0) if spare else NARRATOR)
        characters[name] = CharacterModel(voice=voice, lines=count, sample=found.samples.get(name, ""))
    for key, old in kept.items():  # characters the user added, or that no longer speak: kept
        if key not in characters:
            characters[key] = old.model_copy(update={"lines": 0}) if not found.counts.get(key) else old
    return Cast(
        narrator=previous.narrator if previous else narrator,
        dialogue=previous.dialogue if previous else NARRATOR,
        characters=characters,
    )


def cast_toml(cast: Cast, title: str, found: Found) -> str:
    """The cast file's text, with comments that say how to edit it."""
    lines = [
        f"# Who speaks in {title}, and with which voice (voxcli cast). Edit the voices: a profile of",
        '# voices.toml, ENGINE:VOICE, or "narrator". A second `voxcli cast` keeps your edits and adds new',
        "# characters. Convert with it: voxcli convert BOOK --cast FILE (found beside the book too).",
        f"# {found.quotes} quotes, {found.attributed} attributed to a speaker.",
        "",
        f"narrator = {_string(cast.narrator)}",
        f"dialogue = {_string(cast.dialogue)}  # quotes nobody is named for",
        "",
    ]
    for name, character in cast.characters.items():
        lines.append(f"[characters.{_key(name)}]")
        lines.append(f"voice = {_string(character.voice)}")
        lines.append(f"lines = {character.lines}")
        if character.sample:
            lines.append(f"sample = {_string(character.sample)}")
        if character.names:
            lines.append("names = [" + ", ".join(_string(n) for n in character.names) + "]")
        lines.append("")
    return "\n".join(lines)


def as_record(cast: Cast, found: Found) -> dict[str, Any]:
    return {
        "narrator": cast.narrator,
        "dialogue": cast.dialogue,
        "quotes": found.quotes,
        "attributed": found.attributed,
        "characters": {name: c.model_dump() for name, c in cast.characters.items()},
    }


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _string(name)
