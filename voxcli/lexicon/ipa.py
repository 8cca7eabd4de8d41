"""Pronunciations between alphabets: IPA cut into symbols, X-SAMPA to IPA, English IPA to eSpeak-NG
phoneme mnemonics and to a respelling an engine without phoneme input can read.

The English conversions read US and UK IPA as real lexicons write it (``ɹ`` or ``r``, ``ɡ`` or ``g``,
``y`` for ``j``, ``ɚ``/``ɝ``/``ɜr``/``ər``, long marks or none) into one list of English phonemes, then
spell that list for the target.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace

PRIMARY = "ˈ"
SECONDARY = "ˌ"
SYLLABLE_BREAK = "."

# ---------------------------------------------------------------------------------------------------
# IPA symbols

_OWN_ITEMS = frozenset("ˈˌ.|‖‿")  # prosodic marks that stand alone (whitespace too)
# Spacing modifier letters that belong to the letter before them, like combining marks do.
_MODIFIERS = frozenset("ːˑʰʷʲˠˤ˞ʼⁿˡˀ˭")
_TIE_BARS = frozenset("\u0361\u035c")
_AFFRICATES = ("tʃ", "dʒ", "ts")


def _is_mark(ch: str) -> bool:
    """A character that attaches to the letter before it (combining diacritic or modifier letter)."""
    return unicodedata.category(ch) == "Mn" or ch in _MODIFIERS


def symbols(ipa: str) -> list[str]:
    """IPA cut into phoneme symbols: a base letter with its diacritics/length marks/tie bars (t͡ʃ, aː,
    ɾ̃), affricates tʃ dʒ ts as one, stress marks ˈ ˌ and syllable dot . and spaces as their own items.

    A run of whitespace is one ``" "`` item. A mark with no letter before it is an item of its own.
    """
    out: list[str] = []
    i, n = 0, len(ipa)
    while i < n:
        ch = ipa[i]
        if ch.isspace():
            while i < n and ipa[i].isspace():
                i += 1
            out.append(" ")
            continue
        if ch in _OWN_ITEMS:
            out.append(ch)
            i += 1
            continue
        width = 2 if ipa[i : i + 2] in _AFFRICATES else 1
        j = i + width
        while j < n and _is_mark(ipa[j]):
            j += 1
            if ipa[j - 1] in _TIE_BARS and j < n and not ipa[j].isspace() and ipa[j] not in _OWN_ITEMS:
                j += 1  # the letter the tie bar joins
        out.append(ipa[i:j])
        i = j
    return out


def unknown_symbols(ipa: str, accepted: Iterable[str]) -> list[str]:
    """The symbols of ``ipa`` (stress marks and spaces aside) an engine whose phoneme inventory is
    ``accepted`` (a set of single characters or multi-char symbols) cannot take, in order, without
    repeats. Used to validate lexicon entries against a Piper voice's phoneme_id_map or Kokoro's vocab,
    which are sets of single code points: a symbol is accepted when all its code points are."""
    inventory = frozenset(accepted)
    missing: list[str] = []
    for sym in symbols(ipa):
        if sym in (PRIMARY, SECONDARY, " ") or sym in inventory or all(ch in inventory for ch in sym):
            continue
        if sym not in missing:
            missing.append(sym)
    return missing


# ---------------------------------------------------------------------------------------------------
# X-SAMPA (J. C. Wells, "Computer-coding the IPA: a proposed extension of SAMPA", 1995/2000)

XSAMPA_TO_IPA: dict[str, str] = {
    # lower case
    "a": "a", "b": "b", "b_<": "ɓ", "c": "c", "d": "d", "d`": "ɖ", "d_<": "ɗ", "e": "e", "f": "f",
    "g": "ɡ", "g_<": "ɠ", "h": "h", "h\\": "ɦ", "i": "i", "j": "j", "j\\": "ʝ", "k": "k", "l": "l",
    "l`": "ɭ", "l\\": "ɺ", "m": "m", "n": "n", "n`": "ɳ", "o": "o", "p": "p", "p\\": "ɸ", "q": "q",
    "r": "r", "r`": "ɽ", "r\\": "ɹ", "r\\`": "ɻ", "s": "s", "s`": "ʂ", "s\\": "ɕ", "t": "t", "t`": "ʈ",
    "u": "u", "v": "v", "v\\": "ʋ", "w": "w", "x": "x", "x\\": "ɧ", "y": "y", "z": "z", "z`": "ʐ",
    "z\\": "ʑ",
    # upper case
    "A": "ɑ", "B": "β", "B\\": "ʙ", "C": "ç", "D": "ð", "E": "ɛ", "F": "ɱ", "G": "ɣ", "G\\": "ɢ",
    "G\\_<": "ʛ", "H": "ɥ", "H\\": "ʜ", "I": "ɪ", "I\\": "ᵻ", "J": "ɲ", "J\\": "ɟ", "J\\_<": "ʄ",
    "K": "ɬ", "K\\": "ɮ", "L": "ʎ", "L\\": "ʟ", "M": "ɯ", "M\\": "ɰ", "N": "ŋ", "N\\": "ɴ", "O": "ɔ",
    "O\\": "ʘ", "P": "ʋ", "Q": "ɒ", "R": "ʁ", "R\\": "ʀ", "S": "ʃ", "T": "θ", "U": "ʊ", "U\\": "ᵿ",
    "V": "ʌ", "W": "ʍ", "X": "χ", "X\\": "ħ", "Y": "ʏ", "Z": "ʒ",
    # other symbols
    ".": ".", '"': "ˈ", "%": "ˌ", "'": "ʲ", ":": "ː", ":\\": "ˑ", "@": "ə", "@\\": "ɘ", "@`": "ɚ",
    "{": "æ", "}": "ʉ", "1": "ɨ", "2": "ø", "3": "ɜ", "3\\": "ɞ", "3`": "ɝ", "4": "ɾ", "5": "ɫ",
    "6": "ɐ", "7": "ɤ", "8": "ɵ", "9": "œ", "&": "ɶ", "?": "ʔ", "?\\": "ʕ", "<\\": "ʢ", ">\\": "ʡ",
    "^": "ꜛ", "!": "ꜜ", "!\\": "ǃ", "|": "|", "||": "‖", "|\\": "ǀ", "|\\|\\": "ǁ", "=\\": "ǂ",
    "-\\": "‿", "<F>": "↘", "<R>": "↗",
    # diacritics
    '_"': "\u0308", "_+": "\u031f", "_-": "\u0320", "_/": "\u030c", "_0": "\u0325", "=": "\u0329",
    "_=": "\u0329", "_>": "ʼ", "_?\\": "ˤ", "_\\": "\u0302", "_^": "\u032f", "_}": "\u031a", "`": "˞",
    "~": "\u0303", "_~": "\u0303", "_A": "\u0318", "_a": "\u033a", "_B": "\u030f", "_B_L": "\u1dc5",
    "_c": "\u031c", "_d": "\u032a", "_e": "\u0334", "_F": "\u0302", "_G": "ˠ", "_H": "\u0301",
    "_H_T": "\u1dc4", "_h": "ʰ", "_j": "ʲ", "_k": "\u0330", "_L": "\u0300", "_l": "ˡ", "_M": "\u0304",
    "_m": "\u033b", "_N": "\u033c", "_n": "ⁿ", "_O": "\u0339", "_o": "\u031e", "_q": "\u0319",
    "_R": "\u030c", "_R_F": "\u1dc8", "_r": "\u031d", "_T": "\u030b", "_t": "\u0324", "_v": "\u032c",
    "_w": "ʷ", "_X": "\u0306", "_x": "\u033d",
}  # fmt: skip
_XSAMPA_LONGEST = max(map(len, XSAMPA_TO_IPA))
_TIE = "\u0361"

# IPA -> X-SAMPA: the first X-SAMPA spelling of each IPA string above (P, _=, _~, _j, _R, _F lose).
IPA_TO_XSAMPA: dict[str, str] = {}
for _xs, _ip in XSAMPA_TO_IPA.items():
    IPA_TO_XSAMPA.setdefault(_ip, _xs)
IPA_TO_XSAMPA.update({"g": "g", "ʲ": "_j", "\u0361": "_", "\u035c": "_", " ": " "})
_IPA_LONGEST = max(map(len, IPA_TO_XSAMPA))


def xsampa_to_ipa(xsampa: str) -> str:
    """X-SAMPA (as used by W3C PLS lexicons, alphabet="x-sampa") to IPA: the full X-SAMPA table incl.
    backslash symbols (r\\ -> ɹ, 4 -> ɾ, @\\ ...), diacritics with _ (e.g. _h ʰ, _~ ̃ ), " -> ˈ,
    % -> ˌ, : -> ː. Raise ValueError naming an unknown symbol.

    ``_`` before something that is not a diacritic is the tie bar (``t_S`` -> t͡ʃ); ``-`` only
    separates (``t-S`` -> tʃ as two sounds); whitespace stays.
    """
    out: list[str] = []
    i, n = 0, len(xsampa)
    while i < n:
        ch = xsampa[i]
        if ch.isspace():
            out.append(ch)
            i += 1
            continue
        for width in range(min(_XSAMPA_LONGEST, n - i), 0, -1):
            ipa = XSAMPA_TO_IPA.get(xsampa[i : i + width])
            if ipa is not None:
                if xsampa[i + width : i + width + 1] == "\\":  # no key is followed by a backslash
                    raise ValueError(f"unknown X-SAMPA symbol {xsampa[i : i + width + 1]!r} in {xsampa!r}")
                out.append(ipa)
                i += width
                break
        else:
            if ch == "_" and 0 < i < n - 1 and not xsampa[i + 1].isspace():
                out.append(_TIE)
            elif ch != "-":
                end = i + 1
                while end < n and xsampa[end] == "\\":
                    end += 1
                raise ValueError(f"unknown X-SAMPA symbol {xsampa[i:end]!r} in {xsampa!r}")
            i += 1
    return "".join(out)


def ipa_to_xsampa(ipa: str) -> str:
    """IPA to X-SAMPA, the inverse of :func:`xsampa_to_ipa` for the symbols of its table (``ɡ`` and
    ``g`` both become ``g``). Raise ValueError naming an IPA character X-SAMPA has no code for."""
    out: list[str] = []
    i, n = 0, len(ipa)
    while i < n:
        for width in range(min(_IPA_LONGEST, n - i), 0, -1):
            xs = IPA_TO_XSAMPA.get(ipa[i : i + width])
            if xs is not None:
                if _joins_in_xsampa("".join(out), xs):
                    out.append("-")  # t + ˞ is t-` (t` is ʈ), ə + ˞ is @-` (@` is ɚ)
                out.append(xs)
                i += width
                break
        else:
            raise ValueError(f"no X-SAMPA for {ipa[i]!r} (U+{ord(ipa[i]):04X}) in {ipa!r}")
    return "".join(out)


def _joins_in_xsampa(before: str, code: str) -> bool:
    """Whether the end of ``before`` and the start of ``code`` would read as one X-SAMPA symbol."""
    for size in range(1, min(len(before), _XSAMPA_LONGEST - 1) + 1):
        tail = before[-size:]
        if any(len(k) > size and k.startswith(tail) and (tail + code).startswith(k) for k in XSAMPA_TO_IPA):
            return True
    return False


# ---------------------------------------------------------------------------------------------------
# English IPA read into phonemes

# Characters lexicons write for the same English sound. ``y`` is ``j`` (W3C lexicons: ˈkyubɛb), ``˞``
# is r-colouring (ə˞ = ɚ), ASCII ' and : stand for ˈ and ː.
_ENGLISH_SPELLINGS = {
    "r": "ɹ", "ɻ": "ɹ", "g": "ɡ", "y": "j", "ɫ": "l", "'": "ˈ", ":": "ː", "ǝ": "ə", "ʧ": "tʃ",
    "ʤ": "dʒ", "ʦ": "ts", "˞": "ɹ", "ε": "ɛ", "\u030d": "\u0329", "ɩ": "ɪ", "ɷ": "ʊ",
}  # fmt: skip
_SYLLABIC = "\u0329"
_NASAL = "\u0303"
_ASPIRATED = "ʰ"
_LONG = "ː"

# English phonemes, by the IPA spellings lexicons use for them. Keys are matched longest first on
# whole symbols; values are the phoneme's name used by the tables below. A vowel plus ɹ (``ɑɹ``)
# is the r-coloured vowel only where no vowel follows the ɹ (``ˈsɑɹi`` is ɑ + ɹ).
_ENGLISH_VOWELS = {
    "i": "i", "iː": "iː", "ɪ": "ɪ", "ɪː": "iː", "e": "ɛ", "ɛ": "ɛ", "eː": "ɛə", "ɛː": "ɛə", "æ": "æ",
    "æː": "æ", "a": "æ", "aː": "ɑː", "ɑ": "ɑː", "ɑː": "ɑː", "ɒ": "ɒ", "ɒː": "ɔː", "ɔ": "ɔ", "ɔː": "ɔː",
    "o": "oʊ", "oː": "oː", "ʊ": "ʊ", "u": "uː", "uː": "uː", "ʉ": "uː", "ʉː": "uː", "ʌ": "ʌ", "ə": "ə",
    "əː": "ɜː", "ɐ": "ɐ", "ᵻ": "ᵻ", "ɨ": "ᵻ", "ɵ": "ə", "ᵿ": "ʊ", "ɜ": "ɜː", "ɜː": "ɜː", "ɝ": "ɜː",
    "ɝː": "ɜː", "ɚ": "ɚ",
    "eɪ": "eɪ", "ɛɪ": "eɪ", "aɪ": "aɪ", "ɑɪ": "aɪ", "ʌɪ": "aɪ", "ɔɪ": "ɔɪ", "oɪ": "ɔɪ",
    "oʊ": "oʊ", "əʊ": "oʊ", "əʉ": "oʊ", "ɵʊ": "oʊ", "ou": "oʊ", "aʊ": "aʊ", "æʊ": "aʊ", "ɑʊ": "aʊ",
    "au": "aʊ", "ɪə": "ɪə", "ɛə": "ɛə", "eə": "ɛə", "ʊə": "ʊə",
    "ɑ" + _NASAL: "ɑ̃", "ɒ" + _NASAL: "ɔ̃", "ɔ" + _NASAL: "ɔ̃", "o" + _NASAL: "ɔ̃",
    "n" + _SYLLABIC: "n̩", "m" + _SYLLABIC: "m̩", "l" + _SYLLABIC: "l̩", "ɹ" + _SYLLABIC: "ɚ",
}  # fmt: skip
_RHOTIC_VOWELS = {
    "ɑɹ": "ɑːɹ", "ɑːɹ": "ɑːɹ", "aɹ": "ɑːɹ", "aːɹ": "ɑːɹ", "ɔɹ": "ɔːɹ", "ɔːɹ": "ɔːɹ", "ɒɹ": "ɔːɹ",
    "oɹ": "oːɹ", "oːɹ": "oːɹ", "oʊɹ": "oːɹ", "ɛɹ": "ɛəɹ", "eɹ": "ɛəɹ", "ɛəɹ": "ɛəɹ", "eəɹ": "ɛəɹ",
    "ɛːɹ": "ɛəɹ", "eːɹ": "ɛəɹ", "ɪɹ": "ɪəɹ", "iɹ": "ɪəɹ", "iːɹ": "ɪəɹ", "ɪəɹ": "ɪəɹ", "ʊɹ": "ʊəɹ",
    "uɹ": "ʊəɹ", "uːɹ": "ʊəɹ", "ʊəɹ": "ʊəɹ", "ɜɹ": "ɜː", "ɜːɹ": "ɜː", "ɝɹ": "ɜː", "əɹ": "ɚ", "ʌɹ": "ɜː",
    "ɚɹ": "ɚ",
}  # fmt: skip
_ENGLISH_CONSONANTS = {
    "p": "p", "b": "b", "t": "t", "d": "d", "k": "k", "ɡ": "ɡ", "f": "f", "v": "v", "θ": "θ", "ð": "ð",
    "s": "s", "z": "z", "ʃ": "ʃ", "ʒ": "ʒ", "h": "h", "ɦ": "h", "m": "m", "n": "n", "ŋ": "ŋ", "l": "l",
    "ɹ": "ɹ", "ɾ": "ɾ", "ɾ" + _NASAL: "n", "t" + _ASPIRATED: "tʰ", "w": "w", "ʍ": "ʍ", "j": "j",
    "tʃ": "tʃ", "dʒ": "dʒ", "ts": "ts", "ʔ": "ʔ", "x": "x", "χ": "x", "ɬ": "l",
}  # fmt: skip
_ENGLISH_UNITS = {**_ENGLISH_CONSONANTS, **_ENGLISH_VOWELS}
_UNIT_LONGEST = 3  # symbols in the longest key (ɛəɹ, oʊɹ)

# Marks that change nothing an English voice can say (aspiration, dental, voicing, non-syllabic ...).
_KEPT_MARKS = frozenset((_LONG, _SYLLABIC, _NASAL, _ASPIRATED))
_VOWEL_LETTERS = frozenset("iyɨʉɯuɪʏʊeøɘɵɤoəɛœɜɞʌɔæɐaɶɑɒɚɝᵻᵿ")
_NUCLEI = frozenset(_ENGLISH_VOWELS.values()) | frozenset(_RHOTIC_VOWELS.values())
_OBSTRUENTS = frozenset(
    ("p", "b", "t", "tʰ", "d", "k", "ɡ", "f", "v", "θ", "ð", "s", "z", "ʃ", "ʒ", "h", "tʃ", "dʒ", "ts",
     "ʔ", "ɾ", "x")
)  # fmt: skip


@dataclass(frozen=True)
class _Phone:
    name: str  # a value of _ENGLISH_UNITS / _RHOTIC_VOWELS
    stress: int = 0  # 1 primary, 2 secondary (vowels only)
    starts_syllable: bool = False  # a syllable dot or a stress mark stood just before it

    @property
    def nucleus(self) -> bool:
        return self.name in _NUCLEI


def _clean(sym: str) -> str:
    """An English symbol without the marks that do not matter to English, tie bars dropped."""
    base = sym[0]
    return base + "".join(ch for ch in sym[1:] if ch in _KEPT_MARKS or not _is_mark(ch))


def _is_vowel_symbol(sym: str) -> bool:
    return sym[0] in _VOWEL_LETTERS or _SYLLABIC in sym


def _english_words(ipa: str) -> list[list[_Phone]] | None:
    """English IPA as words of phonemes; None when a symbol is not an English sound."""
    text = "".join(_ENGLISH_SPELLINGS.get(ch, ch) for ch in unicodedata.normalize("NFD", ipa))
    syms = [_clean(s) for s in symbols(text)]
    words: list[list[_Phone]] = [[]]
    stress, boundary = 0, False
    i = 0
    while i < len(syms):
        sym = syms[i]
        if sym == " ":
            words.append([])
            stress, boundary, i = 0, False, i + 1
            continue
        if sym in (PRIMARY, SECONDARY, SYLLABLE_BREAK, "|", "‖", "‿"):
            stress = {PRIMARY: 1, SECONDARY: 2}.get(sym, stress)
            boundary, i = sym != "‿", i + 1
            continue
        found = _match_unit(syms, i)
        if found is None:
            return None
        name, width = found
        phone = _Phone(name, starts_syllable=boundary)
        if phone.nucleus and stress:
            phone, stress = replace(phone, stress=stress), 0
        words[-1].append(phone)
        boundary, i = False, i + width
    return [_syllabic_sonorants(w) for w in words if w]


def _match_unit(syms: list[str], i: int) -> tuple[str, int] | None:
    """The English phoneme at ``syms[i]``, and how many symbols it takes."""
    for width in range(min(_UNIT_LONGEST, len(syms) - i), 0, -1):
        key = "".join(syms[i : i + width])
        rhotic = _RHOTIC_VOWELS.get(key)
        if rhotic is not None and not _vowel_follows(syms, i + width):
            return rhotic, width
        plain = key.replace(_NASAL, "").replace(_ASPIRATED, "")
        forms = (key, plain) if width > 1 else (key, plain.rstrip(_LONG))
        for form in forms:
            name = _ENGLISH_UNITS.get(form)
            if name is not None:
                return name, width
    return None


def _vowel_follows(syms: list[str], i: int) -> bool:
    """Whether the next sound at or after ``syms[i]`` in the word is a vowel (marks skipped)."""
    while i < len(syms) and syms[i] in (PRIMARY, SECONDARY, SYLLABLE_BREAK):
        i += 1
    return i < len(syms) and _is_vowel_symbol(syms[i])


def _syllabic_sonorants(word: list[_Phone]) -> list[_Phone]:
    """Plain n, l, m that make a syllable of their own (ˈkæntn, ˈbɒtl): after an obstruent, with no
    vowel after them."""
    out = list(word)
    for k, phone in enumerate(out):
        after_obstruent = k > 0 and out[k - 1].name in _OBSTRUENTS
        if phone.name in ("n", "l", "m") and after_obstruent and not any(p.nucleus for p in out[k + 1 :]):
            out[k] = replace(phone, name=phone.name + _SYLLABIC)
    return out


# ---------------------------------------------------------------------------------------------------
# eSpeak-NG mnemonics (phsource/ph_english, ph_english_us)

_ESPEAK = {
    "p": "p", "b": "b", "t": "t", "d": "d", "k": "k", "ɡ": "g", "f": "f", "v": "v", "θ": "T", "ð": "D",
    "s": "s", "z": "z", "ʃ": "S", "ʒ": "Z", "h": "h", "m": "m", "n": "n", "ŋ": "N", "l": "l", "ɹ": "r",
    "ɾ": "t#", "tʰ": "t2", "w": "w", "ʍ": "w", "j": "j", "tʃ": "tS", "dʒ": "dZ", "ts": "ts", "ʔ": "?",
    "x": "x", "n̩": "n-", "m̩": "m-", "l̩": "@L",
    "i": "i", "iː": "i:", "ɪ": "I", "eɪ": "eI", "ɛ": "E", "æ": "a", "ɑː": "A:", "ɒ": "0", "ɔ": "O2",
    "ɔː": "O:", "oʊ": "oU", "oː": "o:", "ʊ": "U", "uː": "u:", "ʌ": "V", "ə": "@", "ɐ": "a#", "ᵻ": "I#",
    "ɜː": "3:", "ɚ": "3", "aɪ": "aI", "aʊ": "aU", "ɔɪ": "OI", "ɪə": "i@", "ɛə": "e@", "ʊə": "U@",
    "ɑ̃": "A~", "ɔ̃": "O~", "ɑːɹ": "A@", "ɔːɹ": "O@", "oːɹ": "o@", "ɛəɹ": "e@", "ɪəɹ": "i@3", "ʊəɹ": "U@",
}  # fmt: skip
# eSpeak reads [[...]] greedily, longest mnemonic first; these are its English ones longer than a
# character. Two mnemonics written together that read as a third get a "|" between them.
_ESPEAK_LONG = frozenset(
    (
        "0#", "02", "3:", "@-", "@2", "@5", "@L", "A#", "A:", "A@", "A~", "E#", "E2", "I#", "I2", "I2#",
        "IR", "N-", "O2", "O:", "O@", "OI", "O~", "R2", "R3", "U@", "VR", "a#", "a#2", "a2", "aI", "aI3",
        "aI@", "aU", "aU@", "aa", "d#", "dZ", "e#", "e:", "e@", "eI", "i:", "i@", "i@3", "l#", "l-", "m-",
        "n-", "o:", "o@", "oU", "oU#", "r-", "r/", "t#", "t2", "tS", "u:", "w#", "z#"
    )
)  # fmt: skip
_ESPEAK_SAME_JOINED = frozenset(("aI@", "aI3", "i@"))  # aɪ+ə, aɪ+ɚ, i+ə: the joined one is the same


def ipa_to_espeak(ipa: str, lang: str = "en") -> str | None:
    """English IPA to eSpeak-NG phoneme mnemonics, the alphabet eSpeak-NG reads inside [[...]] in text
    input (e.g. ˈkwiːkwɛɡ -> kw'i:kwEg); None when a symbol has no English eSpeak-NG phoneme, or
    ``lang`` is not English.

    Stress: the IPA's ˈ/ˌ may stand before the syllable (ˈkwiːk) or the vowel (kwˈiːk); the mnemonics
    put ' and , just before the stressed vowel, as ``espeak-ng -x`` writes them (eSpeak takes either).
    ``t`` is eSpeak's t, which the American voice flaps between vowels as speakers do (ˈθɜrti, as
    lexicons write it); ``ɾ`` is the flap (t#) and an aspirated ``tʰ`` a t that never flaps (t2).
    """
    if not lang.lower().replace("_", "-").startswith("en"):
        return None
    words = _english_words(ipa)
    if words is None:
        return None
    return " ".join(_espeak_word(w) for w in words)


def _espeak_word(word: list[_Phone]) -> str:
    codes: list[str] = []  # one mnemonic per phoneme, stress mark in front of vowels
    k = 0
    while k < len(word):
        phone = word[k]
        code = _ESPEAK[phone.name]
        after = word[k + 1] if k + 1 < len(word) else None
        if phone.name in ("i", "iː") and after is not None and after.name == "ə" and not after.stress:
            code, k = "i@", k + 1  # eSpeak's own spelling of iə (aɪˈdiə -> aId'i@)
        elif phone.name == "i" and phone.stress:
            code = "i:"
        elif phone.name == "ə" and after is not None and after.name == "l" and not _nucleus_next(word, k + 2):
            code, k = "@L", k + 1  # eSpeak's syllabic l (ˈpiːpəl -> p'i:p@L)
        if phone.stress:
            code = ("'" if phone.stress == 1 else ",") + code
        codes.append(code)
        k += 1
    out = ""
    for code in codes:
        if out and _joins_into_other(out, code):
            out += "|"
        out += code
    return out


def _nucleus_next(word: list[_Phone], k: int) -> bool:
    return k < len(word) and word[k].nucleus


def _joins_into_other(before: str, code: str) -> bool:
    """Whether eSpeak would read the end of ``before`` and the start of ``code`` as one mnemonic."""
    if code[0] in "',":
        return False
    formed = {
        m
        for size in (1, 2, 3)
        for m in _ESPEAK_LONG
        if len(m) > size and m.startswith(before[-size:]) and (before[-size:] + code).startswith(m)
    }
    return bool(formed - _ESPEAK_SAME_JOINED)


# ---------------------------------------------------------------------------------------------------
# Respelling (after the pronunciation respelling keys of English dictionaries and Wikipedia)

# vowel -> (spelling in an open syllable, spelling before a consonant of its own syllable)
_RESPELL_VOWELS = {
    "i": ("ee", "ee"), "iː": ("ee", "ee"), "ɪ": ("ih", "i"), "ᵻ": ("ih", "i"), "eɪ": ("ay", "ay"),
    "ɛ": ("eh", "e"), "æ": ("a", "a"), "ɑː": ("ah", "ah"), "ɒ": ("ah", "o"), "ɔ": ("aw", "aw"),
    "ɔː": ("aw", "aw"), "oʊ": ("oh", "oh"), "oː": ("oh", "oh"), "ʊ": ("uu", "uu"), "uː": ("oo", "oo"),
    "ʌ": ("uh", "u"), "ə": ("uh", "u"), "ɐ": ("uh", "u"), "ɜː": ("ur", "ur"), "ɚ": ("ur", "ur"),
    "aɪ": ("y", "y"), "aʊ": ("ow", "ou"), "ɔɪ": ("oy", "oy"), "ɪə": ("eer", "eer"),
    "ɛə": ("air", "air"), "ʊə": ("oor", "oor"), "ɑ̃": ("ahn", "ahn"), "ɔ̃": ("awn", "awn"),
    "ɑːɹ": ("ar", "ar"), "ɔːɹ": ("or", "or"), "oːɹ": ("or", "or"), "ɛəɹ": ("air", "air"),
    "ɪəɹ": ("eer", "eer"), "ʊəɹ": ("oor", "oor"), "n̩": ("un", "un"), "m̩": ("um", "um"),
    "l̩": ("ull", "ull"),
}  # fmt: skip
_RESPELL_CONSONANTS = {
    "p": "p", "b": "b", "t": "t", "d": "d", "k": "k", "ɡ": "g", "f": "f", "v": "v", "θ": "th",
    "ð": "th", "s": "s", "z": "z", "ʃ": "sh", "ʒ": "zh", "h": "h", "m": "m", "n": "n", "ŋ": "ng",
    "l": "l", "ɹ": "r", "ɾ": "t", "tʰ": "t", "w": "w", "ʍ": "wh", "j": "y", "tʃ": "ch", "dʒ": "j",
    "ts": "ts", "ʔ": "t", "x": "kh",
}  # fmt: skip
# vowels spelled as in "cat", "bed", "sit", "lot", "put": a syllable ending in one of them takes the
# next syllable's first consonant (ˈhæpi -> HAP-ee, as readers say "ha" like "hah").
_CHECKED = frozenset(("æ", "ɛ", "ɪ", "ᵻ", "ɒ", "ʊ"))
# consonant + j before these vowels, written in the vowel: ˈmjuːzɪk -> MEW-zik, kjʊɹ -> kewr (a
# "y" after a consonant reads as a vowel: "myoo" is "my-oo"); after b, "ue" ("bew" reads oddly)
_EW_ONSETS = {"b": "ue", **dict.fromkeys(("p", "t", "d", "k", "ɡ", "f", "v", "h", "m", "n"), "ew")}
_EW_VOWELS = {"uː": "", "ʊ": "", "ʊə": "r", "ʊəɹ": "r"}
_ONSETLESS = {"aɪ": "eye", "eɪ": "eigh"}  # a bare "y" is the letter, a bare "ay" is "aye"
_SCHWAS = frozenset(("ə", "ʌ", "ɐ"))
_READ_AS_OTHER = {"eg": "egg", "uv": "uvv"}  # syllables readers take for abbreviations (e.g., UV)
# English onsets (a single consonant is one, but ŋ and ʔ); ɹ-clusters, s-clusters, consonant + j
_ONSETS: frozenset[tuple[str, ...]] = frozenset(
    tuple(o.split("+")) for o in (
        "p+l", "p+ɹ", "b+l", "b+ɹ", "t+ɹ", "d+ɹ", "k+l", "k+ɹ", "ɡ+l", "ɡ+ɹ", "f+l", "f+ɹ", "θ+ɹ", "ʃ+ɹ",
        "t+w", "d+w", "k+w", "ɡ+w", "s+w", "θ+w", "s+p", "s+t", "s+k", "s+m", "s+n", "s+l", "s+f", "s+p+l",
        "s+p+ɹ", "s+t+ɹ", "s+k+ɹ", "s+k+w", "s+k+j", "s+p+j", "p+j", "b+j", "t+j", "d+j", "k+j", "ɡ+j",
        "f+j", "v+j", "h+j", "m+j", "n+j"
    )
)  # fmt: skip
_NO_ONSET = frozenset(("ŋ", "ʔ"))


def ipa_to_respelling(ipa: str) -> str | None:
    """English IPA to a reading respelling that a TTS engine without phoneme input reads close to the
    IPA: syllables joined by hyphens, the primary-stressed syllable in capitals (ˈθɜrti -> "THUR-tee",
    hɜːˈmaɪ.ə.ni -> "hur-MY-uh-nee"). Word boundaries (spaces) stay spaces. None when a symbol has no
    English respelling.

    Syllables break where the IPA puts a dot or a stress mark between consonants, else before the
    longest English onset (ˈmɪlɪdʒ -> MIL-ij). ð and θ are both "th".
    """
    words = _english_words(ipa)
    if words is None:
        return None
    return " ".join(_respell_word(w) for w in words)


def _syllables(word: list[_Phone]) -> list[tuple[list[_Phone], _Phone | None, list[_Phone]]]:
    """A word as (onset, nucleus, coda) syllables; a word with no vowel is one nucleus-less syllable."""
    nuclei = [k for k, p in enumerate(word) if p.nucleus]
    if not nuclei:
        return [(word, None, [])]
    cuts = [_cut(word, left + 1, right) for left, right in itertools.pairwise(nuclei)]
    starts, ends = [0, *cuts], [*cuts, len(word)]
    sylls: list[tuple[list[_Phone], _Phone | None, list[_Phone]]] = [
        (word[start:nuc], word[nuc], word[nuc + 1 : end])
        for start, end, nuc in zip(starts, ends, nuclei, strict=True)
    ]
    for s in range(len(sylls) - 1):  # HAP-ee: a checked vowel keeps the next consonant
        onset, nucleus, coda = sylls[s]
        nxt_onset, nxt_nucleus, nxt_coda = sylls[s + 1]
        if nucleus is not None and nucleus.name in _CHECKED and not coda and nxt_onset:
            sylls[s] = (onset, nucleus, nxt_onset[:1])
            sylls[s + 1] = (nxt_onset[1:], nxt_nucleus, nxt_coda)
    return sylls


def _cut(word: list[_Phone], first: int, nucleus: int) -> int:
    """Where the syllable of ``word[nucleus]`` starts, its consonants being ``word[first:nucleus]``."""
    for k in range(first, nucleus):
        if word[k].starts_syllable:
            return k
    for k in range(first, nucleus + 1):
        cluster = tuple(p.name for p in word[k:nucleus])
        if len(cluster) <= 1 and not (cluster and cluster[0] in _NO_ONSET):
            return k
        if cluster in _ONSETS:
            return k
    return nucleus


def _respell_word(word: list[_Phone]) -> str:
    parts = []
    sylls = _syllables(word)
    for s, (onset, nucleus, coda) in enumerate(sylls):
        text = _respell_syllable(onset, nucleus, coda, final=s == len(sylls) - 1)
        parts.append(text.upper() if nucleus is not None and nucleus.stress == 1 else text)
    return "-".join(parts)


def _respell_syllable(onset: list[_Phone], nucleus: _Phone | None, coda: list[_Phone], final: bool) -> str:
    names = [p.name for p in onset]
    if nucleus is None:
        return _consonants(names)
    vowel = _RESPELL_VOWELS[nucleus.name][1 if coda else 0]
    if not names and nucleus.name in _ONSETLESS:
        vowel = _ONSETLESS[nucleus.name]
    elif nucleus.name == "aɪ" and not coda and names and names[-1] in ("s", "n"):
        vowel = "igh"  # "sigh": "sy" reads "si", "ny" is N.Y.
    elif len(names) > 1 and names[-1] == "j" and names[-2] in _EW_ONSETS and nucleus.name in _EW_VOWELS:
        names, vowel = names[:-1], _EW_ONSETS[names[-2]] + _EW_VOWELS[nucleus.name]
    head = _consonants(names)
    if head.startswith("skw"):
        head = "squ" + head[3:]  # "skw" reads as S-K-W
    if head.endswith("g") and vowel[0] in "eiy":
        head += "h"  # "ghee", not "gee"
    if head.endswith("th") and vowel == "air":
        vowel = "are"  # "thair" reads like "Thai"
    text = head + vowel + _coda(nucleus.name, [p.name for p in coda], final)
    return _READ_AS_OTHER.get(text, text)


def _coda(vowel: str, names: list[str], final: bool) -> str:
    tail = _consonants(names)
    if names == ["ɹ"]:
        return "rr"  # the r a checked vowel took from the next syllable: VERR-ee
    if final and vowel in _SCHWAS and names == ["l"]:
        return "ll"  # a final "ul" reads as in "full", "ull" as in "dull"
    if vowel == "aɪ" and len(names) == 1 and names[0] not in ("ŋ", "ɹ"):
        return "ce" if tail == "s" else tail + "e"  # "tyme", "pryce": y + consonant + e reads "eye"
    if final and tail == "s":
        return "ss"  # "fayss": a final single s after a vowel reads z
    if tail.startswith("ngk"):
        return "n" + tail[2:]  # "think"
    return tail


def _consonants(names: list[str]) -> str:
    return "".join(_RESPELL_CONSONANTS[n] for n in names)
