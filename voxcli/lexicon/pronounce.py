"""Pronunciations applied for one engine: each entry in the best form the engine can take.

Phonemes for engines with the "phonemes" capability (in their own alphabet, checked against the
symbols their model knows), else a respelling. Text with no entry in it is normalised exactly as
without a lexicon, so its audio cache key does not change: a new entry re-speaks only the sentences
that contain it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from voxcli.book import Book, Mark
from voxcli.engines.base import Engine, VoiceProfile
from voxcli.lexicon.model import Entry, Lexicon, whole_words
from voxcli.text.markup import span

PLS_SOURCE = "the book's PLS lexicon"
SSML_SOURCE = "the book's SSML"

# Tiers of precedence where two pronunciations cover the same words: the user's always win.
_PLS, _SSML, _USER = 0, 1, 2


@dataclass(frozen=True)
class Form:
    """How one engine is given a pronunciation: phonemes (its alphabet) or words to read."""

    phonemes: str | None = None
    say: str | None = None


@dataclass(frozen=True)
class Found:
    """A stretch of a text with a pronunciation."""

    start: int
    end: int
    tier: int
    form: Form | None  # None: no form this engine can use (the text is read as written)


def book_lexicon(book: Book) -> Lexicon:
    """The book's PLS lexemes as entries (graphemes match case, as PLS says)."""
    return Lexicon(
        tuple(
            Entry(key=p.grapheme, ipa=p.ipa or None, say=p.say or None, match_case=True, source=PLS_SOURCE)
            for p in book.lexicon
        )
    )


class _Matcher:
    """Every entry of one tier, found in a text as whole words."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.literal: dict[str, Entry] = {}
        self.folded: dict[str, Entry] = {}
        self.patterns: list[tuple[re.Pattern[str], Entry]] = []
        for entry in entries:
            if entry.regex:
                self.patterns.append((whole_words(entry.key, entry.match_case), entry))
            elif entry.match_case:
                self.literal[entry.key] = entry
            else:
                self.folded[entry.key.casefold()] = entry
        self._exact = _alternation(self.literal, 0)
        # The pattern from the keys as written: casefolding can change a word's length (Greek "ῖ" is
        # two characters folded), and the regular expression's own case-insensitivity does not.
        self._any = _alternation({e.key: e for e in self.folded.values()}, re.IGNORECASE)

    def find(self, text: str) -> list[tuple[int, int, Entry]]:
        found: list[tuple[int, int, Entry]] = []
        if self._exact is not None:
            found += [(m.start(), m.end(), self.literal[m.group()]) for m in self._exact.finditer(text)]
        if self._any is not None:
            for m in self._any.finditer(text):
                entry = self.folded.get(m.group().casefold())
                if entry is not None:
                    found.append((m.start(), m.end(), entry))
        for pattern, entry in self.patterns:
            found += [(m.start(), m.end(), entry) for m in pattern.finditer(text) if m.end() > m.start()]
        return found


def _alternation(words: dict[str, Entry], flags: int) -> re.Pattern[str] | None:
    if not words:
        return None
    ordered = sorted(words, key=len, reverse=True)  # the longest phrase first
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in ordered) + r")(?!\w)", flags)


@dataclass
class Pronouncer:
    """The lexicon layers, resolved for one engine and profile."""

    engine: type[Engine]
    profile: VoiceProfile
    book: Lexicon = field(default_factory=Lexicon)  # the book's PLS (below everything)
    user: Lexicon = field(default_factory=Lexicon)  # the user's files and the profile's table
    use_marks: bool = True  # the book's SSML pronunciations
    _forms: dict[tuple[str, str | None, str | None, tuple[tuple[str, str], ...]], Form | None] = field(
        default_factory=dict
    )
    _problems: dict[str, str] = field(default_factory=dict)  # entry label -> warning

    def __post_init__(self) -> None:
        self._symbols = self.engine.phoneme_symbols(self.profile) if self._takes_phonemes else None
        self._tiers = [(_PLS, _Matcher(self.book.entries)), (_USER, _Matcher(self.user.entries))]
        for entry in (*self.book.entries, *self.user.entries):
            self._entry_form(entry)

    @property
    def _takes_phonemes(self) -> bool:
        return "phonemes" in self.engine.capabilities and self.engine.phoneme_alphabet is not None

    @property
    def active(self) -> bool:
        return bool(self.book.entries or self.user.entries or self.use_marks)

    def warnings(self) -> list[str]:
        """One line per entry (or group of the book's SSML) this engine cannot use."""
        return list(self._problems.values())

    def speech(
        self, text: str, lang: str, normalize: Callable[[str, str], str], marks: Sequence[Mark] = ()
    ) -> str:
        """``text`` as the engine should get it: normalised, with every pronunciation in its form.

        ``marks`` are the book's SSML pronunciations inside ``text`` (offsets into it).
        """
        found = self._find(text, marks)
        if not found:
            return normalize(text, lang)
        out: list[str] = []
        position = 0
        for item in found:
            out.append(_normalized_gap(text[position : item.start], lang, normalize))
            shown = text[item.start : item.end]
            form = item.form
            if form is None:
                out.append(normalize(shown, lang))
            elif form.phonemes is not None:
                out.append(span(shown, form.phonemes))
            else:
                out.append(normalize(readable(form.say or shown, shown), lang))
            position = item.end
        out.append(_normalized_gap(text[position:], lang, normalize))
        return " ".join("".join(out).split())

    # ---- finding ------------------------------------------------------------------------------

    def _find(self, text: str, marks: Sequence[Mark]) -> list[Found]:
        candidates: list[Found] = []
        for tier, matcher in self._tiers:
            candidates += [Found(s, e, tier, self._entry_form(entry)) for s, e, entry in matcher.find(text)]
        if self.use_marks:
            candidates += [
                Found(m.start, m.end, _SSML, self._mark_form(m, text[m.start : m.end]))
                for m in marks
                if 0 <= m.start < m.end <= len(text)
            ]
        if not candidates:
            return []
        candidates.sort(key=lambda f: (-f.tier, -(f.end - f.start), f.start))
        kept: list[Found] = []
        for item in candidates:
            if all(item.end <= k.start or item.start >= k.end for k in kept):
                kept.append(item)
        return sorted(kept, key=lambda f: f.start)

    # ---- forms --------------------------------------------------------------------------------

    def _entry_form(self, entry: Entry) -> Form | None:
        key = (entry.key, entry.ipa, entry.say, tuple(sorted(entry.phonemes.items())))
        if key not in self._forms:
            form, problem = self._form(entry.ipa, entry.say, entry.phonemes.get(self.engine.name))
            self._forms[key] = form
            if problem:
                self._problems.setdefault(entry.label, f"{entry.label}: {problem}")
        return self._forms[key]

    def _mark_form(self, mark: Mark, shown: str) -> Form | None:
        key = ("\0ssml", mark.ipa, None, ())
        if key not in self._forms:
            form, problem = self._form(mark.ipa, None, None)
            self._forms[key] = form
            if problem:
                count = sum(1 for label in self._problems if label.startswith(SSML_SOURCE)) + 1
                self._problems[f"{SSML_SOURCE} {count}"] = f"{SSML_SOURCE}: '{shown}' /{mark.ipa}/: {problem}"
        return self._forms[key]

    def _form(self, ipa: str | None, say: str | None, own: str | None) -> tuple[Form | None, str | None]:
        """The best form for this engine, and why a better one given could not be used."""
        name = self.engine.name
        problem: str | None = None
        if self._takes_phonemes:
            if own:
                return Form(phonemes=own), None
            if ipa:
                converted, problem = self._ipa_form(ipa)
                if converted is not None:
                    return Form(phonemes=converted), None
        elif own:
            problem = f"engine '{name}' takes no phonemes"
        if say:
            return Form(say=say), None
        if ipa and not self._takes_phonemes:
            from voxcli.lexicon.ipa import ipa_to_respelling

            respelt = ipa_to_respelling(ipa) if self.profile.lang.lower().startswith("en") else None
            if respelt:
                return Form(say=respelt), None
            problem = (
                problem
                or f"engine '{name}' takes no phonemes and the IPA cannot be respelled in {self.profile.lang}"
            )
        return None, (
            problem or f"no form engine '{name}' can use"
        ) + '; add say = "..." (read as written meanwhile)'

    def _ipa_form(self, ipa: str) -> tuple[str | None, str | None]:
        """IPA in the engine's alphabet, or why not."""
        from voxcli.lexicon.ipa import ipa_to_espeak, unknown_symbols

        name = self.engine.name
        if self.engine.phoneme_alphabet == "espeak":
            converted = ipa_to_espeak(ipa, self.profile.lang)
            return (
                (converted, None)
                if converted
                else (None, f"the IPA has sounds eSpeak-NG ({name}) has no phoneme for")
            )
        ready = self.engine.from_ipa(model_ipa(ipa, self._symbols, self.profile.lang), self.profile)
        if self._symbols is not None:
            missing = unknown_symbols(ready, self._symbols)
            if missing:
                listed = " ".join(missing)
                return None, f"engine '{name}' cannot say {listed} (not in its voice's phoneme set)"
        return ready, None


def readable(say: str, shown: str) -> str:
    """A respelling as an engine should read it: capitals that mark stress ("Her-MY-oh-nee") are
    lowered, since text front ends spell short capital words out letter by letter ("M Y"); the word
    keeps the book's initial capital."""
    syllables = re.split(r"[-\s]+", say)
    if not any(len(s) >= 2 and s.isupper() for s in syllables):
        return say
    lowered = say.lower()
    return lowered[:1].upper() + lowered[1:] if shown[:1].isupper() else lowered


def for_profile(
    engine: type[Engine], profile: VoiceProfile, lexicon: Lexicon | None = None
) -> Pronouncer | None:
    """``lexicon`` with the profile's own table on top, for ``engine`` (``say`` and the server); None
    when there is neither, so text goes to the engine exactly as before."""
    merged = (lexicon or Lexicon()).merged(profile.lexicon or Lexicon())
    return Pronouncer(engine, profile, user=merged, use_marks=False) if merged.entries else None


def _normalized_gap(gap: str, lang: str, normalize: Callable[[str, str], str]) -> str:
    """Text between two pronunciations, normalised, keeping the spaces around it."""
    core = gap.strip()
    if not core:
        return gap
    lead = gap[: len(gap) - len(gap.lstrip())]
    tail = gap[len(gap.rstrip()) :]
    return lead + normalize(core, lang) + tail


# What eSpeak-style IPA models (Piper, Kokoro) write for the symbols lexicons often use instead.
_MODEL_SPELLING = {"g": "ɡ", "ɫ": "l", "ʤ": "dʒ", "ʧ": "tʃ", "ʦ": "ts", "ɝ": "ɜː"}
_ENGLISH_SPELLING = {"r": "ɹ", "y": "j"}  # English lexicons' habits: r for ɹ, American y for j
_VOWELS = frozenset("aeiouyæɑɐɒɔəɘɚɛɜɝɞɤɪʊʌʏøœɶɯɨʉᵻ")
_STRESS = "ˈˌ"


def model_ipa(ipa: str, symbols: frozenset[str] | None, lang: str) -> str:
    """IPA as eSpeak-trained models (Piper, Kokoro) spell it: stress marks just before the stressed
    vowel (eSpeak's habit, where IPA puts them before the syllable), no syllable dots or tie bars,
    and symbols the model lacks swapped for the ones it knows (``g`` -> ``ɡ``; in English ``r`` ->
    ``ɹ`` and ``y`` -> ``j``)."""
    text = " ".join(ipa.replace(".", "").replace("\u0361", "").replace("\u035c", "").split())
    english = lang.lower().startswith("en")
    swapped: list[str] = []
    for ch in text:
        swap = (_ENGLISH_SPELLING.get(ch) if english else None) or _MODEL_SPELLING.get(ch)
        if swap is not None and (symbols is None or ch not in symbols or ch in _ENGLISH_SPELLING):
            ch = swap
        swapped.append(ch)
    out: list[str] = []
    pending = ""
    for ch in "".join(swapped):
        if ch in _STRESS:
            pending = ch
        elif pending and (ch in _VOWELS or ch == " "):
            out.append(pending if ch != " " else "")
            out.append(ch)
            pending = ""
        else:
            out.append(ch)
    out.append(pending)
    return "".join(out)
