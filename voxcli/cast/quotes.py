"""Quoted speech in paragraphs, by the quotation conventions of the book's language.

“ ” ‘ ’ and straight quotes (English, mixed up as real books mix them), « » with or without spaces
(French, Spanish, Russian, Italian), „ “ and ‚ ‘ and » « (German, Czech, Danish), 「 」 and 『 』
(Japanese, Chinese), and dialogue dashes (a paragraph that opens with — is speech, "—dijo él—"
inside it is narration). A quote left open at the end of a paragraph runs on into the next one when
that paragraph opens with the same mark (the convention for speeches of several paragraphs).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Opening mark -> the marks that may close it, per language family.
_ENGLISH = {"“": '”"', '"': '"”', "‘": "’"}
_GUILLEMETS = {"«": "»", "“": '”"', '"': '"”'}
_GERMAN = {"„": '“"”', "‚": "‘’", "»": "«", "«": "»", '"': '"'}
_CJK = {"「": "」", "『": "』", "“": "”"}
_DASH_LANGS = frozenset(
    {"fr", "es", "ru", "it", "pt", "ca", "uk", "bg", "pl", "cs", "sk", "hu", "ro", "el", "gl", "eu"}
)
_DASHES = "—―"
_LETTER = re.compile(r"\w")
_NARRATION = re.compile(r"\s[—―–]\s?(?=[^\W\d_])")  # " —dijo", " — dit-il": narration inside a dash line


@dataclass(frozen=True)
class Quote:
    """One stretch of speech in one paragraph."""

    paragraph: int  # index in the chapter's paragraphs
    start: int  # offset of the opening mark (or dash)
    end: int  # offset just after the closing mark (or the paragraph's end)
    text_start: int  # the words spoken: [text_start, text_end)
    text_end: int
    mark: str  # the opening mark, or "—" for a dialogue dash
    closed: bool  # False: the quote runs to the end of the paragraph (and maybe on)


def marks_for(lang: str) -> dict[str, str]:
    """The opening marks of ``lang`` and what closes each."""
    code = lang.lower().replace("_", "-").split("-")[0]
    if code in ("de", "cs", "sk", "da", "sl", "hr", "lt", "et", "is"):
        return _GERMAN
    if code in ("ja", "zh", "ko"):
        return _CJK
    if code in _DASH_LANGS or code in ("no", "nb", "nn", "sv", "fi", "tr", "ar", "fa", "he"):
        return _GUILLEMETS
    return _ENGLISH


def find_quotes(paragraphs: Sequence[str], lang: str = "en") -> list[Quote]:
    """Every quote of the paragraphs, in order."""
    marks = marks_for(lang)
    dashes = lang.lower().split("-")[0] in _DASH_LANGS
    found: list[Quote] = []
    for index, paragraph in enumerate(paragraphs):
        stripped = paragraph.lstrip()
        if dashes and stripped[:1] in _DASHES:
            found += _dash_quotes(index, paragraph)
        else:
            found += _marked_quotes(index, paragraph, marks)
    return found


def _marked_quotes(index: int, text: str, marks: dict[str, str]) -> list[Quote]:
    quotes: list[Quote] = []
    position = 0
    while position < len(text):
        ch = text[position]
        if ch in marks and _opens(text, position):
            closers = marks[ch]
            close = _closing(text, position + 1, closers)
            if close is None:
                quotes.append(Quote(index, position, len(text), position + 1, len(text), ch, False))
                break
            if close > position + 1 and _LETTER.search(text, position + 1, close):
                quotes.append(Quote(index, position, close + 1, position + 1, close, ch, True))
            position = close + 1
            continue
        position += 1
    return quotes


def _opens(text: str, at: int) -> bool:
    """Whether the mark at ``at`` opens a quote: something follows it, and (for marks that also end
    words, ’ ' ") it does not sit inside or right after a word."""
    after = text[at + 1 : at + 2]
    if not after or (after.isspace() and text[at] not in "«»"):
        return False
    before = text[at - 1 : at]
    if text[at] in "‘'\"":
        return not before or not (before.isalnum() or before in ".,;:!?")
    return True


def _closing(text: str, start: int, closers: str) -> int | None:
    """Where the quote opened before ``start`` closes: the first closer that is not an apostrophe."""
    for position in range(start, len(text)):
        ch = text[position]
        if ch not in closers:
            continue
        if ch in "’'":  # an apostrophe inside a word ("don’t") or a possessive ("sailors’ ") is no closer
            after = text[position + 1 : position + 2]
            if after.isalpha():
                continue
            following = text[position + 2 : position + 3]
            if text[position - 1 : position] == "s" and after == " " and following.islower():
                continue  # "the sailors’ wives": a plural possessive
        if ch == '"' and position + 1 < len(text) and text[position - 1 : position].isspace():
            continue  # a straight quote after a space opens, it does not close
        return position
    return None


def _dash_quotes(index: int, text: str) -> list[Quote]:
    """A dialogue line: speech from the dash, narration between " —dijo él—" and the next dash."""
    quotes: list[Quote] = []
    start = len(text) - len(text.lstrip()) + 1
    position = start
    while position < len(text):
        narration = _NARRATION.search(text, position)
        end = narration.start() if narration else len(text)
        if _LETTER.search(text, position, end):
            quotes.append(Quote(index, position - 1, end, position, end, "—", True))
        if narration is None:
            break
        resume = re.search(rf"[{_DASHES}–]", text[narration.end() :])
        if resume is None:
            break
        position = narration.end() + resume.end()
        while position < len(text) and (text[position].isspace() or text[position] in ".,;:"):
            position += 1
    return quotes
