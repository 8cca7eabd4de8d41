"""voices.toml: find it, validate it, resolve a voice name to a profile, and edit it safely.

Search order: ``--voices FILE`` > ``$VOXCLI_VOICES`` > ``./voices.toml`` > the user config folder
> the default packaged with voxcli. The first file found is used whole; files are not merged.
"""

from __future__ import annotations

import difflib
import os
import sys
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from voxcli.engines import engine_class, registry, unknown_engine
from voxcli.engines.base import VoiceProfile
from voxcli.errors import ConfigError, EngineError
from voxcli.fsutil import atomic_write_bytes

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

VOICES_ENV = "VOXCLI_VOICES"
FILE_NAME = "voices.toml"
BUILTIN_LABEL = "built-in voices.toml"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"  # no ':', so that 'engine:voice' stays unambiguous

ProfileName = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=64)]


class ProfileModel(BaseModel):
    """One ``[voices.NAME]`` table."""

    model_config = ConfigDict(strict=True, extra="forbid")

    engine: str
    voice: str
    lang: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$")] = "en-us"
    speed: float = Field(default=1.0, ge=0.5, le=2.0)
    sentence_pause: float = Field(default=0.25, ge=0.0, le=5.0)
    paragraph_pause: float = Field(default=0.6, ge=0.0, le=10.0)
    title_pause: float = Field(default=1.0, ge=0.0, le=10.0)
    options: dict[str, Any] = Field(default_factory=dict)
    lexicon: dict[str, Any] = Field(default_factory=dict)  # pronunciations for this voice (lexicon.toml form)


class VoicesModel(BaseModel):
    """The whole file."""

    model_config = ConfigDict(strict=True, extra="forbid")

    default: str | None = None
    voices: dict[ProfileName, ProfileModel] = Field(default_factory=dict)
    # language tag (or "*") -> the voice that speaks it (a profile name, ENGINE:VOICE, or for "*" an
    # engine: "espeak", eSpeak-NG's voice of each language)
    languages: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class VoicesFile:
    """A validated voices file and where it came from."""

    label: str  # how messages name it: "voices.toml", a full path, or "built-in voices.toml"
    path: Path | None  # None for the packaged default
    origin: str  # which rule of the search order found it
    default: str | None
    profiles: dict[str, VoiceProfile] = field(default_factory=dict)
    languages: dict[str, str] = field(default_factory=dict)  # [languages]: lower-case tag or "*" -> voice


def user_voices_path() -> Path:
    """The user's own voices.toml (it may not exist yet)."""
    import platformdirs

    return platformdirs.user_config_path("voxcli") / FILE_NAME


def packaged_text() -> str:
    return resources.files("voxcli").joinpath("data").joinpath(FILE_NAME).read_text(encoding="utf-8")


def locate(explicit: str | None = None) -> tuple[Path | None, str, str]:
    """(path or None for the packaged default, label, origin) by the search order."""
    for value, origin in ((explicit, "--voices"), (os.environ.get(VOICES_ENV) or None, f"${VOICES_ENV}")):
        if value is not None:
            path = Path(value).expanduser()
            if not path.is_file():
                raise ConfigError(f"voices file not found: {value}", f"check the path given by {origin}")
            return path, value, origin
    local = Path(FILE_NAME)
    if local.is_file():
        return local, FILE_NAME, "./voices.toml"
    user = user_voices_path()
    if user.is_file():
        return user, str(user), "user config"
    return None, BUILTIN_LABEL, "built-in"


def load_voices(explicit: str | None = None) -> VoicesFile:
    """Find and validate the voices file in use."""
    path, label, origin = locate(explicit)
    if path is None:
        return parse_voices(packaged_text(), label, None, origin)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{label}: cannot be read: {exc}", "check the file's permissions and encoding"
        ) from exc
    return parse_voices(text, label, path, origin)


def read_toml(path: Path, label: str, missing: tuple[str, str]) -> dict[str, Any]:
    """A TOML file's data; a missing, unreadable or broken file is one ConfigError naming it.
    ``missing``: (message, fix) for a file that is not there."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(*missing) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{label}: cannot be read: {exc}", "check the file's permissions and encoding"
        ) from exc
    return parse_toml(text, label)


def parse_toml(text: str, label: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: invalid TOML: {exc}", "fix the syntax at that line and column") from exc
    return data


def parse_voices(text: str, label: str, path: Path | None, origin: str = "--voices") -> VoicesFile:
    """Validate voices.toml text; every error names the file, the key path and the fix."""
    data = parse_toml(text, label)
    return validate_voices(data, label, path, origin)


def validate_voices(data: dict[str, Any], label: str, path: Path | None, origin: str) -> VoicesFile:
    try:
        model = VoicesModel.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, label, (), {"": VoicesModel, "voices.*": ProfileModel}) from None
    base_dir = path.resolve().parent if path is not None else Path.cwd()
    profiles: dict[str, VoiceProfile] = {}
    for name, entry in model.voices.items():
        if entry.engine not in registry():
            unknown = unknown_engine(entry.engine, f"{label}: voices.{name}.engine")
            raise ConfigError(unknown.message, unknown.fix)
        try:
            engine = engine_class(entry.engine)
        except EngineError as exc:
            raise ConfigError(f"{label}: voices.{name}.engine: {exc.message}", exc.fix) from exc
        try:
            options = engine.Options.model_validate(entry.options)
        except ValidationError as exc:
            raise _config_error(exc, label, ("voices", name, "options"), {"": engine.Options}) from None
        from voxcli.lexicon.model import parse_lexicon

        lexicon = parse_lexicon(entry.lexicon, label, ("voices", name, "lexicon")) if entry.lexicon else None
        profiles[name] = VoiceProfile(
            name=name,
            engine=entry.engine,
            voice=entry.voice,
            lang=entry.lang,
            speed=entry.speed,
            sentence_pause=entry.sentence_pause,
            paragraph_pause=entry.paragraph_pause,
            title_pause=entry.title_pause,
            options=options,
            base_dir=base_dir,
            source=label,
            lexicon=lexicon,
        )
    if model.default is not None and model.default not in profiles:
        raise ConfigError(
            f"{label}: default: no voice named '{model.default}'",
            _known_hint(model.default, list(profiles), "set default to one of"),
        )
    found = VoicesFile(label=label, path=path, origin=origin, default=model.default, profiles=profiles)
    return replace(found, languages=_languages(model.languages, found))


LANGUAGE_KEY = r"^(\*|[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*)$"
WILDCARD_ENGINES = ("espeak",)  # engines that have a voice of their own for each language they speak


def _languages(table: dict[str, str], voices: VoicesFile) -> dict[str, str]:
    """The [languages] table, checked: keys are language tags (or "*"), values voices that exist."""
    import re

    checked: dict[str, str] = {}
    for key, value in table.items():
        where = f"{voices.label}: languages.{key}"
        if not re.match(LANGUAGE_KEY, key):
            raise ConfigError(f"{where}: not a language tag", 'use a tag such as fr, de, pt-br, or "*"')
        if key == "*":
            if value not in WILDCARD_ENGINES:
                raise ConfigError(
                    f'{where}: "*" takes an engine with a voice per language, got {value!r}',
                    'use "*" = "espeak" (eSpeak-NG\'s voice of each language), or remove it',
                )
        else:
            try:
                resolve_voice(value, voices)
            except (ConfigError, EngineError) as exc:
                raise ConfigError(f"{where}: {exc.message}", exc.fix) from None
        checked[key.lower().replace("_", "-")] = value
    return checked


def resolve_voice(spec: str | None, voices: VoicesFile) -> VoiceProfile:
    """The profile for ``spec``: a profile name, ``engine:voice``, or None for the default."""
    if spec is None:
        if voices.default is None:
            raise ConfigError(
                f"{voices.label} sets no default voice", 'add default = "NAME" to it, or pass --voice NAME'
            )
        return voices.profiles[voices.default]
    if spec in voices.profiles:
        return voices.profiles[spec]
    engine, sep, voice = spec.partition(":")
    if sep and engine in registry():
        if not voice:
            raise ConfigError(f"voice '{spec}' names no voice", f"use {engine}:VOICE")
        cls = engine_class(engine)
        return VoiceProfile(
            name=spec,
            engine=engine,
            voice=voice,
            lang=_lang_of(engine, voice),
            options=cls.Options(),
            base_dir=Path.cwd(),
        )
    if sep:
        raise ConfigError(f"unknown engine '{engine}' in voice '{spec}'", unknown_engine(engine, "").fix)
    raise ConfigError(
        f"unknown voice '{spec}' in {voices.label}",
        _known_hint(spec, list(voices.profiles), "known voices:")
        + "; or use ENGINE:VOICE such as espeak:en-us",
    )


def _lang_of(engine: str, voice: str) -> str:
    # An eSpeak-NG voice is named by its language; other engines default to US English.
    if engine == "espeak":
        return voice.split("+")[0]
    return "en-us"


def _known_hint(name: str, known: list[str], lead: str) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    listed = ", ".join(sorted(known)) if known else "(none)"
    return (f"did you mean '{close[0]}'? " if close else "") + f"{lead} {listed}"


# ---- errors -------------------------------------------------------------------------------------

_KINDS = {
    "float_type": "a number",
    "int_type": "an integer",
    "string_type": "a string",
    "bool_type": "true or false",
    "dict_type": "a table",
    "list_type": "an array",
}


def _toml_type(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "table", list: "array"}
    return names.get(type(value), type(value).__name__)


def validation_error(
    exc: ValidationError,
    label: str,
    prefix: tuple[str | int, ...],
    model: type[BaseModel],
    tables: dict[str, type[BaseModel]] | None = None,
) -> ConfigError:
    """A pydantic error in a table of ``label`` at ``prefix`` as one line (file, key path, problem, fix).
    ``tables``: the models of nested tables, as ``{"characters.*": CharacterModel}``."""
    return _config_error(exc, label, prefix, {"": model, **(tables or {})})


def _config_error(
    exc: ValidationError, label: str, prefix: tuple[str | int, ...], models: dict[str, type[BaseModel]]
) -> ConfigError:
    """The first validation error as one line: file, key path, problem, fix."""
    errors = exc.errors()
    # An unknown key first: a misspelt one also makes the right one "missing", and the typo is the fix.
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = [str(part) for part in (*prefix, *first["loc"])]
    kind, value = first["type"], first.get("input")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    if loc and loc[-1] == "[key]":
        loc.pop()
        return ConfigError(
            f"{label}: {'.'.join(loc)}: invalid voice name{more}",
            "use letters, digits, '-', '_' and '.' (no ':'), at most 64 characters",
        )
    where = f"{label}: {'.'.join(loc)}"
    if kind == "extra_forbidden":
        allowed = list(_model_for(models, first["loc"]).model_fields)
        close = difflib.get_close_matches(loc[-1], allowed, n=1)
        fix = f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(allowed)}"
        return ConfigError(f"{where}: unknown field{more}", fix)
    if kind == "missing":
        return ConfigError(f"{where}: missing required field{more}", f"add {loc[-1]} = ... to that table")
    if kind in _KINDS:
        return ConfigError(
            f"{where}: expected {_KINDS[kind]}, got {_toml_type(value)} {value!r}{more}",
            "fix the value's type (quote strings, leave numbers unquoted)",
        )
    if kind == "value_error":
        reason = str(first["msg"]).removeprefix("Value error, ")
        return ConfigError(f"{where}: {reason}{more}", "fix the value")
    message = first["msg"][0].lower() + first["msg"][1:]
    return ConfigError(f"{where}: {message}, got {value!r}{more}", "fix the value")


def _model_for(models: dict[str, type[BaseModel]], loc: tuple[str | int, ...]) -> type[BaseModel]:
    if len(loc) >= 3 and f"{loc[0]}.*" in models:
        return models[f"{loc[0]}.*"]
    return models[""]


# ---- editing ------------------------------------------------------------------------------------


def edit_target(explicit: str | None = None) -> Path:
    """The file ``voices add/remove/set-default`` edit: the one named (created when missing), else
    the one in use, else the user's own."""
    named = explicit or os.environ.get(VOICES_ENV)
    if named:
        return Path(named).expanduser()
    path, _, _ = locate(None)
    return path if path is not None else user_voices_path()


def read_for_edit(path: Path) -> dict[str, Any]:
    """The file's data; a user file that does not exist yet starts as a copy of the packaged one."""
    text = path.read_text(encoding="utf-8") if path.is_file() else packaged_text()
    data = parse_toml(text, str(path))
    validate_voices(data, str(path), path, "edit")
    return data


def write_voices(path: Path, data: dict[str, Any]) -> VoicesFile:
    """Validate ``data`` as a voices file, then write it atomically with tomli-w."""
    checked = validate_voices(data, str(path), path, "edit")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, tomli_w.dumps(data).encode("utf-8"))
    return checked


def add_profile(path: Path, name: str, table: dict[str, Any], replace: bool = False) -> VoicesFile:
    """Add (or with ``replace``, overwrite) the profile ``name``; every other profile is kept as is."""
    data = read_for_edit(path)
    voices = data.setdefault("voices", {})
    if name in voices and not replace:
        raise ConfigError(
            f"voice '{name}' already exists in {path}",
            f"use --force to replace it, or 'voxcli voices remove {name}' first",
        )
    voices[name] = table
    if data.get("default") is None:
        data["default"] = name
    return write_voices(path, data)


def remove_profile(path: Path, name: str) -> VoicesFile:
    data = read_for_edit(path)
    voices = data.get("voices", {})
    if name not in voices:
        raise _no_such_voice(name, path, list(voices))
    if data.get("default") == name:
        others = [other for other in voices if other != name]
        raise ConfigError(
            f"'{name}' is the default voice in {path}",
            f"make another the default first: voxcli voices set-default {others[0]}"
            if others
            else "add another voice and make it the default first",
        )
    del voices[name]
    return write_voices(path, data)


def set_default(path: Path, name: str) -> VoicesFile:
    data = read_for_edit(path)
    voices = data.get("voices", {})
    if name not in voices:
        raise _no_such_voice(name, path, list(voices))
    data["default"] = name
    return write_voices(path, data)


def _no_such_voice(name: str, path: Path, known: list[str]) -> ConfigError:
    return ConfigError(f"no voice named '{name}' in {path}", _known_hint(name, known, "known voices:"))
