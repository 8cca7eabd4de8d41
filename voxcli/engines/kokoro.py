"""Kokoro-82M in-process on torch: one model per process and device, GPU when there is one.

Weights come from a local folder (the profile's ``model_dir`` or ``$VOXCLI_KOKORO_DIR``), else the
Hugging Face cache, else a download (unless ``HF_HUB_OFFLINE=1``). English phonemes come from
misaki when spaCy's ``en_core_web_sm`` is installed; otherwise from eSpeak-NG, with a warning,
because misaki would try to download the spaCy model in the middle of a batch run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from voxcli.arrays import Float32, Ints
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
    offline,
    shared_model,
)
from voxcli.engines.blend import blend, parse_blend
from voxcli.engines.kokoro_batch import Batcher, Piece
from voxcli.engines.phonemes import MAX_PHONEMES, split_phonemes
from voxcli.engines.stack import Layer
from voxcli.engines.timing import match_words, word_spans
from voxcli.errors import EngineError
from voxcli.text.markup import has_phonemes, parts, plain

log = logging.getLogger(__name__)

REPO_ID = "hexgrad/Kokoro-82M"
MODEL_FILES = {"hexgrad/Kokoro-82M": "kokoro-v1_0.pth", "hexgrad/Kokoro-82M-v1.1-zh": "kokoro-v1_1-zh.pth"}
DIR_ENV = "VOXCLI_KOKORO_DIR"
SAMPLE_RATE = 24000
SAMPLES_PER_FRAME = 600  # one predicted duration unit (hop 300 at 24 kHz, durations counted in pairs)
SPACY_MODEL = "en_core_web_sm"
SPACY_HINT = f"python -m spacy download {SPACY_MODEL}"
LANGS = {  # voices.toml lang -> Kokoro's language code
    "en-us": "a",
    "en": "a",
    "en-gb": "b",
    "es": "e",
    "fr": "f",
    "fr-fr": "f",
    "hi": "h",
    "it": "i",
    "pt-br": "p",
    "pt": "p",
    "ja": "j",
    "zh": "z",
    "zh-cn": "z",
}
ESPEAK_LANGS = {"a": "en-us", "b": "en-gb", "e": "es", "f": "fr-fr", "h": "hi", "i": "it", "p": "pt-br"}
_warned: set[str] = set()


class KokoroOptions(EngineOptions):
    model_dir: str | None = None  # folder with config.json, the .pth model and voices/NAME.pt
    repo_id: str = REPO_ID
    device: Literal["auto", "cuda", "mps", "cpu"] = "auto"
    chunk_phonemes: int = Field(default=250, ge=50, le=MAX_PHONEMES)  # longer chunks sound rushed
    g2p: Literal["auto", "misaki", "espeak"] = "auto"  # auto: misaki when its spaCy model is installed
    # Pieces per forward pass, at most: 0 picks it (a GPU: from its free memory; a CPU: one);
    # 1 is one piece at a time (what KPipeline does). Batching never changes the audio.
    batch: int = Field(default=0, ge=0, le=512)
    # The vocoder adds random noise; with a seed each piece's noise comes from (seed, its phonemes),
    # so the same text always gives the same audio.
    seed: int | None = None
    # fp16 or bf16 autocast on a CUDA GPU (a CPU warns and keeps fp32); bench/gpu.py measures both.
    precision: Literal["fp32", "fp16", "bf16"] = "fp32"


@dataclass(frozen=True)
class Weights:
    config: Path
    model: Path
    folder: Path | None  # where voices/NAME.pt are looked for first


def lang_code(lang: str) -> str:
    code = LANGS.get(lang.lower().replace("_", "-")) or LANGS.get(lang.lower().split("-")[0])
    if code is None:
        raise EngineError(f"Kokoro does not speak '{lang}'", f"use one of {', '.join(sorted(LANGS))}")
    return code


def _local_dirs(profile: VoiceProfile) -> list[Path]:
    options = profile.options_as(KokoroOptions)
    dirs = [profile.path(options.model_dir)] if options.model_dir else []
    if os.environ.get(DIR_ENV):
        dirs.append(Path(os.environ[DIR_ENV]).expanduser())
    return dirs


def _cached(repo_id: str, filename: str) -> Path | None:
    """A file of the Hugging Face cache, never downloading."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, filename)
    return Path(found) if isinstance(found, str) else None


def missing_weights(repo_id: str, dirs: list[Path]) -> Problem:
    where = " or ".join(str(d) for d in dirs) or f"a folder named by ${DIR_ENV}"
    return Problem(
        f"Kokoro weights not found in {where} or the Hugging Face cache",
        f"on a machine with internet, download config.json, {MODEL_FILES.get(repo_id, 'the .pth model')} and "
        f"voices/VOICE.pt from https://huggingface.co/{repo_id} into one folder and set {DIR_ENV} to it "
        "(or the profile's model_dir)",
    )


def find_weights(profile: VoiceProfile) -> Weights | Problem | None:
    """Local weights, or a Problem when they are missing and no download is allowed; None: download."""
    options = profile.options_as(KokoroOptions)
    filename = MODEL_FILES.get(options.repo_id, "kokoro-v1_0.pth")
    dirs = _local_dirs(profile)
    for folder in dirs:
        config = folder / "config.json"
        models = [folder / filename] if (folder / filename).is_file() else sorted(folder.glob("*.pth"))
        if config.is_file() and models:
            return Weights(config, models[0], folder)
    cached_config, cached_model = _cached(options.repo_id, "config.json"), _cached(options.repo_id, filename)
    if cached_config and cached_model:
        return Weights(cached_config, cached_model, None)
    if dirs or offline():
        return missing_weights(options.repo_id, dirs)
    return None


class KokoroEngine(Engine):
    name: ClassVar[str] = "kokoro"
    description: ClassVar[str] = "Kokoro-82M on torch (GPU when available)"
    install_hint: ClassVar[str] = "pip install kokoro torch"
    max_chars: ClassVar[int] = 400
    requires: ClassVar[tuple[str, ...]] = ("kokoro", "torch", "misaki")
    stack: ClassVar[tuple[Layer, ...]] = (
        Layer("torch", "torch"),
        # Not a dependency of kokoro, but transformers 5 imports it (audio_utils) whenever it is installed.
        Layer("torchaudio", "torchaudio", optional=True),
        Layer("misaki", "misaki"),
        Layer("kokoro", "kokoro:KModel"),
    )
    distribution: ClassVar[str | None] = "kokoro"
    Options: ClassVar[type[EngineOptions]] = KokoroOptions
    # batch: the same audio in any batch; precision: like device, it changes rounding, not the voice
    neutral_options: ClassVar[frozenset[str]] = frozenset({"device", "model_dir", "batch", "precision"})
    capabilities: ClassVar[frozenset[str]] = frozenset({"word_timings", "phonemes", "batch"})
    phoneme_alphabet: ClassVar[str | None] = "ipa"
    chars_per_second: ClassVar[float] = 60.0  # CPU; a GPU is far faster

    def __init__(self, model: Any, g2p: Any, pack: Any, profile: VoiceProfile) -> None:
        self._model, self._g2p, self._pack = model, g2p, pack
        options = profile.options_as(KokoroOptions)
        self._chunk = options.chunk_phonemes
        self._seed = options.seed
        precision = options.precision
        if precision != "fp32" and model.device.type != "cuda":
            if f"precision-{profile.name}" not in _warned:
                _warned.add(f"precision-{profile.name}")
                log.warning(
                    "%s: %s runs on a CUDA GPU only; using fp32 on %s",
                    profile.where("options.precision"),
                    precision,
                    model.device.type,
                )
            precision = "fp32"
        self._batcher = Batcher(str(model.device), options.batch, precision)
        self.sample_rate = SAMPLE_RATE
        # Phonemes are made on one thread, ahead of the model: text processing overlaps synthesis
        # (torch releases the GIL), and the G2P libraries are never used from two threads at once.
        self._phonemizer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kokoro-g2p")
        self._ahead: dict[str, Future[str]] = {}

    @property
    def device(self) -> str:
        """Where the model runs: "cuda:0", "cpu", ..."""
        return str(self._model.device)

    def close(self) -> None:
        """Stop the phoneme thread (the model stays loaded for other instances)."""
        self._phonemizer.shutdown(wait=True, cancel_futures=True)
        self._ahead.clear()

    def prefetch(self, texts: Sequence[str]) -> None:
        for text in texts:
            if text not in self._ahead:
                self._ahead[text] = self._phonemizer.submit(self._to_phonemes, text)

    def phonemes(self, text: str) -> str:
        future = self._ahead.pop(text, None) or self._phonemizer.submit(self._to_phonemes, text)
        return future.result()

    def _to_phonemes(self, text: str) -> str:
        """The G2P's phonemes for the text, with phoneme spans (voxcli.text.markup) as given."""
        if not has_phonemes(text):
            return str(self._g2p(text))
        said = [
            part.phonemes if part.phonemes is not None else str(self._g2p(part.text)) for part in parts(text)
        ]
        return " ".join(" ".join(said).split())

    @classmethod
    def from_ipa(cls, ipa: str, profile: VoiceProfile) -> str:
        """English IPA in misaki's symbols, which Kokoro's English voices were trained on (the
        substitutions misaki itself makes of eSpeak-NG's IPA: ``eɪ`` -> ``A``, ``tʃ`` -> ``ʧ``, ...)."""
        try:
            code = lang_code(profile.lang)
        except EngineError:
            return ipa
        if code not in "ab":
            return ipa
        for old, new in MISAKI_IPA:
            ipa = ipa.replace(old, new)
        if code == "b":
            return ipa.replace("eə", "ɛː").replace("iə", "ɪə").replace("əʊ", "Q")
        ipa = ipa.replace("oʊ", "O").replace("ɜːɹ", "ɜɹ").replace("ɜː", "ɜɹ").replace("ɪə", "iə")
        return ipa.replace("ː", "")

    @classmethod
    def phoneme_symbols(cls, profile: VoiceProfile) -> frozenset[str] | None:
        found = find_weights(profile)
        if not isinstance(found, Weights):
            return None
        try:
            vocab = json.loads(found.config.read_text(encoding="utf-8"))["vocab"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return frozenset(vocab) if isinstance(vocab, dict) else None

    @classmethod
    def profile_problem(cls, profile: VoiceProfile) -> Problem | None:
        try:
            code = lang_code(profile.lang)
        except EngineError as exc:
            return Problem(exc.message, exc.fix)
        if code == "j" and importlib.util.find_spec("pyopenjtalk") is None:
            return Problem("Kokoro's Japanese needs misaki[ja]", "pip install 'misaki[ja]'")
        if code == "z" and importlib.util.find_spec("jieba") is None:
            return Problem("Kokoro's Chinese needs misaki[zh]", "pip install 'misaki[zh]'")
        found = find_weights(profile)
        return found if isinstance(found, Problem) else None

    @classmethod
    def identity(cls, profile: VoiceProfile) -> dict[str, Any]:
        found = find_weights(profile)
        extra: dict[str, Any] = {"sample_rate": SAMPLE_RATE}
        if isinstance(found, Weights):
            extra["model"] = file_identity(found.model)
            extra["voices"] = [
                file_identity(path) if path else None for path in _local_voice_files(profile, found)
            ]
        return {**super().identity(profile), **extra}

    @classmethod
    def load(cls, profile: VoiceProfile, device: str = "auto") -> KokoroEngine:
        options = profile.options_as(KokoroOptions)
        chosen = pick_device(device if device != "auto" else options.device)
        weights = _weights_or_download(profile)
        key = ("kokoro", str(weights.model.resolve()), str(weights.config.resolve()), chosen)
        model = shared_model(key, lambda: _load_model(options.repo_id, weights, chosen))
        code = lang_code(profile.lang)
        g2p = shared_model(("kokoro-g2p", code, options.g2p), lambda: _make_g2p(code, options.g2p))
        pack = _voice_pack(profile, weights, chosen)
        return cls(model, g2p, pack, profile)

    def synthesize(self, text: str, settings: Settings = DEFAULT_SETTINGS) -> Iterator[AudioChunk]:
        yield from self.synthesize_batch([text], settings)[0]

    def synthesize_batch(
        self, texts: Sequence[str], settings: Settings = DEFAULT_SETTINGS
    ) -> list[list[AudioChunk]]:
        """Every text's phoneme pieces, spoken in padded batches of similar length (kokoro_batch)."""
        owners: list[int] = []
        chunks: list[str] = []
        pieces: list[Piece] = []
        for index, text in enumerate(texts):
            for chunk in split_phonemes(self.phonemes(text), self._chunk):
                ids = [self._model.vocab[p] for p in chunk if p in self._model.vocab]
                if ids:
                    owners.append(index)
                    chunks.append(chunk)
                    pieces.append(Piece(ids, self._pack[len(ids) - 1], self._piece_seed(chunk)))
        spoken = self._batcher.run(self._model, pieces, settings.speed)
        results: list[list[AudioChunk]] = []
        for index, text in enumerate(texts):
            parts: list[Float32] = []
            spans: list[tuple[int, int]] = []
            offset = 0
            for owner, chunk, (audio, durations) in zip(owners, chunks, spoken, strict=True):
                if owner != index:
                    continue
                timed = timed_phonemes(chunk, self._model.vocab, durations)
                spans += word_spans((p, offset + start, offset + end) for p, start, end in timed)
                parts.append(np.clip(audio, -1.0, 1.0).astype(np.float32))
                offset += len(audio)
            samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
            words = match_words(plain(text), [(s, min(e, offset)) for s, e in spans], SAMPLE_RATE)
            results.append([AudioChunk(samples=samples, sample_rate=SAMPLE_RATE, text=text, words=words)])
        return results

    def _piece_seed(self, chunk: str) -> int | None:
        """The piece's own seed (from the profile's seed and its phonemes), or None."""
        if self._seed is None:
            return None
        digest = hashlib.sha256(f"{self._seed}\0{chunk}".encode()).digest()
        return int.from_bytes(digest[:7], "little")


def pick_device(wanted: str) -> str:
    """auto: cuda, then mps, then cpu; an explicit device that is absent is an error."""
    import torch

    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if wanted == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if (wanted == "cuda" and not cuda) or (wanted == "mps" and not mps):
        raise EngineError(f"Kokoro cannot use {wanted}: torch sees no such device", "use --device cpu")
    return wanted


def _weights_or_download(profile: VoiceProfile) -> Weights:
    found = find_weights(profile)
    if isinstance(found, Weights):
        return found
    options = profile.options_as(KokoroOptions)
    if isinstance(found, Problem):
        raise found.error(profile)
    from huggingface_hub import hf_hub_download

    filename = MODEL_FILES.get(options.repo_id, "kokoro-v1_0.pth")
    try:
        config = Path(hf_hub_download(repo_id=options.repo_id, filename="config.json"))
        model = Path(hf_hub_download(repo_id=options.repo_id, filename=filename))
    except Exception as exc:  # no network, proxy, 404: all mean "the weights are not here"
        problem = missing_weights(options.repo_id, [])
        raise EngineError(
            f"{problem.message}, and downloading failed ({type(exc).__name__})", problem.fix
        ) from exc
    return Weights(config, model, None)


def _load_model(repo_id: str, weights: Weights, device: str) -> Any:
    """Build KModel from local files (no download), move it to the device and warm it up once."""
    import torch
    from kokoro import KModel

    try:
        model = KModel(repo_id=repo_id, config=str(weights.config), model=str(weights.model))
    except Exception as exc:  # a truncated or foreign .pth fails inside torch.load
        raise EngineError(
            f"Kokoro model {weights.model} cannot be loaded: {exc}", "download the model file again"
        ) from exc
    model = model.to(device).eval()
    with torch.inference_mode():
        model("".join(list(model.vocab)[:8]), torch.zeros(1, 256, device=device), 1.0)
    return model


# misaki's substitutions of eSpeak-NG's IPA (misaki.espeak.EspeakFallback.E2M), longest first.
MISAKI_IPA = (
    ("ʔˌn\u0329", "ʔn"),
    ("ʔn\u0329", "ʔn"),
    ("aɪ", "I"),
    ("aʊ", "W"),
    ("dʒ", "ʤ"),
    ("eɪ", "A"),
    ("tʃ", "ʧ"),
    ("ɔɪ", "Y"),
    ("əl", "ᵊl"),
    ("ɚ", "əɹ"),
    ("e", "A"),
    ("r", "ɹ"),
    ("x", "k"),
    ("ç", "k"),
    ("ɐ", "ə"),
    ("ɬ", "l"),
    ("\u0303", ""),
)


def _make_g2p(code: str, mode: str) -> Any:
    """Text -> phoneme string for Kokoro's language code."""
    if code in "ab":
        spacy_ready = importlib.util.find_spec(SPACY_MODEL) is not None
        if mode == "misaki" and not spacy_ready:
            raise EngineError(f"misaki needs the spaCy model {SPACY_MODEL}", SPACY_HINT)
        if mode != "espeak" and spacy_ready:
            from misaki import en, espeak

            british = code == "b"
            fallback = espeak.EspeakFallback(british=british)
            english = en.G2P(trf=False, british=british, fallback=fallback, unk="")
            return lambda text: english(text)[0]
        if mode == "auto" and "spacy" not in _warned:
            _warned.add("spacy")
            log.warning(
                "the spaCy model %s is not installed: Kokoro's English phonemes come from eSpeak-NG "
                "instead (%s)",
                SPACY_MODEL,
                SPACY_HINT,
            )
    if code == "j":
        from misaki import ja

        japanese = ja.JAG2P()
        return lambda text: japanese(text)[0]
    if code == "z":
        from misaki import zh

        chinese = zh.ZHG2P()
        return lambda text: chinese(text)[0]
    from misaki import espeak

    speaker = espeak.EspeakG2P(language=ESPEAK_LANGS[code])
    return lambda text: speaker(text)[0]


def _voice_pack(profile: VoiceProfile, weights: Weights, device: str) -> Any:
    """The style tensor for the profile's voice or weighted blend of voices."""
    import torch

    options = profile.options_as(KokoroOptions)

    def load(name: str) -> Any:
        path = _voice_file(name, profile, weights, options.repo_id)
        return shared_model(
            ("kokoro-voice", str(path)), lambda: torch.load(path, map_location="cpu", weights_only=True)
        )

    def mix(packs: list[tuple[Any, float]]) -> Any:
        return sum(pack * weight for pack, weight in packs)

    # On the model's device once, so that no sentence copies it there again.
    return blend(parse_blend(profile.voice), load, mix).to(device)


def _local_voice_files(profile: VoiceProfile, weights: Weights) -> list[Path | None]:
    """The voice files of the profile's voice (or blend) found on this machine, never downloading;
    None for one that is not here yet (or a blend that does not parse: loading reports it)."""
    options = profile.options_as(KokoroOptions)
    try:
        names = [name for name, _ in parse_blend(profile.voice)]
    except EngineError:
        return []
    found: list[Path | None] = []
    for name in names:
        if looks_like_path(name, (".pt",)):
            path = profile.path(name)
            found.append(path if path.is_file() else None)
            continue
        folders = [*([weights.folder] if weights.folder else []), *_local_dirs(profile)]
        local = [f / "voices" / f"{name}.pt" for f in folders if (f / "voices" / f"{name}.pt").is_file()]
        found.append(local[0] if local else _cached(options.repo_id, f"voices/{name}.pt"))
    return found


def _voice_file(name: str, profile: VoiceProfile, weights: Weights, repo_id: str) -> Path:
    if looks_like_path(name, (".pt",)):
        path = profile.path(name)
        if not path.is_file():
            raise EngineError(
                f"{profile.where('voice')}: Kokoro voice file not found: {path}", "fix the path"
            )
        return path
    for folder in [*([weights.folder] if weights.folder else []), *_local_dirs(profile)]:
        if (folder / "voices" / f"{name}.pt").is_file():
            return folder / "voices" / f"{name}.pt"
    cached = _cached(repo_id, f"voices/{name}.pt")
    if cached:
        return cached
    if not offline() and weights.folder is None:
        from huggingface_hub import hf_hub_download

        try:
            return Path(hf_hub_download(repo_id=repo_id, filename=f"voices/{name}.pt"))
        except Exception as exc:  # unknown voice names are 404s
            raise EngineError(
                f"Kokoro voice '{name}' could not be downloaded ({type(exc).__name__})",
                f"check the name at https://huggingface.co/{repo_id}/tree/main/voices",
            ) from exc
    raise EngineError(
        f"Kokoro voice '{name}' not found",
        f"put {name}.pt in the voices folder of the Kokoro "
        f"weights ({weights.folder or DIR_ENV}), or give the path to a .pt voice file",
    )


def timed_phonemes(phonemes: str, vocab: dict[str, int], durations: Ints) -> list[tuple[str, int, int]]:
    """(phoneme, start, end) in samples, from the model's predicted durations.

    ``durations`` has one entry per model token: the start pad, each phoneme in the vocabulary,
    the end pad; anything else (a mismatch) gives no timings.
    """
    known = [p for p in phonemes if p in vocab]
    if len(durations) != len(known) + 2:
        return []
    timed: list[tuple[str, int, int]] = []
    position = int(durations[0]) * SAMPLES_PER_FRAME
    for phoneme, frames in zip(known, durations[1:-1], strict=True):
        length = int(frames) * SAMPLES_PER_FRAME
        timed.append((phoneme, position, position + length))
        position += length
    return timed
