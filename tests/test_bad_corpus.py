"""Every file in ../shared/corpus/bad reads, or fails with one clear line: fast, small, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import corpus_file

TIME_LIMIT_S = 10
MEMORY_LIMIT_MIB = 500
ISHMAEL = "Call me Ishmael."  # the text of EPUBCheck's minimal samples (their content_001.xhtml)
FRENCH = "Ça déjà vu — naïve café"  # what the UTF-16 and cp1252 chapters say, decoded by hand
# Every file of corpus/bad and what it must do. READS: a phrase of the file's own content documents
# that the chapters must hold (exactly the first chapter's text where EXACT says so). FAILS: a phrase
# of the one-line error (exit 3).
READS = {
    "cli__valid.epub": ISHMAEL,
    "cli__wrong_extension.ePub": ISHMAEL,
    "cp1252_chapter.epub": FRENCH,
    "utf16_chapter.epub": FRENCH,
    "epub2__epub_ocf-directory-empty-warning.epub": ISHMAEL,
    "epub2__epub_ocf-minimal-valid.epub": ISHMAEL,
    "epub3_00-minimal__minimal.epub": ISHMAEL,
    "epub3_02-epub-publication-conformance__minimal.epub": ISHMAEL,
    "epub3_04-ocf__ocf-filename-character-forbidden-error.epub": ISHMAEL,
    "epub3_04-ocf__ocf-filename-character-forbidden-non-publication-resource-error.epub": ISHMAEL,
    "epub3_04-ocf__ocf-filename-duplicate-after-canonical-normalization-error.epub": ISHMAEL,
    "epub3_04-ocf__ocf-filename-duplicate-after-common-case-folding-error.epub": ISHMAEL,
    "epub3_04-ocf__ocf-filename-duplicate-after-compatibility-normalization-valid.epub": ISHMAEL,
    "epub3_04-ocf__ocf-filename-duplicate-after-full-case-folding-error.epub": ISHMAEL,
    "epub3_04-ocf__ocf-filename-duplicate-zip-entry-error.epub": ISHMAEL,
    "epub3_04-ocf__ocf-filename-not-utf8-error.epub": ISHMAEL,
    "epub3_04-ocf__ocf-filename-utf8-valid.epub": ISHMAEL,
    "epub3_04-ocf__ocf-filepath-not-utf8-error.epub": ISHMAEL,
    "epub3_04-ocf__ocf-filepath-utf8-valid.epub": ISHMAEL,
    "epub3_04-ocf__ocf-mimetype-file-missing-error.epub": ISHMAEL,
    "epub3_04-ocf__ocf-zip-mimetype-entry-extra-field-error.epub": ISHMAEL,
    "epub3_04-ocf__ocf-zip-valid.epub": ISHMAEL,
    "epub3_H-media-type-registrations__ocf-extension-not-lower-case-warning.ePub": ISHMAEL,
    "reporting__minimal.epub": ISHMAEL,
    # Its spine names a cover with no manifest entry: the rest is Children's Literature, section IV.
    "epubcheck-sample-invalid.epub": "SECTION IV FAIRY STORIES—MODERN FANTASTIC TALES",
}
EXACT = {"cp1252_chapter.epub", "utf16_chapter.epub"}
FAILS = {
    "billion_laughs_chapter.epub": "declares XML entities",
    "billion_laughs_opf.epub": "declares XML entities",
    "xxe_chapter.epub": "declares XML entities",
    "xxe_opf.epub": "declares XML entities",
    "zipbomb_300mb_chapter.epub": "zip bomb",
    "fake_drm_sherlock.epub": "DRM-protected",
    "traversal_href.epub": "points outside the book",
    "epub3_04-ocf__ocf-zip-unreadable-empty-fatal.epub": "not a readable EPUB",
    "epub3_04-ocf__ocf-zip-unreadable-image-with-epub-extension-fatal.epub": "not a readable EPUB",
    "epub3_04-ocf__ocf-zip-unreadable-no-end-header-fatal.epub": "not a readable EPUB",
    "epub3_04-ocf__ocf-container-not-ocf-error.epub": "container.xml is missing",
}


def run_limited(path: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run `voxcli chapters --json --full` under a memory cap; returns the result and its peak RSS (KiB)."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "peak"
        # The child reports its own peak (VmHWM: this program's memory only). ru_maxrss would not do:
        # RUSAGE_CHILDREN covers every earlier child of pytest, and Linux carries a process's peak
        # across exec, so a child forked from a pytest that imported torch starts "at" its size.
        script = (
            "import atexit, re, resource, sys\n"
            f"cap = {MEMORY_LIMIT_MIB} * 1024 * 1024\n"
            "resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))\n"
            "peak = sys.argv.pop()\n"
            "def report():\n"
            "    status = open('/proc/self/status').read()\n"
            "    open(peak, 'w').write(re.search(r'VmHWM:\\s+(\\d+)', status).group(1))\n"
            "atexit.register(report)\n"
            "from voxcli.cli import main\n"
            "sys.argv = ['voxcli', 'chapters', '--json', '--full', sys.argv[1]]\n"
            "main()\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", script, str(path), str(report)],
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT_S,
            env={**os.environ, "NO_COLOR": "1"},
        )
        return result, int(report.read_text())


@pytest.mark.parametrize("name", sorted(READS | FAILS))
def test_reads_or_fails_cleanly(name: str) -> None:
    result, peak_kib = run_limited(corpus_file("bad", name))
    assert peak_kib < MEMORY_LIMIT_MIB * 1024
    assert "Traceback" not in result.stderr
    if name in READS:
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["chapters"] and all(c["text"] for c in data["chapters"])
        if name in EXACT:
            assert data["chapters"][0]["text"] == READS[name]
        else:
            assert READS[name] in "\n".join(c["text"] for c in data["chapters"])
    else:
        assert result.returncode == 3, result.stderr
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(f"error: {name}: ")
        assert FAILS[name] in lines[0]
    # Never a byte of the host's files, whatever the book asked for.
    for secret in _host_secrets():
        assert secret not in result.stdout + result.stderr


def test_every_bad_file_has_an_expected_outcome() -> None:
    """A file added to corpus/bad needs a line above; one removed from it, too."""
    folder = corpus_file("bad")
    assert sorted(p.name for p in folder.iterdir()) == sorted(READS | FAILS)
    assert not READS.keys() & FAILS.keys()


def _host_secrets() -> list[str]:
    found = []
    for path in ("/etc/hostname", "/etc/passwd"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text and len(text) > 3:
            found.append(text.splitlines()[0])
    return found


def test_a_corrupt_entry_is_one_clear_error(tmp_path: Path) -> None:
    """Flip bytes inside a compressed chapter: the CRC check fails, and says which file."""
    import zipfile

    from voxcli.errors import BookError
    from voxcli.ingest import read_book

    source = corpus_file("epub", "wasteland-otf-obf.epub")
    data = bytearray(source.read_bytes())
    info = zipfile.ZipFile(source).getinfo("EPUB/wasteland-content.xhtml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 200
    data[start : start + 16] = bytes(16)
    broken = tmp_path / "broken.epub"
    broken.write_bytes(bytes(data))
    with pytest.raises(BookError, match=r"broken\.epub: EPUB/wasteland-content\.xhtml cannot be extracted"):
        read_book(str(broken))
