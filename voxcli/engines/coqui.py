"""Coqui TTS: XTTS v2 with voice cloning from reference recordings, and other Coqui models by name.

XTTS is loaded once per process and device from a local checkpoint (``xtts_files``); the
conditioning latents of a cloned voice are computed once and kept on disk, keyed by the hashes of
its recordings. A guard re-synthesises sentences whose length per character or long silences are
far from the voice's running norm (XTTS sometimes babbles, repeats or goes quiet).

``stream()`` gives a sentence in pieces while XTTS generates it (``Xtts.inference_stream``), for a
server's early first byte; it skips the guard, since audio already sent cannot be retried. On CUDA,
``precision = "fp16"`` runs the GPT under fp16 autocast; the HiFi-GAN decoder always runs in fp32.
"""

from __future__ import annotations

import hashlib
import logging
import statistics
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

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
    offline,
    shared_model,
)
from voxcli.engines.stack import Layer
from voxcli.engines.xtts_files import (
    LICENSE_ENV,
    LICENSE_URL,
    XTTS_MODEL,
    find_xtts,
    license_accepted,
    load_xtts,
)
from voxcli.errors import EngineError

SAMPLE_RATE = 24000
REFERENCE_RATE = 22050  # what XTTS computes its latents from
MAX_REFERENCE_SECONDS = 30
SILENCE_SECONDS = 1.5  # a gap this long inside one sentence is suspicious
NORM_AFTER = 5  # sentences before the running norm is trusted; until then, fixed bounds
SECONDS_PER_CHAR = (0.025, 0.25)  # plausible speech for the first sentences
OUTLIER_RATIO = 2.5

log = logging.getLogger(__name__)
_warned: set[str] = set()
_T = TypeVar("_T")


class CoquiOptions(EngineOptions):
    model_dir: str | None = None  # an xtts_v2 checkpoint folder (else $VOXCLI_XTTS_DIR, Coqui's cache)
    speaker_wav: list[str] | None = None  # reference recordings to clone (3-60 s each)
    speaker: str | None = None  # a built-in XTTS speaker, when no recordings are given
    language: str | None = None  # XTTS language code; default: the profile's lang ("en-us" -> "en")
    temperature: float = Field(default=0.65, gt=0.0, le=1.5)
    seed: int = Field(default=0, ge=0)
    device: Literal["auto", "cuda", "cpu"] = "auto"
    retries: int = Field(default=2, ge=0, le=10)  # re-syntheses of a suspicious sentence
    # XTTS: "fp16" runs the GPT under fp16 autocast on CUDA (faster; HiFi-GAN stays fp32); a CPU ignores it
    precision: Literal["fp32", "fp16"] = "fp32"
    # When a server streams: audio tokens per piece (21.5 a second of audio); fewer, an earlier first byte
    stream_tokens: int = Field(default=20, ge=1, le=600)


class CoquiEngine(Engine):
    name: ClassVar[str] = "coqui"
    description: ClassVar[str] = "Coqui XTTS v2 (voice cloning) and other Coqui TTS models"
    install_hint: ClassVar[str] = "pip install 'coqui-tts[codec]'"
    max_chars: ClassVar[int] = 250  # XTTS's limit for English; it also caps text tokens at 400
    requires: ClassVar[tuple[str, ...]] = ("TTS", "torch", "torchaudio")
    stack: ClassVar[tuple[Layer, ...]] = (
        Layer("torch", "torch"),
        Layer("torchaudio", "torchaudio"),
        Layer("transformers", "transformers", ranged=True),  # 5.24 imports, then XTTS inference fails
        Layer("coqui-tts", "TTS.tts.models.xtts:Xtts"),
    )
    distribution: ClassVar[str | None] = "coqui-tts"
    Options: ClassVar[type[EngineOptions]] = CoquiOptions
    # precision: like device, it changes rounding, not the voice; stream_tokens: streamed audio is not cached
    neutral_options: ClassVar[frozenset[str]] = frozenset(
        {"device", "model_dir", "retries", "precision", "stream_tokens"}
    )
    chars_per_second: ClassVar[float] = 15.0  # CPU; a GPU is many times faster
    capabilities: ClassVar[frozenset[str]] = frozenset({"stochastic", "flags_suspicious"})

    def __init__(
        self,
        model: Any,
        latents: tuple[Any, Any] | None,
        profile: VoiceProfile,
        sample_rate: int = SAMPLE_RATE,
        *,
        half_on: str | None = None,
    ) -> None:
        """``half_on``: the device type ("cuda") whose autocast runs the GPT in fp16, or None for fp32."""
        options = profile.options_as(CoquiOptions)
        self._model, self._latents = model, latents  # no latents: a Coqui model other than XTTS
        self._speaker = options.speaker
        self._speaker_wav = [str(profile.path(sample)) for sample in options.speaker_wav or []]
        self._language = options.language or profile.lang.split("-")[0]
        self._temperature, self._seed, self._retries = options.temperature, options.seed, options.retries
        self._stream_tokens, self._half_on = options.stream_tokens, half_on
        self._norm: list[float] = []  # seconds per character at speed 1 of accepted sentences
        self._suspicious: list[str] = []  # sentences that stayed suspicious after every retry
        self.sample_rate = sample_rate

    @classmethod
    def profile_problem(cls, profile: VoiceProfile) -> Problem | None:
        options = profile.options_as(CoquiOptions)
        if not is_xtts(profile.voice):
            folder = coqui_model_dir(profile.voice)
            if not folder.is_dir() and offline():
                return Problem(f"Coqui model {profile.voice} is not in {folder}", _model_fix(profile.voice))
            return None
        found = find_xtts(profile.path(options.model_dir) if options.model_dir else None)
        if isinstance(found, Problem):
            return found
        if not license_accepted():
            return _license_problem()
        for sample in options.speaker_wav or []:
            if not profile.path(sample).is_file():
                return Problem(
                    f"reference recording not found: {profile.path(sample)}",
                    "fix the path, or add the voice again: voxcli voices add NAME --clone FILE",
                )
        if not options.speaker_wav and not options.speaker:
            return Problem(
                "an XTTS voice needs recordings to clone (speaker_wav) or a built-in speaker",
                "voxcli voices add NAME --clone FILE.wav, or set options.speaker",
            )
        return None

    @classmethod
    def identity(cls, profile: VoiceProfile) -> dict[str, Any]:
        options = profile.options_as(CoquiOptions)
        extra: dict[str, Any] = {
            "model_name": profile.voice or XTTS_MODEL,
            "references": _reference_hashes(profile),
        }
        if not is_xtts(profile.voice):
            config = coqui_model_dir(profile.voice) / "config.json"
            return {
                **super().identity(profile),
                **extra,
                "model": file_identity(config) if config.is_file() else None,
            }
        extra["sample_rate"] = SAMPLE_RATE
        found = find_xtts(profile.path(options.model_dir) if options.model_dir else None)
        if not isinstance(found, Problem):
            extra["model"] = file_identity(found / "model.pth")
        return {**super().identity(profile), **extra}

    @classmethod
    def load(cls, profile: VoiceProfile, device: str = "auto") -> CoquiEngine:
        options = profile.options_as(CoquiOptions)
        problem = cls.profile_problem(profile)
        if problem:
            raise problem.error(profile)
        if not is_xtts(profile.voice):
            chosen = _device(device if device != "auto" else options.device)
            api = shared_model(("coqui-api", profile.voice, chosen), lambda: _load_api(profile.voice, chosen))
            _check_speaker(api, profile)
            return cls(api, None, profile, int(api.synthesizer.output_sample_rate))
        folder = find_xtts(profile.path(options.model_dir) if options.model_dir else None)
        assert isinstance(folder, Path)  # profile_problem said so
        chosen = _device(device if device != "auto" else options.device)
        model = shared_model(("coqui", str(folder.resolve()), chosen), lambda: _load(folder, chosen))
        return cls(model, _latents(model, profile, folder), profile, half_on=_half_on(profile, chosen))

    def synthesize(self, text: str, settings: Settings = DEFAULT_SETTINGS) -> Iterator[AudioChunk]:
        speed = settings.speed
        best: Float32 | None = None
        best_score = float("inf")
        for attempt in range(self._retries + 1):
            audio = self._speak(text, self._seed + attempt, speed)
            score = self._oddness(text, audio, speed)
            if score < best_score:
                best, best_score = audio, score
            if score == 0:
                break
        assert best is not None
        if best_score > 0:
            self._suspicious.append(text)
        else:
            self._norm.append(len(best) / self.sample_rate / max(len(text), 1) * speed)
        yield AudioChunk(samples=best, sample_rate=self.sample_rate, text=text)

    def suspicious(self) -> list[str]:
        return list(self._suspicious)

    def _speak(self, text: str, seed: int, speed: float) -> Float32:
        import torch

        torch.manual_seed(seed)
        if self._latents is None:  # TTS.api: any other Coqui model, its own sentence handling
            wav = self._model.tts(
                text=text, speaker=self._speaker, speaker_wav=self._speaker_wav or None, split_sentences=False
            )
            return np.clip(np.asarray(wav, dtype=np.float32).reshape(-1), -1.0, 1.0)
        gpt_latent, speaker_embedding = self._latents
        parts = []
        for piece in self.pieces(text):
            with torch.inference_mode(), self._precision():
                output = self._model.inference(
                    piece,
                    self._language,
                    gpt_latent,
                    speaker_embedding,
                    temperature=self._temperature,
                    speed=speed,
                    enable_text_splitting=False,
                )
            wav = output["wav"]
            parts.append(wav.detach().cpu().numpy() if hasattr(wav, "detach") else np.asarray(wav))
        samples: Float32 = np.clip(np.concatenate([p.reshape(-1) for p in parts]), -1.0, 1.0)
        return samples.astype(np.float32)

    def stream(self, text: str, settings: Settings = DEFAULT_SETTINGS) -> Iterator[AudioChunk]:
        """Speak ``text`` in pieces as XTTS generates it: one every ``stream_tokens`` audio tokens.

        For a server's early first byte. The same seed as the first try of ``synthesize()``, but no
        guard: a piece already sent cannot be taken back, so a babbled sentence is not retried.
        Other Coqui models cannot stream: their sentence comes whole.
        """
        if self._latents is None:
            yield from self.synthesize(text, settings)
            return
        import torch

        torch.manual_seed(self._seed)
        gpt_latent, speaker_embedding = self._latents
        for piece in self.pieces(text):
            generated = self._model.inference_stream(
                piece,
                self._language,
                gpt_latent,
                speaker_embedding,
                stream_chunk_size=self._stream_tokens,
                temperature=self._temperature,
                speed=settings.speed,
                enable_text_splitting=False,
            )
            for wav in each_within(self._precision, generated):
                samples = np.clip(wav.detach().float().cpu().numpy().reshape(-1), -1.0, 1.0)
                if samples.size:
                    yield AudioChunk(
                        samples=samples.astype(np.float32), sample_rate=self.sample_rate, text=piece
                    )

    def _precision(self) -> AbstractContextManager[Any]:
        """fp16 autocast for the GPT when this voice asked for it on CUDA; otherwise nothing."""
        if self._half_on is None:
            return nullcontext()
        import torch

        return torch.autocast(device_type=self._half_on, dtype=torch.float16)

    def pieces(self, text: str) -> list[str]:
        """The text in halves at spaces until each fits XTTS's text-token limit (400 for xtts_v2)."""
        if self._latents is None:
            return [text]
        limit = int(self._model.args.gpt_max_text_tokens) - 1
        if len(self._model.tokenizer.encode(text.strip().lower(), lang=self._language)) < limit:
            return [text]
        words = text.split()
        if len(words) < 2:
            middle = len(text) // 2
            halves = [text[:middle], text[middle:]]
        else:
            halves = [" ".join(words[: len(words) // 2]), " ".join(words[len(words) // 2 :])]
        return [piece for half in halves for piece in self.pieces(half)]

    def _oddness(self, text: str, audio: Float32, speed: float) -> float:
        """0 for a plausible sentence; otherwise how far its length or silences are from the norm
        (lengths compared as if spoken at speed 1)."""
        per_char = len(audio) / self.sample_rate / max(len(text), 1) * speed
        if len(self._norm) >= NORM_AFTER:
            norm = statistics.median(self._norm)
            ratio = max(per_char / norm, norm / per_char) if per_char > 0 else float("inf")
            length = max(0.0, ratio - OUTLIER_RATIO)
        else:
            low, high = SECONDS_PER_CHAR
            length = 0.0 if low <= per_char <= high else abs(per_char - min(max(per_char, low), high)) / low
        return length + max(0.0, longest_silence(audio, self.sample_rate) - SILENCE_SECONDS)


def is_xtts(voice: str) -> bool:
    return voice in ("", "xtts", "xtts_v2", XTTS_MODEL)


def coqui_model_dir(name: str) -> Path:
    """Where Coqui keeps a model it downloaded: ``tts_models/en/ljspeech/vits`` -> ``…/tts_models--en--…``."""
    from voxcli.engines.xtts_files import coqui_cache

    return coqui_cache() / name.replace("/", "--")


def _model_fix(name: str) -> str:
    return (
        f"on a machine with internet run: tts --model_name {name} --text hi --out_path /tmp/x.wav, then "
        f"copy {coqui_model_dir(name)} to this machine (or set TTS_HOME)"
    )


def _load_api(name: str, device: str) -> Any:
    """Any Coqui model by name, through TTS.api (it downloads into Coqui's cache when missing)."""
    from TTS.api import TTS

    try:
        return TTS(model_name=name, progress_bar=False).to(device)
    except Exception as exc:  # unknown names, no network, a damaged download
        raise EngineError(
            f"Coqui model {name} cannot be loaded: {type(exc).__name__}: {exc}", _model_fix(name)
        ) from exc


def _check_speaker(api: Any, profile: VoiceProfile) -> None:
    options = profile.options_as(CoquiOptions)
    speakers = list(getattr(api, "speakers", None) or [])
    if api.is_multi_speaker and options.speaker not in speakers and not options.speaker_wav:
        raise EngineError(
            f"{profile.where('options.speaker')}: {profile.voice} needs a speaker",
            f"set options.speaker to one of: {', '.join(speakers[:12])}",
        )


def longest_silence(audio: Float32, rate: int = SAMPLE_RATE, threshold: float = 0.01) -> float:
    """Seconds of the longest run of quiet 20 ms frames."""
    frame = rate // 50
    count = len(audio) // frame
    if count == 0:
        return 0.0
    quiet = np.abs(audio[: count * frame].reshape(count, frame)).max(axis=1) < threshold
    best = run = 0
    for flag in quiet:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best * frame / rate


def _license_problem() -> Problem:
    return Problem(
        "XTTS v2 is under the Coqui Public Model License, not accepted yet",
        f"read {LICENSE_URL}, then run: voxcli doctor --accept-coqui-license (or set {LICENSE_ENV}=1)",
    )


def _device(wanted: str) -> str:
    import torch

    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if wanted == "cuda" and not torch.cuda.is_available():
        raise EngineError("XTTS cannot use cuda: torch sees no CUDA device", "use --device cpu")
    return wanted


def _load(folder: Path, device: str) -> Any:
    try:
        model = load_xtts(folder, device)
    except Exception as exc:  # a damaged checkpoint fails anywhere inside torch or TTS
        raise EngineError(
            f"XTTS checkpoint {folder} cannot be loaded: {type(exc).__name__}: {exc}", "download it again"
        ) from exc
    decode_in_fp32(model)
    return model


def _half_on(profile: VoiceProfile, device: str) -> str | None:
    """The device type whose autocast runs this voice's GPT in fp16, or None (fp32).

    Half precision only pays on CUDA: a CPU has no fast fp16 matrix units and runs it slower than fp32,
    so there fp16 is ignored, with one warning per process.
    """
    if profile.options_as(CoquiOptions).precision != "fp16":
        return None
    if device.startswith("cuda"):
        return "cuda"
    if device not in _warned:
        _warned.add(device)
        log.warning(
            "%s: fp16 runs on CUDA only (half precision on %s is slower than fp32); using fp32",
            profile.where("options.precision"),
            device,
        )
    return None


def decode_in_fp32(model: Any) -> None:
    """Make XTTS's HiFi-GAN decoder run in fp32 even when the call around it is under fp16 autocast.

    ``inference`` calls the GPT and the decoder in one go, so autocast cannot be put around the GPT
    alone. It would lower the decoder's convolutions too, and a vocoder's upsampling stack can overflow
    fp16 (NaN, clicks); so the decoder gets fp32 latents and runs with autocast switched off.
    """
    import torch

    decoder = model.hifigan_decoder
    decode = decoder.forward
    device_type = model.device.type

    def fp32_forward(latents: Any, g: Any = None) -> Any:
        with torch.autocast(device_type=device_type, enabled=False):
            return decode(latents.float(), g=None if g is None else g.float())

    decoder.forward = fp32_forward


def each_within(context: Callable[[], AbstractContextManager[Any]], items: Iterator[_T]) -> Iterator[_T]:
    """The items of a generator, each made inside a fresh ``context()``, which is never left open while
    the caller holds an item (a ``with`` around a ``yield`` would leak autocast into the caller's code)."""
    while True:
        with context():
            try:
                item = next(items)
            except StopIteration:
                return
        yield item


def _reference_hashes(profile: VoiceProfile) -> list[str]:
    hashes = []
    for sample in profile.options_as(CoquiOptions).speaker_wav or []:
        path = profile.path(sample)
        hashes.append(hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else str(path))
    return hashes


def _latents(model: Any, profile: VoiceProfile, folder: Path) -> tuple[Any, Any]:
    """(GPT conditioning latent, speaker embedding): a built-in speaker's, or cloned once and cached."""
    import torch

    options = profile.options_as(CoquiOptions)
    if not options.speaker_wav:
        speakers = getattr(getattr(model, "speaker_manager", None), "speakers", None) or {}
        if options.speaker not in speakers:
            raise EngineError(
                f"{profile.where('options.speaker')}: unknown XTTS speaker '{options.speaker}'",
                f"known: {', '.join(sorted(speakers)[:12]) or 'none in this checkpoint'}",
            )
        entry = speakers[options.speaker]
        return entry["gpt_cond_latent"], entry["speaker_embedding"]
    source = repr((_reference_hashes(profile), file_identity(folder / "model.pth")))
    key = hashlib.sha256(source.encode()).hexdigest()
    cache = latents_dir() / f"{key}.pt"
    if cache.is_file():
        try:
            stored = torch.load(cache, map_location=model.device, weights_only=True)
            return stored["gpt_cond_latent"], stored["speaker_embedding"]
        except Exception:  # a damaged cache entry is computed again
            cache.unlink(missing_ok=True)
    latents = compute_latents(model, [profile.path(s) for s in options.speaker_wav])
    from voxcli.fsutil import atomic_path, make_dirs

    make_dirs(cache.parent)
    with atomic_path(cache) as tmp:
        torch.save({"gpt_cond_latent": latents[0], "speaker_embedding": latents[1]}, tmp)
    return latents


def latents_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("voxcli")) / "xtts-latents"


def compute_latents(model: Any, paths: list[Path]) -> tuple[Any, Any]:
    """What ``Xtts.get_conditioning_latents`` computes, from audio read with soundfile (no FFmpeg)."""
    import soundfile
    import torch

    from voxcli.clone import resample

    audios, embeddings = [], []
    for path in paths:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        mono = resample(data.mean(axis=1), rate, REFERENCE_RATE)[: REFERENCE_RATE * MAX_REFERENCE_SECONDS]
        audio = torch.from_numpy(np.clip(mono, -1.0, 1.0)).unsqueeze(0).to(model.device)
        with torch.inference_mode():
            embeddings.append(model.get_speaker_embedding(audio, REFERENCE_RATE))
        audios.append(audio)
    with torch.inference_mode():
        gpt_latent = model.get_gpt_cond_latents(
            torch.cat(audios, dim=-1), REFERENCE_RATE, length=6, chunk_length=6
        )
    return gpt_latent, torch.stack(embeddings).mean(dim=0)
