"""``voxcli serve``: the speech server on a socket, with the limits and the key from the command line."""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Annotated

import typer

from voxcli.cli import console
from voxcli.cli.client import API_KEY_ENV
from voxcli.cli.common import Device, DeviceOption, VoicesOption, handled
from voxcli.errors import UsageError


def serve_command(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", "-p", min=0, max=65535, help="Port (0: any free port, printed at start).")
    ] = 8000,
    preload: Annotated[
        list[str] | None,
        typer.Option(
            "--preload",
            metavar="VOICE",
            show_default=False,
            help="Load this voice's model at start (repeat for more).",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            metavar="KEY",
            show_default=False,
            help=f"Require 'Authorization: Bearer KEY' (default: ${API_KEY_ENV}); needed off loopback.",
        ),
    ] = None,
    max_chars: Annotated[int, typer.Option("--max-chars", min=1, help="Longest text per request.")] = 4096,
    max_body: Annotated[int, typer.Option("--max-body", min=1024, help="Largest request body, bytes.")] = 16
    * 1024
    * 1024,
    queue: Annotated[
        int,
        typer.Option(
            "--queue", min=1, max=10_000, help="Requests per engine, waiting or speaking; more get 429."
        ),
    ] = 32,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1.0, help="Seconds per request before 504.")
    ] = 300.0,
    voices_file: VoicesOption = None,
    device: DeviceOption = Device.auto,
) -> None:
    """Run the speech server: warm models, an OpenAI-compatible HTTP API (POST /v1/audio/speech)."""
    with handled():
        key = api_key or os.environ.get(API_KEY_ENV) or None
        if not _loopback(host) and not key:
            raise UsageError(
                f"--host {host} would let anyone on the network use this server",
                f"add --api-key KEY (or set ${API_KEY_ENV}), or keep the default 127.0.0.1",
            )
        import uvicorn

        from voxcli.server.app import ServerSettings, create_app

        settings = ServerSettings(
            voices_file=voices_file,
            device=device.value,
            max_chars=max_chars,
            max_body=max_body,
            queue=queue,
            timeout=timeout,
            api_key=key,
            preload=list(preload or []),
        )
        app = create_app(settings)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {host}:{port}: {exc.strerror}",
                "choose another --port, or stop what uses it",
            ) from None
        sock.listen(128)
        bound = sock.getsockname()[1]
        shown = f"[{host}]" if family == socket.AF_INET6 else host
        console.show(f"voxcli server listening on http://{shown}:{bound} (Ctrl-C to stop)")
        config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
        uvicorn.Server(config).run(sockets=[sock])


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
