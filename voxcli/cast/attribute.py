"""Who says each quote, from the text alone (English): no model, no network, reviewable rules.

1. A speech verb beside a name, a description or a pronoun: ``“…,” said Holmes``, ``Holmes
   remarked``, ``said the landlord``, ``cried he``, ``Peleg said, “…”``.
2. The rest of a speech: a quote in the same paragraph as an attributed one (``“Well,” said he, “I
   think so.”``), or the next paragraph of a speech left open.
3. Pronouns: the character named last before the quote.
4. Turns: in an exchange of quote-only paragraphs, speakers alternate; the character a quote
   addresses by name ("Sir, …", "…, Peleg?") is not its speaker.
Whatever stays unresolved is None ("unknown"), never a guess.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from voxcli.cast.quotes import Quote

NARRATOR_I = "I"  # the first-person narrator speaking

_VERBS = (
    "said|says|say|asked|asks|ask|cried|cries|replied|replies|answered|answers|shouted|shouts|exclaimed|"
    "whispered|whispers|muttered|mutters|remarked|added|adds|continued|continues|returned|rejoined|"
    "observed|called|calls|roared|roars|growled|sang|sings|demanded|inquired|enquired|yelled|screamed|"
    "murmured|sighed|laughed|repeated|interrupted|protested|urged|insisted|explained|declared|stammered|"
    "groaned|responded|began|resumed|concluded|suggested|commanded|ordered|sobbed|shrieked|gasped|"
    "grumbled|retorted|chuckled|piped|squeaked|boomed|hissed|snapped|begged|pleaded|bawled|"
    "howled|grunted|snorted|sneered|mumbled|faltered|ventured|echoed|thought|thinks|think|"
    "went on|broke in|cried out|called out|sung out|sang out|said to himself|said to herself"
)
_TITLES = (
    "Mr|Mrs|Ms|Miss|Dr|St|Captain|Capt|Sir|Lady|Lord|King|Queen|Prince|Princess|Old|Little|Aunt|"
    "Uncle|Father|Mother|Master|Mistress|Madame|Monsieur|Don|Brother|Sister|Grandmother|Grandfather"
)
_NAME = rf"(?:(?:{_TITLES})\.?\s+)?[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)?"
_STOP = (
    r"(?:to|and|or|with|in|as|at|of|on|for|from|who|that|but|when|while|then|he|she|it|his|her|him|them|"
    r"into|upon|again|now)"
)
_DETERMINER = r"(?:the|a|an|its|his|her|their|both|all\s+the|all)"
_DESCRIPTION = rf"{_DETERMINER}(?:\s+(?!{_STOP}\b)[a-z][a-z-]*){{1,3}}"
_PRONOUN = r"he|she|they|I|it|we"
_SUBJECT = rf"(?P<who>(?:the\s+(?:[a-z-]+\s+){{0,2}})?{_NAME}|{_DESCRIPTION}|{_PRONOUN})"
_ADVERB = r"(?:(?:again|then|now|at\s+last|at\s+length|once\s+more|\w+ly)\s+)?"
_AFTER_VERB = re.compile(rf"^[\s,;:—–-]*{_ADVERB}(?:{_VERBS})\s+{_SUBJECT}(?![\w’'])")
_BEFORE_VERB = re.compile(rf"^[\s,;:—–-]*{_SUBJECT}\s+(?:\w+ly\s+)?(?:{_VERBS})(?![\w’'])")
_LEADS_IN = re.compile(
    rf"{_SUBJECT}\s+(?:\w+ly\s+)?(?:{_VERBS})(?:\s+(?:to|unto)\s+\w+(?:\s+\w+)?)?\s*[,:—–-]?\s*$"
)
_NOT_NAMES = frozenset(
    [
        "But",
        "And",
        "Then",
        "When",
        "What",
        "Now",
        "So",
        "Yet",
        "Or",
        "Nor",
        "For",
        "If",
        "As",
        "Here",
        "There",
        "This",
        "That",
        "These",
        "Those",
        "Well",
        "Oh",
        "Ah",
        "Aye",
        "Yes",
        "No",
        "Not",
        "Still",
        "Again",
        "Thus",
        "Once",
        "Soon",
        "At",
        "In",
        "On",
        "Upon",
        "Of",
        "To",
        "With",
        "Without",
        "By",
        "From",
        "Into",
        "Such",
        "Some",
        "Any",
        "All",
        "Every",
        "Each",
        "Our",
        "Your",
        "Their",
        "His",
        "Her",
        "Its",
        "My",
        "The",
        "A",
        "An",
        "One",
        "Two",
        "Three",
        "God",
        "Heaven",
        "Lord",
    ]
)
_TITLE_WORDS = frozenset(re.sub(r"\\.", "", _TITLES).split("|"))
_CAPITALISED = re.compile(rf"(?<![\w’'])({_NAME})")


@dataclass(frozen=True)
class Line:
    """A quote and who says it (None: unknown)."""

    quote: Quote
    speaker: str | None
    how: str  # "verb", "speech", "pronoun", "turns", or "unknown"


def canonical(name: str) -> str:
    """One name per character: titles dropped ("Captain Peleg" -> "Peleg"), descriptions lower case."""
    words = name.replace(".", "").split()
    if words and words[0] in ("he", "she", "they", "it", "we"):
        return words[0]
    if name == NARRATOR_I or not words:
        return name
    if words[0] in ("the", "a", "an", "its", "his", "her", "their", "both", "all"):
        capitals = [w for w in words if w[:1].isupper() and w not in _TITLE_WORDS]
        if capitals:
            return capitals[-1]
        while len(words) > 2 and words[-1].endswith("ly"):  # "the negro slowly": not part of the name
            words.pop()
        return " ".join(words).lower()
    kept = [w for w in words if w not in _TITLE_WORDS] or words
    return kept[-1].rstrip("’'s") if len(kept) > 1 else kept[0]


def attribute(
    paragraphs: Sequence[str], quotes: Sequence[Quote], known: Counter[str] | None = None
) -> list[Line]:
    """Speakers for ``quotes`` (from :func:`voxcli.cast.quotes.find_quotes` on ``paragraphs``).

    ``known``: names already attributed elsewhere in the book (pronouns resolve only to these).
    """
    speakers: list[str | None] = []
    how: list[str] = []
    for index in range(len(quotes)):
        found = _by_verb(paragraphs, quotes, index)
        speakers.append(found)
        how.append("verb" if found else "unknown")
    names = Counter(s for s in speakers if s and s not in ("he", "she", "they", "it", "we"))
    names.update(known or Counter())
    _speeches(quotes, speakers, how)
    _pronouns(paragraphs, quotes, speakers, how, names)
    _speeches(quotes, speakers, how)
    _turns(paragraphs, quotes, speakers, how)
    return [
        Line(
            q,
            s if s not in ("he", "she", "they", "it", "we") else None,
            h if s and s not in ("he", "she", "they", "it", "we") else "unknown",
        )
        for q, s, h in zip(quotes, speakers, how, strict=True)
    ]


def _by_verb(paragraphs: Sequence[str], quotes: Sequence[Quote], index: int) -> str | None:
    quote = quotes[index]
    text = paragraphs[quote.paragraph]
    following = [q for q in quotes[index + 1 :] if q.paragraph == quote.paragraph]
    tail = text[quote.end : following[0].start if following else len(text)]
    for pattern in (_AFTER_VERB, _BEFORE_VERB):
        match = pattern.match(tail)
        if match and _is_speaker(match.group("who")):
            return canonical(match.group("who"))
    before = [q for q in quotes[:index] if q.paragraph == quote.paragraph]
    head = text[before[-1].end if before else 0 : quote.start]
    match = _LEADS_IN.search(head)
    if match and _is_speaker(match.group("who")):
        return canonical(match.group("who"))
    return None


def _is_speaker(who: str) -> bool:
    first = who.split()[0]
    return first not in _NOT_NAMES or who in ("I",)


def _speeches(quotes: Sequence[Quote], speakers: list[str | None], how: list[str]) -> None:
    """The rest of a speech: the paragraph's other quotes, and a speech's next paragraphs."""
    for _ in range(2):
        by_paragraph: dict[int, str] = {}
        for quote, speaker in zip(quotes, speakers, strict=True):
            if speaker and speaker not in ("he", "she", "they", "it", "we"):
                by_paragraph.setdefault(quote.paragraph, speaker)
        for index, quote in enumerate(quotes):
            if speakers[index] is None and quote.paragraph in by_paragraph:
                speakers[index], how[index] = by_paragraph[quote.paragraph], "speech"
            if (
                index > 0
                and speakers[index] is None
                and not quotes[index - 1].closed
                and quotes[index - 1].paragraph == quote.paragraph - 1
                and quote.start == 0
                and quote.mark == quotes[index - 1].mark
            ):
                speakers[index], how[index] = speakers[index - 1], "speech"
        for index in range(len(quotes) - 2, -1, -1):  # a speech attributed in its last paragraph
            quote, after = quotes[index], quotes[index + 1]
            if (
                speakers[index] is None
                and not quote.closed
                and after.paragraph == quote.paragraph + 1
                and after.start == 0
                and speakers[index + 1]
            ):
                speakers[index], how[index] = speakers[index + 1], "speech"


def _pronouns(
    paragraphs: Sequence[str],
    quotes: Sequence[Quote],
    speakers: list[str | None],
    how: list[str],
    names: Counter[str],
) -> None:
    """he/she/they: the known character named last before the quote (in narration, this paragraph or
    the three before it)."""
    for index, quote in enumerate(quotes):
        if speakers[index] not in ("he", "she", "they"):
            continue
        window = [paragraphs[p] for p in range(max(0, quote.paragraph - 3), quote.paragraph)]
        window.append(paragraphs[quote.paragraph][: quote.start])
        text = " ".join(window)
        mentioned = [(m.start(), canonical(m.group(1))) for m in _CAPITALISED.finditer(text)]
        mentioned = [(at, m) for at, m in mentioned if m in names]
        for name in names:  # descriptions ("the landlord") that speak elsewhere
            if name.islower() and " " in name:
                mentioned += [
                    (m.start(), name) for m in re.finditer(rf"\b{re.escape(name)}\b", text, re.IGNORECASE)
                ]
        if mentioned:
            speakers[index], how[index] = max(mentioned)[1], "pronoun"


def _turns(
    paragraphs: Sequence[str], quotes: Sequence[Quote], speakers: list[str | None], how: list[str]
) -> None:
    """An exchange (consecutive paragraphs that all hold quotes): a quote-only paragraph nobody is
    named for is spoken by the nearest attributed turn's speaker when it is an even number of turns
    away, and by that speaker's partner when odd. The partner is the other speaker named in the
    exchange, else the nearest other speaker within 20 paragraphs."""
    first_in: dict[int, int] = {}
    for index, quote in enumerate(quotes):
        first_in.setdefault(quote.paragraph, index)

    def speaker_of(paragraph: int) -> str | None:
        index = first_in.get(paragraph)
        return speakers[index] if index is not None else None

    def only_quotes(paragraph: int) -> bool:
        text = paragraphs[paragraph]
        spoken = "".join(text[q.start : q.end] for q in quotes if q.paragraph == paragraph)
        return len(re.sub(r"\W", "", text)) - len(re.sub(r"\W", "", spoken)) <= 2

    runs: list[list[int]] = []
    for paragraph in sorted(first_in):
        if runs and runs[-1][-1] == paragraph - 1:
            runs[-1].append(paragraph)
        else:
            runs.append([paragraph])
    for run in runs + runs:  # twice: a later exchange's speakers can name an earlier one's partner
        anchors = {p: speaker_of(p) for p in run if speaker_of(p)}
        if not anchors:
            continue
        for paragraph in run:
            if speaker_of(paragraph) or not only_quotes(paragraph):
                continue
            nearest = min(anchors, key=lambda p: (abs(p - paragraph), p))
            speaker = anchors[nearest]
            assert speaker is not None
            if (paragraph - nearest) % 2:
                partner = _partner(speaker, nearest, anchors, speakers, quotes)
                if partner is None:
                    continue
                speaker = partner
            if _addresses(paragraphs[paragraph], quotes[first_in[paragraph]], speaker):
                continue
            for other in range(first_in[paragraph], len(quotes)):
                if quotes[other].paragraph != paragraph:
                    break
                speakers[other], how[other] = speaker, "turns"


def _partner(
    speaker: str, at: int, anchors: dict[int, str | None], speakers: list[str | None], quotes: Sequence[Quote]
) -> str | None:
    """The other party of an exchange: another speaker of the run, else the nearest one around it."""
    others = sorted((abs(p - at), s) for p, s in anchors.items() if s and s != speaker)
    if others:
        return others[0][1]
    around = sorted(
        (abs(q.paragraph - at), s)
        for q, s in zip(quotes, speakers, strict=True)
        if s and s != speaker and s not in ("he", "she", "they", "it", "we") and abs(q.paragraph - at) <= 20
    )
    return around[0][1] if around else None


def _addresses(text: str, quote: Quote, name: str) -> bool:
    """Whether the quote calls ``name`` by name (then ``name`` is not the one speaking)."""
    spoken = text[quote.text_start : quote.text_end]
    return re.search(rf"(?:^|[,;!?]\s*)(?:\w+\s+)?{re.escape(name)}(?:[,!?.:;—]|$)", spoken) is not None
