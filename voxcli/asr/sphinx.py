"""PocketSphinx: a small offline recogniser whose wheel ships US English (acoustic model, dictionary)."""

from __future__ import annotations

import importlib.util
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from voxcli.arrays import Float32
from voxcli.asr.audio import RATE, to_16k
from voxcli.asr.base import Heard, Recognizer
from voxcli.asr.lm import write_arpa
from voxcli.asr.words import words
from voxcli.engines.base import Problem, WordTiming, shared_model
from voxcli.errors import EngineError

FRAMES_PER_SECOND = 100
_FILLERS = re.compile(r"^(<s>|</s>|<sil>|\[.*\]|\+\+.*\+\+)$")


def _dictionary(path: str) -> dict[str, list[str]]:
    """Every word the pronunciation dictionary knows -> its lines (``read`` and ``read(2)`` together)."""
    lines: dict[str, list[str]] = {}
    with Path(path).open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                word = re.sub(r"\(\d+\)$", "", line.split(maxsplit=1)[0])
                lines.setdefault(word, []).append(line if line.endswith("\n") else line + "\n")
    return lines


def _pronounce(wanted: set[str]) -> dict[str, list[str]]:
    """Dictionary lines for the words the dictionary lacks that eSpeak-NG can pronounce."""
    from voxcli.asr.g2p import pronounce

    found: dict[str, list[str]] = {}
    for word in sorted(wanted):
        phones = pronounce(word) if word.replace("'", "").isalpha() and word.isascii() else None
        if phones is not None:
            found[word] = [f"{word} {phones}\n"]
    return found


def _write_dictionary(lines: dict[str, list[str]], wanted: Iterable[str], path: Path) -> None:
    """The pronunciations of just the ``wanted`` words: a decoder given the whole dictionary (134,000
    words) takes about 12 s to start; given a chapter's words, a hundredth of a second."""
    with path.open("w", encoding="utf-8") as out:
        for word in sorted(set(wanted)):
            out.writelines(lines.get(word, ()))


class SphinxRecognizer(Recognizer):
    name: ClassVar[str] = "pocketsphinx"
    description: ClassVar[str] = "PocketSphinx (offline, US English model in the wheel)"
    install_hint: ClassVar[str] = "pip install pocketsphinx"
    languages: ClassVar[frozenset[str]] = frozenset({"en"})

    def __init__(
        self,
        decoder: Any,
        known: dict[str, list[str]],
        folder: tempfile.TemporaryDirectory[str],
        chapter: set[str],
    ) -> None:
        self._decoder = decoder
        self._known = known  # the pronunciation dictionary, shared by every instance: never changed
        self._extra: dict[str, list[str]] = {}  # this text's words it lacks, pronounced by eSpeak-NG
        self._folder: tempfile.TemporaryDirectory[str] | None = folder
        self._chapter = chapter  # the words in the decoders' dictionaries
        self._aligner: Any = None  # a second decoder, for forced alignment (made on first use)

    @classmethod
    def problem(cls, lang: str) -> Problem | None:
        if importlib.util.find_spec("pocketsphinx") is None:
            return Problem("pocketsphinx is not installed", cls.install_hint)
        return super().problem(lang)

    @classmethod
    def load(cls, lang: str, vocabulary: Sequence[str]) -> SphinxRecognizer:
        problem = cls.problem(lang)
        if problem is not None:
            raise problem.error()
        import pocketsphinx

        dictionary_path = pocketsphinx.get_model_path("en-us/cmudict-en-us.dict")
        known = shared_model(("pocketsphinx-dict", dictionary_path), lambda: _dictionary(dictionary_path))
        extra = _pronounce({w for text in vocabulary for w in words(text)} - known.keys())
        lines = {**extra, **known} if extra else known
        sentences = [[w for w in words(text) if w in lines] for text in vocabulary]
        chapter = {w for sentence in sentences for w in sentence}
        folder = tempfile.TemporaryDirectory(prefix="voxcli-asr-")
        model = Path(folder.name) / "expected.arpa"
        write_arpa((s for s in sentences if s), model)
        _write_dictionary(lines, chapter, Path(folder.name) / "expected.dict")
        try:
            decoder = pocketsphinx.Decoder(
                hmm=pocketsphinx.get_model_path("en-us/en-us"),
                dict=str(Path(folder.name) / "expected.dict"),
                lm=str(model),
                samprate=RATE,
                loglevel="FATAL",
            )
        except Exception as exc:  # pocketsphinx raises RuntimeError for every bad model file
            folder.cleanup()
            raise EngineError(
                f"pocketsphinx cannot start: {exc}", "pip install --force-reinstall pocketsphinx"
            ) from exc
        recognizer = cls(decoder, known, folder, chapter)
        recognizer._extra = extra
        return recognizer

    def known(self, word: str) -> bool:
        return word in self._known or word in self._extra

    def _pronunciation(self, word: str) -> str:
        line = (self._known.get(word) or self._extra[word])[0]
        return line.split(maxsplit=1)[1].strip()

    def align(self, samples: Float32, rate: int, expected: Sequence[str]) -> list[WordTiming] | None:
        if not expected:
            return None
        for word in set(expected) - self._known.keys() - self._extra.keys():  # another text's words
            pronounced = _pronounce({word})
            if not pronounced:
                return None
            self._extra.update(pronounced)
        if self._aligner is None and self._folder is not None:
            import pocketsphinx

            self._aligner = pocketsphinx.Decoder(
                hmm=pocketsphinx.get_model_path("en-us/en-us"),
                dict=str(Path(self._folder.name) / "expected.dict"),
                samprate=RATE,
                loglevel="FATAL",
            )
        aligner = self._aligner
        if aligner is None:
            return None
        for word in set(expected) - self._chapter:  # words of another text: their pronunciations now
            aligner.add_word(word, self._pronunciation(word), update=True)
            self._chapter.add(word)
        aligner.set_align_text(" ".join(expected))
        aligner.start_utt()
        aligner.process_raw(_resample(samples, rate).tobytes(), full_utt=True)
        aligner.end_utt()
        if aligner.hyp() is None:
            return None
        found = self._words(aligner.seg())
        return found if [w.word for w in found] == list(expected) else None

    @staticmethod
    def _words(segments: Any) -> list[WordTiming]:
        heard = []
        for segment in segments:
            word = re.sub(r"\(\d+\)$", "", segment.word)
            if _FILLERS.match(word):
                continue
            start = segment.start_frame / FRAMES_PER_SECOND
            end = (segment.end_frame + 1) / FRAMES_PER_SECOND
            heard.append(WordTiming(word.lower(), start, end))
        return heard

    def recognize(self, samples: Float32, rate: int) -> Heard:
        pcm = _resample(samples, rate)
        decoder = self._decoder
        decoder.start_utt()
        decoder.process_raw(pcm.tobytes(), full_utt=True)
        decoder.end_utt()
        if decoder.hyp() is None:
            return Heard([])
        return Heard(self._words(decoder.seg()))

    def close(self) -> None:
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None


def _resample(samples: Float32, rate: int) -> Any:
    """16 kHz 16-bit PCM, as the acoustic model was trained on."""
    return (to_16k(samples, rate) * 32767).astype(np.int16)
