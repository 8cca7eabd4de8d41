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
import threading
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from voxcli.arrays import Float32
from voxcli.engines.base import (
    DEFAULT_SETTINGS,
    AudioChunk,
    Engine,
    EngineOptions,
    Problem,
    Settings,
    VoiceProfile,
    file_identity,
    looks_like_path,
    shared_model,
)
from voxcli.engines.blend import blend, parse_blend
from voxcli.engines.onnx import providers as onnx_providers
from voxcli.engines.onnx import session_options
from voxcli.engines.phonemes import CLAUSE_MARKS, PIECE_PHONEMES, SENTENCE_MARKS, split_phonemes
from voxcli.engines.stack import Layer
from voxcli.engines.timing import match_words, word_spans
from voxcli.errors import EngineError
from voxcli.text.markup import parts, plain

MODEL_DIR_ENV = "VOXCLI_KOKORO_ONNX_DIR"
MODEL_NAMES = ("kokoro-v1.0.onnx", "kokoro-v1.0.int8.onnx", "kokoro-v1.0.fp16.onnx")
VOICES_NAME = "voices-v1.0.bin"
RELEASES = "https://github.com/thewh1teagle/kokoro-onnx/releases"
SAMPLE_RATE = 24000
CLAUSE_GAP = 0.12  # seconds between pieces cut at a comma, semicolon or colon
WORD_GAP = 0.04  # seconds between pieces cut between two words
STYLE_SUFFIXES = (".npy",)

# voxcli language tags -> eSpeak-NG's; other tags go to eSpeak-NG as they are, lower-cased.
LANGUAGES = {
    "en": "en-us",
    "en-us": "en-us",
    "en-gb": "en-gb",
    "en-uk": "en-gb",
    "fr": "fr-fr",
    "fr-fr": "fr-fr",
    "es": "es",
    "es-es": "es",
    "it": "it",
    "it-it": "it",
    "pt": "pt-br",
    "pt-br": "pt-br",
    "pt-pt": "pt",
    "hi": "hi",
    "ja": "ja",
    "ja-jp": "ja",
    "zh": "cmn",
    "zh-cn": "cmn",
    "cmn": "cmn",
    "de": "de",
    "de-de": "de",
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
        wanted = " and ".join(
            name for name, found in ((MODEL_NAMES[0], model), (VOICES_NAME, voices)) if found is None
        )
        target = f"{dirs[0]} (${MODEL_DIR_ENV})" if len(dirs) > 1 else f"{dirs[0]} or set {MODEL_DIR_ENV}"
        return Problem(
            f"Kokoro ONNX files not found: no {wanted} in {where}",
            f"put {MODEL_NAMES[0]} (or {MODEL_NAMES[1]}) and {VOICES_NAME} from {RELEASES} "
            f"in {target}, or name them with options.model and options.voices",
        )
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


class KokoroOnnxEngine(Engine):
    name: ClassVar[str] = "kokoro-onnx"
    description: ClassVar[str] = "Kokoro-82M neural voices on ONNX Runtime (no torch; CPU or CUDA)"
    install_hint: ClassVar[str] = "pip install kokoro-onnx"
    max_chars: ClassVar[int] = 300
    requires: ClassVar[tuple[str, ...]] = ("kokoro_onnx", "onnxruntime")
    stack: ClassVar[tuple[Layer, ...]] = (
        Layer("onnxruntime", "onnxruntime"),
        Layer("kokoro-onnx", "kokoro_onnx:Kokoro"),
    )
    distribution: ClassVar[str | None] = "kokoro-onnx"
    Options: ClassVar[type[EngineOptions]] = KokoroOnnxOptions
    neutral_options: ClassVar[frozenset[str]] = frozenset({"threads"})
    parallel: ClassVar[bool] = True
    capabilities: ClassVar[frozenset[str]] = frozenset({"threads", "word_timings", "phonemes"})
    phoneme_alphabet: ClassVar[str | None] = "ipa"
    chars_per_second: ClassVar[float] = 40.0  # int8 model on 2 cores: bench/kokoro_onnx.py

    def __init__(
        self,
        kokoro: Any,
        session_options: Any,
        style: Float32,
        profile: VoiceProfile,
        language: str,
        backend: Any,
    ) -> None:
        options = profile.options_as(KokoroOnnxOptions)
        self.sample_rate = SAMPLE_RATE
        self.session_options = session_options  # as the session was created with (threads, for tests)
        self.style = style  # (N, 1, 256) float32: one style row per phoneme count
        self.language = language  # eSpeak-NG's name
        self._kokoro = kokoro
        self._backend = backend
        self._trim = options.trim
        self._sentence_gap = profile.sentence_pause

    @classmethod
    def identity(cls, profile: VoiceProfile) -> dict[str, Any]:
        found = find_files(profile)
        if isinstance(found, Problem):
            return super().identity(profile)
        files = {"model": file_identity(found.model), "voices": file_identity(found.voices)}
        if found.vocab is not None:
            files["vocab"] = file_identity(found.vocab)
        styles = [file_identity(path) for path in _style_files(profile) if path.is_file()]
        return {
            **super().identity(profile),
            "files": files,
            "style_files": styles,
            "sample_rate": SAMPLE_RATE,
        }

    @classmethod
    def profile_problem(cls, profile: VoiceProfile) -> Problem | None:
        found = find_files(profile)
        if isinstance(found, Problem):
            return found
        for path in _style_files(profile):
            if not path.is_file():
                return Problem(
                    f"Kokoro style file not found: {path}", "fix the path, or name a voice of the voices file"
                )
        return None

    @classmethod
    def load(cls, profile: VoiceProfile, device: str = "auto") -> KokoroOnnxEngine:
        options = profile.options_as(KokoroOnnxOptions)
        found = find_files(profile)
        if isinstance(found, Problem):
            raise found.error(profile)
        if not 0.5 <= profile.speed <= 2.0:
            raise EngineError(
                f"{profile.where('speed')}: {profile.speed:g} is out of range", "use a speed from 0.5 to 2.0"
            )
        providers = onnx_providers(device, "kokoro-onnx")
        key = ("kokoro-onnx", str(found.model.resolve()), tuple(providers), options.threads)
        session, session_options = shared_model(key, lambda: _load_session(found.model, providers, options))
        kokoro = _kokoro(session, found)
        style = _voice_style(kokoro, profile)
        language = espeak_language(profile.lang)
        return cls(kokoro, session_options, style, profile, language, _backend(language, profile))

    @classmethod
    def phoneme_symbols(cls, profile: VoiceProfile) -> frozenset[str] | None:
        found = find_files(profile)
        if isinstance(found, Problem):
            return None
        try:
            if found.vocab is not None:
                return frozenset(_vocab(found.vocab)["vocab"])
            from importlib import resources

            data = json.loads(
                resources.files("kokoro_onnx").joinpath("config.json").read_text(encoding="utf-8")
            )
            return frozenset(data["vocab"])
        except (OSError, ValueError, KeyError, TypeError, EngineError, ModuleNotFoundError):
            return None

    def phonemize(self, text: str) -> str:
        """The text's phonemes as the model's vocabulary spells them, in one line (spans as given)."""
        said = list(parts(text))
        plain_parts = [part.text for part in said if part.phonemes is None and part.text.strip()]
        with _espeak_lock():
            found = self._backend.phonemize(plain_parts, strip=True, njobs=1) if plain_parts else []
        spoken = iter(found)
        pieces = [
            part.phonemes if part.phonemes is not None else (next(spoken) if part.text.strip() else "")
            for part in said
        ]
        phonemes = "".join(ch for ch in " ".join(pieces) if ch in self._kokoro.tokenizer.vocab)
        return " ".join(phonemes.split())

    def synthesize(self, text: str, settings: Settings = DEFAULT_SETTINGS) -> Iterator[AudioChunk]:
        if not 0.5 <= settings.speed <= 2.0:
            raise EngineError(
                f"kokoro-onnx cannot speak at speed {settings.speed:g}", "use a speed from 0.5 to 2.0"
            )
        phonemes = self.phonemize(text)
        if not any(ch.isalpha() for ch in phonemes):
            yield AudioChunk(samples=np.zeros(0, dtype=np.float32), sample_rate=SAMPLE_RATE, text=text)
            return
        parts: list[Float32] = []
        spans: list[tuple[int, int]] | None = [] if self._kokoro.has_timings else None
        offset = 0
        pieces = split_phonemes(phonemes, PIECE_PHONEMES)
        for index, piece in enumerate(pieces):
            audio, _, timings = self._kokoro.create_timed(
                piece,
                voice=self.style,
                speed=settings.speed,
                lang=self.language,
                is_phonemes=True,
                trim=self._trim,
                sentence_pause=0.0,
                clause_pause=0.0,
            )
            audio = np.asarray(audio, dtype=np.float32).ravel()
            if spans is not None:
                if timings:
                    spans += word_spans(
                        (
                            t.phoneme,
                            offset + round(t.start * SAMPLE_RATE),
                            offset + round(t.end * SAMPLE_RATE),
                        )
                        for t in timings
                    )
                else:
                    spans = None
            parts.append(audio)
            offset += len(audio)
            if index < len(pieces) - 1 and self._trim:
                gap = np.zeros(int(self._gap_after(piece) * SAMPLE_RATE), dtype=np.float32)
                parts.append(gap)
                offset += len(gap)
        samples = np.clip(np.concatenate(parts), -1.0, 1.0).astype(np.float32, copy=False)
        words = match_words(plain(text), spans, SAMPLE_RATE) if spans is not None else None
        yield AudioChunk(samples=samples, sample_rate=SAMPLE_RATE, text=text, words=words)

    def _gap_after(self, piece: str) -> float:
        """The pause between two pieces (trimmed of their own silence), by where the cut fell."""
        mark = piece.rstrip()[-1:]
        if mark in SENTENCE_MARKS:
            return self._sentence_gap
        return CLAUSE_GAP if mark in CLAUSE_MARKS else WORD_GAP


# ---- phonemes -------------------------------------------------------------------------------------


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
            return EspeakBackend(
                language, preserve_punctuation=True, with_stress=True, language_switch="remove-flags"
            )
    except RuntimeError as exc:
        raise EngineError(
            f"{profile.where('lang')}: eSpeak-NG cannot phonemize '{profile.lang}': {exc}",
            "use a language such as en-us, en-gb, fr, es, it, pt-br, hi, ja or zh",
        ) from exc


# ---- loading --------------------------------------------------------------------------------------

_fallback_lock = threading.Lock()


def _load_session(model: Path, providers: Sequence[str], options: KokoroOnnxOptions) -> tuple[Any, Any]:
    """An ONNX Runtime session on the model, with explicit threads; and the options it got."""
    import onnxruntime

    try:
        session = onnxruntime.InferenceSession(
            str(model), sess_options=session_options(options.threads), providers=list(providers)
        )
    except Exception as exc:  # onnxruntime raises its own exception types for corrupt models
        raise EngineError(
            f"Kokoro model {model} cannot be loaded: {exc}",
            f"download it again from {RELEASES}; the file may be truncated",
        ) from exc
    return session, session.get_session_options()


def _kokoro(session: Any, files: ModelFiles) -> Any:
    """kokoro-onnx's Kokoro on a loaded session, with the voices (read lazily) and vocabulary."""
    from kokoro_onnx import Kokoro

    vocab = _vocab(files.vocab) if files.vocab is not None else None
    try:
        return Kokoro.from_session(session, str(files.voices), vocab_config=vocab)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise EngineError(
            f"Kokoro voices file {files.voices} is unreadable: {exc!r}",
            f"download {VOICES_NAME} again from {RELEASES}",
        ) from exc


def _vocab(path: Path) -> dict[str, Any]:
    """A vocab file's content, checked: JSON with a "vocab" table of phoneme -> token id."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        data = exc
    if not (isinstance(data, dict) and isinstance(data.get("vocab"), dict) and data["vocab"]):
        detail = f": {data}" if isinstance(data, Exception) else ""
        raise EngineError(
            f'Kokoro vocab file {path} is unreadable or has no "vocab" table{detail}',
            f"use the config.json of the model's release ({RELEASES}), or remove options.vocab",
        )
    return {"vocab": data["vocab"]}


def _voice_style(kokoro: Any, profile: VoiceProfile) -> Float32:
    """The style array (N, 1, 256) of the profile's voice: a name, a weighted blend, or a .npy file."""
    voice = profile.voice.strip()
    if looks_like_path(voice, STYLE_SUFFIXES) and "," not in voice:
        return _style_file(profile.path(voice), profile)
    known = sorted(str(name) for name in kokoro.get_voices())

    def load(name: str) -> Float32:
        if looks_like_path(name, STYLE_SUFFIXES):
            return _style_file(profile.path(name), profile)
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            more = ", ..." if len(known) > 12 else ""
            raise EngineError(
                f"{profile.where('voice')}: unknown Kokoro voice '{name}'",
                f"{hint}known voices: {', '.join(known[:12])}{more}",
            )
        return _style_shape(np.asarray(kokoro.get_voice_style(name), dtype=np.float32), name, profile)

    def mix(weighted: list[tuple[Float32, float]]) -> Float32:
        shapes = {style.shape for style, _ in weighted}
        if len(shapes) > 1:
            raise EngineError(
                f"{profile.where('voice')}: the voices of the blend have different shapes {sorted(shapes)}",
                "blend voices of the same voices file",
            )
        mixed = np.zeros_like(weighted[0][0])
        for style, weight in weighted:
            mixed += style * np.float32(weight)
        return mixed

    return blend(parse_blend(voice), load, mix)


def _style_file(path: Path, profile: VoiceProfile) -> Float32:
    try:
        style = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise EngineError(
            f"{profile.where('voice')}: Kokoro style file {path} is unreadable: {exc}",
            "give a .npy file of a voice's style array, shape (510, 1, 256)",
        ) from exc
    return _style_shape(np.asarray(style, dtype=np.float32), str(path), profile)


def _style_shape(style: Float32, name: str, profile: VoiceProfile) -> Float32:
    """Style arrays as kokoro-onnx wants them: (N, 1, 256); (N, 256) is accepted too."""
    if style.ndim == 2:
        style = style[:, None, :]
    if style.ndim != 3 or style.shape[1] != 1 or style.shape[2] != 256 or not len(style):
        raise EngineError(
            f"{profile.where('voice')}: {name} is not a Kokoro style array (shape {style.shape})",
            "a voice's style array has shape (510, 1, 256)",
        )
    return style
