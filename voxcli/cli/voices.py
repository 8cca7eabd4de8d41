"""``voxcli voices``: list, show, add, remove and set the default voice profile."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from voxcli.cli import console
from voxcli.cli.common import VoicesOption, handled, lang_option
from voxcli.errors import UsageError

voices_app = typer.Typer(
    help="List and edit voice profiles (voices.toml).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@voices_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    lang: Annotated[
        str | None,
        lang_option("Only the voices for this language (e.g. fr), the one [languages] maps it to first."),
    ] = None,
    voices_file: VoicesOption = None,
) -> None:
    """Every profile: engine, voice, language, and whether it can speak right now."""
    from dataclasses import replace

    from voxcli.cli.tables import voices_json, voices_table
    from voxcli.config import load_voices

    with handled():
        voices = load_voices(voices_file)
        mapped = None
        if lang is not None:
            from voxcli.voicelang import voices_for

            found, mapped = voices_for(lang, voices)
            if not found:
                raise UsageError(
                    f"no voice speaks {lang} in {voices.label}",
                    f'add [languages] {lang} = "VOICE" (or "*" = "espeak") to it, '
                    f'or a profile with lang = "{lang}"',
                )
            voices = replace(voices, profiles=found)
        if as_json:
            console.emit_json(voices_json(voices, lang, mapped))
        else:
            console.show(voices_table(voices, lang, mapped))


@voices_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="A profile name, or ENGINE:VOICE.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    voices_file: VoicesOption = None,
) -> None:
    """One profile in full, with its engine options and whether it can speak right now."""
    from voxcli.cli.tables import profile_json, profile_table
    from voxcli.config import load_voices, resolve_voice

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
    samples: Annotated[
        list[Path] | None,
        typer.Argument(
            help="With --clone: recordings of the voice (WAV, MP3, FLAC or OGG, 3 to 60 s each).",
            show_default=False,
        ),
    ] = None,
    clone: Annotated[
        bool, typer.Option("--clone", help="Clone a voice with XTTS v2 from the recordings given.")
    ] = False,
    engine: Annotated[
        str | None,
        typer.Option("--engine", "-e", help="piper, espeak, ... (see 'voxcli engines').", show_default=False),
    ] = None,
    voice: Annotated[
        str | None,
        typer.Option("--voice", help="The engine's voice id, or a path to a model file.", show_default=False),
    ] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="Language tag, e.g. en-us.", show_default=False)
    ] = None,
    speed: Annotated[
        float | None, typer.Option("--speed", min=0.5, max=2.0, show_default=False, help="0.5 to 2.0.")
    ] = None,
    sentence_pause: Annotated[
        float | None,
        typer.Option(
            "--sentence-pause",
            min=0.0,
            max=5.0,
            show_default=False,
            help="Seconds after each sentence.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a profile of the same name.")] = False,
    voices_file: VoicesOption = None,
) -> None:
    """Add a profile to the voices.toml in use (the user's own when none is); --clone NAME FILE... clones."""
    from voxcli.config import add_profile, edit_target

    with handled():
        path = edit_target(voices_file)
        if clone:
            table = _cloned(name, samples or [], engine, voice)
        elif samples:
            raise UsageError(
                "recordings are only taken with --clone", f"voxcli voices add {name} --clone FILE..."
            )
        elif not engine or not voice:
            raise UsageError("a new voice needs --engine and --voice", "or --clone FILE... to clone one")
        else:
            table = {"engine": engine, "voice": _stored_path(voice)}
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
    name: Annotated[
        str, typer.Argument(help="The profile to use when no voice is given.", show_default=False)
    ],
    voices_file: VoicesOption = None,
) -> None:
    """Make a profile the default voice."""
    from voxcli.config import edit_target, set_default

    with handled():
        path = edit_target(voices_file)
        set_default(path, name)
        console.info(f"default voice is now '{name}' in {path}")
        _warn_if_shadowed(path)


def _cloned(name: str, samples: list[Path], engine: str | None, voice: str | None) -> dict[str, Any]:
    """Check the recordings (a line per bad one), keep them as 24 kHz WAV; the XTTS profile for them."""
    from voxcli.clone import check_sample, store

    if not samples:
        raise UsageError("--clone needs at least one recording", f"voxcli voices add {name} --clone me.wav")
    if engine not in (None, "coqui") or voice is not None:
        raise UsageError(
            "--clone makes an XTTS v2 voice: --engine and --voice do not apply", "leave them out"
        )
    checked = [check_sample(sample) for sample in samples]
    problems = [item for item in checked if isinstance(item, str)]
    for problem in problems:
        console.error(problem)
    if problems:
        raise UsageError(
            f"{len(problems)} of {len(samples)} recordings cannot be used",
            "fix or replace them and run the command again",
        )
    stored = store(name, [item for item in checked if not isinstance(item, str)])
    console.info(f"kept {len(stored)} recording(s) as 24 kHz mono WAV in {stored[0].parent}")
    return {"engine": "coqui", "voice": "xtts_v2", "options": {"speaker_wav": [str(p) for p in stored]}}


def _stored_path(voice: str) -> str:
    """A voice given as a relative path is stored absolute: the voices file may live elsewhere."""
    from voxcli.engines.base import looks_like_path

    candidate = Path(voice).expanduser()
    if looks_like_path(voice) and not candidate.is_absolute() and candidate.exists():
        return str(candidate.resolve())
    return voice


def _warn_if_unusable(profile: Any) -> None:
    from voxcli.engines import voice_problem

    problem = voice_problem(profile, cached=True)
    if problem:
        console.warn(
            f"voice '{profile.name}' cannot speak yet: {problem.message}"
            + (f" ({problem.fix})" if problem.fix else "")
        )


def _warn_if_shadowed(path: Path) -> None:
    from voxcli.config import locate

    in_use, label, origin = locate(None)
    if in_use is not None and in_use.resolve() != path.resolve():
        console.warn(f"{label} ({origin}) is read before {path}; this change applies with --voices {path}")
