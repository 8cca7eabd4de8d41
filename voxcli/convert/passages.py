"""Passages in another language (``xml:lang``/``lang`` in the book) given the voice mapped to theirs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from voxcli.book import Book, Mark, count_words, same_language
from voxcli.config import VoicesFile
from voxcli.convert.plan import Voiced
from voxcli.engines.base import VoiceProfile
from voxcli.voicelang import espeak_voice, mapped_voice

# A passage of fewer words (a single word, a name: "Datta", "Weltschmerz") stays with the chapter's
# voice, whose lexicon can say it: switching voices for one word is louder than the word is foreign.
MIN_WORDS = 3


@dataclass(frozen=True)
class Passages:
    """The voices passages switch to (by name), each chapter's switched passages, and counts by
    language of those that switch, that have no voice, and that are too short to switch."""

    profiles: dict[str, VoiceProfile] = field(default_factory=dict)
    languages: dict[str, str] = field(default_factory=dict)  # language -> the voice its passages got
    voiced: dict[int, list[Voiced]] = field(default_factory=dict)  # chapter index -> its passages
    switched: Counter[str] = field(default_factory=Counter)
    unvoiced: Counter[str] = field(default_factory=Counter)
    short: Counter[str] = field(default_factory=Counter)
    # (chapter, paragraph) -> short passages' pronunciations in their own language (eSpeak-NG's IPA)
    marks: dict[tuple[int, int], list[Mark]] = field(default_factory=dict)

    def with_marks(self, book: Book) -> Book:
        """``book`` with the short passages' pronunciations among its own (SSML-like) marks."""
        if not self.marks:
            return book
        chapters = []
        for chapter in book.chapters:
            added = {n: m for (index, n), m in self.marks.items() if index == chapter.index}
            if added:
                marks = [list(chapter.marks_of(n)) for n in range(len(chapter.paragraphs))]
                for n, extra in added.items():
                    marks[n] = sorted([*marks[n], *extra], key=lambda m: m.start)
                chapter = replace(chapter, marks=tuple(tuple(m) for m in marks))
            chapters.append(chapter)
        return replace(book, chapters=tuple(chapters))

    def warnings(self, label: str) -> list[str]:
        """One line naming the languages that have passages but no voice."""
        if not self.unvoiced:
            return []
        listed = ", ".join(f"{lang} ({n})" for lang, n in sorted(self.unvoiced.items()))
        return [
            f"no voice for the passages in {listed}: the chapter's voice reads them; map their "
            f"languages in [languages] of {label}"
        ]

    def record(self) -> dict[str, object]:
        """The manifest's account: which voice each language's passages got, and what stayed."""
        return {
            "voices": dict(sorted(self.languages.items())),
            "switched": dict(sorted(self.switched.items())),
            "no_voice": dict(sorted(self.unvoiced.items())),
            "short": dict(sorted(self.short.items())),
            "pronounced": sum(len(m) for m in self.marks.values()),
            "min_words": MIN_WORDS,
        }


def plan_passages(
    book: Book, numbers: Sequence[int], voices: VoicesFile, narrator: VoiceProfile, phonemes: bool = False
) -> Passages:
    """Every passage of the chapters ``numbers`` with a voice for its language that is not the
    narrator's, as a :class:`Voiced` stretch of its paragraph. A short passage stays with the
    narrator; with ``phonemes`` (the narrator's engine takes them), it is said with eSpeak-NG's
    pronunciation in its own language, unless the book gives one (its SSML or PLS lexicon) or the
    user's lexicon does (that wins over these, as over the book's)."""
    lexicon = {p.grapheme.casefold() for p in book.lexicon}
    found = Passages()
    chosen = set(numbers)
    mapped: dict[str, VoiceProfile | None] = {}
    for chapter in book.chapters:
        if chapter.index not in chosen or not chapter.passages:
            continue
        for position, passages in enumerate(chapter.passages):
            paragraph = chapter.paragraphs[position]
            for passage in passages:
                lang = passage.lang
                if same_language(lang, narrator.lang):
                    continue
                if lang not in mapped:
                    hit = mapped_voice(lang, voices)
                    mapped[lang] = hit.profile if hit is not None else None
                profile = mapped[lang]
                text = paragraph[passage.start : passage.end]
                if count_words(text) < MIN_WORDS:
                    found.short[lang] += 1
                    marked = any(
                        m.start < passage.end and passage.start < m.end for m in chapter.marks_of(position)
                    )
                    if phonemes and not marked and text.strip(" .,;:!?\"'").casefold() not in lexicon:
                        ipa = foreign_ipa(text, lang)
                        if ipa:
                            found.marks.setdefault((chapter.index, position), []).append(
                                Mark(passage.start, passage.end, ipa)
                            )
                    continue
                if profile is None:
                    found.unvoiced[lang] += 1
                    continue
                if profile == narrator:
                    continue
                found.profiles.setdefault(profile.name, profile)
                found.languages.setdefault(lang, profile.name)
                found.switched[lang] += 1
                found.voiced.setdefault(chapter.index, []).append(
                    Voiced(
                        position,
                        passage.start,
                        passage.end,
                        passage.start,
                        passage.end,
                        profile.name,
                        quoted=False,
                        lang=lang,
                    )
                )
    return found


@lru_cache(maxsize=1024)
def foreign_ipa(text: str, lang: str) -> str:
    """eSpeak-NG's IPA for ``text`` read in ``lang`` ("" when eSpeak-NG has no voice for it)."""
    from voxcli.lexicon.suggest import guess_ipa

    voice = espeak_voice(lang)
    if voice is None or not any(ch.isalpha() for ch in text):
        return ""
    return guess_ipa([text], voice).get(text, "")
