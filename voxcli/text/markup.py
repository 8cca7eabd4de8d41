"""Phonemes inside speech text: ``[Queequeg](/ˈkwiːkwɛɡ/)`` says "Queequeg" with those phonemes.

The form is misaki's (Kokoro's G2P). voxcli writes it into a piece's speech only for engines that
declare the "phonemes" capability, in that engine's phoneme alphabet (IPA for Piper and Kokoro,
eSpeak-NG's own for eSpeak-NG); every other engine gets plain words (a respelling).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_SPAN = re.compile(r"\[([^\[\]]+)\]\(/([^/()\[\]]*)/\)")


@dataclass(frozen=True)
class Said:
    """A stretch of speech text: plain words (``phonemes`` None), or words with their phonemes."""

    text: str
    phonemes: str | None = None


def span(shown: str, phonemes: str) -> str:
    """The markup that says ``shown`` with ``phonemes``."""
    clean = " ".join(shown.replace("[", " ").replace("]", " ").split()) or "_"
    return f"[{clean}](/{' '.join(phonemes.replace('/', ' ').split())}/)"


def parts(speech: str) -> Iterator[Said]:
    """The speech cut into plain text and phoneme spans, in order; nothing is left out."""
    position = 0
    for match in _SPAN.finditer(speech):
        if match.start() > position:
            yield Said(speech[position : match.start()])
        yield Said(match.group(1), match.group(2))
        position = match.end()
    if position < len(speech):
        yield Said(speech[position:])


def has_phonemes(speech: str) -> bool:
    """Whether ``speech`` holds any phoneme span."""
    return _SPAN.search(speech) is not None


def plain(speech: str) -> str:
    """The words of ``speech`` without the phonemes (what a listener hears as text)."""
    return _SPAN.sub(lambda m: m.group(1), speech)
