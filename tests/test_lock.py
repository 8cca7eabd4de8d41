"""requirements.lock: every requirement of pyproject.toml pinned within its range, with hashes, for each
supported Python on Linux x86_64, and this environment installed exactly as the lock says.

The lock is read here with ``packaging`` and the environment with ``pip list`` (not with the Makefile's
tools/lockcheck.py), so a stale lock or a drifted venv fails this test on its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

LOCK = REPO / "requirements.lock"
PYTHONS = ("3.10", "3.11", "3.12")


def linux_x86_64(python: str) -> dict[str, str]:
    env = dict(default_environment())
    env.update(
        sys_platform="linux",
        platform_system="Linux",
        platform_machine="x86_64",
        os_name="posix",
        python_version=python,
        python_full_version=f"{python}.0",
        implementation_name="cpython",
        platform_python_implementation="CPython",
    )
    return env


def pins(path: Path) -> list[tuple[Requirement, list[str]]]:
    """Each pin of the lock with its hashes."""
    found: list[tuple[Requirement, list[str]]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("--hash="):
            found[-1][1].append(stripped.removeprefix("--hash=").rstrip(" \\"))
        elif line and not line.startswith(("#", " ", "-")):
            found.append((Requirement(line.rstrip(" \\")), []))
    return found


def pinned_for(env: dict[str, str]) -> dict[str, str]:
    result = {}
    for requirement, _ in pins(LOCK):
        if requirement.marker is None or requirement.marker.evaluate(env):
            (spec,) = requirement.specifier
            assert spec.operator == "==", requirement
            name = canonicalize_name(requirement.name)
            assert name not in result, f"{name} pinned twice for one environment"
            result[name] = spec.version
    return result


def declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    return [Requirement(text) for text in project["dependencies"] + extras["test"] + extras["ray"]]


@pytest.mark.parametrize("python", PYTHONS)
def test_every_requirement_is_pinned_within_its_range(python: str) -> None:
    env = linux_x86_64(python)
    locked = pinned_for(env)
    assert len(locked) > 100
    for requirement in declared():
        if requirement.marker is not None and not requirement.marker.evaluate(env):
            continue
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in {LOCK.name} for Python {python}: run make lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{name}=={locked[name]} in the lock is outside pyproject's {requirement.specifier}: "
            "run make lock"
        )


def test_every_pin_has_hashes() -> None:
    for requirement, hashes in pins(LOCK):
        assert hashes, f"{requirement.name} has no hash"
        assert all(h.startswith("sha256:") and len(h) == len("sha256:") + 64 for h in hashes), requirement


@pytest.mark.parametrize("python", PYTHONS)
def test_torch_pairs_are_one_release(python: str) -> None:
    locked = pinned_for(linux_x86_64(python))
    assert locked["torch"] == locked["torchaudio"]
    major, minor = (int(part) for part in locked["transformers"].split(".")[:2])
    assert (major, minor) < (5, 24)  # XTTS inference fails from transformers 5.24.0


def test_this_environment_is_the_lock() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    )
    installed = {canonicalize_name(p["name"]): p["version"] for p in json.loads(listed.stdout)}
    installed.pop("pip", None)
    installed.pop("voxcli", None)
    locked = pinned_for(dict(default_environment()))
    differ = {
        name: (locked.get(name), installed.get(name))
        for name in locked.keys() | installed.keys()
        if locked.get(name) != installed.get(name)
    }
    assert not differ, f"(locked, installed) differ: {differ}; reinstall with make (rm -rf .venv first)"
