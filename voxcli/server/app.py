"""The speech server's HTTP API (FastAPI): OpenAI-compatible speech, Kokoro Say's and VoiceForge's endpoints.

Requests name voices, never files: a voice is a profile of the server's voices.toml or ENGINE:VOICE
with a voice id (a path is refused), and uploaded recordings are checked in a private temp folder.
Errors are JSON in OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, 4xx for the
caller's mistakes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import re
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from voxcli import __version__
from voxcli.arrays import Float32
from voxcli.config import NAME_PATTERN, VoicesFile, load_voices, resolve_voice
from voxcli.engines import engine_class
from voxcli.engines.base import AudioChunk, Problem, Spoken, VoiceProfile, looks_like_path
from voxcli.errors import VoxError
from voxcli.lexicon.pronounce import for_profile
from voxcli.server.queue import Busy, Job, SpeechQueue
from voxcli.server.streaming import MEDIA_TYPES, Streamer, can_stream, whole
from voxcli.speak import resample, tagged_runs
from voxcli.text.pieces import Piece, speech_pieces
from voxcli.text.tags import has_tags

OPENAI_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
)
DATA_URI = re.compile(r"^data:(audio/[A-Za-z0-9.+-]+)(;[A-Za-z0-9=.-]+)*;base64,(.*)$", re.DOTALL)
AUDIO_SUFFIX = {
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/flac": ".flac",
    "audio/x-flac": ".flac",
    "audio/ogg": ".ogg",
}


@dataclass
class ServerSettings:
    voices_file: str | None = None
    device: str = "auto"
    max_chars: int = 4096  # per request
    max_body: int = 16 * 1024 * 1024  # bytes
    queue: int = 32  # requests per engine
    timeout: float = 300.0  # seconds per request
    api_key: str | None = None
    preload: list[str] = field(default_factory=list)


class ApiError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


def _error(status: int, message: str, param: str | None = None, code: str | None = None) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    headers = {"Retry-After": "1"} if status == 429 else None
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": param, "code": code}},
        status_code=status,
        headers=headers,
    )


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SpeechRequest(_Lenient):
    model: str = "tts-1"
    input: str
    voice: str = "default"
    response_format: Literal["wav", "mp3", "flac", "pcm"] = "mp3"
    speed: float = Field(default=1.0, ge=0.5, le=2.0)
    stream: bool = False


class FileRequest(_Lenient):
    text: str
    voice: str = "default"
    speed: float = Field(default=1.0, ge=0.5, le=2.0)


class TtsRequest(_Lenient):
    text: str
    voiceId: str = "default"
    speed: float = Field(default=1.0, ge=0.5, le=2.0)


class TrainRequest(_Lenient):
    modelName: str
    audioDataUri: str


class State:
    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.queue = SpeechQueue(settings.queue, settings.device)
        self.voices: VoicesFile = load_voices(settings.voices_file)
        self.edit_lock = threading.Lock()

    def profile(self, spec: str, speed: float) -> VoiceProfile:
        name = spec.strip()
        if name in ("", "default") or (name in OPENAI_VOICES and name not in self.voices.profiles):
            profile = resolve_voice(None, self.voices)
        else:
            _engine, sep, voice = name.partition(":")
            if sep and (looks_like_path(voice) or "/" in voice or "\\" in voice):
                raise ApiError(400, f"voice '{name}': a request names voices, not files", "voice")
            profile = resolve_voice(name, self.voices)
        return replace(profile, speed=round(profile.speed * speed, 4))


def create_app(settings: ServerSettings) -> FastAPI:
    state = State(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(state.queue.close)  # the workers stop, engines release their threads

    app = FastAPI(title="voxcli", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.message, exc.param, exc.code)

    @app.exception_handler(VoxError)
    async def vox_error(_: Request, exc: VoxError) -> JSONResponse:
        # A voice that does not exist or cannot load is the request's problem to fix.
        return _error(400, str(exc), "voice")

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        if first.get("type") == "json_invalid":
            return _error(400, f"malformed JSON: {first.get('msg', '')}", None, "json_invalid")
        return _error(
            400, f"{where or 'body'}: {first.get('msg', 'invalid')}", where or None, first.get("type")
        )

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if settings.api_key and request.url.path != "/health":
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {settings.api_key}".encode()):
                response = _error(
                    401, "missing or wrong API key: send 'Authorization: Bearer KEY'", code="invalid_api_key"
                )
                response.headers["WWW-Authenticate"] = "Bearer"
                return response
        length = request.headers.get("content-length")
        if request.method == "POST" and length is None:
            return _error(411, "send the body with a Content-Length", code="length_required")
        if length is not None and (not length.isdigit() or int(length) > settings.max_body):
            return _error(413, f"request body over {settings.max_body:,} bytes", code="body_too_large")
        return await call_next(request)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        from voxcli.engines.base import loaded_models

        models = [
            {"engine": str(key[0]), "model": " ".join(str(part) for part in key[1:])}
            for key in loaded_models()
        ]
        return {"status": "ok", "version": __version__, "models": models, "engines": state.queue.status()}

    @app.get("/voices")
    async def voices() -> dict[str, Any]:
        problems = await asyncio.to_thread(_problems, state)  # the first look imports engine packages
        listed = []
        for name, profile in state.voices.profiles.items():
            problem = problems[name]
            listed.append(
                {
                    "name": name,
                    "engine": profile.engine,
                    "voice": profile.voice,
                    "language": profile.lang,
                    "default": name == state.voices.default,
                    "usable": problem is None,
                    "problem": problem.message if problem else None,
                }
            )
        return {"voices": listed}

    @app.get("/languages")
    async def languages() -> dict[str, Any]:
        problems = await asyncio.to_thread(_problems, state)
        by_lang: dict[str, list[str]] = {}
        for name, profile in state.voices.profiles.items():
            if problems[name] is None:
                by_lang.setdefault(profile.lang, []).append(name)
        return {"languages": [{"language": lang, "voices": names} for lang, names in sorted(by_lang.items())]}

    @app.post("/v1/audio/speech", response_model=None)
    async def speech(body: SpeechRequest) -> Response:
        profile = state.profile(body.voice, body.speed)
        text = _text(body.input, "input", settings.max_chars)
        if body.stream:
            return await _stream(state, profile, text, body.response_format, body.model)
        samples, rate = await _speak(state, profile, text)
        fmt = body.response_format
        return Response(
            whole(samples, rate, fmt),
            media_type=MEDIA_TYPES[fmt],
            headers={"X-Voxcli-Voice": profile.name, "X-Sample-Rate": str(24000 if fmt == "pcm" else rate)},
        )

    @app.post("/synthesize-file", response_model=None)
    async def synthesize_file(body: FileRequest) -> Response:
        profile = state.profile(body.voice, body.speed)
        samples, rate = await _speak(state, profile, _text(body.text, "text", settings.max_chars))
        return Response(
            whole(samples, rate, "wav"),
            media_type="audio/wav",
            headers={"Content-Disposition": 'attachment; filename="speech.wav"'},
        )

    @app.post("/api/tts")
    async def tts(body: TtsRequest) -> dict[str, str]:
        profile = state.profile(body.voiceId, body.speed)
        samples, rate = await _speak(state, profile, _text(body.text, "text", settings.max_chars))
        data = base64.b64encode(whole(samples, rate, "wav")).decode("ascii")
        return {"audioDataUri": f"data:audio/wav;base64,{data}"}

    @app.post("/api/train-voice")
    async def train(body: TrainRequest) -> dict[str, str]:
        return await asyncio.to_thread(_train, state, body)

    for spec in settings.preload:
        state.queue.preload(state.profile(spec, 1.0))
    return app


def _problems(state: State) -> dict[str, Problem | None]:
    """Why each profile cannot speak (None: it can)."""
    from voxcli.engines import voice_problem

    return {name: voice_problem(profile, cached=True) for name, profile in state.voices.profiles.items()}


def _text(text: str, field_name: str, limit: int) -> str:
    if not text.strip():
        raise ApiError(400, f"{field_name}: nothing to say", field_name)
    if len(text) > limit:
        raise ApiError(
            413,
            f"{field_name}: {len(text):,} characters, over the limit of {limit:,}",
            field_name,
            "text_too_long",
        )
    return text


def _pieces(profile: VoiceProfile, text: str) -> list[Piece]:
    cls = engine_class(profile.engine)
    pieces = speech_pieces(text, profile, cls.max_chars, pronounce=for_profile(cls, profile))
    if not pieces:
        raise ApiError(400, "the text has no words to say", "input")
    return pieces


Group = tuple[VoiceProfile, list[Piece]]


def _groups(state: State, profile: VoiceProfile, text: str) -> list[Group]:
    """The text's pieces, grouped by the voice that says them: inline tags ([pause:S], [voice:NAME],
    [speed:X]) switch voices and speeds; without tags, one group."""
    if not has_tags(text):
        return [(profile, _pieces(profile, text))]
    try:
        parts = tagged_runs(text, profile, lambda name: state.profile(name, 1.0))
    except VoxError as exc:
        raise ApiError(400, exc.message + (f" ({exc.fix})" if exc.fix else ""), "input") from None
    groups: list[Group] = []
    for words, voice, pause in parts:
        cls = engine_class(voice.engine)
        pieces = (
            speech_pieces(words, voice, cls.max_chars, pronounce=for_profile(cls, voice))
            if words.strip()
            else []
        )
        if pieces and pause is not None:
            pieces[-1] = replace(pieces[-1], pause=pause)
        elif not pieces and pause is not None and groups and groups[-1][1]:
            groups[-1][1][-1] = replace(groups[-1][1][-1], pause=pause)
        if not pieces:
            continue
        if groups and groups[-1][0] == voice:
            groups[-1][1].extend(pieces)
        else:
            groups.append((voice, pieces))
    if not groups:
        raise ApiError(400, "the text has no words to say", "input")
    return groups


Results = asyncio.Queue[tuple[int, Spoken | AudioChunk | BaseException]]


def _submit(
    state: State, profile: VoiceProfile, pieces: list[Piece], stream: bool = False
) -> tuple[Job, Results]:
    """Queue the pieces; ``results`` gets each piece's Spoken (or error) and, when ``stream``, each of
    its chunks as it is made before that."""
    loop = asyncio.get_running_loop()
    results: Results = asyncio.Queue()

    def deliver(index: int, result: Spoken | AudioChunk | BaseException) -> None:
        loop.call_soon_threadsafe(results.put_nowait, (index, result))

    job = Job(
        profile, [piece.speech for piece in pieces], deliver, profile.settings, deliver if stream else None
    )
    try:
        state.queue.submit(job)
    except Busy as exc:
        raise ApiError(429, f"{exc}; try again shortly", code="queue_full") from None
    return job, results


async def _receive(job: Job, results: Results, deadline: float) -> Spoken | AudioChunk:
    """The next result: a piece's whole audio, or (streaming) one chunk of it."""
    loop = asyncio.get_running_loop()
    try:
        _, result = await asyncio.wait_for(results.get(), timeout=max(0.0, deadline - loop.time()))
    except asyncio.TimeoutError:  # not the built-in TimeoutError before Python 3.11
        job.cancel()
        raise ApiError(504, "the request took too long; send shorter text", code="timeout") from None
    if isinstance(result, VoxError):
        raise ApiError(400, str(result), "voice")
    if isinstance(result, BaseException):
        raise ApiError(500, f"the engine failed: {result}", code="engine_error")
    return result


async def _next(job: Job, results: Results, deadline: float) -> Spoken:
    """The next piece's whole audio (a job that does not stream sends nothing else)."""
    while True:
        result = await _receive(job, results, deadline)
        if isinstance(result, Spoken):
            return result


async def _speak(state: State, profile: VoiceProfile, text: str) -> tuple[Float32, int]:
    groups = await asyncio.to_thread(_groups, state, profile, text)  # sentence splitting is CPU work
    deadline = asyncio.get_running_loop().time() + state.settings.timeout
    parts: list[Float32] = []
    rate = 0
    for voice, pieces in groups:  # one job per voice, in order; other rates resampled to the first
        job, results = _submit(state, voice, pieces)
        try:
            for piece in pieces:
                spoken = await _next(job, results, deadline)
                rate = rate or spoken.sample_rate
                samples = spoken.samples
                if spoken.sample_rate != rate:
                    samples = await asyncio.to_thread(resample, samples, spoken.sample_rate, rate)
                parts += [samples, np.zeros(round(piece.pause * rate), dtype=np.float32)]
        finally:
            job.cancel()
    return np.concatenate(parts), rate


async def _stream(state: State, profile: VoiceProfile, text: str, fmt: str, model: str) -> StreamingResponse:
    groups = await asyncio.to_thread(_groups, state, profile, text)  # sentence splitting is CPU work
    if len(groups) > 1:
        raise ApiError(
            400, "text whose tags change the voice or speed cannot be streamed; send stream=false", "input"
        )
    profile, pieces = groups[0]
    job, results = _submit(state, profile, pieces, stream=True)
    deadline = asyncio.get_running_loop().time() + state.settings.timeout
    try:
        first = await _receive(job, results, deadline)  # errors before the first byte are still HTTP errors
    except BaseException:
        job.cancel()
        raise
    if not can_stream(fmt, first.sample_rate):
        job.cancel()
        raise ApiError(
            400, f"response_format {fmt} cannot be streamed; use wav, mp3 or pcm", "response_format"
        )
    streamer = Streamer(fmt, first.sample_rate)

    async def body() -> AsyncIterator[bytes]:
        try:
            yield streamer.start()
            result: Spoken | AudioChunk | None = first
            for piece in pieces:
                while True:  # the piece's chunks as they are made, then its end (a Spoken)
                    if result is None:
                        try:
                            result = await _receive(job, results, deadline)
                        except ApiError:
                            return  # the status is sent already: the stream ends early
                    done, samples = isinstance(result, Spoken), result.samples
                    result = None
                    if done:
                        break
                    yield streamer.piece(samples)
                yield streamer.piece(np.zeros(round(piece.pause * streamer.rate), dtype=np.float32))
            yield streamer.end()
        finally:
            job.cancel()

    return StreamingResponse(
        body(), media_type=MEDIA_TYPES[fmt], headers={"X-Voxcli-Voice": profile.name, "X-Voxcli-Model": model}
    )


def _train(state: State, body: TrainRequest) -> dict[str, str]:
    """What `voxcli voices add NAME --clone FILE` does, from a data URI."""
    from voxcli.clone import check_sample, store
    from voxcli.config import add_profile, edit_target

    name = body.modelName.strip()
    if not re.fullmatch(NAME_PATTERN, name) or len(name) > 64:
        raise ApiError(
            400,
            "modelName: use letters, digits, '.', '_' and '-' (64 at most), starting with a letter or digit",
            "modelName",
        )
    match = DATA_URI.match(body.audioDataUri.strip())
    if not match:
        raise ApiError(
            400, "audioDataUri: not a data URI of audio (data:audio/wav;base64,...)", "audioDataUri"
        )
    suffix = AUDIO_SUFFIX.get(match.group(1).lower())
    if suffix is None:
        raise ApiError(
            415,
            f"audioDataUri: {match.group(1)} is not supported; send WAV, MP3, FLAC or OGG",
            "audioDataUri",
        )
    try:
        data = base64.b64decode(re.sub(r"\s+", "", match.group(3)), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "audioDataUri: the base64 data is not valid", "audioDataUri") from None
    with tempfile.TemporaryDirectory(prefix="voxcli-upload-") as folder:
        upload = Path(folder) / f"recording{suffix}"
        upload.write_bytes(data)
        checked = check_sample(upload)
        if isinstance(checked, str):
            reason = checked.split(": ", 1)[-1]
            raise ApiError(422, f"audioDataUri: {reason}", "audioDataUri", "bad_audio")
        with state.edit_lock:
            if name in state.voices.profiles:
                raise ApiError(409, f"voice '{name}' already exists", "modelName", "exists")
            stored = store(name, [checked])
            table = {
                "engine": "coqui",
                "voice": "xtts_v2",
                "options": {"speaker_wav": [str(p) for p in stored]},
            }
            state.voices = add_profile(edit_target(state.settings.voices_file), name, table)
    return {"trainingStatus": "completed", "modelId": name}
