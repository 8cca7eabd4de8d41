"""The voice follows the book's language, and each passage's: voices.toml's [languages], eSpeak-NG's
voices for "*" = "espeak", --lang, --passages, TXT detection, and the warnings.

Oracles: the books' own OPF and XHTML read with zipfile and lxml (not voxcli's reader), the espeak-ng
program's voice list, ffprobe and webvtt-py on the files written."""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from typer.testing import CliRunner

from tests.conftest import corpus_file
from voxcli.cli import app

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DC = "{http://purl.org/dc/elements/1.1/}"
WASTELAND = ("epub", "wasteland-otf-obf.epub")
FRENCH = ("epub", "calibre-quickstart-fra.epub")
JAPANESE = ("epub", "live-manual.ja.epub")
MAPPED = ("de", "fr", "it", "la")  # the Waste Land's languages the test's voices file maps
WASTELAND_VOICES = (
    'default = "joe"\n[voices.joe]\nengine = "piper"\nvoice = "en_US-joe-medium"\n'
    '[languages]\nen = "joe"\n' + "".join(f'{lang} = "espeak:{lang}"\n' for lang in MAPPED)
)
# For the tests that speak a whole chapter: eSpeak-NG reads the English in seconds where Piper takes a
# minute on a shared CPU, and which voice says which line does not depend on the narrator's engine.
READER = 'default = "reader"\n[voices.reader]\nengine = "espeak"\nvoice = "en-us"\n'
WASTELAND_SPOKEN = WASTELAND_VOICES.replace(
    'default = "joe"\n[voices.joe]\nengine = "piper"\nvoice = "en_US-joe-medium"\n', READER
).replace('en = "joe"', 'en = "reader"')


def declared_language(book: Path) -> str:
    """dc:language from the OPF, read with zipfile and lxml (the oracle for voxcli's reader)."""
    with zipfile.ZipFile(book) as z:
        container = etree.fromstring(z.read("META-INF/container.xml"))
        opf = container.find(".//{*}rootfile").get("full-path")
        root = etree.fromstring(z.read(opf))
    found = root.find(f".//{DC}language")
    assert found is not None and found.text
    return found.text.strip()


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


@pytest.fixture
def spoken(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, str]]]:
    """Every text each engine is asked to say: (engine, voice, text), in order."""
    from voxcli.engines.espeak import EspeakEngine
    from voxcli.engines.kokoro_onnx import KokoroOnnxEngine
    from voxcli.engines.piper import PiperEngine

    calls: list[tuple[str, str, str]] = []
    real_espeak, real_piper = EspeakEngine.synthesize, PiperEngine.synthesize
    real_kokoro = KokoroOnnxEngine.synthesize

    def kokoro(self: KokoroOnnxEngine, text: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(("kokoro-onnx", "", text))
        return real_kokoro(self, text, *args, **kwargs)

    def espeak(self: EspeakEngine, text: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(("espeak", self._voice, text))
        return real_espeak(self, text, *args, **kwargs)

    def piper(self: PiperEngine, text: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(("piper", "", text))
        return real_piper(self, text, *args, **kwargs)

    monkeypatch.setattr(EspeakEngine, "synthesize", espeak)
    monkeypatch.setattr(PiperEngine, "synthesize", piper)
    monkeypatch.setattr(KokoroOnnxEngine, "synthesize", kokoro)
    yield calls


def convert(runner: CliRunner, *args: str) -> tuple[Any, dict[str, Any]]:
    result = runner.invoke(app, ["convert", *args, "--json"])
    assert result.exit_code == 0, result.output
    return result, json.loads(result.stdout)


def espeak_has(voice: str) -> bool:
    """Whether the espeak-ng program lists a voice of that language (an oracle apart from voxcli)."""
    listed = subprocess.run(["espeak-ng", f"--voices={voice}"], capture_output=True, text=True).stdout
    return any(line.split()[1:2] == [voice] for line in listed.splitlines()[1:])


# ---- the book's language picks the voice ---------------------------------------------------------


def test_french_book_with_no_voice_named_is_read_by_espeak_french(
    isolated: Path, runner: CliRunner, spoken: list[tuple[str, str, str]]
) -> None:
    book = corpus_file(*FRENCH)
    assert declared_language(book) == "fr"
    assert espeak_has("fr")
    out = isolated / "out"
    _, summary = convert(runner, str(book), "-o", str(out), "--chapters", "1", "--format", "wav", "-j", "1")
    assert spoken and {(engine, voice) for engine, voice, _ in spoken} == {("espeak", "fr")}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    language = manifest["voice"]["language"]
    assert language["lang"] == "fr" and language["source"] == "metadata"
    assert language["voice"] == "espeak:fr" and manifest["voice"]["engine"] == "espeak"
    assert '"*" = "espeak"' in language["why"]  # which rule of the built-in voices.toml chose it
    assert not [w for w in summary["warnings"] if "speaks" in w or "no voice" in w]
    # The voice was given French text, normalised as French: the numbers of the chapter in French words.
    assert "Guide de démarrage rapide" in " ".join(text for _, _, text in spoken)


def test_named_voice_of_another_language_warns_once(
    isolated: Path, runner: CliRunner, spoken: list[tuple[str, str, str]]
) -> None:
    out = isolated / "out"
    args = [str(corpus_file(*FRENCH)), "-v", "joe", "-o", str(out), "--chapters", "1", "--format", "wav"]
    result = runner.invoke(app, ["convert", *args, "-j", "1"])
    assert result.exit_code == 0, result.output
    warned = [line for line in result.output.splitlines() if "speaks en-us but the book is in fr" in line]
    assert len(warned) == 1, result.output
    assert "-v" in warned[0] and "--lang" in warned[0]  # the fix: another voice, or the book's language
    assert {engine for engine, _, _ in spoken} == {"piper"}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert sum("speaks en-us but the book is in fr" in w for w in manifest["warnings"]) == 1
    assert manifest["voice"]["language"]["why"] == "named: joe"


def test_japanese_manual_with_no_voice_named_is_read_by_a_japanese_voice(
    isolated: Path, runner: CliRunner, spoken: list[tuple[str, str, str]], ffmpeg: None
) -> None:
    book = corpus_file(*JAPANESE)
    assert declared_language(book) == "ja"
    assert espeak_has("ja")
    out = isolated / "out"
    convert(runner, str(book), "-o", str(out), "--chapters", "184", "--format", "wav", "-j", "1")
    assert spoken and {(engine, voice) for engine, voice, _ in spoken} == {("espeak", "ja")}
    assert any(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text) for _, _, text in spoken)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["voice"]["language"] | {"why": ""} == {
        "lang": "ja",
        "source": "metadata",
        "voice": "espeak:ja",
        "why": "",
    }
    wav = out / manifest["chapters"][0]["files"]["wav"]
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(wav)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert float(probe.stdout) > 3.0  # four Japanese sentences were spoken, not skipped


def test_lang_overrides_the_books_metadata(isolated: Path, runner: CliRunner) -> None:
    _, plan = convert(
        runner,
        str(corpus_file(*FRENCH)),
        "--lang",
        "de",
        "-o",
        str(isolated / "o"),
        "--chapters",
        "1",
        "--dry-run",
    )
    assert plan["voice"] == "espeak:de"


def test_text_book_language_is_detected_and_said(isolated: Path, runner: CliRunner) -> None:
    """A TXT has no metadata: the language comes from its words, and the user is told which."""
    from voxcli.ingest import read_book

    french = read_book(str(corpus_file(*FRENCH)))
    book = isolated / "guide.txt"
    book.write_text("\n\n".join(c.text for c in french.chapters[:6]), encoding="utf-8")
    _, plan = convert(runner, str(book), "-o", str(isolated / "o"), "--dry-run")
    assert plan["voice"] == "espeak:fr"
    assert [w for w in plan["warnings"] if "fr detected" in w and "--lang" in w], plan["warnings"]
    # --lang wins over the detector.
    _, plan = convert(runner, str(book), "--lang", "en", "-o", str(isolated / "o"), "--dry-run")
    assert plan["voice"] == "joe"


# ---- passages in other languages -----------------------------------------------------------------


def marked_passages() -> list[tuple[str, str]]:
    """(lang, text) of every element of the Waste Land's content that xml:lang marks as not English,
    read with lxml: the oracle for which lines are in which language."""
    with zipfile.ZipFile(corpus_file(*WASTELAND)) as z:
        root = etree.fromstring(z.read("EPUB/wasteland-content.xhtml"))
    found = []
    for el in root.iter():
        lang = el.get(XML_LANG)
        if lang and lang != "en":
            # Note references (the "*" links) are not read aloud.
            for ref in el.iter("{*}a"):
                ref.text = ""
            found.append((lang, " ".join(" ".join(el.itertext()).split())))
    return found


@pytest.fixture
def wasteland_voices(isolated: Path) -> Path:
    path = isolated / "voices.toml"
    path.write_text(WASTELAND_VOICES, encoding="utf-8")
    return path


def test_wasteland_passages_go_to_their_languages_voices(
    isolated: Path,
    runner: CliRunner,
    spoken: list[tuple[str, str, str]],
    ffmpeg: None,
) -> None:
    import webvtt

    wasteland_voices = isolated / "voices.toml"
    wasteland_voices.write_text(WASTELAND_SPOKEN, encoding="utf-8")

    out = isolated / "out"
    args = [str(corpus_file(*WASTELAND)), "--voices", str(wasteland_voices), "-o", str(out)]
    convert(runner, *args, "--chapters", "1", "--format", "wav", "--subtitles", "vtt", "-j", "1")
    by_voice: dict[str, list[str]] = {}
    assert {engine for engine, _, _ in spoken} == {"espeak"}
    for _, voice, text in spoken:
        by_voice.setdefault(voice, []).extend(words(text))
    from voxcli.ingest import read_book

    chapter = words(read_book(str(corpus_file(*WASTELAND))).chapters[0].text)
    checked = 0
    for lang, text in marked_passages():
        said = words(text)
        inside = any(chapter[i : i + len(said)] == said for i in range(len(chapter)))
        if not inside or len(said) < 3:  # another chapter's; or a word or two: the chapter's voice
            continue
        heard = by_voice.get(lang, []) if lang in MAPPED else by_voice["en-us"]
        assert any(heard[i : i + len(said)] == said for i in range(len(heard))), (lang, text)
        if lang in MAPPED:  # ... and not by the English voice
            english = by_voice["en-us"]
            assert not any(english[i : i + len(said)] == said for i in range(len(english))), (lang, text)
        checked += 1
    assert checked >= 6  # la, it, de (several lines), fr; and the Greek, which has no voice
    assert set(by_voice) == {"en-us", "la", "it", "de", "fr"}
    # One sample rate for the chapter, whichever voice spoke.
    wav = out / next(iter(json.loads((out / "manifest.json").read_text())["chapters"]))["files"]["wav"]
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=sample_rate", "-of", "csv=p=0", str(wav)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.split() == ["22050"]
    # The subtitles mark the switch: a German line is a German language span.
    vtt = next(out.glob("*.vtt"))
    captions = webvtt.read(str(vtt))
    raw = [c.raw_text for c in captions if "Frisch weht der Wind" in c.text]
    assert raw and all("<lang de>" in r for r in raw), raw
    manifest = json.loads((out / "manifest.json").read_text())
    passages = manifest["voice"]["passages"]
    assert passages["voices"] == {lang: f"espeak:{lang}" for lang in ("de", "fr", "it", "la")}
    assert passages["no_voice"] == {"grc": 1}


def test_languages_with_no_voice_are_named_in_one_warning(
    isolated: Path, runner: CliRunner, wasteland_voices: Path
) -> None:
    args = [str(corpus_file(*WASTELAND)), "--voices", str(wasteland_voices), "-o", str(isolated / "o")]
    result = runner.invoke(app, ["convert", *args, "--dry-run"])
    assert result.exit_code == 0, result.output
    unvoiced = {lang for lang, text in marked_passages() if lang not in MAPPED and len(words(text)) >= 3}
    assert unvoiced == {"grc", "sa"}
    lines = [line for line in result.output.splitlines() if "no voice for the passages" in line]
    assert len(lines) == 1 and all(re.search(rf"\b{lang}\b", lines[0]) for lang in unvoiced), result.output
    assert not any(re.search(rf"\b{lang} \(", lines[0]) for lang in MAPPED)


def test_passages_ignore_reads_everything_with_the_chapters_voice(
    isolated: Path, runner: CliRunner, wasteland_voices: Path
) -> None:
    args = [str(corpus_file(*WASTELAND)), "--voices", str(wasteland_voices), "-o", str(isolated / "o")]
    _, follow = convert(runner, *args, "--dry-run")
    _, ignore = convert(runner, *args, "--dry-run", "--passages", "ignore")
    voices = {s["voice"] for c in follow["chapters"] for s in c["segments"]}
    assert voices == {"joe", *(f"espeak:{lang}" for lang in MAPPED)}
    assert {s["voice"] for c in ignore["chapters"] for s in c["segments"]} == {"joe"}
    assert not [w for w in ignore["warnings"] if "no voice for the passages" in w]
    # Nothing is lost by switching voices: the same words in both plans.
    said = [words(" ".join(s["text"] for s in c["segments"])) for c in follow["chapters"]]
    assert said == [words(" ".join(s["text"] for s in c["segments"])) for c in ignore["chapters"]]


def test_short_passages_stay_with_the_chapters_voice(
    isolated: Path, runner: CliRunner, wasteland_voices: Path
) -> None:
    """'Datta', 'Dayadhvam', 'Damyata' (Sanskrit, one word each) are not a reason to switch voices."""
    path = wasteland_voices
    path.write_text(WASTELAND_VOICES + 'sa = "espeak:hi"\n', encoding="utf-8")
    args = [str(corpus_file(*WASTELAND)), "--voices", str(path), "-o", str(isolated / "o"), "--chapters", "5"]
    _, plan = convert(runner, *args, "--dry-run")
    segments = plan["chapters"][0]["segments"]
    hindi = [s["text"] for s in segments if s["voice"] == "espeak:hi"]
    assert "Datta. Dayadhvam. Damyata." in " ".join(hindi)  # three words: a passage of its own
    for single in ("Datta: what have we given?", "Dayadhvam: I have heard the key"):
        assert any(single in s["text"] and s["voice"] == "joe" for s in segments), single


# ---- voices.toml and voices list ------------------------------------------------------------------


def test_voices_list_lang_shows_the_mapped_voice_first(isolated: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["voices", "list", "--lang", "fr", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mapped"] == "espeak:fr" and data["voices"][0]["name"] == "espeak:fr"
    assert data["voices"][0]["usable"] is True
    result = runner.invoke(app, ["voices", "list", "--lang", "en", "--json"])
    names = [v["name"] for v in json.loads(result.stdout)["voices"]]
    assert names[0] == "joe" and "espeak" in names  # the mapped one, then every English profile


def test_voices_list_lang_with_no_voice_is_one_line(
    isolated: Path, runner: CliRunner, wasteland_voices: Path
) -> None:
    result = runner.invoke(app, ["voices", "list", "--lang", "grc", "--voices", str(wasteland_voices)])
    assert result.exit_code != 0
    assert result.output.count("\n") == 1 and "no voice speaks grc" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('fr = "nobody"', "languages.fr: unknown voice 'nobody'"),
        ('"*" = "piper"', 'languages.*: "*" takes an engine'),
        ('"f r" = "joe"', "languages.f r: not a language tag"),
    ],
)
def test_bad_languages_table_is_one_line(
    isolated: Path, runner: CliRunner, table: str, expected: str
) -> None:
    path = isolated / "voices.toml"
    path.write_text(
        'default = "joe"\n[voices.joe]\nengine = "piper"\nvoice = "en_US-joe-medium"\n[languages]\n'
        + table
        + "\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["convert", str(corpus_file(*FRENCH)), "--voices", str(path), "--dry-run"])
    assert result.exit_code != 0
    assert expected in result.output and "Traceback" not in result.output, result.output
    assert len([line for line in result.output.splitlines() if line.startswith("error:")]) == 1


def test_passages_are_found_where_the_xhtml_marks_them() -> None:
    """voxcli's reader against lxml: every passage it finds is a marked element's text, in its language."""
    from voxcli.ingest import read_book

    book = read_book(str(corpus_file(*WASTELAND)))
    marked = marked_passages()
    found = [
        (passage.lang, chapter.paragraphs[n][passage.start : passage.end])
        for chapter in book.chapters
        for n, passages in enumerate(chapter.passages)
        for passage in passages
    ]
    assert {lang for lang, _ in found} == {"de", "fr", "it", "la", "grc", "sa"}
    for lang, text in found:
        assert any(
            lang == other and words(text) and set(words(text)) <= set(words(t)) for other, t in marked
        ), (
            lang,
            text,
        )
    # No English text is inside a passage.
    english = "Unreal City"
    assert not any(english in text for _, text in found)


def test_short_passages_are_said_in_their_own_language_by_the_chapters_voice(
    isolated: Path, runner: CliRunner, wasteland_voices: Path
) -> None:
    """The epigraph's 'ἀποθανεῖν θέλω' (Greek, two words) stays with the English voice, which gets
    eSpeak-NG's Greek pronunciation of it (the espeak-ng program is the oracle for the IPA)."""
    args = [str(corpus_file(*WASTELAND)), "--voices", str(wasteland_voices), "-o", str(isolated / "o")]
    _, plan = convert(runner, *args, "--chapters", "1", "--dry-run")
    greek = "ἀποθανεῖν θέλω"
    said = [s["speech"] for s in plan["chapters"][0]["segments"] if greek in s["text"]]
    assert len(said) == 1
    ipa = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", "grc", greek], capture_output=True, text=True)
    assert f"[{greek}](/{ipa.stdout.strip()}/)" in said[0]
    # The user's lexicon wins over the guess; --ignore-book-lexicon leaves the words as written.
    (isolated / "lexicon.toml").write_text(f'["{greek}"]\nsay = "apothanein thelo"\n', encoding="utf-8")
    _, plan = convert(
        runner, *args, "--chapters", "1", "--dry-run", "--lexicon", str(isolated / "lexicon.toml")
    )
    said = [s["speech"] for s in plan["chapters"][0]["segments"] if greek in s["text"]]
    assert "apothanein thelo" in said[0] and "](/" not in said[0].split("respondebat")[-1].split(":")[-1]
    _, plan = convert(runner, *args, "--chapters", "1", "--dry-run", "--ignore-book-lexicon")
    said = [s["speech"] for s in plan["chapters"][0]["segments"] if greek in s["text"]]
    assert "](/" not in said[0] and greek in said[0]


def test_languages_num2words_cannot_say_keep_their_digits_with_one_warning(
    isolated: Path, runner: CliRunner
) -> None:
    from num2words import CONVERTER_CLASSES

    assert "el" not in CONVERTER_CLASSES and "fr" in CONVERTER_CLASSES  # the oracle: num2words' own table
    book = isolated / "greek.md"
    book.write_text(
        "---\nlang: el\n---\n\n# Α\n\nΤο 1922 ο Έλιοτ έγραψε 433 στίχους.\n\nΚαι 5 σημειώσεις.\n",
        encoding="utf-8",
    )
    _, plan = convert(runner, str(book), "-o", str(isolated / "o"), "--dry-run")
    assert plan["voice"] == "espeak:el"
    warned = [w for w in plan["warnings"] if "left as digits" in w]
    assert len(warned) == 1 and re.search(r"\bel\b", warned[0])
    speech = " ".join(s["speech"] for c in plan["chapters"] for s in c["segments"])
    assert "1922" in speech and "433" in speech  # left for eSpeak-NG to read, not dropped
    french = isolated / "french.md"
    french.write_text("---\nlang: fr\n---\n\n# A\n\nEn 1922, il écrit 433 vers.\n", encoding="utf-8")
    _, plan = convert(runner, str(french), "-o", str(isolated / "p"), "--dry-run")
    assert not [w for w in plan["warnings"] if "left as digits" in w]
    assert "1922" not in " ".join(s["speech"] for c in plan["chapters"] for s in c["segments"])


@pytest.mark.parametrize(
    ("declared", "tag"),
    [
        ("fre", "fr"),
        ("ger", "de"),
        ("deu", "de"),
        ("en_GB", "en-GB"),
        ("English", "en"),
        ("und", ""),
        ("", ""),
    ],
)
def test_book_language_tags_are_normalised(declared: str, tag: str) -> None:
    """Older OPF files write ISO 639-2/B codes and names; the Library of Congress code list is the oracle."""
    from voxcli.text.languages import normalise_tag

    assert normalise_tag(declared) == tag


def test_bad_lang_option_is_one_line(isolated: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["convert", str(corpus_file(*FRENCH)), "--lang", "fr ench", "--dry-run"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--lang: 'fr ench' is not a language tag" in result.output


def kokoro_voices(kokoro_dir: Path, isolated: Path, languages: str) -> Path:
    """A voices.toml with eSpeak-NG's English as profile 'reader' and the real Kokoro-82M int8 model's
    Japanese voice (test packages) as profile 'sakura', speaking ``lang = ...`` as the test says."""
    from tests.conftest import KOKORO_MODEL

    path = isolated / "voices.toml"
    path.write_text(
        READER + '[voices.sakura]\nengine = "kokoro-onnx"\nvoice = "jf_alpha"\nlang = "ja"\n'
        f'[voices.sakura.options]\nmodel = "{kokoro_dir / KOKORO_MODEL}"\n'
        f'voices = "{kokoro_dir / "voices_ja.npz"}"\nvocab = "{kokoro_dir / "vocab.json"}"\n'
        f"[languages]\n{languages}\n",
        encoding="utf-8",
    )
    return path


def test_japanese_manual_goes_to_the_kokoro_voice_mapped_to_ja(
    isolated: Path, runner: CliRunner, kokoro_dir: Path
) -> None:
    """A neural voice mapped to the language wins over eSpeak-NG (the plan; the next test makes Kokoro
    speak)."""
    voices = kokoro_voices(kokoro_dir, isolated, 'en = "reader"\nja = "sakura"\n"*" = "espeak"')
    args = [
        str(corpus_file(*JAPANESE)),
        "--voices",
        str(voices),
        "-o",
        str(isolated / "o"),
        "--chapters",
        "184",
    ]
    _, plan = convert(runner, *args, "--dry-run")
    assert plan["voice"] == "sakura" and plan["engine"] == "kokoro-onnx"
    assert {s["voice"] for c in plan["chapters"] for s in c["segments"]} == {"sakura"}


@pytest.mark.slow  # Kokoro-82M (int8) speaks the Latin lines of a chapter eSpeak-NG reads
def test_passages_of_a_voice_at_another_rate_are_resampled_to_the_books(
    isolated: Path, runner: CliRunner, kokoro_dir: Path, spoken: list[tuple[str, str, str]], ffmpeg: None
) -> None:
    """Latin passages go to a 24 kHz Kokoro voice, the rest to a 22.05 kHz eSpeak-NG voice: the chapter
    is one 22.05 kHz file as long as its parts (ffprobe against the manifest's sample count)."""
    voices = kokoro_voices(kokoro_dir, isolated, 'en = "reader"\nla = "sakura"')
    out = isolated / "out"
    args = [str(corpus_file(*WASTELAND)), "--voices", str(voices), "-o", str(out), "--chapters", "1"]
    convert(runner, *args, "--format", "wav", "--loudness", "off", "-j", "1")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["voice"]["passages"]["voices"] == {"la": "sakura"}
    chapter = manifest["chapters"][0]
    probe = subprocess.run(
        [
            *("ffprobe", "-v", "error", "-show_entries", "stream=sample_rate,duration_ts", "-of", "json"),
            str(out / chapter["files"]["wav"]),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    stream = json.loads(probe.stdout)["streams"][0]
    assert stream["sample_rate"] == "22050" and int(stream["duration_ts"]) == chapter["samples"]
    latin = [text for engine, _, text in spoken if engine == "kokoro-onnx"]
    assert any("respondebat" not in t and "Sibyllam" in t for t in latin), latin
    assert not [t for engine, _, t in spoken if engine == "espeak" and "Sibyllam" in t]
