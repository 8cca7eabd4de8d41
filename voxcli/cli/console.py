"""The one place that writes for people: rich on stderr, quiet mode, one-line errors.

Data meant for programs (JSON) goes to stdout through :func:`emit_json`; everything else goes to
stderr, so ``voxcli ... --json | jq`` always gets clean JSON. Colour follows rich's rules: none
when stderr is not a terminal or ``NO_COLOR`` is set.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from typing import Any

from rich.console import Console, RenderableType
from rich.text import Text


@dataclass
class Settings:
    quiet: bool = False
    debug: bool = False


settings = Settings()
_console: Console | None = None


def console() -> Console:
    """The stderr console (created on first use, so that tests can swap sys.stderr)."""
    global _console
    if _console is None or _console.file is not sys.stderr:
        _console = Console(stderr=True, highlight=False, soft_wrap=False)
    return _console


class _WarningHandler(logging.Handler):
    """The library's warnings (``logging``, never print) shown as ``warning:`` lines."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            warn(record.getMessage())
        elif settings.debug:
            info(f"{record.name}: {record.getMessage()}")


_handler = _WarningHandler()


def configure(quiet: bool = False, debug: bool = False) -> None:
    settings.quiet = quiet
    settings.debug = debug
    library = logging.getLogger("voxcli")
    if _handler not in library.handlers:
        library.addHandler(_handler)
        library.propagate = False
    library.setLevel(logging.DEBUG if debug else logging.WARNING)


def show(renderable: RenderableType) -> None:
    """Output a person asked for (a table, a summary): shown even with --quiet."""
    console().print(renderable)


def info(message: str) -> None:
    """A progress or status line; hidden by --quiet."""
    if not settings.quiet:
        console().print(Text(message, style="dim"))


def warn(message: str) -> None:
    """Something the user should know that did not stop the work; hidden by --quiet."""
    if not settings.quiet:
        console().print(Text.assemble(("warning: ", "yellow bold"), message), soft_wrap=True)


def error(message: str, fix: str | None = None) -> None:
    """One line: what is wrong and how to fix it. Never hidden."""
    line = Text.assemble(("error: ", "red bold"), message)
    if fix:
        line.append(f" ({fix})")
    console().print(line, soft_wrap=True)


def emit_json(data: Any) -> None:
    """Machine-readable output on stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def out(text: str) -> None:
    """A document on stdout exactly as given (a TOML file to redirect): no markup, no wrapping."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()
