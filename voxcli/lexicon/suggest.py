"""``voxcli lexicon suggest``: the words of a book a reader most likely needs an entry for.

Names and rare words: words no pronouncing dictionary of the language knows (for English, CMUdict
as PocketSphinx ships it), plus names (capitalised inside sentences, never written in lower case).
Each comes with its count, an example sentence and the G2P's guess today (eSpeak-NG's IPA, which
Piper and Kokoro speak from), ready to edit as lexicon.toml.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from voxcli.book import Book
from voxcli.lexicon.model import Lexicon

_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_]))*")
_ROMAN = re.compile(r"^[IVXLCDM]+$")


@dataclass(frozen=True)
class Suggestion:
    word: str  # as the book writes it most often
    count: int
    example: str  # a sentence it occurs in
    guess: str | None  # the G2P's IPA today, when it can tell
    why: str  # "not in the dictionary", "a name"


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """CMUdict's words (lower case), as PocketSphinx ships them; empty when it is not installed."""
    try:
        import pocketsphinx
    except ImportError:
        return frozenset()
    words: set[str] = set()
    path = Path(pocketsphinx.get_model_path("en-us/cmudict-en-us.dict"))
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            word = line.split(" ", 1)[0]
            words.add(word.split("(", 1)[0])
    return frozenset(words)


def suggest(
    book: Book, lang: str, known: Lexicon | None = None, min_count: int = 2, limit: int = 50
) -> list[Suggestion]:
    """The words most worth a lexicon entry, most frequent first; words ``known`` covers are left out."""
    english = lang.lower().startswith("en")
    dictionary = english_words() if english else frozenset()
    covered = {e.key.casefold() for e in (known.entries if known else ()) if not e.regex}
    counts: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    examples: dict[str, str] = {}
    lower_seen: set[str] = set()
    inside_caps: Counter[str] = Counter()
    for sentence in _sentences(book):
        for position, match in enumerate(_WORD.finditer(sentence)):
            word = re.sub(r"['’]s$", "", match.group())
            folded = word.casefold()
            if len(word) < 3 or folded in covered:
                continue
            counts[folded] += 1
            spellings.setdefault(folded, Counter())[word] += 1
            examples.setdefault(folded, sentence)
            if word.islower():
                lower_seen.add(folded)
            elif position > 0 and word[0].isupper() and not word.isupper():
                inside_caps[folded] += 1
    found: list[Suggestion] = []
    for folded, count in counts.most_common():
        if count < min_count:
            break
        word = spellings[folded].most_common(1)[0][0]
        if _ROMAN.match(word):
            continue
        unknown = bool(dictionary) and not _known(folded, dictionary)
        name = folded not in lower_seen and inside_caps[folded] > 0 and (not dictionary or unknown)
        if not (unknown or name):
            continue
        found.append(
            Suggestion(word, count, _trim(examples[folded], word), None, "a name" if name else "rare word")
        )
        if len(found) >= limit:
            break
    guesses = guess_ipa([s.word for s in found], lang)
    return [Suggestion(s.word, s.count, s.example, guesses.get(s.word), s.why) for s in found]


def _known(word: str, dictionary: frozenset[str]) -> bool:
    """In the dictionary, or a compound ("mast-head") of words that are."""
    word = word.replace("’", "'")
    if word in dictionary:
        return True
    parts = word.split("-")
    return len(parts) > 1 and all(part in dictionary for part in parts)


def guess_ipa(words: Iterable[str], lang: str) -> dict[str, str]:
    """eSpeak-NG's IPA for each word (what Piper and Kokoro-onnx say today); {} without eSpeak-NG."""
    try:
        from piper.phonemize_espeak import EspeakPhonemizer
    except ImportError:
        return {}
    phonemizer = EspeakPhonemizer()
    voice = lang.lower().replace("_", "-") or "en-us"
    guesses: dict[str, str] = {}
    for word in words:
        try:
            found = phonemizer.phonemize(voice, word)
        except Exception:  # an eSpeak-NG without this language: no guess
            return guesses
        guesses[word] = "".join(p for sentence in found for p in sentence).strip()
    return guesses


def as_toml(found: list[Suggestion], title: str) -> str:
    """The suggestions as a lexicon.toml to edit: every entry commented out until it is filled in."""
    lines = [
        f"# Pronunciations to check in {title} (voxcli lexicon suggest).",
        '# For each word: uncomment its line, then give say = "a respelling" or ipa = "...".',
        '# Try one first: voxcli lexicon try WORD --ipa "..." (or --say "...").',
        "",
    ]
    for item in found:
        example = item.example.replace("\n", " ")
        lines.append(f'# {item.word}: {item.count} times ({item.why}), e.g. "{example}"')
        key = (
            item.word
            if re.fullmatch(r"[A-Za-z0-9_-]+", item.word)
            else '"' + item.word.replace('"', '\\"') + '"'
        )
        value = f'ipa = "{item.guess}"' if item.guess else 'say = ""'
        lines.append(f"# {key} = {{ {value} }}" + ("  # the G2P's guess today" if item.guess else ""))
        lines.append("")
    return "\n".join(lines)


def _sentences(book: Book) -> Iterable[str]:
    for chapter in book.chapters:
        for paragraph in chapter.paragraphs:
            yield from re.split(r"(?<=[.!?])\s+", paragraph)


def _trim(sentence: str, word: str, width: int = 100) -> str:
    text = " ".join(sentence.split()).replace('"', "'")
    if len(text) <= width:
        return text
    at = max(text.find(word), 0)
    start = max(0, at - width // 2)
    return ("…" if start else "") + text[start : start + width].strip() + "…"
