"""Durations as people read them, shared by the CLI's progress and summaries and by doctor."""

from __future__ import annotations


def clock(seconds: float) -> str:
    """1:02:03 or 2:03."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
