"""MathML read aloud (voxcli.ingest.mathml): the W3C EPUB 3 MathML sample and hand-written formulas.

The expected words below are spelled out from the reading rules (fractions "a over b" or "the
fraction, ..., end fraction", "x squared", "x sub i", "the square root of", limits "from ... to ...
of", matrices by rows), not copied from the program's output.
"""

from __future__ import annotations

import copy
import re
import zipfile

import pytest
from lxml import etree, html

from tests.conftest import corpus_file
from voxcli.ingest.mathml import math_source, math_speech, math_text

MATHML = "http://www.w3.org/1998/Math/MathML"
SAMPLE = ("epub", "cnt-mathml-support.epub")  # ../shared/corpus/epub/ beside the repository

# The operator words of the reading rules: the oracle for <mo> in the sample's formulas.
OPERATOR_WORDS = {
    "+": "plus",
    "-": "minus",
    "−": "minus",
    "=": "equals",
    "×": "times",
    "⋅": "times",
    "÷": "divided by",
    "±": "plus or minus",
    "<": "less than",
    ">": "greater than",
    "≤": "less than or equal to",
    "≠": "not equal to",
    "≈": "approximately equal to",
    "∑": "the sum",
    "∫": "the integral",
    "(": "open paren",
    ")": "close paren",
}
NAMES = {"α": "alpha", "β": "beta", "π": "pi", "θ": "theta", "∞": "infinity"}


def sample_formulas() -> list[etree._Element]:
    """Every <math> element of every XHTML document in the sample, read with plain lxml."""
    path = corpus_file(*SAMPLE)  # Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / ...
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    formulas: list[etree._Element] = []
    with zipfile.ZipFile(path) as book:
        for name in sorted(book.namelist()):
            if name.endswith((".xhtml", ".html", ".htm")):
                root = etree.fromstring(book.read(name), parser)
                formulas += root.iter(f"{{{MATHML}}}math", "math")
    return formulas


EXPONENT_WORDS = {"2": "squared", "3": "cubed"}


def is_exponent(token: etree._Element) -> bool:
    """The token is the superscript of an msup (alone, or as the one thing in an mrow)."""
    child, parent = token, token.getparent()
    while parent is not None and local(parent) == "mrow" and len(parent) == 1:
        child, parent = parent, parent.getparent()
    return parent is not None and local(parent) == "msup" and parent.index(child) == 1


def without_labels(el: etree._Element) -> etree._Element:
    """A copy of a formula without its alttext and aria-label, so that its markup is what is read."""
    bare = copy.deepcopy(el)
    for attribute in ("alttext", "aria-label"):
        if attribute in bare.attrib:
            del bare.attrib[attribute]
    return bare


def token_text(el: etree._Element) -> str:
    """lxml's own text of an element and everything in it (the oracle for what peers read)."""
    return "".join(str(piece) for piece in el.itertext())


def words(text: str) -> list[str]:
    return re.findall(r"[^\s,;:]+", text)


def contains_phrase(text: str, phrase: str) -> bool:
    return f" {' '.join(words(phrase))} " in f" {' '.join(words(text))} "


def local(el: etree._Element) -> str:
    return etree.QName(el).localname


def m(markup: str, **attributes: str) -> etree._Element:
    attrs = "".join(f' {key.replace("_", "-")}="{value}"' for key, value in attributes.items())
    return etree.fromstring(f'<math xmlns="{MATHML}"{attrs}>{markup}</math>')


def say(markup: str) -> str:
    return math_speech(m(markup))


# The sample


def test_sample_has_formulas_and_every_one_is_spoken() -> None:
    formulas = sample_formulas()
    assert len(formulas) == 1  # the W3C sample holds one formula: x = (a + b)^2
    for el in formulas:
        assert math_speech(el).strip()
        assert math_speech(without_labels(el)).strip()
        assert math_source(without_labels(el)) == "markup"
        assert math_speech(without_labels(el), "fr").strip()


def test_sample_alttext_wins() -> None:
    for el in sample_formulas():
        alttext = " ".join((el.get("alttext") or "").split())
        assert alttext
        assert math_speech(el) == alttext
        assert math_source(el) == "alttext"


def test_sample_keeps_every_token() -> None:
    """Every mi/mn token (lxml's own text of it) and every operator is in the speech: nothing lost."""
    for el in sample_formulas():
        for speech in (math_speech(el), math_speech(without_labels(el))):
            spoken = words(speech)
            for token in el.iter(f"{{{MATHML}}}mi", f"{{{MATHML}}}mn"):
                text = token_text(token).strip()
                said = {NAMES.get(text, text)}
                if is_exponent(token):  # the rules say an exponent 2 or 3 as a word, once
                    said |= {EXPONENT_WORDS.get(text, text)}
                assert said & set(spoken), (text, speech)
        rendered = math_speech(without_labels(el))
        for op in el.iter(f"{{{MATHML}}}mo"):
            text = token_text(op).strip()
            assert contains_phrase(rendered, OPERATOR_WORDS[text]) or text in rendered, (text, rendered)


def test_sample_text_is_the_tokens_in_order() -> None:
    for el in sample_formulas():
        assert math_text(el).split() == token_text(el).split()
        assert math_speech(without_labels(el), "de") == math_text(el)
        assert math_source(without_labels(el), "de") == "text"


def test_sample_formula_reads_in_order() -> None:
    """x = (a + b)^2: x, equals, the bracketed sum, then its power, after the closing bracket."""
    (el,) = sample_formulas()
    speech = math_speech(without_labels(el))
    said = words(speech)
    order = [said.index(word) for word in ("x", "equals", "open", "a", "plus", "b", "close", "squared")]
    assert order == sorted(order), speech
    assert speech == "x equals open paren a plus b close paren squared"


# Hand-written formulas, with the words the rules give


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        # fractions
        ("<mfrac><mi>a</mi><mi>b</mi></mfrac>", "a over b"),
        (
            "<mfrac><mrow><mi>a</mi><mo>+</mo><mi>b</mi></mrow><mn>2</mn></mfrac>",
            "the fraction, a plus b, over, 2, end fraction",
        ),
        (
            "<mfrac><mfrac><mn>1</mn><mn>2</mn></mfrac><mn>3</mn></mfrac>",
            "the fraction, 1 over 2, over, 3, end fraction",
        ),
        (
            "<mfrac><mn>1</mn><mfrac><mn>2</mn><mn>3</mn></mfrac></mfrac>",
            "the fraction, 1, over, 2 over 3, end fraction",
        ),
        (
            "<mrow><mo>(</mo><mfrac linethickness='0'><mi>n</mi><mi>k</mi></mfrac><mo>)</mo></mrow>",
            "n choose k",
        ),
        # powers and indices
        ("<msup><mi>x</mi><mn>2</mn></msup>", "x squared"),
        ("<msup><mi>x</mi><mn>3</mn></msup>", "x cubed"),
        ("<msup><mi>x</mi><mi>n</mi></msup>", "x to the power n"),
        ("<msup><mi>e</mi><mrow><mo>−</mo><mi>x</mi></mrow></msup>", "e to the power minus x"),
        (
            "<msup><mi>x</mi><mrow><mi>n</mi><mo>+</mo><mn>1</mn></mrow></msup>",
            "x to the power, n plus 1, end power",
        ),
        ("<msub><mi>x</mi><mi>i</mi></msub>", "x sub i"),
        ("<msubsup><mi>x</mi><mi>i</mi><mn>2</mn></msubsup>", "x sub i to the power 2"),
        ("<msup><mi>f</mi><mo>′</mo></msup>", "f prime"),
        # roots
        ("<msqrt><mi>x</mi></msqrt>", "the square root of x"),
        ("<msqrt><mi>x</mi><mo>+</mo><mn>1</mn></msqrt>", "the square root of x plus 1, end root"),
        ("<mroot><mi>x</mi><mn>3</mn></mroot>", "the cube root of x"),
        ("<mroot><mi>x</mi><mi>n</mi></mroot>", "the n-th root of x"),
        # limits
        (
            "<munderover><mo>∑</mo><mrow><mi>i</mi><mo>=</mo><mn>1</mn></mrow><mi>n</mi></munderover>"
            "<msup><mi>i</mi><mn>2</mn></msup>",
            "the sum from i equals 1 to n of i squared",
        ),
        (
            "<msubsup><mo>∫</mo><mn>0</mn><mi>∞</mi></msubsup><mi>f</mi><mo>&#x2061;</mo>"
            "<mrow><mo>(</mo><mi>x</mi><mo>)</mo></mrow><mi>d</mi><mi>x</mi>",
            "the integral from 0 to infinity of f of x d x",
        ),
        (
            "<munder><mo>lim</mo><mrow><mi>x</mi><mo>→</mo><mn>0</mn></mrow></munder><mi>f</mi>",
            "the limit as x tends to 0 of f",
        ),
        # accents
        ("<mover><mi>x</mi><mo>^</mo></mover>", "x hat"),
        ("<mover><mi>x</mi><mo>¯</mo></mover>", "x bar"),
        ("<mover><mi>x</mi><mo>~</mo></mover>", "x tilde"),
        ("<mover><mi>v</mi><mo>→</mo></mover>", "v vector"),
        ("<mover><mi>x</mi><mo>˙</mo></mover>", "x dot"),
        # tables
        (
            "<mrow><mo>(</mo><mtable><mtr><mtd><mi>a</mi></mtd><mtd><mi>b</mi></mtd></mtr>"
            "<mtr><mtd><mi>c</mi></mtd><mtd><mi>d</mi></mtd></mtr></mtable><mo>)</mo></mrow>",
            "a 2 by 2 matrix, row 1: a, b; row 2: c, d; end matrix",
        ),
        (
            "<mtable><mtr><mtd><mi>a</mi></mtd><mtd><mi>b</mi></mtd><mtd><mi>c</mi></mtd></mtr>"
            "<mtr><mtd><mi>d</mi></mtd><mtd><mi>e</mi></mtd><mtd><mi>f</mi></mtd></mtr></mtable>",
            "a 2 by 3 matrix, row 1: a, b, c; row 2: d, e, f; end matrix",
        ),
        (
            "<mtable><mtr><mtd><mi>x</mi><mo>=</mo><mn>1</mn></mtd></mtr>"
            "<mtr><mtd><mi>y</mi><mo>=</mo><mn>2</mn></mtd></mtr></mtable>",
            "equation 1: x equals 1; equation 2: y equals 2",
        ),
        # brackets: said where they change the meaning, left out where they only group
        ("<mi>f</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>x</mi><mo>)</mo></mrow>", "f of x"),
        ("<mn>2</mn><mo>(</mo><mi>a</mi><mo>+</mo><mi>b</mi><mo>)</mo>", "2 open paren a plus b close paren"),
        ("<mfenced><mrow><mi>a</mi><mo>+</mo><mi>b</mi></mrow></mfenced>", "a plus b"),
        ("<mfenced open='[' close=')'><mn>0</mn><mn>1</mn></mfenced>", "open bracket 0, 1 close paren"),
        ("<mrow><mo>|</mo><mi>x</mi><mo>|</mo></mrow>", "the absolute value of x"),
        # invisible operators, symbols and letters
        ("<mn>2</mn><mo>&#x2062;</mo><mi>x</mi>", "2 x"),
        ("<mi>i</mi><mo>&#x2063;</mo><mi>j</mi>", "i, j"),
        ("<mi>α</mi><mo>+</mo><mi>π</mi><mo>≤</mo><mn>3.5</mn>", "alpha plus pi less than or equal to 3.5"),
        (
            "<mi>a</mi><mo>≠</mo><mi>b</mi><mo>×</mo><mi>c</mi><mo>÷</mo><mi>d</mi>",
            "a not equal to b times c divided by d",
        ),
        ("<mi>x</mi><mo>±</mo><mi>y</mi><mo>≈</mo><mi>z</mi>", "x plus or minus y approximately equal to z"),
        ("<mi>x</mi><mo>∈</mo><mi>S</mi>", "x is an element of S"),
        ("<mn>5</mn><mo>!</mo>", "5 factorial"),
        # invisible and decorative content
        ("<mi>x</mi><mphantom><mo>+</mo><mn>0</mn></mphantom><mo>=</mo><mn>1</mn>", "x equals 1"),
        ("<mi>x</mi><mspace width='1em'/><mo>=</mo><mn>1</mn>", "x equals 1"),
        (
            "<semantics><mfrac><mn>1</mn><mn>2</mn></mfrac>"
            "<annotation encoding='application/x-tex'>\\frac{1}{2}</annotation></semantics>",
            "1 over 2",
        ),
        ("<semantics><annotation encoding='text/plain'>one half</annotation></semantics>", "one half"),
        ("<maction actiontype='toggle'><mi>a</mi><mi>b</mi></maction>", "a"),
        ("<mstyle mathcolor='red'><menclose notation='box'><mi>y</mi></menclose></mstyle>", "y"),
        ("<mi>a</mi><mo>&lt;</mo><mi>b</mi><blink>and <mi>z</mi></blink>", "a less than b and z"),
    ],
)
def test_spoken_rendering(markup: str, expected: str) -> None:
    assert say(markup) == expected


def test_quadratic_formula_order() -> None:
    """x = (−b ± √(b² − 4ac)) / 2a: b, then the square root, then "over" and the denominator."""
    speech = say(
        "<mi>x</mi><mo>=</mo><mfrac><mrow><mo>−</mo><mi>b</mi><mo>±</mo><msqrt><msup><mi>b</mi><mn>2</mn>"
        "</msup><mo>−</mo><mn>4</mn><mo>&#x2062;</mo><mi>a</mi><mo>&#x2062;</mo><mi>c</mi></msqrt></mrow>"
        "<mrow><mn>2</mn><mo>&#x2062;</mo><mi>a</mi></mrow></mfrac>"
    )
    said = " ".join(words(speech))
    b, root, over = said.index(" b "), said.index("square root"), said.index(" over ")
    assert b < root < said.index("end root") < over < said.index("end fraction")
    assert said.startswith(
        "x equals the fraction minus b plus or minus the square root of b squared minus 4 a c"
    )


def test_alttext_and_aria_label_win() -> None:
    markup = "<mfrac><mi>a</mi><mi>b</mi></mfrac>"
    assert math_speech(m(markup, alttext="a divided  by b")) == "a divided by b"
    assert math_speech(m(markup, aria_label="ratio of a to b")) == "ratio of a to b"
    assert math_source(m(markup, alttext="a divided by b")) == "alttext"
    assert math_source(m(markup)) == "markup"


def test_other_languages_read_the_text() -> None:
    el = m("<mi>x</mi><mo>=</mo><mfrac><mi>a</mi><mi>b</mi></mfrac>")
    assert math_speech(el, "fr") == "x = a b"
    assert math_source(el, "fr-CA") == "text"
    assert math_speech(el, "en-GB") == "x equals a over b"
    assert math_speech(m("<mi>x</mi>", alttext="x seul"), "fr") == "x seul"


def test_math_text_leaves_out_annotations_and_invisible_operators() -> None:
    el = m(
        "<semantics><mrow><mi>f</mi><mo>&#x2061;</mo><mi>x</mi></mrow>"
        "<annotation encoding='application/x-tex'>f(x)</annotation></semantics>"
    )
    assert math_text(el) == "f x"


def test_content_mathml_falls_back_to_text() -> None:
    el = m("<apply><plus/><ci>a</ci><ci>b</ci></apply>")
    assert math_speech(el) == "a b"
    assert math_source(el) == "text"


def test_html_math_without_namespace() -> None:
    doc = html.fromstring("<html><body><p><math><msup><mi>x</mi><mn>2</mn></msup></math></p></body></html>")
    el = doc.find(".//math")
    assert el is not None
    assert math_speech(el) == "x squared"


def test_empty_and_invisible_formulas() -> None:
    assert math_speech(m("")) == ""
    assert math_source(m("")) == "empty"
    assert math_speech(m("<mspace width='1em'/>")) == ""
    assert math_speech(m("<mphantom><mi>x</mi></mphantom>")) == "x"  # content, though invisible: not ""


def test_deep_nesting_reads_the_text() -> None:
    el = m("")
    inner = el
    for _ in range(5000):
        inner = etree.SubElement(inner, f"{{{MATHML}}}mrow")
    etree.SubElement(inner, f"{{{MATHML}}}mi").text = "q"
    assert math_speech(el) == "q"


def test_no_doubled_spaces_or_pauses() -> None:
    samples = [
        "<mfrac><mfrac><mrow><mi>a</mi><mo>+</mo><mi>b</mi></mrow><mi>c</mi></mfrac><msqrt><mi>x</mi><mo>,</mo></msqrt></mfrac>",
        "<mo>&#x2063;</mo><mi>a</mi><mo>,</mo><mo>&#x2063;</mo><mi>b</mi><mo>,</mo>",
        "<mtable><mtr><mtd><mfrac><mrow><mi>a</mi><mo>+</mo><mn>1</mn></mrow><mn>2</mn></mfrac></mtd></mtr>"
        "<mtr><mtd><mn>3</mn></mtd></mtr></mtable>",
    ]
    for markup in samples:
        speech = say(markup)
        assert speech
        assert "  " not in speech
        assert not re.search(r"[,;:]\s*[,;:]", speech), speech
        assert not re.search(r"\s[,;:]", speech), speech
        assert speech == speech.strip(" ,;:")
