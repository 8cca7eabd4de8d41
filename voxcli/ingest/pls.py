"""W3C Pronunciation Lexicon Specification (PLS 1.0) files, as EPUB 3 books carry them."""

from __future__ import annotations

from lxml import etree

from voxcli.book import Pronunciation
from voxcli.ingest.archive import safe_xml_parser

PLS_NS = "http://www.w3.org/2005/01/pronunciation-lexicon"


def parse_pls(data: bytes, book_lang: str = "") -> list[Pronunciation]:
    """The lexemes of a PLS document, in IPA (x-sampa is converted); an ``alias`` is kept as a respelling.

    A lexicon in another language than the book's (primary subtags differ) gives nothing. Raises
    ValueError for a document that is not PLS.
    """
    try:
        root = etree.fromstring(data, parser=safe_xml_parser(recover=False))
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not well-formed XML ({exc})") from exc
    if _local(root) != "lexicon":
        raise ValueError("not a PLS lexicon (no <lexicon> root)")
    lang = (root.get("{http://www.w3.org/XML/1998/namespace}lang") or "").lower()
    if lang and book_lang and lang.split("-")[0] != book_lang.lower().split("-")[0]:
        return []
    alphabet = (root.get("alphabet") or "ipa").strip().lower()
    found: list[Pronunciation] = []
    for lexeme in root:
        if _local(lexeme) != "lexeme":
            continue
        graphemes = [_text(el) for el in lexeme if _local(el) == "grapheme" and _text(el)]
        ipa = _phoneme(lexeme, alphabet)
        aliases = [_text(el) for el in lexeme if _local(el) == "alias" and _text(el)]
        if not (ipa or aliases):
            continue
        found += [Pronunciation(g, ipa, aliases[0] if aliases else "") for g in graphemes]
    return found


def _phoneme(lexeme: etree._Element, alphabet: str) -> str:
    """The preferred ``<phoneme>`` of a lexeme (``prefer="true"``, else the first), in IPA; "" if none."""
    phonemes = [el for el in lexeme if _local(el) == "phoneme" and _text(el)]
    phonemes.sort(key=lambda el: (el.get("prefer") or "").lower() != "true")
    for el in phonemes:
        kind = (el.get("alphabet") or alphabet).strip().lower()
        if kind == "ipa":
            return _text(el)
        if kind == "x-sampa":
            from voxcli.lexicon.ipa import xsampa_to_ipa

            try:
                return xsampa_to_ipa(_text(el))
            except ValueError:
                continue
    return ""


def _local(el: etree._Element) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(el: etree._Element) -> str:
    return " ".join("".join(str(t) for t in el.itertext()).split())
