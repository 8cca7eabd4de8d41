"""Text to speakable pieces: paragraphs, sentences, and chunks within an engine's limit.

Nothing is dropped: the words of the chunks, in order, are exactly the words of the text.
"""

from __future__ import annotations

import re
import threading
from typing import Any

# Where a long sentence may be cut, best first: after clause punctuation, then at any space.
_CLAUSE_END = re.compile(r"(?<=[,;:\u2014\u2013)\]])\s+|\s+(?=[\u2014\u2013(\[])")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, with their inner whitespace collapsed."""
    return [" ".join(block.split()) for block in _PARAGRAPH_BREAK.split(text) if block.strip()]


_local = threading.local()


def _segmenter(lang: str) -> Any:
    """This thread's pysbd segmenter for ``lang``.

    One per thread: ``Segmenter.segment`` keeps the text it is given on the instance and reads it back,
    so a segmenter shared by the server's threads handed one request's sentences another's text.
    """
    made: dict[str, Any] = _local.__dict__.setdefault("segmenters", {})
    if lang not in made:
        import pysbd
        from pysbd.languages import LANGUAGE_CODES

        code = lang.lower().replace("_", "-").split("-")[0]
        made[lang] = pysbd.Segmenter(language=code if code in LANGUAGE_CODES else "en", clean=False)
    return made[lang]


def sentences(paragraph: str, lang: str = "en") -> list[str]:
    """The sentences of one paragraph (pysbd, in the paragraph's language when it knows it)."""
    found = [part.strip() for part in _segmenter(lang).segment(paragraph)]
    return [part for part in found if part]


def fit(sentence: str, max_chars: int) -> list[str]:
    """Cut a sentence into pieces of at most ``max_chars``: at clauses, then words, then anywhere."""
    if len(sentence) <= max_chars:
        return [sentence]
    pieces: list[str] = []
    for clause in _CLAUSE_END.split(sentence):
        for part in _pack(clause.split(" "), max_chars, " "):
            pieces.extend(_hard_cut(part, max_chars))
    return _pack(pieces, max_chars, " ")


def _pack(parts: list[str], max_chars: int, sep: str) -> list[str]:
    """Greedily join consecutive parts while the result stays within ``max_chars``."""
    packed: list[str] = []
    for part in (p for p in parts if p):
        if packed and len(packed[-1]) + len(sep) + len(part) <= max_chars:
            packed[-1] += sep + part
        else:
            packed.append(part)
    return packed


def _hard_cut(word: str, max_chars: int) -> list[str]:
    return [word[i : i + max_chars] for i in range(0, len(word), max_chars)]


def speech_units(text: str, lang: str, max_chars: int) -> list[list[str]]:
    """Paragraphs, each a list of chunks (sentences, or pieces of long ones) within ``max_chars``."""
    units: list[list[str]] = []
    for paragraph in paragraphs(text):
        chunks = [piece for sentence in sentences(paragraph, lang) for piece in fit(sentence, max_chars)]
        if chunks:
            units.append(chunks)
    return units
