"""Markdown books, parsed with markdown-it-py (CommonMark plus tables).

Chapters start at the top heading level actually used (or ``split_level``). When that level has a
single heading that opens the document, it is the document's title and chapters start one level
further down. Links keep their text, images and HTML comments go, code is skipped unless asked
for, and list items and table rows become sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree, html
from markdown_it import MarkdownIt
from markdown_it.token import Token

from voxcli.book import Book, in_language, number_chapters, same_language
from voxcli.errors import BookError
from voxcli.ingest import ReadOptions
from voxcli.ingest.textutil import clean_inline, decode_text, normalise_newlines
from voxcli.ingest.xhtml import element_text

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FIELD = re.compile(r"^(title|author|authors|lang|language)\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_SENTENCE_END = ".!?:;…。！？"


@dataclass
class _Heading:
    level: int
    text: str
    index: int  # position in the paragraph list


def read_markdown_bytes(
    data: bytes, label: str, fallback_title: str, options: ReadOptions | None = None
) -> Book:
    """Read a Markdown book from its bytes."""
    options = options or ReadOptions()
    text, _ = decode_text(data)
    text = normalise_newlines(text)
    fields, text = _front_matter(text)
    paragraphs, headings = _blocks(text, options.include_code, fields.get("language", ""))
    title = fields.get("title", "")
    level = options.split_level
    if level is None:
        levels = sorted({h.level for h in headings})
        level = levels[0] if levels else 1
        top = [h for h in headings if h.level == level]
        if len(top) == 1 and top[0].index == 0 and len(levels) > 1:
            title = title or top[0].text
            level = levels[1]
    starts = {h.index: h.text for h in headings if h.level <= level}
    raw: list[tuple[str, list[str]]] = []
    for i, paragraph in enumerate(paragraphs):
        if i in starts or not raw:
            raw.append((starts.get(i) or title or fallback_title, []))
        raw[-1][1].append(paragraph)
    chapters = number_chapters(raw)
    if not chapters:
        raise BookError(f"{label}: the document holds no readable text", "check that it is the right file")
    year = re.search(r"\b(1[0-9]{3}|20[0-9]{2})\b", fields.get("year", "") or fields.get("date", ""))
    return Book(
        title=title or fallback_title,
        author=fields.get("author", ""),
        language=fields.get("language", ""),
        year=year.group(1) if year else "",
        chapters=chapters,
        tags=True,
    )


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    """YAML front matter's title, author and language (simple ``key: value`` lines)."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    fields: dict[str, str] = {}
    for key, value in _FIELD.findall(match.group(1)):
        key = {"authors": "author", "lang": "language"}.get(key.lower(), key.lower())
        fields.setdefault(key, clean_inline(value.strip("'\"")))
    return fields, text[match.end() :]


def _blocks(text: str, include_code: bool, lang: str = "") -> tuple[list[str], list[_Heading]]:
    """Paragraphs in reading order, and where the headings are among them; text that inline or block
    HTML marks as another language than ``lang`` (``<span lang="fr">``) is marked as a passage."""
    tokens = MarkdownIt("commonmark").enable("table").enable("strikethrough").parse(text)
    paragraphs: list[str] = []
    headings: list[_Heading] = []
    list_depth = 0
    row: list[str] = []
    header: list[str] = []
    in_head = False
    for i, tok in enumerate(tokens):
        kind = tok.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif kind == "thead_open":
            in_head = True
        elif kind == "thead_close":
            in_head = False
        elif kind == "tr_open":
            row = []
        elif kind in ("th_open", "td_open"):
            row.append(_inline(tokens[i + 1]))
        elif kind == "tr_close":
            if in_head:
                header = row
            else:
                paragraphs.append(_row_sentence(header, row))
        elif kind == "inline" and tokens[i - 1].type in ("paragraph_open", "heading_open"):
            content = _inline(tok, lang)
            if not content:
                continue
            opener = tokens[i - 1]
            if opener.type == "heading_open":
                if opener.level == 0:  # headings inside quotes or lists do not cut chapters
                    headings.append(_Heading(int(opener.tag[1]), content, len(paragraphs)))
            elif list_depth:
                content = _sentence(content)
            paragraphs.append(content)
        elif kind in ("fence", "code_block") and include_code and tok.content.strip():
            paragraphs.append(clean_inline(tok.content))
        elif kind == "html_block":
            paragraphs.extend(_html_text(tok.content, lang))
    return [p for p in paragraphs if p], headings


_OPEN_TAG = re.compile(r"^<([A-Za-z][\w-]*)\b([^>]*)>$")
_CLOSE_TAG = re.compile(r"^</([A-Za-z][\w-]*)\s*>$")
_LANG_ATTR = re.compile(r"""\b(?:xml:)?lang\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")


def _inline(tok: Token, lang: str | None = None) -> str:
    """A paragraph's text; with ``lang`` (the document's language, "" unknown), inline HTML's
    ``lang`` attributes mark passages in other languages."""
    parts: list[str] = []
    open_tags: list[tuple[str, str]] = []  # (tag, its language or "") of the inline HTML open here
    for child in tok.children or []:
        if child.type in ("text", "code_inline"):
            passage = next((tag_lang for _, tag_lang in reversed(open_tags) if tag_lang), "")
            marked = lang is not None and passage and not same_language(passage, lang or "und")
            parts.append(in_language(child.content, passage) if marked else child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "html_inline":
            _html_tag(child.content.strip(), open_tags)
        # images, inline HTML and link markup are not read; a link's text is a "text" child
    return clean_inline("".join(parts))


def _html_tag(tag: str, open_tags: list[tuple[str, str]]) -> None:
    """Follow the inline HTML elements open at this point (and their lang attributes)."""
    if tag.endswith("/>"):
        return
    if match := _OPEN_TAG.match(tag):
        found = _LANG_ATTR.search(match.group(2))
        value = next((v for v in found.groups() if v is not None), "") if found else ""
        open_tags.append((match.group(1).lower(), value.strip()))
    elif (match := _CLOSE_TAG.match(tag)) and any(name == match.group(1).lower() for name, _ in open_tags):
        while open_tags and open_tags.pop()[0] != match.group(1).lower():
            pass


def _sentence(text: str) -> str:
    """End a list item or table row with a full stop, so that it is read as a sentence."""
    return text if not text or text[-1] in _SENTENCE_END else text + "."


def _row_sentence(header: list[str], row: list[str]) -> str:
    if len(header) == len(row) and any(header):
        cells = [f"{h}: {c}" if h and c else c for h, c in zip(header, row, strict=True)]
    else:
        cells = row
    return _sentence("; ".join(c for c in cells if c))


def _html_text(source: str, lang: str | None = None) -> list[str]:
    """Text of a raw HTML block (comments and scripts dropped); see :func:`_inline` for ``lang``."""
    if not source.strip() or (source.lstrip().startswith("<!--") and source.rstrip().endswith("-->")):
        return []
    try:
        fragment = html.fragment_fromstring(source, create_parent="div")
    except (etree.ParserError, ValueError):
        return []
    text = element_text(fragment, lang)
    return [text] if text else []
