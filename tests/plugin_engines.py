"""The test engines of tests/fake_engine.py, registered the way a third-party package registers one.

``install(folder)`` writes a distribution's metadata with ``voxcli.engines`` entry points into
``folder``; with ``folder`` and the repository on PYTHONPATH, any voxcli process (``python -m voxcli
serve`` included) finds the engines through the real registry, nothing patched. ``register`` does
the same inside this process, for CliRunner tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

TEST_ENGINES = {
    "fake": "tests.fake_engine:FakeEngine",
    "recording": "tests.fake_engine:RecordingEngine",
    "slowload": "tests.fake_engine:SlowLoadEngine",
    "resource": "tests.fake_engine:ResourceEngine",
}


def install(folder: Path) -> str:
    """Declare the test engines in ``folder``; the PYTHONPATH under which a process sees them."""
    dist = folder / "voxcli_test_engines-0.0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: voxcli-test-engines\nVersion: 0.0\n", encoding="utf-8"
    )
    points = "".join(f"{name} = {target}\n" for name, target in TEST_ENGINES.items())
    (dist / "entry_points.txt").write_text(f"[voxcli.engines]\n{points}", encoding="utf-8")
    return os.pathsep.join(p for p in (str(folder), str(REPO), os.environ.get("PYTHONPATH", "")) if p)


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """PYTHONPATH set (for child processes) so that they see the test engines as installed plugins."""
    path = install(tmp_path / "plugins")
    monkeypatch.setenv("PYTHONPATH", path)
    return path


@pytest.fixture
def test_engines(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test engines in this process's registry (undone after the test)."""
    from voxcli import engines

    for name, target in TEST_ENGINES.items():
        monkeypatch.setitem(engines.BUILTIN, name, target)
    engines.registry.cache_clear()
    yield
    monkeypatch.undo()
    engines.registry.cache_clear()
