"""Words as recognisers spell them: lower case, letters, digits and inner apostrophes."""

from __future__ import annotations

import re
import unicodedata

from voxcli.text.markup import plain

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# Chinese and Japanese are written without spaces: each character counts as a word (so the word error
# rate there is the character error rate).
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")


def words(text: str) -> list[str]:
    """``"Dr. O'Brien's forty-two cats!"`` -> ``["dr", "o'brien's", "forty", "two", "cats"]``.

    Phonemes in the text (``[Queequeg](/ˈkwiːkwɛɡ/)``) are left out: only the words they say count.
    """
    clean = unicodedata.normalize("NFKC", plain(text)).replace("\u2019", "'").replace("\u2018", "'").lower()
    return _WORD.findall(_UNSPACED.sub(r" \g<0> ", clean))
