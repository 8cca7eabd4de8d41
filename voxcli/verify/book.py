"""The result of a check, and ``voxcli check --audio``: any recording of a text, sentence by sentence.

(A folder ``voxcli convert`` made is checked from its cache by :mod:`voxcli.convert.check`.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voxcli.arrays import Float32
from voxcli.asr import DEFAULT, load_recognizer
from voxcli.engines.base import VoiceProfile
from voxcli.errors import UsageError
from voxcli.verify.listen import Sentence, check_recording
from voxcli.verify.score import SentenceCheck


@dataclass(frozen=True)
class ChapterCheck:
    index: int  # the chapter's number in the book (0 for a lone recording)
    title: str
    sentences: list[SentenceCheck]

    @property
    def flagged(self) -> list[SentenceCheck]:
        return [s for s in self.sentences if s.flagged]


Clip = Callable[[SentenceCheck], "tuple[Float32, int] | None"]  # a sentence's audio, when it can be had


@dataclass(frozen=True)
class BookCheck:
    recognizer: str
    lang: str
    chapters: list[ChapterCheck]
    clip: Clip | None = field(default=None, compare=False, repr=False)  # for the HTML report's players

    @property
    def sentences(self) -> int:
        return sum(len(c.sentences) for c in self.chapters)

    @property
    def flagged(self) -> list[SentenceCheck]:
        return [s for c in self.chapters for s in c.flagged]

    def as_record(self) -> dict[str, object]:
        words = [len(s.comparison.expected) for c in self.chapters for s in c.sentences]
        errors = [s.comparison.errors for c in self.chapters for s in c.sentences]
        return {
            "recognizer": self.recognizer,
            "lang": self.lang,
            "sentences": self.sentences,
            "flagged": len(self.flagged),
            "word_error_rate": round(sum(errors) / max(sum(words), 1), 4),
            "chapters": [
                {
                    "index": c.index,
                    "title": c.title,
                    "sentences": len(c.sentences),
                    "flagged": len(c.flagged),
                    "checks": [s.as_record() for s in c.sentences],
                }
                for c in self.chapters
            ],
        }


def check_audio_file(audio: Path, text: str, *, lang: str = "en-us", recognizer: str = DEFAULT) -> BookCheck:
    """A recording of ``text`` (any book file voxcli reads, or plain text), sentence by sentence."""
    from voxcli.text.pieces import speech_pieces

    samples, rate = read_audio(audio)
    profile = VoiceProfile(name="check", engine="", voice="", lang=lang)
    pieces = speech_pieces(text, profile, max_chars=100_000)
    if not pieces:
        raise UsageError("the text has no words to check against", "give the text the recording reads")
    sentences = [Sentence(p.shown, p.speech) for p in pieces]
    listener = load_recognizer(recognizer, lang, [s.speech for s in sentences])
    try:
        checks = check_recording(sentences, samples, rate, listener)
    finally:
        listener.close()

    def clip(check: SentenceCheck) -> tuple[Float32, int] | None:
        start = int(check.start * rate)
        return samples[start : start + int(check.seconds * rate)], rate

    return BookCheck(recognizer, lang, [ChapterCheck(0, audio.name, checks)], clip)


def read_audio(path: Path) -> tuple[Float32, int]:
    """A recording as float32 mono: WAV, FLAC and OGG through libsndfile, anything else through PyAV."""
    import soundfile

    if path.is_dir():
        raise UsageError(f"{path} is a folder, not a recording", "give the audio file to check")
    if not path.is_file():
        raise UsageError(f"recording not found: {path}", "check the path")
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        mono: Float32 = data.mean(axis=1).astype(np.float32)
        return mono, int(rate)
    except (soundfile.LibsndfileError, RuntimeError):
        pass
    try:
        import av

        parts: list[Float32] = []
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            rate = int(stream.rate)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    parts.append(np.asarray(out.to_ndarray(), dtype=np.float32).reshape(-1))
        if not parts:
            raise UsageError(f"{path}: no audio in it", "give a recording")
        return np.concatenate(parts), rate
    except (av.error.FFmpegError, IndexError) as exc:
        raise UsageError(
            f"{path}: not a recording voxcli can read ({exc})", "give WAV, FLAC, OGG, MP3 or M4B"
        ) from exc
