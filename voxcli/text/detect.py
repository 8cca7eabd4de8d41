"""A book's language from its own text, for plain-text and Markdown books that declare none.

py3langid (a maintained fork of langid.py: a naive Bayes model over byte n-grams for 139 languages,
shipped in the wheel) scores a sample of the book. Its probabilities are calibrated for the length
of the text (softmax at temperature sqrt(bytes)), so one threshold serves a paragraph and a book.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from typing import Any

SAMPLE_CHARS = 20_000  # the most text scored: well past where the answer stops changing
SAMPLE_WINDOWS = 5  # stretches spread over the book, so front matter is a fifth of the sample at most
MIN_LETTERS = 40  # fewer letters than this is a title or a number, not evidence of a language
# Below this the model is torn between languages: mixed text, or languages it confuses. The books of
# the test corpus score 0.96 or more; a bare heading ("Der Hund", "Sí, señor") scores under 0.4.
MIN_CONFIDENCE = 0.8
NOT_LANGUAGE = "zxx"  # py3langid's class for numbers, markup and identifiers
# Written varieties that the engines voice as their macrolanguage (eSpeak-NG, Piper and Kokoro have one
# Arabic, and Mandarin for Chinese): their probability joins that language's. Cantonese (yue) stays
# apart: it is written with characters of its own, and eSpeak-NG speaks it.
_MACROLANGUAGE = {"ary": "ar", "arz": "ar", "wuu": "zh"}
_SNAP = 64  # how far a window's edge may move to fall between words


@dataclass(frozen=True)
class Detected:
    """The language a text is written in, as the detector sees it."""

    lang: str  # BCP 47 primary language subtag: "fr", "ja", "nl", "grc"
    confidence: float  # the detector's probability for ``lang``, 0..1


def detect_language(text: str) -> Detected | None:
    """The language of ``text`` (a whole book's text or a part of it), or None when the text is too
    short (under :data:`MIN_LETTERS` letters) or the detector is unsure (under :data:`MIN_CONFIDENCE`).

    A Project Gutenberg header and licence are left out: they are English whatever the book is.
    """
    # The plain-text reader's own rule for the boilerplate; imported here as the model is, so that
    # importing this module stays cheap.
    from voxcli.ingest.text import strip_gutenberg

    _, body = strip_gutenberg(text)
    sample = sample_text(body)
    if sum(ch.isalpha() for ch in sample) < MIN_LETTERS:
        return None
    scores: dict[str, float] = {}
    ranked: list[tuple[str, float]] = _identifier().rank(sample)
    for label, probability in ranked:
        lang = _MACROLANGUAGE.get(label, label)
        scores[lang] = scores.get(lang, 0.0) + probability
    lang, confidence = max(scores.items(), key=lambda item: item[1])
    if lang == NOT_LANGUAGE or confidence < MIN_CONFIDENCE:
        return None
    return Detected(lang=lang, confidence=min(confidence, 1.0))


def sample_text(text: str, limit: int = SAMPLE_CHARS, windows: int = SAMPLE_WINDOWS) -> str:
    """At most ``limit`` characters of ``text``: all of it when it is short, else ``windows`` equal
    stretches centred at even intervals (not the start, where the title page and contents are)."""
    if len(text) <= limit:
        return text
    width = limit // windows
    parts = []
    for n in range(windows):
        centre = len(text) * (2 * n + 1) // (2 * windows)
        start, end = centre - width // 2, centre + width // 2
        parts.append(text[_after_space(text, start) : _before_space(text, end)])
    return "\n".join(parts)


def _after_space(text: str, at: int) -> int:
    """``at``, moved forward past the next whitespace when one is near (not in unspaced scripts)."""
    for i in range(at, min(at + _SNAP, len(text))):
        if text[i].isspace():
            return i + 1
    return at


def _before_space(text: str, at: int) -> int:
    """``at``, moved back to the whitespace before it when one is near."""
    for i in range(at - 1, max(at - _SNAP, 0) - 1, -1):
        if text[i].isspace():
            return i
    return at


@functools.cache
def _identifier() -> Any:
    """py3langid's model with probabilities, kept until :func:`release_model` (about a second to load,
    about 100 MB held)."""
    import lzma

    import numpy as np
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
    from py3langid.modelio import _to_array

    # py3langid's own loader unpacks the model into a temporary file (68 MB); on a full disk, or under a
    # file-size limit, that fails before the book is even read. Unpacked in memory, the peak is about
    # 65 MB higher for the second it takes, before any engine is loaded.
    with lzma.open(MODEL_DIR / MODEL_FILE) as packed:
        unpacked = io.BytesIO(packed.read())
    with np.load(unpacked, allow_pickle=False) as data:
        return LanguageIdentifier(
            np.asarray(data["ptc"]),
            np.asarray(data["pc"]),
            data["classes"].tolist(),
            _to_array(data["nextmove"]),
            data["out_feat"].tolist(),
            norm_probs=True,
            tk_row=_to_array(data["nextmove_row"]),
        )


def release_model() -> None:
    """Let the detector's model go: a conversion needs it once, before the engine loads."""
    _identifier.cache_clear()
