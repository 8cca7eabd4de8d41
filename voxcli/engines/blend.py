"""Voice blends: ``"af_heart:0.7,am_michael:0.3"`` is 70 % of one voice's style and 30 % of another's.

Kokoro's own comma form averages voices without weights; voxcli parses the weights and mixes the
style tensors itself, the same way for the torch and the ONNX engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from voxcli.errors import EngineError

T = TypeVar("T")


def parse_blend(spec: str) -> list[tuple[str, float]]:
    """``"a:0.7,b:0.3"`` -> [("a", 0.7), ("b", 0.3)]; a voice without a weight counts 1."""
    parts: list[tuple[str, float]] = []
    for item in (piece.strip() for piece in spec.split(",")):
        if not item:
            continue
        name, sep, weight = item.rpartition(":")
        if not sep:
            name, weight = item, "1"
        try:
            value = float(weight)
        except ValueError:
            raise EngineError(
                f"voice blend '{spec}': '{weight}' is not a weight",
                "write NAME:WEIGHT, e.g. af_heart:0.7,am_michael:0.3",
            ) from None
        if value <= 0 or not name.strip():
            raise EngineError(
                f"voice blend '{spec}': each voice needs a name and a weight above 0",
                "e.g. af_heart:0.7,am_michael:0.3",
            )
        parts.append((name.strip(), value))
    if not parts:
        raise EngineError("no voice given", "name a voice, e.g. af_heart")
    return parts


def blend(
    parts: list[tuple[str, float]], load: Callable[[str], T], mix: Callable[[list[tuple[T, float]]], T]
) -> T:
    """Load each voice and mix them with weights that sum to 1 (a single voice is returned as is)."""
    if len(parts) == 1:
        return load(parts[0][0])
    total = sum(weight for _, weight in parts)
    return mix([(load(name), weight / total) for name, weight in parts])
