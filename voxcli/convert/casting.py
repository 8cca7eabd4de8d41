"""A cast for a conversion: every cast voice resolved to a profile, every quote given its voice."""

from __future__ import annotations

from dataclasses import dataclass, field

from voxcli.book import Book
from voxcli.cast.castfile import NARRATOR, Cast, Found, find_cast
from voxcli.config import VoicesFile, resolve_voice
from voxcli.convert.plan import Voiced
from voxcli.engines.base import VoiceProfile
from voxcli.errors import ConfigError, VoxError


@dataclass(frozen=True)
class Casting:
    """The voices of a cast (name -> profile; the narrator is the request's profile) and the quotes
    each chapter gives them."""

    cast: Cast
    profiles: dict[str, VoiceProfile] = field(default_factory=dict)
    voiced: dict[int, list[Voiced]] = field(default_factory=dict)  # chapter index -> its quotes
    speakers: dict[tuple[int, int, int], str | None] = field(
        default_factory=dict
    )  # (chapter, paragraph, start)

    def speaker_of(self, chapter: int, paragraph: int, start: int) -> str | None:
        return self.speakers.get((chapter, paragraph, start))


def casting(cast: Cast, book: Book, voices: VoicesFile, narrator: VoiceProfile, label: str) -> Casting:
    """Resolve the cast's voices (one line naming the character for a voice that does not exist) and
    give each quote of the book the voice of its speaker; quotes of the narrator's voice stay narration."""
    profiles: dict[str, VoiceProfile] = {}

    def profile_of(spec: str, where: str) -> str:
        if spec in (NARRATOR, narrator.name):
            return ""
        if spec not in profiles:
            try:
                found = resolve_voice(spec, voices)
            except VoxError as exc:
                raise ConfigError(f"{label}: {where}: {exc.message}", exc.fix) from None
            if found == narrator:
                return ""
            profiles[spec] = found
        return spec

    profile_of(cast.dialogue, "dialogue")
    for name, character in cast.characters.items():
        profile_of(character.voice, f"characters.{name}.voice")
    found: Found = find_cast(book)
    voiced: dict[int, list[Voiced]] = {}
    speakers: dict[tuple[int, int, int], str | None] = {}
    for chapter, lines in found.lines.items():
        for line in lines:
            quote = line.quote
            speakers[(chapter, quote.paragraph, quote.start)] = line.speaker
            voice = profile_of(
                cast.voice_of(line.speaker), f"the voice of {line.speaker or 'unknown speakers'}"
            )
            if voice:
                voiced.setdefault(chapter, []).append(
                    Voiced(
                        quote.paragraph,
                        quote.start,
                        quote.end,
                        quote.text_start,
                        quote.text_end,
                        voice,
                        cast.name_of(line.speaker) if line.speaker else "",
                    )
                )
    return Casting(cast, profiles, voiced, speakers)
