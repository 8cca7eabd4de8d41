"""voxcli.text.normalize for French and German: numbers as num2words says them, and the dates, times,
ordinals and amounts a French or German reader would say aloud."""

from __future__ import annotations

import html
import re
import time
import zipfile
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from num2words import num2words  # type: ignore[import-untyped]

from tests.conftest import corpus_file
from voxcli.text.normalize import _english, _neutral, has_number_rules, normalize
from voxcli.text.normalize_fr_de import speak_numbers

INTEGERS = st.integers(0, 10**12)
GROUPED = st.integers(1000, 10**12)
FR_GROUP_MARKS = st.sampled_from([" ", "\u00a0", "\u202f"])  # space, no-break space, narrow no-break


def fr(n: int | Decimal, to: str = "cardinal") -> str:
    return str(num2words(n, lang="fr", to=to))


def de(n: int | Decimal, to: str = "cardinal") -> str:
    return str(num2words(n, lang="de", to=to))


def fr_ordinal(n: int) -> str:
    # num2words keeps a plural "s" before "-ième" ("quatre-vingtsième", "deux centsième"), which no
    # French reader says; normalize drops it, and so does this oracle.
    return re.sub(r"(vingt|cent|million|milliard)sième", r"\1ième", fr(n, "ordinal"))


# --- numbers against num2words ---------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(n=INTEGERS)
def test_french_integers(n: int) -> None:
    assert normalize(f"Il a {n} ans.", "fr") == f"Il a {fr(n)} ans."


@settings(max_examples=200, deadline=None)
@given(n=GROUPED, mark=FR_GROUP_MARKS)
def test_french_grouped_integers(n: int, mark: str) -> None:
    written = f"{n:,}".replace(",", mark)  # "1 234 567"
    assert normalize(f"Il a {written} ans.", "fr") == f"Il a {fr(n)} ans."


@settings(max_examples=200, deadline=None)
@given(n=INTEGERS)
def test_german_integers(n: int) -> None:
    # German reads a plain 1100-1999 as a year ("neunzehnhundertneunzig"): num2words' own year form
    spoken = de(n, "year") if 1100 <= n <= 1999 else de(n)
    assert normalize(f"Er hat {n} Bücher.", "de") == f"Er hat {spoken} Bücher."


@settings(max_examples=200, deadline=None)
@given(n=GROUPED)
def test_german_grouped_integers(n: int) -> None:
    written = f"{n:,}".replace(",", ".")  # "1.234.567": a count, never a year
    assert normalize(f"Er hat {written} Bücher.", "de") == f"Er hat {de(n)} Bücher."


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 10**9))
def test_negative_numbers(n: int) -> None:
    assert normalize(f"Il fait -{n} dehors.", "fr") == f"Il fait {fr(-n)} dehors."
    assert normalize(f"Es sind -{n} draußen.", "de") == f"Es sind {de(-n)} draußen."


@settings(max_examples=200, deadline=None)
@given(whole=st.integers(0, 10**6), decimals=st.from_regex(r"[0-9]{0,3}[1-9]", fullmatch=True))
def test_german_decimals_are_num2words_own(whole: int, decimals: str) -> None:
    # Digit by digit after "Komma", as num2words and German readers say them.
    expected = de(Decimal(f"{whole}.{decimals}"))
    assert normalize(f"Es sind {whole},{decimals} Meter.", "de") == f"Es sind {expected} Meter."


@settings(max_examples=200, deadline=None)
@given(whole=st.integers(0, 10**6), decimals=st.integers(1, 999))
def test_french_decimals_are_read_as_a_number(whole: int, decimals: int) -> None:
    # num2words says "trois virgule un quatre"; a French reader says "trois virgule quatorze".
    assert fr(Decimal("3.14")) == "trois virgule un quatre"
    assert normalize(f"Il a {whole},{decimals} m.", "fr") == f"Il a {fr(whole)} virgule {fr(decimals)} m."


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 10**9))
def test_french_ordinals(n: int) -> None:
    assert normalize(f"le {n}e jour", "fr") == f"le {fr_ordinal(n)} jour"
    assert normalize(f"le {n}ème jour", "fr") == f"le {fr_ordinal(n)} jour"
    assert normalize(f"les {n}es jours", "fr") == f"les {fr_ordinal(n)}s jours"


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 10**9))
def test_german_ordinals(n: int) -> None:
    assert normalize(f"Der {n}. Tag kam.", "de") == f"Der {de(n, 'ordinal')} Tag kam."
    assert normalize(f"Es war am {n}. Tag.", "de") == f"Es war am {de(n, 'ordinal')}n Tag."


def test_regional_french_counts_as_the_region_does() -> None:
    assert normalize("Il a 71 ans.", "fr-ch") == f"Il a {num2words(71, lang='fr_CH')} ans."
    assert normalize("Il a 91 ans.", "fr-BE") == f"Il a {num2words(91, lang='fr_BE')} ans."
    assert normalize("Il a 2 chats.", "fr-ca") == "Il a deux chats."
    assert normalize("Er hat 1.500 Euro.", "de-AT") == f"Er hat {de(1500)} Euro."


# --- hand-checked ----------------------------------------------------------------------------------
# Checked by hand against French usage (Le Petit Robert's and the Imprimerie nationale's rules for
# ordinals, dates and times; what a French reader says aloud for amounts and decimals).
FRENCH = [
    # grouping, decimals, signs, percentages, degrees
    ("Il a 1 234 ans.", "Il a mille deux cent trente-quatre ans."),
    ("Pi vaut 3,14 environ.", "Pi vaut trois virgule quatorze environ."),
    ("Il mesure 3,05 m.", "Il mesure trois virgule zéro cinq m."),
    ("Il mesure 0,5 m.", "Il mesure zéro virgule cinq m."),
    ("Soit 3,14159 en tout.", "Soit trois virgule un quatre un cinq neuf en tout."),
    ("Il fait -5 dehors.", "Il fait moins cinq dehors."),
    ("Une hausse de 15 % cette année.", "Une hausse de quinze pour cent cette année."),
    ("Une baisse de 2,5 %.", "Une baisse de deux virgule cinq pour cent."),
    ("Il fait 20 °C.", "Il fait vingt degrés Celsius."),
    ("Il fait 1 °C.", "Il fait un degré Celsius."),
    # euros
    ("Il coûte 12,50 €.", "Il coûte douze euros cinquante."),
    ("Il coûte € 3.", "Il coûte trois euros."),
    ("Il coûte 1 €.", "Il coûte un euro."),
    ("Il coûte 0,50 €.", "Il coûte cinquante centimes."),
    ("Il coûte 3,14 euros.", "Il coûte trois euros quatorze."),
    ("Il coûte 12 euros.", "Il coûte douze euros."),
    ("Un budget de 2 000 000 €.", "Un budget de deux millions d'euros."),
    ("Une livre à 1 £.", "Une livre à une livre."),
    # years, ranges
    ("En 1990, il partit.", "En mille neuf cent quatre-vingt-dix, il partit."),
    ("La guerre de 1914-1918.", "La guerre de mille neuf cent quatorze à mille neuf cent dix-huit."),
    ("La guerre de 1914–18.", "La guerre de mille neuf cent quatorze à mille neuf cent dix-huit."),
    ("Le score fut 3-2.", "Le score fut trois à deux."),
    # ordinals
    ("Le 1er jour.", "Le premier jour."),
    ("La 1re fois, la 1ère fois.", "La première fois, la première fois."),
    ("Les 1ers venus, les 1res venues.", "Les premiers venus, les premières venues."),
    (
        "Le 2e jour, le 2ème jour, le 2nd jour, la 2nde fois.",
        "Le deuxième jour, le deuxième jour, le second jour, la seconde fois.",
    ),
    ("Le 21e siècle.", "Le vingt et unième siècle."),
    ("Le 80e anniversaire.", "Le quatre-vingtième anniversaire."),
    ("Le 200e anniversaire.", "Le deux centième anniversaire."),
    ("Le 1ᵉʳ et le 2ᵉ.", "Le premier et le deuxième."),
    # roman numerals: centuries, kings, headings
    ("Au XIXe siècle.", "Au dix-neuvième siècle."),
    ("Au XXe, au XVIIIème et au Ve siècle.", "Au vingtième, au dix-huitième et au cinquième siècle."),
    ("La IIIe République.", "La troisième République."),
    ("François Ier régna.", "François premier régna."),
    ("Louis XIV et Henri IV.", "Louis quatorze et Henri quatre."),
    ("Chapitre XII", "Chapitre douze"),
    ("Le chat, Ce jour, De là, Les gens, Me Dupont.", "Le chat, Ce jour, De là, Les gens, Me Dupont."),
    # dates
    ("Le 14 juillet 1789.", "Le quatorze juillet mille sept cent quatre-vingt-neuf."),
    ("Le 1er mai 2020.", "Le premier mai deux mille vingt."),
    ("Le 1 mai.", "Le premier mai."),
    ("Le 14/07/1789.", "Le quatorze juillet mille sept cent quatre-vingt-neuf."),
    ("Le 01/05/2020.", "Le premier mai deux mille vingt."),
    # times
    ("À 14 h 30.", "À quatorze heures trente."),
    ("À 14h30.", "À quatorze heures trente."),
    ("À 14h.", "À quatorze heures."),
    ("À 1 h 05.", "À une heure cinq."),
    ("À 21 h.", "À vingt et une heures."),
    ("À 0 h 15.", "À zéro heure quinze."),
    ("À 14:30.", "À quatorze heures trente."),
    # leftovers
    ("La version 2.0.", "La version deux point zéro."),
    ("Le MP3.", "Le MP trois."),
]

# Checked by hand against German usage (Duden on ordinals, dates and times). The ordinal's ending
# follows the word before it: "-ten" after am/vom/zum/im/beim/zur, dem/den/des, ab/bis/seit ("am dritten
# Oktober"), "-te" after der/die/das ("der dritte Oktober"), and a date with no article "-ter" ("dritter
# Oktober 1990", as a letterhead is read).
GERMAN = [
    # grouping, decimals, signs, percentages, degrees, amounts
    (
        "Er hat 1.234.567 Bücher.",
        "Er hat eine Million zweihundertvierunddreißigtausendfünfhundertsiebenundsechzig Bücher.",
    ),
    ("Pi ist 3,14.", "Pi ist drei Komma eins vier."),
    ("Es sind 3,50 Meter.", "Es sind drei Komma fünf null Meter."),
    ("Es sind -5 Grad.", "Es sind minus fünf Grad."),
    ("Es stieg um 15 %.", "Es stieg um fünfzehn Prozent."),
    ("Es stieg um 1 %.", "Es stieg um ein Prozent."),
    ("Es sind 20 °C.", "Es sind zwanzig Grad Celsius."),
    ("Es kostet 12,50 €.", "Es kostet zwölf Euro fünfzig."),
    ("Es kostet € 3.", "Es kostet drei Euro."),
    ("Es kostet 1 €.", "Es kostet ein Euro."),
    ("Es kostet 0,50 €.", "Es kostet fünfzig Cent."),
    ("Es kostet 12,- €.", "Es kostet zwölf Euro."),
    # years, decades, ranges, ratios
    ("Im Jahr 1990 und 2020.", "Im Jahr neunzehnhundertneunzig und zweitausendzwanzig."),
    ("Im Jahr 1066.", "Im Jahr eintausendsechsundsechzig."),
    ("Die 1990er Jahre und die 80er.", "Die neunzehnhundertneunziger Jahre und die achtziger."),
    ("Von 1914-1918.", "Von neunzehnhundertvierzehn bis neunzehnhundertachtzehn."),
    ("Seiten 10-20.", "Seiten zehn bis zwanzig."),
    ("Es endete 2:1.", "Es endete zwei zu eins."),
    # ordinal dates
    ("3. Oktober 1990", "dritter Oktober neunzehnhundertneunzig"),
    ("Berlin, 3. Oktober 1990", "Berlin, dritter Oktober neunzehnhundertneunzig"),
    ("Berlin, den 3. Oktober 1990", "Berlin, den dritten Oktober neunzehnhundertneunzig"),
    ("Der 3. Oktober ist ein Feiertag.", "Der dritte Oktober ist ein Feiertag."),
    ("Am 3. Oktober 1990 kam es.", "Am dritten Oktober neunzehnhundertneunzig kam es."),
    ("Bis zum 3. Okt. blieb er.", "Bis zum dritten Oktober blieb er."),
    ("Seit dem 1. Mai.", "Seit dem ersten Mai."),
    ("Am 3. und 4. Oktober.", "Am dritten und vierten Oktober."),
    ("Vom 3. bis 5. Oktober.", "Vom dritten bis fünften Oktober."),
    ("24.12.2020", "vierundzwanzigster Dezember zweitausendzwanzig"),
    ("Am 24.12.2020 feiern wir.", "Am vierundzwanzigsten Dezember zweitausendzwanzig feiern wir."),
    ("Bis zum 24.12. bleibt er.", "Bis zum vierundzwanzigsten Dezember bleibt er."),
    ("Am 1.5.1890 streikten sie.", "Am ersten Mai achtzehnhundertneunzig streikten sie."),
    ("Wir treffen uns am 3.", "Wir treffen uns am dritten."),
    # ordinals before nouns
    ("Der 1. Weltkrieg begann.", "Der erste Weltkrieg begann."),
    ("Im 19. Jahrhundert.", "Im neunzehnten Jahrhundert."),
    ("Die 2. Auflage erschien.", "Die zweite Auflage erschien."),
    ("In der 2. Auflage steht es.", "In der zweiten Auflage steht es."),
    ("Zum 2. Mal.", "Zum zweiten Mal."),
    ("1. Kapitel", "erstes Kapitel"),
    # numbers with a full stop that are not ordinals
    ("Er war 21. Dann ging er.", "Er war einundzwanzig. Dann ging er."),
    ("Es war 1990. Kohl war Kanzler.", "Es war neunzehnhundertneunzig. Kohl war Kanzler."),
    ("Er zählte bis 3. Maria lachte.", "Er zählte bis drei. Maria lachte."),
    ("1. Einleitung", "eins. Einleitung"),
    # times
    ("Um 14:30 Uhr.", "Um vierzehn Uhr dreißig."),
    ("Um 14.30 Uhr.", "Um vierzehn Uhr dreißig."),
    ("Um 1 Uhr.", "Um ein Uhr."),
    ("Um 8.00 Uhr.", "Um acht Uhr."),
    ("Er kam um 14:30 an.", "Er kam um vierzehn Uhr dreißig an."),
    # rulers and headings
    ("Friedrich II. war König.", "Friedrich der Zweite war König."),
    ("Unter Friedrich II. lebte er.", "Unter Friedrich dem Zweiten lebte er."),
    ("Das Reich Friedrichs II. wuchs.", "Das Reich Friedrichs des Zweiten wuchs."),
    ("Elisabeth II. starb.", "Elisabeth die Zweite starb."),
    ("Kapitel IV", "Kapitel vier"),
    ("Version 2.0 ist da.", "Version zwei Punkt null ist da."),
]


@pytest.mark.parametrize(("text", "expected"), FRENCH)
def test_french(text: str, expected: str) -> None:
    assert normalize(text, "fr") == expected
    assert normalize(text, "fr-FR") == expected


@pytest.mark.parametrize(("text", "expected"), GERMAN)
def test_german(text: str, expected: str) -> None:
    assert normalize(text, "de") == expected
    assert normalize(text, "de-DE") == expected


@pytest.mark.parametrize(("lang", "text"), [("fr", t) for t, _ in FRENCH] + [("de", t) for t, _ in GERMAN])
def test_is_idempotent(lang: str, text: str) -> None:
    once = normalize(text, lang)
    assert normalize(once, lang) == once


# --- English is unchanged --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [  # outputs already asserted in tests/test_normalize.py
        ("It costs $5.50.", "It costs five dollars, fifty cents."),
        ("He came 1st.", "He came first."),
        ("It was July 26, 2008 then.", "It was July twenty-sixth, two thousand and eight then."),
        ("Pi is 3.14 or so.", "Pi is three point one four or so."),
        ("The war lasted 1914-1918.", "The war lasted nineteen fourteen to nineteen eighteen."),
    ],
)
def test_english_is_unchanged(text: str, expected: str) -> None:
    assert normalize(text, "en-us") == expected == _english(_neutral(text, "en"), "en")


def test_has_number_rules() -> None:
    assert all(has_number_rules(lang) for lang in ("fr", "fr-CA", "de", "de_AT", "en-us", "es", "nl"))
    assert not any(has_number_rules(lang) for lang in ("sw", "zh", "xx-yy", ""))


# --- properties ------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(text=st.text(), lang=st.sampled_from(["fr", "de"]))
def test_rules_do_not_lean_on_the_safety_net(text: str, lang: str) -> None:
    # normalize() falls back to the cleaned text if a rule raises; the rules themselves must not.
    assert isinstance(speak_numbers(_neutral(text, lang), lang, lang), str)


FR_NUMBERS = st.one_of(
    st.integers(-(10**9), 10**9).map(str),
    GROUPED.map(lambda n: f"{n:,}".replace(",", " ")),
    st.tuples(st.integers(0, 10**6), st.integers(0, 99)).map(lambda p: f"{p[0]},{p[1]:02d}"),
    st.integers(0, 100).map(lambda n: f"{n} %"),
    st.integers(0, 999).map(lambda n: f"{n},50 €"),
    st.integers(1, 99).map(lambda n: f"{n}e"),
    st.integers(1, 28).map(lambda d: f"{d}/07/1789"),
    st.integers(0, 23).map(lambda h: f"{h} h 30"),
)
DE_NUMBERS = st.one_of(
    st.integers(-(10**9), 10**9).map(str),
    GROUPED.map(lambda n: f"{n:,}".replace(",", ".")),
    st.tuples(st.integers(0, 10**6), st.integers(0, 99)).map(lambda p: f"{p[0]},{p[1]:02d}"),
    st.integers(0, 100).map(lambda n: f"{n} %"),
    st.integers(0, 999).map(lambda n: f"{n},50 €"),
    st.integers(1, 31).map(lambda d: f"am {d}. Oktober"),
    st.integers(1, 28).map(lambda d: f"{d}.12.2020"),
    st.integers(0, 23).map(lambda h: f"{h}:30 Uhr"),
)
WORDS = st.from_regex(r"[a-zàâçéèêëîïôûüäöß]{2,12}", fullmatch=True)
SEPARATORS = st.sampled_from([" ", ", ", "; ", " — ", "... "])


def letters(text: str) -> set[str]:
    return set(re.findall(r"[^\W\d_]+", text.lower()))


@settings(max_examples=300, deadline=None)
@given(
    lang=st.sampled_from(["fr", "de"]),
    data=st.data(),
)
def test_no_word_is_lost_and_no_digit_is_left(lang: str, data: st.DataObject) -> None:
    numbers = FR_NUMBERS if lang == "fr" else DE_NUMBERS
    tokens = st.one_of(WORDS.map(lambda w: (w, True)), numbers.map(lambda n: (n, False)))
    parts = data.draw(st.lists(st.tuples(tokens, SEPARATORS), min_size=1, max_size=20))
    text = "".join(token + sep for (token, _), sep in parts).strip()
    out = normalize(text, lang)
    # the words, not the letters of "1er" or "14 h 30", which become number words
    assert {token for (token, word), _ in parts if word} <= letters(out), out
    assert not re.search(r"\d", out), out


def test_pathological_inputs_are_fast() -> None:
    for chunk in ("1.", "1,", "1 ", "1 000 ", "am 3. ", "3:1 ", "1-", "XIXe ", "12h", "Friedrich II. "):
        for lang in ("fr", "de"):
            start = time.perf_counter()
            normalize(chunk * 20_000, lang)
            assert time.perf_counter() - start < 2.0, (lang, chunk)


# --- a real French book ----------------------------------------------------------------------------
def test_calibre_quickstart_in_french() -> None:
    with zipfile.ZipFile(corpus_file("epub", "calibre-quickstart-fra.epub")) as book:
        pages = [book.read(n).decode("utf-8") for n in book.namelist() if n.endswith((".html", ".xhtml"))]
    paragraphs = [
        " ".join(html.unescape(re.sub(r"<[^>]+>", "", p)).split())
        for page in pages
        for p in re.findall(r"<p[^>]*>(.*?)</p>", page, re.DOTALL)
    ]
    with_digits = [p for p in paragraphs if re.search(r"\d", p)]
    assert len(with_digits) >= 10
    for paragraph in with_digits:
        out = normalize(paragraph, "fr")
        assert letters(paragraph) <= letters(out), (paragraph, out)
        assert not re.search(r"\d", out), (paragraph, out)
    assert normalize("Copyright © 2010-2014 John Schember", "fr") == (
        "Copyright © deux mille dix à deux mille quatorze John Schember"
    )
