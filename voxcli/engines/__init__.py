"""The engine registry: engine name -> "module:Class", imported only when an engine is used.

voxcli's own engines are listed here and also declared in the ``voxcli.engines`` entry point group,
the same group a third-party package uses to add one::

    [project.entry-points."voxcli.engines"]
    myengine = "my_package.engine:MyEngine"
"""

from __future__ import annotations

from functools import cache

from voxcli.engines.base import (
    DEFAULT_SETTINGS,
    AudioChunk,
    Check,
    Engine,
    EngineOptions,
    Problem,
    Settings,
    Spoken,
    VoiceProfile,
    WordTiming,
    shared_model,
    speak,
)
from voxcli.errors import EngineError
from voxcli.plugins import did_you_mean, discover, load_class

__all__ = [
    "DEFAULT_SETTINGS",
    "AudioChunk",
    "Check",
    "Engine",
    "EngineOptions",
    "Problem",
    "Settings",
    "Spoken",
    "VoiceProfile",
    "WordTiming",
    "engine_class",
    "engine_names",
    "engine_report",
    "ensure_usable",
    "load_engine",
    "registry",
    "shared_model",
    "speak",
    "unknown_engine",
    "voice_problem",
]

ENTRY_POINT_GROUP = "voxcli.engines"

BUILTIN: dict[str, str] = {
    "piper": "voxcli.engines.piper:PiperEngine",
    "espeak": "voxcli.engines.espeak:EspeakEngine",
    "kokoro": "voxcli.engines.kokoro:KokoroEngine",
    "kokoro-onnx": "voxcli.engines.kokoro_onnx:KokoroOnnxEngine",
    "coqui": "voxcli.engines.coqui:CoquiEngine",
}


@cache
def registry() -> dict[str, str]:
    """Every known engine: the built-in ones, then those other packages declare."""
    return discover(BUILTIN, ENTRY_POINT_GROUP)


def engine_names() -> list[str]:
    return sorted(registry())


def unknown_engine(name: str, where: str) -> EngineError:
    """The error for an engine name nobody registered, with the closest match."""
    names = engine_names()
    hint = did_you_mean(name, names)
    return EngineError(f"{where}: unknown engine '{name}'", f"{hint}known engines: {', '.join(names)}")


def engine_class(name: str, where: str = "voice") -> type[Engine]:
    """Import the engine called ``name`` (its module only: the engine's packages load later)."""
    target = registry().get(name)
    if target is None:
        raise unknown_engine(name, where)
    cls: type[Engine] = load_class("engine", name, target, Engine, ENTRY_POINT_GROUP)
    return cls


def voice_problem(profile: VoiceProfile, cached: bool = False) -> Problem | None:
    """The one answer to "can ``profile`` speak here, and if not, why": its engine unknown or not
    importable, the engine's packages missing or broken, or its model files missing. Imports the
    engine's packages for real (never its model); ``cached``: see :meth:`Engine.stack_problem`."""
    try:
        cls = engine_class(profile.engine, profile.where("engine"))
    except EngineError as exc:
        return Problem(exc.message, exc.fix, key="")
    problem = cls.engine_problem(cached)
    if problem is not None:
        return Problem(problem.message, problem.fix, key="")
    problem = cls.profile_problem(profile)
    if problem is not None:
        return Problem(problem.message, problem.fix, problem.key or "voice")
    return None


def ensure_usable(profile: VoiceProfile) -> type[Engine]:
    """The profile's engine class; the one-line EngineError (exit 5) when ``profile`` cannot speak here."""
    cls = engine_class(profile.engine, profile.where("engine"))
    problem = voice_problem(profile)
    if problem is not None:
        raise problem.error(profile)
    return cls


def load_engine(profile: VoiceProfile, device: str = "auto") -> Engine:
    """An engine ready to speak ``profile``; its model is loaded once per process and shared."""
    cls = ensure_usable(profile)
    try:
        return cls.load(profile, device)
    except ImportError as exc:  # a module the stack check does not cover
        from voxcli.engines.stack import describe

        raise EngineError(
            f"engine '{cls.name}' cannot start: {describe(exc)}",
            f"{cls.install_hint}; 'voxcli doctor' shows what else is broken",
        ) from exc


def engine_report(cached: bool = False) -> list[tuple[str, Check]]:
    """(description, installation check) for every known engine; ``cached``: see stack_problem."""
    report: list[tuple[str, Check]] = []
    for name in engine_names():
        try:
            cls = engine_class(name)
        except EngineError as exc:
            report.append(("", Check(name, "missing", exc.message, exc.fix)))
            continue
        report.extend((cls.description, check) for check in cls.check(cached))
    return report
