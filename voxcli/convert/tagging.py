"""Inline tags of a TXT or Markdown book, checked before any work: every voice and speed they ask for."""

from __future__ import annotations

from dataclasses import replace

from voxcli.book import Book
from voxcli.config import VoicesFile, resolve_voice
from voxcli.engines.base import VoiceProfile
from voxcli.errors import UsageError, VoxError
from voxcli.text.tags import State, runs


def voice_key(voice: str, speed: float | None, narrator: VoiceProfile) -> str:
    """The name a tagged stretch's voice goes by: the profile, with ``@SPEED`` when a speed is asked."""
    if not voice and speed is None:
        return ""
    name = voice or narrator.name
    return f"{name}@{speed:g}" if speed is not None else name


def tag_voices(
    book: Book, source: str, voices: VoicesFile, narrator: VoiceProfile
) -> dict[str, VoiceProfile]:
    """Every voice the book's tags ask for, by :func:`voice_key`; a mistake is one error naming its
    chapter, paragraph and column (nothing is spoken before the whole book checks out)."""
    found: dict[str, VoiceProfile] = {}
    if not book.tags:
        return found
    for chapter in book.chapters:
        state = State()
        for number, paragraph in enumerate(chapter.paragraphs, start=1):
            where = f"{source}, chapter {chapter.index}, paragraph {number}"
            for run in runs(paragraph, where, state, check_voice=lambda name: resolve_voice(name, voices)):
                key = voice_key(run.voice, run.speed, narrator)
                if not key or key in found:
                    continue
                try:
                    profile = resolve_voice(run.voice, voices) if run.voice else narrator
                except VoxError as exc:
                    raise UsageError(f"{where}: [voice:{run.voice}]: {exc.message}", exc.fix) from None
                if run.speed is not None:
                    profile = replace(profile, speed=run.speed)
                found[key] = replace(profile, name=key)
    return found
