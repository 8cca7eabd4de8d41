"""``voxcli lexicon suggest`` and ``try``, and what the JSON modes show of the pronunciations."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pocketsphinx
import pytest
import soundfile
from typer.testing import CliRunner

from tests.audiocheck import probe_seconds
from tests.conftest import corpus_file
from voxcli.cli import app
from voxcli.ingest import read_book
from voxcli.lexicon.model import parse_lexicon

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib


@pytest.fixture(scope="module")
def cmudict() -> set[str]:
    path = Path(pocketsphinx.get_model_path("en-us/cmudict-en-us.dict"))
    return {line.split(" ", 1)[0].split("(", 1)[0] for line in path.read_text(encoding="utf-8").splitlines()}


@pytest.fixture(scope="module")
def moby_suggestions() -> str:
    result = CliRunner().invoke(
        app, ["lexicon", "suggest", str(corpus_file("epub", "moby-dick.epub")), "--limit", "40"]
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_suggest_names_the_words_the_dictionary_lacks(moby_suggestions: str, cmudict: set[str]) -> None:
    # The file is valid TOML that changes nothing until edited: every entry is commented out.
    assert tomllib.loads(moby_suggestions) == {}
    lines = moby_suggestions.splitlines()
    entries = [line[2:] for line in lines if re.match(r"# \S.* = \{ ", line)]
    assert len(entries) == 40
    lexicon = parse_lexicon(tomllib.loads("\n".join(entries)), "suggested")  # uncommented, it is valid
    words = [e.key for e in lexicon.entries]
    assert "Queequeg" in words[:10]
    for entry in lexicon.entries:
        assert entry.ipa, entry.key  # the G2P's guess today, ready to edit
    heads = [line for line in lines if re.match(r"# \S+: \d+ times", line)]
    for head in heads:
        word, count, why = re.match(r"# (\S+): (\d+) times \(([^)]*)\)", head).groups()  # type: ignore[union-attr]
        if why == "rare word":
            assert word.lower() not in cmudict, word
        assert int(count) >= 2
    # The count is right: every spelling of the name, possessives included, read from the book here.
    book = read_book(str(corpus_file("epub", "moby-dick.epub")))
    text = "\n".join(c.text for c in book.chapters)
    expected = len(re.findall(r"(?<!\w)queequeg(?:['’]s)?(?!\w)", text, re.IGNORECASE))
    head = next(h for h in heads if h.startswith("# Queequeg:"))
    assert f"# Queequeg: {expected} times" in head
    example = re.search(r'e\.g\. "(.*)"$', head)
    assert example and "Queequeg" in example.group(1)


def test_suggest_leaves_out_what_a_lexicon_covers(runner: CliRunner, isolated: Path) -> None:
    mine = isolated / "mine.toml"
    mine.write_text('Queequeg = { say = "Kwee-kweg" }\n', encoding="utf-8")
    book = str(corpus_file("epub", "moby-dick.epub"))
    result = runner.invoke(
        app, ["lexicon", "suggest", book, "--lexicon", str(mine), "--json", "--limit", "40"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "Queequeg" not in [w["word"] for w in data["words"]]
    assert all(w["count"] >= 2 and w["example"] for w in data["words"])


def test_try_speaks_a_candidate_without_touching_a_file(
    runner: CliRunner, isolated: Path, ffmpeg: None
) -> None:
    def spoken(*extra: str) -> np.ndarray:
        out = isolated / f"try{len(list(isolated.glob('try*.wav')))}.wav"
        result = runner.invoke(
            app, ["lexicon", "try", "Queequeg", "-v", "espeak:en-us", "-o", str(out), *extra]
        )
        assert result.exit_code == 0, result.output
        assert probe_seconds(out) > 0.3
        samples, _ = soundfile.read(out, dtype="float32")
        return np.asarray(samples)

    ipa = spoken("--ipa", "ˈkweɪkweɪɡ")
    respelt = spoken("--say", "Kway-kwayg")
    again = spoken("--ipa", "ˈkweɪkweɪɡ")
    other = spoken("--ipa", "ˈkiːkɛɡ")
    assert abs(ipa.size - again.size) <= 0.01 * ipa.size  # the same candidate, the same length
    assert not (ipa.shape == other.shape and np.allclose(ipa, other))
    assert respelt.size > 0
    assert not list(isolated.rglob("*.toml"))  # no lexicon file was written anywhere
    bare = runner.invoke(app, ["lexicon", "try", "Queequeg", "-v", "espeak:en-us"])
    assert bare.exit_code == 2 and "needs a pronunciation" in bare.output and "Traceback" not in bare.output
    wrong = runner.invoke(app, ["lexicon", "try", "Queequeg", "--say", "x", "--in", "Call me Ishmael."])
    assert wrong.exit_code == 2 and "does not contain" in wrong.output
    bad = runner.invoke(app, ["lexicon", "try", "Queequeg", "--ipa", "KW33", "-v", "espeak:en-us"])
    assert bad.exit_code != 0 and "not IPA" in bad.output and "Traceback" not in bad.output


def test_chapters_speech_shows_what_each_engine_gets(runner: CliRunner) -> None:
    book = str(corpus_file("epub", "georgia-pls-ssml.epub"))
    on = runner.invoke(app, ["chapters", book, "--json", "--speech", "-v", "espeak:en-us"])
    assert on.exit_code == 0, on.output
    first = json.loads(on.stdout)["chapters"][0]["segments"]
    assert first[0]["engine"] == "espeak"
    spans = [s for s in first if "](/" in s["speech"]]
    assert spans and all("](/" not in s["text"] for s in first)
    # eSpeak-NG gets its own phoneme mnemonics: "N." is /nɔrθ/ in the book's SSML.
    assert any(re.search(r"\[N\.\]\(/n[^/]*T/\)", s["speech"]) for s in first)
    off = runner.invoke(
        app, ["chapters", book, "--json", "--speech", "-v", "espeak:en-us", "--ignore-book-lexicon"]
    )
    assert all("](/" not in s["speech"] for c in json.loads(off.stdout)["chapters"] for s in c["segments"])
    alone = runner.invoke(app, ["chapters", book, "--speech"])
    assert alone.exit_code == 2 and "--speech only applies to --json" in alone.output


def test_an_entry_no_engine_form_fits_is_one_warning(runner: CliRunner, isolated: Path) -> None:
    book = isolated / "book.txt"
    book.write_text("Queequeg and Tashtego rowed. Daggoo sang.\n", encoding="utf-8")
    (isolated / "book.lexicon.toml").write_text(
        'Queequeg = { phonemes = { espeak = "kw\'i:kwEg" } }\nTashtego = { ipa = "tæʃˈtiːɡoʊ" }\n'
        'Daggoo = { ipa = "dəˈɡuː", say = "da-GOO" }\n',
        encoding="utf-8",
    )
    args = ["convert", str(book), "--dry-run", "--json", "-o", str(isolated / "out")]
    piper = json.loads(runner.invoke(app, [*args, "-v", "piper:en_US-joe-medium"]).stdout)
    assert [w for w in piper["warnings"] if "Queequeg" in w] == [piper["warnings"][0]]
    assert "piper" in piper["warnings"][0] and len(piper["warnings"]) == 1
    said = [s["speech"] for s in piper["chapters"][0]["segments"] if s["kind"] == "text"]
    speech = said[0]
    assert "[Tashtego](/" in speech and "Queequeg" in speech and "[Queequeg]" not in speech
    espeak = json.loads(runner.invoke(app, [*args, "-v", "espeak:en-us"]).stdout)
    assert espeak["warnings"] == []
    # IPA with a sound the voice has no symbol for (an implosive): a warning; the word is read as written.
    (isolated / "book.lexicon.toml").write_text('Daggoo = { ipa = "ᶑaɡuː" }\n', encoding="utf-8")
    clicked = json.loads(runner.invoke(app, [*args, "-v", "piper:en_US-joe-medium"]).stdout)
    assert len(clicked["warnings"]) == 1 and "Daggoo" in clicked["warnings"][0]
    assert "cannot say ᶑ" in clicked["warnings"][0]
    assert "Daggoo sang." in [s["speech"] for s in clicked["chapters"][0]["segments"]]
    said = [s["speech"] for s in espeak["chapters"][0]["segments"] if s["kind"] == "text"]
    assert "[Queequeg](/kw'i:kwEg/)" in said[0]
    assert "[Daggoo](/" in said[1]  # phonemes beat the respelling


def test_a_profiles_lexicon_reaches_say_the_server_and_convert(runner: CliRunner, isolated: Path) -> None:
    from voxcli.config import load_voices
    from voxcli.server.app import _pieces

    voices = isolated / "voices.toml"
    voices.write_text(
        'default = "reader"\n[voices.reader]\nengine = "espeak"\nvoice = "en-us"\n'
        '[voices.reader.lexicon]\nQueequeg = { say = "Kwee-kweg" }\nTashtego = { ipa = "tæʃˈtiːɡoʊ" }\n',
        encoding="utf-8",
    )
    profile = load_voices(str(voices)).profiles["reader"]
    (piece,) = _pieces(profile, "Queequeg met Tashtego.")
    assert piece.speech.startswith("Kwee-kweg met [Tashtego](/") and piece.shown == "Queequeg met Tashtego."
    book = isolated / "b.txt"
    book.write_text("Queequeg met Tashtego.\n", encoding="utf-8")
    (isolated / "b.lexicon.toml").write_text('Queequeg = { say = "Kway-kwayg" }\n', encoding="utf-8")
    dry = runner.invoke(app, ["convert", str(book), "--voices", str(voices), "--dry-run", "--json"])
    speech = [s["speech"] for s in json.loads(dry.stdout)["chapters"][0]["segments"] if s["kind"] == "text"]
    assert speech[0].startswith("Kwee-kweg met [Tashtego](/")  # the profile's table is on top of the book's


def test_phonemes_for_an_unknown_engine_are_refused() -> None:
    from voxcli.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse_lexicon({"Queequeg": {"phonemes": {"espek": "kw'i:kwEg"}}}, "lexicon.toml")
    assert caught.value.message == "lexicon.toml: Queequeg.phonemes.espek: unknown engine 'espek'"
    assert "espeak" in (caught.value.fix or "")
