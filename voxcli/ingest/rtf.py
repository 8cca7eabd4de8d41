"""RTF documents, read by a small tokenizer of voxcli's own (linear time, no recursion).

The tokenizer knows control words with their parameters, control symbols, groups, ``\\'hh`` bytes
(decoded with the document's ``\\ansicpg`` code page, or the current font's ``\\fcharset``),
``\\uN`` with the ``\\ucN`` skip count, and ``\\bin``. Destinations that are not text are skipped:
``\\*\\...``, the font, colour and style tables (the style sheet is read for outline levels and
heading names), ``\\info`` (read for the title and author), pictures, objects, headers and footers,
footnotes (out of the flow: counted, with a warning), field instructions (the field result is read)
and bookmarks. ``\\par`` ends a paragraph; ``\\line`` and ``\\tab`` are spaces; table cells
(``\\cell``) and rows (``\\row``) become one sentence per row, cells joined by ", ".

Headings are paragraphs with an outline level (``\\outlinelevelN``, 0 = top), or in a paragraph style
whose style-sheet entry has one or is named "heading N". Chapters start at the top heading level
used; when that level has a single heading that opens the document, it is the document's title and
chapters start one level further down. A heading is also read as its chapter's first paragraph. A
document without headings is one chapter titled from ``\\info``'s title (or the file name): lines
such as "Chapter 1." are not guessed at.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from voxcli.book import Book, number_chapters
from voxcli.errors import BookError
from voxcli.ingest import ReadOptions
from voxcli.ingest.textutil import clean_inline

MiB = 1024 * 1024
MAX_RTF_BYTES = 256 * MiB
MAX_DEPTH = 1000  # group nesting; deeper is refused (no real document nests this far)

_TOKEN = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?[0-9]{1,10})? ?"  # 1, 2: control word and its parameter
    rb"|\\'([0-9a-fA-F]{2})"  # 3: a byte in the code page
    rb"|\\(.)"  # 4: control symbol
    rb"|([{}])"  # 5: group
    rb"|([\r\n]+)"  # 6: line breaks carry no meaning
    rb"|([^\\{}\r\n]+)",  # 7: text
    re.DOTALL,
)
# Destinations whose text is not part of the document.
_SKIP = frozenset(
    {
        "fonttbl",
        "colortbl",
        "pict",
        "object",
        "header",
        "footer",
        "headerl",
        "headerr",
        "headerf",
        "footerl",
        "footerr",
        "footerf",
        "fldinst",
        "bkmkstart",
        "bkmkend",
        "xe",
        "tc",
        "txe",
        "rxe",
        "listtable",
        "listoverridetable",
        "listtext",
        "pntext",
        "pntxta",
        "pntxtb",
        "pnseclvl",
        "rsidtbl",
        "generator",
        "filetbl",
        "revtbl",
        "themedata",
        "colorschememapping",
        "datastore",
        "latentstyles",
        "xmlnstbl",
        "mmathPr",
        "wgrffmtfilter",
        "nonshppict",
        "shp",
        "shpinst",
        "sp",
        "sn",
        "sv",
        "template",
        "userprops",
        "docvar",
        "annotation",
        "atnid",
        "atnauthor",
        "atnref",
        "atntime",
        "atrfstart",
        "atrfend",
        "private",
        "fchars",
        "lchars",
        "ftnsep",
        "ftnsepc",
        "ftncn",
        "aftnsep",
        "aftnsepc",
        "aftncn",
        "pgdsctbl",
        "defchp",
        "defpap",
        "objdata",
        "result",
        "blipuid",
        "passwordhash",
        "protusertbl",
        "author",
        "operator",
        "title",
        "subject",
        "keywords",
        "comment",
        "doccomm",
        "company",
        "manager",
        "category",
        "hlinkbase",
        "creatim",
        "revtim",
        "printim",
        "buptim",
    }
)
_INFO_FIELDS = frozenset({"title", "author"})
_SYMBOLS = {
    "emdash": "\u2014",
    "endash": "\u2013",
    "bullet": "\u2022",
    "lquote": "\u2018",
    "rquote": "\u2019",
    "ldblquote": "\u201c",
    "rdblquote": "\u201d",
    "emspace": " ",
    "enspace": " ",
    "qmspace": " ",
    "line": " ",
    "tab": " ",
    "zwj": "",
    "zwnj": "",
}
_PARAGRAPH_ENDS = frozenset({"par", "sect", "page"})
_CHARSETS = {
    0: "cp1252",
    2: "",  # the Symbol font: its bytes are not text in any code page
    77: "mac_roman",
    128: "cp932",
    129: "cp949",
    130: "johab",
    134: "gbk",
    136: "big5",
    161: "cp1253",
    162: "cp1254",
    163: "cp1258",
    177: "cp1255",
    178: "cp1256",
    186: "cp1257",
    204: "cp1251",
    222: "cp874",
    238: "cp1250",
}
_HEADING_NAME = re.compile(r"^\s*heading\s*([1-9])\s*$", re.IGNORECASE)
_SENTENCE_END = ".!?:;…"


@dataclass
class _State:
    """What a group sets; copied on ``{`` and restored on ``}``."""

    dest: str = ""  # "" = document text, "skip", "stylesheet", "style", "info", "meta:<field>"
    uc: int = 1
    style: int = 0
    outline: int | None = None
    font: int | None = None


@dataclass
class _Paragraph:
    text: str
    style: int
    outline: int | None


@dataclass
class _Style:
    number: int = 0
    outline: int | None = None
    name: list[str] = field(default_factory=list)


class _Parser:
    def __init__(self, data: bytes, label: str) -> None:
        self.data = data
        self.label = label
        self.codepage = "cp1252"
        self.deff: int | None = None
        self.fonts: dict[int, str] = {}  # font number -> code page from its \fcharset
        self.styles: dict[int, _Style] = {}
        self.meta: dict[str, list[str]] = {}
        self.paragraphs: list[_Paragraph] = []
        self.footnotes = 0
        self.pictures = 0
        self._text: list[str] = []  # the paragraph being read
        self._cells: list[str] = []  # the table row being read
        self._bytes = bytearray()  # \'hh and text bytes not yet decoded
        self._bytes_codepage = "cp1252"
        self._skip = 0  # characters still to skip after \uN
        self._style_entry: _Style | None = None  # the style-sheet entry being read

    # -- output --------------------------------------------------------------------------------
    def _target(self, state: _State) -> list[str] | None:
        if state.dest == "":
            return self._text
        if state.dest.startswith("meta:"):
            return self.meta.setdefault(state.dest[5:], [])
        if state.dest == "style":
            entry = self._style_entry
            return entry.name if entry is not None else None
        return None

    def _codepage_of(self, state: _State) -> str:
        font = state.font if state.font is not None else self.deff
        if font is not None and font in self.fonts:
            return self.fonts[font] or self.codepage
        return self.codepage

    def _flush_bytes(self, state: _State) -> None:
        if not self._bytes:
            return
        target = self._target(state)
        if target is not None:
            try:
                target.append(self._bytes.decode(self._bytes_codepage, errors="replace"))
            except LookupError:
                target.append(self._bytes.decode("cp1252", errors="replace"))
        self._bytes.clear()

    def _add_bytes(self, state: _State, chunk: bytes) -> None:
        codepage = self._codepage_of(state)
        if self._bytes and codepage != self._bytes_codepage:
            self._flush_bytes(state)
        self._bytes_codepage = codepage
        self._bytes.extend(chunk)

    def _add_text(self, state: _State, text: str) -> None:
        self._flush_bytes(state)
        target = self._target(state)
        if target is not None:
            target.append(text)

    def _end_paragraph(self, state: _State) -> None:
        self._flush_bytes(state)
        text = _fix_surrogates("".join(self._text))
        self._text.clear()
        cleaned = clean_inline(text)
        if cleaned:
            self.paragraphs.append(_Paragraph(cleaned, state.style, state.outline))

    def _end_cell(self, state: _State) -> None:
        self._flush_bytes(state)
        self._cells.append(clean_inline(_fix_surrogates("".join(self._text))))
        self._text.clear()

    def _end_row(self, state: _State) -> None:
        self._flush_bytes(state)
        if self._text:
            self._end_cell(state)
        row = ""
        for cell in (c for c in self._cells if c):
            row = cell if not row else (f"{row} {cell}" if row[-1] in _SENTENCE_END else f"{row}, {cell}")
        self._cells.clear()
        if row:
            self.paragraphs.append(
                _Paragraph(row if row[-1] in _SENTENCE_END else row + ".", state.style, None)
            )

    # -- the token loop --------------------------------------------------------------------------
    def parse(self) -> None:
        data = self.data
        stack: list[_State] = []
        state = _State()
        group_start = False  # the previous token was "{": the next word may name a destination
        ignorable = False  # "\*" seen at the start of this group
        pos = 0
        end = len(data)
        match = _TOKEN.match
        while pos < end:
            m = match(data, pos)
            if m is None:  # a lone backslash at the very end
                break
            pos = m.end()
            word, param, hexbyte, symbol, brace, newline, text = m.groups()
            if newline is not None:
                continue
            if brace is not None:
                if brace == b"{":
                    self._flush_bytes(state)
                    stack.append(state)
                    if len(stack) > MAX_DEPTH:
                        raise BookError(
                            f"{self.label}: RTF groups nest more than {MAX_DEPTH} deep; "
                            "refusing to read this file (damaged or hostile)"
                        )
                    state = replace(state)
                    if state.dest == "stylesheet":
                        state.dest = "style"
                        self._style_entry = _Style()
                    group_start, ignorable = True, False
                    self._skip = 0
                    continue
                self._flush_bytes(state)
                if not stack:
                    break  # the document's closing brace; anything after it is not RTF
                if state.dest == "style" and stack[-1].dest == "stylesheet":
                    self._close_style()
                state = stack.pop()
                group_start, ignorable = False, False
                self._skip = 0
                continue
            at_start, group_start = group_start, False
            if text is not None:
                if state.dest in ("skip", "info", "stylesheet"):
                    continue
                if self._skip:
                    cut = min(self._skip, len(text))
                    self._skip -= cut
                    text = text[cut:]
                    if not text:
                        continue
                self._add_bytes(state, text)
                continue
            if hexbyte is not None:
                if self._skip:
                    self._skip -= 1
                    continue
                if state.dest not in ("skip", "info", "stylesheet"):
                    self._add_bytes(state, bytes([int(hexbyte, 16)]))
                continue
            if symbol is not None:
                sym = symbol.decode("latin-1")
                if sym == "*":
                    ignorable = at_start
                    group_start = at_start  # the destination word follows
                    continue
                if self._skip:
                    self._skip -= 1
                    continue
                if state.dest == "skip":
                    continue
                if sym in "\\{}":
                    self._add_text(state, sym)
                elif sym == "~":
                    self._add_text(state, "\u00a0")
                elif sym == "_":
                    self._add_text(state, "\u2011")
                elif sym in "\r\n" and state.dest == "":
                    self._end_paragraph(state)
                continue
            # a control word
            name = word.decode("ascii")
            value = int(param) if param is not None else None
            if name == "bin":
                pos += max(value or 0, 0)  # raw bytes: never text
                continue
            if state.dest == "skip":
                continue
            if at_start and self._destination(name, state, ignorable):
                continue
            if ignorable and at_start:
                state.dest = "skip"
                continue
            if self._skip and name != "u":
                self._skip -= 1
                continue
            self._control(name, value, state)
        self._flush_bytes(state)
        if self._text:
            self._end_paragraph(state)
        if self._cells:
            self._end_row(state)

    def _destination(self, name: str, state: _State, ignorable: bool) -> bool:
        """Handle a control word that opens a group; True when it named a destination."""
        if name == "footnote":
            self.footnotes += 1
            state.dest = "skip"
            return True
        if name in ("pict", "shppict"):
            self.pictures += name == "pict"
            state.dest = "skip"
            return True
        if name == "stylesheet":
            state.dest = "stylesheet"
            return True
        if name == "info":
            state.dest = "info"
            return True
        if state.dest == "info":
            state.dest = f"meta:{name}" if name in _INFO_FIELDS else "skip"
            return True
        if name in _SKIP:
            state.dest = "skip"
            return True
        return name == "fldrslt"  # the field's result is ordinary text

    def _close_style(self) -> None:
        entry = self._style_entry
        if entry is not None:
            name = "".join(entry.name).split(";", 1)[0].strip()
            entry.name = [name]
            self.styles.setdefault(entry.number, entry)
        self._style_entry = None

    def _control(self, name: str, value: int | None, state: _State) -> None:
        if state.dest == "style":
            entry = self._style_entry
            if entry is not None:
                if name == "s":
                    entry.number = value or 0
                elif name == "outlinelevel":
                    entry.outline = value
            return
        if name == "u" and value is not None:
            self._skip = 0
            self._add_text(state, chr(value + 65536 if value < 0 else value))
            self._skip = state.uc
            return
        if name == "uc":
            state.uc = max(value or 0, 0)
            return
        if name == "ansicpg" and value:
            self.codepage = _codepage(value) or self.codepage
            return
        if name == "deff":
            self.deff = value
            return
        if name == "f":
            if state.dest == "skip":
                return
            state.font = value
            return
        if name == "fcharset":
            return
        if name in _PARAGRAPH_ENDS:
            if state.dest == "":
                self._end_paragraph(state)
            return
        if name == "pard":
            state.style, state.outline = 0, None
            return
        if name == "s":
            state.style = value or 0
            return
        if name == "outlinelevel":
            state.outline = value
            return
        if name in ("cell", "nestcell"):
            if state.dest == "":
                self._end_cell(state)
            return
        if name in ("row", "nestrow"):
            if state.dest == "":
                self._end_row(state)
            return
        symbol = _SYMBOLS.get(name)
        if symbol is not None:
            self._add_text(state, symbol)

    def level(self, paragraph: _Paragraph) -> int | None:
        """The outline level of a paragraph (0 = top), None for body text."""
        if paragraph.outline is not None and 0 <= paragraph.outline < 9:
            return paragraph.outline
        style = self.styles.get(paragraph.style)
        if style is None or paragraph.style == 0:
            return None
        if style.outline is not None and 0 <= style.outline < 9:
            return style.outline
        named = _HEADING_NAME.match(style.name[0] if style.name else "")
        return int(named.group(1)) - 1 if named else None


class _FontTable:
    """Reads ``\\fN ... \\fcharsetN`` pairs from the font table's bytes (before the main pass)."""

    _ENTRY = re.compile(rb"\\f([0-9]{1,5})(?:(?!\\f[0-9])[^{}])*?\\fcharset([0-9]{1,3})")

    @classmethod
    def read(cls, data: bytes) -> dict[int, str]:
        start = data.find(b"\\fonttbl")
        if start < 0:
            return {}
        # The font table closes at the first "}}" after it in practice; 1 MiB is far more than any.
        chunk = data[start : start + MiB]
        close = chunk.find(b"}}")
        chunk = chunk[: close + 2] if close >= 0 else chunk
        fonts: dict[int, str] = {}
        for m in cls._ENTRY.finditer(chunk):
            fonts.setdefault(int(m.group(1)), _CHARSETS.get(int(m.group(2)), "cp1252"))
        return fonts


def _codepage(value: int) -> str:
    name = "mac_roman" if value == 10000 else f"cp{value}"
    try:
        codecs.lookup(name)
    except LookupError:
        return ""
    return name


def _fix_surrogates(text: str) -> str:
    """Join UTF-16 surrogate pairs written as two ``\\uN`` escapes; drop lone halves."""
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").replace("\ufffd", "")


def read_rtf(path: Path, options: ReadOptions) -> Book:
    """Read an RTF document into a :class:`Book`."""
    del options  # nothing in ReadOptions applies to RTF
    label = path.name
    size = path.stat().st_size
    if size > MAX_RTF_BYTES:
        raise BookError(
            f"{label}: {size // MiB} MiB is too large for an RTF book (at most {MAX_RTF_BYTES // MiB} MiB)"
        )
    data = path.read_bytes()
    if not data.lstrip()[:5] == b"{\\rtf":
        raise BookError(f"{label}: not an RTF document (it does not start with {{\\rtf)")
    parser = _Parser(data, label)
    parser.fonts = _FontTable.read(data)
    parser.parse()
    title = clean_inline("".join(parser.meta.get("title", []))) or path.stem
    author = clean_inline("".join(parser.meta.get("author", [])))
    warnings: list[str] = []
    if parser.footnotes:
        warnings.append(f"{parser.footnotes} footnotes not read in the flow")

    levels = [parser.level(p) for p in parser.paragraphs]
    used = sorted({lv for lv in levels if lv is not None})
    raw: list[tuple[str, list[str]]] = []
    if used:
        top = used[0]
        tops = [i for i, lv in enumerate(levels) if lv == top]
        if len(tops) == 1 and tops[0] == 0 and len(used) > 1:
            if not parser.meta.get("title"):
                title = parser.paragraphs[0].text
            top = used[1]
        for paragraph, lv in zip(parser.paragraphs, levels, strict=True):
            if lv is not None and lv <= top:
                raw.append((paragraph.text, [paragraph.text]))
            elif raw:
                raw[-1][1].append(paragraph.text)
            else:
                raw.append((title, [paragraph.text]))
    else:
        raw.append((title, [p.text for p in parser.paragraphs]))
    chapters = number_chapters(raw)
    if not chapters:
        raise BookError(f"{label}: the RTF document has no text to read", "check that it is not empty")
    return Book(title=title, author=author, language="", chapters=chapters, warnings=tuple(warnings))
