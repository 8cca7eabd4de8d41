"""Speech pieces: what an engine is asked to say, and the silence after each; one path for every caller.

``convert`` (a paragraph at a time), ``voxcli say`` and the server all turn text into pieces here, so
"It cost $5 in 1851, said Dr. Watson" reaches the engine as "It cost five dollars in eighteen
fifty-one, said Doctor Watson" whichever way it came in, with the profile's pauses between sentences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from voxcli.book import Mark
from voxcli.engines.base import VoiceProfile
from voxcli.text.segment import fit, paragraphs, sentences

CLAUSE_PAUSE = 0.15  # seconds between the pieces of a sentence too long for the engine

Normalizer = Callable[[str, str], str]  # (text, lang) -> words an engine reads correctly
Splitter = Callable[[str, str], list[str]]  # (paragraph, lang) -> sentences


class Pronounce(Protocol):
    """Pronunciations for one engine (``voxcli.lexicon.pronounce.Pronouncer``)."""

    def speech(self, text: str, lang: str, normalize: Normalizer, marks: Sequence[Mark] = ()) -> str: ...


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


def sentence_pieces(
    text: str,
    pause: float,
    max_chars: int,
    lang: str,
    normalize: Normalizer,
    *,
    marks: Sequence[Mark] = (),
    pronounce: Pronounce | None = None,
) -> list[Piece]:
    """One sentence as pieces whose spoken form fits ``max_chars``; ``pause`` after the last, a short
    clause pause between the others. ``pronounce`` applies the lexicon; ``marks`` (offsets into
    ``text``) are the book's own pronunciations."""

    def spoken(piece: str, offset: int) -> str:
        if pronounce is None:
            return normalize(piece, lang)
        inside = [
            Mark(m.start - offset, m.end - offset, m.ipa)
            for m in marks
            if offset <= m.start and m.end <= offset + len(piece)
        ]
        return pronounce.speech(piece, lang, normalize, inside)

    fitted = fit_spoken(text, max_chars, spoken)
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
    marks: Sequence[Mark] = (),
    pronounce: Pronounce | None = None,
) -> list[Piece]:
    """One paragraph's pieces: the sentence pause after each sentence, the paragraph pause after the last.

    ``marks`` are the book's pronunciations inside ``paragraph`` (offsets into it)."""
    found = split(paragraph, profile.lang)
    pieces: list[Piece] = []
    cursor = 0
    for position, sentence in enumerate(found):
        last = position == len(found) - 1
        pause = profile.paragraph_pause if last else profile.sentence_pause
        start = paragraph.find(sentence, cursor) if marks else -1
        inside: list[Mark] = []
        if start >= 0:
            cursor = start + len(sentence)
            inside = [
                Mark(m.start - start, m.end - start, m.ipa)
                for m in marks
                if start <= m.start and m.end <= cursor
            ]
        pieces += sentence_pieces(
            sentence, pause, max_chars, profile.lang, normalize, marks=inside, pronounce=pronounce
        )
    return pieces


def speech_pieces(
    text: str,
    profile: VoiceProfile,
    max_chars: int,
    *,
    normalize: Normalizer | None = None,
    split: Splitter = sentences,
    pronounce: Pronounce | None = None,
) -> list[Piece]:
    """``text`` (paragraphs separated by blank lines) as pieces, in order, none after the last.

    Text with nothing to pronounce ("* * *") gives no piece; its pause stays with the piece before.
    """
    normalize = normalize or default_normalizer()
    pieces: list[Piece] = []
    for paragraph in paragraphs(text):
        found = paragraph_pieces(
            paragraph, profile, max_chars, normalize=normalize, split=split, pronounce=pronounce
        )
        for piece in found:
            if pronounceable(piece.speech):
                pieces.append(piece)
    if pieces:
        pieces[-1] = Piece(pieces[-1].shown, pieces[-1].speech, 0.0)
    return pieces


def pronounceable(speech: str) -> bool:
    """Whether an engine has anything to say in ``speech`` (a letter or digit)."""
    return any(ch.isalnum() for ch in speech)


def fit_spoken(text: str, max_chars: int, normalize: Callable[[str, int], str]) -> list[tuple[str, str]]:
    """(shown, spoken) pieces of a sentence whose spoken form fits ``max_chars``.

    ``normalize(piece, offset)`` is given each piece with its offset in ``text``. Normalising makes
    text longer ("1851" -> "eighteen fifty-one"), so the book text is cut, and cut again smaller,
    until every normalised piece fits.
    """
    spoken = normalize(text, 0)
    if len(spoken) <= max_chars:
        return [(text, spoken)]
    limit = max_chars
    while limit > 8:
        limit = max(8, limit * 2 // 3)
        pieces = _spoken_pieces(text, fit(text, limit), normalize)
        if all(len(s) <= max_chars for _, s in pieces):
            return pieces
    # Never reached by real text; if it is, a piece a little over the limit beats a lost word.
    return _spoken_pieces(text, fit(text, 8), normalize)


def _spoken_pieces(text: str, cut: list[str], normalize: Callable[[str, int], str]) -> list[tuple[str, str]]:
    pieces: list[tuple[str, str]] = []
    cursor = 0
    for piece in cut:
        found = text.find(piece, cursor)
        offset = found if found >= 0 else cursor
        cursor = offset + len(piece)
        pieces.append((piece, normalize(piece, offset)))
    return pieces
