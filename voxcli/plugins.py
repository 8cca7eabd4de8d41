"""Named plug-ins (engines, recognisers): built-in ones plus those other packages declare as entry
points, each imported only when it is used."""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
from typing import Any

from voxcli.errors import EngineError


def discover(builtin: dict[str, str], group: str) -> dict[str, str]:
    """name -> "module:Class": the built-in ones, then the entry points of ``group`` (which cannot
    replace a built-in one)."""
    found = dict(builtin)
    for entry in importlib.metadata.entry_points(group=group):
        found.setdefault(entry.name, entry.value)
    return found


def did_you_mean(name: str, names: list[str]) -> str:
    """'did you mean 'x'? ' for the closest of ``names``, or ''."""
    close = difflib.get_close_matches(name, names, n=1)
    return f"did you mean '{close[0]}'? " if close else ""


def load_class(kind: str, name: str, target: str, base: type, group: str) -> Any:
    """The class ``target`` ("module:Class") names, checked to be a subclass of ``base`` (an abstract
    class, hence not ``type[T]``); the one-line EngineError when it cannot be imported or is not."""
    module_name, _, class_name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise EngineError(
            f"{kind} '{name}' cannot be imported from {target}: {exc}",
            "reinstall the package that provides it",
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise EngineError(
            f"{kind} '{name}': {target} is not a voxcli {base.__name__}",
            f"fix the {group} entry point of the package that provides it",
        )
    return cls
