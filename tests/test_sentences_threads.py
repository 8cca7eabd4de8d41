"""Sentence splitting from many threads at once (the server splits every request's text in its own thread)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from voxcli.text.segment import sentences

WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
]


@pytest.fixture
def switch_often() -> Iterator[None]:
    """Make the interpreter switch threads every few bytecodes, so a race shows in a short test."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_twenty_threads_each_get_their_own_texts_sentences(switch_often: None) -> None:
    texts = [" ".join(WORDS[:n]).capitalize() + ". It ends here." for n in range(1, 16)] * 2
    expected = [[text.split(". ")[0] + ".", "It ends here."] for text in texts]
    with ThreadPoolExecutor(len(texts)) as pool:
        for _ in range(10):
            assert list(pool.map(sentences, texts)) == expected
