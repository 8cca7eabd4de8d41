"""Words as recognisers spell them: lower case, letters, digits and inner apostrophes."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def words(text: str) -> list[str]:
    """``"Dr. O'Brien's forty-two cats!"`` -> ``["dr", "o'brien's", "forty", "two", "cats"]``."""
    clean = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'").lower()
    return _WORD.findall(clean)
