"""Language tags: comparing BCP 47 tags, and a book's tag to the ISO 639-2 code that MP4 files carry."""

from __future__ import annotations

# ISO 639-1 -> ISO 639-2/T for the languages books and voxcli's engines come in.
_ISO639_2 = {
    "af": "afr",
    "am": "amh",
    "ar": "ara",
    "az": "aze",
    "be": "bel",
    "bg": "bul",
    "bn": "ben",
    "bs": "bos",
    "ca": "cat",
    "cs": "ces",
    "cy": "cym",
    "da": "dan",
    "de": "deu",
    "el": "ell",
    "en": "eng",
    "eo": "epo",
    "es": "spa",
    "et": "est",
    "eu": "eus",
    "fa": "fas",
    "fi": "fin",
    "fr": "fra",
    "ga": "gle",
    "gl": "glg",
    "gu": "guj",
    "he": "heb",
    "hi": "hin",
    "hr": "hrv",
    "hu": "hun",
    "hy": "hye",
    "id": "ind",
    "is": "isl",
    "it": "ita",
    "ja": "jpn",
    "ka": "kat",
    "kk": "kaz",
    "km": "khm",
    "kn": "kan",
    "ko": "kor",
    "la": "lat",
    "lb": "ltz",
    "lt": "lit",
    "lv": "lav",
    "mk": "mkd",
    "ml": "mal",
    "mn": "mon",
    "mr": "mar",
    "ms": "msa",
    "mt": "mlt",
    "my": "mya",
    "nb": "nob",
    "ne": "nep",
    "nl": "nld",
    "nn": "nno",
    "no": "nor",
    "pa": "pan",
    "pl": "pol",
    "pt": "por",
    "ro": "ron",
    "ru": "rus",
    "sa": "san",
    "si": "sin",
    "sk": "slk",
    "sl": "slv",
    "sq": "sqi",
    "sr": "srp",
    "sv": "swe",
    "sw": "swa",
    "ta": "tam",
    "te": "tel",
    "th": "tha",
    "tl": "tgl",
    "tr": "tur",
    "uk": "ukr",
    "ur": "urd",
    "uz": "uzb",
    "vi": "vie",
    "yi": "yid",
    "zh": "zho",
    "zu": "zul",
}
UNDETERMINED = "und"


def iso639_2(tag: str) -> str:
    """'en-US' -> 'eng'; a three-letter primary subtag is kept; anything else is 'und'."""
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    if len(primary) == 3 and primary.isalpha():
        return primary
    return _ISO639_2.get(primary, UNDETERMINED)


def fallbacks(tag: str) -> list[str]:
    """``tag`` and the shorter tags it falls back to, lower case with hyphens:
    'zh-Hant-TW' -> ['zh-hant-tw', 'zh-hant', 'zh']."""
    parts = [p for p in tag.strip().lower().replace("_", "-").split("-") if p]
    return ["-".join(parts[:n]) for n in range(len(parts), 0, -1)]


# ISO 639-2/B codes (bibliographic, as older OPF files write them) that differ from 639-2/T.
_BIBLIOGRAPHIC = {
    "alb": "sq",
    "arm": "hy",
    "baq": "eu",
    "bur": "my",
    "chi": "zh",
    "cze": "cs",
    "dut": "nl",
    "fre": "fr",
    "geo": "ka",
    "ger": "de",
    "gre": "el",
    "ice": "is",
    "mac": "mk",
    "may": "ms",
    "per": "fa",
    "rum": "ro",
    "slo": "sk",
    "wel": "cy",
}
_FROM_639_2 = {three: two for two, three in _ISO639_2.items()} | _BIBLIOGRAPHIC
# Language names books write instead of a tag ("Language: English" in a Gutenberg header, DOCX).
_NAMES = {
    "english": "en",
    "french": "fr",
    "français": "fr",
    "german": "de",
    "deutsch": "de",
    "spanish": "es",
    "español": "es",
    "italian": "it",
    "italiano": "it",
    "portuguese": "pt",
    "dutch": "nl",
    "latin": "la",
    "finnish": "fi",
    "swedish": "sv",
    "danish": "da",
    "norwegian": "no",
    "chinese": "zh",
    "japanese": "ja",
    "korean": "ko",
    "russian": "ru",
    "greek": "el",
    "polish": "pl",
    "czech": "cs",
    "hungarian": "hu",
    "turkish": "tr",
    "arabic": "ar",
    "hebrew": "he",
    "hindi": "hi",
    "sanskrit": "sa",
    "esperanto": "eo",
}
_NO_LANGUAGE = frozenset({"und", "mul", "zxx", "mis"})  # undetermined, multiple, none, uncoded


def normalise_tag(value: str) -> str:
    """A book's language as a BCP 47 tag with a two-letter primary subtag where one exists:
    'fre' -> 'fr', 'en_GB' -> 'en-GB', 'English' -> 'en'; "" for no language or not a tag."""
    text = value.strip().replace("_", "-")
    if text.lower() in _NAMES:
        return _NAMES[text.lower()]
    parts = text.split("-")
    first = parts[0].lower()
    if not (first.isascii() and first.isalpha() and 2 <= len(first) <= 3) or first in _NO_LANGUAGE:
        return ""
    if not all(p.isascii() and p.isalnum() and 1 <= len(p) <= 8 for p in parts[1:]):
        return ""
    return "-".join([_FROM_639_2.get(first, first), *parts[1:]])
