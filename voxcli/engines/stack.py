"""Whether an engine's Python packages really work: each imported for real, each version in voxcli's range.

``importlib.util.find_spec`` only says a package is on disk. A torchaudio whose compiled library does
not match torch, or a ``TTS`` that fails halfway through its imports, are on disk too: an engine is
called usable only when its whole stack imports, in order, and every package of it is a release
voxcli supports (the ranges in voxcli's own metadata, which come from pyproject.toml). A failure is
one :class:`Problem` naming the package (and, for torch's companions, the pair) and the fix.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import json
import os
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from voxcli.engines.base import Problem
from voxcli.fsutil import atomic_write_bytes

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

IGNORE_VERSIONS_ENV = "VOXCLI_IGNORE_VERSIONS"  # "1": skip the version ranges (imports still count)
COMPANIONS = ("torchaudio",)  # compiled against torch: only the same release loads
MAX_DETAIL = 160  # characters of an exception message in the one line


@dataclass(frozen=True)
class Layer:
    """One package of an engine's stack: its PyPI name, what must import (``module[:attribute]``), and
    whether voxcli's range for it is part of the check: set where a release imports fine but the engine
    fails with it (transformers 5.24 and XTTS), so that the range, not an import, is the only tell."""

    distribution: str
    target: str
    ranged: bool = False
    optional: bool = False  # checked only when installed (a package another one imports if it is there)


def installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


@cache
def supported(distribution: str) -> SpecifierSet | None:
    """The range voxcli's own metadata declares for ``distribution`` (None: no range, or not installed)."""
    # packaging is imported here, not at the top: what speaks imports this module, and checks ranges
    # only for ranged layers (a tenth of a second saved at every start).
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        declared = importlib.metadata.requires("voxcli") or []
    except importlib.metadata.PackageNotFoundError:
        return None  # running from a checkout that was never installed
    for line in declared:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) != canonicalize_name(distribution):
            continue
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            return requirement.specifier or None
    return None


def requirement_text(distribution: str) -> str:
    """``torch==2.11.0`` or ``'transformers<5.24,>=4.57'``: the package as voxcli supports it, for pip."""
    spec = supported(distribution)
    if spec is None:
        return distribution
    text = f"{distribution}{spec}"
    return text if str(spec).startswith("==") and "," not in str(spec) else f"'{text}'"


def _release(version: str) -> tuple[int, ...] | None:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version).release
    except InvalidVersion:
        return None


def describe(exc: BaseException) -> str:
    """The first line of what went wrong, with the underlying cause where a wrapper hides it."""
    cause = exc.__cause__ if isinstance(exc, OSError) and exc.__cause__ is not None else exc
    lines = str(cause).strip().splitlines()
    text = lines[0].strip() if lines else ""
    if len(text) > MAX_DETAIL:
        text = text[: MAX_DETAIL - 3] + "..."
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


def companion_mismatch(distribution: str) -> Problem | None:
    """A companion of torch (torchaudio) from another release than the installed torch, with the fix."""
    torch, companion = installed_version("torch"), installed_version(distribution)
    if distribution not in COMPANIONS or torch is None or companion is None:
        return None
    if _release(torch) == _release(companion):
        return None
    from packaging.version import Version

    torch_release = Version(torch).base_version
    torch_spec = supported("torch")
    if torch_spec is None or torch_spec.contains(torch, prereleases=True):
        fix = f"pip install {distribution}=={torch_release}"
    else:
        fix = f"pip install {requirement_text('torch')} {requirement_text(distribution)}"
    return Problem(f"{distribution} {companion} does not match torch {torch}", fix)


def import_failure(layer: Layer, exc: BaseException) -> Problem:
    """Why ``layer`` did not import, as one line and the fix."""
    pair = companion_mismatch(layer.distribution)
    if pair is not None:
        return pair
    version = installed_version(layer.distribution) or "(not installed)"
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        missing = exc.name.split(".")[0]
        if missing != layer.target.split(".")[0].split(":")[0]:
            return Problem(
                f"{layer.distribution} {version} needs the module '{missing}', which is missing",
                f"pip install {missing}",
            )
    return Problem(
        f"{layer.distribution} {version} does not load ({describe(exc)})",
        f"pip install --force-reinstall {requirement_text(layer.distribution)}",
    )


def outside_range(distribution: str) -> str | None:
    """``"2.11.1 (voxcli supports ==2.11.0)"`` when the installed release is outside voxcli's range."""
    spec, version = supported(distribution), installed_version(distribution)
    if spec is None or version is None or spec.contains(version, prereleases=True):
        return None
    return f"{version} (voxcli supports {spec})"


def version_problem(layer: Layer) -> Problem | None:
    """A ranged layer's release outside voxcli's range (unless $VOXCLI_IGNORE_VERSIONS=1)."""
    if not layer.ranged or os.environ.get(IGNORE_VERSIONS_ENV, "") not in ("", "0"):
        return None
    spec, version = supported(layer.distribution), installed_version(layer.distribution)
    if spec is None or version is None or spec.contains(version, prereleases=True):
        return None
    return Problem(
        f"{layer.distribution} {version} is not a release voxcli supports ({spec})",
        f"pip install {requirement_text(layer.distribution)}, or set {IGNORE_VERSIONS_ENV}=1 "
        "to try it anyway",
    )


def _import(target: str) -> None:
    module, _, attribute = target.partition(":")
    loaded = importlib.import_module(module)
    if attribute:
        getattr(loaded, attribute)


def stack_problem(layers: tuple[Layer, ...], cached: bool = False) -> Problem | None:
    """The first layer that does not import (in order: a layer's dependencies come before it), else
    the first ranged one outside voxcli's range, else None. Imports for real, once per process.

    ``cached``: reuse the verdict an earlier process reached in this same environment (the same
    interpreter, and every folder on ``sys.path`` unchanged since: installing or removing any package
    changes its folder). For listings (``voxcli engines``, ``voices list``) only; what speaks, and
    ``doctor``, import for real, and every real import refreshes the saved verdict.
    """
    if not layers:
        return None
    key = _fingerprint(layers)
    if cached:
        saved = _saved().get(key)
        if saved is not None:
            message = saved.get("message")
            return Problem(message, saved.get("fix")) if message else None
    problem = _probe(layers)
    _save(key, problem)
    return problem


@cache
def _probe(layers: tuple[Layer, ...]) -> Problem | None:
    for layer in layers:
        if layer.optional and installed_version(layer.distribution) is None:
            continue
        try:
            _import(layer.target)
        except Exception as exc:  # a broken package fails with anything: OSError, RuntimeError, ...
            return import_failure(layer, exc)
    for layer in layers:
        problem = version_problem(layer)
        if problem is not None:
            return problem
    return None


# ---- verdicts saved between processes ----------------------------------------------------------------

MAX_SAVED = 64


def _cache_file() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("voxcli")) / "engine-stacks.json"


def _fingerprint(layers: tuple[Layer, ...]) -> str:
    from voxcli import __version__

    parts = [sys.executable, sys.version, __version__, os.environ.get(IGNORE_VERSIONS_ENV, "")]
    for entry in sys.path:
        try:
            parts.append(f"{entry}={Path(entry or '.').stat().st_mtime_ns}")
        except OSError:
            parts.append(f"{entry}=absent")
    parts += [repr(layer) for layer in layers]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _saved() -> dict[str, dict[str, str | None]]:
    try:
        data = json.loads(_cache_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save(key: str, problem: Problem | None) -> None:
    verdicts = _saved()
    verdicts.pop(key, None)
    verdicts[key] = {"message": problem.message, "fix": problem.fix} if problem else {"message": None}
    kept = dict(list(verdicts.items())[-MAX_SAVED:])
    with contextlib.suppress(OSError):  # a read-only home: the next listing imports again
        path = _cache_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, json.dumps(kept).encode())
