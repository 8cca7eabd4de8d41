"""Speech as it is made: the chunks of one text in the order an engine produces them, for streaming.

``speak()`` joins a text's chunks once the engine is done; a server that streams sends each chunk as it
comes instead. Most engines give a sentence in one chunk after it is fully made; an engine that can
give a sentence in pieces while it is still being generated (XTTS) also has a ``stream()`` method,
which trades what whole-sentence synthesis does after the fact (retries, word timings) for an earlier
first byte. Convert never streams: it wants whole, checked sentences.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from voxcli.engines.base import DEFAULT_SETTINGS, AudioChunk, Engine, Settings
from voxcli.errors import EngineError


@runtime_checkable
class Streams(Protocol):
    """An engine that can give one text's audio in pieces while it is still generating it."""

    def stream(self, text: str, settings: Settings = DEFAULT_SETTINGS) -> Iterator[AudioChunk]:
        """Speak ``text`` as pieces made one after another (no retries: a piece sent is final)."""
        ...


def chunks_as_made(engine: Engine, text: str, settings: Settings = DEFAULT_SETTINGS) -> Iterator[AudioChunk]:
    """The chunks of ``text`` as ``engine`` makes them (its ``stream()`` when it has one), each checked
    to be at the engine's rate."""
    made = engine.stream(text, settings) if isinstance(engine, Streams) else engine.synthesize(text, settings)
    for chunk in made:
        if chunk.sample_rate != engine.sample_rate:
            raise EngineError(
                f"engine '{engine.name}' gave {chunk.sample_rate} Hz audio after {engine.sample_rate} Hz",
                "report this engine's bug",
            )
        yield chunk
