"""Phoneme strings cut into pieces a Kokoro model speaks well (shared by both Kokoro engines)."""

from __future__ import annotations

import re
from collections.abc import Iterator

MAX_PHONEMES = 510  # the model's context; it refuses more
PIECE_PHONEMES = 250  # longer pieces are spoken too fast, as if the model ran out of breath
SENTENCE_MARKS = ".!?…"
CLAUSE_MARKS = ",;:—"

_BOUNDARIES = (
    re.compile(rf"(?<=[{re.escape(SENTENCE_MARKS)}])\s+"),
    re.compile(rf"(?<=[{re.escape(CLAUSE_MARKS)}])\s+"),
    re.compile(r"\s+"),
)


def split_phonemes(phonemes: str, limit: int = PIECE_PHONEMES) -> list[str]:
    """Cut a line of phonemes into pieces of at most ``limit``: at sentence ends, then at clauses,
    then between words, and inside a word only when one is longer than ``limit``.

    Joining the pieces with spaces gives the phonemes back (runs of spaces become one): nothing is
    dropped. The pieces are balanced, since a short last piece is spoken at a different pace.
    """
    if not 1 <= limit <= MAX_PHONEMES:
        raise ValueError(f"limit must be 1 to {MAX_PHONEMES}, not {limit}")
    atoms = list(_atoms(" ".join(phonemes.split()), limit, 0))
    if not atoms:
        return []
    lengths = [len(atom) for atom in atoms]
    fewest = len(_pack(lengths, limit))
    low, high = max(lengths), limit
    while low < high:  # the smallest limit that needs no more pieces
        middle = (low + high) // 2
        if len(_pack(lengths, middle)) <= fewest:
            high = middle
        else:
            low = middle + 1
    return [" ".join(atoms[start:end]) for start, end in _pack(lengths, low)]


def _atoms(phonemes: str, limit: int, level: int) -> Iterator[str]:
    if len(phonemes) <= limit:
        if phonemes:
            yield phonemes
        return
    for index in range(level, len(_BOUNDARIES)):
        parts = _BOUNDARIES[index].split(phonemes)
        if len(parts) > 1:
            for part in parts:
                yield from _atoms(part, limit, index + 1)
            return
    for start in range(0, len(phonemes), limit):  # one "word" longer than a piece: cut it, keep it all
        yield phonemes[start : start + limit]


def _pack(lengths: list[int], limit: int) -> list[tuple[int, int]]:
    """Consecutive atoms grouped (joined by a space) within ``limit``, as index ranges."""
    groups: list[tuple[int, int]] = []
    start, size = 0, 0
    for index, length in enumerate(lengths):
        grown = length if index == start else size + 1 + length
        if grown > limit and index > start:
            groups.append((start, index))
            start, size = index, length
        else:
            size = grown
    groups.append((start, len(lengths)))
    return groups
