"""lexicon.toml: entries that say how to pronounce a word or phrase; read, validated and merged.

Layers, later wins: the user's (``~/.config/voxcli/lexicon.toml``), the book's own (``BOOK.lexicon.toml``
beside it, or ``--lexicon FILE``), and the voice profile's ``[voices.NAME.lexicon]``. The book's PLS
and SSML pronunciations sit below them all.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from voxcli.errors import ConfigError

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover - Python 3.10
    pass

FILE_NAME = "lexicon.toml"
BOOK_SUFFIX = ".lexicon.toml"
MAX_KEY = 200

# What an IPA transcription is made of: IPA letters (Latin, IPA Extensions, a few Greek), modifier
# letters, combining diacritics, stress, length, syllable and linking marks, and spaces.
_IPA_EXTRA = set("æçðøħŋœɶθβχɸʎʟɬɮʋɹɻɰʁʀʔʕʢʡǀǁǂǃʘɓɗʄɠʛɡ.ˈˌːˑ‿|‖ ")


def bad_ipa(ipa: str) -> list[str]:
    """The characters of ``ipa`` that are not IPA (uppercase letters, digits, punctuation), in order."""
    bad: list[str] = []
    for ch in unicodedata.normalize("NFD", ipa):
        code = ord(ch)
        ok = (
            "a" <= ch <= "z"
            or 0x250 <= code <= 0x2FF  # IPA extensions, spacing modifier letters
            or 0x300 <= code <= 0x36F  # combining diacritics (tie bars included)
            or 0x1D00 <= code <= 0x1DBF  # phonetic extensions (ᵊ, ᵻ, ...)
            or ch in _IPA_EXTRA
        )
        if not ok and ch not in bad:
            bad.append(ch)
    return bad


class EntryModel(BaseModel):
    """One entry: a word or phrase (the table's key) and how to say it."""

    model_config = ConfigDict(strict=True, extra="forbid")

    say: str | None = Field(default=None, min_length=1, max_length=500)  # a respelling: "Her-MY-oh-nee"
    ipa: str | None = Field(default=None, min_length=1, max_length=500)
    phonemes: dict[str, str] = Field(default_factory=dict)  # engine name -> that engine's own phonemes
    match_case: bool = False  # true: only this exact capitalisation
    regex: bool = False  # true: the key is a regular expression (still matched as whole words)

    @field_validator("say")
    @classmethod
    def _say(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = " ".join(value.split())
        if not any(ch.isalnum() for ch in value):
            raise ValueError("a respelling needs letters (a blank one would silence the word)")
        return value

    @field_validator("phonemes")
    @classmethod
    def _phonemes(cls, value: dict[str, str]) -> dict[str, str]:
        blank = [engine for engine, phonemes in value.items() if not phonemes.strip()]
        if blank:
            raise ValueError(f"phonemes for {', '.join(blank)} are blank")
        return {engine: " ".join(phonemes.split()) for engine, phonemes in value.items()}

    @field_validator("ipa")
    @classmethod
    def _ipa(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = unicodedata.normalize("NFC", value.strip().strip("/[]").strip())
        if not value:
            raise ValueError("the IPA is blank")
        bad = bad_ipa(value)
        if bad:
            shown = ", ".join(f"'{ch}'" for ch in bad)
            raise ValueError(f"{shown} {'is' if len(bad) == 1 else 'are'} not IPA")
        return value

    @model_validator(mode="after")
    def _some_form(self) -> EntryModel:
        if self.say is None and self.ipa is None and not self.phonemes:
            raise ValueError("gives no pronunciation (add say, ipa or phonemes)")
        return self


@dataclass(frozen=True)
class Entry:
    """A validated entry, with the file it came from (for messages)."""

    key: str
    say: str | None = None
    ipa: str | None = None
    phonemes: dict[str, str] = field(default_factory=dict)
    match_case: bool = False
    regex: bool = False
    source: str = ""  # "lexicon.toml", "voices.toml: voices.joe.lexicon", "the book's PLS lexicon"

    @property
    def label(self) -> str:
        """How messages name the entry: ``lexicon.toml: Queequeg``."""
        return f"{self.source}: {self.key}" if self.source else self.key

    @property
    def identity(self) -> str:
        """Entries with the same identity are the same word: a later layer's replaces an earlier's."""
        if self.regex or self.match_case:
            return ("re:" if self.regex else "") + self.key
        return self.key.casefold()


@dataclass(frozen=True)
class Lexicon:
    """Entries in order of precedence, lowest first."""

    entries: tuple[Entry, ...] = ()

    def merged(self, other: Lexicon) -> Lexicon:
        """This lexicon with ``other`` on top: an entry of ``other`` replaces one for the same word."""
        replaced = {entry.identity for entry in other.entries}
        return Lexicon(tuple(e for e in self.entries if e.identity not in replaced) + other.entries)

    def __len__(self) -> int:
        return len(self.entries)


def parse_lexicon(data: dict[str, Any], label: str, prefix: tuple[str, ...] = ()) -> Lexicon:
    """Validate a lexicon table (a file's data, or a profile's ``lexicon``); errors name the key path."""
    from voxcli.config import validation_error

    entries: list[Entry] = []
    where = ".".join(prefix)
    for key, value in data.items():
        path = (*prefix, key)
        if not isinstance(value, dict):
            raise ConfigError(
                f"{label}: {'.'.join(path)}: expected a table, got {type(value).__name__} {value!r}",
                f'write it as {_quoted(key)} = {{ say = "..." }} or {{ ipa = "..." }}',
            )
        word = " ".join(str(key).split())
        if not word or len(word) > MAX_KEY:
            raise ConfigError(
                f"{label}: {'.'.join(path)}: a word must be 1 to {MAX_KEY} characters", "fix the key"
            )
        try:
            model = EntryModel.model_validate(value)
        except ValidationError as exc:
            raise validation_error(exc, label, path, EntryModel) from None
        from voxcli.engines import registry, unknown_engine

        unknown = [name for name in model.phonemes if name not in registry()]
        if unknown:
            problem = unknown_engine(unknown[0], f"{label}: {'.'.join((*path, 'phonemes', unknown[0]))}")
            raise ConfigError(problem.message, problem.fix)
        if model.regex:
            try:
                whole_words(word, model.match_case)
            except re.error as exc:
                raise ConfigError(
                    f"{label}: {'.'.join(path)}: not a valid regular expression ({exc})",
                    "fix the pattern (no inline flags such as (?i): match_case says it), "
                    "or remove regex = true to match the words literally",
                ) from None
        entries.append(
            Entry(
                key=word,
                say=model.say,
                ipa=model.ipa,
                phonemes=dict(model.phonemes),
                match_case=model.match_case,
                regex=model.regex,
                source=f"{label}: {where}" if where else label,
            )
        )
    return Lexicon(tuple(entries))


def whole_words(pattern: str, match_case: bool) -> re.Pattern[str]:
    """A regex entry's pattern, matched as whole words (``(?i)`` and other global flags are refused:
    ``match_case`` says it)."""
    flags = 0 if match_case else re.IGNORECASE
    return re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", flags)


def read_lexicon(path: Path, label: str | None = None) -> Lexicon:
    """A lexicon.toml file, validated; a missing or broken file is a one-line ConfigError."""
    from voxcli.config import read_toml

    name = label or str(path)
    missing = (f"lexicon file not found: {path}", "check the path given to --lexicon")
    return parse_lexicon(read_toml(path, name, missing), name)


def user_lexicon_path() -> Path:
    """The user's own lexicon.toml (it may not exist)."""
    import platformdirs

    return platformdirs.user_config_path("voxcli") / FILE_NAME


def book_lexicon_path(book: str) -> Path | None:
    """``BOOK.lexicon.toml`` beside the book (``moby-dick.lexicon.toml`` for ``moby-dick.epub``)."""
    if book == "-":
        return None
    path = Path(book).expanduser()
    return path.with_name(path.stem + BOOK_SUFFIX)


def user_lexicons(book: str, explicit: str | None = None) -> Lexicon:
    """The user's lexicon with the book's (``--lexicon FILE``, else the one beside the book) on top."""
    merged = Lexicon()
    user = user_lexicon_path()
    if user.is_file():
        merged = merged.merged(read_lexicon(user))
    if explicit is not None:
        merged = merged.merged(read_lexicon(Path(explicit).expanduser(), explicit))
    else:
        beside = book_lexicon_path(book)
        if beside is not None and beside.is_file():
            merged = merged.merged(read_lexicon(beside, beside.name))
    return merged


def _quoted(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else '"' + key.replace('"', '\\"') + '"'
