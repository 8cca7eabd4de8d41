"""Play audio through the first command-line player that works."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from voxcli.errors import VoxError

PLAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ffplay", ("-nodisp", "-autoexit", "-loglevel", "error")),
    ("paplay", ()),
    ("aplay", ("-q",)),
    ("afplay", ()),
)


def play_wav(data: bytes) -> str:
    """Play a WAV file's bytes; returns the player used. Tries the next player when one fails."""
    found = [(name, args) for name, args in PLAYERS if shutil.which(name)]
    if not found:
        raise VoxError(
            "no audio player found (looked for ffplay, paplay, aplay, afplay)",
            "write the audio to a file instead with -o FILE.wav",
        )
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="voxcli-") as folder:
        wav = Path(folder) / "say.wav"
        wav.write_bytes(data)
        for name, args in found:
            result = subprocess.run(
                [name, *args, str(wav)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                check=False,
            )
            if result.returncode == 0:
                return name
            detail = result.stderr.decode(errors="replace").strip().splitlines()
            failures.append(f"{name}: {detail[-1] if detail else f'exit {result.returncode}'}")
    raise VoxError(
        f"could not play the audio ({'; '.join(failures)})", "write it to a file instead with -o FILE.wav"
    )
