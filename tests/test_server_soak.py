"""`voxcli serve` under a long run and a slow model load: a real server process, its own /proc figures.

The test engines (tests/fake_engine.py) reach the server as installed plugins do, through entry points
(tests/plugin_engines.py): ``resource``, whose every instance owns a thread and a megabyte as a real
engine instance does, and ``slowload``, whose model takes seconds to load.
"""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile

from tests.fake_engine import RATE, WORD_SECONDS
from tests.plugin_engines import plugin_path  # noqa: F401  (fixture)
from tests.test_serve import Server, serve

SOAK_TEXT = "one two three four five."
SPEEDS = [round(0.5 + index * 1.5 / 49, 3) for index in range(50)]  # 0.5 to 2.0
VOICES = {"a": 220.0, "b": 330.0, "c": 440.0}  # name: pitch
WARM_UP = 50
REQUESTS = 500
# Each instance of the resource engine holds 1 MB and a thread. A server that kept one instance per
# (voice, speed) would make 100 more of them after the warm-up: +100 threads, about +100 MB. Serving the
# same three instances, what grows is the allocator's slack from 450 responses of at most 5 words
# (at most 128 kB of samples each, plus its WAV): a few MB. 15 MB lies between the two.
RSS_GROWTH_MB = 15.0
LATENCY = 0.5  # seconds: the bound asked for /health and a warm voice while another voice loads


def proc_status(pid: int) -> tuple[float, int]:
    """(resident memory in MB, threads) of a process, from /proc/PID/status."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"])


def tone_samples(words: int, speed: float) -> int:
    """How long the fake engine's tones are: WORD_SECONDS a word at speed 1 (tests/fake_engine.py)."""
    return words * round(WORD_SECONDS / speed * RATE)


def soak_voices(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    tables = "".join(
        f'[voices.{name}]\nengine = "resource"\nvoice = "{name}"\n'
        f"[voices.{name}.options]\npitch = {pitch}\nbuffer_mb = 1.0\n\n"
        for name, pitch in VOICES.items()
    )
    (home / "voices.toml").write_text(f'default = "a"\n\n{tables}', encoding="utf-8")


@pytest.mark.slow  # 500 requests: about 25 s on two cores
@pytest.mark.usefixtures("plugin_path")
def test_500_requests_at_50_speeds_leave_threads_and_memory_flat(tmp_path: Path) -> None:
    home = tmp_path / "soak"
    soak_voices(home)
    names = list(VOICES)
    figures: dict[str, tuple[float, int]] = {}
    with serve(home) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        for number in range(REQUESTS):
            speed, voice = SPEEDS[number % len(SPEEDS)], names[number % len(names)]
            response = client.post(
                "/v1/audio/speech",
                json={"input": SOAK_TEXT, "voice": voice, "speed": speed, "response_format": "wav"},
            )
            assert response.status_code == 200, f"request {number}: {response.text}"
            samples, rate = soundfile.read(io.BytesIO(response.content), dtype="float32")
            # Each answer is at its own speed, whichever instance spoke it.
            assert rate == RATE and len(samples) == tone_samples(5, speed), (number, voice, speed)
            if number + 1 == WARM_UP:
                figures["warm"] = proc_status(server.proc.pid)
        figures["end"] = proc_status(server.proc.pid)
    (warm_rss, warm_threads), (end_rss, end_threads) = figures["warm"], figures["end"]
    line = (
        f"soak: {REQUESTS} requests, {len(SPEEDS)} speeds x {len(VOICES)} voices: RSS {warm_rss:.1f} MB "
        f"after {WARM_UP} -> {end_rss:.1f} MB at the end ({end_rss - warm_rss:+.1f} MB), "
        f"threads {warm_threads} -> {end_threads}"
    )
    print(line)
    assert end_threads <= warm_threads + 1, line
    assert end_rss - warm_rss < RSS_GROWTH_MB, line


def stall_voices(home: Path, marker: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    marker.mkdir()
    (home / "voices.toml").write_text(
        f"""default = "joe"

[voices.joe]
engine = "piper"
voice = "en_US-joe-medium"

[voices.slow]
engine = "slowload"
voice = "slow"

[voices.slow.options]
load_seconds = 5.0
marker = "{marker}"
""",
        encoding="utf-8",
    )


@pytest.mark.usefixtures("plugin_path")
def test_a_slow_model_load_holds_up_neither_health_nor_a_warm_voice(tmp_path: Path) -> None:
    home, marker = tmp_path / "stall", tmp_path / "marker"
    stall_voices(home, marker)
    with serve(home, "--preload", "joe") as server:
        idle = answer_time(server, "/v1/audio/speech", joe_request(1.0))
        slow: dict[str, httpx.Response] = {}

        def ask_slow() -> None:
            slow["response"] = server.post(
                "/v1/audio/speech", {"input": "one two three.", "voice": "slow", "response_format": "wav"}
            )

        loader = threading.Thread(target=ask_slow)
        loader.start()
        deadline = time.monotonic() + 30
        while not (marker / "loading").exists():
            assert time.monotonic() < deadline, f"the slow voice never began to load: {''.join(server.log)}"
            time.sleep(0.02)
        # /health and joe at once, each timed on its own; then joe at a speed nobody asked for yet
        # (one instance per voice: no load either).
        with ThreadPoolExecutor(2) as pool:
            health = pool.submit(answer_time, server, "/health")
            joe = pool.submit(answer_time, server, "/v1/audio/speech", joe_request(1.0))
            seconds = {"GET /health": health.result(), "joe at speed 1.0": joe.result()}
        seconds["then joe at speed 1.25"] = answer_time(server, "/v1/audio/speech", joe_request(1.25))
        still_loading = not (marker / "loaded").exists()
        loader.join(60)
        shown = ", ".join(f"{what} {s:.2f} s" for what, s in seconds.items())
        print(f"stall: while a 5 s load runs: {shown} (joe idle: {idle:.2f} s)")
        late = {what: s for what, s in seconds.items() if s >= LATENCY}
        assert not late, f"answered {LATENCY} s or later while another voice loaded: {shown}"
        assert still_loading, "the load ended before the checks did: they proved nothing"
        response = slow["response"]
        assert response.status_code == 200, response.text
        samples, rate = soundfile.read(io.BytesIO(response.content), dtype="float32")
        assert rate == RATE and len(samples) == tone_samples(3, 1.0)


def joe_request(speed: float) -> dict[str, object]:
    return {"input": "Hi.", "voice": "joe", "speed": speed, "response_format": "wav"}


def answer_time(server: Server, path: str, body: dict[str, object] | None = None) -> float:
    """Seconds until the whole answer to one request is in (it must be a 200)."""
    start = time.monotonic()
    response = server.post(path, body) if body is not None else server.get(path)
    elapsed = time.monotonic() - start
    assert response.status_code == 200, f"{path}: {response.text}"
    if body is not None:
        samples, _ = soundfile.read(io.BytesIO(response.content), dtype="float32")
        assert np.abs(samples).max() > 0.05, "silence from joe"
    return elapsed
