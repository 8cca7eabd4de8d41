"""How voice profiles and engines are shown: rich tables for people, dicts for JSON."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from voxcli.config import VoicesFile
from voxcli.engines import Check, engine_class, voice_problem
from voxcli.engines.base import VoiceProfile
from voxcli.errors import EngineError


def profile_json(profile: VoiceProfile, default: bool) -> dict[str, Any]:
    problem = voice_problem(profile, cached=True)
    return {
        "name": profile.name,
        "engine": profile.engine,
        "voice": profile.voice,
        "lang": profile.lang,
        "speed": profile.speed,
        "sentence_pause": profile.sentence_pause,
        "paragraph_pause": profile.paragraph_pause,
        "title_pause": profile.title_pause,
        "options": profile.options.model_dump(exclude_none=True),
        "default": default,
        "usable": problem is None,
        "problem": problem.message if problem else None,
        "fix": problem.fix if problem else None,
    }


def voices_json(voices: VoicesFile, lang: str | None = None, mapped: str | None = None) -> dict[str, Any]:
    """The profiles (with ``lang``: those for that language, ``mapped`` the one it is mapped to)."""
    found: dict[str, Any] = {
        "file": voices.label,
        "origin": voices.origin,
        "default": voices.default,
        "languages": voices.languages,
        "voices": [profile_json(p, name == voices.default) for name, p in voices.profiles.items()],
    }
    if lang is not None:
        found["lang"] = lang
        found["mapped"] = mapped
    return found


def voices_table(voices: VoicesFile, lang: str | None = None, mapped: str | None = None) -> Table:
    title = f"Voices for {lang} in {voices.label}" if lang is not None else f"Voices in {voices.label}"
    table = Table(title=Text(title), title_justify="left")
    for column in ("Name", "Engine", "Voice", "Lang", "Speed", "Usable"):
        table.add_column(column, overflow="fold")
    for name, profile in voices.profiles.items():
        problem = voice_problem(profile, cached=True)
        usable = (
            Text("yes", style="green")
            if problem is None
            else Text(f"no: {problem.message}" + (f" ({problem.fix})" if problem.fix else ""), style="red")
        )
        marker = " (default)" if name == voices.default else ""
        marker += f" (mapped to {lang})" if lang is not None and name == mapped else ""
        table.add_row(
            Text(name + marker),
            profile.engine,
            Text(profile.voice),
            profile.lang,
            f"{profile.speed:g}",
            usable,
        )
    return table


def profile_table(profile: VoiceProfile, default: bool) -> Table:
    data = profile_json(profile, default)
    table = Table(
        title=Text(f"Voice '{profile.name}' from {profile.source}"), title_justify="left", show_header=False
    )
    table.add_column("Key", style="bold")
    table.add_column("Value", overflow="fold")
    for key in (
        "engine",
        "voice",
        "lang",
        "speed",
        "sentence_pause",
        "paragraph_pause",
        "title_pause",
        "default",
    ):
        table.add_row(key, Text(str(data[key])))
    for key, value in data["options"].items():
        table.add_row(f"options.{key}", Text(str(value)))
    fix = f" ({data['fix']})" if data["fix"] else ""
    usable = "yes" if data["usable"] else f"no: {data['problem']}{fix}"
    table.add_row("usable", Text(usable))
    return table


def check_json(check: Check) -> dict[str, Any]:
    return {"name": check.name, "status": check.status, "detail": check.detail, "fix": check.fix}


def checks_table(title: str, checks: list[Check]) -> Table:
    """Checks as a table: name, status, details and the fix where one is needed."""
    table = Table(title=title, title_justify="left")
    for column in ("Check", "Status", "Details", "Fix"):
        table.add_column(column, overflow="fold")
    styles = {"ok": "green", "warning": "yellow", "missing": "red"}
    for check in checks:
        table.add_row(
            check.name,
            Text(check.status, style=styles[check.status]),
            Text(check.detail),
            Text(check.fix or ""),
        )
    return table


def engines_table(report: list[tuple[str, Check]]) -> Table:
    return checks_table(
        "Engines",
        [
            Check(
                check.name,
                check.status,
                f"{description}; {check.detail}" if description else check.detail,
                check.fix,
            )
            for description, check in report
        ],
    )


def engines_json(report: list[tuple[str, Check]]) -> list[dict[str, Any]]:
    """Each engine: ``installed`` (its packages are on disk) and ``usable`` (they also really load)."""
    return [
        {
            "description": description,
            "installed": _on_disk(check.name),
            "usable": check.status != "missing",
            **check_json(check),
        }
        for description, check in report
    ]


def _on_disk(engine: str) -> bool:
    try:
        return not engine_class(engine).missing_packages()
    except EngineError:
        return False
