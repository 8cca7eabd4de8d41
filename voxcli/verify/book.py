"""``voxcli check``: listen to a converted book (its sentence cache) or to any recording of a text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from voxcli.arrays import Float32
from voxcli.asr import DEFAULT, load_recognizer
from voxcli.engines.base import VoiceProfile
from voxcli.errors import UsageError
from voxcli.verify.listen import Sentence, check_recording, check_sentences
from voxcli.verify.score import SentenceCheck

if TYPE_CHECKING:
    from voxcli.convert.cache import AudioCache
    from voxcli.convert.record import PlannedChapter

STATE_DIR = ".voxcli"  # as convert writes it


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


Progress = Callable[[str, int, int], None]  # (chapter title, sentences done, of how many)


def check_folder(
    outdir: Path,
    *,
    recognizer: str = DEFAULT,
    chapters: list[int] | None = None,
    progress: Progress | None = None,
) -> BookCheck:
    """Every sentence of the chapters ``convert`` made in ``outdir`` (all, or those numbered ``chapters``)."""
    from voxcli.convert.cache import AudioCache
    from voxcli.convert.record import read_plan_record

    record = read_plan_record(outdir / STATE_DIR)
    if record is None:
        raise UsageError(
            f"{outdir}: no conversion by this voxcli found there",
            "run 'voxcli convert BOOK -o FOLDER' first, or check a recording with --audio FILE --text FILE",
        )
    cache = AudioCache(outdir / STATE_DIR / "cache")
    wanted = [c for c in record.chapters if chapters is None or c.index in chapters]
    if chapters is not None and not wanted:
        known = ", ".join(str(c.index) for c in record.chapters)
        raise UsageError(f"{outdir}: none of chapters {chapters} was converted", f"converted: {known}")
    results = [_check_chapter(chapter, cache, record.lang, recognizer, progress) for chapter in wanted]
    keys = {(c.index, i): s.key for c in wanted for i, s in enumerate(c.sentences)}

    def clip(check: SentenceCheck) -> tuple[Float32, int] | None:
        key = keys.get((check.chapter, check.index))
        entry = cache.get(key) if key is not None else None
        return (entry.samples.astype(np.float32) / 32768.0, entry.sample_rate) if entry is not None else None

    return BookCheck(recognizer, record.lang, results, clip)


def _check_chapter(
    chapter: PlannedChapter, cache: AudioCache, lang: str, recognizer: str, progress: Progress | None
) -> ChapterCheck:
    sentences = [Sentence(s.text, s.speech) for s in chapter.sentences]
    listener = load_recognizer(recognizer, lang, [s.speech for s in sentences])
    missing: set[int] = set()

    def audio(index: int) -> tuple[Float32, int]:
        entry = cache.get(chapter.sentences[index].key)
        if entry is None:
            missing.add(index)
            return np.zeros(1600, dtype=np.float32), 16000
        return entry.samples.astype(np.float32) / 32768.0, entry.sample_rate

    def done(count: int) -> None:
        if progress is not None:
            progress(chapter.title, count, len(sentences))

    try:
        checks = check_sentences(chapter.index, sentences, audio, listener, done)
    finally:
        listener.close()
    lost = ["its audio is not in the cache (run convert again)"]
    checks = [replace(c, flagged=True, reasons=lost) if c.index in missing else c for c in checks]
    return ChapterCheck(chapter.index, chapter.title, checks)


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
