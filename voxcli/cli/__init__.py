"""The command line: every Typer command, the console, progress, tables, playback and the HTTP client.

The only package that imports typer or rich, and the only one that prints."""

from voxcli.cli.app import app, main

__all__ = ["app", "main"]
