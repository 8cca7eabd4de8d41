"""The Palm database under every Kindle book: its records, checked once, and the text
compressions of PalmDOC (LZ77) and Mobipocket (HUFF/CDIC), each bounded so that no record can
inflate past a fixed limit."""

from __future__ import annotations

import struct

NULL = 0xFFFFFFFF  # "no such record" in MOBI headers
U16 = struct.Struct(">H")


class Malformed(Exception):
    """A structural problem, turned into one BookError line naming the file."""


# -- the Palm database -------------------------------------------------------------------------


class PalmDatabase:
    """The records of a Palm database, their offsets checked once."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self.data = data
        if len(data) < 78 + 8:
            raise Malformed("the file is too short to be a Palm database")
        kind = data[60:68]
        if kind not in (b"BOOKMOBI", b"TEXtREAd"):
            if kind[:4] in (b"PDF ", b"%PDF") or data[:4] == b"%PDF":
                raise Malformed("it is a PDF")
            raise Malformed(f"type/creator {kind!r} is not BOOKMOBI")
        self.kind = kind
        self.created = int(U32.unpack_from(data, 36)[0])
        (count,) = U16.unpack_from(data, 76)
        if count == 0 or 78 + 8 * count > len(data):
            raise Malformed(f"the record list ({count} records) runs past the end of the file")
        offsets = [U32.unpack_from(data, 78 + 8 * i)[0] for i in range(count)]
        table_end = 78 + 8 * count
        previous = table_end
        for i, offset in enumerate(offsets):
            if offset > len(data):
                raise Malformed(f"record {i} starts at byte {offset}, past the end of the file ({len(data)})")
            if offset < previous:
                raise Malformed(f"record {i} starts at byte {offset}, before the record before it")
            previous = offset
        self.offsets = [*offsets, len(data)]
        self.count = count

    def record(self, index: int, what: str = "record") -> bytes:
        if not 0 <= index < self.count:
            raise Malformed(f"{what} {index} is not in the file ({self.count} records)")
        return self.data[self.offsets[index] : self.offsets[index + 1]]


# -- record 0: PalmDOC, MOBI and EXTH headers --------------------------------------------------


U32 = struct.Struct(">L")


def u32(raw: bytes, offset: int) -> int:
    return int(U32.unpack_from(raw, offset)[0]) if offset + 4 <= len(raw) else NULL


# -- text records ------------------------------------------------------------------------------


def strip_trailing(record: bytes, flags: int) -> bytes:
    """The record without its trailing entries (extra data flags bits 1..15, then bit 0: multibyte)."""
    end = len(record)
    bits = flags >> 1
    while bits:
        if bits & 1:
            size = 0
            for byte in record[max(0, end - 4) : end]:
                if byte & 0x80:
                    size = 0
                size = (size << 7) | (byte & 0x7F)
            if size > end:
                raise Malformed("a text record's trailing entry is longer than the record")
            end -= size
        bits >>= 1
    if flags & 1 and end:
        end -= (record[end - 1] & 0x3) + 1
        if end < 0:
            raise Malformed("a text record's multibyte trailing entry is longer than the record")
    return record[:end]


def lz77(src: bytes, limit: int) -> bytes:
    """PalmDOC decompression; raises :class:`Malformed` past ``limit`` bytes or on a bad back-reference."""
    out = bytearray()
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        i += 1
        if c == 0 or 0x09 <= c <= 0x7F:
            out.append(c)
        elif c <= 8:
            out += src[i : i + c]
            i += c
        elif c >= 0xC0:
            out.append(0x20)
            out.append(c ^ 0x80)
        else:
            if i >= n:
                break
            pair = (c << 8) | src[i]
            i += 1
            distance, length = (pair >> 3) & 0x7FF, (pair & 7) + 3
            if distance == 0 or distance > len(out):
                raise Malformed("a PalmDOC back-reference points before the start of its text record")
            start = len(out) - distance
            if distance >= length:
                out += out[start : start + length]
            else:
                chunk = bytes(out[start:])
                out += (chunk * (length // distance + 1))[:length]
        if len(out) > limit:
            raise Malformed(f"a text record decompresses to more than {limit} bytes (a compression bomb)")
    return bytes(out)


class Huff:
    """HUFF/CDIC decompression (Mobipocket's Huffman coding over a phrase dictionary)."""

    def __init__(self, pdb: PalmDatabase, first: int, count: int) -> None:
        huff = pdb.record(first, "HUFF record")
        if huff[:4] != b"HUFF" or len(huff) < 24:
            raise Malformed("the HUFF record is missing or malformed")
        off1, off2 = u32(huff, 8), u32(huff, 12)
        if off1 + 1024 > len(huff) or off2 + 256 > len(huff):
            raise Malformed("the HUFF tables run past the end of their record")
        self.dict1: list[tuple[int, bool, int]] = []
        for value in struct.unpack_from(">256L", huff, off1):
            codelen, term, maxcode = value & 0x1F, bool(value & 0x80), value >> 8
            if codelen == 0:
                raise Malformed("the HUFF table has a code of length 0")
            self.dict1.append((codelen, term, ((maxcode + 1) << (32 - codelen)) - 1))
        dict2 = struct.unpack_from(">64L", huff, off2)
        self.mincode = [0] + [dict2[2 * k] << (31 - k) for k in range(32)]
        self.maxcode = [0] + [((dict2[2 * k + 1] + 1) << (31 - k)) - 1 for k in range(32)]
        self.phrases: list[tuple[bytes, bool] | None] = []
        for index in range(first + 1, first + count):
            cdic = pdb.record(index, "CDIC record")
            if cdic[:4] != b"CDIC" or len(cdic) < 16:
                raise Malformed("a CDIC record is malformed")
            phrases, bits = u32(cdic, 8), u32(cdic, 12)
            n = min(1 << min(bits, 16), phrases - len(self.phrases))
            if n < 0 or 16 + 2 * n > len(cdic):
                raise Malformed("a CDIC record's phrase table runs past its end")
            for off in struct.unpack_from(f">{n}H", cdic, 16):
                if 18 + off > len(cdic):
                    raise Malformed("a CDIC phrase lies outside its record")
                (blen,) = U16.unpack_from(cdic, 16 + off)
                self.phrases.append((cdic[18 + off : 18 + off + (blen & 0x7FFF)], bool(blen & 0x8000)))

    def unpack(self, data: bytes, limit: int, depth: int = 0) -> bytes:
        if depth > 32:
            raise Malformed("the HUFF/CDIC dictionary nests too deeply")
        bitsleft = len(data) * 8
        padded = data + b"\0" * 8
        pos, n = 0, 32
        (x,) = struct.unpack_from(">Q", padded, 0)
        out = bytearray()
        while True:
            if n <= 0:
                pos += 4
                (x,) = struct.unpack_from(">Q", padded, pos)
                n += 32
            code = (x >> n) & 0xFFFFFFFF
            codelen, term, maxcode = self.dict1[code >> 24]
            if not term:
                while codelen < 32 and code < self.mincode[codelen]:
                    codelen += 1
                maxcode = self.maxcode[codelen]
            n -= codelen
            bitsleft -= codelen
            if bitsleft < 0:
                break
            r = (maxcode - code) >> (32 - codelen)
            if not 0 <= r < len(self.phrases):
                raise Malformed("a HUFF code names a phrase the CDIC records do not have")
            entry = self.phrases[r]
            if entry is None:
                raise Malformed("the HUFF/CDIC dictionary refers to itself")
            phrase, done = entry
            if not done:
                self.phrases[r] = None
                phrase = self.unpack(phrase, limit, depth + 1)
                self.phrases[r] = (phrase, True)
            out += phrase
            if len(out) > limit:
                raise Malformed(f"a text record decompresses to more than {limit} bytes (a compression bomb)")
        return bytes(out)
