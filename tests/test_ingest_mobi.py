"""The Kindle reader (voxcli/ingest/mobi.py): MOBI 6, KF8 (AZW3) and joint files, against the EPUB
twin calibre made them from, and hostile files made here from copies of the real ones."""

from __future__ import annotations

import io
import struct
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import corpus_file
from tests.formatcheck import titles, word_ratio, word_recall
from voxcli.book import Book
from voxcli.errors import BookError
from voxcli.ingest import ReadOptions, read_book
from voxcli.ingest.mobi import _read, read_mobi

KINDLE = ("moby-dick.calibre.mobi", "moby-dick.calibre.azw3")


@pytest.fixture(scope="module")
def twin() -> Book:
    return read_book(str(corpus_file("epub", "moby-dick.epub")))


@pytest.fixture(scope="module")
def books() -> dict[str, tuple[Book, float]]:
    read: dict[str, tuple[Book, float]] = {}
    for name in KINDLE:
        start = time.monotonic()
        book = read_mobi(corpus_file("formats", name), ReadOptions())
        read[name] = (book, time.monotonic() - start)
    return read


# -- the real books ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", KINDLE)
def test_same_chapters_and_words_as_the_epub(
    name: str, books: dict[str, tuple[Book, float]], twin: Book
) -> None:
    book, seconds = books[name]
    assert len(twin.chapters) == 141
    assert titles(book) == titles(twin)
    assert book.chapters[0].title == "Moby-Dick"
    assert book.chapters[1].title == "Original Transcriber’s Notes:"
    assert book.chapters[-1].title == "Copyright Page"
    assert 0.97 <= word_ratio(book, twin) <= 1.03
    assert word_recall(book, twin) >= 0.97
    assert seconds < 10


@pytest.mark.parametrize("name", KINDLE)
def test_chapter_words_match_the_epub(name: str, books: dict[str, tuple[Book, float]], twin: Book) -> None:
    book, _ = books[name]
    differ = {
        c.title: (t.words, c.words)
        for c, t in zip(book.chapters, twin.chapters, strict=True)
        if c.words != t.words
    }
    # The one difference is calibre's: the EPUB 3 footnote (an <aside epub:type="footnote">) of the
    # transcriber's notes, which the EPUB reader leaves out, is plain text in the Kindle files.
    assert differ == {book.chapters[1].title: (81, 89)}
    assert book.chapters[1].paragraphs[-1] == "These have been corrected in this EPUB3 edition."


@pytest.mark.parametrize("name", KINDLE)
def test_metadata_from_exth(name: str, books: dict[str, tuple[Book, float]], twin: Book) -> None:
    book, _ = books[name]
    assert book.title == twin.title == "Moby-Dick"
    assert book.author == twin.author == "Herman Melville"
    # The EPUB says en-US; calibre's MOBI writer keeps only the language (EXTH 524 is "en" and the
    # MOBI header's locale 0x09 has no country), so the Kindle files cannot say more than "en".
    assert twin.language == "en-US"
    assert book.language == "en"
    # EXTH 106 holds the time of the conversion (the EPUB has no date): no publication year.
    assert book.year == twin.year == ""
    # calibre appends the EPUB's non-linear table of contents and one it generates: not read.
    assert book.warnings == ("2 table(s) of contents after the last chapter; not read",)


@pytest.mark.parametrize("name", KINDLE)
def test_cover_is_an_image(name: str, books: dict[str, tuple[Book, float]]) -> None:
    book, _ = books[name]
    assert book.cover is not None
    assert book.cover.media_type in ("image/jpeg", "image/png", "image/gif")
    Image.open(io.BytesIO(book.cover.data)).verify()
    assert Image.open(io.BytesIO(book.cover.data)).size[0] > 100


def test_read_book_picks_the_kindle_reader(tmp_path: Path, books: dict[str, tuple[Book, float]]) -> None:
    copy = tmp_path / "book.prc"
    copy.write_bytes(corpus_file("formats", "moby-dick.calibre.mobi").read_bytes())
    book = read_book(str(copy))
    assert titles(book) == titles(books["moby-dick.calibre.mobi"][0])


# -- a joint file, made from the two real ones -------------------------------------------------


def _records(data: bytes) -> list[bytes]:
    (count,) = struct.unpack_from(">H", data, 76)
    offsets = [struct.unpack_from(">L", data, 78 + 8 * i)[0] for i in range(count)] + [len(data)]
    return [data[a:b] for a, b in pairwise(offsets)]


def _pdb(head: bytes, records: list[bytes]) -> bytes:
    table = b""
    offset = 78 + 8 * len(records) + 2
    for number, record in enumerate(records):
        table += struct.pack(">LL", offset, 2 * number)
        offset += len(record)
    return head[:76] + struct.pack(">H", len(records)) + table + b"\0\0" + b"".join(records)


def _add_exth(record0: bytes, key: int, value: bytes) -> bytes:
    """Record 0 with one more EXTH record (at the end of the block, before its padding)."""
    mobi_length = struct.unpack_from(">L", record0, 20)[0]
    exth = 16 + mobi_length
    assert record0[exth : exth + 4] == b"EXTH"
    length, count = struct.unpack_from(">LL", record0, exth + 4)
    item = struct.pack(">LL", key, 8 + len(value)) + value
    assert len(item) % 4 == 0
    raw = bytearray(record0[: exth + length] + item + record0[exth + length :])
    struct.pack_into(">LL", raw, exth + 4, length + len(item), count + 1)
    name_offset = struct.unpack_from(">L", raw, 84)[0]
    struct.pack_into(">L", raw, 84, name_offset + len(item))  # the full name comes after the EXTH
    return bytes(raw)


@pytest.fixture(scope="module")
def joint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What kindlegen and calibre's "both" output hold: MOBI 6 records, BOUNDARY, then KF8's."""
    mobi = corpus_file("formats", "moby-dick.calibre.mobi").read_bytes()
    azw3 = corpus_file("formats", "moby-dick.calibre.azw3").read_bytes()
    old, new = _records(mobi), _records(azw3)
    boundary = len(old) + 1
    old[0] = _add_exth(old[0], 121, struct.pack(">L", boundary))
    path = tmp_path_factory.mktemp("joint") / "joint.mobi"
    path.write_bytes(_pdb(mobi, [*old, b"BOUNDARY", *new]))
    return path


def test_joint_file_reads_its_kf8_part(joint: Path, books: dict[str, tuple[Book, float]]) -> None:
    book = read_mobi(joint, ReadOptions())
    azw3 = books["moby-dick.calibre.azw3"][0]
    assert [c.paragraphs for c in book.chapters] == [c.paragraphs for c in azw3.chapters]
    assert book.cover is not None  # from the MOBI 6 part's images, which KF8 shares
    Image.open(io.BytesIO(book.cover.data)).verify()


def test_joint_file_parts_give_the_same_chapters(joint: Path, twin: Book) -> None:
    kf8 = _read(joint, joint.read_bytes(), ReadOptions(), prefer_kf8=True)
    mobi6 = _read(joint, joint.read_bytes(), ReadOptions(), prefer_kf8=False)
    assert titles(kf8) == titles(mobi6) == titles(twin)
    for a, b in zip(kf8.chapters, mobi6.chapters, strict=True):
        assert abs(a.words - b.words) <= max(3, a.words // 50), a.title
    assert 0.99 <= word_ratio(kf8, mobi6) <= 1.01
    assert word_recall(kf8, mobi6) >= 0.99


# -- hostile files -----------------------------------------------------------------------------


def _refused(path: Path, *words: str) -> str:
    start = time.monotonic()
    with pytest.raises(BookError) as caught:
        read_mobi(path, ReadOptions())
    assert time.monotonic() - start < 3
    message = caught.value.message
    assert "\n" not in message and "\n" not in (caught.value.fix or "")
    assert message.startswith(path.name + ":")
    for word in words:
        assert word in message, message
    return message


def _edited(tmp_path: Path, name: str, edit: Callable[[bytearray], None], source: str = KINDLE[0]) -> Path:
    data = bytearray(corpus_file("formats", source).read_bytes())
    edit(data)
    path = tmp_path / name
    path.write_bytes(bytes(data))
    return path


def _record_offset(data: bytearray, number: int) -> int:
    return int(struct.unpack_from(">L", data, 78 + 8 * number)[0])


@pytest.mark.parametrize("source", KINDLE)
def test_drm_flag_is_refused(tmp_path: Path, source: str) -> None:
    def encrypt(data: bytearray) -> None:
        struct.pack_into(">H", data, _record_offset(data, 0) + 12, 2)

    message = _refused(_edited(tmp_path, "drm.azw", encrypt, source), "DRM-protected", "cannot read it")
    assert "Mobipocket/Kindle DRM" in message


def test_drm_in_the_kf8_part_of_a_joint_file(tmp_path: Path, joint: Path) -> None:
    data = bytearray(joint.read_bytes())
    boundary = len(_records(corpus_file("formats", KINDLE[0]).read_bytes())) + 1
    struct.pack_into(">H", data, _record_offset(data, boundary) + 12, 1)
    path = tmp_path / "joint-drm.mobi"
    path.write_bytes(bytes(data))
    _refused(path, "DRM-protected")


@pytest.mark.parametrize("keep", [0, 40, 100, 500, 400_000])
def test_truncated_file(tmp_path: Path, keep: int) -> None:
    _refused(_edited(tmp_path, f"cut{keep}.mobi", lambda data: data.__delitem__(slice(keep, None))))


def test_record_offset_past_the_end(tmp_path: Path) -> None:
    def past(data: bytearray) -> None:
        struct.pack_into(">L", data, 78 + 8 * 5, len(data) + 1000)

    _refused(_edited(tmp_path, "past.mobi", past), "record 5", "past the end")


def test_record_offsets_out_of_order(tmp_path: Path) -> None:
    def backwards(data: bytearray) -> None:
        struct.pack_into(">L", data, 78 + 8 * 7, _record_offset(data, 3))

    _refused(_edited(tmp_path, "order.mobi", backwards), "record 7", "before the record before it")


def test_huge_declared_text_length(tmp_path: Path) -> None:
    def huge(data: bytearray) -> None:
        struct.pack_into(">L", data, _record_offset(data, 0) + 4, 0xFFFFFFF0)

    _refused(_edited(tmp_path, "huge.mobi", huge), "compression bomb")


def _bomb(
    text_records: list[bytes], text_length: int, compression: int = 2, extra: tuple[bytes, ...] = ()
) -> bytes:
    """A minimal MOBI file with the given text records (and, for HUFF/CDIC, its HUFF and CDIC records)."""
    mobi = bytearray(0x108)
    mobi[0:4] = b"MOBI"
    struct.pack_into(">LLLLL", mobi, 4, 0x108, 2, 65001, 1, 6)
    for offset in (80, 84, 108, 112, 244, 248, 252):  # no indexes, no name, no images
        struct.pack_into(">L", mobi, offset - 16, 0xFFFFFFFF)
    if extra:
        struct.pack_into(">LL", mobi, 112 - 16, 1 + len(text_records), len(extra))
    record0 = struct.pack(">HHLHHHH", compression, 0, text_length, len(text_records), 4096, 0, 0) + bytes(
        mobi
    )
    head = bytearray(78)
    head[0:4] = b"bomb"
    head[60:68] = b"BOOKMOBI"
    return _pdb(bytes(head), [record0, *text_records, *extra, b"\xe9\x8e\r\n"])


def _huff(phrases: dict[int, tuple[bytes, bool]]) -> tuple[bytes, ...]:
    """HUFF and CDIC records where every byte b is an 8-bit code for phrase 255 - b."""
    dict1 = struct.pack(">256L", *[8 | 0x80 | (255 << 8)] * 256)
    huff = b"HUFF" + struct.pack(">LLL", 24, 24, 24 + 1024) + bytes(8) + dict1 + bytes(256)
    table, data = b"", b""
    for index in range(256):
        phrase, literal = phrases.get(255 - index, (b"?", True))
        table += struct.pack(">H", 512 + len(data))
        data += struct.pack(">H", len(phrase) | (0x8000 if literal else 0)) + phrase
    cdic = b"CDIC" + struct.pack(">LLL", 16, 256, 8) + table + data
    return (huff, cdic)


def test_huff_cdic_text(tmp_path: Path) -> None:
    html = b"<html><body><p>Call me Ishmael.</p></body></html>"
    phrases = {b: (bytes([b]), True) for b in set(html)}
    phrases[1] = (b"Is", False)  # a phrase that is itself coded: "I" then "s", which is "sh"
    phrases[ord("s")] = (b"sh", True)
    record = html.replace(b"Ishmael", b"\x01mael")
    path = tmp_path / "huff.mobi"
    path.write_bytes(_bomb([record], len(html), 17480, _huff(phrases)))
    book = read_mobi(path, ReadOptions())
    assert [c.paragraphs for c in book.chapters] == [("Call me Ishmael.",)]


def test_huff_cdic_phrase_that_refers_to_itself(tmp_path: Path) -> None:
    phrases = {ord("x"): (b"x", False)}
    path = tmp_path / "huffloop.mobi"
    path.write_bytes(_bomb([b"x"], 10, 17480, _huff(phrases)))
    _refused(path, "refers to itself")


def test_lz77_bomb_in_one_record(tmp_path: Path) -> None:
    # One literal, then back-references of 10 bytes at distance 1: 5 times the record's size.
    record = b"a" + b"\x80\x0f" * 32_000
    path = tmp_path / "bomb1.mobi"
    path.write_bytes(_bomb([record], 4096))
    _refused(path, "compression bomb")


def test_lz77_bomb_past_the_declared_length(tmp_path: Path) -> None:
    # Every record decompresses to a plausible 4 KiB, but there are far more than the header declares.
    record = b"<p>" + b"\x80\x0f" * 409
    path = tmp_path / "bomb2.mobi"
    path.write_bytes(_bomb([record] * 2000, 8192))
    _refused(path, "compression bomb")


def test_bad_back_reference(tmp_path: Path) -> None:
    path = tmp_path / "backref.mobi"
    path.write_bytes(_bomb([b"ab\x87\xff"], 100))
    _refused(path, "back-reference")


def test_unknown_compression(tmp_path: Path) -> None:
    def compression(data: bytearray) -> None:
        struct.pack_into(">H", data, _record_offset(data, 0), 7)

    _refused(_edited(tmp_path, "comp.mobi", compression), "compression type 7 is not supported")


def _index_record(data: bytearray, field: int) -> int:
    """The first record of one of the book's indexes (field: its offset in record 0)."""
    return int(struct.unpack_from(">L", data, _record_offset(data, 0) + field)[0])


@pytest.mark.parametrize(("source", "field"), [(KINDLE[0], 244), (KINDLE[1], 244), (KINDLE[1], 248)])
def test_index_entries_pointing_outside(tmp_path: Path, source: str, field: int) -> None:
    def break_idxt(data: bytearray) -> None:
        record = _record_offset(data, _index_record(data, field) + 1)  # the first data record
        struct.pack_into(">L", data, record + 20, 0xFFF0)

    _refused(_edited(tmp_path, "idxt.mobi", break_idxt, source), "IDXT")


def test_index_names_records_past_the_end(tmp_path: Path) -> None:
    def many(data: bytearray) -> None:
        struct.pack_into(">L", data, _record_offset(data, _index_record(data, 244)) + 24, 0x7FFFFFFF)

    _refused(_edited(tmp_path, "many.mobi", many), "past the end")


def test_skeleton_pointing_outside_the_text(tmp_path: Path) -> None:
    def shift(data: bytearray) -> None:
        first = _index_record(data, 252)
        record = _record_offset(data, first + 1)
        idxt = struct.unpack_from(">L", data, record + 20)[0]
        entry = record + struct.unpack_from(">H", data, record + idxt + 4)[0]
        # SKEL entries: name length, name, one control byte, then the values: make them all huge.
        values = entry + 1 + data[entry] + 1
        data[values : values + 6] = b"\x7f\x7f\x7f\x7f\x7f\xff"

    _refused(_edited(tmp_path, "skel.azw3", shift, KINDLE[1]))


def test_not_a_kindle_file(tmp_path: Path) -> None:
    path = tmp_path / "fake.mobi"
    path.write_bytes(b"%PDF-1.4\n" + b"x" * 200)
    _refused(path, "not a readable Kindle book")


def test_file_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import voxcli.ingest.mobi as mobi

    monkeypatch.setattr(mobi, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "big.azw3"
    path.write_bytes(corpus_file("formats", KINDLE[1]).read_bytes())
    _refused(path, "too large")
