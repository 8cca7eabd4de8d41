"""``voxcli voices``: list, show, add, remove and set the default voice profile."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from voxcli import console
from voxcli.cliutil import VoicesOption, handled

voices_app = typer.Typer(
    help="List and edit voice profiles (voices.toml).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@voices_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    voices_file: VoicesOption = None,
) -> None:
    """Every profile: engine, voice, language, and whether it can speak right now."""
    from voxcli.config import load_voices
    from voxcli.voices_report import voices_json, voices_table

    with handled():
        voices = load_voices(voices_file)
        if as_json:
            console.emit_json(voices_json(voices))
        else:
            console.show(voices_table(voices))


@voices_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="A profile name, or ENGINE:VOICE.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    voices_file: VoicesOption = None,
) -> None:
    """One profile in full, with its engine options and whether it can speak right now."""
    from voxcli.config import load_voices, resolve_voice
    from voxcli.voices_report import profile_json, profile_table

    with handled():
        voices = load_voices(voices_file)
        profile = resolve_voice(name, voices)
        is_default = name == voices.default
        if as_json:
            console.emit_json(profile_json(profile, is_default))
        else:
            console.show(profile_table(profile, is_default))


@voices_app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="The new profile's name.", show_default=False)],
    engine: Annotated[str, typer.Option("--engine", "-e", help="piper, espeak, ... (see 'voxcli engines').",
                                        show_default=False)],
    voice: Annotated[str, typer.Option("--voice", help="The engine's voice id, or a path to a model file.",
                                       show_default=False)],
    lang: Annotated[str | None, typer.Option("--lang", help="Language tag, e.g. en-us.",
                                             show_default=False)] = None,
    speed: Annotated[float | None, typer.Option("--speed", min=0.5, max=2.0, show_default=False,
                                                help="0.5 to 2.0.")] = None,
    sentence_pause: Annotated[float | None, typer.Option(
        "--sentence-pause", min=0.0, max=5.0, show_default=False, help="Seconds after each sentence.",
    )] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a profile of the same name.")] = False,
    voices_file: VoicesOption = None,
) -> None:
    """Add a profile to the voices.toml in use (the user's own when none is)."""
    from voxcli.config import add_profile, edit_target

    with handled():
        path = edit_target(voices_file)
        table: dict[str, Any] = {"engine": engine, "voice": _stored_path(voice)}
        optional = {"lang": lang, "speed": speed, "sentence_pause": sentence_pause}
        table.update({key: value for key, value in optional.items() if value is not None})
        voices = add_profile(path, name, table, replace=force)
        console.info(f"added voice '{name}' to {path}")
        _warn_if_unusable(voices.profiles[name])
        _warn_if_shadowed(path)


@voices_app.command("remove")
def remove_command(
    name: Annotated[str, typer.Argument(help="The profile to remove.", show_default=False)],
    voices_file: VoicesOption = None,
) -> None:
    """Remove a profile from the voices.toml in use; the others are kept as they are."""
    from voxcli.config import edit_target, remove_profile

    with handled():
        path = edit_target(voices_file)
        remove_profile(path, name)
        console.info(f"removed voice '{name}' from {path}")
        _warn_if_shadowed(path)


@voices_app.command("set-default")
def set_default_command(
    name: Annotated[str, typer.Argument(help="The profile to use when no voice is given.",
                                        show_default=False)],
    voices_file: VoicesOption = None,
) -> None:
    """Make a profile the default voice."""
    from voxcli.config import edit_target, set_default

    with handled():
        path = edit_target(voices_file)
        set_default(path, name)
        console.info(f"default voice is now '{name}' in {path}")
        _warn_if_shadowed(path)


def _stored_path(voice: str) -> str:
    """A voice given as a relative path is stored absolute: the voices file may live elsewhere."""
    from voxcli.engines.base import looks_like_path

    candidate = Path(voice).expanduser()
    if looks_like_path(voice) and not candidate.is_absolute() and candidate.exists():
        return str(candidate.resolve())
    return voice


def _warn_if_unusable(profile: Any) -> None:
    from voxcli.voices_report import usability

    problem = usability(profile)
    if problem:
        console.warn(f"voice '{profile.name}' cannot speak yet: {problem.message}"
                     + (f" ({problem.fix})" if problem.fix else ""))


def _warn_if_shadowed(path: Path) -> None:
    from voxcli.config import locate

    in_use, label, origin = locate(None)
    if in_use is not None and in_use.resolve() != path.resolve():
        console.warn(f"{label} ({origin}) is read before {path}; this change applies with --voices {path}")
