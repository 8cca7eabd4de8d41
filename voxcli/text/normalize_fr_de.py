"""French and German numbers, ordinals, dates and times, spoken as a French or German reader says them.

`normalize()` calls `speak_numbers()` for the primary subtags "fr" and "de" once the language-neutral
steps have run, so non-breaking spaces are plain spaces here and a dash between digits is "-". Every
number word comes from num2words (through `normalize._words`); the rules here only decide which number a
token means and how it is inflected. Like the English rules, they rewrite and never delete a word.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from voxcli.text.normalize import _ROMAN, _digits, _integer, _pad, _roman, _words, _year

__all__ = ["speak_numbers"]

# "1 234 567" (French, also German DIN 5008), "1.234.567" (German, older French), or plain digits.
_INT = r"\d{1,3}(?: \d{3})+(?!\d)|\d{1,3}(?:\.\d{3})+(?!\d)|\d+"
_GROUP_MARKS = re.compile(r"[ .]")
# groups: sign, whole, decimal digits after the comma
_NUM = rf"(?:(?<![\w.,+-])([-+]))?(?<![\w.,])({_INT})(?:,(\d+))?"
_NUMBER = re.compile(_NUM + r"(?![.,]\d)")
_SPACES = re.compile(r" {2,}")
_MINUS_WORD = {"fr": "moins", "de": "minus"}
_POINT_WORD = {"fr": "point", "de": "Punkt"}  # "2.0", "1.2.3": versions and sections
_DOTTED = re.compile(r"(?<![\w.,])\d+(?:\.\d+)+(?![\w]|\.\d)")
_LEFTOVER = re.compile(r"(?<![\d/])\d+(?![\d/])")  # "1/2" stays for the engine: fractions are not read here
_SPACED_YEARS = re.compile(r"(?<![\w.,-])(1\d{3}|20\d{2}) - (?=(?:1\d{3}|20\d{2})(?![\w-]|[.,]\d))")
_MINUS = re.compile(r"(?<=\d) - (?=\d)")
_RANGE = re.compile(r"(?<![\w.,-])(\d+)-(\d+)(?![\w-]|[.,]\d)")
_RANGE_WORD = {"fr": "à", "de": "bis"}
_PERCENT = re.compile(_NUM + r" ?%")
_PERCENT_WORD = {"fr": "pour cent", "de": "Prozent"}
_DEGREES = re.compile(_NUM + r" ?° ?([CF])?(?![^\W\d_])")
_CURRENCY_AFTER = re.compile(_NUM + r"(?:,-{1,2})? ?(€|\$|£|EUR\b|euros?\b|Euros?\b)")
_CURRENCY_BEFORE = re.compile(rf"(€|\$|£) ?({_INT})(?:,(\d+))?(?![.,]\d)")
# singular, plural, subunit singular and plural, feminine (a French count before it takes "une")
_MONEY: dict[str, dict[str, tuple[str, str, str, str, bool]]] = {
    "fr": {
        "€": ("euro", "euros", "centime", "centimes", False),
        "$": ("dollar", "dollars", "cent", "cents", False),
        "£": ("livre", "livres", "penny", "pence", True),
    },
    "de": {
        "€": ("Euro", "Euro", "Cent", "Cent", False),
        "$": ("Dollar", "Dollar", "Cent", "Cent", False),
        "£": ("Pfund", "Pfund", "Penny", "Pence", False),
    },
}
_BIG_SCALE = re.compile(r"(?:million|milliard|billion)s?$")  # "deux millions d'euros"
_LETTER_NUMERALS = frozenset("LCDM")  # alone, a letter: "Annexe C", "Peter M.", "Le", "De"


def _wordlist(words: str) -> tuple[str, ...]:
    """A word list written as text, which reads better than a list of one word a line."""
    return tuple(words.split())


def _wordset(words: str) -> frozenset[str]:
    return frozenset(_wordlist(words))


def _heading_re(headings: tuple[str, ...]) -> re.Pattern[str]:
    names = "|".join(f"{w}|{w.upper()}" for w in headings)
    return re.compile(rf"\b({names}) ([IVXLCDM]+)\b(?!['-])")


def _ruler_re(names: tuple[str, ...], *, dot: bool) -> re.Pattern[str]:
    # German marks a ruler's ordinal with a full stop ("Friedrich II."): groups 3 and 4 take it
    tail = r"(\.?)" if dot else r"()"
    return re.compile(rf"(?<![\w-])({'|'.join(names)})(s?) ([IVXLC]+){tail}(?![\w'-]|\.\w)")


# --- French ------------------------------------------------------------------------------------------
_FR_MONTHS = _wordlist("janvier février mars avril mai juin juillet août septembre octobre novembre décembre")
_FR_MONTH_NAMES = "|".join(_FR_MONTHS + tuple(m.capitalize() for m in _FR_MONTHS))
_FR_SUFFIX = r"ères?|ers?|res?|ʳᵉˢ?|ᵉʳˢ?|ièmes?|èmes?|ᵉˢ?|es?|è"
_FR_ORDINAL = re.compile(rf"(?<![\w.,])({_INT})(ndes?|nds?|{_FR_SUFFIX})(?!\w)")
_FR_ROMAN_ORDINAL = re.compile(rf"(?<![\w'-])([IVXLCDM]+)({_FR_SUFFIX})(?![\w'-])")
_FR_FIRST_OF_MONTH = re.compile(rf"(?<![\w.,])0?1(?= (?:{_FR_MONTH_NAMES})\b)")  # "1 mai": "premier mai"
_FR_DATE = re.compile(r"(?<![\w/.,])(\d{1,2})([/.])(\d{1,2})\2(\d{4}|\d{2})(?![\w]|[/.,]\d)")
_FR_TIME_H = re.compile(r"(?<![\w.,:])([01]?\d|2[0-4]) ?h ?([0-5]\d)?(?!\w)")
_FR_TIME_COLON = re.compile(r"(?<![\w.,:])([01]?\d|2[0-3]):([0-5]\d)(?![\w:]|[.,]\d)")
_FR_RULERS = _wordlist(
    "Louis Henri Charles François Philippe Napoléon Jean Jean-Paul Pie Léon Benoît Grégoire "
    "Clément Innocent Boniface Urbain Paul Guillaume Richard Édouard Georges Jacques Frédéric "
    "Pierre Catherine Nicolas Alexandre Ferdinand Élisabeth Marie Victor-Emmanuel Lothaire "
    "Clotaire Childebert Robert"
)
_FR_HEADINGS = _wordlist(
    "Chapitre Livre Partie Tome Volume Acte Scène Chant Article Lettre Annexe Leçon Section Titre"
)
_FR_HEADING = _heading_re(_FR_HEADINGS)  # "Chapitre XII": "Chapitre douze"
_FR_RULER = _ruler_re(_FR_RULERS, dot=False)  # "Louis XIV": "Louis quatorze" (but "Ier": "premier")

# --- German ------------------------------------------------------------------------------------------
_DE_MONTHS = _wordlist("Januar Februar März April Mai Juni Juli August September Oktober November Dezember")
_DE_MONTH_ABBR = {
    "Jan.": "Januar",
    "Feb.": "Februar",
    "Febr.": "Februar",
    "Mär.": "März",
    "Apr.": "April",
    "Jun.": "Juni",
    "Jul.": "Juli",
    "Aug.": "August",
    "Sep.": "September",
    "Sept.": "September",
    "Okt.": "Oktober",
    "Nov.": "November",
    "Dez.": "Dezember",
}
_DE_MONTH_NAMES = "|".join(
    [*_DE_MONTHS, "Jänner", *(re.escape(a) for a in sorted(_DE_MONTH_ABBR, key=len, reverse=True))]
)
_DE_DAY_MONTH = re.compile(rf"(?<![\w.,])(\d{{1,2}})\. ?({_DE_MONTH_NAMES})(?!\w)")
_DE_DATE = re.compile(r"(?<![\w.,])(\d{1,2})\.(\d{1,2})\.(?:(\d{4}|\d{2})(?![\w]|[.,]\d))?(?!\d)")
_DE_TIME = re.compile(r"(?<![\w.,:])([01]?\d|2[0-4])(?:[:.]([0-5]\d))? ?Uhr\b")
_DE_RATIO = re.compile(r"(?<![\w.,:])(\d+):(\d+)(?![\w:]|[.,]\d)")  # "2:1", "1:10": "zwei zu eins"
_DE_ORDINAL = re.compile(rf"(?<![\w.,])({_INT})\.(?= ([^\W\d_][\w-]*)|$)")
_DE_DECADE = re.compile(r"(?<![\w.,])(\d+)(er|ern|ers)(?!\w)")  # "1990er", "in den 80ern"
_DE_RULERS = _wordlist(
    "Friedrich Wilhelm Karl Ludwig Heinrich Otto Leopold Franz Joseph Josef Maximilian Rudolf "
    "Konrad Georg Johann Johannes Albrecht Sigismund Ferdinand Elisabeth Katharina Peter "
    "Napoleon Pius Leo Benedikt Paul Gregor Innozenz Klemens Urban Philipp Eduard Richard Jakob "
    "Alexander Nikolaus Gustav Christian Ramses Maria"
)
_DE_HEADINGS = _wordlist(
    "Kapitel Buch Teil Band Akt Szene Artikel Abschnitt Anhang Gesang Lektion Psalm Brief"
)
_DE_HEADING = _heading_re(_DE_HEADINGS)  # "Kapitel IV": "Kapitel vier"
_DE_RULER = _ruler_re(_DE_RULERS, dot=True)  # "Friedrich II.": "Friedrich der Zweite"
# The inflection of a German ordinal follows the word before it (see _de_ending).
_DE_DATIVE = frozenset({"am", "im", "vom", "zum", "beim", "zur", "dem", "den", "des", "ab", "bis", "seit"})
_DE_WEAK = frozenset({"die", "das", "ins", "ans", "aufs", "fürs", "ums", "durchs"})
# Words before "3." that make it an ordinal whatever follows ("bis 3." stays a count: "bis drei").
_DE_ARTICLES = (_DE_DATIVE - {"ab", "bis", "seit"}) | _DE_WEAK | {"der"}
_DE_EIN_WORD = re.compile(r"(?:ein|kein|mein|dein|sein|ihr|unser|euer)(e|em|en|er|es)?")
_DE_DER_WORD = re.compile(r"(?:dies|jen|jed|welch|manch|solch)(e|em|en|er|es)")
_DE_PREPOSITIONS = _wordset(
    "in mit von aus bei nach seit vor zu an auf unter über hinter neben zwischen während wegen trotz "
    "gegenüber außer statt für gegen ohne um durch"
)
# "bis 3. Maria ...": after these a number ending a sentence is a count, whatever word comes next.
_DE_COUNT_WORDS = _wordset(
    "bis um etwa ca circa rund nur noch knapp fast genau über unter gleich mal plus minus"
)
_DE_SKIPPED = frozenset({"und", "oder", "sowie", ""} | {m.lower() for m in _DE_MONTHS})
_DE_QUEENS = frozenset({"Elisabeth", "Katharina", "Maria"})
_DE_RULER_CASE = {  # the article (king, queen) and ending after the preposition before the name
    **dict.fromkeys(_wordset("von mit unter bei zu nach seit aus vor gegenüber neben"), ("dem", "der", "n")),
    **dict.fromkeys(("für", "gegen", "ohne", "um", "durch"), ("den", "die", "n")),
}
# Capitalised words that often open a sentence: "Es waren 3. Dann ..." keeps its cardinal.
_DE_SENTENCE_OPENERS = _wordset(
    "Der Die Das Den Dem Des Ein Eine Einen Einem Einer Eines Kein Keine Ich Du Er Sie Es Wir Ihr Man "
    "Mein Meine Dein Sein Seine Unser Dieser Diese Dieses Jeder Jede Jedes Alle Viele Einige Und Aber "
    "Oder Doch Denn Dann Da Danach Daher Deshalb Darum So Als Wenn Wie Was Wer Wo Warum Weil Obwohl Ob "
    "Nun Jetzt Heute Gestern Morgen Später Endlich Auch Noch Nur Schon Nicht Ja Nein Also Trotzdem "
    "Dennoch Jedoch Sondern Damit Während Nachdem Bevor Sobald Im Am Um In Auf Mit Von Zu Nach Bei Aus "
    "Für Über Unter Vor Hinter Seit Bis Ab Durch Gegen Ohne Hier Dort Beim Zum Zur Vom Ins"
)
# Nouns often counted with an ordinal, and their gender, which an ordinal without article shows
# ("erster Weltkrieg", "zweite Auflage", "drittes Kapitel"). Only these make "1." an ordinal where it
# opens the text; elsewhere "1. Einleitung" there is a list number.
_DE_GENDER = {
    **dict.fromkeys(
        _wordset("Teil Band Akt Tag Monat Platz Stock Weltkrieg Preis Satz Advent Versuch Schritt Rang"),
        "m",
    ),
    **dict.fromkeys(
        _wordset(
            "Szene Auflage Woche Klasse Etage Runde Strophe Liga Bundesliga Halbzeit Sinfonie Symphonie "
            "Version Ausgabe Folge Staffel Reihe Stelle Republik"
        ),
        "f",
    ),
    **dict.fromkeys(
        _wordset("Kapitel Buch Mal Jahr Jahrhundert Jahrtausend Gebot Kind Programm"),
        "n",
    ),
}


def speak_numbers(text: str, primary: str, code: str) -> str:
    """Spell out the numbers of French (`primary` "fr") or German ("de") text with num2words `code`."""
    rules = _french_rules(code) if primary == "fr" else _german_rules(code)
    for pattern, say in rules:
        text = pattern.sub(say, text)
    return _SPACES.sub(" ", text).strip()


_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _shared_rules(lang: str, code: str) -> list[_Rule]:
    """Rules both languages share once their own (dates, times, ordinals) have run."""
    return [
        (_SPACED_YEARS, lambda m: f"{m[1]}-"),  # "1914 - 1918" is a range; "10 - 5" a subtraction
        (_MINUS, lambda m: f" {_MINUS_WORD[lang]} "),
        (_RANGE, lambda m: _pad(m, _range(m[1], m[2], lang, code))),
        (_CURRENCY_AFTER, lambda m: _pad(m, _money_after(m, lang, code))),
        (_CURRENCY_BEFORE, lambda m: _pad(m, _money(m[1], None, m[2], m[3], lang, code))),
        (_PERCENT, lambda m: _pad(m, _percent(m, lang, code))),
        (_DEGREES, lambda m: _pad(m, _degrees(m, lang, code))),
        (_NUMBER, lambda m: _pad(m, _number(m[1], m[2], m[3], lang, code))),
        (_DOTTED, lambda m: f" {_POINT_WORD[lang]} ".join(_integer(d, code) for d in m[0].split("."))),
        (_LEFTOVER, lambda m: _pad(m, _integer(m[0], code))),  # digits glued to letters: "MP3"
    ]


def _french_rules(code: str) -> list[_Rule]:
    return [
        (_FR_ROMAN_ORDINAL, lambda m: _fr_roman_ordinal(m, code)),
        (_FR_HEADING, lambda m: _roman_cardinal(m, code)),
        (_FR_RULER, lambda m: _roman_cardinal(m, code)),
        (_FR_DATE, lambda m: _fr_date(m, code)),
        (_FR_TIME_H, lambda m: _pad(m, _fr_time(m[1], m[2], code))),
        (_FR_TIME_COLON, lambda m: _fr_time(m[1], m[2], code)),
        (_FR_ORDINAL, lambda m: _pad(m, _fr_ordinal(_whole(m[1]), m[2], code) or m[0])),
        (_FR_FIRST_OF_MONTH, lambda m: _words(1, code, "ordinal")),
        *_shared_rules("fr", code),
    ]


def _german_rules(code: str) -> list[_Rule]:
    return [
        (_DE_HEADING, lambda m: _roman_cardinal(m, code)),
        (_DE_RULER, lambda m: _de_ruler(m, code)),
        (_DE_DATE, lambda m: _de_date(m, code)),
        (_DE_TIME, lambda m: _de_time(m[1], m[2], code)),
        (_DE_DAY_MONTH, lambda m: _de_day_month(m, code)),
        (_DE_ORDINAL, lambda m: _de_ordinal(m, code)),
        (_DE_DECADE, lambda m: _pad(m, _number(None, m[1], None, "de", code) + m[2])),
        (_DE_RATIO, lambda m: _de_ratio(m, code)),
        *_shared_rules("de", code),
    ]


# --- numbers -----------------------------------------------------------------------------------------
def _whole(grouped: str) -> int:
    return int(_GROUP_MARKS.sub("", grouped))


def _number(sign: str | None, whole: str, frac: str | None, lang: str, code: str) -> str:
    """A cardinal, with its decimals after the comma and its sign; German years 1100-1999 as years."""
    digits = _GROUP_MARKS.sub("", whole)
    if lang == "de" and not sign and not frac and digits == whole and _is_de_year(digits):
        words = _year(digits, code)  # "1990": "neunzehnhundertneunzig"; "1.990" is a count
    else:
        words = _integer(digits, code)
    if frac:
        # num2words reads decimals digit by digit in both languages; a French reader says "trois
        # virgule quatorze" (the decimals as a number, zeros first), a German one "drei Komma eins vier".
        words += f" virgule {_fr_decimals(frac, code)}" if lang == "fr" else f" Komma {_digits(frac, code)}"
    if sign:
        words = f"{_MINUS_WORD[lang] if sign == '-' else 'plus'} {words}"
    return words


def _is_de_year(digits: str) -> bool:
    return len(digits) == 4 and 1100 <= int(digits) <= 1999


def _fr_decimals(frac: str, code: str) -> str:
    rest = frac.lstrip("0")
    if len(frac) > 3 or not rest:
        return _digits(frac, code)  # long decimals, and "3,000", digit by digit
    return " ".join([_words(0, code)] * (len(frac) - len(rest)) + [_words(int(rest), code)])


def _count(n: int, words: str, lang: str, *, feminine: bool = False) -> str:
    """A cardinal before a noun: German "ein Euro" (num2words says "eins"), French "une livre"."""
    if lang == "de":
        return "ein" if n == 1 else words
    return re.sub(r"\bun$", "une", words) if feminine else words


def _range(first: str, second: str, lang: str, code: str) -> str:
    if len(first) == 4 and len(second) == 2 and int(first[:2] + second) > int(first):
        second = first[:2] + second  # 1914-18: the second year shares the century
    start, end = _number(None, first, None, lang, code), _number(None, second, None, lang, code)
    return f"{start} {_RANGE_WORD[lang]} {end}"


def _percent(m: re.Match[str], lang: str, code: str) -> str:
    words = _number(m[1], m[2], m[3], lang, code)
    if not m[1] and not m[3]:
        words = _count(_whole(m[2]), words, lang)
    return f"{words} {_PERCENT_WORD[lang]}"


def _degrees(m: re.Match[str], lang: str, code: str) -> str:
    words = _number(m[1], m[2], m[3], lang, code)
    if lang == "de":
        unit = "Grad"
        words = _count(_whole(m[2]), words, lang) if not m[1] and not m[3] else words
    else:
        unit = "degré" if _whole(m[2]) < 2 else "degrés"  # French: singular below two
    scale = {"C": " Celsius", "F": " Fahrenheit"}.get(m[4] or "", "")
    return f"{words} {unit}{scale}"


def _money_after(m: re.Match[str], lang: str, code: str) -> str:
    unit = m[4]
    if unit.lower().startswith("euro"):
        if not m[3]:
            return m[0]  # "12 euros": the plain number rule reads it; "12,50 euros" is an amount
        unit = "€"
    return _money("€" if unit == "EUR" else unit, m[1], m[2], m[3], lang, code)


def _money(symbol: str, sign: str | None, whole: str, frac: str | None, lang: str, code: str) -> str:
    one, many, sub_one, sub_many, feminine = _MONEY[lang][symbol]
    if frac and len(frac) > 2:
        return f"{_number(sign, whole, frac, lang, code)} {many}"
    units, cents = _whole(whole), int(frac.ljust(2, "0")) if frac else 0
    if units or not cents:
        words = _count(units, _integer(_GROUP_MARKS.sub("", whole), code), lang, feminine=feminine)
        name = one if units == 1 else many
        if lang == "fr" and _BIG_SCALE.search(words):
            name = f"d'{many}" if many[0] in "aeioué" else f"de {many}"  # "deux millions d'euros"
        spoken = f"{words} {name}"
        if cents:  # a reader says "douze euros cinquante", "zwölf Euro fünfzig"
            spoken += f" {_count(cents, _words(cents, code), lang, feminine=feminine)}"
    else:
        spoken = f"{_count(cents, _words(cents, code), lang)} {sub_one if cents == 1 else sub_many}"
    return f"{_MINUS_WORD[lang] if sign == '-' else 'plus'} {spoken}" if sign else spoken


# --- roman numerals ----------------------------------------------------------------------------------
def _roman_cardinal(m: re.Match[str], code: str) -> str:
    numeral = m[2] if m.re.groups == 2 else m[3]  # a heading's groups: name, numeral; a ruler's: 4
    if not _ROMAN.fullmatch(numeral) or numeral in _LETTER_NUMERALS:
        return m[0]  # "Annexe C" is a letter, "Peter M" an initial
    if m.re.groups == 2:
        return f"{m[1]} {_words(_roman(numeral), code)}"
    return f"{m[1]}{m[2]} {_words(_roman(numeral), code)}"  # "Louis XIV": "Louis quatorze"


# --- French ------------------------------------------------------------------------------------------
def _fr_ordinal_words(n: int, code: str) -> str:
    # num2words keeps the plural "s" of "quatre-vingts", "deux cents", "deux millions" before "-ième"
    return re.sub(r"(vingt|cent|million|milliard)sième", r"\1ième", _words(n, code, "ordinal"))


def _fr_ordinal(n: int, suffix: str, code: str) -> str | None:
    """ "1er" "premier", "1re" "première", "2nd" "second", "3e"/"3ème" "troisième"; None when the
    suffix cannot go with the number ("3er")."""
    base = suffix.rstrip("sˢ")
    plural = "s" if base != suffix else ""
    if base in {"er", "ᵉʳ", "re", "ère", "ʳᵉ"}:
        if n != 1:
            return None
        first = _words(1, code, "ordinal")
        return (first if base in {"er", "ᵉʳ"} else re.sub(r"ier$", "ière", first)) + plural
    if base in {"nd", "nde"}:
        return None if n != 2 else ("second" if base == "nd" else "seconde") + plural
    return _fr_ordinal_words(n, code) + plural


def _fr_roman_ordinal(m: re.Match[str], code: str) -> str:
    numeral = m[1]
    if not _ROMAN.fullmatch(numeral) or numeral in _LETTER_NUMERALS:
        return m[0]  # "Le", "Ce", "De", "Me", "Les", "Des": words, not centuries
    return _fr_ordinal(_roman(numeral), m[2], code) or m[0]


def _fr_day(day: int, code: str) -> str:
    return _words(day, code, "ordinal") if day == 1 else _words(day, code)  # "le premier mai"


def _fr_date(m: re.Match[str], code: str) -> str:
    day, month = int(m[1]), int(m[3])
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return m[0]
    return f"{_fr_day(day, code)} {_FR_MONTHS[month - 1]} {_integer(m[4], code)}"


def _fr_time(hour: str, minute: str | None, code: str) -> str:
    h = int(hour)
    words = f"{_count(h, _words(h, code), 'fr', feminine=True)} {'heures' if h > 1 else 'heure'}"
    if minute and int(minute):
        words += f" {_count(int(minute), _words(int(minute), code), 'fr', feminine=True)}"
    return words


# --- German ------------------------------------------------------------------------------------------
def _before(m: re.Match[str]) -> str:
    """The text just before a match: enough for the words that inflect it, short enough to stay fast."""
    return m.string[max(0, m.start() - 160) : m.start()]


def _de_ending(before: str, gender: str) -> str:
    """The ending added to num2words' ordinal ("dritte") after the words `before` it.

    After am/im/vom/zum/beim/zur, dem/den/des, ab/bis/seit and the -em/-en/-es/-er forms of ein, mein,
    ...: "-n" ("am dritten Oktober"). After der (unless a preposition comes before it: "in der zweiten
    Auflage"), die, das and the other determiners: none ("der dritte Oktober"). With no article, or after
    a bare "ein", the ending shows the noun's `gender` ("m", "f", "n"; "" when unknown): "dritter Oktober
    1990" as a letterhead reads it, "zweite Auflage", "drittes Kapitel".
    """
    words = [w.strip(",;:()\"'").lower() for w in before.split()[-8:]]
    while words and (words[-1] in _DE_SKIPPED or re.fullmatch(r"\d+\.", words[-1])):
        words.pop()  # "am 3. und 4. Oktober": the 4th takes the article of the 3rd
    prev = words[-1] if words else ""
    ein, der = _DE_EIN_WORD.fullmatch(prev), _DE_DER_WORD.fullmatch(prev)
    if prev in _DE_DATIVE or (ein and ein[1] in {"em", "en", "es", "er"}) or (der and der[1] in {"em", "en"}):
        return "n"
    if prev == "der":
        return "n" if len(words) > 1 and words[-2] in _DE_PREPOSITIONS else ""
    if prev in _DE_WEAK or der or (ein and ein[1]):
        return ""
    return {"m": "r", "n": "s"}.get(gender, "")


def _de_day_month(m: re.Match[str], code: str) -> str:
    day = int(m[1])
    if not 1 <= day <= 31:
        return m[0]
    month = _DE_MONTH_ABBR.get(m[2], m[2])
    return f"{_words(day, code, 'ordinal')}{_de_ending(_before(m), 'm')} {month}"


def _de_date(m: re.Match[str], code: str) -> str:
    day, month = int(m[1]), int(m[2])
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return m[0]
    day_words = _words(day, code, "ordinal") + _de_ending(_before(m), "m")
    words = f"{day_words} {_DE_MONTHS[month - 1]}"
    if m[3]:
        return f"{words} {_number(None, m[3], None, 'de', code)}"
    return words + ("." if m.end() == len(m.string) else "")  # "am 24.12." may end the sentence


def _de_time(hour: str, minute: str | None, code: str) -> str:
    h = int(hour)
    words = f"{_count(h, _words(h, code), 'de')} Uhr"  # "ein Uhr", not "eins Uhr"
    return f"{words} {_words(int(minute), code)}" if minute and int(minute) else words


def _de_ratio(m: re.Match[str], code: str) -> str:
    """ "2:1" is "zwei zu eins"; "um 14:30" a time."""
    prev = _before(m).split()[-1:]
    time = len(m[2]) == 2 and int(m[1]) <= 24 and int(m[2]) < 60
    if time and prev and prev[0].lower() in {"um", "gegen", "ab", "bis", "seit", "von"}:
        return _de_time(m[1], m[2], code)
    return f"{_integer(m[1], code)} zu {_integer(m[2], code)}"


def _de_ordinal(m: re.Match[str], code: str) -> str:
    """ "3." as an ordinal where an article before it or a capitalised noun after it shows it is one."""
    before, after, n = _before(m), m[2], _whole(m[1])
    words = before.split()
    prev = words[-1].strip(",;:(\"'").lower() if words else ""
    article = prev in _DE_ARTICLES or bool(_DE_EIN_WORD.fullmatch(prev) or _DE_DER_WORD.fullmatch(prev))
    if not article and (
        after is None  # "Er war 21." is a count; "am 3." a date
        or after in _DE_SENTENCE_OPENERS
        or prev in _DE_COUNT_WORDS
        or not after[0].isupper()
        or n >= 1000  # "Es war 1990. Kohl ...": a year ending the sentence
        or (not words and after not in _DE_GENDER)  # "1. Einleitung": a list number
    ):
        return m[0]
    spoken = _words(n, code, "ordinal") + _de_ending(before, _DE_GENDER.get(after or "", ""))
    return spoken + ("." if after is None else "")  # the full stop also ended the sentence


def _de_ruler(m: re.Match[str], code: str) -> str:
    """ "Friedrich II." is "Friedrich der Zweite", "von Friedrich II." "von Friedrich dem Zweiten"."""
    numeral = m[3]
    if not _ROMAN.fullmatch(numeral) or numeral in _LETTER_NUMERALS:
        return m[0]
    before = _before(m).split()
    king, queen, ending = _DE_RULER_CASE.get(before[-1].lower() if before else "", ("der", "die", ""))
    if m[2]:
        king = queen = "des"  # "Friedrichs II.": genitive
        ending = "n"
    article = queen if m[1] in _DE_QUEENS else king
    ordinal = _words(_roman(numeral), code, "ordinal") + ending
    end = "." if m[4] and m.end() == len(m.string) else ""
    return f"{m[1]}{m[2]} {article} {ordinal[:1].upper()}{ordinal[1:]}{end}"
