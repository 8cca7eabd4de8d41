"""The import direction of CONTRIBUTING.md's layout rule, read from the source with Python's own parser."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "voxcli"
# Each layer, and the voxcli subpackages it must not import (the ones above it, and convert for verify).
FORBIDDEN = {
    "verify": ("voxcli.cli", "voxcli.server", "voxcli.convert"),
    "asr": ("voxcli.cli", "voxcli.server", "voxcli.convert", "voxcli.verify"),
    "cast": ("voxcli.cli", "voxcli.server", "voxcli.convert", "voxcli.verify", "voxcli.asr", "voxcli.ingest"),
    "lexicon": (
        "voxcli.cli",
        "voxcli.server",
        "voxcli.convert",
        "voxcli.verify",
        "voxcli.asr",
        "voxcli.ingest",
    ),
    "ingest": (
        "voxcli.cli",
        "voxcli.server",
        "voxcli.convert",
        "voxcli.verify",
        "voxcli.asr",
        "voxcli.cast",
        "voxcli.engines",
        "voxcli.audio",
        "voxcli.text",
    ),
    "text": ("voxcli.cli", "voxcli.server", "voxcli.convert", "voxcli.verify", "voxcli.asr"),
    "audio": ("voxcli.cli", "voxcli.server", "voxcli.convert", "voxcli.verify", "voxcli.asr"),
    "readalong": ("voxcli.cli", "voxcli.server", "voxcli.convert", "voxcli.verify", "voxcli.asr"),
    "video": ("voxcli.cli", "voxcli.server", "voxcli.convert", "voxcli.verify", "voxcli.asr"),
    "engines": ("voxcli.cli", "voxcli.server", "voxcli.convert", "voxcli.verify", "voxcli.asr"),
    "convert": ("voxcli.cli", "voxcli.server", "voxcli.batch"),
    "batch": ("voxcli.cli", "voxcli.server"),
    "server": ("voxcli.cli",),
}


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function (absolute names)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_go_one_way(layer: str) -> None:
    files = sorted((PACKAGE / layer).glob("*.py"))
    assert files, layer
    wrong = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in files
        for name in sorted(imported(path))
        if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN[layer])
    ]
    assert wrong == []
