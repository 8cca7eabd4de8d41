"""The book's own pronunciations in forms the corpus lacks: X-SAMPA, aliases, preferred phonemes,
lexicons in another language, nested SSML."""

from __future__ import annotations

import zipfile
from pathlib import Path

from voxcli.book import Pronunciation
from voxcli.ingest import read_book
from voxcli.ingest.pls import parse_pls

PLS = """<?xml version="1.0" encoding="UTF-8"?>
<lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon"
         alphabet="{alphabet}" xml:lang="{lang}">
  <lexeme><grapheme>Queequeg</grapheme><phoneme>{queequeg}</phoneme></lexeme>
  <lexeme><grapheme>Ahab</grapheme><grapheme>AHAB</grapheme><phoneme>"eIh{{b</phoneme>
    <phoneme prefer="true">"eI%h{{b</phoneme></lexeme>
  <lexeme><grapheme>W3C</grapheme><alias>World Wide Web Consortium</alias></lexeme>
  <lexeme><grapheme>Empty</grapheme></lexeme>
</lexicon>"""

XHTML = """<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"
      xmlns:ssml="http://www.w3.org/2001/10/synthesis" xml:lang="en"><head><title>One</title>
<link rel="pronunciation" type="application/pls+xml" href="lex.pls"/></head>
<body><h1>One</h1>
<p ssml:alphabet="x-sampa">Queequeg met <span ssml:ph="&quot;eIh{b">Ahab</span> and
<em ssml:ph="tS@&quot;rOki"><b>the</b> Cherokee</em> at the W3C.</p>
<p>A <span ssml:ph="ʃɪp">ship</span> sailed.</p>
</body></html>"""


def epub(path: Path, pls: str) -> Path:
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        book.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:'
            'container"><rootfiles><rootfile full-path="OPS/package.opf" '
            'media-type="application/oebps-package+xml"/></rootfiles></container>',
        )
        book.writestr(
            "OPS/package.opf",
            '<?xml version="1.0" encoding="UTF-8"?><package xmlns="http://www.idpf.org/2007/opf" '
            'version="3.0" unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
            '<dc:title>T</dc:title><dc:language>en-US</dc:language><dc:identifier id="id">x</dc:identifier>'
            '<meta property="dcterms:modified">2024-01-01T00:00:00Z</meta></metadata><manifest>'
            '<item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/>'
            '<item id="lex" href="lex.pls" media-type="application/pls+xml"/>'
            '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
            '</manifest><spine><itemref idref="c1"/></spine></package>',
        )
        book.writestr(
            "OPS/nav.xhtml",
            '<?xml version="1.0" encoding="UTF-8"?><html xmlns="http://www.w3.org/1999/xhtml" '
            'xmlns:epub="http://www.idpf.org/2007/ops"><head><title>C</title></head><body>'
            '<nav epub:type="toc"><ol><li><a href="c1.xhtml">One</a></li></ol></nav></body></html>',
        )
        book.writestr("OPS/c1.xhtml", XHTML)
        book.writestr("OPS/lex.pls", pls)
    return path


def test_x_sampa_lexicons_and_ssml_become_ipa(tmp_path: Path) -> None:
    pls = PLS.format(alphabet="x-sampa", lang="en", queequeg='"kwi:kwEg')
    book = read_book(str(epub(tmp_path / "b.epub", pls)))
    # X-SAMPA by its specification: " primary stress, : length, E open-mid front, { near-open front,
    # g the IPA script g (U+0261).
    assert book.lexicon == (
        Pronunciation("Queequeg", "ˈkwiːkwɛɡ"),
        Pronunciation("Ahab", "ˈeɪˌhæb"),  # the preferred phoneme
        Pronunciation("AHAB", "ˈeɪˌhæb"),
        Pronunciation("W3C", "", "World Wide Web Consortium"),  # an alias is a respelling
    )
    (chapter,) = book.chapters
    first, second = chapter.paragraphs[1], chapter.paragraphs[2]
    assert first == "Queequeg met Ahab and the Cherokee at the W3C."
    marks = chapter.marks_of(1)
    assert [(first[m.start : m.end], m.ipa) for m in marks] == [
        ("Ahab", "ˈeɪhæb"),
        ("the Cherokee", "tʃəˈrɔki"),
    ]
    # The document's own alphabet is IPA: the second paragraph's ph is taken as it is.
    assert [(second[m.start : m.end], m.ipa) for m in chapter.marks_of(2)] == [("ship", "ʃɪp")]


def test_a_lexicon_in_another_language_is_not_used(tmp_path: Path) -> None:
    pls = PLS.format(alphabet="ipa", lang="fr", queequeg="kekɛɡ")
    assert read_book(str(epub(tmp_path / "b.epub", pls))).lexicon == ()
    assert parse_pls(pls.encode(), "en-US") == []
    assert len(parse_pls(pls.encode(), "fr-CA")) == 1 + 2 + 1  # x-sampa-less IPA lexemes are read as they are


def test_a_broken_lexicon_costs_a_warning(tmp_path: Path) -> None:
    book = read_book(str(epub(tmp_path / "b.epub", "<lexicon><lexeme>")))
    assert book.lexicon == ()
    assert any("lex.pls" in w and "not used" in w for w in book.warnings)
    assert book.chapters[0].paragraphs[1].startswith("Queequeg met Ahab")
