"""Run a parser in a child process that cannot take more than its share of memory and time.

A hostile PDF (a stream that inflates to gigabytes, an object graph that never ends) is parsed by
native code that Python cannot interrupt. So the parser runs in a fresh interpreter
(``python -m voxcli.ingest.bounded``) with an address space limit (``RLIMIT_AS``), sends its
results back message by message over its stdout, and is killed when a message is late. Whatever
goes wrong becomes one :class:`WorkerFailed` with the reason. A new interpreter, not
``multiprocessing``: nothing of the caller's threads, locks or ``__main__`` is copied or re-run.
"""

from __future__ import annotations

import importlib
import os
import pickle
import select
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

MiB = 1024 * 1024
_HEADER = struct.Struct("<Q")
MAX_MESSAGE = 512 * MiB


@dataclass(frozen=True)
class Bounds:
    memory_bytes: int = 1024 * MiB  # the worker's whole address space
    step_seconds: float = 8.0  # the longest wait for the next message (one page)
    total_seconds: float = 900.0  # the whole job


class WorkerFailed(Exception):
    """The worker ran out of memory or time, crashed, or raised; ``reason`` says which."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind  # "memory", "time", "crash" or "error"


def run(job: Callable[..., None], args: tuple[Any, ...], bounds: Bounds | None = None) -> Iterator[Any]:
    """Yield what ``job(*args, send=...)`` sends, from a bounded child process.

    ``job`` must be a module-level function of an importable module.
    """
    bounds = bounds or Bounds()
    target = f"{job.__module__}:{job.__qualname__}"
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "voxcli.ingest.bounded", target, str(bounds.memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            close_fds=True,
        )
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(pickle.dumps(args))
            process.stdin.close()
            yield from _messages(process, process.stdout, bounds)
        except BrokenPipeError:
            raise _died(process, errors) from None
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(5)
            process.stdout.close()


def _messages(process: subprocess.Popen[bytes], stream: IO[bytes], bounds: Bounds) -> Iterator[Any]:
    deadline = time.monotonic() + bounds.total_seconds
    fd = stream.fileno()
    buffer = b""
    while True:
        while len(buffer) < _HEADER.size or len(buffer) < _HEADER.size + _HEADER.unpack(buffer[:8])[0]:
            wait = min(bounds.step_seconds, deadline - time.monotonic())
            ready, _, _ = select.select([fd], [], [], max(wait, 0.0))
            if not ready:
                raise WorkerFailed(f"no progress for {bounds.step_seconds:.0f} s", "time")
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise _died(process, None)
            buffer += chunk
            if len(buffer) >= _HEADER.size and _HEADER.unpack(buffer[:8])[0] > MAX_MESSAGE:
                raise WorkerFailed("the parser sent an oversized message", "crash")
        size = _HEADER.unpack(buffer[:8])[0]
        message = pickle.loads(buffer[8 : 8 + size])
        buffer = buffer[8 + size :]
        if message[0] == "failed":
            kind, reason = message[1]
            raise WorkerFailed(reason, kind)
        yield message
        if message[0] == "done":
            return


def _died(process: subprocess.Popen[bytes], errors: IO[bytes] | None) -> WorkerFailed:
    code = process.wait(5)
    if code < 0:
        # SIGABRT or SIGSEGV from native code is nearly always a failed allocation under the limit.
        return WorkerFailed(f"the parser crashed (signal {-code}), most likely out of memory", "memory")
    return WorkerFailed(f"the parser stopped unexpectedly (exit status {code})", "crash")


def _child(target: str, memory: int) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    except (ImportError, ValueError, OSError):  # not on this platform: the time bound still holds
        pass
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the messages

    def send(message: object) -> None:
        data = pickle.dumps(message)
        out.write(_HEADER.pack(len(data)) + data)
        out.flush()

    try:
        args = pickle.loads(sys.stdin.buffer.read())
        module, _, name = target.partition(":")
        job = getattr(importlib.import_module(module), name)
        job(*args, send=send)
    except MemoryError:
        send(("failed", ("memory", "ran out of memory")))
    except BaseException as exc:
        send(("failed", ("error", f"{type(exc).__name__}: {exc}")))


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]))
