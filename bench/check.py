"""Cost of proof by listening: `.venv/bin/python bench/check.py [--chapters 10,11]`.

Speaks chapters of Children's Literature (../shared/corpus) with the built-in Piper voice, then measures
on this machine:
- recognition's real-time factor (seconds of work per second of audio) for `voxcli check`'s
  per-sentence listening (PocketSphinx with the chapter's language model), and for a whole recording;
- the word error rate of Piper's speech under PocketSphinx's general English model and under the
  chapter's model, sentence by sentence (as `check OUTDIR` hears the cache) and as one recording (as
  `check --audio` hears a chapter file), and how many clean sentences are flagged.
Target: recognition under 0.25 of real time on 2 cores, so `convert --verify` costs less than Piper
itself (about 0.08). Prints a Markdown table and writes bench/results-check.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [str(REPO), *(p for p in sys.path if Path(p or ".").resolve() != REPO / "bench")]
CORPUS = Path(os.environ.get("VOXCLI_CORPUS", REPO.parent / "shared" / "corpus"))
BOOK = CORPUS / "epub" / "childrens-literature.epub"
TARGET_RTF = 0.25


def main() -> None:
    import pocketsphinx

    from voxcli.asr import load_recognizer
    from voxcli.asr.sphinx import _resample
    from voxcli.asr.words import words
    from voxcli.convert.plan import spoken_text
    from voxcli.engines import load_engine, speak
    from voxcli.engines.base import VoiceProfile
    from voxcli.engines.piper import PiperOptions
    from voxcli.ingest import read_book
    from voxcli.text.pieces import speech_pieces
    from voxcli.verify.listen import Sentence, check_recording, check_sentences
    from voxcli.verify.score import compare

    parser = argparse.ArgumentParser()
    parser.add_argument("--chapters", default="10,11")
    args = parser.parse_args()
    joe = VoiceProfile(name="joe", engine="piper", voice="en_US-joe-medium", options=PiperOptions())
    engine = load_engine(joe)
    book = read_book(str(BOOK))
    general = pocketsphinx.Decoder(samprate=16000, loglevel="FATAL")
    results: dict[str, object] = {}
    rows = []
    for number in (int(n) for n in args.chapters.split(",")):
        pieces = speech_pieces(spoken_text(book.chapters[number - 1]), joe, engine.max_chars)
        audio = [speak(engine, p.speech) for p in pieces]
        seconds = sum(a.duration for a in audio)
        sentences = [Sentence(p.shown, p.speech) for p in pieces]
        listener = load_recognizer("pocketsphinx", joe.lang, [p.speech for p in pieces])
        began = time.perf_counter()

        def take(index: int, audio: list = audio) -> tuple[np.ndarray, int]:  # type: ignore[type-arg]
            return audio[index].samples, audio[index].sample_rate

        checks = check_sentences(number, sentences, take, listener)
        per_sentence = time.perf_counter() - began
        gap = np.zeros(int(0.4 * engine.sample_rate), dtype=np.float32)
        whole = np.concatenate([x for a in audio for x in (a.samples, gap)])
        began = time.perf_counter()
        heard_whole = check_recording(sentences, whole, engine.sample_rate, listener)
        recording = time.perf_counter() - began
        listener.close()
        errors = expected = 0
        for piece, spoken in zip(pieces, audio, strict=True):
            general.start_utt()
            general.process_raw(_resample(spoken.samples, spoken.sample_rate).tobytes(), full_utt=True)
            general.end_utt()
            hyp = general.hyp()
            heard = words(hyp.hypstr) if hyp else []
            c = compare(words(piece.speech), heard)
            errors, expected = errors + c.errors, expected + len(c.expected)
        biased_errors = sum(c.comparison.errors for c in checks)
        biased_words = sum(len(c.comparison.expected) for c in checks)
        whole_errors = sum(c.comparison.errors for c in heard_whole)
        whole_words = sum(len(c.comparison.expected) for c in heard_whole)
        row = {
            "chapter": number,
            "sentences": len(pieces),
            "audio_seconds": round(seconds, 1),
            "rtf_per_sentence": round(per_sentence / seconds, 3),
            "rtf_recording": round(recording / seconds, 3),
            "wer_general_model": round(errors / max(expected, 1), 3),
            "wer_chapter_model": round(biased_errors / max(biased_words, 1), 3),
            "wer_chapter_model_recording": round(whole_errors / max(whole_words, 1), 3),
            "clean_flagged": sum(c.flagged for c in checks),
        }
        rows.append(row)
    results["chapters"] = rows
    results["cores"] = os.cpu_count()
    columns = "chapter | sentences | audio s | RTF per sentence | RTF recording | WER general | WER chapter"
    print(f"| {columns} | WER chapter, one recording | flagged |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['chapter']} | {r['sentences']} | {r['audio_seconds']} | {r['rtf_per_sentence']} | "
            f"{r['rtf_recording']} | {r['wer_general_model']:.1%} | {r['wer_chapter_model']:.1%} | "
            f"{r['wer_chapter_model_recording']:.1%} | {r['clean_flagged']} |"
        )
    worst = max(float(str(r["rtf_per_sentence"])) for r in rows)
    print(f"target: recognition under {TARGET_RTF} of real time: {'met' if worst < TARGET_RTF else 'MISSED'}")
    (REPO / "bench" / "results-check.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
