"""Kokoro-82M through kokoro-onnx: a natural neural voice on ONNX Runtime, no torch needed.

The model (``kokoro-v1.0.onnx``, or its int8/fp16 exports) and the voices file (``voices-v1.0.bin``)
come from https://github.com/thewh1teagle/kokoro-onnx/releases; voxcli looks for them by their
standard names in ``$VOXCLI_KOKORO_ONNX_DIR`` and then in its user data folder, unless a profile names
them with ``options.model`` and ``options.voices``.

Text becomes phonemes with eSpeak-NG once per call; the phonemes are cut at sentence, clause and
word boundaries into pieces the model speaks well (it accepts 510 at most, and long inputs come out
rushed), every piece is spoken and the pieces are joined: nothing is ever dropped.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import threading
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from voxcli.engines.base import (
    AudioChunk,
    Engine,
    EngineOptions,
    Problem,
    VoiceProfile,
    WordTiming,
    looks_like_path,
    shared_model,
)
from voxcli.engines.blend import blend, parse_blend
from voxcli.errors import EngineError

MODEL_DIR_ENV = "VOXCLI_KOKORO_ONNX_DIR"
MODEL_NAMES = ("kokoro-v1.0.onnx", "kokoro-v1.0.int8.onnx", "kokoro-v1.0.fp16.onnx")
VOICES_NAME = "voices-v1.0.bin"
RELEASES = "https://github.com/thewh1teagle/kokoro-onnx/releases"
SAMPLE_RATE = 24000
MAX_PHONEMES = 510  # the model's context; it refuses more
PIECE_PHONEMES = 250  # longer pieces are spoken too fast, as if the model ran out of breath
CLAUSE_GAP = 0.12  # seconds between pieces cut at a comma, semicolon or colon
WORD_GAP = 0.04  # seconds between pieces cut between two words
SENTENCE_MARKS = ".!?…"
CLAUSE_MARKS = ",;:—"
STYLE_SUFFIXES = (".npy",)

# voxcli language tags -> eSpeak-NG's; other tags go to eSpeak-NG as they are, lower-cased.
LANGUAGES = {
    "en": "en-us", "en-us": "en-us", "en-gb": "en-gb", "en-uk": "en-gb",
    "fr": "fr-fr", "fr-fr": "fr-fr", "es": "es", "es-es": "es", "it": "it", "it-it": "it",
    "pt": "pt-br", "pt-br": "pt-br", "pt-pt": "pt", "hi": "hi", "ja": "ja", "ja-jp": "ja",
    "zh": "cmn", "zh-cn": "cmn", "cmn": "cmn", "de": "de", "de-de": "de",
}


class KokoroOnnxOptions(EngineOptions):
    model: str | None = None  # the .onnx file (fp32, int8 or fp16); None: looked for by its standard names
    voices: str | None = None  # the voices file (voices-v1.0.bin, or an .npz of style arrays)
    vocab: str | None = None  # a JSON file with a "vocab" table; None: the model's own, else kokoro-onnx's
    threads: int | None = Field(default=None, ge=1, le=256)  # ONNX Runtime threads; None: all cores
    trim: bool = True  # cut the model's silence at both ends (voxcli puts its own pauses between sentences)


@dataclass(frozen=True)
class ModelFiles:
    model: Path
    voices: Path
    vocab: Path | None


def model_dirs() -> list[Path]:
    """Where the model and voices files are looked for when a profile does not name them."""
    import platformdirs

    dirs = [Path(os.environ[MODEL_DIR_ENV]).expanduser()] if os.environ.get(MODEL_DIR_ENV) else []
    return [*dirs, Path(platformdirs.user_data_dir("voxcli")) / "kokoro-onnx"]


def espeak_language(lang: str) -> str:
    """The eSpeak-NG language for a voxcli language tag: "fr" -> "fr-fr", "en_GB" -> "en-gb"."""
    tag = lang.lower().replace("_", "-")
    return LANGUAGES.get(tag, tag)


def find_files(profile: VoiceProfile) -> ModelFiles | Problem:
    """The model, voices and vocab files for the profile, or why they cannot be found."""
    options = profile.options_as(KokoroOnnxOptions)
    dirs = model_dirs()
    where = " or ".join(str(d) for d in dirs)
    fetch = f"download it from {RELEASES}"
    model: Path | None
    voices: Path | None
    if options.model is not None:
        model = profile.path(options.model)
        if not model.is_file():
            return Problem(f"Kokoro model file not found: {model}", f"fix options.model, or {fetch}")
    else:
        model = next((d / name for d in dirs for name in MODEL_NAMES if (d / name).is_file()), None)
    if options.voices is not None:
        voices = profile.path(options.voices)
        if not voices.is_file():
            return Problem(f"Kokoro voices file not found: {voices}", f"fix options.voices, or {fetch}")
    else:
        voices = next((d / VOICES_NAME for d in dirs if (d / VOICES_NAME).is_file()), None)
    if model is None or voices is None:
        wanted = " and ".join(name for name, found in ((MODEL_NAMES[0], model), (VOICES_NAME, voices))
                              if found is None)
        target = f"{dirs[0]} (${MODEL_DIR_ENV})" if len(dirs) > 1 else f"{dirs[0]} or set {MODEL_DIR_ENV}"
        return Problem(f"Kokoro ONNX files not found: no {wanted} in {where}",
                       f"put {MODEL_NAMES[0]} (or {MODEL_NAMES[1]}) and {VOICES_NAME} from {RELEASES} "
                       f"in {target}, or name them with options.model and options.voices")
    vocab = profile.path(options.vocab) if options.vocab is not None else None
    if vocab is not None and not vocab.is_file():
        return Problem(f"Kokoro vocab file not found: {vocab}", "fix options.vocab, or remove it")
    return ModelFiles(model, voices, vocab)


def _style_files(profile: VoiceProfile) -> list[Path]:
    """The .npy style files a voice (or a blend) names."""
    voice = profile.voice.strip()
    if looks_like_path(voice, STYLE_SUFFIXES) and "," not in voice:
        return [profile.path(voice)]
    try:
        parts = parse_blend(voice)
    except EngineError:
        return []
    return [profile.path(name) for name, _ in parts if looks_like_path(name, STYLE_SUFFIXES)]


def _file_identity(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


class KokoroOnnxEngine(Engine):
    name: ClassVar[str] = "kokoro-onnx"
    description: ClassVar[str] = "Kokoro-82M neural voices on ONNX Runtime (no torch; CPU or CUDA)"
    install_hint: ClassVar[str] = "pip install kokoro-onnx"
    max_chars: ClassVar[int] = 300
    requires: ClassVar[tuple[str, ...]] = ("kokoro_onnx", "onnxruntime")
    distribution: ClassVar[str | None] = "kokoro-onnx"
    Options: ClassVar[type[EngineOptions]] = KokoroOnnxOptions
    neutral_options: ClassVar[frozenset[str]] = frozenset({"threads"})
    parallel: ClassVar[bool] = True
    chars_per_second: ClassVar[float] = 40.0  # int8 model on 2 cores: bench/kokoro_onnx.py

    def __init__(self, kokoro: Any, session_options: Any, style: np.ndarray, profile: VoiceProfile,
                 language: str, backend: Any) -> None:
        options = profile.options_as(KokoroOnnxOptions)
        self.sample_rate = SAMPLE_RATE
        self.session_options = session_options  # as the session was created with (threads, for tests)
        self.style = style  # (N, 1, 256) float32: one style row per phoneme count
        self.language = language  # eSpeak-NG's name
        self._kokoro = kokoro
        self._backend = backend
        self._speed = profile.speed
        self._trim = options.trim
        self._sentence_gap = profile.sentence_pause

    @classmethod
    def identity(cls, profile: VoiceProfile) -> dict[str, Any]:
        found = find_files(profile)
        if isinstance(found, Problem):
            return super().identity(profile)
        files = {"model": _file_identity(found.model), "voices": _file_identity(found.voices)}
        if found.vocab is not None:
            files["vocab"] = _file_identity(found.vocab)
        styles = [_file_identity(path) for path in _style_files(profile) if path.is_file()]
        return {**super().identity(profile), "files": files, "style_files": styles,
                "sample_rate": SAMPLE_RATE}

    @classmethod
    def profile_problem(cls, profile: VoiceProfile) -> Problem | None:
        found = find_files(profile)
        if isinstance(found, Problem):
            return found
        for path in _style_files(profile):
            if not path.is_file():
                return Problem(f"Kokoro style file not found: {path}",
                               "fix the path, or name a voice of the voices file")
        return None

    @classmethod
    def load(cls, profile: VoiceProfile, device: str = "auto") -> KokoroOnnxEngine:
        options = profile.options_as(KokoroOnnxOptions)
        found = find_files(profile)
        if isinstance(found, Problem):
            raise EngineError(f"{profile.where('voice')}: {found.message}", found.fix)
        if not 0.5 <= profile.speed <= 2.0:
            raise EngineError(f"{profile.where('speed')}: {profile.speed:g} is out of range",
                              "use a speed from 0.5 to 2.0")
        providers = _providers(device)
        key = ("kokoro-onnx", str(found.model.resolve()), tuple(providers), options.threads)
        session, session_options = shared_model(key, lambda: _load_session(found.model, providers, options))
        kokoro = _kokoro(session, found)
        style = _voice_style(kokoro, profile)
        language = espeak_language(profile.lang)
        return cls(kokoro, session_options, style, profile, language, _backend(language, profile))

    def phonemize(self, text: str) -> str:
        """The text's phonemes, as the model's vocabulary spells them, in one line."""
        with _espeak_lock():
            found = self._backend.phonemize([text], strip=True, njobs=1)
        phonemes = "".join(ch for ch in " ".join(found) if ch in self._kokoro.tokenizer.vocab)
        return " ".join(phonemes.split())

    def synthesize(self, text: str) -> Iterator[AudioChunk]:
        phonemes = self.phonemize(text)
        if not any(ch.isalpha() for ch in phonemes):
            yield AudioChunk(samples=np.zeros(0, dtype=np.float32), sample_rate=SAMPLE_RATE, text=text)
            return
        parts: list[np.ndarray] = []
        spans: list[tuple[int, int]] | None = [] if self._kokoro.has_timings else None
        offset = 0
        pieces = split_phonemes(phonemes, PIECE_PHONEMES)
        for index, piece in enumerate(pieces):
            audio, _, timings = self._kokoro.create_timed(
                piece, voice=self.style, speed=self._speed, lang=self.language, is_phonemes=True,
                trim=self._trim, sentence_pause=0.0, clause_pause=0.0)
            audio = np.asarray(audio, dtype=np.float32).ravel()
            if spans is not None:
                if timings:
                    spans += [(offset + start, offset + end)
                              for start, end in _word_spans(timings, SAMPLE_RATE)]
                else:
                    spans = None
            parts.append(audio)
            offset += len(audio)
            if index < len(pieces) - 1 and self._trim:
                gap = np.zeros(int(self._gap_after(piece) * SAMPLE_RATE), dtype=np.float32)
                parts.append(gap)
                offset += len(gap)
        samples = np.clip(np.concatenate(parts), -1.0, 1.0).astype(np.float32, copy=False)
        words = _match_words(text, spans, SAMPLE_RATE) if spans is not None else None
        yield AudioChunk(samples=samples, sample_rate=SAMPLE_RATE, text=text, words=words)

    def _gap_after(self, piece: str) -> float:
        """The pause between two pieces (trimmed of their own silence), by where the cut fell."""
        mark = piece.rstrip()[-1:]
        if mark in SENTENCE_MARKS:
            return self._sentence_gap
        return CLAUSE_GAP if mark in CLAUSE_MARKS else WORD_GAP


# ---- phonemes -------------------------------------------------------------------------------------

_BOUNDARIES = (
    re.compile(rf"(?<=[{re.escape(SENTENCE_MARKS)}])\s+"),
    re.compile(rf"(?<=[{re.escape(CLAUSE_MARKS)}])\s+"),
    re.compile(r"\s+"),
)


def split_phonemes(phonemes: str, limit: int = PIECE_PHONEMES) -> list[str]:
    """Cut a line of phonemes into pieces of at most ``limit``: at sentence ends, then at clauses,
    then between words, and inside a word only when one is longer than ``limit``.

    Joining the pieces with spaces gives the phonemes back (runs of spaces become one): nothing is
    dropped. The pieces are balanced, since a short last piece is spoken at a different pace.
    """
    if not 1 <= limit <= MAX_PHONEMES:
        raise ValueError(f"limit must be 1 to {MAX_PHONEMES}, not {limit}")
    atoms = list(_atoms(" ".join(phonemes.split()), limit, 0))
    if not atoms:
        return []
    lengths = [len(atom) for atom in atoms]
    fewest = len(_pack(lengths, limit))
    low, high = max(lengths), limit
    while low < high:  # the smallest limit that needs no more pieces
        middle = (low + high) // 2
        if len(_pack(lengths, middle)) <= fewest:
            high = middle
        else:
            low = middle + 1
    return [" ".join(atoms[start:end]) for start, end in _pack(lengths, low)]


def _atoms(phonemes: str, limit: int, level: int) -> Iterator[str]:
    if len(phonemes) <= limit:
        if phonemes:
            yield phonemes
        return
    for index in range(level, len(_BOUNDARIES)):
        parts = _BOUNDARIES[index].split(phonemes)
        if len(parts) > 1:
            for part in parts:
                yield from _atoms(part, limit, index + 1)
            return
    for start in range(0, len(phonemes), limit):  # one "word" longer than a piece: cut it, keep it all
        yield phonemes[start:start + limit]


def _pack(lengths: list[int], limit: int) -> list[tuple[int, int]]:
    """Consecutive atoms grouped (joined by a space) within ``limit``, as index ranges."""
    groups: list[tuple[int, int]] = []
    start, size = 0, 0
    for index, length in enumerate(lengths):
        grown = length if index == start else size + 1 + length
        if grown > limit and index > start:
            groups.append((start, index))
            start, size = index, length
        else:
            size = grown
    groups.append((start, len(lengths)))
    return groups


def _word_spans(timings: Sequence[Any], rate: int) -> list[tuple[int, int]]:
    """Sample spans of the spoken words of one piece, from its phoneme timings.

    A word is a run of phonemes between spaces; it spans its sounds only (not the pause of a comma
    after it), and a run of punctuation alone is no word.
    """
    spans: list[tuple[int, int]] = []
    start: int | None = None
    end: int | None = None
    for timing in timings:
        if timing.phoneme == " ":
            if start is not None and end is not None:
                spans.append((start, end))
            start = end = None
        elif timing.phoneme.isalpha():
            start = round(timing.start * rate) if start is None else start
            end = round(timing.end * rate)
    if start is not None and end is not None:
        spans.append((start, end))
    return spans


def _match_words(text: str, spans: list[tuple[int, int]], rate: int) -> list[WordTiming] | None:
    """The text's words with the spoken spans, when they correspond one to one; else None."""
    words = [word for word in text.split() if any(ch.isalnum() for ch in word)]
    if not words or len(words) != len(spans):
        return None
    return [WordTiming(word, start / rate, end / rate)
            for word, (start, end) in zip(words, spans, strict=True)]


_fallback_lock = threading.Lock()


def _espeak_lock() -> Any:
    """kokoro-onnx's lock around eSpeak-NG (global state), so its own calls and ours never overlap."""
    from kokoro_onnx import tokenizer

    return getattr(tokenizer, "_espeak_lock", _fallback_lock)


def _backend(language: str, profile: VoiceProfile) -> Any:
    """An eSpeak-NG phonemizer for ``language``; words it reads in another language (an English word
    in French) are spoken without the language-switch marks, which would otherwise be read out."""
    from phonemizer.backend import EspeakBackend  # type: ignore[import-untyped]

    try:
        with _espeak_lock():
            return EspeakBackend(language, preserve_punctuation=True, with_stress=True,
                                 language_switch="remove-flags")
    except RuntimeError as exc:
        raise EngineError(f"{profile.where('lang')}: eSpeak-NG cannot phonemize '{profile.lang}': {exc}",
                          "use a language such as en-us, en-gb, fr, es, it, pt-br, hi, ja or zh") from exc


# ---- loading --------------------------------------------------------------------------------------

def _providers(device: str) -> list[str]:
    import onnxruntime

    available = onnxruntime.get_available_providers()
    if device in ("auto", "cuda") and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        raise EngineError("kokoro-onnx cannot use CUDA: this onnxruntime has no CUDA provider",
                          "pip install onnxruntime-gpu, or use --device cpu")
    return ["CPUExecutionProvider"]


def _load_session(model: Path, providers: Sequence[str], options: KokoroOnnxOptions) -> tuple[Any, Any]:
    """An ONNX Runtime session on the model, with explicit threads; and the options it got."""
    import onnxruntime

    session_options = onnxruntime.SessionOptions()
    session_options.intra_op_num_threads = options.threads or (os.cpu_count() or 1)
    session_options.inter_op_num_threads = 1
    try:
        session = onnxruntime.InferenceSession(str(model), sess_options=session_options,
                                               providers=list(providers))
    except Exception as exc:  # onnxruntime raises its own exception types for corrupt models
        raise EngineError(f"Kokoro model {model} cannot be loaded: {exc}",
                          f"download it again from {RELEASES}; the file may be truncated") from exc
    return session, session.get_session_options()


def _kokoro(session: Any, files: ModelFiles) -> Any:
    """kokoro-onnx's Kokoro on a loaded session, with the voices (read lazily) and vocabulary."""
    from kokoro_onnx import Kokoro

    vocab = _vocab(files.vocab) if files.vocab is not None else None
    try:
        return Kokoro.from_session(session, str(files.voices), vocab_config=vocab)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise EngineError(f"Kokoro voices file {files.voices} is unreadable: {exc!r}",
                          f"download {VOICES_NAME} again from {RELEASES}") from exc


def _vocab(path: Path) -> dict[str, Any]:
    """A vocab file's content, checked: JSON with a "vocab" table of phoneme -> token id."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        data = exc
    if not (isinstance(data, dict) and isinstance(data.get("vocab"), dict) and data["vocab"]):
        detail = f": {data}" if isinstance(data, Exception) else ""
        raise EngineError(f"Kokoro vocab file {path} is unreadable or has no \"vocab\" table{detail}",
                          f"use the config.json of the model's release ({RELEASES}), or remove options.vocab")
    return {"vocab": data["vocab"]}


def _voice_style(kokoro: Any, profile: VoiceProfile) -> np.ndarray:
    """The style array (N, 1, 256) of the profile's voice: a name, a weighted blend, or a .npy file."""
    voice = profile.voice.strip()
    if looks_like_path(voice, STYLE_SUFFIXES) and "," not in voice:
        return _style_file(profile.path(voice), profile)
    known = sorted(str(name) for name in kokoro.get_voices())

    def load(name: str) -> np.ndarray:
        if looks_like_path(name, STYLE_SUFFIXES):
            return _style_file(profile.path(name), profile)
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            more = ", ..." if len(known) > 12 else ""
            raise EngineError(f"{profile.where('voice')}: unknown Kokoro voice '{name}'",
                              f"{hint}known voices: {', '.join(known[:12])}{more}")
        return _style_shape(np.asarray(kokoro.get_voice_style(name), dtype=np.float32), name, profile)

    def mix(weighted: list[tuple[np.ndarray, float]]) -> np.ndarray:
        shapes = {style.shape for style, _ in weighted}
        if len(shapes) > 1:
            raise EngineError(f"{profile.where('voice')}: the voices of the blend have different shapes "
                              f"{sorted(shapes)}", "blend voices of the same voices file")
        mixed = np.zeros_like(weighted[0][0])
        for style, weight in weighted:
            mixed += style * np.float32(weight)
        return mixed

    return blend(parse_blend(voice), load, mix)


def _style_file(path: Path, profile: VoiceProfile) -> np.ndarray:
    try:
        style = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise EngineError(f"{profile.where('voice')}: Kokoro style file {path} is unreadable: {exc}",
                          "give a .npy file of a voice's style array, shape (510, 1, 256)") from exc
    return _style_shape(np.asarray(style, dtype=np.float32), str(path), profile)


def _style_shape(style: np.ndarray, name: str, profile: VoiceProfile) -> np.ndarray:
    """Style arrays as kokoro-onnx wants them: (N, 1, 256); (N, 256) is accepted too."""
    if style.ndim == 2:
        style = style[:, None, :]
    if style.ndim != 3 or style.shape[1] != 1 or style.shape[2] != 256 or not len(style):
        raise EngineError(f"{profile.where('voice')}: {name} is not a Kokoro style array "
                          f"(shape {style.shape})", "a voice's style array has shape (510, 1, 256)")
    return style
