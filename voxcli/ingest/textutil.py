"""Small text helpers shared by the readers."""

from __future__ import annotations

import codecs
import re
import unicodedata

# Characters that render as nothing or as a plain space and only confuse speech engines.
# (A regular expression: str.translate with a dict costs a lookup per character, 15 times slower.)
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_SPACES = re.compile(r"[\s\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def clean_inline(text: str) -> str:
    """NFC-normalise, drop invisible characters and collapse all whitespace to single spaces."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    return _SPACES.sub(" ", text).strip()


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


# In French, German or Spanish text at most about a tenth of the letters are accented; text in
# another script decoded as cp1252 is mostly accented-looking letters.
WESTERN_NON_ASCII_SHARE = 0.3


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode plain text of unknown encoding; returns (text, encoding used).

    A byte-order mark wins, then strict UTF-8, then cp1252 for text that reads as a Western
    language in it (charset detectors often pick cp1250 for short French or German), then
    charset-normalizer's best guess, and finally latin-1, which decodes anything.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace"), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        western = data.decode("cp1252")
    except UnicodeDecodeError:
        western = ""
    letters = [c for c in western if c.isalpha()]
    if letters and sum(not c.isascii() for c in letters) / len(letters) < WESTERN_NON_ASCII_SHARE:
        return western, "cp1252"
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None and best.encoding:
        return str(best), best.encoding
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def normalise_newlines(text: str) -> str:
    """CRLF and lone CR become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")
