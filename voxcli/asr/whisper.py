"""faster-whisper: OpenAI's Whisper on CTranslate2, for the languages PocketSphinx does not hear.

The model is found the way Kokoro's weights are, and never downloaded in the middle of a run:

1. ``$VOXCLI_WHISPER_MODEL`` naming a folder: a converted model (model.bin, config.json,
   tokenizer.json, vocabulary), used as it is;
2. otherwise ``$VOXCLI_WHISPER_MODEL`` is a size ("small" when unset, "large-v3", "turbo", ...) or a
   Hugging Face repository id, looked up in the Hugging Face cache;
3. when the cache does not have it, :meth:`WhisperRecognizer.prepare` downloads it before any work
   starts, unless ``HF_HUB_OFFLINE=1``: then the check stops at once and says how to get the model.

What Whisper writes ("$5", "1851") is turned into spoken words with voxcli's own normaliser, so it
compares with the text voxcli sent the engine ("five dollars", "eighteen fifty-one"). The chapter's
sentences are not given to Whisper as a prompt: it tends to write a prompt out where the audio is
silent, which would hide the very faults the check looks for.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from voxcli.arrays import Float32
from voxcli.asr.audio import RATE, to_16k
from voxcli.asr.base import Heard, Recognizer
from voxcli.asr.words import words
from voxcli.engines.base import Problem, WordTiming, looks_like_path, offline, shared_model
from voxcli.errors import EngineError

log = logging.getLogger(__name__)

MODEL_ENV = "VOXCLI_WHISPER_MODEL"
DEFAULT_MODEL = "small"
MULTILINGUAL_VOCABULARY = 51865  # tokens; the English-only models (*.en) have 51,864
MODEL_FILES = ("config.json", "model.bin", "tokenizer.json", "vocabulary.*", "preprocessor_config.json")
REPOS = {  # the sizes faster-whisper knows, and the converted models they name
    **{
        size: f"Systran/faster-whisper-{size}"
        for size in (
            "tiny",
            "tiny.en",
            "base",
            "base.en",
            "small",
            "small.en",
            "medium",
            "medium.en",
            "large-v1",
            "large-v2",
            "large-v3",
        )
    },
    "large": "Systran/faster-whisper-large-v3",
    "distil-small.en": "Systran/faster-distil-whisper-small.en",
    "distil-medium.en": "Systran/faster-distil-whisper-medium.en",
    "distil-large-v2": "Systran/faster-distil-whisper-large-v2",
    "distil-large-v3": "Systran/faster-distil-whisper-large-v3",
    "large-v3-turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
    "turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
}
# Whisper's language codes (its tokenizer's order), and the tags voxcli profiles use for some of them.
_CODES = (
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur hr bg "
    "lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr pa si km sn yo so "
    "af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt haw ln ha ba jw su yue"
)
LANGUAGES = tuple(_CODES.split())
ALIASES = {"nb": "no", "jv": "jw", "iw": "he", "fil": "tl"}
TEMPERATURES = (0.0, 0.2, 0.4, 0.6)  # Whisper's fallback when a decoding looks like a loop


def whisper_language(lang: str) -> str:
    """The Whisper code of a voxcli language tag: ``pt-br`` -> ``pt``, ``nb`` -> ``no``."""
    primary = lang.lower().replace("_", "-").split("-")[0]
    return ALIASES.get(primary, primary)


def wanted_model() -> str:
    return os.environ.get(MODEL_ENV, "").strip() or DEFAULT_MODEL


def _is_folder(wanted: str) -> bool:
    return looks_like_path(wanted) or Path(wanted).expanduser().is_dir()


def _repo(wanted: str) -> str | None:
    return REPOS.get(wanted) or (wanted if "/" in wanted else None)


def _cached(repo: str) -> Path | None:
    """The model's folder in the Hugging Face cache when every file it needs is there; never downloads."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, "model.bin")
    if not isinstance(found, str):
        return None
    folder = Path(found).parent
    return folder if _complete(folder) else None


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in ("config.json", "model.bin", "tokenizer.json")) and bool(
        list(folder.glob("vocabulary.*"))
    )


def _how_to_get(repo: str) -> str:
    return (
        f"on a machine with internet run `hf download {repo}` (or copy the folder of a converted model) "
        f"and set {MODEL_ENV} to the folder"
    )


def find_model() -> Path | str | Problem:
    """The model's folder; or the repository to download (downloads allowed); or why there is none."""
    wanted = wanted_model()
    if _is_folder(wanted):
        folder = Path(wanted).expanduser()
        if _complete(folder):
            return folder
        return Problem(
            f"no faster-whisper model in {folder} (it needs config.json, model.bin, tokenizer.json and "
            "vocabulary.json)",
            f"set {MODEL_ENV} to the folder of a converted model, e.g. one downloaded with "
            "`hf download Systran/faster-whisper-small`",
        )
    repo = _repo(wanted)
    if repo is None:
        return Problem(
            f"{MODEL_ENV}={wanted}: not a folder, a Whisper size or a Hugging Face repository",
            f"use one of {', '.join(REPOS)}, a repository id (owner/name) or a folder",
        )
    cached = _cached(repo)
    if cached is not None:
        return cached
    if offline():
        return Problem(
            f"the Whisper model {repo} is not in the Hugging Face cache (HF_HUB_OFFLINE=1)", _how_to_get(repo)
        )
    return repo


def multilingual(folder: Path) -> bool:
    """Whether the converted model in ``folder`` hears more than English (its vocabulary's size)."""
    listed = folder / "vocabulary.json"
    if listed.is_file():
        return len(json.loads(listed.read_text(encoding="utf-8"))) >= MULTILINGUAL_VOCABULARY
    text = folder / "vocabulary.txt"
    with text.open(encoding="utf-8", errors="replace") as handle:
        return sum(1 for _ in handle) >= MULTILINGUAL_VOCABULARY


class WhisperRecognizer(Recognizer):
    name: ClassVar[str] = "faster-whisper"
    description: ClassVar[str] = "Whisper on CTranslate2 (a model of your choice; GPU when there is one)"
    install_hint: ClassVar[str] = "pip install faster-whisper"
    languages: ClassVar[frozenset[str]] = frozenset(LANGUAGES)

    def __init__(self, model: Any, lang: str) -> None:
        self._model = model
        self._lang = lang

    @classmethod
    def problem(cls, lang: str) -> Problem | None:
        if importlib.util.find_spec("faster_whisper") is None:
            return Problem("faster-whisper is not installed", cls.install_hint)
        code = whisper_language(lang)
        if code not in cls.languages:
            return Problem(
                f"Whisper does not hear '{lang}'", "use a language it knows, or --asr pocketsphinx"
            )
        found = find_model()
        if isinstance(found, Problem):
            return found
        english_only = not multilingual(found) if isinstance(found, Path) else found.endswith(".en")
        if english_only and code != "en":
            return Problem(
                f"the Whisper model {found} hears only English, not '{lang}'",
                f"set {MODEL_ENV} to a multilingual model (e.g. small)",
            )
        return None

    @classmethod
    def model_note(cls) -> str:
        found = find_model()
        return f"model {found}" if isinstance(found, Path | str) else ""

    @classmethod
    def to_fetch(cls) -> str | None:
        found = find_model()
        return found if isinstance(found, str) else None

    @classmethod
    def prepare(cls, lang: str) -> None:
        """Download the model now, before the run, when it is neither local nor cached."""
        problem = cls.problem(lang)
        if problem is not None:
            raise problem.error()
        found = find_model()
        if not isinstance(found, str):
            return
        from huggingface_hub import snapshot_download

        log.info("downloading the Whisper model %s", found)
        try:
            snapshot_download(found, allow_patterns=list(MODEL_FILES))
        except Exception as exc:  # huggingface_hub raises many kinds for a failed download
            raise EngineError(
                f"cannot download the Whisper model {found}: {exc}", _how_to_get(found)
            ) from None

    @classmethod
    def load(cls, lang: str, vocabulary: Sequence[str]) -> WhisperRecognizer:
        cls.prepare(lang)
        found = find_model()
        if not isinstance(found, Path):  # prepare downloaded it, or raised
            raise EngineError(f"the Whisper model {found} is not at hand", _how_to_get(str(found)))
        device = "cuda" if _cuda() else "cpu"
        model = shared_model(("faster-whisper", str(found), device), lambda: _load(found, device))
        return cls(model, whisper_language(lang))

    def known(self, word: str) -> bool:
        return bool(word)

    def recognize(self, samples: Float32, rate: int) -> Heard:
        audio = to_16k(samples, rate)
        if len(audio) < RATE // 10:
            return Heard([])
        segments, _info = self._model.transcribe(
            audio,
            language=self._lang,
            task="transcribe",
            beam_size=5,
            temperature=list(TEMPERATURES),
            word_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        heard: list[WordTiming] = []
        for segment in segments:  # a generator: decoding happens here
            written = [(w.word, float(w.start), float(w.end)) for w in segment.words or []]
            heard += self._spoken(written)
        return Heard(heard)

    def _spoken(self, written: list[tuple[str, float, float]]) -> list[WordTiming]:
        """A segment's words as Whisper wrote them ("in", "1851.") as the words voxcli would say
        ("in", "eighteen", "fifty", "one"): the whole segment is normalised, for the context that
        makes 1851 a year, and each spoken word takes the time of the written words it stands for."""
        from voxcli.text.normalize import normalize

        raw = [(token, start, end) for text, start, end in written for token in words(text)]
        said = words(normalize(" ".join(text.strip() for text, _, _ in written), self._lang))
        matcher = difflib.SequenceMatcher(None, [token for token, _, _ in raw], said, autojunk=False)
        timed: list[WordTiming] = []
        for tag, a1, a2, b1, b2 in matcher.get_opcodes():
            if tag == "equal":
                timed += [
                    WordTiming(said[b], raw[a][1], raw[a][2])
                    for a, b in zip(range(a1, a2), range(b1, b2), strict=True)
                ]
            elif b2 > b1:  # spoken words for written ones ("5" -> "five dollars"): share their time
                if a2 > a1:
                    start, end = raw[a1][1], raw[a2 - 1][2]
                else:
                    start = end = timed[-1].end if timed else (raw[0][1] if raw else 0.0)
                step = (end - start) / (b2 - b1)
                timed += [
                    WordTiming(said[b], start + k * step, start + (k + 1) * step)
                    for k, b in enumerate(range(b1, b2))
                ]
        return timed

    def align(self, samples: Float32, rate: int, expected: Sequence[str]) -> list[WordTiming] | None:
        """The expected words timed by the words Whisper heard that match them (the others placed
        between their matched neighbours); None when under half of them were heard."""
        if not expected:
            return None
        heard = self.recognize(samples, rate).words
        matcher = difflib.SequenceMatcher(None, list(expected), [w.word for w in heard], autojunk=False)
        times: list[tuple[float, float] | None] = [None] * len(expected)
        for block in matcher.get_matching_blocks():
            for offset in range(block.size):
                found = heard[block.b + offset]
                times[block.a + offset] = (found.start, found.end)
        if sum(t is not None for t in times) * 2 < len(expected):
            return None
        return _fill(list(expected), times, len(samples) / rate)

    def close(self) -> None:
        self._model = None  # the model itself is shared; this instance lets go of it


def _fill(expected: list[str], times: list[tuple[float, float] | None], seconds: float) -> list[WordTiming]:
    """Place each unmatched word evenly in the gap between the matched words around it."""
    timed: list[WordTiming] = []
    index = 0
    while index < len(expected):
        known = times[index]
        if known is not None:
            timed.append(WordTiming(expected[index], *known))
            index += 1
            continue
        gap_end = index
        while gap_end < len(expected) and times[gap_end] is None:
            gap_end += 1
        start = timed[-1].end if timed else 0.0
        after = times[gap_end] if gap_end < len(expected) else None
        end = after[0] if after is not None else seconds
        step = max(end - start, 0.0) / (gap_end - index)
        for position in range(index, gap_end):
            at = start + (position - index) * step
            timed.append(WordTiming(expected[position], at, at + step))
        index = gap_end
    return timed


def _cuda() -> bool:
    try:
        import ctranslate2

        return int(ctranslate2.get_cuda_device_count()) > 0
    except Exception:  # no CUDA build or no driver: the CPU
        return False


def _load(folder: Path, device: str) -> Any:
    try:
        from faster_whisper import WhisperModel

        return WhisperModel(
            str(folder),
            device=device,
            compute_type="auto",
            cpu_threads=os.cpu_count() or 1,
            local_files_only=True,
        )
    except Exception as exc:  # CTranslate2 raises RuntimeError / ValueError for a bad model folder
        raise EngineError(
            f"faster-whisper cannot load the model in {folder}: {exc}",
            f"download it again, or set {MODEL_ENV} to another model",
        ) from exc
