"""What a conversion will do: chapters chosen, file names, and every segment to speak, with its cache key.

Planning is cheap (no model is loaded), so ``convert --dry-run`` and the up-to-date check before a
re-run both come from here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from voxcli.book import Book, Chapter, Mark, same_language
from voxcli.convert.cache import cache_key
from voxcli.convert.tagging import voice_key
from voxcli.engines.base import VoiceProfile
from voxcli.errors import UsageError
from voxcli.fsutil import atomic_write_bytes, make_dirs
from voxcli.text.pieces import (
    CLAUSE_PAUSE,
    Normalizer,
    Piece,
    Pronounce,
    Splitter,
    paragraph_pieces,
    pronounceable,
    sentence_pieces,
)
from voxcli.text.segment import paragraphs, sentences
from voxcli.text.tags import State, has_tags, runs
from voxcli.text.tags import plain as untagged

Kind = Literal["title", "text"]
MAX_STEM = 80  # characters of the chapter title kept in file names
MEMO_VERSION = 1  # bump when sentence splitting changes

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')


@dataclass(frozen=True)
class Segment:
    """One call to the engine: the text shown in subtitles, the text spoken, and the silence after it."""

    text: str  # as in the book, for subtitles
    speech: str  # normalised for the engine
    pause: float  # seconds of silence after it
    key: str  # cache key of its audio
    kind: Kind = "text"
    voice: str = ""  # the cast voice that says it; "" for the narrator (the request's profile)
    speaker: str = ""  # the character whose line it is (a cast), "" for narration and unknown speakers
    lang: str = ""  # a passage in another language: its tag ("" for the book's language)


@dataclass(frozen=True)
class VoicePlan:
    """How one voice of a cast turns its text into segments."""

    profile: VoiceProfile
    identity: dict[str, Any]  # the engine's identity of the profile, for cache keys
    max_chars: int
    pronounce: Pronounce | None = None


@dataclass(frozen=True)
class Voiced:
    """A quote that a cast voice says: offsets in its paragraph (with the marks, and the words)."""

    paragraph: int
    start: int
    end: int
    text_start: int
    text_end: int
    voice: str  # a key of the cast's voices
    speaker: str = ""  # the character, as the cast file names it
    quoted: bool = True  # a quote (its quotation marks are not spoken); False: a passage (see lang)
    lang: str = ""  # a passage in another language than the book's: its tag


@dataclass(frozen=True)
class ChapterPlan:
    index: int  # the chapter's number in the book
    title: str
    stem: str  # file name without extension: "01 - Loomings"
    segments: tuple[Segment, ...]
    chars: int  # characters of the chapter text
    rate: int = (
        0  # Hz the chapter is written at (the narrator's), when the engine's identity says; 0: unknown
    )

    @property
    def digest(self) -> str:
        """Identifies the chapter's audio: same digest, same sound (used to skip finished chapters)."""
        parts = [[s.key, s.pause, s.text] for s in self.segments]
        return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()


def parse_chapters(spec: str | None, count: int) -> list[int]:
    """Chapter numbers from ``1-3,7`` (1-based, in book order); None means all of them."""
    if spec is None or spec.strip().lower() in ("", "all"):
        return list(range(1, count + 1))
    chosen: set[int] = set()
    for part in (p.strip() for p in spec.split(",")):
        match = re.fullmatch(r"(\d*)\s*(-?)\s*(\d*)", part)
        if not match or not (match.group(1) or match.group(3)) or (match.group(3) and not match.group(2)):
            raise UsageError(f"--chapters: cannot read '{part}'", "use numbers and ranges, e.g. 1-3,7")
        low, dash, high = match.groups()
        first = int(low) if low else 1
        last = (int(high) if high else count) if dash else first
        if first < 1 or last > count or first > last:
            raise UsageError(
                f"--chapters: {part} is outside 1-{count}", "run 'voxcli chapters BOOK' to see the chapters"
            )
        chosen.update(range(first, last + 1))
    return sorted(chosen)


def safe_stem(index: int, title: str, width: int) -> str:
    """A file name from a chapter title: no path separators, control or reserved characters."""
    return f"{index:0{width}d} - {safe_name(title, 'Chapter')}"


def safe_name(title: str, fallback: str) -> str:
    """``title`` made safe as a file name (``fallback`` when nothing is left), at most MAX_STEM chars."""
    clean = _UNSAFE.sub(" ", unicodedata.normalize("NFC", title))
    clean = " ".join(clean.split()).strip(" .")
    if len(clean) > MAX_STEM:
        clean = clean[:MAX_STEM].rsplit(" ", 1)[0].rstrip(" .,;:-") or clean[:MAX_STEM]
    return clean or fallback


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _title_is_first_paragraph(chapter: Chapter) -> bool:
    if not chapter.paragraphs:
        return False
    title, first = _words(chapter.title), _words(chapter.paragraphs[0])
    return bool(title) and first == title


class SentenceMemo:
    """Sentence splits of earlier runs, kept in the output folder: pysbd needs about 7 s for a novel,
    which would make re-running a finished book slow."""

    def __init__(self, path: Path | None, writable: bool = True) -> None:
        self.path = path
        self.writable = writable
        self._known: dict[str, list[str]] = {}
        self._changed = False
        if path is not None:
            with contextlib.suppress(OSError, ValueError):
                data = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(data, dict) and data.get("version") == MEMO_VERSION:
                    self._known = data["splits"]

    def split(self, paragraph: str, lang: str) -> list[str]:
        key = hashlib.sha1(f"{lang}\n{paragraph}".encode()).hexdigest()
        found = self._known.get(key)
        if found is None or "".join(found).replace(" ", "") != paragraph.replace(" ", ""):
            found = sentences(paragraph, lang)
            self._known[key] = found
            self._changed = True
        return found

    def save(self) -> None:
        if self.path is not None and self.writable and self._changed:
            payload = json.dumps({"version": MEMO_VERSION, "splits": self._known}, ensure_ascii=False)
            make_dirs(self.path.parent)
            atomic_write_bytes(self.path, payload.encode("utf-8"))
            self._changed = False


def spoken_text(chapter: Chapter, titles: bool = True) -> str:
    """The chapter's text as ``convert`` speaks it: the title first (unless the text starts with it)."""
    paragraphs_ = list(chapter.paragraphs)
    if titles and chapter.title.strip() and not _title_is_first_paragraph(chapter):
        paragraphs_.insert(0, " ".join(chapter.title.split()))
    return "\n\n".join(paragraphs_)


def plan_chapter(
    chapter: Chapter,
    *,
    number: int,
    width: int,
    profile: VoiceProfile,
    identity: dict[str, Any],
    max_chars: int,
    normalize: Normalizer,
    titles: bool = True,
    split: Splitter = sentences,
    pronounce: Pronounce | None = None,
    voices: dict[str, VoicePlan] | None = None,
    voiced: Sequence[Voiced] = (),
    tags: bool = False,
) -> ChapterPlan:
    """Every segment of one chapter, in order, each within ``max_chars`` once normalised (and with
    the pronunciations of ``pronounce`` and the chapter's marks applied).

    With a cast, the quotes of ``voiced`` are said by their voice of ``voices`` (each with its own
    engine's limit, pronunciations and cache identity); the rest by the narrator (``profile``)."""
    segments: list[Segment] = []

    def add(
        pieces: list[Piece], kind: Kind = "text", voice: str = "", speaker: str = "", lang: str = ""
    ) -> None:
        key_of = identity if not voice else (voices or {})[voice].identity
        segments.extend(
            Segment(p.shown, p.speech, p.pause, cache_key(p.speech, key_of), kind, voice, speaker, lang)
            for p in pieces
        )

    quotes: dict[int, list[Voiced]] = {}
    for quote in voiced:
        quotes.setdefault(quote.paragraph, []).append(quote)

    blocks = list(enumerate(chapter.paragraphs))
    if titles and chapter.title.strip():
        # The heading is usually the chapter's first paragraph: speak it once, as the title.
        if _title_is_first_paragraph(chapter):
            blocks = blocks[1:]
            title = " ".join(chapter.paragraphs[0].split())
        else:
            title = " ".join(chapter.title.split())
        title = untagged(title) if tags else title
        pieces = sentence_pieces(
            title, profile.title_pause, max_chars, profile.lang, normalize, pronounce=pronounce
        )
        add(pieces, "title")
    narrator = VoicePlan(profile, identity, max_chars, pronounce)
    state = State()
    for position, block in blocks:
        found = paragraphs(block)
        # The book's marks are offsets into the paragraph as read, which is one line already.
        marks = chapter.marks_of(position) if found == [block] else ()
        if tags and (state.voices or state.speeds or has_tags(block)):
            where = f"chapter {chapter.index}, paragraph {position + 1}"
            for run in runs(" ".join(found), where, state):
                key = voice_key(run.voice, run.speed, profile)
                plan = (voices or {})[key] if key else narrator
                pieces = paragraph_pieces(
                    run.text.strip() or " ",
                    plan.profile,
                    plan.max_chars,
                    normalize=normalize,
                    split=split,
                    pronounce=plan.pronounce,
                )
                before = len(segments)
                add([p for p in pieces if pronounceable(p.speech)], voice=key)
                if len(segments) > before:
                    _between(segments, plan.profile)
                if run.pause is not None and segments:
                    segments[-1] = replace(segments[-1], pause=run.pause)
            if not (segments and runs_pause_last(block)):
                _end_paragraph(segments, profile)
            continue
        if found == [block] and position in quotes and voices:
            for part, stretch, inside in _voiced_parts(block, quotes[position], marks):
                voice, speaker = stretch.voice if stretch else "", stretch.speaker if stretch else ""
                plan = voices[voice] if voice else narrator
                pieces = paragraph_pieces(
                    part,
                    plan.profile,
                    plan.max_chars,
                    normalize=normalize,
                    split=split,
                    marks=inside,
                    pronounce=plan.pronounce,
                )
                if stretch and stretch.quoted:  # a quote: its marks stay in the subtitles, not spoken
                    pieces = [replace(p, speech=_unquoted(p.speech)) for p in pieces]
                before = len(segments)
                lang = stretch.lang if stretch else ""
                add([p for p in pieces if pronounceable(p.speech)], voice=voice, speaker=speaker, lang=lang)
                if len(segments) > before:
                    _between(segments, plan.profile)
            _end_paragraph(segments, profile)
            continue
        for paragraph in found:
            add(
                paragraph_pieces(
                    paragraph,
                    profile,
                    max_chars,
                    normalize=normalize,
                    split=split,
                    marks=marks,
                    pronounce=pronounce,
                )
            )
    # Text with nothing to pronounce ("* * *") gives no segment; its pause stays with the one before.
    spoken = [s for s in segments if pronounceable(s.speech)]
    return ChapterPlan(
        index=chapter.index,
        title=chapter.title,
        stem=safe_stem(number, chapter.title, width),
        segments=tuple(spoken),
        chars=chapter.chars,
    )


def _reading(profile: VoiceProfile, lang: str) -> VoiceProfile:
    """The profile as the text's reader: its language the text's (``lang``) when that is another
    language than the voice's (the engine's identity, and so the cache key, is computed apart)."""
    return replace(profile, lang=lang) if lang and not same_language(lang, profile.lang) else profile


def runs_pause_last(block: str) -> bool:
    """Whether a paragraph ends with a [pause:...] tag (its pause then replaces the paragraph's)."""
    return bool(re.search(r"\[pause:[^\s\]]+\]\s*$", block))


def _voiced_parts(
    paragraph: str, quotes: Sequence[Voiced], marks: Sequence[Mark]
) -> list[tuple[str, Voiced | None, list[Mark]]]:
    """The paragraph cut into narration (None) and quotes or passages (their :class:`Voiced`), in
    order, nothing left out: (text, its voiced stretch, the book's marks inside it)."""
    parts: list[tuple[str, Voiced | None, list[Mark]]] = []
    cursor = 0

    def take(start: int, end: int, quote: Voiced | None) -> None:
        while start < end and paragraph[start].isspace():
            start += 1
        while end > start and paragraph[end - 1].isspace():
            end -= 1
        if start < end and pronounceable(paragraph[start:end]):
            inside = [
                Mark(m.start - start, m.end - start, m.ipa)
                for m in marks
                if start <= m.start and m.end <= end
            ]
            parts.append((paragraph[start:end], quote, inside))
        elif start < end and parts:  # punctuation between quotes: kept with the text before it
            text, before, inside = parts[-1]
            parts[-1] = (text + " " + paragraph[start:end], before, inside)

    for quote in sorted(quotes, key=lambda q: q.start):
        if quote.start < cursor:
            continue  # overlapping quotes cannot happen; never speak a stretch twice
        take(cursor, quote.start, None)
        take(quote.start, quote.end, quote)
        cursor = quote.end
    take(cursor, len(paragraph), None)
    return parts


_QUOTE_MARKS = "\"'“”‘’«»„‚「」『』‹›—―"


def _unquoted(speech: str) -> str:
    """Speech without the quotation marks (or dialogue dash) around it."""
    return speech.strip().strip(_QUOTE_MARKS).strip() or speech


def _between(segments: list[Segment], profile: VoiceProfile) -> None:
    """A part of a paragraph (a quote, the narration between, a tagged run) ends with a sentence's
    pause when it ends a sentence, else a clause's; the paragraph's last part gets the paragraph's."""
    last = segments[-1]
    ends = last.text.rstrip(" \"'”’»」』)]").endswith(tuple(".!?…"))
    segments[-1] = replace(
        last, pause=profile.sentence_pause if ends else min(CLAUSE_PAUSE, profile.sentence_pause)
    )


def _end_paragraph(segments: list[Segment], profile: VoiceProfile) -> None:
    """The parts of a paragraph end with its voices' pauses; the paragraph with the narrator's."""
    if segments:
        last = segments[-1]
        segments[-1] = replace(last, pause=profile.paragraph_pause)


def plan_book(
    book: Book,
    numbers: Sequence[int],
    *,
    profile: VoiceProfile,
    identity: dict[str, Any],
    max_chars: int,
    normalize: Normalizer,
    titles: bool = True,
    memo: SentenceMemo | None = None,
    pronounce: Pronounce | None = None,
    voices: dict[str, VoicePlan] | None = None,
    voiced: dict[int, list[Voiced]] | None = None,
    chapter_voices: dict[int, str] | None = None,
    tags: bool = False,
    lang: str = "",
) -> list[ChapterPlan]:
    """Every requested chapter's plan. ``chapter_voices`` (``--voice-map``): chapter number -> the
    voice of ``voices`` that reads it instead of the narrator (who still announces its title).
    ``lang``: the book's language, when known: its text is split into sentences and normalised in
    it whatever the language of the voice that reads it (passages in other languages, in theirs)."""
    width = max(2, len(str(len(book.chapters))))
    by_index = {chapter.index: chapter for chapter in book.chapters}
    memo = memo or SentenceMemo(None)
    plans: list[ChapterPlan] = []
    narrator = VoicePlan(profile, identity, max_chars, pronounce)
    rate = identity.get("sample_rate")
    for n in numbers:
        mapped = (chapter_voices or {}).get(n, "")
        reader = (voices or {})[mapped] if mapped else narrator
        chapter_plan = plan_chapter(
            by_index[n],
            number=n,
            width=width,
            profile=_reading(reader.profile, lang),
            identity=reader.identity,
            max_chars=reader.max_chars,
            normalize=normalize,
            titles=titles,
            split=memo.split,
            pronounce=reader.pronounce,
            voices=voices,
            voiced=(voiced or {}).get(n, ()),
            tags=tags,
        )
        if mapped:  # the narrator announces the title; the mapped voice reads the chapter
            chapter = by_index[n]
            heading = plan_chapter(
                replace(
                    chapter, paragraphs=chapter.paragraphs[:1] if _title_is_first_paragraph(chapter) else ()
                ),
                number=n,
                width=width,
                profile=_reading(profile, lang),
                identity=identity,
                max_chars=max_chars,
                normalize=normalize,
                titles=True,
                split=memo.split,
                pronounce=pronounce,
            )
            titled = tuple(s for s in heading.segments if s.kind == "title") if titles else ()
            body = tuple(
                replace(s, voice=s.voice or mapped) for s in chapter_plan.segments if s.kind != "title"
            )
            chapter_plan = replace(chapter_plan, segments=titled + body)
        plans.append(replace(chapter_plan, rate=rate if isinstance(rate, int) else 0))
    memo.save()
    return plans
