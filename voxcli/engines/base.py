"""The engine contract: what every speech engine gives voxcli, and what voxcli gives it.

An engine module must stay cheap to import: the engine's own packages (onnxruntime, torch, ...)
are imported inside :meth:`Engine.load`, never at module level.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from voxcli.arrays import Float32
from voxcli.errors import EngineError

if TYPE_CHECKING:
    from voxcli.engines.stack import Layer
    from voxcli.lexicon.model import Lexicon

Status = Literal["ok", "warning", "missing"]


@dataclass(frozen=True)
class WordTiming:
    """When one word is heard, in seconds from the start of its chunk."""

    word: str
    start: float  # seconds
    end: float  # seconds


@dataclass(frozen=True)
class AudioChunk:
    """Speech for one piece of text."""

    samples: Float32  # float32, mono, in [-1, 1]
    sample_rate: int  # Hz
    text: str  # the text that produced it
    words: list[WordTiming] | None = None  # when the engine knows them

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class Settings:
    """What may change from one call to the next with the same loaded engine (a request's options).

    A loaded engine is shared by every call for its model and voice; options that vary per request
    travel with the call, so a server that serves fifty speeds keeps one engine, not fifty.
    """

    speed: float = 1.0  # 1.0 = the voice's natural rate; 0.5 to 2.0


DEFAULT_SETTINGS = Settings()


@dataclass(frozen=True)
class Spoken:
    """The audio of one text: every chunk an engine gave for it, joined."""

    samples: Float32  # float32, mono, in [-1, 1]
    sample_rate: int  # Hz
    words: list[WordTiming] | None  # from the start of ``samples``; None unless every chunk had them
    chunks: int  # how many chunks the engine gave

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class Check:
    """One line of an installation report: what was checked, how it went, and the fix."""

    name: str
    status: Status
    detail: str
    fix: str | None = None


@dataclass(frozen=True)
class Problem:
    """Why a voice profile cannot be used right now, and the fix."""

    message: str
    fix: str | None = None
    # The profile key it is about, for "voices.toml: voices.x.voice: ...": None means "voice";
    # "" means the engine itself (its packages), which no key of the profile can fix.
    key: str | None = None

    def error(self, profile: VoiceProfile | None = None) -> EngineError:
        """This problem as the one-line EngineError (exit 5), saying where in the profile it lies."""
        where = f"{profile.where(self.key or 'voice')}: " if profile is not None and self.key != "" else ""
        return EngineError(where + self.message, self.fix)


class EngineOptions(BaseModel):
    """Base of every engine's ``[voices.NAME.options]`` model: strict, no unknown keys."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


_O = TypeVar("_O", bound=EngineOptions)


@dataclass(frozen=True)
class VoiceProfile:
    """A validated voice profile, ready for an engine."""

    name: str
    engine: str
    voice: str
    lang: str = "en-us"
    speed: float = 1.0  # 1.0 = the voice's natural rate
    sentence_pause: float = 0.25  # seconds of silence after each sentence
    paragraph_pause: float = 0.6  # seconds of silence after each paragraph
    title_pause: float = 1.0  # seconds of silence after a chapter title
    options: EngineOptions = field(default_factory=EngineOptions)
    base_dir: Path = field(default_factory=Path.cwd)  # relative paths in the profile start here
    source: str = "command line"  # where the profile came from, for messages
    lexicon: Lexicon | None = None  # the profile's own pronunciations ([voices.NAME.lexicon])

    def path(self, value: str | Path) -> Path:
        """A path named in the profile: ``~`` expanded, relative to the voices file's folder."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    def options_as(self, kind: type[_O]) -> _O:
        """The engine options, as the engine's own model (validated when the profile was read)."""
        if not isinstance(self.options, kind):
            return kind.model_validate(self.options.model_dump())
        return self.options

    @property
    def settings(self) -> Settings:
        """The per-call settings this profile asks for."""
        return Settings(speed=self.speed)

    def where(self, key: str) -> str:
        """``voices.toml: voices.joe.voice``: where a value came from, for error messages."""
        if self.source == "command line":
            return f"voice '{self.engine}:{self.voice}'"
        return f"{self.source}: voices.{self.name}.{key}"


def offline() -> bool:
    """Whether downloads are forbidden (``HF_HUB_OFFLINE``, which Hugging Face and voxcli honour)."""
    import os

    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def file_identity(path: Path) -> dict[str, Any]:
    """A model file as cache keys see it: where it is, its size and its modification time."""
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def looks_like_path(value: str, suffixes: tuple[str, ...] = ()) -> bool:
    """Whether a voice id names a file (rather than a voice known by name)."""
    return "/" in value or "\\" in value or value.startswith(("~", ".")) or value.lower().endswith(suffixes)


class Engine(ABC):
    """A speech engine. Subclasses set the class variables and implement load and synthesize."""

    name: ClassVar[str]
    description: ClassVar[str]
    install_hint: ClassVar[str]  # e.g. "pip install piper-tts"
    max_chars: ClassVar[int]  # the longest text one synthesize() call should get
    requires: ClassVar[tuple[str, ...]] = ()  # import names that must be on disk (cheap to check)
    stack: ClassVar[tuple[Layer, ...]] = ()  # what must really import, dependencies first (engines.stack)
    distribution: ClassVar[str | None] = None  # PyPI name whose version identifies the engine
    Options: ClassVar[type[EngineOptions]] = EngineOptions
    neutral_options: ClassVar[frozenset[str]] = frozenset()  # options that do not change the sound
    parallel: ClassVar[bool] = False  # cheap enough on CPU to run one model per core (convert --jobs)
    chars_per_second: ClassVar[float] = 100.0  # rough CPU throughput, for `convert --dry-run` estimates
    # What callers may rely on, declared rather than guessed: "word_timings" (chunks carry words),
    # "stochastic" (the same text can sound different each time), "threads" (Options has a ``threads``
    # field, set to 1 per worker by convert --jobs), "flags_suspicious" (suspicious() can be non-empty),
    # "phonemes" (synthesize() reads phoneme spans, voxcli.text.markup, in ``phoneme_alphabet``),
    # "batch" (synthesize_batch() speaks several texts in one model call: callers send many at once).
    capabilities: ClassVar[frozenset[str]] = frozenset()
    # With "phonemes": "ipa" (the eSpeak-NG flavour of IPA Piper and Kokoro are trained on) or
    # "espeak" (eSpeak-NG's own phoneme mnemonics, as inside [[...]]).
    phoneme_alphabet: ClassVar[str | None] = None

    sample_rate: int  # Hz, known once loaded

    @classmethod
    def missing_packages(cls) -> list[str]:
        """Import names of required packages that are not installed (cheap: nothing is imported)."""
        return [module for module in cls.requires if importlib.util.find_spec(module) is None]

    @classmethod
    def version(cls) -> str | None:
        """The engine package's version, part of the audio cache key."""
        if cls.distribution is None:
            return None
        try:
            return importlib.metadata.version(cls.distribution)
        except importlib.metadata.PackageNotFoundError:
            return None

    @classmethod
    def stack_problem(cls, cached: bool = False) -> Problem | None:
        """Why the installed packages cannot run this engine (one fails to import, or is a release voxcli
        does not support), or None. Imports them for real, once per process: seconds for torch.
        ``cached``: for listings, an earlier process's verdict in this unchanged environment."""
        from voxcli.engines.stack import stack_problem

        return stack_problem(cls.stack, cached)

    @classmethod
    def engine_problem(cls, cached: bool = False) -> Problem | None:
        """Why this engine cannot speak at all here: packages missing, or installed but broken."""
        missing = cls.missing_packages()
        if missing:
            return Problem(
                f"engine '{cls.name}' is not installed ({', '.join(missing)} missing)", cls.install_hint
            )
        problem = cls.stack_problem(cached)
        if problem is not None:
            return Problem(f"engine '{cls.name}' cannot start: {problem.message}", problem.fix)
        return None

    @classmethod
    def check(cls, cached: bool = False) -> list[Check]:
        """Checks for ``voxcli engines`` and ``doctor``: the packages import; never a model load."""
        missing = cls.missing_packages()
        if missing:
            return [Check(cls.name, "missing", f"{', '.join(missing)} not installed", cls.install_hint)]
        problem = cls.stack_problem(cached)
        if problem is not None:
            return [Check(cls.name, "missing", problem.message, problem.fix)]
        version = cls.version()
        return [Check(cls.name, "ok", f"{cls.distribution} {version}" if version else "installed")]

    @classmethod
    def identity(cls, profile: VoiceProfile) -> dict[str, Any]:
        """Everything that shapes the sound of ``profile``, for audio cache keys. Cheap: no model load."""
        options = profile.options.model_dump(exclude=set(cls.neutral_options))
        return {
            "engine": cls.name,
            "version": cls.version(),
            "voice": profile.voice,
            "lang": profile.lang,
            "speed": profile.speed,
            "options": options,
        }

    @classmethod
    def profile_problem(cls, profile: VoiceProfile) -> Problem | None:
        """Why ``profile`` cannot be used right now (missing model files), or None. Cheap."""
        return None

    @classmethod
    def from_ipa(cls, ipa: str, profile: VoiceProfile) -> str:
        """With "phonemes" in ``ipa``: IPA (as eSpeak-NG writes it) in the symbols this model was
        trained on; the default takes it as it is."""
        return ipa

    @classmethod
    def phoneme_symbols(cls, profile: VoiceProfile) -> frozenset[str] | None:
        """With "phonemes": the symbols (code points) the profile's model can say; None when it cannot
        tell (any symbol of its alphabet then). Cheap: a config file at most, never a model load."""
        return None

    @classmethod
    @abstractmethod
    def load(cls, profile: VoiceProfile, device: str = "auto") -> Engine:
        """An engine ready to speak ``profile``; heavy models come from :func:`shared_model`."""

    @abstractmethod
    def synthesize(self, text: str, settings: Settings = DEFAULT_SETTINGS) -> Iterator[AudioChunk]:
        """Speak ``text`` (at most ``max_chars``) with this call's ``settings``, as chunks in order."""

    def synthesize_batch(
        self, texts: Sequence[str], settings: Settings = DEFAULT_SETTINGS
    ) -> list[list[AudioChunk]]:
        """Speak several texts: each one's chunks, as :meth:`synthesize` gives them. An engine with the
        "batch" capability speaks them together (the same audio, faster); the default, one by one."""
        return [list(self.synthesize(text, settings)) for text in texts]

    def prefetch(self, texts: Sequence[str]) -> None:
        """A hint: these texts will be spoken next, in this order (an engine may prepare them)."""
        return None

    def suspicious(self) -> list[str]:
        """Texts this engine spoke but could not speak cleanly (engines with "flags_suspicious")."""
        return []

    def close(self) -> None:
        """Release what this instance owns (threads, device memory). Idempotent; shared models stay."""
        return None


def speak(engine: Engine, text: str, settings: Settings = DEFAULT_SETTINGS) -> Spoken:
    """Speak ``text`` with ``engine``: its chunks joined, each checked to be at the engine's rate.

    The one place that joins chunks: convert, say and the server all speak through it (or
    :func:`speak_many`).
    """
    return join_chunks(engine, engine.synthesize(text, settings))


def speak_many(engine: Engine, texts: Sequence[str], settings: Settings = DEFAULT_SETTINGS) -> list[Spoken]:
    """:func:`speak` for several texts, through the engine's :meth:`Engine.synthesize_batch`."""
    if len(texts) == 1:
        return [speak(engine, texts[0], settings)]
    spoken = engine.synthesize_batch(texts, settings)
    if len(spoken) != len(texts):
        raise EngineError(
            f"engine '{engine.name}' spoke {len(spoken)} of {len(texts)} texts", "report this engine's bug"
        )
    return [join_chunks(engine, chunks) for chunks in spoken]


def join_chunks(engine: Engine, chunks: Iterable[AudioChunk]) -> Spoken:
    rate = engine.sample_rate
    parts: list[Float32] = []
    words: list[WordTiming] = []
    timed = True
    offset = 0
    count = 0
    for chunk in chunks:
        if chunk.sample_rate != rate:
            raise EngineError(
                f"engine '{engine.name}' gave {chunk.sample_rate} Hz audio after {rate} Hz",
                "report this engine's bug",
            )
        samples = np.asarray(chunk.samples, dtype=np.float32).reshape(-1)
        if chunk.words is None:
            timed = False
        else:
            start = offset / rate
            words += [WordTiming(w.word, w.start + start, w.end + start) for w in chunk.words]
        parts.append(samples)
        offset += len(samples)
        count += 1
    joined = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    return Spoken(joined, rate, words if timed and count else None, count)


_T = TypeVar("_T")
_models: dict[tuple[Any, ...], Any] = {}
_loading: dict[tuple[Any, ...], threading.Lock] = {}  # one lock per key: loads of different models overlap
_models_lock = threading.Lock()  # guards the two dicts only; never held while a model loads


def shared_model(key: tuple[Any, ...], factory: Callable[[], _T]) -> _T:
    """One loaded model per ``key`` per process: the first caller loads it, every later one reuses it.

    A caller waits only for a load of the same key: a slow model loading never holds up another.
    """
    with _models_lock:
        if key in _models:
            found: _T = _models[key]
            return found
        lock = _loading.setdefault(key, threading.Lock())
    with lock:
        with _models_lock:
            if key in _models:
                ready: _T = _models[key]
                return ready
        model = factory()  # outside the dict lock; an exception leaves the key unloaded
        with _models_lock:
            _models[key] = model
            _loading.pop(key, None)
        return model


def loaded_models() -> list[tuple[Any, ...]]:
    """Keys of the models loaded so far (for reports and tests). Never waits for a load."""
    with _models_lock:
        return list(_models)


def forget_models() -> None:
    """Drop every loaded model (tests; a server that reloads its configuration)."""
    with _models_lock:
        _models.clear()
