"""Time and memory of reading the corpus books: `.venv/bin/python bench/ingest.py [BOOK...]`.

Targets (2-core machine): moby-dick.epub under 1 s, mahabharata.epub (2,014 documents) under 10 s,
peak memory under 500 MiB. Prints one line per book and exits 1 if a target is missed.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

from voxcli.ingest import read_book

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
TARGETS_S = {"moby-dick.epub": 1.0, "mahabharata.epub": 10.0}
MEMORY_TARGET_MIB = 500


def main(argv: list[str]) -> int:
    books = [Path(a) for a in argv] or sorted((CORPUS / "epub").glob("*.epub")) + sorted(
        (CORPUS / "txt").glob("*.txt")
    ) + sorted((CORPUS / "md").glob("*.md"))
    missed = False
    for path in books:
        start = time.perf_counter()
        book = read_book(str(path))
        elapsed = time.perf_counter() - start
        chars = sum(c.chars for c in book.chapters)
        target = TARGETS_S.get(path.name)
        flag = " MISSED" if target is not None and elapsed > target else ""
        missed |= bool(flag)
        print(
            f"{path.name:40} {len(book.chapters):5} chapters {chars:>10,} chars {elapsed:7.2f} s"
            f"{f' (target {target} s)' if target else ''}{flag}"
        )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak_mib:.0f} MiB (target {MEMORY_TARGET_MIB} MiB)")
    return 1 if missed or peak_mib > MEMORY_TARGET_MIB else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
