"""``voxcli say`` through a running ``voxcli serve``: one HTTP request, no model to load."""

from __future__ import annotations

import os

from voxcli.errors import EngineError, UsageError, VoxError

SERVER_ENV = "VOXCLI_SERVER"
API_KEY_ENV = "VOXCLI_API_KEY"  # read by `voxcli serve` too


def speak_remote(
    url: str, text: str, voice: str | None, speed: float | None, fmt: str, timeout: float = 600.0
) -> tuple[bytes, str]:
    """The audio in ``fmt`` (wav or mp3) and the voice that spoke it."""
    import httpx

    base = url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise UsageError(f"server '{url}' is not an http:// or https:// URL", "e.g. http://127.0.0.1:8000")
    headers = {}
    key = os.environ.get(API_KEY_ENV)
    if key:
        headers["Authorization"] = f"Bearer {key}"
    payload = {
        "model": "voxcli",
        "input": text,
        "voice": voice or "default",
        "response_format": fmt,
        "speed": speed if speed is not None else 1.0,
    }
    try:
        response = httpx.post(f"{base}/v1/audio/speech", json=payload, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise VoxError(
            f"cannot reach the voxcli server at {base}: {exc}",
            f"start it with 'voxcli serve', or unset ${SERVER_ENV}",
        ) from None
    if response.status_code == 401:
        raise UsageError(f"the server at {base} wants an API key", f"set ${API_KEY_ENV} to its key")
    if response.status_code >= 400:
        try:
            message = str(response.json()["error"]["message"])
        except (ValueError, KeyError, TypeError):
            message = response.text.strip()[:200] or f"HTTP {response.status_code}"
        error = EngineError if response.status_code >= 500 else UsageError
        raise error(f"server: {message}", f"HTTP {response.status_code} from {base}")
    return response.content, response.headers.get("x-voxcli-voice", voice or "default")
