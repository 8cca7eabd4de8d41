"""The check as one HTML page a person opens: no network, no scripts from elsewhere.

Per chapter: a plot of each sentence's word error rate (and its loudness) over the chapter's time,
flagged sentences in red; then the flagged sentences with their text, what was heard, why, and a
player with the sentence's own audio (embedded as a WAV data URI).
"""

from __future__ import annotations

import base64
import html
import io
from math import gcd

import numpy as np

from voxcli import __version__
from voxcli.arrays import Float32
from voxcli.verify.book import BookCheck, ChapterCheck, Clip
from voxcli.verify.score import SentenceCheck

WIDTH, HEIGHT, MARGIN = 900, 220, 40
CLIP_RATE = 16000  # Hz: players' audio is embedded at this rate (smaller pages, speech stays clear)

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 960px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
.summary { background: #f4f4f4; padding: .6em 1em; border-radius: 6px; }
.ok { color: #176b2c; } .bad { color: #b00020; }
table { border-collapse: collapse; width: 100%; margin: .8em 0; }
td, th { border: 1px solid #ddd; padding: .35em .5em; vertical-align: top; text-align: left; }
th { background: #fafafa; } audio { width: 260px; }
svg { background: #fff; border: 1px solid #ddd; }
"""


def render(result: BookCheck) -> str:
    """The whole page, as text (UTF-8 when written); players where ``result.clip`` gives audio."""
    clip = result.clip
    flagged = len(result.flagged)
    verdict = (
        '<span class="ok">every sentence says its text</span>'
        if not flagged
        else f'<span class="bad">{flagged} sentence(s) flagged</span>'
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>voxcli check</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>voxcli check</h1>",
        f'<p class="summary">{result.sentences} sentences in {len(result.chapters)} chapter(s), heard by '
        f"{html.escape(result.recognizer)} ({html.escape(result.lang)}): {verdict}.</p>",
    ]
    for chapter in result.chapters:
        parts.append(_chapter(chapter, clip))
    parts.append(f"<p><small>voxcli {html.escape(__version__)}</small></p></body></html>")
    return "\n".join(parts)


def _chapter(chapter: ChapterCheck, clip: Clip | None) -> str:
    title = html.escape(chapter.title or f"Chapter {chapter.index}")
    count = f"{len(chapter.flagged)} of {len(chapter.sentences)} flagged"
    out = [
        f'<section class="chapter" data-chapter="{chapter.index}">',
        f"<h2>{title} <small>({count})</small></h2>",
    ]
    out.append(_plot(chapter))
    if chapter.flagged:
        out.append(
            "<table><tr><th>#</th><th>at</th><th>text</th><th>heard</th><th>why</th><th>listen</th></tr>"
        )
        for s in chapter.flagged:
            minutes, seconds = divmod(int(s.start), 60)
            heard = " ".join(s.comparison.heard) or "(nothing)"
            out.append(
                f'<tr class="flagged"><td>{s.index + 1}</td><td>{minutes}:{seconds:02d}</td>'
                f"<td>{html.escape(s.text)}</td><td>{html.escape(heard)}</td>"
                f"<td>{html.escape('; '.join(s.reasons))}</td><td>{_player(s, clip)}</td></tr>"
            )
        out.append("</table>")
    out.append("</section>")
    return "\n".join(out)


def _plot(chapter: ChapterCheck) -> str:
    """Word error rate (dots; red when flagged) and loudness (grey line) over the chapter's time."""
    sentences = chapter.sentences
    end = max((s.start + s.seconds for s in sentences), default=1.0) or 1.0
    inner_w, inner_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN

    def x(seconds: float) -> float:
        return MARGIN + inner_w * min(seconds / end, 1.0)

    def y_wer(rate: float) -> float:
        return MARGIN + inner_h * (1.0 - min(rate, 1.0))

    def y_level(db: float) -> float:  # -60..0 dBFS over the same height
        return MARGIN + inner_h * (1.0 - (min(max(db, -60.0), 0.0) + 60.0) / 60.0)

    items = [
        f'<svg class="plot" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="word error rate per sentence over time">',
        f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" y2="{HEIGHT - MARGIN}" '
        'stroke="#999"/>',
        f'<line x1="{MARGIN}" y1="{MARGIN}" x2="{MARGIN}" y2="{HEIGHT - MARGIN}" stroke="#999"/>',
        f'<text x="{MARGIN}" y="{MARGIN - 8}" font-size="12">word error rate (dots), loudness (line)</text>',
        f'<text x="{MARGIN - 6}" y="{MARGIN + 4}" font-size="11" text-anchor="end">100%</text>',
        f'<text x="{MARGIN - 6}" y="{HEIGHT - MARGIN}" font-size="11" text-anchor="end">0</text>',
        f'<text x="{WIDTH - MARGIN}" y="{HEIGHT - MARGIN + 16}" font-size="11" text-anchor="end">'
        f"{int(end // 60)}:{int(end % 60):02d}</text>",
    ]
    points = " ".join(f"{x(s.start + s.seconds / 2):.1f},{y_level(s.level):.1f}" for s in sentences)
    if points:
        items.append(f'<polyline points="{points}" fill="none" stroke="#bbb" stroke-width="1.5"/>')
    for s in sentences:
        colour = "#b00020" if s.flagged else "#1f6feb"
        radius = 4 if s.flagged else 2.5
        label = html.escape(f"{s.index + 1}: {s.comparison.wer:.0%} {s.text[:80]}")
        items.append(
            f'<circle class="{"flagged" if s.flagged else "sentence"}" cx="{x(s.start + s.seconds / 2):.1f}" '
            f'cy="{y_wer(s.comparison.wer):.1f}" r="{radius}" fill="{colour}"><title>{label}</title></circle>'
        )
    items.append("</svg>")
    return "\n".join(items)


def _player(check: SentenceCheck, clip: Clip | None) -> str:
    audio = clip(check) if clip is not None else None
    if audio is None or len(audio[0]) == 0:
        return "(no audio)"
    return f'<audio controls preload="none" src="data:audio/wav;base64,{_wav(*audio)}"></audio>'


def _wav(samples: Float32, rate: int) -> str:

    import soundfile
    from scipy.signal import resample_poly

    mono = np.asarray(samples, dtype=np.float32).reshape(-1)
    if rate != CLIP_RATE:
        common = gcd(rate, CLIP_RATE)
        mono = resample_poly(mono, CLIP_RATE // common, rate // common).astype(np.float32)
    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(mono, -1.0, 1.0), CLIP_RATE, subtype="PCM_16", format="WAV")
    return base64.b64encode(buffer.getvalue()).decode("ascii")
