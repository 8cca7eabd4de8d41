"""Pronunciations for words PocketSphinx's dictionary lacks (names, rare words), from eSpeak-NG.

eSpeak-NG (the copy Piper ships) gives IPA; this maps it onto the ARPAbet phones of PocketSphinx's
US English acoustic model. A word with a sound the table does not know gets no pronunciation (it
stays unchecked) rather than a guess.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

# Longest first where one is a prefix of another ("eɪ" before "e", "tʃ" before "t").
_IPA = {
    "eɪ": "EY", "aɪ": "AY", "ɔɪ": "OY", "aʊ": "AW", "oʊ": "OW", "əʊ": "OW", "tʃ": "CH", "dʒ": "JH",
    "ɜː": "ER", "ɑː": "AA", "ɔː": "AO", "iː": "IY", "uː": "UW", "ɪɹ": "IH R", "ɛɹ": "EH R", "ʊɹ": "UH R",
    "ɜ": "ER", "ɚ": "ER", "ɝ": "ER", "ɑ": "AA", "ɒ": "AA", "ɔ": "AO", "i": "IY", "u": "UW", "ɪ": "IH",
    "ᵻ": "IH", "ɛ": "EH", "e": "EH", "æ": "AE", "a": "AE", "ʌ": "AH", "ə": "AH", "ɐ": "AH", "ʊ": "UH",
    "o": "OW", "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "g": "G", "ɡ": "G", "f": "F", "v": "V",
    "θ": "TH", "ð": "DH", "s": "S", "z": "Z", "ʃ": "SH", "ʒ": "ZH", "h": "HH", "m": "M", "n": "N",
    "ŋ": "NG", "l": "L", "ɫ": "L", "ɹ": "R", "r": "R", "j": "Y", "w": "W", "ɾ": "D", "x": "HH",
}  # fmt: skip
_IGNORED = frozenset("ˈˌː̩ʲʔ-‿ \u0303")  # stress, length, syllabic, palatal marks, glottal stop, links
_LONGEST = max(len(k) for k in _IPA)
_lock = threading.Lock()


def arpabet(ipa: str) -> str | None:
    """``"ˈɪʃmeɪl"`` -> ``"IH SH M EY L"``; None when a sound has no ARPAbet phone here."""
    kept = "".join(ch for ch in ipa if ch not in _IGNORED or ch == "ː")
    phones: list[str] = []
    position = 0
    while position < len(kept):
        if kept[position] == "ː":
            position += 1
            continue
        for size in range(_LONGEST, 0, -1):
            found = _IPA.get(kept[position : position + size])
            if found is not None:
                phones.append(found)
                position += size
                break
        else:
            return None
    return " ".join(phones) or None


@lru_cache(maxsize=1)
def _phonemizer() -> Any:
    from piper.phonemize_espeak import EspeakPhonemizer

    return EspeakPhonemizer()


@lru_cache(maxsize=4096)
def pronounce(word: str, voice: str = "en-us") -> str | None:
    """ARPAbet phones for ``word`` (lower case, as recognisers spell it), or None."""
    try:
        with _lock:  # one eSpeak-NG per process, not reentrant
            found = _phonemizer().phonemize(voice, word)
    except Exception as exc:  # eSpeak-NG missing or failing: the word stays unchecked
        log.debug("no pronunciation for %r: %s", word, exc)
        return None
    return arpabet("".join(p for sentence in found for p in sentence))
