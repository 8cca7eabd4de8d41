"""Kindle INDX indexes (the NCX, skeleton and fragment tables of KF8 and MOBI 6): entries with
their tag values and the CNCX strings, every count and offset checked."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from voxcli.ingest.palmdoc import NULL, Malformed, PalmDatabase, u32

MAX_INDEX_ENTRIES = 1_000_000


# -- INDX indexes ------------------------------------------------------------------------------


@dataclass
class Index:
    entries: list[tuple[bytes, dict[int, list[int]]]]
    cncx: list[bytes]
    codec: str

    def string(self, offset: int) -> str:
        record = offset >> 16
        if not 0 <= record < len(self.cncx):
            return ""
        raw, pos = self.cncx[record], offset & 0xFFFF
        length, pos = varint(raw, pos)
        return raw[pos : pos + length].decode(self.codec, "replace")


def varint(raw: bytes, pos: int) -> tuple[int, int]:
    """A forward-encoded variable-width integer (the last byte has its high bit set)."""
    value = 0
    for _ in range(5):
        if pos >= len(raw):
            raise Malformed("an index entry ends inside a number")
        byte = raw[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if byte & 0x80:
            break
    return value, pos


def tag_map(
    raw: bytes, pos: int, control: int, tagx: list[tuple[int, int, int, int]]
) -> dict[int, list[int]]:
    controls = raw[pos : pos + control]
    pos += control
    if len(controls) < control:
        raise Malformed("an index entry is shorter than its control bytes")
    which = 0
    wanted: list[tuple[int, int | None, int | None, int]] = []  # tag, value count, byte count, per entry
    for tag, per_entry, mask, eof in tagx:
        if eof & 1:
            which += 1
            continue
        if which >= len(controls) or mask == 0:
            continue
        value = controls[which] & mask
        if not value:
            continue
        if value == mask:
            if bin(mask).count("1") > 1:
                nbytes, pos = varint(raw, pos)
                wanted.append((tag, None, nbytes, per_entry))
            else:
                wanted.append((tag, 1, None, per_entry))
        else:
            while not mask & 1:
                mask >>= 1
                value >>= 1
            wanted.append((tag, value, None, per_entry))
    tags: dict[int, list[int]] = {}
    for tag, count, size, per_entry in wanted:
        values: list[int] = []
        if count is not None:
            for _ in range(count * per_entry):
                number, pos = varint(raw, pos)
                values.append(number)
        elif size is not None:
            end = pos + size
            while pos < end:
                number, pos = varint(raw, pos)
                values.append(number)
        tags[tag] = values
    return tags


def read_index(pdb: PalmDatabase, first: int, codec: str, what: str) -> Index:
    head = pdb.record(first, f"{what} index record")
    if head[:4] != b"INDX":
        raise Malformed(f"the {what} index (record {first}) is not an INDX record")
    length, count, cncx_count = u32(head, 4), u32(head, 24), u32(head, 52)
    if head[length : length + 4] != b"TAGX":
        raise Malformed(f"the {what} index has no TAGX table")
    tagx_length, control = u32(head, length + 4), u32(head, length + 8)
    if tagx_length == NULL or length + tagx_length > len(head) or control > 16:
        raise Malformed(f"the {what} index's TAGX table runs past its record")
    tagx = [tuple(head[p : p + 4]) for p in range(length + 12, length + tagx_length - 3, 4)]
    tags4 = [(t[0], t[1], t[2], t[3]) for t in tagx]
    if first + count + cncx_count >= pdb.count + 1 or count > pdb.count:
        raise Malformed(f"the {what} index names records past the end of the file")
    entries: list[tuple[bytes, dict[int, list[int]]]] = []
    for number in range(first + 1, first + 1 + count):
        raw = pdb.record(number, f"{what} index record")
        if raw[:4] != b"INDX":
            raise Malformed(f"{what} index record {number} is not an INDX record")
        idxt, n = u32(raw, 20), u32(raw, 24)
        if idxt == NULL or n == NULL or raw[idxt : idxt + 4] != b"IDXT" or idxt + 4 + 2 * n > len(raw):
            raise Malformed(f"{what} index record {number} has a broken IDXT table")
        if len(entries) + n > MAX_INDEX_ENTRIES:
            raise Malformed(f"the {what} index has more than {MAX_INDEX_ENTRIES} entries")
        starts = struct.unpack_from(f">{n}H", raw, idxt + 4)
        for k, start in enumerate(starts):
            end = starts[k + 1] if k + 1 < n else idxt
            if not 0 < start < end <= idxt:
                raise Malformed(f"an entry of {what} index record {number} lies outside it")
            entry = raw[start:end]
            name_length = entry[0]
            name = entry[1 : 1 + name_length]
            entries.append((name, tag_map(entry, 1 + name_length, control, tags4)))
    cncx = [pdb.record(first + 1 + count + k, f"{what} CNCX record") for k in range(cncx_count)]
    return Index(entries, cncx, codec)


def first_tag(tags: dict[int, list[int]], tag: int, at: int = 0) -> int | None:
    values = tags.get(tag)
    return values[at] if values and len(values) > at else None
