"""Errors a user can act on.

Every :class:`VoxError` carries one line naming the problem and, where there is one, the fix.
The CLI turns them into that line and the exit code; nothing else reaches the user as a traceback
unless ``--debug`` is given.
"""

from __future__ import annotations


class VoxError(Exception):
    """A problem the user can fix; ``exit_code`` is what the process exits with."""

    exit_code = 1

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} ({self.fix})" if self.fix else self.message

    def __reduce__(self) -> tuple[type[VoxError], tuple[str, str | None]]:
        # Keeps the fix when the error crosses from a worker process to the parent.
        return (self.__class__, (self.message, self.fix))


class UsageError(VoxError):
    """Bad command-line input: a missing file, an unknown format, a bad option value."""

    exit_code = 2


class BookError(VoxError):
    """A book that cannot be read: malformed, unsafe, DRM-protected or empty."""

    exit_code = 3


class ConfigError(VoxError):
    """A voices.toml problem."""

    exit_code = 4


class EngineError(VoxError):
    """A speech engine or model that is missing or failed."""

    exit_code = 5


class ClusterError(VoxError):
    """A Ray cluster that is missing, unreachable or cannot run the work (voxcli batch --cluster)."""

    exit_code = 6


class Interrupted(VoxError):
    """The user stopped a run (Ctrl-C or SIGTERM); what was finished is kept for the next run."""

    exit_code = 130

    def __init__(self, message: str, fix: str | None = None, signal_number: int = 2) -> None:
        super().__init__(message, fix)
        self.exit_code = 128 + signal_number
