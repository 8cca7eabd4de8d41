"""Pronunciations for the words PocketSphinx's dictionary lacks: eSpeak-NG's IPA mapped to ARPAbet,
checked against the dictionary itself (CMUdict) on the words it does have, then heard in real speech."""

from __future__ import annotations

import re

import jiwer
import pocketsphinx

from tests.conftest import corpus_file
from voxcli.asr import load_recognizer
from voxcli.asr.g2p import arpabet, pronounce
from voxcli.asr.sphinx import _dictionary
from voxcli.asr.words import words
from voxcli.convert.plan import spoken_text
from voxcli.engines import VoiceProfile, load_engine, speak
from voxcli.engines.piper import PiperOptions
from voxcli.ingest import read_book
from voxcli.verify.listen import expected_words

JOE = VoiceProfile(name="joe", engine="piper", voice="en_US-joe-medium", options=PiperOptions())


def test_ipa_to_arpabet() -> None:
    assert arpabet("ˈɪʃmeɪl") == "IH SH M EY L"
    assert arpabet("tʃˈɜːtʃ") == "CH ER CH"
    assert arpabet("dʒˈʌdʒ") == "JH AH JH"
    assert arpabet("ʀ") is None  # a sound with no ARPAbet phone: no guess
    assert arpabet("ˈ") is None


def test_espeak_pronounces_a_real_chapter_as_cmudict_does() -> None:
    """The words of chapter 10 of Children's Literature that CMUdict has: eSpeak-NG's pronunciation,
    mapped, is CMUdict's (any of its variants, stress left out) for most, and the phones that differ
    are few. Measured: 87 % of 414 words exact, phone error rate 3.6 %."""
    dictionary = _dictionary(pocketsphinx.get_model_path("en-us/cmudict-en-us.dict"))
    chapter = read_book(str(corpus_file("epub", "childrens-literature.epub"))).chapters[9]
    vocabulary = sorted({w for w in words(spoken_text(chapter)) if w in dictionary and w.isalpha()})
    assert len(vocabulary) > 300
    exact, references, guesses, missing = 0, [], [], []
    for word in vocabulary:
        guess = pronounce(word)
        if guess is None:
            missing.append(word)
            continue
        variants = [re.sub(r"\d", "", line.split(maxsplit=1)[1]).split() for line in dictionary[word]]
        best = min(variants, key=lambda v: jiwer.wer(" ".join(v), guess))
        references.append(" ".join(best))
        guesses.append(guess)
        exact += best == guess.split()
    assert len(missing) <= len(vocabulary) // 100, missing
    assert exact / len(vocabulary) >= 0.8
    assert jiwer.wer(references, guesses) <= 0.06


def test_names_outside_the_dictionary_are_heard_and_checked() -> None:
    texts = ["Captain Zorblax sailed home with Gerda.", "The harbour was cold."]
    recognizer = load_recognizer("pocketsphinx", "en-us", texts)
    try:
        assert recognizer.known("zorblax") and recognizer.known("gerda")  # neither is in CMUdict
        checked, unchecked = expected_words(texts[0], recognizer)
        assert unchecked == [] and "zorblax" in checked
        spoken = speak(load_engine(JOE), texts[0])
        heard = recognizer.recognize(spoken.samples, spoken.sample_rate).text
        assert "zorblax" in heard.split() and "gerda" in heard.split(), heard
        timed = recognizer.align(spoken.samples, spoken.sample_rate, words(texts[0]))
        assert timed is not None and [w.word for w in timed] == words(texts[0])
    finally:
        recognizer.close()
