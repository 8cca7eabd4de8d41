"""Speech recognisers: name -> "module:Class", imported only when used (like the engine registry).

Other packages add one through the ``voxcli.recognizers`` entry point group.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from voxcli.asr.base import Heard, Recognizer
from voxcli.engines.base import Check
from voxcli.errors import EngineError
from voxcli.plugins import did_you_mean, discover, load_class

__all__ = [
    "DEFAULT",
    "Heard",
    "Recognizer",
    "load_recognizer",
    "ready_recognizer",
    "recognizer_class",
    "recognizer_report",
]

ENTRY_POINT_GROUP = "voxcli.recognizers"
DEFAULT = "pocketsphinx"
BUILTIN: dict[str, str] = {
    "pocketsphinx": "voxcli.asr.sphinx:SphinxRecognizer",
    "faster-whisper": "voxcli.asr.whisper:WhisperRecognizer",
}


@cache
def registry() -> dict[str, str]:
    """Every known recogniser: the built-in ones, then those other packages declare."""
    return discover(BUILTIN, ENTRY_POINT_GROUP)


def recognizer_class(name: str) -> type[Recognizer]:
    """The recogniser called ``name`` (its module imported, its packages not yet)."""
    target = registry().get(name)
    if target is None:
        names = sorted(registry())
        raise EngineError(
            f"unknown recogniser '{name}'", f"{did_you_mean(name, names)}known: {', '.join(names)}"
        )
    cls: type[Recognizer] = load_class("recogniser", name, target, Recognizer, ENTRY_POINT_GROUP)
    return cls


def ready_recognizer(name: str, lang: str) -> type[Recognizer]:
    """The recogniser ``name``, its model fetched if it had to be (call it before a run starts); the
    one-line EngineError when it cannot hear ``lang`` here."""
    cls = recognizer_class(name)
    problem = cls.problem(lang)
    if problem is not None:
        raise problem.error()
    cls.prepare(lang)
    return cls


def load_recognizer(name: str, lang: str, vocabulary: Sequence[str]) -> Recognizer:
    """A recogniser for ``lang`` expecting these sentences; the one-line EngineError when it cannot."""
    return ready_recognizer(name, lang).load(lang, vocabulary)


def recognizer_report() -> list[Check]:
    """For doctor: each recogniser, whether it can run, and the languages it hears."""
    report: list[Check] = []
    for name in sorted(registry()):
        try:
            cls = recognizer_class(name)
        except EngineError as exc:
            report.append(Check(f"recogniser {name}", "missing", exc.message, exc.fix))
            continue
        problem = cls.problem("en" if "en" in cls.languages else next(iter(sorted(cls.languages)), "en"))
        if problem is not None:
            report.append(Check(f"recogniser {name}", "missing", problem.message, problem.fix))
            continue
        found = ", ".join(filter(None, (cls.description, cls.model_note(), f"hears {_languages(cls)}")))
        fetch = cls.to_fetch()
        if fetch is None:
            report.append(Check(f"recogniser {name}", "ok", found))
        else:
            report.append(
                Check(
                    f"recogniser {name}",
                    "warning",
                    f"{found}; not downloaded yet: it will be, before the first check that uses it",
                    f"download it now (`hf download {fetch}`), or set HF_HUB_OFFLINE=1 to forbid downloads",
                )
            )
    return report


def _languages(cls: type[Recognizer]) -> str:
    if len(cls.languages) <= 6:
        return ", ".join(sorted(cls.languages))
    return f"{len(cls.languages)} languages ({', '.join(sorted(cls.languages)[:6])}, ...)"
