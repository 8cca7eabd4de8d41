"""lexicon.toml: validated like voices.toml (one line naming the file and key path), and merged in order.

Layers, later wins: the user's lexicon.toml, then BOOK.lexicon.toml beside the book, or ``--lexicon FILE``
instead of it, then the voice profile's ``[voices.NAME.lexicon]``. What each layer does is read from
``convert --dry-run --json``: a sentence's ``speech`` carries the respelling (``say``) and its ``text``
keeps the book's spelling.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from voxcli.cli import app
from voxcli.config import parse_voices
from voxcli.errors import ConfigError
from voxcli.lexicon.model import Lexicon, parse_lexicon, read_lexicon, user_lexicon_path

BOOK = "voyage.txt"
SENTENCES = {
    "call": "Call me Ishmael.",
    "q": "Queequeg was a harpooneer.",
    "plural": "Queequegs are many.",
    "upper": "QUEEQUEG shouted.",
    "lower": "queequeg slept.",
    "ahabs": "Starbuck and Ahab's boat.",
    "ahab": "Ahab stood.",
}
BOOK_TEXT = (
    f"{SENTENCES['call']} {SENTENCES['q']}\n\n"
    f"{SENTENCES['plural']} {SENTENCES['upper']} {SENTENCES['lower']}\n\n"
    f"{SENTENCES['ahabs']} {SENTENCES['ahab']}\n"
)
VOICE = ["-v", "espeak:en-us"]
JOE = '[voices.joe]\nengine = "espeak"\nvoice = "en-us"\n\n[voices.joe.lexicon]\n'

# (lexicon.toml text, the key path the message must name, words the message must hold)
MISTAKES = {
    "unknown field": ('Queequeg = { sya = "kwee-kweg" }\n', "Queequeg.sya", ["unknown field", "'say'"]),
    "not IPA": ('Queequeg = { ipa = "QW3" }\n', "Queequeg.ipa", ["not IPA"]),
    "no pronunciation": ("Queequeg = { match_case = true }\n", "Queequeg", ["say", "ipa"]),
    "bad regex": (
        '"Ahab(" = { say = "Ay-hab", regex = true }\n',
        "Ahab(",
        ["not a valid regular expression"],
    ),
    "not a table": ('Queequeg = "kwee"\n', "Queequeg", ["expected a table"]),
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def one_error_line(result: Result) -> str:
    """The single 'error: ...' line of a failed command: a ConfigError's exit code, no traceback."""
    assert result.exit_code == ConfigError.exit_code == 4, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert result.stdout == ""
    return lines[0]


def convert(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, ["convert", BOOK, "--dry-run", "--json", *VOICE, *args])


def speech(runner: CliRunner, *args: str, voice: list[str] = VOICE) -> dict[str, str]:
    """Sentence text -> what the engine is given, from the dry-run plan of the test book."""
    result = runner.invoke(app, ["convert", BOOK, "--dry-run", "--json", *voice, *args])
    assert result.exit_code == 0, result.output
    plan: dict[str, Any] = json.loads(result.stdout)
    said = {s["text"]: s["speech"] for c in plan["chapters"] for s in c["segments"] if s["kind"] == "text"}
    assert set(said) == set(SENTENCES.values()), said  # the sentences are cut where the test expects
    return said


@pytest.fixture
def book(isolated: Path) -> Path:
    return write(isolated / BOOK, BOOK_TEXT)


@pytest.fixture
def user_lexicon(isolated: Path, tmp_path: Path) -> Path:
    """Where the user's lexicon.toml is under the ``isolated`` fixture (XDG_CONFIG_HOME/voxcli)."""
    path = tmp_path / "config" / "voxcli" / "lexicon.toml"
    assert user_lexicon_path() == path
    return path


# ---- validation: parse_lexicon and read_lexicon -----------------------------------------------------


@pytest.mark.parametrize("name", list(MISTAKES))
def test_read_lexicon_names_file_and_key(name: str, tmp_path: Path) -> None:
    text, key, phrases = MISTAKES[name]
    path = write(tmp_path / "lex.toml", text)
    with pytest.raises(ConfigError) as caught:
        read_lexicon(path, "lex.toml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"lex.toml: {key}:"), message
    for phrase in phrases:
        assert phrase in message, message


def test_parse_lexicon_data_and_prefix() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_lexicon({"Queequeg": {"sya": "kwee"}}, "voices.toml", ("voices", "joe", "lexicon"))
    assert str(caught.value).startswith("voices.toml: voices.joe.lexicon.Queequeg.sya: ")
    with pytest.raises(ConfigError, match=r"Queequeg: expected a table"):
        parse_lexicon({"Queequeg": "kwee"}, "lex.toml")
    with pytest.raises(ConfigError, match=r"Queequeg\.say: expected a string"):
        parse_lexicon({"Queequeg": {"say": 3}}, "lex.toml")
    with pytest.raises(ConfigError, match=r"Queequeg\.match_case: expected true or false"):
        parse_lexicon({"Queequeg": {"say": "kwee", "match_case": "yes"}}, "lex.toml")


def test_valid_entries_are_read() -> None:
    lexicon = parse_lexicon(
        {
            "Queequeg": {"ipa": "/ˈkwiːkwɛɡ/"},  # slashes around IPA, as dictionaries print it
            "Ahab('s)?": {"say": "Ay-hab", "regex": True},
            "Pip": {"say": "Pip", "match_case": True, "phonemes": {"espeak": "p'Ip"}},
        },
        "lex.toml",
    )
    assert isinstance(lexicon, Lexicon) and len(lexicon) == 3
    queequeg, ahab, pip = lexicon.entries
    assert (queequeg.key, queequeg.ipa, queequeg.say) == ("Queequeg", "ˈkwiːkwɛɡ", None)
    assert ahab.regex and ahab.say == "Ay-hab"
    assert pip.match_case and pip.phonemes == {"espeak": "p'Ip"}


def test_read_lexicon_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path / "lex.toml", 'Queequeg = { say = "kwee"\n')
    with pytest.raises(ConfigError) as caught:
        read_lexicon(path, "lex.toml")
    assert str(caught.value).startswith("lex.toml: invalid TOML")
    assert "\n" not in str(caught.value)


def test_read_lexicon_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lexicon file not found"):
        read_lexicon(tmp_path / "nowhere.toml")


# ---- validation through the CLI ---------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MISTAKES))
def test_cli_lexicon_mistake_is_one_line(name: str, runner: CliRunner, book: Path) -> None:
    text, key, phrases = MISTAKES[name]
    write(book.parent / "lex.toml", text)
    line = one_error_line(convert(runner, "--lexicon", "lex.toml"))
    assert f"lex.toml: {key}:" in line, line
    for phrase in phrases:
        assert phrase in line, line


def test_cli_invalid_toml(runner: CliRunner, book: Path) -> None:
    write(book.parent / "lex.toml", 'Queequeg = { say = "kwee"\n\n[broken\n')
    line = one_error_line(convert(runner, "--lexicon", "lex.toml"))
    assert "lex.toml" in line and "invalid TOML" in line, line


def test_cli_missing_lexicon_file(runner: CliRunner, book: Path) -> None:
    line = one_error_line(convert(runner, "--lexicon", "nowhere.toml"))
    assert "lexicon file not found" in line and "nowhere.toml" in line, line


def test_cli_broken_lexicon_beside_the_book(runner: CliRunner, book: Path) -> None:
    write(book.with_name("voyage.lexicon.toml"), 'Queequeg = { sya = "kwee" }\n')
    line = one_error_line(convert(runner))
    assert "voyage.lexicon.toml: Queequeg.sya: unknown field" in line, line


def test_cli_broken_user_lexicon(runner: CliRunner, book: Path, user_lexicon: Path) -> None:
    write(user_lexicon, "Queequeg = = 1\n")
    line = one_error_line(convert(runner))
    assert str(user_lexicon) in line and "invalid TOML" in line, line


# ---- validation inside a voices.toml profile --------------------------------------------------------


@pytest.mark.parametrize("name", list(MISTAKES))
def test_profile_lexicon_mistake_names_key_path(name: str, isolated: Path) -> None:
    text, key, phrases = MISTAKES[name]
    with pytest.raises(ConfigError) as caught:
        parse_voices(JOE + text, "voices.toml", None)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"voices.toml: voices.joe.lexicon.{key}:"), message
    for phrase in phrases:
        assert phrase in message, message


def test_profile_lexicon_mistake_through_the_cli(runner: CliRunner, book: Path) -> None:
    write(book.parent / "voices.toml", JOE + 'Queequeg = { ipa = "QW3" }\n')
    result = runner.invoke(app, ["convert", BOOK, "--dry-run", "--json", "-v", "joe"])
    line = one_error_line(result)
    assert "voices.toml: voices.joe.lexicon.Queequeg.ipa:" in line and "not IPA" in line, line


def test_profile_lexicon_is_kept(isolated: Path) -> None:
    voices = parse_voices(JOE + 'Queequeg = { say = "kwee-joe" }\n', "voices.toml", None)
    lexicon = voices.profiles["joe"].lexicon
    assert lexicon is not None and [(e.key, e.say) for e in lexicon.entries] == [("Queequeg", "kwee-joe")]


# ---- what the entries do, read from the plan's speech -----------------------------------------------


def test_no_lexicon_reads_as_written(runner: CliRunner, book: Path) -> None:
    said = speech(runner)
    assert "Queequeg" in said[SENTENCES["q"]] and "Ahab" in said[SENTENCES["ahab"]]


def test_user_lexicon_applies(runner: CliRunner, book: Path, user_lexicon: Path) -> None:
    write(user_lexicon, 'Queequeg = { say = "kwee-user" }\n')
    said = speech(runner)
    assert "kwee-user" in said[SENTENCES["q"]] and "Queequeg" not in said[SENTENCES["q"]]


def test_beside_the_book_beats_the_user_case_insensitively(
    runner: CliRunner, book: Path, user_lexicon: Path
) -> None:
    write(user_lexicon, 'Queequeg = { say = "kwee-user" }\nStarbuck = { say = "star-user" }\n')
    write(book.with_name("voyage.lexicon.toml"), 'QUEEQUEG = { say = "kwee-beside" }\n')
    said = speech(runner)
    assert "kwee-beside" in said[SENTENCES["q"]] and "kwee-user" not in said[SENTENCES["q"]]
    assert "star-user" in said[SENTENCES["ahabs"]]  # the user's other entries stay


def test_explicit_lexicon_replaces_the_one_beside_the_book(
    runner: CliRunner, book: Path, user_lexicon: Path
) -> None:
    write(user_lexicon, 'Queequeg = { say = "kwee-user" }\nStarbuck = { say = "star-user" }\n')
    write(
        book.with_name("voyage.lexicon.toml"),
        'Queequeg = { say = "kwee-beside" }\nAhab = { say = "ay-beside" }\n',
    )
    write(book.parent / "mine.toml", 'queequeg = { say = "kwee-explicit" }\n')
    said = speech(runner, "--lexicon", "mine.toml")
    assert "kwee-explicit" in said[SENTENCES["q"]]
    assert "kwee-user" not in said[SENTENCES["q"]] and "kwee-beside" not in said[SENTENCES["q"]]
    assert "ay-beside" not in said[SENTENCES["ahab"]] and "Ahab" in said[SENTENCES["ahab"]]  # not read
    assert "star-user" in said[SENTENCES["ahabs"]]


def test_explicit_lexicon_means_the_one_beside_is_not_read(runner: CliRunner, book: Path) -> None:
    write(book.with_name("voyage.lexicon.toml"), "this is not TOML\n")
    write(book.parent / "mine.toml", 'Queequeg = { say = "kwee-explicit" }\n')
    said = speech(runner, "--lexicon", "mine.toml")
    assert "kwee-explicit" in said[SENTENCES["q"]]


def test_profile_lexicon_is_on_top(runner: CliRunner, book: Path, user_lexicon: Path) -> None:
    write(user_lexicon, 'Queequeg = { say = "kwee-user" }\n')
    write(book.parent / "mine.toml", 'Queequeg = { say = "kwee-explicit" }\nAhab = { say = "ay-explicit" }\n')
    write(book.parent / "voices.toml", JOE + 'Queequeg = { say = "kwee-joe" }\n')
    said = speech(runner, "--lexicon", "mine.toml", voice=["-v", "joe"])
    assert "kwee-joe" in said[SENTENCES["q"]] and "kwee-explicit" not in said[SENTENCES["q"]]
    assert "ay-explicit" in said[SENTENCES["ahab"]]


def test_match_case_entries_are_words_of_their_own(runner: CliRunner, book: Path, user_lexicon: Path) -> None:
    """With match_case, 'Queequeg' and 'QUEEQUEG' are different words: a later layer's entry for one
    does not replace an earlier layer's for the other; the same exact key is replaced."""
    write(
        user_lexicon,
        'Queequeg = { say = "kwee-user", match_case = true }\n'
        'Ahab = { say = "ay-user", match_case = true }\n',
    )
    write(
        book.with_name("voyage.lexicon.toml"),
        'QUEEQUEG = { say = "KWEE-BESIDE", match_case = true }\n'
        'Ahab = { say = "ay-beside", match_case = true }\n',
    )
    said = speech(runner)
    assert "kwee-user" in said[SENTENCES["q"]]
    assert "kwee-beside" in said[SENTENCES["upper"]].lower()  # stress capitals are lowered for the engine
    assert "queequeg" in said[SENTENCES["lower"]]  # neither entry matches this spelling
    assert "ay-beside" in said[SENTENCES["ahab"]] and "ay-user" not in said[SENTENCES["ahab"]]


def test_whole_words_only_and_case_insensitive(runner: CliRunner, book: Path) -> None:
    write(book.parent / "mine.toml", 'Queequeg = { say = "kwee-kweg" }\nharpoon = { say = "HAR-POON" }\n')
    said = speech(runner, "--lexicon", "mine.toml")
    for key in ("q", "upper", "lower"):
        assert "kwee-kweg" in said[SENTENCES[key]], said[SENTENCES[key]]
        assert "queequeg" not in said[SENTENCES[key]].lower()
    assert "kwee-kweg" not in said[SENTENCES["plural"]] and "Queequegs" in said[SENTENCES["plural"]]
    assert "HAR-POON" not in said[SENTENCES["q"]] and "harpooneer" in said[SENTENCES["q"]]


def test_match_case_restricts(runner: CliRunner, book: Path) -> None:
    write(book.parent / "mine.toml", 'Queequeg = { say = "kwee-kweg", match_case = true }\n')
    said = speech(runner, "--lexicon", "mine.toml")
    assert "kwee-kweg" in said[SENTENCES["q"]]
    assert "kwee-kweg" not in said[SENTENCES["upper"]] and "QUEEQUEG" in said[SENTENCES["upper"]]
    assert "kwee-kweg" not in said[SENTENCES["lower"]] and "queequeg" in said[SENTENCES["lower"]]


def test_regex_entries_match_whole_words(runner: CliRunner, book: Path) -> None:
    write(
        book.parent / "mine.toml",
        '"Ahab(\'s)?" = { say = "Ay-hab", regex = true }\n'
        '"buck" = { say = "BUCK-X", regex = true }\n'  # inside Starbuck: not a match
        '"Quee\\\\w+" = { say = "KWEE-RE", regex = true, match_case = true }\n',
    )
    said = speech(runner, "--lexicon", "mine.toml")
    ahabs, ahab = said[SENTENCES["ahabs"]], said[SENTENCES["ahab"]]
    assert "Ay-hab" in ahabs and "Ahab" not in ahabs and "'s" not in ahabs, ahabs
    assert "Ay-hab" in ahab and "Ahab" not in ahab, ahab
    assert "BUCK-X" not in ahabs and "Starbuck" in ahabs, ahabs
    # (Respellings in capitals reach the engine in lower case: front ends spell capitals out.)
    assert "kwee-re" in said[SENTENCES["q"]].lower() and "kwee-re" in said[SENTENCES["plural"]].lower()
    assert (
        "kwee-re" not in said[SENTENCES["upper"]].lower()
        and "kwee-re" not in said[SENTENCES["lower"]].lower()
    )


def test_text_keeps_the_books_spelling(runner: CliRunner, book: Path) -> None:
    write(book.parent / "mine.toml", 'Queequeg = { say = "kwee-kweg" }\n')
    result = convert(runner, "--lexicon", "mine.toml")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    segments = [s for c in plan["chapters"] for s in c["segments"] if s["kind"] == "text"]
    changed = [s for s in segments if "kwee-kweg" in s["speech"]]
    assert {s["text"] for s in changed} == {SENTENCES["q"], SENTENCES["upper"], SENTENCES["lower"]}
    assert all("kwee-kweg" not in s["text"] for s in segments)


# ---- entries that pass validation must be usable -----------------------------------------------------


@pytest.mark.parametrize(
    "entry",
    [{"say": "   "}, {"ipa": "//"}, {"ipa": "[ ]"}],
    ids=["blank say", "ipa of slashes only", "ipa of brackets only"],
)
def test_blank_pronunciation_is_rejected(entry: dict[str, Any]) -> None:
    """An entry whose only pronunciation is blank gives none: it is a mistake like giving none at all."""
    with pytest.raises(ConfigError) as caught:
        parse_lexicon({"Queequeg": entry}, "lex.toml")
    assert str(caught.value).startswith("lex.toml: Queequeg"), str(caught.value)


def test_blank_say_does_not_silence_the_word(runner: CliRunner, book: Path) -> None:
    """say = "   " must be refused, not turn "Queequeg" into nothing in the speech."""
    write(book.parent / "mine.toml", 'Queequeg = { say = "   " }\n')
    line = one_error_line(convert(runner, "--lexicon", "mine.toml"))
    assert "mine.toml: Queequeg" in line, line


def test_regex_accepted_by_validation_works_in_convert(runner: CliRunner, book: Path) -> None:
    """A pattern that parse_lexicon accepts (here with an inline flag group) must be usable, or be
    refused as invalid with the one-line ConfigError; never an internal error."""
    write(book.parent / "mine.toml", '"(?i)ahab" = { say = "ay-hab", regex = true }\n')
    result = convert(runner, "--lexicon", "mine.toml")
    assert "internal error" not in result.output, result.output
    if result.exit_code == ConfigError.exit_code:  # refused when the file is read: fine too
        line = one_error_line(result)
        assert "mine.toml: (?i)ahab: not a valid regular expression" in line, line
        return
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    said = {s["text"]: s["speech"] for c in plan["chapters"] for s in c["segments"]}
    assert "ay-hab" in said[SENTENCES["ahab"]]
