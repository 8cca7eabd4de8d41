"""EPUB 3 Media Overlay documents (SMIL 3): one ``par`` per sentence, or a ``seq`` of word pars."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

SMIL_NS = "http://www.w3.org/ns/SMIL"
OPS_NS = "http://www.idpf.org/2007/ops"


@dataclass(frozen=True)
class Clip:
    """A stretch of a chapter's audio, in samples, and the element it reads."""

    target: str  # the id in the content document
    audio: str  # href of the audio file, relative to the SMIL document
    start: int
    end: int
    rate: int

    @property
    def seconds(self) -> float:
        return (self.end - self.start) / self.rate


@dataclass(frozen=True)
class Sentence:
    """A sentence's clip and, when its words are wrapped, one clip per word."""

    clip: Clip
    words: tuple[Clip, ...] = ()


def clip_value(samples: int, rate: int) -> str:
    """A SMIL timecount in seconds with microsecond precision: ``12.345678s``."""
    whole, rest = divmod(samples * 1_000_000 // rate, 1_000_000)
    return f"{whole}.{rest:06d}s"


def clock_value(milliseconds: int) -> str:
    """A SMIL full clock value, ``h:mm:ss.fff``, for ``media:duration``."""
    seconds, ms = divmod(milliseconds, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{ms:03d}"


def duration_ms(sentences: Sequence[Sentence]) -> int:
    """The overlay's length: the sum of its sentence clips, to the millisecond."""
    return round(sum(s.clip.seconds for s in sentences) * 1000)


def smil_document(text_href: str, sentences: Sequence[Sentence]) -> bytes:
    """The overlay of one content document (``text_href`` relative to the SMIL), in document order."""
    nsmap: Any = {None: SMIL_NS, "epub": OPS_NS}
    root = etree.Element(f"{{{SMIL_NS}}}smil", nsmap=nsmap)
    root.set("version", "3.0")
    body = etree.SubElement(root, f"{{{SMIL_NS}}}body")
    for sentence in sentences:
        if sentence.words:
            seq = etree.SubElement(body, f"{{{SMIL_NS}}}seq")
            seq.set("id", f"seq-{sentence.clip.target}")
            seq.set(f"{{{OPS_NS}}}textref", f"{text_href}#{sentence.clip.target}")
            for word in sentence.words:
                _par(seq, text_href, word)
        else:
            _par(body, text_href, sentence.clip)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data


def _par(parent: etree._Element, text_href: str, clip: Clip) -> None:
    par = etree.SubElement(parent, f"{{{SMIL_NS}}}par")
    par.set("id", f"par-{clip.target}")
    text = etree.SubElement(par, f"{{{SMIL_NS}}}text")
    text.set("src", f"{text_href}#{clip.target}")
    audio = etree.SubElement(par, f"{{{SMIL_NS}}}audio")
    audio.set("src", clip.audio)
    audio.set("clipBegin", clip_value(clip.start, clip.rate))
    audio.set("clipEnd", clip_value(clip.end, clip.rate))
