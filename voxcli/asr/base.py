"""The recogniser contract: audio in, the words heard (with their times) out.

A recogniser is told what it is about to hear (``vocabulary``: the sentences of the chapter), so it
can favour those words; it must still report what the audio says, not what was expected. Modules
stay cheap to import: the recogniser's packages load in :meth:`Recognizer.load`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from voxcli.arrays import Float32
from voxcli.engines.base import Problem, WordTiming


@dataclass(frozen=True)
class Heard:
    """What a recogniser heard in one piece of audio."""

    words: list[WordTiming]  # in order, times in seconds from the start of the audio

    @property
    def text(self) -> str:
        return " ".join(w.word for w in self.words)


class Recognizer(ABC):
    """A speech recogniser. Subclasses set the class variables and implement load and recognize."""

    name: ClassVar[str]
    description: ClassVar[str]
    install_hint: ClassVar[str]
    languages: ClassVar[frozenset[str]]  # primary language subtags it hears ("en")

    @classmethod
    def problem(cls, lang: str) -> Problem | None:
        """Why it cannot recognise ``lang`` here (package or model missing, language unknown). Cheap."""
        primary = lang.lower().split("-")[0]
        if primary not in cls.languages:
            return Problem(
                f"recogniser '{cls.name}' does not know '{lang}'",
                f"it hears {', '.join(sorted(cls.languages))}",
            )
        return None

    @classmethod
    def prepare(cls, lang: str) -> None:
        """Fetch what :meth:`load` will need (a model download), so that it never happens mid-run.
        Called before a check or conversion starts; raises the one-line EngineError when it cannot."""
        return None

    @classmethod
    def model_note(cls) -> str:
        """Which model it would use, for doctor ("" when there is no choice)."""
        return ""

    @classmethod
    def to_fetch(cls) -> str | None:
        """What :meth:`prepare` would download (None: everything is here)."""
        return None

    @classmethod
    @abstractmethod
    def load(cls, lang: str, vocabulary: Sequence[str]) -> Recognizer:
        """A recogniser for ``lang`` that expects to hear these sentences (in some order, or not)."""

    @abstractmethod
    def known(self, word: str) -> bool:
        """Whether ``word`` (lower case) is one it can hear at all: the others cannot be checked."""

    @abstractmethod
    def recognize(self, samples: Float32, rate: int) -> Heard:
        """The words in ``samples`` (float32 mono at ``rate`` Hz)."""

    def align(self, samples: Float32, rate: int, expected: Sequence[str]) -> list[WordTiming] | None:
        """When each of ``expected`` (words it knows, in order) is said in ``samples``; None when the
        recogniser cannot align (then callers fall back to sentence timing)."""
        return None

    def close(self) -> None:
        """Release what this instance owns. Idempotent."""
        return None
