"""Read-along EPUB 3 (Media Overlays): real books, real M4A audio, and oracles that do not share code
with the writer: epubcheck, lxml.html's reading of the text, the audio's own length."""

from __future__ import annotations

import itertools
import posixpath
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

import numpy as np
import pytest
from lxml import etree, html

from tests.conftest import corpus_file
from voxcli.audio.m4b import open_encoder
from voxcli.audio.timeline import TimedChapter, TimedSentence
from voxcli.book import Book, Chapter
from voxcli.convert.plan import plan_book
from voxcli.engines.base import VoiceProfile, WordTiming
from voxcli.errors import VoxError
from voxcli.ingest import read_book
from voxcli.readalong import ReadAlongResult, write_readalong
from voxcli.readalong.apply import Ids, apply
from voxcli.readalong.match import Matches, match
from voxcli.readalong.smil import Sentence
from voxcli.readalong.wrap import body_of, read_text
from voxcli.text.normalize import normalize

RATE = 22050
PER_CHAR = 0.002  # seconds of audio per character: short, so the test's audio encodes fast
PAUSE = 0.3
PROFILE = VoiceProfile(
    name="t", engine="fake", voice="v", sentence_pause=0.2, paragraph_pause=0.5, title_pause=1.0
)
SMIL = "{http://www.w3.org/ns/SMIL}"
OPF = "{http://www.idpf.org/2007/opf}"
XHTML = "{http://www.w3.org/1999/xhtml}"


# --- a synthetic narration -------------------------------------------------------------------


def timeline(book: Book, numbers: list[int] | None = None, *, words: bool = False) -> list[TimedChapter]:
    """The pipeline's sentences of each chapter, each given a deterministic length of audio."""
    numbers = numbers or [c.index for c in book.chapters]
    plans = plan_book(
        book, numbers, profile=PROFILE, identity={"engine": "fake"}, max_chars=400, normalize=normalize
    )
    chapters = []
    for plan in plans:
        at = RATE // 10
        sentences = []
        for segment in plan.segments:
            length = max(1, round(len(segment.text) * PER_CHAR * RATE))
            timings = _timings(segment.text, length) if words else None
            sentences.append(TimedSentence(segment.text, at, at + length, segment.kind, timings))
            at += length + round(PAUSE * RATE)
        chapters.append(TimedChapter(plan.index, plan.title, RATE, at, tuple(sentences)))
    return chapters


def _timings(text: str, length: int) -> tuple[WordTiming, ...]:
    words = text.split()
    total = sum(len(w) + 1 for w in words)
    out, done = [], 0
    for word in words:
        start = done / total * length / RATE
        done += len(word) + 1
        out.append(WordTiming(word, start, done / total * length / RATE))
    return tuple(out)


def write_audio(chapters: list[TimedChapter], folder: Path) -> dict[int, Path]:
    """A real M4A (AAC) of exactly each chapter's length: a quiet tone."""
    audio = {}
    for chapter in chapters:
        path = folder / f"{chapter.index:03d}.m4a"
        sink = open_encoder("pyav", path, rate=RATE, kbps=32, markers=[], language="en")
        t = np.arange(chapter.samples) / RATE
        sink.write((np.sin(2 * np.pi * 220 * t) * 800).astype(np.int16))
        sink.finish()
        audio[chapter.index] = path
    return audio


# --- reading what was written ------------------------------------------------------------------


def epubcheck(path: Path) -> list[str]:
    """The ERROR and FATAL lines epubcheck prints (Debian's is an executable jar)."""
    found = shutil.which("epubcheck")
    if found is None:
        pytest.skip("epubcheck is not installed")
    jar = Path(found).resolve()  # Debian's is a link to the jar, run through binfmt when it is set up
    command = (
        ["java", "-Xss64m", "-jar", str(jar)] if jar.suffix == ".jar" and shutil.which("java") else [found]
    )
    run = subprocess.run([*command, str(path)], capture_output=True, text=True, timeout=300)
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.startswith(("ERROR", "FATAL"))]
    assert run.returncode == 0 or lines, run.stdout + run.stderr
    return lines


def package(epub: zipfile.ZipFile) -> tuple[str, etree._Element]:
    container = etree.fromstring(epub.read("META-INF/container.xml"))
    path = next(container.iter("{*}rootfile")).get("full-path")
    assert path
    return path, etree.fromstring(epub.read(path))


def resolve(base: str, href: str) -> str:
    """An href in the archive file ``base`` as an archive path."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), unquote(href)))


def attr(el: etree._Element | None, name: str) -> str:
    assert el is not None
    value = el.get(name)
    assert value is not None, name
    return str(value)


def child(el: etree._Element | None, tag: str) -> etree._Element:
    assert el is not None
    found = el.find(tag)
    assert found is not None, tag
    return found


def seconds(value: str) -> float:
    if value.endswith("s") and not value.endswith("ms"):
        return float(value[:-1])
    h, m, s = value.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def visible_text(data: bytes) -> str:
    """The body's text as lxml's HTML parser sees it, whitespace collapsed."""
    root = html.document_fromstring(data)
    body = root.find(".//body")
    assert isinstance(body, html.HtmlElement)
    return " ".join(body.text_content().split())


def tags(data: bytes) -> list[str]:
    root = html.document_fromstring(data)
    return [el.tag for el in root.iter() if isinstance(el.tag, str)]


def overlays(epub: zipfile.ZipFile) -> Iterator[tuple[str, str, etree._Element]]:
    """(content document path, SMIL path, SMIL root) for each overlaid document."""
    opf_path, opf = package(epub)
    items = {i.get("id"): i for i in opf.iter(f"{OPF}item")}
    for item in items.values():
        smil_id = item.get("media-overlay")
        if smil_id:
            doc = resolve(opf_path, attr(item, "href"))
            smil = resolve(opf_path, attr(items[smil_id], "href"))
            yield doc, smil, etree.fromstring(epub.read(smil))


# --- the checks every read-along must pass ------------------------------------------------------

ALLOWED_NEW = {"span", "link"}  # the sentence spans, and the highlight's style sheet
INLINE = {"a", "abbr", "b", "cite", "code", "em", "i", "q", "s", "small", "span", "strong", "sub", "sup", "u"}


def folded(text: str) -> str:
    """Letters and digits, casefolded: what two readings of a text must agree on."""
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text).casefold() if c.isalnum())


def shown_text(el: etree._Element) -> str:
    """An element's text without page numbers and note references (which sit inside sentences)."""
    parts = [el.text or ""]
    for child in el:
        kinds = (child.get("{http://www.idpf.org/2007/ops}type") or "").split()
        if not {"pagebreak", "noteref"} & set(kinds) and isinstance(child.tag, str):
            parts.append(shown_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def check_readalong(
    out: Path,
    chapters: list[TimedChapter],
    result: ReadAlongResult,
    audio: dict[int, Path],
    source: Path | None = None,
    *,
    words: bool = False,
) -> dict[str, int]:
    """Every check that needs no reading of the writer's code; returns counts for further checks."""
    wanted = {(c.index, s.start): (c, s) for c in chapters for s in c.sentences if s.spoken}
    seen: set[tuple[int, int]] = set()
    counts = {"pars": 0, "seqs": 0, "word_pars": 0, "exact_text": 0, "sentence_targets": 0}
    with zipfile.ZipFile(out) as epub:
        first = epub.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert epub.read("mimetype") == b"application/epub+zip"
        opf_path, opf = package(epub)
        assert opf.get("version") == "3.0"
        items = {i.get("id"): i for i in opf.iter(f"{OPF}item")}
        durations: dict[str, float] = {}
        clips: dict[int, list[tuple[int, int]]] = {}
        checked: set[str] = set()
        for doc, smil_path, smil in overlays(epub):
            root = etree.fromstring(epub.read(doc))
            by_id = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
            total = 0.0
            for entry in child(smil, f"{SMIL}body"):
                pars = [entry] if entry.tag == f"{SMIL}par" else list(entry.iter(f"{SMIL}par"))
                assert entry.tag == f"{SMIL}par" or words
                if entry.tag == f"{SMIL}seq":
                    counts["seqs"] += 1
                    counts["word_pars"] += len(pars)
                counts["pars"] += 1
                spans = []
                for par in pars:
                    target, _, fragment = attr(par.find(f"{SMIL}text"), "src").partition("#")
                    assert (resolve(smil_path, target)) == doc
                    assert fragment in by_id, fragment
                    clip = child(par, f"{SMIL}audio")
                    name = resolve(smil_path, attr(clip, "src"))
                    index = int(PurePosixPath(name).stem)
                    if name not in checked:
                        assert epub.read(name) == audio[index].read_bytes()
                        assert epub.getinfo(name).compress_type == zipfile.ZIP_STORED
                        checked.add(name)
                    spans.append((seconds(attr(clip, "clipBegin")), seconds(attr(clip, "clipEnd"))))
                begin, end = spans[0][0], spans[-1][1]
                assert all(a < b for a, b in spans)
                assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(spans))
                key = (index, round(begin * RATE))
                assert key in wanted and key not in seen, (key, fragment)
                seen.add(key)
                _, sentence = wanted[key]
                assert abs(begin - sentence.start / RATE) < 0.001
                assert abs(end - sentence.end / RATE) < 0.001
                clips.setdefault(index, []).append((sentence.start, sentence.end))
                total += end - begin
                sentence_id = (
                    entry.get("{http://www.idpf.org/2007/ops}textref") or f"#{fragment}"
                ).partition("#")[2]
                if sentence_id.startswith("vx-s") and sentence.text not in result.unmatched:
                    counts["sentence_targets"] += 1
                    text = folded(shown_text(by_id[sentence_id]))
                    counts["exact_text"] += text == folded(sentence.text)
            smil_id = next(
                attr(v, "id")
                for v in items.values()
                if v.get("media-type") == "application/smil+xml"
                and resolve(opf_path, attr(v, "href")) == smil_path
            )
            durations[smil_id] = total
        # Every spoken sentence has exactly one par; unspoken ones have none.
        assert seen == set(wanted)
        assert counts["pars"] == len(wanted)
        assert result.pars == counts["pars"] - counts["seqs"] + counts["word_pars"]
        # Clips of one audio file never overlap and stay within it.
        for index, samples in clips.items():
            samples.sort()
            assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(samples))
            length = next(c.samples for c in chapters if c.index == index)
            assert samples[-1][1] <= length
        # media:duration per overlay and in total, and the other Media Overlays metadata.
        refined: dict[str, float] = {}
        total_meta = None
        for meta in opf.iter(f"{OPF}meta"):
            if meta.get("property") == "media:duration":
                if meta.get("refines"):
                    refined[attr(meta, "refines").lstrip("#")] = seconds(meta.text or "")
                else:
                    total_meta = seconds(meta.text or "")
        assert refined.keys() == durations.keys()
        assert all(abs(refined[k] - v) < 0.002 for k, v in durations.items())
        assert total_meta is not None and abs(total_meta - sum(refined.values())) < 0.002
        assert abs(result.duration - total_meta) < 0.002
        props = {m.get("property"): m.text for m in opf.iter(f"{OPF}meta")}
        assert props["media:active-class"] == "-epub-media-overlay-active"
        assert props["media:narrator"] == "joe (piper en_US-joe-medium)"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", props["dcterms:modified"] or "")
        css = [i for i in items.values() if i.get("media-type") == "text/css" and "voxcli" in attr(i, "href")]
        assert css and b"-epub-media-overlay-active" in epub.read(resolve(opf_path, attr(css[0], "href")))
        assert result.documents == len(durations)

        if source is not None and not result.rebuilt:
            overlaid = {doc for doc, _, _ in overlays(epub)}
            with zipfile.ZipFile(source) as original:
                assert sorted(original.namelist()) == sorted(
                    n for n in epub.namelist() if n in original.namelist()
                )
                for info in original.infolist():
                    before, after = original.read(info.filename), epub.read(info.filename)
                    if info.filename in overlaid:
                        # What a reader sees is unchanged, and so is every element of the original.
                        assert visible_text(after) == visible_text(before), info.filename
                        old, new = tags(before), tags(after)
                        rest = iter(new)
                        assert all(tag in rest for tag in old), info.filename  # a subsequence
                        extra = set(new) - set(old)
                        assert extra <= ALLOWED_NEW, extra
                        grown = {t for t in set(new) if new.count(t) > old.count(t)}
                        assert grown <= ALLOWED_NEW | INLINE, grown
                    elif info.filename != opf_path:
                        assert before == after, info.filename
    return counts


def epubcheck_clean(path: Path) -> None:
    errors = epubcheck(path)
    assert not errors, "\n".join(errors[:20])


# --- fixtures: real books, narrated ---------------------------------------------------------------


@pytest.fixture(scope="module")
def childrens(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Book, list[TimedChapter], dict[int, Path]]:
    source = corpus_file("epub", "childrens-literature.epub")
    book = read_book(str(source))
    chapters = timeline(book)
    audio = write_audio(chapters, tmp_path_factory.mktemp("audio"))
    return source, book, chapters, audio


NARRATOR = "joe (piper en_US-joe-medium)"


def test_epub3_with_fragment_chapters(
    childrens: tuple[Path, Book, list[TimedChapter], dict[int, Path]], tmp_path: Path
) -> None:
    source, book, chapters, audio = childrens
    assert len(book.chapters) == 22
    out = tmp_path / "book.epub"
    result = write_readalong(out, book, chapters, audio, source=source, narrator=NARRATOR)
    assert not result.rebuilt and result.documents == 1
    assert result.unspoken == []
    assert len(result.unmatched) <= 2, result.unmatched
    counts = check_readalong(out, chapters, result, audio, source)
    spoken = sum(s.spoken for c in chapters for s in c.sentences)
    assert counts["pars"] == spoken == result.pars
    # The spans hold their sentences (a whole paragraph's worth of extraction tolerance aside).
    assert counts["exact_text"] >= 0.99 * counts["sentence_targets"]


@pytest.mark.slow
def test_epub3_with_fragment_chapters_passes_epubcheck(
    childrens: tuple[Path, Book, list[TimedChapter], dict[int, Path]], tmp_path: Path
) -> None:
    source, book, chapters, audio = childrens
    out = tmp_path / "book.epub"
    write_readalong(out, book, chapters, audio, source=source, narrator=NARRATOR)
    epubcheck_clean(out)  # about 20 s for this book's 2,400 sentences


def test_word_level_pars_on_a_subset_of_chapters(
    childrens: tuple[Path, Book, list[TimedChapter], dict[int, Path]], tmp_path: Path
) -> None:
    source, book, _, audio = childrens
    chapters = timeline(book, [3, 7], words=True)  # two chapters in the middle of one document
    out = tmp_path / "words.epub"
    result = write_readalong(out, book, chapters, audio, source=source, narrator=NARRATOR, words=True)
    counts = check_readalong(out, chapters, result, audio, source, words=True)
    assert counts["seqs"] > 0.9 * counts["pars"]  # nearly every sentence's words match its timings
    with zipfile.ZipFile(out) as epub:
        (doc, _, smil), *_ = overlays(epub)
        root = etree.fromstring(epub.read(doc))
        by_id = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
        seq = next(smil.iter(f"{SMIL}seq"))
        sentence = by_id[attr(seq, "{http://www.idpf.org/2007/ops}textref").partition("#")[2]]
        word_ids = [attr(p.find(f"{SMIL}text"), "src").partition("#")[2] for p in seq.iter(f"{SMIL}par")]
        # Each word par reads one word span inside the sentence's span, in order.
        words = [by_id[w] for w in word_ids]
        assert all(sentence in w.iterancestors() for w in words)
        assert [folded(shown_text(w)) for w in words] == [folded(w) for w in shown_text(sentence).split()]
    # Chapters not converted have no pars; the others are timed as before.
    assert result.documents == 1


def test_markdown_book_is_built_as_a_clean_epub3(tmp_path: Path) -> None:
    book = read_book(str(corpus_file("md", "rust-book-ch04-01-what-is-ownership.md")))
    chapters = timeline(book, [c.index for c in book.chapters][:3], words=True)
    audio = write_audio(chapters, tmp_path)
    out = tmp_path / "ownership.epub"
    result = write_readalong(out, book, chapters, audio, source=None, narrator=NARRATOR, words=True)
    assert result.rebuilt and result.unmatched == [] and result.documents == 3
    counts = check_readalong(out, chapters, result, audio, words=True)
    assert counts["seqs"] > 0.8 * counts["pars"]  # word-level pars, checked by epubcheck below
    with zipfile.ZipFile(out) as epub:
        _, opf = package(epub)
        meta = child(opf, f"{OPF}metadata")
        assert meta.findtext("{http://purl.org/dc/elements/1.1/}title") == book.title
        assert meta.findtext("{http://purl.org/dc/elements/1.1/}language")
        texts = [visible_text(epub.read(doc)) for doc, _, _ in overlays(epub)]
    # Every paragraph of the converted chapters is in the book, in order.
    shown = folded(" ".join(texts))
    assert all(folded(p) in shown for c in book.chapters[:3] for p in c.paragraphs)
    epubcheck_clean(out)


def test_epub2_source_is_rebuilt_as_epub3(tmp_path: Path) -> None:
    source = corpus_file("epub", "calibre-quickstart-eng.epub")
    book = read_book(str(source))
    chapters = timeline(book)
    audio = write_audio(chapters, tmp_path)
    out = tmp_path / "quickstart.epub"
    result = write_readalong(out, book, chapters, audio, source=source, narrator=NARRATOR)
    assert result.rebuilt and any("EPUB 2" in w for w in result.warnings)
    assert result.unmatched == []
    check_readalong(out, chapters, result, audio)
    epubcheck_clean(out)


# --- the DOM surgery, on hand-written documents ---------------------------------------------------


def _page(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">'
        f"<head><title>t</title></head><body>{body}</body></html>"
    ).encode()


def _chapter(*texts: str | tuple[str, str], index: int = 1) -> TimedChapter:
    sentences, at = [], 0
    for item in texts:
        kind, text = ("text", item) if isinstance(item, str) else item
        length = 0 if text.startswith("UNSPOKEN") else 1000
        sentences.append(TimedSentence(text, at, at + length, kind))  # type: ignore[arg-type]
        at += length + 100
    return TimedChapter(index, "t", RATE, at, tuple(sentences))


def overlay_page(
    body: str, *chapters: TimedChapter, words: bool = False
) -> tuple[etree._Element, tuple[Matches, list[Sentence]]]:
    """Wrap the chapters' sentences in a hand-written page; (the new body, (the matches, the overlay))."""
    root = etree.fromstring(_page(body))
    element = body_of(root)
    assert element is not None
    doc = read_text(element)
    found = match([doc], chapters)
    entries = apply(doc, found.placements, Ids(set()), lambda index: f"{index}.m4a", words=words)
    return element, (found, entries)


def _xml(el: etree._Element) -> str:
    text = etree.tostring(el, encoding="unicode")
    return re.sub(r' xmlns(:\w+)?="[^"]+"', "", text)


def test_sentence_boundary_inside_an_inline_element_splits_it() -> None:
    body, (found, entries) = overlay_page(
        '<p class="x">One <em id="e" class="k">two. Three</em> four.</p>', _chapter("One two.", "Three four.")
    )
    # Three copies of the em: each sentence's part, and the space between them (styled as before);
    # the id stays on the first.
    assert _xml(body) == (
        '<body><p class="x"><span id="vx-s1">One <em id="e" class="k">two.</em></span>'
        '<em class="k"> </em><span id="vx-s2"><em class="k">Three</em> four.</span></p></body>'
    )
    assert [e.clip.target for e in entries] == ["vx-s1", "vx-s2"]
    assert found.unmatched == []


def test_a_boundary_two_inline_elements_deep() -> None:
    body, _ = overlay_page("<p>A <b>b <i>c. D</i> e</b> f.</p>", _chapter("A b c.", "D e f."))
    assert _xml(body) == (
        '<body><p><span id="vx-s1">A <b>b <i>c.</i></b></span><b><i> </i></b>'
        '<span id="vx-s2"><b><i>D</i> e</b> f.</span></p></body>'
    )


def test_an_element_that_is_exactly_the_sentence_is_reused() -> None:
    body, (_, entries) = overlay_page(
        '<p><span class="audio" id="c1">Call me Ishmael.</span> <em>Some years ago.</em></p>',
        _chapter("Call me Ishmael.", "Some years ago."),
    )
    assert _xml(body) == (
        '<body><p><span class="audio" id="c1">Call me Ishmael.</span> '
        '<em id="vx-s2">Some years ago.</em></p></body>'
    )
    assert [e.clip.target for e in entries] == ["c1", "vx-s2"]


def test_nested_inline_elements_and_punctuation_across_their_edges() -> None:
    body, _ = overlay_page(
        "<p>“<i>Call <b>me Ishmael</b></i>.” Some years ago.</p>",
        _chapter("“Call me Ishmael.”", "Some years ago."),
    )
    assert _xml(body) == (
        '<body><p><span id="vx-s1">“<i>Call <b>me Ishmael</b></i>.”</span> '
        '<span id="vx-s2">Some years ago.</span></p></body>'
    )


def test_page_numbers_and_note_references_inside_a_sentence_stay_where_they_are() -> None:
    body, (found, _) = overlay_page(
        '<p>The hay <span epub:type="pagebreak" id="p4">204</span> had been put up'
        '<a epub:type="noteref" href="#n1">1</a>. Next one.</p>',
        _chapter("The hay had been put up.", "Next one."),
    )
    assert found.unmatched == []
    assert _xml(body) == (
        '<body><p><span id="vx-s1">The hay <span epub:type="pagebreak" id="p4">204</span> had been put up'
        '<a epub:type="noteref" href="#n1">1</a>.</span> <span id="vx-s2">Next one.</span></p></body>'
    )


def test_title_not_in_the_text_reads_the_heading_and_the_missing_get_a_place() -> None:
    body, (found, entries) = overlay_page(
        "<section><h2>I. BEGINNINGS</h2><p>It was dark. It rained.</p></section>",
        _chapter(
            ("title", "The First Chapter"), "It was dark.", "Nothing like this.", "UNSPOKEN", "It rained."
        ),
    )
    assert _xml(body) == (
        '<body><section><h2 id="vx-h1">I. BEGINNINGS</h2><p><span id="vx-s2">It was dark.</span>'
        '<span id="vx-s3"></span> <span id="vx-s4">It rained.</span></p></section></body>'
    )
    assert found.unmatched == ["Nothing like this."] and found.unspoken == ["UNSPOKEN"]
    assert [e.clip.target for e in entries] == ["vx-h1", "vx-s2", "vx-s3", "vx-s4"]


def test_a_sentence_across_paragraphs_is_cut_at_the_first() -> None:
    body, (found, _) = overlay_page("<p>One two</p><p>three. Four.</p>", _chapter("One two three.", "Four."))
    assert _xml(body) == '<body><p id="vx-s1">One two</p><p>three. <span id="vx-s2">Four.</span></p></body>'
    assert found.warnings and found.unmatched == []


def test_word_spans_inside_the_sentence_span() -> None:
    # The sentence is the whole paragraph: the paragraph itself carries its id, no span is added.
    chapter = _chapter("Call me Ishmael.")
    sentence = replace(chapter.sentences[0], words=tuple(_timings("Call me Ishmael.", 1000)))
    chapter = replace(chapter, sentences=(sentence,))
    body, (_, entries) = overlay_page("<p>Call <em>me Ishmael</em>.</p>", chapter, words=True)
    assert _xml(body) == (
        '<body><p id="vx-s1"><span id="vx-s1-w1">Call</span> <em><span id="vx-s1-w2">me</span> </em>'
        '<span id="vx-s1-w3"><em>Ishmael</em>.</span></p></body>'
    )
    words = entries[0].words
    assert [w.target for w in words] == ["vx-s1-w1", "vx-s1-w2", "vx-s1-w3"]
    assert words[0].start == sentence.start and words[-1].end == sentence.end
    assert all(a.end == b.start for a, b in itertools.pairwise(words))


def test_a_read_along_made_again_from_a_read_along(tmp_path: Path) -> None:
    source = corpus_file("epub", "regime-anticancer-arabic.epub")  # right to left, Arabic script
    book = read_book(str(source))
    chapters = timeline(book)
    audio = write_audio(chapters, tmp_path)
    first, second = tmp_path / "first.epub", tmp_path / "second.epub"
    one = write_readalong(first, book, chapters, audio, source=source, narrator=NARRATOR)
    check_readalong(first, chapters, one, audio, source)
    two = write_readalong(second, book, chapters, audio, source=first, narrator=NARRATOR)
    assert (two.pars, two.unmatched) == (one.pars, one.unmatched) and not two.rebuilt
    check_readalong(second, chapters, two, audio)
    with zipfile.ZipFile(second) as epub, zipfile.ZipFile(source) as original:
        smils = [n for n in epub.namelist() if n.endswith(".smil")]
        assert len(smils) == two.documents  # the first overlays gave way
        for doc, _, _ in overlays(epub):
            assert visible_text(epub.read(doc)) == visible_text(original.read(doc))
    epubcheck_clean(second)


def test_a_chapter_without_its_audio_is_an_error_the_user_can_act_on(tmp_path: Path) -> None:
    book = Book("T", "A", "en", (Chapter(1, "One", ("Hello there.",)),))
    chapters = [_chapter(("title", "One"), "Hello there.")]
    out = tmp_path / "t.epub"
    with pytest.raises(VoxError, match="no audio file for chapter 1"):
        write_readalong(out, book, chapters, {}, source=None, narrator=NARRATOR)
    assert not out.exists() and not list(tmp_path.iterdir())  # nothing half-written is left


@pytest.mark.slow
def test_word_level_read_along_passes_epubcheck(
    childrens: tuple[Path, Book, list[TimedChapter], dict[int, Path]], tmp_path: Path
) -> None:
    source, book, _, audio = childrens
    chapters = timeline(book, [2, 3, 4], words=True)  # about 2,000 word pars: epubcheck is slow on more
    out = tmp_path / "words.epub"
    write_readalong(out, book, chapters, audio, source=source, narrator=NARRATOR, words=True)
    epubcheck_clean(out)
