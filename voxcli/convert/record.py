"""``.voxcli/plan.json``: what each converted chapter's sentences are and where their audio is cached,
so that ``voxcli check OUTDIR`` can listen to a finished book without the book or its voices file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxcli.convert.plan import ChapterPlan
from voxcli.fsutil import atomic_write_bytes, make_dirs

PLAN_FILE = "plan.json"
VERSION = 1


@dataclass(frozen=True)
class PlannedSentence:
    text: str  # as written
    speech: str  # as spoken
    key: str  # its audio in the sentence cache
    kind: str  # "title" or "text"


@dataclass(frozen=True)
class PlannedChapter:
    index: int
    title: str
    sentences: list[PlannedSentence]


@dataclass(frozen=True)
class PlanRecord:
    lang: str  # the voice's language
    voice: str  # the narrator, as the manifest names it
    chapters: list[PlannedChapter]


def write_plan_record(state: Path, plans: list[ChapterPlan], lang: str, voice: str) -> None:
    """Record ``plans``, keeping the chapters an earlier run recorded that this one did not plan."""
    earlier = read_plan_record(state)
    chapters = {c.index: c for c in earlier.chapters} if earlier and earlier.lang == lang else {}
    for plan in plans:
        chapters[plan.index] = PlannedChapter(
            plan.index,
            plan.title,
            [PlannedSentence(s.text, s.speech, s.key, s.kind) for s in plan.segments],
        )
    payload: dict[str, Any] = {
        "version": VERSION,
        "lang": lang,
        "voice": voice,
        "chapters": [
            {
                "index": c.index,
                "title": c.title,
                "sentences": [
                    {"text": s.text, "speech": s.speech, "key": s.key, "kind": s.kind} for s in c.sentences
                ],
            }
            for _, c in sorted(chapters.items())
        ],
    }
    make_dirs(state)
    atomic_write_bytes(state / PLAN_FILE, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def read_plan_record(state: Path) -> PlanRecord | None:
    """The record, or None when there is none or it is not one this voxcli wrote."""
    try:
        data = json.loads((state / PLAN_FILE).read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            return None
        chapters = [
            PlannedChapter(
                int(c["index"]),
                str(c["title"]),
                [
                    PlannedSentence(str(s["text"]), str(s["speech"]), str(s["key"]), str(s["kind"]))
                    for s in c["sentences"]
                ],
            )
            for c in data["chapters"]
        ]
        return PlanRecord(str(data["lang"]), str(data["voice"]), chapters)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
