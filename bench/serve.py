"""The speech server against cold starts: `.venv/bin/python bench/serve.py`.

With the built-in Piper voice, on this machine:
- `voxcli say SENTENCE -o x.wav` in a fresh process (imports, model load, speech), median of 3;
- the same through a running server (`VOXCLI_SERVER`), median of 5;
- time to the first audio byte of a streamed request (`stream: true`, pcm), median of 10;
- requests per second for short sentences from 4 clients at once (40 requests).
Targets: first byte under 0.5 s; `say` through the server at least 1.5 times faster than cold.
Writes bench/results-serve.json; exits 1 when a target is missed.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
SENTENCE = "The quick brown fox jumps over the lazy dog."
FIRST_BYTE_TARGET = 0.5
SPEED_UP_TARGET = 1.5


def say(out: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "voxcli", "say", SENTENCE, "-o", str(out)],
        check=True,
        env=env,
        capture_output=True,
    )
    return time.perf_counter() - start


def main() -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("VOXCLI_SERVER", "VOXCLI_API_KEY")}
    results: dict[str, object] = {"cores": os.cpu_count(), "sentence": SENTENCE}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "x.wav"
        cold = statistics.median(say(out, env) for _ in range(3))
        command = [sys.executable, "-m", "voxcli", "serve", "--port", "0", "--preload", "joe"]
        server = subprocess.Popen(
            command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
        )
        try:
            assert server.stderr is not None
            match = None
            for line in server.stderr:
                match = re.search(r"http://[0-9.]+:\d+", line)
                if match:
                    break
            if not match:
                raise SystemExit("the server did not start")
            url = match.group(0)
            warm = statistics.median(say(out, {**env, "VOXCLI_SERVER": url}) for _ in range(5))

            def first_byte() -> float:
                start = time.perf_counter()
                body = {"input": SENTENCE, "voice": "joe", "response_format": "pcm", "stream": True}
                with httpx.stream("POST", f"{url}/v1/audio/speech", json=body, timeout=60) as response:
                    for chunk in response.iter_bytes():
                        if chunk:
                            return time.perf_counter() - start
                raise SystemExit("no audio")

            first_byte()  # warm the connection path
            latency = statistics.median(first_byte() for _ in range(10))

            def one(_: int) -> None:
                body = {"input": SENTENCE, "voice": "joe", "response_format": "wav"}
                httpx.post(f"{url}/v1/audio/speech", json=body, timeout=60).raise_for_status()

            start = time.perf_counter()
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(one, range(40)))
            rate = 40 / (time.perf_counter() - start)
        finally:
            server.terminate()
            server.wait(15)
    results |= {
        "say_cold_seconds": round(cold, 3),
        "say_through_server_seconds": round(warm, 3),
        "speed_up": round(cold / warm, 2),
        "first_audio_byte_seconds": round(latency, 3),
        "requests_per_second": round(rate, 2),
    }
    (REPO / "bench" / "results-serve.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    missed = []
    if latency > FIRST_BYTE_TARGET:
        missed.append(f"first audio byte after {latency:.3f} s (target {FIRST_BYTE_TARGET})")
    if cold / warm < SPEED_UP_TARGET:
        missed.append(f"say through the server only {cold / warm:.2f}x faster (target {SPEED_UP_TARGET})")
    for line in missed:
        print(f"missed: {line}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
