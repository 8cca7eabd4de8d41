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
