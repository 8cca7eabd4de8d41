"""Compare this Python's installed packages with requirements.lock.

    python tools/lockcheck.py requirements.lock --sync    # remove what the lock does not name, then
                                                          # fail unless every pin is installed exactly
    python tools/lockcheck.py requirements.lock --drift   # list what differs from the lock (never fails)

The Makefile runs ``--sync`` after installing from the lock (a reused .venv may hold packages an
older lock had), and ``--drift`` in ``make test-latest``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

NOT_LOCKED = {"pip", "voxcli"}  # the venv's own installer, and the project installed from its checkout


def locked(path: Path) -> dict[str, str]:
    """``{name: version}`` of the lock's pins that apply to this interpreter and platform."""
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line[0] in "# -":
            continue  # comments, hash continuation lines, options
        requirement = Requirement(line.rstrip("\\ "))
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        (specifier,) = requirement.specifier
        if specifier.operator != "==":
            raise SystemExit(f"error: {path}: {requirement.name} is not pinned with == ({line.strip()})")
        pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def installed() -> dict[str, str]:
    found: dict[str, str] = {}
    for distribution in importlib.metadata.distributions():
        name = distribution.metadata["Name"]
        if name:
            found.setdefault(canonicalize_name(name), distribution.version)
    return found


def sync(path: Path) -> int:
    pins, have = locked(path), installed()
    if not pins:
        print(
            f"error: {path} pins nothing for this platform and Python (Linux x86_64/aarch64 and macOS "
            "arm64, Python 3.10-3.12)",
            file=sys.stderr,
        )
        print("fix: use one of those, or install from the ranges: pip install -e '.[test]'", file=sys.stderr)
        return 1
    extra = sorted(set(have) - set(pins) - NOT_LOCKED)
    if extra:
        print(f"removing packages that {path} does not name: {', '.join(extra)}")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--disable-pip-version-check",
                "uninstall",
                "--yes",
                "--quiet",
                *extra,
            ],
            check=True,
        )
        have = installed()
    wrong = [
        f"{name} {have.get(name, 'missing')} (locked: {version})"
        for name, version in sorted(pins.items())
        if have.get(name) != version
    ]
    if wrong:
        print(f"error: the environment does not match {path}: {'; '.join(wrong)}", file=sys.stderr)
        print("fix: rm -rf .venv, then run make again", file=sys.stderr)
        return 1
    print(f"{len(pins)} packages installed exactly as {path} pins them")
    return 0


def drift(path: Path) -> int:
    pins, have = locked(path), installed()
    rows = [
        (name, pins.get(name, "-"), have.get(name, "-"))
        for name in sorted(set(pins) | set(have) - NOT_LOCKED)
        if pins.get(name) != have.get(name)
    ]
    if not rows:
        print(f"the newest releases the ranges allow are the ones {path} pins")
        return 0
    width = max(len(name) for name, _, _ in rows)
    print(f"{len(rows)} packages differ from {path}:")
    print(f"  {'package':<{width}}  {'locked':<14}  installed")
    for name, pinned, found in rows:
        print(f"  {name:<{width}}  {pinned:<14}  {found}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("lock", type=Path)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--sync", action="store_true", help="remove unlocked packages, then verify the pins")
    mode.add_argument("--drift", action="store_true", help="list the packages that differ from the lock")
    args = parser.parse_args()
    return sync(args.lock) if args.sync else drift(args.lock)


if __name__ == "__main__":
    sys.exit(main())
