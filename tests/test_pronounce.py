"""Pronunciations reach each engine in the form it takes, and the audio says them.

The oracles: the book's PLS and SSML parsed here with lxml, what the engine's own library is handed
(spied on), audio compared sample by sample, and PocketSphinx's acoustic model scoring the word.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pocketsphinx
import pytest
import srt
from lxml import etree
from typer.testing import CliRunner

from tests.conftest import corpus_file
from tests.xtts_tiny import build_tiny_xtts
from voxcli.asr.audio import to_16k
from voxcli.asr.g2p import arpabet, pronounce
from voxcli.book import Book
from voxcli.cli import app
from voxcli.config import load_voices, resolve_voice
from voxcli.convert.pipeline import ConvertRequest, plan
from voxcli.convert.plan import ChapterPlan
from voxcli.engines import load_engine
from voxcli.engines.base import VoiceProfile, speak
from voxcli.engines.coqui import CoquiOptions
from voxcli.engines.piper import PiperOptions
from voxcli.ingest import read_book
from voxcli.lexicon.model import Lexicon, parse_lexicon
from voxcli.speak import say
from voxcli.text.markup import parts

PLS_NS = "{http://www.w3.org/2005/01/pronunciation-lexicon}"
SSML_PH = "{http://www.w3.org/2001/10/synthesis}ph"
STRESS = str.maketrans("", "", "ˈˌ.")
SAME_SOUND = str.maketrans({"ɹ": "r", "ɡ": "g", "j": "y"})  # how eSpeak-trained models spell IPA letters


def piper_profile() -> VoiceProfile:
    return VoiceProfile(name="joe", engine="piper", voice="en_US-joe-medium", options=PiperOptions())


@pytest.fixture(scope="module")
def georgia() -> Book:
    return read_book(str(corpus_file("epub", "georgia-pls-ssml.epub")))


@pytest.fixture(scope="module")
def pls() -> dict[str, str]:
    """grapheme -> IPA, read from the book's PLS file here."""
    with zipfile.ZipFile(corpus_file("epub", "georgia-pls-ssml.epub")) as book:
        root = etree.fromstring(book.read("EPUB/lexicon/en.pls"))
    found: dict[str, str] = {}
    for lexeme in root.iter(f"{PLS_NS}lexeme"):
        phoneme = lexeme.findtext(f"{PLS_NS}phoneme") or ""
        for grapheme in lexeme.iter(f"{PLS_NS}grapheme"):
            found[(grapheme.text or "").strip()] = phoneme.strip()
    return found


@pytest.fixture(scope="module")
def ssml() -> list[tuple[str, str]]:
    """(text, ph) of every element with an ssml:ph, in document order, read here."""
    with zipfile.ZipFile(corpus_file("epub", "georgia-pls-ssml.epub")) as book:
        root = etree.fromstring(book.read("EPUB/georgia.xhtml"))
    return [
        (" ".join("".join(el.itertext()).split()), str(el.get(SSML_PH)))
        for el in root.iter()
        if el.get(SSML_PH)
    ]


def plans_for(
    book: Book, profile: VoiceProfile, lexicon: Lexicon | None = None, **kw: Any
) -> list[ChapterPlan]:
    request = ConvertRequest(
        book=book,
        source="book.epub",
        profile=profile,
        outdir=Path("/nonexistent-voxcli-test"),
        chapters=[c.index for c in book.chapters],
        lexicon=lexicon or Lexicon(),
        **kw,
    )
    return plan(request)[1]


def spans(plans: list[ChapterPlan]) -> list[tuple[str, str]]:
    """(words, phonemes) of every phoneme span in the plans' speech."""
    return [
        (part.text, part.phonemes)
        for p in plans
        for s in p.segments
        for part in parts(s.speech)
        if part.phonemes is not None
    ]


def sound(ipa: str) -> str:
    return ipa.translate(STRESS).translate(SAME_SOUND).replace("ː", "")


# ---- the book's own pronunciations, per engine -------------------------------------------------


def test_piper_gets_the_books_pls_and_ssml_as_phonemes(
    georgia: Book, pls: dict[str, str], ssml: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    plans = plans_for(georgia, piper_profile())
    said = spans(plans)
    by_word: dict[str, set[str]] = {}
    for words, phonemes in said:
        by_word.setdefault(words, set()).add(sound(phonemes))
    # Every PLS word the book uses is said with the PLS phonemes (stress moved, letters as Piper spells them).
    text = " ".join(s.text for p in plans for s in p.segments)
    used = [g for g in pls if re.search(rf"(?<!\w){re.escape(g)}(?!\w)", text)]
    assert len(used) >= 40
    for grapheme in used:
        assert sound(pls[grapheme]) in by_word.get(grapheme, set()), grapheme
    # Every SSML ph in the text is said, in order, with its own phonemes (the same "80°" three ways).
    ssml_said = [(w, p) for w, p in said if w not in pls]
    assert [(w, sound(p)) for w, p in ssml_said] == [(w, sound(p)) for w, p in ssml]
    assert len({p for w, p in ssml if w == "80°"}) == 3
    # Subtitles keep the book's spelling: no markup in the text shown.
    assert not any("](/" in s.text or "\ufdd0" in s.text for p in plans for s in p.segments)

    # What piper-tts itself is handed: the phonemes as a raw [[ ]] block.
    segment = next(s for p in plans for s in p.segments if "Milledgeville" in s.text)
    engine = load_engine(piper_profile())
    handed: list[str] = []
    voice = engine._voice  # type: ignore[attr-defined]
    real = voice.synthesize

    def spy(text: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        handed.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(voice, "synthesize", spy)
    with_book = speak(engine, segment.speech)
    blocks = re.findall(r"\[\[ (.*?) \]\]", handed[-1])
    assert sound(pls["Milledgeville"]) in [sound(b) for b in blocks]
    assert "Milledgeville" not in handed[-1]
    # ... and the audio differs from the same sentence read without the book's pronunciations.
    without = plans_for(georgia, piper_profile(), book_lexicon=False)
    plain = next(s for p in without for s in p.segments if s.text == segment.text)
    assert "](/" not in plain.speech
    other = speak(engine, plain.speech)
    assert with_book.samples.shape != other.samples.shape or not np.allclose(with_book.samples, other.samples)


def test_sentences_without_pronunciations_keep_their_cache_keys(georgia: Book) -> None:
    on = [s for p in plans_for(georgia, piper_profile()) for s in p.segments]
    off = [s for p in plans_for(georgia, piper_profile(), book_lexicon=False) for s in p.segments]
    # Phonemes make a long sentence's speech longer, so it may be cut into pieces elsewhere.
    keys = {s.text: s.key for s in off}
    same = [s for s in on if s.text in keys]
    assert len(same) >= 0.9 * len(on)
    for segment in same:
        assert (segment.key == keys[segment.text]) == ("](/" not in segment.speech), segment.text


def test_kokoro_onnx_gets_the_phonemes(
    georgia: Book,
    pls: dict[str, str],
    kokoro_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile = load_voices(str(kokoro_dir / "voices.toml")).profiles["kokoro"]
    plans = plans_for(georgia, profile)
    segment = next(s for p in plans for s in p.segments if "Ocmulgee" in s.text)
    assert any(w == "Ocmulgee" and sound(p) == sound(pls["Ocmulgee"]) for w, p in spans(plans))
    engine = load_engine(profile)
    handed: list[str] = []
    kokoro = engine._kokoro  # type: ignore[attr-defined]
    real = kokoro.create_timed

    def spy(phonemes: str, *args: Any, **kwargs: Any) -> Any:
        assert kwargs.get("is_phonemes") is True
        handed.append(phonemes)
        return real(phonemes, *args, **kwargs)

    monkeypatch.setattr(kokoro, "create_timed", spy)
    (span,) = re.findall(r"\[Ocmulgee\]\(/[^/]*/\)", segment.speech)
    said = speak(engine, f"the {span} river")
    assert sound(pls["Ocmulgee"]) in sound(" ".join(handed))
    # Without the book's pronunciation, eSpeak-NG's own guess (/ɑːkməldʒiː/) goes in instead...
    handed.clear()
    guessed = speak(engine, "the Ocmulgee river")
    assert sound(pls["Ocmulgee"]) not in sound(" ".join(handed))
    # ... and the audio differs.
    assert said.duration > 0.5 and guessed.duration > 0.5
    assert said.samples.shape != guessed.samples.shape or not np.allclose(said.samples, guessed.samples)


def test_xtts_gets_a_respelling(georgia: Book, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from voxcli.lexicon.ipa import ipa_to_respelling

    checkpoint = build_tiny_xtts(tmp_path / "xtts")
    monkeypatch.setenv("COQUI_TOS_AGREED", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    profile = VoiceProfile(
        name="me", engine="coqui", voice="xtts_v2", options=CoquiOptions(model_dir=str(checkpoint), retries=0)
    )
    plans = plans_for(georgia, profile)
    segments = [s for p in plans for s in p.segments]
    assert not any("](/" in s.speech for s in segments)  # no phonemes for an engine that takes none
    segment = next(s for s in segments if "Milledgeville" in s.text)
    respelt = (ipa_to_respelling("ˈmɪlɪdʒˌvɪl") or "?").lower()  # stress capitals lowered for the engine
    assert respelt in segment.speech.lower() and "Milledgeville" not in segment.speech
    degrees = next(s for s in segments if "30°" in s.text)
    assert (ipa_to_respelling("ˈθɜrti dɪˈgriz") or "?").lower() in degrees.speech.lower()  # the SSML ph
    from tests.xtts_tiny import TINY_SPEAKER

    engine = load_engine(
        replace(profile, options=CoquiOptions(model_dir=str(checkpoint), retries=0, speaker=TINY_SPEAKER)),
        "cpu",
    )
    handed: list[str] = []
    model = engine._model  # type: ignore[attr-defined]
    real = model.inference

    def spy(text: str, *args: Any, **kwargs: Any) -> Any:
        handed.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(model, "inference", spy)
    start = segment.speech.lower().index(respelt)
    speak(engine, segment.speech[max(0, start - 20) : start + 40])
    assert handed and respelt in " ".join(handed).lower()


def test_ignore_book_lexicon_and_user_entries_win(georgia: Book) -> None:
    off = spans(plans_for(georgia, piper_profile(), book_lexicon=False))
    assert off == []
    mine = parse_lexicon({"Milledgeville": {"say": "Mill-edge-ville"}, "N.": {"say": "north"}}, "mine")
    plans = plans_for(georgia, piper_profile(), mine)
    segment = next(s for p in plans for s in p.segments if "Milledgeville" in s.text)
    assert "Mill-edge-ville" in segment.speech and "[Milledgeville]" not in segment.speech
    # The user's entry for "N." wins over the book's SSML for it.
    first = next(s for p in plans for s in p.segments if "35°" in s.text)
    assert "[N.]" not in first.speech and "north" in first.speech


# ---- a lexicon round trip on a novel ----------------------------------------------------------


@pytest.mark.slow
def test_a_new_entry_respeaks_only_the_sentences_with_the_name() -> None:
    whole = read_book(str(corpus_file("epub", "moby-dick.epub")))
    book = replace(whole, chapters=whole.chapters[:30])  # to Chapter 26: Queequeg's first chapters
    profile = resolve_voice("espeak:en-us", load_voices(None))
    before = [s for p in plans_for(book, profile) for s in p.segments]
    entry = parse_lexicon({"Queequeg": {"say": "Kwee-kweg"}}, "lexicon.toml")
    after = [s for p in plans_for(book, profile, entry) for s in p.segments]
    assert [s.text for s in before] == [s.text for s in after]
    changed = [a for a, b in zip(after, before, strict=True) if a.key != b.key]
    named = [s for s in before if re.search(r"(?<!\w)queequeg(?!\w)", s.text, re.IGNORECASE)]
    assert len(changed) == len(named) > 100  # 143 of the 1,920 segments of these chapters
    assert all("Kwee-kweg" in s.speech for s in changed)


def test_convert_respeaks_only_the_sentences_with_the_name(
    runner: CliRunner, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = isolated / "book.txt"
    book.write_text(
        "Chapter 1\n\nQueequeg was a native of Rokovoko. The island is far away.\n\n"
        "It is not down in any map. True places never are. Queequeg smiled.\n",
        encoding="utf-8",
    )
    args = ["convert", str(book), "-v", "espeak:en-us", "-o", str(isolated / "out"), "--json", "-f", "wav"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["sentences_synthesized"] == 6
    (isolated / "book.lexicon.toml").write_text('Queequeg = { say = "Kwee-kweg" }\n', encoding="utf-8")
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["sentences_synthesized"] == 2  # the two sentences with the name
    assert json.loads(again.stdout)["warnings"] == []
    dry = runner.invoke(app, [*args, "--dry-run"])
    segments = json.loads(dry.stdout)["chapters"][0]["segments"]
    assert [s["speech"] for s in segments if "Queequeg" in s["text"]] == [
        "Kwee-kweg was a native of Rokovoko.",
        "Kwee-kweg smiled.",
    ]
    assert all(s["cached"] for s in segments)
    # The subtitles keep the book's spelling (read back with the srt library).
    (subtitles,) = (isolated / "out").glob("*.srt")
    cues = " ".join(cue.content for cue in srt.parse(subtitles.read_text(encoding="utf-8")))
    assert cues.count("Queequeg") == 2 and "Kwee" not in cues


# ---- proof from the audio -----------------------------------------------------------------------

SENTENCE = "Queequeg was a native of the island."
INTENDED = "ˈkweɪkweɪɡ"  # "KWAY-kwayg", not eSpeak-NG's "KWEE-kweg"


def word_score(samples: np.ndarray, rate: int, phones: str) -> float:
    """PocketSphinx's acoustic log-likelihood per frame of "queequeg", forced-aligned with ``phones``."""
    words = SENTENCE.lower().rstrip(".").split()
    decoder = pocketsphinx.Decoder(
        hmm=pocketsphinx.get_model_path("en-us/en-us"), samprate=16000, loglevel="FATAL"
    )
    decoder.add_word("queequeg", phones, update=True)  # CMUdict has every other word of the sentence
    decoder.set_align_text(" ".join(words))
    pcm = (to_16k(samples.astype(np.float32), rate) * 32767).astype(np.int16)
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()
    (segment,) = [s for s in decoder.seg() if s.word.startswith("queequeg")]
    frames = segment.end_frame - segment.start_frame + 1
    return math.log(max(segment.ascore, 1e-300)) / frames


def test_piper_says_queequeg_as_the_entry_says() -> None:
    profile = piper_profile()
    entry = parse_lexicon({"Queequeg": {"ipa": INTENDED}}, "lexicon.toml")
    plain = say(SENTENCE, profile)
    given = say(SENTENCE, profile, lexicon=entry)
    intended = arpabet(INTENDED)
    default = pronounce("queequeg")
    assert intended and default and intended != default
    # The acoustic model hears the intended pronunciation far better in the audio made with the entry...
    assert (
        word_score(given.samples, given.sample_rate, intended)
        > word_score(plain.samples, plain.sample_rate, intended) + 0.3
    )
    # ... and the entry moves the audio towards it relative to the default pronunciation.
    margin_given = word_score(given.samples, given.sample_rate, intended) - word_score(
        given.samples, given.sample_rate, default
    )
    margin_plain = word_score(plain.samples, plain.sample_rate, intended) - word_score(
        plain.samples, plain.sample_rate, default
    )
    assert margin_given > margin_plain + 0.1
