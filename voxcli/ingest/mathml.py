"""MathML formulas to words a speech engine can read aloud.

A formula's own description (``alttext`` or ``aria-label``) wins. Otherwise English books get a
spoken rendering of the presentation markup, in the order a listener can follow ("the fraction, a
plus b, over, 2, end fraction"); commas mark where a reader would pause. Numbers stay digits and
letters stay letters (the text normaliser spells them later); Greek letters and symbols are named.
Other languages, and markup this module cannot read (content MathML), get the formula's text
content, token by token, as other reading systems would read it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeAlias

from lxml import etree

from voxcli.ingest.textutil import clean_inline

__all__ = ["Source", "math_source", "math_speech", "math_text"]

# Operators (mo) by what they say.
OPERATORS: dict[str, str] = {
    "+": "plus",
    "-": "minus",
    "−": "minus",
    "=": "equals",
    "×": "times",
    "⋅": "times",
    "·": "times",
    "*": "times",
    "∗": "times",
    "÷": "divided by",
    "/": "divided by",
    "±": "plus or minus",
    "∓": "minus or plus",
    "<": "less than",
    ">": "greater than",
    "≤": "less than or equal to",
    "⩽": "less than or equal to",
    "≥": "greater than or equal to",
    "⩾": "greater than or equal to",
    "≠": "not equal to",
    "≈": "approximately equal to",
    "≡": "is identical to",
    "≅": "is congruent to",
    "∼": "is similar to",
    "∝": "is proportional to",
    "≪": "much less than",
    "≫": "much greater than",
    "→": "arrow",
    "←": "left arrow",
    "↔": "left right arrow",
    "↦": "maps to",
    "⇒": "implies",
    "⟹": "implies",
    "⇔": "if and only if",
    "⟺": "if and only if",
    "∈": "is an element of",
    "∉": "is not an element of",
    "∋": "contains",
    "⊂": "is a subset of",
    "⊆": "is a subset of or equal to",
    "⊃": "is a superset of",
    "⊇": "is a superset of or equal to",
    "∪": "union",
    "∩": "intersection",
    "∖": "minus",
    "∀": "for all",
    "∃": "there exists",
    "¬": "not",
    "∧": "and",
    "∨": "or",
    "∘": "composed with",
    "∣": "divides",
    "∥": "is parallel to",
    "⊥": "is perpendicular to",
    "⊕": "direct sum",
    "⊗": "tensor product",
    "∠": "angle",
    "′": "prime",
    "'": "prime",
    "″": "double prime",
    "‴": "triple prime",
    "!": "factorial",
    "%": "percent",
    "°": "degrees",
    "…": "dot dot dot",
    "⋯": "dot dot dot",
    "⋮": "vertical dots",
    "⋱": "diagonal dots",
    ".": "dot",
    ":": "colon",
    "|": "vertical bar",
    "‖": "double vertical bar",
    "&": "and",
    ",": ",",
    ";": ";",
    "\u2061": "of",  # function application
    "\u2062": "",  # invisible times
    "\u2063": ",",  # invisible separator
    "\u2064": "plus",  # invisible plus (mixed fractions)
}
# Identifiers and constants that are not letters (Greek letters are named from Unicode).
SYMBOLS: dict[str, str] = {
    "∞": "infinity",
    "∂": "partial",
    "∇": "nabla",
    "∅": "the empty set",
    "ℏ": "h bar",
    "ℓ": "ell",
    "ℵ": "aleph",
    "△": "triangle",
}
FUNCTIONS: dict[str, str] = {
    "sin": "sine",
    "cos": "cosine",
    "tan": "tangent",
    "cot": "cotangent",
    "sec": "secant",
    "csc": "cosecant",
    "ln": "natural log",
    "det": "determinant",
}
# Operators whose scripts are limits: "the sum from i equals 1 to n of ...".
LARGE: dict[str, str] = {
    "∑": "the sum",
    "∏": "the product",
    "∐": "the coproduct",
    "∫": "the integral",
    "∬": "the double integral",
    "∭": "the triple integral",
    "∮": "the contour integral",
    "⋃": "the union",
    "⋂": "the intersection",
    "lim": "the limit",
    "max": "the maximum",
    "min": "the minimum",
    "sup": "the supremum",
    "inf": "the infimum",
}
OPEN = {"(": "paren", "[": "bracket", "{": "brace", "⟨": "angle bracket", "〈": "angle bracket"}
CLOSE = {")": "paren", "]": "bracket", "}": "brace", "⟩": "angle bracket", "〉": "angle bracket"}
BARS = {"|": "absolute value", "‖": "norm"}
OVER_ACCENTS = {
    "^": "hat",
    "ˆ": "hat",
    "\u0302": "hat",
    "¯": "bar",
    "‾": "bar",
    "_": "bar",
    "\u0305": "bar",
    "~": "tilde",
    "˜": "tilde",
    "\u0303": "tilde",
    "→": "vector",
    "⃗": "vector",
    "˙": "dot",
    "\u0307": "dot",
    "¨": "double dot",
    "\u0308": "double dot",
}
UNDER_ACCENTS = {"_": "underbar", "¯": "underbar", "‾": "underbar", "\u0332": "underbar"}
# Superscripts said as a word instead of "to the power ...".
POWER_WORDS = {"′": "prime", "'": "prime", "″": "double prime", "‴": "triple prime"}
POWER_WORDS |= {"*": "star", "∗": "star", "†": "dagger", "°": "degrees", "∘": "degrees"}
SQUARES = {"2": "squared", "3": "cubed"}
RELATIONS = frozenset("=<>≤≥⩽⩾≠≈≡≅∼∝≪≫⇒⇔⟹⟺")
ROWS = frozenset({"math", "mrow", "mstyle", "mpadded", "merror", "menclose", "mtd", "msrow", "mscarries"})
SILENT = frozenset({"mphantom", "mspace", "none", "mprescripts", "malignmark", "maligngroup", "msline"})
CONTENT_MATHML = frozenset({"apply", "ci", "cn", "csymbol", "cs", "bind", "bvar", "cerror", "share"})
ANNOTATIONS = frozenset({"annotation", "annotation-xml"})


Source = Literal["alttext", "markup", "text", "empty"]


class _Unreadable(Exception):
    """Markup the spoken rendering does not know how to read (content MathML)."""


@dataclass
class _Fence:
    """A bracketed group of a row: ``open``/``close`` characters ("" for none) and what is inside."""

    open: str
    close: str
    inner: list[_Item]


_Item: TypeAlias = "etree._Element | str | _Fence"  # an element, words already spoken, or a fenced group


def math_speech(el: etree._Element, lang: str = "en") -> str:
    """What to say for a <math> element: its alttext (or aria-label) when present; otherwise
    (English only) a spoken rendering of the presentation markup; otherwise (other languages, or
    markup it cannot read) its text content, tokens separated by spaces. "" only when the element
    has no content at all. An empty ``lang`` (undeclared) counts as English."""
    return _reading(el, lang)[0]


def math_source(el: etree._Element, lang: str = "en") -> Source:
    """Where :func:`math_speech` found its words: "alttext" (or aria-label), "markup" (the spoken
    rendering), "text" (the text content), or "empty" (nothing to say)."""
    return _reading(el, lang)[1]


def _reading(el: etree._Element, lang: str) -> tuple[str, Source]:
    label = clean_inline(el.get("alttext") or el.get("aria-label") or "")
    if label:
        return label, "alttext"
    if lang.lower().split("-")[0] in ("en", ""):
        try:
            spoken = _tidy(_read(el, True))
        except (_Unreadable, RecursionError):
            spoken = ""
        if spoken:
            return spoken, "markup"
    text = math_text(el)
    return text, "text" if text else "empty"


def math_text(el: etree._Element) -> str:
    """The element's text content, token by token, separated by spaces (what peer tools read).

    Annotations beside a presentation form (a LaTeX copy in <semantics>) and invisible operators
    are left out. Iterative, so any depth of nesting reads.
    """
    words: list[str] = []

    def add(text: str | None) -> None:
        text = clean_inline((text or "").translate(_INVISIBLE_OPERATORS))
        if text:
            words.append(text)

    stack: list[tuple[etree._Element, bool]] = [(el, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            if node is not el:
                add(node.tail)
            continue
        stack.append((node, True))
        if _name(node) and not _hidden_annotation(node):
            add(node.text)
            stack.extend((child, False) for child in reversed(node))
    return " ".join(words)


_INVISIBLE_OPERATORS = dict.fromkeys(map(ord, "\u2061\u2062\u2063\u2064"), " ")


def _name(el: etree._Element) -> str:
    """The local name of an element, lower case; "" for comments and processing instructions."""
    tag: object = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()


def _hidden_annotation(el: etree._Element) -> bool:
    parent = el.getparent()
    if _name(el) not in ANNOTATIONS or parent is None or _name(parent) != "semantics":
        return False
    return any(_name(child) not in ANNOTATIONS for child in _children(parent))


def _children(el: etree._Element) -> list[etree._Element]:
    return [child for child in el if _name(child)]


def _text(el: etree._Element) -> str:
    return clean_inline("".join(map(str, el.itertext())))


def _tidy(text: str) -> str:
    """One space between words, no space before a pause, one pause where several meet."""
    text = re.sub(r"\s+([,;:])", r"\1", " ".join(text.split()))
    text = re.sub(r"[,;:](?:\s*[,;:])+", _strongest, text)
    return text.strip(" ,;:")


def _strongest(m: re.Match[str]) -> str:
    return next(mark for mark in ";:," if mark in m[0])


def _say(text: str) -> str:
    """A token's characters as words: symbols and Greek letters named, letters and numbers kept."""
    for table in (OPERATORS, SYMBOLS, LARGE):
        if text in table:
            return table[text]
    words: list[str] = []
    run = ""  # letters and digits (with a number's points and commas) said as they are
    for char in text:
        folded = unicodedata.normalize("NFKC", char)  # mathematical italic x to x, and so on
        word = OPERATORS.get(char) or SYMBOLS.get(char) or LARGE.get(char) or _greek(folded)
        if (char in ".," and run[-1:].isdigit()) or (not word and folded.isalnum()):
            run += folded
            continue
        words += [run, word or char]
        run = ""
    return " ".join(word for word in [*words, run] if word)


def _greek(char: str) -> str:
    """ "alpha" for α, "capital gamma" for Γ, "phi" for ϕ; "" for anything that is not Greek."""
    name = unicodedata.name(char, "") if len(char) == 1 else ""
    if not name.startswith("GREEK "):
        return ""
    letter = name.split(" WITH ")[0].removesuffix(" SYMBOL").split()[-1].lower()
    return f"capital {letter}" if "CAPITAL" in name else letter


# Rows: a container's children, stray text, and the brackets that pair up among them.


def _row_items(el: etree._Element) -> list[_Item]:
    nodes: list[_Item] = []
    if el.text and el.text.strip():
        nodes.append(_say(clean_inline(el.text)))
    for child in el:
        if _name(child) and _name(child) not in SILENT:
            nodes.append(child)
        if child.tail and child.tail.strip():
            nodes.append(_say(clean_inline(child.tail)))
    return _pair_fences(nodes)


def _fence_char(item: _Item) -> str:
    if isinstance(item, etree._Element) and _name(item) == "mo":
        text = _text(item)
        if text in OPEN or text in CLOSE or text in BARS:
            return text
    return ""


def _pair_fences(nodes: list[_Item]) -> list[_Item]:
    """Group the bracket operators of a flat row (``<mo>(</mo> x <mo>)</mo>``) into fences."""
    stack: list[tuple[_Item | None, str, list[_Item]]] = [(None, "", [])]

    def unwind() -> None:  # an opener never closed is an ordinary operator after all
        opener, _, inner = stack.pop()
        stack[-1][2].extend([opener, *inner] if opener is not None else inner)

    for node in nodes:
        char = _fence_char(node)
        if char in CLOSE or (char in BARS and stack[-1][1] == char):
            while char in CLOSE and stack[-1][1] in BARS:
                unwind()
            if len(stack) > 1:
                _, opener, inner = stack.pop()
                stack[-1][2].append(_Fence(opener, char, inner))
                continue
        if char in OPEN or char in BARS:
            stack.append((node, char, []))
        else:
            stack[-1][2].append(node)
    while len(stack) > 1:
        unwind()
    return stack[0][2]


def _unwrap(item: _Item) -> _Item:
    """The one thing a row of one thing holds (an <mrow> around a token, say)."""
    while isinstance(item, etree._Element) and _name(item) in ROWS | {"semantics"}:
        items = _row_items(item)
        if _name(item) == "semantics":
            items = [child for child in items if _name_of(child) not in ANNOTATIONS][:1]
        if len(items) != 1:
            break
        item = items[0]
    return item


def _name_of(item: _Item) -> str:
    return _name(item) if isinstance(item, etree._Element) else ""


def _is_token(item: _Item) -> bool:
    """A single identifier, number or word: operands that need no "end ..." after them."""
    item = _unwrap(item)
    return _name_of(item) in ("mi", "mn", "mtext", "ms") or (isinstance(item, str) and " " not in item)


def _is_signed_token(item: _Item) -> bool:
    """A token, or a sign before one ("-1"), as an exponent or subscript can be."""
    item = _unwrap(item)
    if isinstance(item, etree._Element) and _name(item) in ROWS:
        items = _row_items(item)
        sign = items[0] if len(items) == 2 else None
        if isinstance(sign, etree._Element) and _name(sign) == "mo" and _text(sign) in ("-", "−", "+", "±"):
            return _is_token(items[1])
    return _is_token(item)


def _large(item: _Item) -> str:
    """ "the sum" for a summation sign (bare or with limits), and so on; "" for anything else."""
    item = _unwrap(item)
    if _name_of(item) in ("msub", "msup", "msubsup", "munder", "mover", "munderover"):
        assert isinstance(item, etree._Element)
        kids = _children(item)
        item = _unwrap(kids[0]) if kids else item
    if _name_of(item) in ("mo", "mi"):
        assert isinstance(item, etree._Element)
        return LARGE.get(_text(item), "")
    return ""


def _read_row(items: list[_Item], delimited: bool) -> str:
    """A row's items in order; a large operator followed by its operand gets "of"."""
    if len(items) == 1:
        return _read_item(items[0], delimited)
    words: list[str] = []
    for i, item in enumerate(items):
        words.append(_read_item(item, False))
        if i + 1 < len(items) and _large(item):
            words.append("of")
    return " ".join(words)


def _read_item(item: _Item, delimited: bool) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, _Fence):
        return _read_fence(item, delimited)
    return _read(item, delimited)


def _read(el: etree._Element, delimited: bool = False) -> str:
    """Words for one element. ``delimited``: the context already marks where it starts and ends
    (a whole formula, a numerator, a radicand), so brackets around all of it need not be said."""
    name = _name(el)
    if name in CONTENT_MATHML:
        raise _Unreadable(name)
    reader = _READERS.get(name)
    if reader is not None:
        return reader(el, delimited)
    return _read_row(_row_items(el), delimited)  # rows, styles, and elements this module does not know


def _read_fence(fence: _Fence, delimited: bool) -> str:
    inner = _read_row(fence.inner, True)
    if fence.open in BARS and fence.close == fence.open:
        matrix = len(fence.inner) == 1 and _name_of(_unwrap(fence.inner[0])) == "mtable"
        what = "determinant" if matrix else BARS[fence.open]
        if matrix or (len(fence.inner) == 1 and _is_token(fence.inner[0])):
            return f"the {what} of {inner}"
        return f"the {what} of {inner}, end {what}"
    grouping = (
        fence.open in ("(", "[") and CLOSE.get(fence.close) == OPEN[fence.open]
    )  # not a set or interval
    if grouping and (delimited or (len(fence.inner) == 1 and _self_delimiting(fence.inner[0]))):
        return inner
    opened = f"open {OPEN[fence.open]}" if fence.open in OPEN else _say(fence.open)
    closed = f"close {CLOSE[fence.close]}" if fence.close in CLOSE else _say(fence.close)
    return f"{opened} {inner} {closed}"


def _self_delimiting(item: _Item) -> bool:
    """Brackets around it add nothing for a listener: a token, a matrix, a binomial, brackets."""
    item = _unwrap(item)
    if isinstance(item, _Fence) or _is_token(item) or _name_of(item) == "mtable":
        return True
    return isinstance(item, etree._Element) and _name(item) == "mfrac" and _is_binomial(item)


# Tokens.


def _read_mi(el: etree._Element, _: bool) -> str:
    text = _text(el)
    return FUNCTIONS.get(text) or _say(text)


def _read_mn(el: etree._Element, _: bool) -> str:
    return _say(_text(el))


def _read_mo(el: etree._Element, _: bool) -> str:
    text = _text(el)
    if text in OPEN:
        return f"open {OPEN[text]}"
    if text in CLOSE:
        return f"close {CLOSE[text]}"
    return _say(text)


def _read_mtext(el: etree._Element, _: bool) -> str:
    return _text(el)


def _read_mglyph(el: etree._Element, _: bool) -> str:
    return clean_inline(el.get("alt") or "")


def _silent(el: etree._Element, _: bool) -> str:
    return ""


# Layout.


def _is_binomial(el: etree._Element) -> bool:
    return re.fullmatch(r"0*(\.0*)?[a-z%]*", (el.get("linethickness") or "1").strip()) is not None


def _read_mfrac(el: etree._Element, delimited: bool) -> str:
    kids = _children(el)
    if len(kids) != 2:
        return _read_row(_row_items(el), delimited)
    num, den = (_read(kid, True) for kid in kids)
    if _is_binomial(el):
        return f"{num} choose {den}"
    if _is_token(kids[0]) and _is_token(kids[1]):
        return f"{num} over {den}"
    return f"the fraction, {num}, over, {den}, end fraction"


def _read_msqrt(el: etree._Element, _: bool) -> str:
    items = _row_items(el)
    inner = _read_row(items, True)
    end = "" if len(items) == 1 and _is_token(items[0]) else ", end root"
    return f"the square root of {inner}{end}"


def _read_mroot(el: etree._Element, delimited: bool) -> str:
    kids = _children(el)
    if len(kids) != 2:
        return _read_row(_row_items(el), delimited)
    base, index = _read(kids[0], True), _read(kids[1], True)
    if index == "2":
        root = "the square root of"
    elif index == "3":
        root = "the cube root of"
    elif _is_token(kids[1]):
        root = f"the {_ordinal(index)} root of"
    else:
        root = f"the root with index, {index}, of"
    return f"{root} {base}" if _is_token(kids[0]) else f"{root} {base}, end root"


def _ordinal(index: str) -> str:
    if not index.isdigit():
        return f"{index}-th"
    if index[-2:-1] != "1" and index[-1] in "123":
        return index + {"1": "st", "2": "nd", "3": "rd"}[index[-1]]
    return index + "th"


def _sub_words(sub: etree._Element) -> str:
    if _is_signed_token(sub):
        return f"sub {_read(sub, True)}"
    return f"sub, {_read(sub, True)}, end sub"


def _sup_words(sup: etree._Element, after_sub: bool) -> str:
    if _is_signed_token(sup):
        raw = _text(sup)
        word = POWER_WORDS.get(raw) or (None if after_sub else SQUARES.get(raw))
        return word or f"to the power {_read(sup, True)}"
    if all(char in POWER_WORDS for char in _text(sup)):  # several primes in a row
        return _read(sup, True)
    return f"to the power, {_read(sup, True)}, end power"


def _read_scripts(el: etree._Element, delimited: bool) -> str:
    """msub, msup, msubsup, munder, mover, munderover: limits, accents, indices and powers."""
    name, kids = _name(el), _children(el)
    wanted = {"msub": 2, "msup": 2, "munder": 2, "mover": 2, "msubsup": 3, "munderover": 3}[name]
    if len(kids) != wanted:
        return _read_row(_row_items(el), delimited)
    base = kids[0]
    low = kids[1] if name in ("msub", "msubsup", "munder", "munderover") else None
    high = kids[-1] if name in ("msup", "msubsup", "mover", "munderover") else None
    large = _large(base)
    if large:
        return _limits(large, low, high)
    said = _read(base)
    if name == "mover" and high is not None and _text(high) in OVER_ACCENTS:
        return f"{said} {OVER_ACCENTS[_text(high)]}"
    if name == "munder" and low is not None and _text(low) in UNDER_ACCENTS:
        return f"{said} {UNDER_ACCENTS[_text(low)]}"
    if name in ("munder", "mover", "munderover"):
        below = f"with {_read(low, True)} below" if low is not None else ""
        above = f"with {_read(high, True)} above" if high is not None else ""
        return f"{said}, {' and '.join(filter(None, (below, above)))},"
    if low is not None:
        said = f"log base {_read(low, True)}" if _text(base) == "log" else f"{said} {_sub_words(low)}"
    if high is not None:
        said = f"{said} {_sup_words(high, after_sub=low is not None)}"
    return said


def _limits(large: str, low: etree._Element | None, high: etree._Element | None) -> str:
    def limit(el: etree._Element) -> str:
        words = f" {_read(el, True)} ".replace(" is an element of ", " in ").replace(" arrow ", " tends to ")
        return words.strip()

    if low is not None and high is not None:
        return f"{large} from {limit(low)} to {limit(high)}"
    if low is not None:
        return f"{large} {'as' if large == 'the limit' else 'over'} {limit(low)}"
    return f"{large} to {limit(high)}" if high is not None else large


def _read_mmultiscripts(el: etree._Element, delimited: bool) -> str:
    kids = [kid for kid in el if _name(kid)]
    if not kids:
        return ""
    names = [_name(kid) for kid in kids]
    split = names.index("mprescripts") if "mprescripts" in names else len(kids)
    words = [_read(kids[0])]
    for position, scripts in (("", kids[1:split]), ("pre-", kids[split + 1 :])):
        for sub, sup in zip(scripts[::2], scripts[1::2], strict=False):
            if _name(sub) != "none":
                words.append(f"{position}{_sub_words(sub)}")
            if _name(sup) != "none":
                words.append(f"{position}{_sup_words(sup, after_sub=True)}")
    return " ".join(words)


def _read_mfenced(el: etree._Element, delimited: bool) -> str:
    opener, closer = el.get("open", "("), el.get("close", ")")
    separators = "".join(el.get("separators", ",").split())
    inner: list[_Item] = []
    for i, kid in enumerate(_children(el)):
        if i and separators:
            inner.append(_say(separators[min(i - 1, len(separators) - 1)]))
        inner.append(kid)
    return _read_fence(_Fence(opener.strip(), closer.strip(), inner), delimited)


def _read_semantics(el: etree._Element, delimited: bool) -> str:
    kids = _children(el)
    shown = [kid for kid in kids if _name(kid) not in ANNOTATIONS]
    if shown:
        return _read(shown[0], delimited)
    for kid in sorted(kids, key=lambda kid: _name(kid) != "annotation-xml"):
        words = _read_row(_row_items(kid), delimited) if _name(kid) == "annotation-xml" else _text(kid)
        if words.strip():
            return words
    return ""


def _read_maction(el: etree._Element, delimited: bool) -> str:
    kids = _children(el)
    selection = el.get("selection", "1")
    index = int(selection) - 1 if selection.isdigit() and 0 < int(selection) <= len(kids) else 0
    return _read(kids[index], delimited) if kids else ""


def _read_mtable(el: etree._Element, _: bool) -> str:
    """A matrix by rows and columns, or a column of equations one by one."""
    rows: list[tuple[str, list[etree._Element]]] = []
    for row in _children(el):
        cells = _children(row) if _name(row) in ("mtr", "mlabeledtr") else [row]
        label = _read(cells.pop(0), True) if _name(row) == "mlabeledtr" and cells else ""
        rows.append((label, cells))
    if not rows:
        return ""
    columns = max(len(cells) for _, cells in rows)
    if len(rows) == 1 and columns == 1 and not rows[0][0]:
        return _read(rows[0][1][0], True)
    said = [[_read(cell, True) for cell in cells] for _, cells in rows]
    equations = all(any(_relation(cell) for cell in cells) for _, cells in rows)
    if equations or any(label for label, _ in rows):
        return "; ".join(
            f"equation {label or i}: {' '.join(cells)}"
            for i, ((label, _), cells) in enumerate(zip(rows, said, strict=True), 1)
        )
    body = "; ".join(f"row {i}: {', '.join(cells)}" for i, cells in enumerate(said, 1))
    return f"a {len(rows)} by {columns} matrix, {body}; end matrix"


def _relation(el: etree._Element) -> bool:
    return any(_name(node) == "mo" and _text(node) in RELATIONS for node in el.iter())


_READERS: dict[str, Callable[[etree._Element, bool], str]] = {
    "mi": _read_mi,
    "mn": _read_mn,
    "mo": _read_mo,
    "mtext": _read_mtext,
    "ms": _read_mtext,
    "mglyph": _read_mglyph,
    "mfrac": _read_mfrac,
    "msqrt": _read_msqrt,
    "mroot": _read_mroot,
    "msub": _read_scripts,
    "msup": _read_scripts,
    "msubsup": _read_scripts,
    "munder": _read_scripts,
    "mover": _read_scripts,
    "munderover": _read_scripts,
    "mmultiscripts": _read_mmultiscripts,
    "mfenced": _read_mfenced,
    "semantics": _read_semantics,
    "maction": _read_maction,
    "mtable": _read_mtable,
    "annotation": _silent,
    "annotation-xml": _silent,
    **dict.fromkeys(SILENT, _silent),
}
