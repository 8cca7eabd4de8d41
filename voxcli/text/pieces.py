"""Speech pieces: what an engine is asked to say, and the silence after each; one path for every caller.

``convert`` (a paragraph at a time), ``voxcli say`` and the server all turn text into pieces here, so
"It cost $5 in 1851, said Dr. Watson" reaches the engine as "It cost five dollars in eighteen
fifty-one, said Doctor Watson" whichever way it came in, with the profile's pauses between sentences.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from voxcli.engines.base import VoiceProfile
from voxcli.text.segment import fit, paragraphs, sentences

CLAUSE_PAUSE = 0.15  # seconds between the pieces of a sentence too long for the engine

Normalizer = Callable[[str, str], str]  # (text, lang) -> words an engine reads correctly
Splitter = Callable[[str, str], list[str]]  # (paragraph, lang) -> sentences


@dataclass(frozen=True)
class Piece:
    """One call to the engine."""

    shown: str  # the text as written, for subtitles
    speech: str  # normalised, within the engine's max_chars
    pause: float  # seconds of silence after it


def default_normalizer() -> Normalizer:
    """The text normaliser (imported on first use: num2words and its tables are not needed for --help)."""
    from voxcli.text.normalize import normalize

    return normalize


def sentence_pieces(text: str, pause: float, max_chars: int, lang: str, normalize: Normalizer) -> list[Piece]:
    """One sentence as pieces whose spoken form fits ``max_chars``; ``pause`` after the last, a short
    clause pause between the others."""
    fitted = fit_spoken(text, max_chars, lambda t: normalize(t, lang))
    return [
        Piece(shown, spoken, pause if position == len(fitted) - 1 else min(CLAUSE_PAUSE, pause))
        for position, (shown, spoken) in enumerate(fitted)
    ]


def paragraph_pieces(
    paragraph: str,
    profile: VoiceProfile,
    max_chars: int,
    *,
    normalize: Normalizer,
    split: Splitter = sentences,
) -> list[Piece]:
    """One paragraph's pieces: the sentence pause after each sentence, the paragraph pause after the last."""
    found = split(paragraph, profile.lang)
    pieces: list[Piece] = []
    for position, sentence in enumerate(found):
        last = position == len(found) - 1
        pause = profile.paragraph_pause if last else profile.sentence_pause
        pieces += sentence_pieces(sentence, pause, max_chars, profile.lang, normalize)
    return pieces


def speech_pieces(
    text: str,
    profile: VoiceProfile,
    max_chars: int,
    *,
    normalize: Normalizer | None = None,
    split: Splitter = sentences,
) -> list[Piece]:
    """``text`` (paragraphs separated by blank lines) as pieces, in order, none after the last.

    Text with nothing to pronounce ("* * *") gives no piece; its pause stays with the piece before.
    """
    normalize = normalize or default_normalizer()
    pieces: list[Piece] = []
    for paragraph in paragraphs(text):
        for piece in paragraph_pieces(paragraph, profile, max_chars, normalize=normalize, split=split):
            if pronounceable(piece.speech):
                pieces.append(piece)
    if pieces:
        pieces[-1] = Piece(pieces[-1].shown, pieces[-1].speech, 0.0)
    return pieces


def pronounceable(speech: str) -> bool:
    """Whether an engine has anything to say in ``speech`` (a letter or digit)."""
    return any(ch.isalnum() for ch in speech)


def fit_spoken(text: str, max_chars: int, normalize: Callable[[str], str]) -> list[tuple[str, str]]:
    """(shown, spoken) pieces of a sentence whose spoken form fits ``max_chars``.

    Normalising makes text longer ("1851" -> "eighteen fifty-one"), so the book text is cut, and
    cut again smaller, until every normalised piece fits.
    """
    spoken = normalize(text)
    if len(spoken) <= max_chars:
        return [(text, spoken)]
    limit = max_chars
    while limit > 8:
        limit = max(8, limit * 2 // 3)
        pieces = [(piece, normalize(piece)) for piece in fit(text, limit)]
        if all(len(s) <= max_chars for _, s in pieces):
            return pieces
    # Never reached by real text; if it is, a piece a little over the limit beats a lost word.
    return [(piece, normalize(piece)) for piece in fit(text, 8)]
