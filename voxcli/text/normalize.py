"""Rewrite book text so a speech engine reads it aloud as a person would.

Language-neutral steps run for every language: typography (curly quotes, dashes, ellipses,
invisible characters, whitespace) and URLs/e-mail addresses. Numbers are spelled out with
num2words where it knows the language; English also gets currency, times, years, ordinals,
abbreviations, roman numerals in headings and symbols, and French and German their own numbers,
ordinals, dates and times (voxcli.text.normalize_fr_de). Every rule rewrites a token into its
spoken form and never deletes words, so a listener hears everything the reader would see.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from num2words import CONVERTER_CLASSES, num2words  # type: ignore[import-untyped]

__all__ = ["has_number_rules", "normalize"]

# --- typography (all languages) ------------------------------------------------------------------
# Invisible characters go, as the readers in voxcli.ingest drop them; zero-width joiners (U+200C/D)
# stay: they shape Indic and Persian script and emoji.
_TYPO = str.maketrans(
    {
        "\u00ad": None,
        "\u200b": None,
        "\u2060": None,
        "\ufeff": None,
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u2026": "...",
        "\u2010": "-",
        "\u2011": "-",
        "\u2212": "-",
    }
)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")
_SPACES = re.compile(r"\s+")
_SPACED_ELLIPSIS = re.compile(r"\.(?: \.){2,}")
_NUM_DASH = re.compile(r"(?<=\d) ?[‒–—―] ?(?=\d)")  # 1914–1918: a range, read by the number rules
_WORD_EN_DASH = re.compile(r"(?<=[^\W\d_])–(?=[^\W\d_])")  # London–Paris: a compound, like a hyphen
_DASH = re.compile(r" ?(?:[‒–—―]|-{2,}|(?:(?<= )|^)-(?= |$))(?: ?(?:[‒–—―]|-{2,}))* ?")
_OPENERS, _CLOSERS, _STOPS = "([{«¿¡", ")]}»", ".,;:!?"

# --- URLs and e-mail (all languages) -------------------------------------------------------------
_URL_CHARS = r"[^\s<>\"'()\[\]{}‒–—―]"
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(rf"\b(?:(?:https?|ftp)://|www\.){_URL_CHARS}+", re.IGNORECASE)
_DOMAIN = re.compile(rf"(?<![\w.@/-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?:/{_URL_CHARS}*)?")
_TLDS = frozenset({"com", "org", "net", "edu", "gov", "io", "uk", "info", "biz", "dev"})
_SCHEME = re.compile(r"^(?:(?:https?|ftp)://)?(?:www\.)?", re.IGNORECASE)
_URL_SPLIT = re.compile(r"([./@_:?=&#~%+-])")
_URL_WORDS = {
    "en": {
        ".": "dot",
        "/": "slash",
        "@": "at",
        "-": "dash",
        "_": "underscore",
        ":": "colon",
        "?": "question mark",
        "=": "equals",
        "&": "and",
        "#": "hash",
        "~": "tilde",
        "%": "percent",
        "+": "plus",
    },
    "fr": {".": "point", "/": "slash", "@": "arobase", "-": "tiret", "_": "tiret bas"},
    "de": {".": "Punkt", "/": "Schrägstrich", "@": "at", "-": "Bindestrich", "_": "Unterstrich"},
    "es": {".": "punto", "/": "barra", "@": "arroba", "-": "guion", "_": "guion bajo"},
    "it": {".": "punto", "/": "barra", "@": "chiocciola", "-": "trattino"},
    "pt": {".": "ponto", "/": "barra", "@": "arroba", "-": "hífen"},
    "nl": {".": "punt", "/": "schuine streep", "@": "apenstaartje", "-": "streepje"},
}

# --- English ---------------------------------------------------------------------------------------
_NUM = r"\d{1,3}(?:,\d{3})+(?!\d)|\d+"  # 1,000,000 or plain digits
_NUMBER = rf"(?:(?<![\w.,-])(-))?(?<!\d)({_NUM})(?:\.(\d+))?"  # groups: sign, whole, fraction
_ABBREVIATIONS = {
    "Mr": "Mister",
    "Mrs": "Missus",
    "Ms": "Miz",
    "Prof": "Professor",
    "Gen": "General",
    "Capt": "Captain",
    "Lt": "Lieutenant",
    "Col": "Colonel",
    "Sgt": "Sergeant",
    "Jr": "Junior",
    "Sr": "Senior",
    "Rev": "Reverend",
    "Gov": "Governor",
    "Mt": "Mount",
    "vs": "versus",
    "etc": "et cetera",
    "Etc": "Et cetera",
    "approx": "approximately",
    "e.g": "for example",
    "E.g": "For example",
    "i.e": "that is",
    "I.e": "That is",
    "No": "number",
    "Nos": "numbers",
    "Vol": "Volume",
}
_ABBR = re.compile(
    r"(?<![\w.])("
    + "|".join(re.escape(k) for k in sorted(_ABBREVIATIONS, key=len, reverse=True))
    + r"|St|Dr)\."
)
_TITLE_OR_STREET = {"St": ("Saint", "Street"), "Dr": ("Doctor", "Drive")}
_SENTENCE_FINAL = frozenset({"etc", "Etc", "Jr", "Sr"})  # these often end a sentence; titles never do
_BEFORE_NUMBER = frozenset({"No", "Nos", "Vol"})  # only abbreviations when a number follows
_NUMBER_AHEAD = re.compile(r" ?\d")
_ROMAN_AHEAD = re.compile(r" ?[IVXLCDM]+\b")
_TEXT_END = re.compile(r"[\"')\]]*\s*$")
_NEW_SENTENCE = re.compile(r"[\"')\]]* [\"'(\[]*[A-Z]")
_CAPITAL_AHEAD = re.compile(r" ?[A-Z]")
_PREV_WORD = re.compile(r"(\S+) $")
_ROMAN = re.compile(r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")
_HEADINGS = (
    "Chapter",
    "Book",
    "Part",
    "Volume",
    "Act",
    "Scene",
    "Canto",
    "Section",
    "Letter",
    "Appendix",
    "Lesson",
    "Psalm",
    "Article",
    "Stave",
)
_HEADING = re.compile(r"\b(" + "|".join(f"{w}|{w.upper()}" for w in _HEADINGS) + r") ([IVXLCDM]+)\b(?!['-])")
_RULERS = (
    "Henry",
    "Edward",
    "George",
    "William",
    "Richard",
    "James",
    "Charles",
    "Louis",
    "Elizabeth",
    "Mary",
    "Anne",
    "John",
    "Philip",
    "Frederick",
    "Napoleon",
    "Peter",
    "Catherine",
    "Alexander",
    "Nicholas",
    "Ferdinand",
    "Pius",
    "Leo",
    "Gregory",
    "Benedict",
    "Innocent",
    "Clement",
    "Boniface",
    "Urban",
    "Malcolm",
    "David",
    "Robert",
    "Ramesses",
    "Ptolemy",
    "Wilhelm",
)
# A lone "I" after a name is usually the pronoun ("said Henry I think"), unless nothing follows.
_RULER = re.compile(r"\b(" + "|".join(_RULERS) + r") ([IVX]{2,}|I(?= ?[,.;:!?)\"]| ?$))\b(?!['-])")
_ROMAN_LEAD = re.compile(r"^([IVXLC]{2,})(?=\.(?: [A-Z]|$)|$)")  # "XII. The End", a heading alone
_CURRENCY = re.compile(rf"([$£€¥]) ?({_NUM})(?:\.(\d+))?(?: (million|billion|trillion|thousand)|(bn|m|k))?\b")
_CURRENCY_AFTER = re.compile(rf"(?<![\w.,])({_NUM})(?:\.(\d\d))? ?([€£])")
_MONEY = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", "sen", "sen"),
}
_SCALES = {"k": "thousand", "m": "million", "bn": "billion"}
_PERCENT = re.compile(_NUMBER + r" ?%")
_DEGREES = re.compile(_NUMBER + r" ?° ?([CF])?(?![A-Za-z])")
_HASH = re.compile(rf"(?<![\w&])# ?({_NUM})")
_AMPM = r"(?: ?([ap]\.?m|[AP]\.?M)\b\.?)"  # "am", "a.m.", "AM"; not "Am", which starts a sentence
_TIME = re.compile(rf"(?<![\d:.])([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?(?![\d:]){_AMPM}?")
_HOUR = re.compile(rf"(?<![\d:.,])(1[0-2]|0?[1-9]){_AMPM}")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTH_NAMES = "|".join(_MONTHS + tuple(m.upper() for m in _MONTHS))  # headstones and title pages shout
_MONTH_ABBR = {m[:3]: m for m in _MONTHS} | {m[:3].upper(): m.upper() for m in _MONTHS}
_MONTH_ABBR["Sept"] = "September"
_YEAR = r"(1\d{3}|20\d{2})(?![\w%]|[.,:]\d)"
_MONTH_DAY = re.compile(
    rf"\b({_MONTH_NAMES}|(?:" + "|".join(_MONTH_ABBR) + r")\.) (\d{1,2})"
    rf"(?:st|nd|rd|th|d)?(?![\w:]|[.,]\d)(?:(,? ){_YEAR})?"
)
_YEAR_CONTEXT = re.compile(
    r"\b((?i:in|of|since|until|till|by|from|to|during|after|before|around|circa|anno"
    r"|c\.|ca\.|years?|early|late|mid|spring|summer|autumn|fall|winter|born|died)|"
    rf"{_MONTH_NAMES})(,? |-){_YEAR}"
)
_YEAR_CITATION = re.compile(r"(?<=[A-Za-z], )(1\d{3}|20\d{2})(?=[.,;)\]]|$)")  # (London, 1712)
_ERA_AFTER = re.compile(r"(?<![\w.,])(\d{1,4}) ?(B\.?C\.?E\.?|B\.?C\.?|A\.?D\.?|C\.?E\.?)(?![A-Za-z])")
_ERA_BEFORE = re.compile(r"(?<![\w.])(A\.?D\.?) (\d{1,4})(?!\w|[.,]\d)")
_PLURAL = re.compile(r"(?<![\w.,])('?)(\d+)'?s\b")
_SPACED_YEARS = re.compile(r"(?<![\w.,-])(1\d{3}|20\d{2}) - (?=(?:1\d{3}|20\d{2})(?![\w-]|[.,]\d))")
_MINUS = re.compile(r"(?<=\d) - (?=\d)")  # "10 - 5": arithmetic, once spaced years are taken as ranges
_RANGE = re.compile(r"(?<![\w.,-])(\d+)-(\d+)(?![\w-]|[.,]\d)")
_ORDINAL = re.compile(rf"(?<!\d)({_NUM})(?:st|nd|rd|th|ST|ND|RD|TH|(?<=[23])d)\b")
_VULGAR = re.compile(r"(?:(?<!\d)(\d+) ?)?([½⅓⅔¼¾⅛⅜⅝⅞])")
_VULGARS = {
    "½": (1, 2),
    "⅓": (1, 3),
    "⅔": (2, 3),
    "¼": (1, 4),
    "¾": (3, 4),
    "⅛": (1, 8),
    "⅜": (3, 8),
    "⅝": (5, 8),
    "⅞": (7, 8),
}
_FRACTION = re.compile(r"(?<![\w/.,])([1-9])/([2-9]|10)(?![\w/]|[.,]\d)")
_PLUS_BETWEEN = re.compile(r"(?<=\d) ?\+ ?(?=\d)")
_PLUS_SIGN = re.compile(r"(?<![\w+])\+(?=\d)")
_SYMBOL = re.compile(r"=+|§§?|[×&@%]")
_SYMBOL_WORDS = {"§": "section", "§§": "sections", "×": "times", "&": "and", "@": "at", "%": "percent"}
_DOTTED = re.compile(r"(?<![\w.,])\d+(?:\.\d+){2,}(?![\w]|\.\d)")  # versions, sections: 1.2.3
_LEADING_POINT = re.compile(r"(?<![\w.,])\.(\d+)")
_NUMBER_RE = re.compile(_NUMBER)
_DIGITS = re.compile(r"\d+")
_OTHER_INT = re.compile(r"(?<![\w.,:/-])\d+(?![\w]|[.,:/-]\d)")
_YEAR_LANGS = frozenset({"de", "nl"})  # languages whose years are not read as plain cardinals
_OWN_RULES = frozenset({"fr", "de"})  # languages with their own number rules in normalize_fr_de


def normalize(text: str, lang: str = "en-us") -> str:
    """Rewrite one sentence or short paragraph of `text` into words a TTS engine reads correctly.

    `lang` is a BCP-47-like tag ("en-us", "en-gb", "fr", "de"). Typography, whitespace and URLs are
    handled for every language; numbers for languages num2words knows; currency, times, dates and
    ordinals for English, French and German; abbreviations and symbols for English. Never raises and
    never drops a word.
    """
    try:
        primary, code = _language(lang)
        spoken = _neutral(text, primary)
    except Exception:  # a bug here must cost one sentence's polish, never the whole book
        return " ".join(str(text).split())
    if code is None:
        return spoken
    try:
        if primary == "en":
            return _english(spoken, code)
        if primary in _OWN_RULES:
            # imported here: normalize_fr_de builds on this module's number helpers
            from voxcli.text.normalize_fr_de import speak_numbers

            return speak_numbers(spoken, primary, code)
        return _numbers_other(spoken, primary, code)
    except Exception:  # same: fall back to the typographically cleaned text
        return spoken


def has_number_rules(lang: str) -> bool:
    """Whether `normalize` spells out the numbers of `lang` (num2words knows it); if not they stay digits."""
    return _language(lang)[1] is not None


def _language(lang: str) -> tuple[str, str | None]:
    """The primary subtag and the num2words code for `lang` (None where num2words has no rules)."""
    primary, _, region = lang.strip().lower().replace("_", "-").partition("-")
    for code in (f"{primary}_{region.upper()}", primary):
        if code in CONVERTER_CLASSES:
            return primary, code
    return primary, None


_ROMAN_WORD = re.compile(r"^[IVXLCDM]+$")
_LETTERS = re.compile(r"[^\W\d_]+")


def _unshout(text: str) -> str:
    """A text in capitals ("193 THE EMPEROR'S NEW CLOTHES", a heading) in normal case: engines spell
    capital words out as letters ("N-E-W"). Roman numerals stay, and so does anything with a small letter
    (an acronym in a sentence is read as the book meant it)."""
    words = _LETTERS.findall(text)
    if len(words) < 3 or any(not w.isupper() for w in words):  # "AT&T", "BOOK XII" stay as they are
        return text
    return re.sub(
        r"[^\W\d_]+(?:'[^\W\d_]+)*",
        lambda m: m.group(0) if _ROMAN_WORD.match(m.group(0)) else m.group(0).capitalize(),
        text,
    )


def _neutral(text: str, primary: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(_TYPO)
    text = _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()
    text = _unshout(text)
    text = _SPACED_ELLIPSIS.sub("...", text)
    words = _URL_WORDS.get(primary, {})
    text = _EMAIL.sub(lambda m: _speak_address(m.group(0), words), text)
    text = _URL.sub(lambda m: _url(m, words, check_tld=False), text)
    text = _DOMAIN.sub(lambda m: _url(m, words, check_tld=True), text)
    text = _WORD_EN_DASH.sub("-", _NUM_DASH.sub("-", text))
    text = _DASH.sub(_dash, text)
    return _SPACES.sub(" ", text).strip()


def _speak_address(address: str, words: dict[str, str]) -> str:
    parts = (words.get(p) or _URL_WORDS["en"].get(p) or p for p in _URL_SPLIT.split(address) if p)
    return " ".join(parts)


def _url(m: re.Match[str], words: dict[str, str], *, check_tld: bool) -> str:
    url = m.group(0)
    body = url.rstrip(_STOPS)  # a URL ending a sentence keeps the sentence's full stop
    tail = url[len(body) :]
    host = body.split("/", 1)[0]
    if check_tld and host.rsplit(".", 1)[-1] not in _TLDS:
        return url  # "e.g", "S.J", "1.5": dotted tokens that are not addresses
    body = _SCHEME.sub("", body).rstrip("/")
    return _speak_address(body, words) + tail if body else url


def _dash(m: re.Match[str]) -> str:
    """A dash between words becomes a comma pause; at the edges of a clause it just goes."""
    s, (start, end) = m.string, m.span()
    left, right = s[start - 1] if start else "", s[end] if end < len(s) else ""
    if m.group(0).strip() == "-" and left.isdigit() and right.isdigit():
        return m.group(0)  # "10 - 5" is arithmetic
    if not left or left in _OPENERS or (left in "\"'" and (start < 2 or s[start - 2] in " ([{")):
        return ""  # a dialogue or list dash opening the text or a quotation
    closing_quote = right in "\"'" and (end + 1 >= len(s) or s[end + 1] in " " + _STOPS + _CLOSERS)
    if not right or right in _CLOSERS or right in _STOPS or closing_quote:
        return "..." if left.isalnum() and right not in _STOPS else ""  # broken-off speech trails off
    return " " if left in _STOPS else ", "


# --- numbers ---------------------------------------------------------------------------------------
@lru_cache(maxsize=8192)
def _words(n: int, code: str, to: str = "cardinal") -> str:
    try:
        # num2words writes "one thousand, two hundred": the commas would make the engine pause
        return str(num2words(n, lang=code, to=to)).replace(",", "")
    except Exception:  # num2words raises assorted errors on values a language cannot say
        return str(n)


def _digits(digits: str, code: str) -> str:
    return " ".join(_words(int(d), code) for d in digits)


def _integer(digits: str, code: str) -> str:
    digits = digits.replace(",", "")
    if (len(digits) > 1 and digits[0] == "0") or len(digits) > 15:
        return _digits(digits, code)  # codes, phone and serial numbers are read digit by digit
    return _words(int(digits), code)


def _number(whole: str | None, frac: str | None, code: str, sign: str | None = None) -> str:
    words = _integer(whole, code) if whole else ""
    if frac:
        words = f"{words} point {_digits(frac, code)}".strip()
    return f"minus {words}" if sign else words


def _is_year(digits: str) -> bool:
    return len(digits) == 4 and digits[0] in "12" and 1000 <= int(digits) <= 2099


def _year(digits: str, code: str) -> str:
    return _words(int(digits), code, "year")


def _plural(words: str) -> str:
    head, _, last = words.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + ("es" if last.endswith("x") else "s")
    if head == "one" and last in {"hundreds", "thousands", "millions", "billions"}:
        return last  # 1000s: "thousands"
    return f"{head} {last}".strip()


def _pad(m: re.Match[str], words: str) -> str:
    """Keep spoken words apart from letters they were glued to ("MP3", "3D", "5kg")."""
    s, (start, end) = m.string, m.span()
    before = " " if start and s[start - 1].isalnum() else ""
    after = " " if end < len(s) and s[end].isalnum() else ""
    return f"{before}{words}{after}"


def _numbers_other(text: str, primary: str, code: str) -> str:
    """Plain integers only: decimal and grouping marks differ by language, so the engine reads those."""

    def say(m: re.Match[str]) -> str:
        digits = m.group(0)
        if (len(digits) > 1 and digits[0] == "0") or len(digits) > 15:
            return digits
        if primary in _YEAR_LANGS and _is_year(digits) and int(digits) < 2000:
            return _year(digits, code)
        return _words(int(digits), code)

    return _OTHER_INT.sub(say, text)


# --- English ---------------------------------------------------------------------------------------
def _english(text: str, code: str) -> str:
    text = _ABBR.sub(_abbreviation, text)
    text = _HEADING.sub(lambda m: _heading(m, code), text)
    text = _RULER.sub(lambda m: _ruler(m, code), text)
    text = _ROMAN_LEAD.sub(
        lambda m: _words(_roman(m.group(1)), code) if _ROMAN.fullmatch(m.group(1)) else m.group(0), text
    )
    text = _MINUS.sub(" minus ", _SPACED_YEARS.sub(r"\1-", text))  # before any rule turns digits to words
    text = _CURRENCY.sub(lambda m: _pad(m, _money(m[1], m[2], m[3], m[4] or m[5], code)), text)
    text = _CURRENCY_AFTER.sub(lambda m: _pad(m, _money(m[3], m[1], m[2], None, code)), text)
    text = _PERCENT.sub(lambda m: _pad(m, _number(m[2], m[3], code, m[1]) + " percent"), text)
    text = _DEGREES.sub(lambda m: _pad(m, _degrees(m, code)), text)
    text = _HASH.sub(lambda m: _pad(m, "number " + _integer(m[1], code)), text)
    text = _TIME.sub(lambda m: _pad(m, _time(m, code)), text)
    text = _HOUR.sub(lambda m: _pad(m, f"{_words(int(m[1]), code)} {m[2][0].lower()}.m."), text)
    text = _MONTH_DAY.sub(lambda m: _month_day(m, code), text)
    text = _ERA_AFTER.sub(lambda m: _pad(m, f"{_year(m[1], code)} {_era(m[2])}"), text)
    text = _ERA_BEFORE.sub(lambda m: _pad(m, f"{_era(m[1])} {_year(m[2], code)}"), text)
    text = _PLURAL.sub(lambda m: _pad(m, _plural_number(m, code)), text)
    text = _RANGE.sub(lambda m: _pad(m, _range(m[1], m[2], code)), text)
    text = _YEAR_CONTEXT.sub(lambda m: f"{m[1]}{m[2]}{_year(m[3], code)}", text)
    text = _YEAR_CITATION.sub(lambda m: _year(m[1], code), text)
    text = _ORDINAL.sub(lambda m: _pad(m, _words(int(m[1].replace(",", "")), code, "ordinal")), text)
    text = _VULGAR.sub(lambda m: _pad(m, _vulgar(m, code)), text)
    text = _FRACTION.sub(lambda m: _pad(m, _fraction(int(m[1]), int(m[2]), code)), text)
    text = _PLUS_BETWEEN.sub(" plus ", text)
    text = _PLUS_SIGN.sub("plus ", text)
    text = _SYMBOL.sub(lambda m: f" {_SYMBOL_WORDS.get(m[0], 'equals')} ", text)
    text = _DOTTED.sub(lambda m: " point ".join(_integer(d, code) for d in m[0].split(".")), text)
    text = _LEADING_POINT.sub(lambda m: _pad(m, "point " + _digits(m[1], code)), text)
    text = _NUMBER_RE.sub(lambda m: _pad(m, _number(m[2], m[3], code, m[1])), text)
    text = _DIGITS.sub(lambda m: _pad(m, _integer(m[0], code)), text)  # digits no rule above took
    return _SPACES.sub(" ", text).strip()


def _abbreviation(m: re.Match[str]) -> str:
    abbr, s, end = m.group(1), m.string, m.end()
    numbered = _NUMBER_AHEAD.match(s, end) or (abbr == "Vol" and _ROMAN_AHEAD.match(s, end))
    if abbr in _BEFORE_NUMBER and not numbered:
        return m.group(0)  # "No." without a number is the word "no" ending a sentence
    if abbr in _TITLE_OR_STREET:
        # A title before a name ("St. Paul", "Dr. Watson"); a street after one ("Baker St.", "Elm Dr.").
        title, street = _TITLE_OR_STREET[abbr]
        prev = _PREV_WORD.search(s, max(0, m.start() - 40), m.start())
        after_name = prev is not None and (prev[1][0].isupper() or prev[1][0].isdigit())
        before_name = _CAPITAL_AHEAD.match(s, end) is not None and not (prev and prev[1][0].isdigit())
        street_default = abbr == "St"  # "the St." is a street; "the Dr." a doctor
        spoken = title if before_name or not (after_name or street_default) else street
        final = False
    else:
        spoken, final = _ABBREVIATIONS[abbr], abbr in _SENTENCE_FINAL
    # Keep the full stop where the abbreviation also ends the sentence.
    if _TEXT_END.match(s, end) or (final and _NEW_SENTENCE.match(s, end)):
        return spoken + "."
    return spoken


def _roman(numeral: str) -> int:
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    total = 0
    for char, after in zip(numeral, [*numeral[1:], "I"], strict=True):
        total += -values[char] if values[char] < values[after] else values[char]
    return total


def _heading(m: re.Match[str], code: str) -> str:
    numeral, rest = m.group(2), m.string[m.end() : m.end() + 2]
    pronoun = numeral == "I" and rest[:1] == " " and rest[1:].islower()
    if not _ROMAN.fullmatch(numeral) or numeral in "LCDM" or pronoun:
        return m.group(0)  # "Appendix C" is a letter; "Chapter I went", the pronoun
    return f"{m.group(1)} {_words(_roman(numeral), code)}"


def _ruler(m: re.Match[str], code: str) -> str:
    if not _ROMAN.fullmatch(m.group(2)):
        return m.group(0)
    return f"{m.group(1)} the {_words(_roman(m.group(2)), code, 'ordinal')}"


def _money(symbol: str, whole: str, frac: str | None, scale: str | None, code: str) -> str:
    one, many, sub_one, sub_many = _MONEY[symbol]
    if scale:
        return f"{_number(whole, frac, code)} {_SCALES.get(scale, scale)} {many}"
    if frac and len(frac) > 2:
        return f"{_number(whole, frac, code)} {many}"
    units, cents = int(whole.replace(",", "")), int(frac.ljust(2, "0")) if frac else 0
    parts = [f"{_integer(whole, code)} {one if units == 1 else many}"] if units or not cents else []
    if cents:
        parts.append(f"{_words(cents, code)} {sub_one if cents == 1 else sub_many}")
    return ", ".join(parts)


def _degrees(m: re.Match[str], code: str) -> str:
    unit = {"C": " Celsius", "F": " Fahrenheit"}.get(m[4] or "", "")
    one = m[2] == "1" and not m[3] and not m[1]
    return f"{_number(m[2], m[3], code, m[1])} {'degree' if one else 'degrees'}{unit}"


def _time(m: re.Match[str], code: str) -> str:
    hour, minute, second, half = int(m[1]), int(m[2]), m[3], (m[4] or "")[:1]
    words = _words(hour, code)
    if minute == 0 and not half:
        words += " hundred" if hour > 12 or hour == 0 else " o'clock"
    elif minute:
        words += f" oh {_words(minute, code)}" if minute < 10 else f" {_words(minute, code)}"
    if second:
        words += f" and {_words(int(second), code)} {'second' if int(second) == 1 else 'seconds'}"
    return f"{words} {half.lower()}.m." if half else words


def _month_day(m: re.Match[str], code: str) -> str:
    month, day = m[1], int(m[2])
    if not 1 <= day <= 31:
        return m.group(0)
    month = _MONTH_ABBR.get(month.rstrip("."), month)
    words = f"{month} {_words(day, code, 'ordinal')}"
    return f"{words}{m[3]}{_year(m[4], code)}" if m[4] else words


def _era(era: str) -> str:
    return "".join(f"{c}." for c in era if c != ".")  # "BC" -> "B.C.", which engines spell out


def _plural_number(m: re.Match[str], code: str) -> str:
    digits = m[2]
    if not m[1] and _is_year(digits) and digits.endswith("0"):
        return _plural(_year(digits, code))  # 1990s: "nineteen nineties"
    return _plural(_integer(digits, code))


def _range(first: str, second: str, code: str) -> str:
    if len(second) > 4 or (len(first) == 3 and len(second) == 4):
        return f"{_digits(first, code)}, {_digits(second, code)}"  # a phone or serial number
    if _is_year(first) and len(second) == 2 and int(first[:2] + second) > int(first):
        second = first[:2] + second  # 1914-18: the second year shares the century
    if _is_year(first) and _is_year(second):
        return f"{_year(first, code)} to {_year(second, code)}"
    return f"{_integer(first, code)} to {_integer(second, code)}"


def _fraction(numerator: int, denominator: int, code: str) -> str:
    if numerator >= denominator:
        return f"{_words(numerator, code)} over {_words(denominator, code)}"
    name = {2: "half", 4: "quarter"}.get(denominator) or _words(denominator, code, "ordinal")
    if numerator == 1:
        return f"one {name}"
    return f"{_words(numerator, code)} {'halves' if name == 'half' else name + 's'}"


def _vulgar(m: re.Match[str], code: str) -> str:
    numerator, denominator = _VULGARS[m[2]]
    part = _fraction(numerator, denominator, code)
    if not m[1]:
        return part
    part = "a" + part[3:] if numerator == 1 else part  # 2½: "two and a half"
    return f"{_integer(m[1], code)} and {part}"
