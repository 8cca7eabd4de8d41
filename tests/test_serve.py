"""`voxcli serve` as a real server on a loopback port, called over HTTP with the built-in Piper voice.

Each server is a `python -m voxcli serve --port 0` process with its own config and data folders;
requests go through httpx and through the OpenAI Python client.
"""

from __future__ import annotations

import base64
import io
import os
import re
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile

from tests.audiocheck import assert_speech
from tests.conftest import REPO

SHORT = "The quick brown fox jumps over the lazy dog."
WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
]
LONG = " ".join(
    f"Sentence number {n} of a long request keeps the engine busy for a while." for n in range(60)
)


class Server:
    def __init__(self, url: str, proc: subprocess.Popen[str], log: list[str], home: Path) -> None:
        self.url, self.proc, self.log, self.home = url, proc, log, home

    def post(self, path: str, json: object | None = None, **kwargs: object) -> httpx.Response:
        return httpx.post(self.url + path, json=json, timeout=120, **kwargs)  # type: ignore[arg-type]

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30, **kwargs)  # type: ignore[arg-type]


def environment(home: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "NO_COLOR": "1",
    }
    for name in ("VOXCLI_VOICES", "VOXCLI_SERVER", "VOXCLI_API_KEY"):
        env.pop(name, None)
    return env


@contextmanager
def serve(home: Path, *args: str) -> Iterator[Server]:
    home.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "voxcli", "serve", "--port", "0", *args],
        cwd=home,
        env=environment(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    log: list[str] = []
    found = threading.Event()

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            log.append(line)
            if "listening on http://" in line:
                found.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        assert found.wait(90), f"the server did not start: {''.join(log)}"
        match = re.search(r"http://[0-9.]+:\d+", "".join(log))
        assert match, log
        yield Server(match.group(0), proc, log, home)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("serve"), "--preload", "joe", "--max-body", "1000000") as running:
        yield running


def wav(data: bytes) -> tuple[np.ndarray, int]:
    samples, rate = soundfile.read(io.BytesIO(data), dtype="float32")
    return samples, rate


def speech_request(**fields: object) -> dict[str, object]:
    return {"model": "tts-1", "input": SHORT, "voice": "joe", "response_format": "wav", **fields}


# ---- the endpoints --------------------------------------------------------------------------------------


def test_health_voices_and_languages(server: Server) -> None:
    health = server.get("/health").json()
    assert health["status"] == "ok"
    assert health["engines"]["piper"]["voices"]  # preloaded at start
    assert [m for m in health["models"] if m["engine"] == "piper" and "en_US-joe-medium" in m["model"]]
    voices = {v["name"]: v for v in server.get("/voices").json()["voices"]}
    assert voices["joe"] == {
        "name": "joe",
        "engine": "piper",
        "voice": "en_US-joe-medium",
        "language": "en-us",
        "default": True,
        "usable": True,
        "problem": None,
    }
    assert voices["espeak"]["usable"] is True
    languages = server.get("/languages").json()["languages"]
    assert {"language": "en-us", "voices": ["joe", "espeak"]} in languages


@pytest.mark.parametrize("fmt", ["wav", "mp3", "flac"])
def test_speech_in_each_format(server: Server, fmt: str) -> None:
    response = server.post("/v1/audio/speech", speech_request(response_format=fmt))
    assert response.status_code == 200, response.text
    assert (
        response.headers["content-type"]
        == {"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac"}[fmt]
    )
    samples, rate = wav(response.content)
    assert rate == 22050
    assert_speech(samples, rate, 1.5, 6.0)


def test_pcm_is_24khz_16bit_like_openai(server: Server) -> None:
    reference, rate = wav(server.post("/v1/audio/speech", speech_request()).content)
    response = server.post("/v1/audio/speech", speech_request(response_format="pcm"))
    assert response.status_code == 200 and response.headers["x-sample-rate"] == "24000"
    pcm = np.frombuffer(response.content, dtype="<i2").astype(np.float32) / 32768
    assert len(pcm) / 24000 == pytest.approx(len(reference) / rate, rel=0.1)
    assert_speech(pcm, 24000, 1.5, 6.0)


def test_speed_and_the_openai_voice_names(server: Server) -> None:
    normal, _rate = wav(server.post("/v1/audio/speech", speech_request()).content)
    fast, _ = wav(server.post("/v1/audio/speech", speech_request(speed=1.5, voice="alloy")).content)
    # Faster (Piper's own silences at the ends do not shrink, so not quite by 1.5).
    assert 0.55 < len(fast) / len(normal) < 0.85


def test_streaming_sends_audio_before_the_text_is_done(server: Server) -> None:
    text = " ".join(f"This is sentence {n} of the streamed text." for n in range(8))
    whole, rate = wav(server.post("/v1/audio/speech", speech_request(input=text)).content)
    chunks: list[tuple[float, bytes]] = []
    start = time.monotonic()
    with httpx.stream(
        "POST", server.url + "/v1/audio/speech", json=speech_request(input=text, stream=True), timeout=120
    ) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            chunks.append((time.monotonic() - start, chunk))
    data = b"".join(c for _, c in chunks)
    assert data[:4] == b"RIFF" and data[8:16] == b"WAVEfmt "
    assert struct.unpack("<I", data[24:28])[0] == rate
    pcm = np.frombuffer(data[44:], dtype="<i2").astype(np.float32) / 32768
    assert len(pcm) / rate == pytest.approx(len(whole) / rate, rel=0.1)
    assert_speech(pcm, rate, 10.0, 60.0)
    # The first sentence arrived well before the last.
    first_audio = next(t for t, c in chunks if len(c) > 1000)
    assert first_audio < 0.6 * chunks[-1][0]


def test_xtts_streams_a_sentence_while_it_is_generated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """XTTS gives one sentence in pieces of ``stream_tokens`` audio tokens (the tiny random model of
    tests/xtts_tiny.py makes 21 tokens a sentence: pieces of 7, and the tail of the last)."""
    from tests.xtts_tiny import TINY_SPEAKER, build_tiny_xtts

    checkpoint = build_tiny_xtts(tmp_path / "xtts")
    home = tmp_path / "x"
    (home / "config" / "voxcli").mkdir(parents=True)
    (home / "config" / "voxcli" / "voices.toml").write_text(
        f'default = "tiny"\n[voices.tiny]\nengine = "coqui"\nvoice = "xtts_v2"\n'
        f'[voices.tiny.options]\nmodel_dir = "{checkpoint}"\nspeaker = "{TINY_SPEAKER}"\n'
        'retries = 0\nstream_tokens = 7\ndevice = "cpu"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("COQUI_TOS_AGREED", "1")
    request = speech_request(input="Hello there.", voice="tiny")
    with serve(home, "--preload", "tiny") as xtts:
        start = time.monotonic()
        whole, rate = wav(xtts.post("/v1/audio/speech", request).content)
        whole_seconds = time.monotonic() - start
        reads: list[tuple[float, bytes]] = []
        start = time.monotonic()
        with httpx.stream(
            "POST", xtts.url + "/v1/audio/speech", json={**request, "stream": True}, timeout=120
        ) as r:
            assert r.status_code == 200
            reads += [(time.monotonic() - start, chunk) for chunk in r.iter_bytes()]
    streamed, streamed_rate = wav(b"".join(chunk for _, chunk in reads))  # soundfile reads the stream
    assert streamed_rate == rate == 24000
    # One sentence, yet its first audio came well before the sentence is made whole, and the rest later
    # (sent whole, it would all come at once, after about whole_seconds).
    audio = [t for t, chunk in reads if len(chunk) > 1000]
    assert audio[0] < 0.75 * whole_seconds
    assert len(audio) >= 2 and audio[-1] - audio[0] > 0.25 * whole_seconds
    # The same length as the sentence spoken whole (the same seed; two coqui code paths whose token
    # counts agree): within one audio token, 1,024 samples at 22,050 Hz.
    assert abs(len(streamed) - len(whole)) <= 1024 * 24000 / 22050
    assert len(streamed) > 0.5 * 24000  # 21 tokens: about a second


def test_kokoro_say_and_voiceforge_endpoints(server: Server) -> None:
    response = server.post("/synthesize-file", {"text": SHORT, "voice": "joe"})
    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
    assert_speech(*wav(response.content), 1.5, 6.0)
    uri = server.post("/api/tts", {"text": SHORT, "voiceId": "espeak", "speed": 1.0}).json()["audioDataUri"]
    assert uri.startswith("data:audio/wav;base64,")
    samples, rate = wav(base64.b64decode(uri.split(",", 1)[1]))
    assert rate == 22050
    assert_speech(samples, rate, 1.0, 6.0)


@pytest.mark.slow
def test_train_voice_does_what_voices_add_clone_does(server: Server) -> None:
    recording = server.post("/synthesize-file", {"text": LONG[:150]}).content
    assert 3 < len(wav(recording)[0]) / 22050 < 60
    uri = "data:audio/wav;base64," + base64.b64encode(recording).decode()
    response = server.post("/api/train-voice", {"modelName": "reader", "audioDataUri": uri})
    assert response.status_code == 200, response.text
    assert response.json() == {"trainingStatus": "completed", "modelId": "reader"}
    voices = {v["name"]: v for v in server.get("/voices").json()["voices"]}
    assert voices["reader"]["engine"] == "coqui" and voices["reader"]["voice"] == "xtts_v2"
    kept = server.home / "data" / "voxcli" / "voices" / "reader"
    stored = sorted(kept.glob("*.wav"))
    assert len(stored) == 1 and soundfile.info(stored[0]).samplerate == 24000
    assert "[voices.reader]" in (server.home / "config" / "voxcli" / "voices.toml").read_text()
    again = server.post("/api/train-voice", {"modelName": "reader", "audioDataUri": uri})
    assert again.status_code == 409


BAD_UPLOADS = [
    ({"modelName": "x", "audioDataUri": "data:audio/wav;base64,@@@not base64@@@"}, 400, "not valid"),
    ({"modelName": "x", "audioDataUri": "https://example.com/a.wav"}, 400, "not a data URI"),
    ({"modelName": "x", "audioDataUri": "data:audio/aac;base64,AAAA"}, 415, "audio/aac is not supported"),
    (
        {
            "modelName": "x",
            "audioDataUri": "data:audio/wav;base64," + base64.b64encode(os.urandom(3000)).decode(),
        },
        422,
        "not readable audio",
    ),
    ({"modelName": "../../etc", "audioDataUri": "data:audio/wav;base64,AAAA"}, 400, "modelName"),
    ({"modelName": "x"}, 400, "audioDataUri: Field required"),
]


@pytest.mark.parametrize(
    ("body", "status", "message"), BAD_UPLOADS, ids=[str(b[1]) + "-" + b[2] for b in BAD_UPLOADS]
)
def test_bad_uploads_are_4xx_that_say_why(server: Server, body: dict, status: int, message: str) -> None:
    response = server.post("/api/train-voice", body)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]
    assert not (server.home / "data" / "voxcli" / "voices" / "x").exists()


def test_a_too_short_recording_is_refused(server: Server) -> None:
    short = server.post("/synthesize-file", {"text": "Hi."}).content
    uri = "data:audio/wav;base64," + base64.b64encode(short).decode()
    response = server.post("/api/train-voice", {"modelName": "tiny", "audioDataUri": uri})
    assert (
        response.status_code == 422 and "s long; use 3 to 60 seconds" in response.json()["error"]["message"]
    )


BAD_REQUESTS = [
    (b'{"input": "hello", "voice": ', 400, "malformed JSON"),
    (b'{"voice": "joe"}', 400, "input: Field required"),
    (b'{"input": "hello", "voice": "nobody"}', 400, "unknown voice 'nobody'"),
    (b'{"input": "hello", "voice": "piper:/etc/passwd"}', 400, "a request names voices, not files"),
    (b'{"input": "hello", "response_format": "ogg"}', 400, "response_format"),
    (b'{"input": "   "}', 400, "nothing to say"),
    (b'{"input": "hello", "speed": 5}', 400, "speed"),
    (b'{"input": "' + b"word " * 1000 + b'"}', 413, "over the limit of 4,096"),
    (b'{"input": "' + b"x" * 1_100_000 + b'"}', 413, "request body over 1,000,000 bytes"),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD_REQUESTS, ids=[b[2] for b in BAD_REQUESTS])
def test_bad_requests_are_4xx_that_say_why(server: Server, body: bytes, status: int, message: str) -> None:
    response = httpx.post(
        server.url + "/v1/audio/speech",
        content=body,
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert message in error["message"] and error["type"] == "invalid_request_error"


# ---- concurrency, the queue, time limits, the key ----------------------------------------------------


@pytest.mark.slow
def test_twenty_parallel_requests_are_all_answered_correctly(server: Server) -> None:
    texts = [" ".join(WORDS[:n]) + "." for n in range(1, 21)]

    def ask(text: str) -> float:
        response = server.post("/v1/audio/speech", speech_request(input=text))
        assert response.status_code == 200, response.text
        samples, rate = wav(response.content)
        assert rate == 22050
        return len(samples) / rate

    with ThreadPoolExecutor(20) as pool:
        durations = list(pool.map(ask, texts))
    # Each answer is its own text's: the length grows with the number of words.
    assert np.corrcoef(np.arange(1, 21), durations)[0, 1] > 0.97
    assert durations[-1] > 3 * durations[2]


@pytest.mark.slow
def test_a_long_request_does_not_hold_up_a_short_one(server: Server) -> None:
    done: dict[str, float] = {}
    start = time.monotonic()

    def ask(name: str, text: str) -> None:
        response = server.post("/v1/audio/speech", speech_request(input=text))
        assert response.status_code == 200
        done[name] = time.monotonic() - start

    long = threading.Thread(target=ask, args=("long", LONG[:2500]))
    long.start()
    time.sleep(0.5)
    ask("short", SHORT)
    long.join()
    assert done["short"] < done["long"] / 2


@pytest.mark.slow
def test_the_queue_limit_is_429(tmp_path: Path) -> None:
    with serve(tmp_path / "q", "--queue", "1", "--preload", "joe") as small:
        busy = threading.Thread(
            target=small.post, args=("/v1/audio/speech", speech_request(input=LONG[:1000]))
        )
        busy.start()
        deadline = time.monotonic() + 30
        while small.get("/health").json()["engines"]["piper"]["waiting"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        refused = small.post("/v1/audio/speech", speech_request())
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert "try again shortly" in refused.json()["error"]["message"]
        busy.join()
        assert small.post("/v1/audio/speech", speech_request()).status_code == 200


def test_a_request_over_the_time_limit_is_504(tmp_path: Path) -> None:
    with serve(tmp_path / "t", "--timeout", "1", "--preload", "joe") as hasty:
        response = hasty.post("/v1/audio/speech", speech_request(input=LONG[:3500]))
        assert response.status_code == 504 and "took too long" in response.json()["error"]["message"]
        assert hasty.post("/v1/audio/speech", speech_request(input="Hello.")).status_code == 200


def test_the_api_key(tmp_path: Path) -> None:
    with serve(tmp_path / "k", "--api-key", "s3cret") as locked:
        assert locked.get("/health").status_code == 200
        refused = locked.get("/voices")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert locked.get("/voices", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert locked.get("/voices", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_off_loopback_needs_a_key(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "voxcli", "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        env=environment(tmp_path),
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --host 0.0.0.0 would let anyone on the network use this server (add --api-key KEY (or set "
        "$VOXCLI_API_KEY), or keep the default 127.0.0.1)"
    ]


# ---- clients --------------------------------------------------------------------------------------------


def test_the_openai_client_gets_audio(server: Server) -> None:
    import openai

    client = openai.OpenAI(base_url=server.url + "/v1", api_key="not-needed")
    response = client.audio.speech.create(model="tts-1", voice="alloy", input=SHORT, response_format="wav")
    assert_speech(*wav(response.content), 1.5, 6.0)
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="joe", input=SHORT, response_format="mp3"
    ) as streamed:
        data = b"".join(streamed.iter_bytes())
    assert_speech(*wav(data), 1.5, 6.0)
    with pytest.raises(openai.BadRequestError, match="unknown voice 'nobody'"):
        client.audio.speech.create(model="tts-1", voice="nobody", input=SHORT)  # type: ignore[arg-type]


def test_say_through_the_server(server: Server, tmp_path: Path) -> None:
    env = {**environment(server.home), "VOXCLI_SERVER": server.url}
    out = tmp_path / "hello.mp3"
    result = subprocess.run(
        [sys.executable, "-m", "voxcli", "say", SHORT, "-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert f"through {server.url}" in result.stderr
    assert_speech(*soundfile.read(out, dtype="float32"), 1.5, 6.0)
    bad = subprocess.run(
        [sys.executable, "-m", "voxcli", "say", SHORT, "-o", str(out), "-v", "nobody"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert bad.returncode == 2 and "server: unknown voice 'nobody'" in bad.stderr
    gone = subprocess.run(
        [sys.executable, "-m", "voxcli", "say", SHORT, "-o", str(out), "--server", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert gone.returncode == 1
    assert gone.stderr.startswith("error: cannot reach the voxcli server at http://127.0.0.1:9")
    assert len(gone.stderr.strip().splitlines()) == 1


def test_a_voice_that_cannot_preload_stops_the_start(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "voxcli", "serve", "--port", "0", "--preload", "nobody"],
        capture_output=True,
        text=True,
        env=environment(tmp_path),
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 4, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unknown voice 'nobody'"), result.stderr
