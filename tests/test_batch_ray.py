"""``voxcli batch --cluster`` on a real Ray cluster that this module starts (``ray start --head`` on
127.0.0.1, two CPUs): the same library as a batch on this machine, the built-in voice complete and
decoded, and a speaker process killed with kill -9 mid-run changing nothing in the output."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.batchcheck import (
    BROKEN,
    batch_args,
    by_book,
    cache_entries,
    library_files,
    run_batch,
    shelf,
    tone_voices,
)
from tests.conftest import REPO, corpus_file

pytestmark = pytest.mark.slow  # a Ray cluster: seconds to start, real processes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ray_env(home: Path) -> dict[str, str]:
    """What the cluster and its drivers share: loopback only, no token (Ray's own tests' settings), a
    HOME of their own (Ray writes ~/.ray), the repository importable (the test engines)."""
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)
    env.update(
        HOME=str(home),
        RAY_AUTH_MODE="disabled",
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",  # binds every Ray port to 127.0.0.1
        RAY_USAGE_STATS_ENABLED="0",
        PYTHONPATH=str(REPO),
    )
    return env


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """(address, environment) of a Ray head with 2 CPUs, stopped (its process group) afterwards."""
    ray = Path(sys.executable).with_name("ray")
    home = tmp_path_factory.mktemp("rayhome")
    env = ray_env(home)
    port, client = _free_port(), _free_port()
    temp = Path("/tmp") / f"vxray-{os.getpid()}"  # short: Ray's socket paths must fit in 107 bytes
    head = subprocess.Popen(
        [
            *(str(ray), "start", "--head", "--block", f"--port={port}", "--num-cpus=2"),
            *("--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"),
            *(f"--ray-client-server-port={client}", "--min-worker-port=24100", "--max-worker-port=24999"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert head.poll() is None, "ray start --head failed"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the Ray head did not come up"
                time.sleep(0.2)
        yield f"127.0.0.1:{port}", env
    finally:
        os.killpg(head.pid, signal.SIGTERM)  # the head and every process it started, nothing else
        try:
            head.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)


def speaker_pids() -> set[int]:
    """The processes of voxcli's speaker actors (their process title is ray::VoxcliSpeaker...)."""
    found = subprocess.run(["pgrep", "-f", "ray::VoxcliSpeaker"], capture_output=True, text=True)
    return {int(pid) for pid in found.stdout.split()}


def test_the_same_library_as_on_this_machine(tmp_path: Path, cluster: tuple[str, dict[str, str]]) -> None:
    address, env = cluster
    books = shelf(tmp_path)
    voices = tone_voices(tmp_path)
    code, here, stderr = run_batch(books, "-o", tmp_path / "here", "--voices", voices, "-j", "2", env=env)
    assert code == 1, stderr
    code, ray, stderr = run_batch(
        books, "-o", tmp_path / "ray", "--voices", voices, "--cluster", address, env=env
    )
    assert code == 1, stderr  # the broken book, again
    assert ray["backend"] == f"ray {address}" and ray["speakers"] == 2
    assert by_book(ray)[BROKEN]["status"] == "failed"
    assert [b["status"] for b in ray["books"]] == [b["status"] for b in here["books"]]
    assert ray["characters_spoken"] == here["characters_spoken"] > 0
    files = library_files(tmp_path / "ray")
    assert files and files == library_files(tmp_path / "here")  # audio came back through the driver

    doctor = subprocess.run(
        [sys.executable, "-m", "voxcli", "doctor", "--no-load", "--json"],
        capture_output=True,
        text=True,
        env={**env, "RAY_ADDRESS": address},
        cwd=REPO,
    )
    check = next(c for c in json.loads(doctor.stdout)["checks"] if c["name"] == "ray")
    assert check["status"] == "ok" and address in check["detail"] and "answers" in check["detail"]


def test_the_builtin_voice_on_ray(tmp_path: Path, cluster: tuple[str, dict[str, str]]) -> None:
    """Piper on the cluster's actors, writing the cache in the shared library: every chapter whole."""
    address, env = cluster
    books = tmp_path / "books"
    books.mkdir()
    for folder, name in (("epub", "cnt-mathml-support.epub"), ("bad", "epub2__epub_ocf-minimal-valid.epub")):
        shutil.copy(corpus_file(folder, name), books)
    library = tmp_path / "library"
    code, summary, stderr = run_batch(books, "-o", library, "--cluster", address, "--shared-output", env=env)
    assert code == 0, stderr
    assert summary["converted"] == 2 and summary["speakers"] == 2
    for book in summary["books"]:
        folder = Path(book["folder"])
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert len(manifest["chapters"]) == book["chapters"] >= 1
        for chapter in manifest["chapters"]:
            samples, rate = soundfile.read(str(folder / chapter["files"]["wav"]), dtype="float32")
            assert len(samples) == chapter["samples"] and rate == chapter["sample_rate"]
            seconds = len(samples) / rate
            assert 0.03 < seconds / max(chapter["characters"], 1) < 0.2  # spoken, at a speaking pace
            windows = samples[: len(samples) // rate * rate].reshape(-1, rate)
            assert (np.sqrt((windows**2).mean(axis=1)) > 0.01).mean() > 0.5  # mostly speech, not silence
    assert len(cache_entries(library)) > 0


def test_a_speaker_killed_mid_run(tmp_path: Path, cluster: tuple[str, dict[str, str]]) -> None:
    """kill -9 of an actor's process: Ray starts it again and runs its calls again; nothing is lost."""
    address, env = cluster
    books = shelf(tmp_path)
    (books / BROKEN).unlink()
    reference = tmp_path / "reference"
    code, _, stderr = run_batch(books, "-o", reference, "--voices", tone_voices(tmp_path), "-j", "2", env=env)
    assert code == 0, stderr
    sentences = len(cache_entries(reference))

    slow = tmp_path / "slow"
    slow.mkdir()
    library = tmp_path / "library"
    voices = tone_voices(slow, delay=0.03)
    run = subprocess.Popen(
        batch_args(
            books, "-o", library, "--voices", voices, "--cluster", address, "--shared-output", "--json"
        ),
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 180
    while len(speaker_pids()) < 2 or len(cache_entries(library)) < sentences // 4:
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)
    first = speaker_pids()
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    assert len(cache_entries(library)) < sentences  # killed mid-run
    restarted: set[int] = set()
    while run.poll() is None and not restarted:
        restarted = speaker_pids() - first  # Ray's new process for the killed actor
        time.sleep(0.05)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0 and out, err
    assert out.lstrip().startswith("{"), out[:3000]
    assert restarted, "Ray did not start the killed speaker again"
    summary = json.loads(out)
    assert summary["converted"] == 3, (out, err)
    assert len(cache_entries(library)) == sentences
    assert library_files(library) == library_files(reference)
