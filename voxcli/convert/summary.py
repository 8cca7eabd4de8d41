"""What a finished ``convert`` reports: the JSON summary, and the M4B parts it wrote or kept."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxcli.convert.pipeline import ConvertRequest, Summary


def summary_record(summary: Summary, outdir: Path) -> dict[str, Any]:
    """What ``convert --json`` prints: counts, timings (rounded), the worker count and the manifest."""
    return {
        "outdir": str(outdir),
        "chapters_written": summary.chapters,
        "chapters_up_to_date": summary.skipped,
        "sentences_synthesized": summary.synthesized,
        "characters_synthesized": summary.synth_chars,
        "synthesis_seconds": round(summary.synth_seconds, 3),
        "audio_seconds": round(summary.audio_seconds, 3),
        "wall_seconds": round(summary.wall_seconds, 3),
        "chars_per_second": round(summary.chars_per_second, 1),
        "real_time_factor": round(summary.real_time_factor, 4),
        "jobs": summary.jobs,
        "audiobook_written": summary.audiobook_written,
        "products_written": summary.products_written,
        **(
            {
                "verify": {
                    "recognizer": summary.recognizer,
                    "sentences": summary.verified,
                    "flagged": summary.verify_flagged,
                    "repaired": summary.repaired,
                    "still_flagged": summary.still_flagged,
                    "report": str(summary.verify_report) if summary.verify_report else None,
                }
            }
            if summary.verified
            else {}
        ),
        "manifest": summary.manifest,
    }


@dataclass(frozen=True)
class PartOutcome:
    """An M4B file of the audiobook, as the run left it."""

    file: str
    duration: float  # seconds
    chapters: int
    written: bool  # written this run (else it was up to date)


def audiobook_parts(summary: Summary, request: ConvertRequest) -> list[PartOutcome]:
    """The M4B files of a run that made an M4B, written or up to date; none for a run that made none
    (whose manifest may still record an earlier run's M4B)."""
    if request.audiobook is None:
        return []
    audiobook = summary.manifest.get("audiobook", {})
    return [
        PartOutcome(
            file=part["file"],
            duration=part["duration"],
            chapters=len(part["chapters"]),
            written=part["file"] in summary.audiobook_written,
        )
        for part in audiobook.get("parts", [])
    ]


@dataclass(frozen=True)
class ProductOutcome:
    """A read-along EPUB or video file of the run, written or up to date."""

    file: str
    kind: str  # "read-along EPUB", "video"
    duration: float  # seconds
    detail: str  # e.g. "1,234 sentences highlighted"
    written: bool
    warnings: tuple[str, ...] = ()


def product_outcomes(summary: Summary, request: ConvertRequest) -> list[ProductOutcome]:
    """The read-along EPUB and video files a run asked for."""
    outcomes = []
    manifest = summary.manifest
    readalong = manifest.get("readalong")
    if request.readalong is not None and isinstance(readalong, dict):
        level = "words and sentences" if readalong.get("level") == "words" else "sentences"
        detail = f"{readalong['pars']:,} {level} highlighted in {readalong['documents']} document(s)"
        if readalong.get("unmatched"):
            detail += f", {len(readalong['unmatched'])} not found in the text (highlighted at their place)"
        outcomes.append(
            ProductOutcome(
                readalong["file"],
                "read-along EPUB",
                readalong["duration"],
                detail,
                readalong["file"] in summary.products_written,
                tuple(readalong.get("warnings", [])),
            )
        )
    video = manifest.get("video")
    if request.video is not None and isinstance(video, dict):
        subtitles = "burned-in subtitles" if video.get("subtitles") == "burned" else "soft subtitles"
        for part in video.get("parts", []):
            outcomes.append(
                ProductOutcome(
                    part["file"],
                    "video",
                    part["duration"],
                    f"{len(part['chapters'])} chapter(s), {subtitles}",
                    part["file"] in summary.products_written,
                )
            )
    return outcomes
