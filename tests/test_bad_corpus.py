"""Every file in ../shared/corpus/bad reads, or fails with one clear line: fast, small, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import CORPUS, corpus_file

BAD = sorted(p.name for p in (CORPUS / "bad").glob("*")) if (CORPUS / "bad").exists() else []
TIME_LIMIT_S = 10
MEMORY_LIMIT_MIB = 500
# What each hostile file must do: None = read, else a phrase of its one-line error.
MUST_FAIL = {
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
MUST_READ = {
    "cp1252_chapter.epub": "Ça déjà vu — naïve café",
    "utf16_chapter.epub": "Ça déjà vu — naïve café",
    "cli__wrong_extension.ePub": None,
    "epubcheck-sample-invalid.epub": None,
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
        result = subprocess.run([sys.executable, "-c", script, str(path), str(report)], capture_output=True,
                                text=True, timeout=TIME_LIMIT_S, env={**os.environ, "NO_COLOR": "1"})
        return result, int(report.read_text())


@pytest.mark.parametrize("name", BAD)
def test_reads_or_fails_cleanly(name: str) -> None:
    result, peak_kib = run_limited(corpus_file("bad", name))
    assert peak_kib < MEMORY_LIMIT_MIB * 1024
    assert "Traceback" not in result.stderr
    if result.returncode == 0:
        data = json.loads(result.stdout)
        assert data["chapters"] and all(c["text"] for c in data["chapters"])
        assert name not in MUST_FAIL, f"{name} should have been refused"
        expected = MUST_READ.get(name)
        if expected:
            assert data["chapters"][0]["text"] == expected
    else:
        assert result.returncode == 3, result.stderr
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(f"error: {name}: ")
        assert name not in MUST_READ, lines[0]
        if name in MUST_FAIL:
            assert MUST_FAIL[name] in lines[0]
    # Never a byte of the host's files, whatever the book asked for.
    for secret in _host_secrets():
        assert secret not in result.stdout + result.stderr


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


def test_every_named_file_exists() -> None:
    for name in [*MUST_FAIL, *MUST_READ]:
        assert corpus_file("bad", name).exists()


def test_a_corrupt_entry_is_one_clear_error(tmp_path: Path) -> None:
    """Flip bytes inside a compressed chapter: the CRC check fails, and says which file."""
    import zipfile

    from voxcli.errors import BookError
    from voxcli.ingest import read_book

    source = corpus_file("epub", "wasteland-otf-obf.epub")
    data = bytearray(source.read_bytes())
    info = zipfile.ZipFile(source).getinfo("EPUB/wasteland-content.xhtml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 200
    data[start:start + 16] = bytes(16)
    broken = tmp_path / "broken.epub"
    broken.write_bytes(bytes(data))
    with pytest.raises(BookError, match=r"broken\.epub: EPUB/wasteland-content\.xhtml cannot be extracted"):
        read_book(str(broken))
