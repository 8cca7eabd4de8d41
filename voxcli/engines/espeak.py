"""eSpeak-NG: the small formant synthesizer, in-process through its C library.

The library comes from the ``espeakng-loader`` wheel (bundled with its data) or from the system
(``apt-get install espeak-ng``). eSpeak-NG keeps global state, so one library handle is shared per
process and every call holds a lock. A library is initialised once per process and kept: it cannot be
unloaded, and initialising it again would replace the callback an engine still in use relies on.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sysconfig
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from voxcli.engines.base import (
    DEFAULT_SETTINGS,
    AudioChunk,
    Check,
    Engine,
    EngineOptions,
    Problem,
    Settings,
    VoiceProfile,
    WordTiming,
)
from voxcli.errors import EngineError
from voxcli.text.markup import has_phonemes, parts

SYSTEM_HINT = "apt-get install espeak-ng, or brew install espeak-ng"
INSTALL_HINT = f"pip install espeakng-loader, or install espeak-ng ({SYSTEM_HINT})"
BASE_RATE = 175  # words per minute at speed 1.0 (espeak-ng's default)

# espeak_lib.h
AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_CHARS_UTF8 = 1
ESPEAK_PHONEMES = 0x100  # read [[...]] in the text as eSpeak-NG phoneme mnemonics
POS_CHARACTER = 1
EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1
PARAM_RATE = 1
PARAM_PITCH = 3
PARAM_WORDGAP = 7
EE_OK = 0


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character position in the text
        ("length", ctypes.c_int),  # characters
        ("audio_position", ctypes.c_int),  # milliseconds
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


class EspeakOptions(EngineOptions):
    library: Literal["auto", "bundled", "system"] = "auto"  # auto: the bundled one when installed
    pitch: int | None = Field(default=None, ge=0, le=99)  # None: the voice's own (50)
    word_gap: int = Field(default=0, ge=0, le=100)  # extra pause between words, in 10 ms units


@dataclass
class _Library:
    """One initialised eSpeak-NG library and the state of the synthesis in progress."""

    lib: Any
    origin: str
    sample_rate: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    samples: list[bytes] = field(default_factory=list)
    words: list[tuple[int, int, int]] = field(default_factory=list)  # (char position, length, ms)
    callback: Any = None  # kept referenced: the C library calls it


def bundled_library() -> tuple[str, str] | None:
    """(library path, data path) of the ``espeakng-loader`` wheel, when it is installed."""
    try:
        import espeakng_loader
    except ImportError:
        return None
    return espeakng_loader.get_library_path(), espeakng_loader.get_data_path()


def system_library() -> str | None:
    """The full path of the system's eSpeak-NG library.

    A full path, because the bundled library has the same soname: loading "libespeak-ng.so.1" by
    name in a process that already holds the bundled one would silently return that one.
    """
    name = ctypes.util.find_library("espeak-ng")
    if name is None:
        return None
    if Path(name).is_absolute():
        return name  # macOS answers with a path
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    for folder in (f"/usr/lib/{multiarch}", "/usr/lib64", "/usr/lib", "/usr/local/lib", f"/lib/{multiarch}"):
        if (Path(folder) / name).is_file():
            return str(Path(folder) / name)
    return None


def _locate(choice: str) -> tuple[str, str | None, str]:
    """(library, data dir or None for the library's own, origin) for the ``library`` option."""
    if choice in ("auto", "bundled") and (bundled := bundled_library()):
        return bundled[0], bundled[1], "bundled"
    if choice in ("auto", "system") and (system := system_library()):
        return system, None, "system"
    wanted = {"auto": "eSpeak-NG", "bundled": "the bundled eSpeak-NG", "system": "a system eSpeak-NG"}[choice]
    raise EngineError(f"{wanted} library not found", INSTALL_HINT)


_libraries: dict[str, _Library] = {}  # path -> the library, initialised once (never forgotten)
_libraries_lock = threading.Lock()


def _library(path: str, data: str | None, origin: str) -> _Library:
    """The process's one initialised eSpeak-NG at ``path``.

    Not a :func:`shared_model`: those are dropped when a run ends (``forget_models``), and opening the
    library again would initialise it again under a new callback and a new lock, while an engine of
    the earlier one (a server's, a batch's speakers) may still be speaking with the old ones.
    """
    with _libraries_lock:
        found = _libraries.get(path)
        if found is None:
            found = _libraries[path] = _open(path, data, origin)
        return found


def _open(path: str, data: str | None, origin: str) -> _Library:
    try:
        lib = ctypes.CDLL(path)
    except OSError as exc:
        raise EngineError(f"cannot load the eSpeak-NG library {path}: {exc}", INSTALL_HINT) from exc
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
    rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode() if data else None, 0)
    if rate <= 0:
        raise EngineError(f"eSpeak-NG could not start (data folder {data or 'default'})", INSTALL_HINT)
    state = _Library(lib=lib, origin=origin, sample_rate=rate)

    def collect(wav: Any, count: int, events: Any) -> int:
        if count > 0 and wav:
            state.samples.append(ctypes.string_at(wav, count * 2))
        index = 0
        while events[index].type != EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type == EVENT_WORD:
                state.words.append((event.text_position, event.length, event.audio_position))
            index += 1
        return 0

    state.callback = _CALLBACK(collect)
    lib.espeak_SetSynthCallback(state.callback)
    return state


class EspeakEngine(Engine):
    name: ClassVar[str] = "espeak"
    description: ClassVar[str] = "eSpeak-NG formant voices (100+ languages, tiny, robotic)"
    install_hint: ClassVar[str] = INSTALL_HINT
    max_chars: ClassVar[int] = 600  # longer texts only cost memory (the audio is held until the end)
    distribution: ClassVar[str | None] = "espeakng-loader"
    Options: ClassVar[type[EngineOptions]] = EspeakOptions
    parallel: ClassVar[bool] = True
    capabilities: ClassVar[frozenset[str]] = frozenset({"word_timings", "phonemes"})
    phoneme_alphabet: ClassVar[str | None] = "espeak"
    chars_per_second: ClassVar[float] = 20000.0

    def __init__(self, library: _Library, profile: VoiceProfile) -> None:
        self._library = library
        self._voice = profile.voice or profile.lang
        self._options = profile.options_as(EspeakOptions)
        self.sample_rate = library.sample_rate

    @classmethod
    def missing_packages(cls) -> list[str]:
        return [] if bundled_library() or system_library() else ["espeak-ng"]

    @classmethod
    def check(cls, cached: bool = False) -> list[Check]:
        bundled, system = bundled_library(), system_library()
        if not (bundled or system):
            return [Check(cls.name, "missing", "no eSpeak-NG library found", INSTALL_HINT)]
        found = [f"bundled (espeakng-loader {cls.version()})"] if bundled else []
        found += [f"system ({system})"] if system else []
        return [Check(cls.name, "ok", "library: " + ", ".join(found))]

    @classmethod
    def identity(cls, profile: VoiceProfile) -> dict[str, Any]:
        choice = profile.options_as(EspeakOptions).library
        found = bundled_library() if choice != "system" else None
        library = found[0] if found else system_library()
        return {**super().identity(profile), "library": library}

    @classmethod
    def profile_problem(cls, profile: VoiceProfile) -> Problem | None:
        choice = profile.options_as(EspeakOptions).library
        if choice == "bundled" and not bundled_library():
            return Problem("the bundled eSpeak-NG is not installed", "pip install espeakng-loader")
        if choice == "system" and not system_library():
            return Problem("no system eSpeak-NG library", SYSTEM_HINT)
        return None

    @classmethod
    def load(cls, profile: VoiceProfile, device: str = "auto") -> EspeakEngine:
        path, data, origin = _locate(profile.options_as(EspeakOptions).library)
        library = _library(path, data, origin)
        engine = cls(library, profile)
        with library.lock:
            engine._select_voice()
        return engine

    def _select_voice(self) -> None:
        if self._library.lib.espeak_SetVoiceByName(self._voice.encode()) != EE_OK:
            raise EngineError(
                f"eSpeak-NG has no voice '{self._voice}'",
                "list its voices with: espeak-ng --voices (e.g. en-us, en-gb, fr, de)",
            )

    def synthesize(self, text: str, settings: Settings = DEFAULT_SETTINGS) -> Iterator[AudioChunk]:
        library = self._library
        lib = library.lib
        said, shown = espeak_text(text)
        data = said.encode("utf-8") + b"\0"
        with library.lock:
            library.samples.clear()
            library.words.clear()
            self._select_voice()
            lib.espeak_SetParameter(PARAM_RATE, max(80, min(450, round(BASE_RATE * settings.speed))), 0)
            lib.espeak_SetParameter(PARAM_WORDGAP, self._options.word_gap, 0)
            if self._options.pitch is not None:
                lib.espeak_SetParameter(PARAM_PITCH, self._options.pitch, 0)
            flags = ESPEAK_CHARS_UTF8 | ESPEAK_PHONEMES
            status = lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, flags, None, None)
            if status != EE_OK:
                raise EngineError(f"eSpeak-NG failed to speak (error {status})", "run again with --debug")
            raw = b"".join(library.samples)
            marks = list(library.words)
        samples = np.frombuffer(raw, dtype=np.int16).astype(np.float32) / 32768.0
        yield AudioChunk(
            samples=samples,
            sample_rate=self.sample_rate,
            text=text,
            words=_words(said, marks, len(samples) / self.sample_rate, shown),
        )


def espeak_text(speech: str) -> tuple[str, list[tuple[int, int, str]]]:
    """Speech text as eSpeak-NG reads it (phoneme spans as ``[[...]]``; a literal ``[[`` defused), and
    where each span lies in it: (start, end, the words it says)."""
    if not has_phonemes(speech) and "[[" not in speech:
        return speech, []
    out: list[str] = []
    shown: list[tuple[int, int, str]] = []
    length = 0
    for part in parts(speech):
        piece = f"[[{part.phonemes}]]" if part.phonemes is not None else part.text.replace("[[", "[ [")
        if part.phonemes is not None:
            shown.append((length, length + len(piece), part.text))
        out.append(piece)
        length += len(piece)
    return "".join(out), shown


def _words(
    text: str,
    marks: list[tuple[int, int, int]],
    duration: float,
    shown: Sequence[tuple[int, int, str]] = (),
) -> list[WordTiming] | None:
    """Word timings from eSpeak-NG's word events: each word lasts until the next one starts; a word
    inside a phoneme span is named by the span's words."""
    if not marks:
        return None
    timings: list[WordTiming] = []
    for index, (position, length, ms) in enumerate(marks):
        start = min(ms / 1000, duration)
        end = min(marks[index + 1][2] / 1000, duration) if index + 1 < len(marks) else duration
        first = max(position - 1, 0)
        word = text[first : first + length]
        for low, high, words in shown:
            if low <= first < high:
                word = words
        timings.append(WordTiming(word, start, max(start, end)))
    return timings
