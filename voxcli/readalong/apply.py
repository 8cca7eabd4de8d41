"""Placed sentences written into a document: ids, spans, word spans, and the clips that read them."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lxml import etree

from voxcli.audio.timeline import TimedSentence
from voxcli.readalong.match import Placement
from voxcli.readalong.smil import Clip, Sentence
from voxcli.readalong.wrap import DocText, Pos, insert_empty, normalise, read_text, widen, wrap


@dataclass
class Ids:
    """Fresh ids for one document: never one it already has."""

    taken: set[str]

    def fresh(self, wanted: str) -> str:
        name, n = wanted, 1
        while name in self.taken:
            n += 1
            name = f"{wanted}-{n}"
        self.taken.add(name)
        return name


def existing_ids(root: etree._Element) -> set[str]:
    return {str(v) for v in root.xpath("//@id")}  # type: ignore[union-attr]


def word_bounds(sentence: TimedSentence, rate: int, count: int) -> list[tuple[int, int]] | None:
    """Sample ranges tiling the sentence, one per display word, from word timings that match the
    display words one to one; None when they do not."""
    timings = sentence.words
    if not timings or len(timings) != count:
        return None
    if not all(math.isfinite(t.start) and math.isfinite(t.end) for t in timings):
        return None
    starts = [sentence.start] + [sentence.start + round(t.start * rate) for t in timings[1:]]
    bounds = [*starts, sentence.end]
    if any(b <= a for a, b in itertools.pairwise(bounds)):
        return None
    return list(itertools.pairwise(bounds))


def _word_ranges(local: DocText, words: Sequence[str]) -> list[tuple[Pos, Pos]] | None:
    keys = [normalise(w) for w in words]
    if not all(keys) or "".join(keys) != local.norm:
        return None
    ranges: list[tuple[Pos, Pos]] = []
    at = 0
    floor: Pos | None = None
    for key in keys:
        start, end = widen(local, local.where[at], local.end_of(at + len(key) - 1), floor)
        ranges.append((start, end))
        floor = end
        at += len(key)
    return ranges


def apply(
    doc: DocText,
    placements: Sequence[Placement],
    ids: Ids,
    audio_href: Callable[[int], str],
    *,
    words: bool,
) -> list[Sentence]:
    """Write ``placements`` (all in ``doc``) into the document; their overlay entries in document order.

    ``audio_href``: chapter index -> the audio file's href relative to the overlay.
    """
    ordered = sorted(placements, key=lambda p: p.key)
    entries: dict[int, Sentence] = {}
    for placement in reversed(ordered):  # from the end: earlier positions stay valid
        sentence = placement.sentence
        chapter = placement.chapter
        word_clips: tuple[Clip, ...] = ()
        if placement.kind == "heading":
            assert placement.heading is not None
            target = placement.heading.get("id") or ids.fresh(f"vx-h{placement.seq + 1}")
            placement.heading.set("id", target)
        elif placement.kind == "empty":
            target = ids.fresh(f"vx-s{placement.seq + 1}")
            insert_empty(doc, placement.start, target)
        else:
            assert placement.start is not None and placement.end is not None
            span = wrap(doc, placement.start, placement.end, ids.fresh(f"vx-s{placement.seq + 1}"))
            target = str(span.get("id"))  # the span's, or that of the element the sentence fills
            if words and placement.exact:
                word_clips = _wrap_words(span, sentence, chapter.rate, ids, target, audio_href(chapter.index))
        placement.id = target
        clip = Clip(target, audio_href(chapter.index), sentence.start, sentence.end, chapter.rate)
        entries[placement.seq] = Sentence(clip, word_clips)
    return [entries[p.seq] for p in ordered]


def _wrap_words(
    span: etree._Element, sentence: TimedSentence, rate: int, ids: Ids, target: str, audio: str
) -> tuple[Clip, ...]:
    display = sentence.text.split()
    bounds = word_bounds(sentence, rate, len(display))
    if bounds is None or len(display) < 2:
        return ()
    local = read_text(span)
    ranges = _word_ranges(local, display)
    if ranges is None:
        return ()
    names = [ids.fresh(f"{target}-w{n}") for n in range(1, len(display) + 1)]
    for (start, end), name in reversed(list(zip(ranges, names, strict=True))):
        wrap(local, start, end, name)
    return tuple(Clip(name, audio, a, b, rate) for name, (a, b) in zip(names, bounds, strict=True))
