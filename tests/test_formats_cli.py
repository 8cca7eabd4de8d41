"""Every format through the command line: `voxcli convert` on a PDF and a DOCX with the built-in
voice (audio decoded back by ffprobe and heard by pocketsphinx), the calibre fallback, KFX refused,
and what doctor says of calibre and Tesseract."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import formatcheck
from tests.audiocheck import probe_seconds
from tests.conftest import require
from tests.pdfmake import Text, paragraph_lines, text_pdf
from voxcli.cli import app
from voxcli.errors import BookError, UsageError
from voxcli.ingest import read_book

FIRST = "The lighthouse keeper climbed the stairs every evening. He lit the great lamp for the ships."
SECOND = "In the morning the fishing boats came home safely. The keeper slept until noon."


def _pdf(path: Path) -> Path:
    pages = [
        [Text(72, 700, "The Lamp", 18), *paragraph_lines(FIRST, 72, 660)],
        [Text(72, 700, "The Boats", 18), *paragraph_lines(SECOND, 72, 660)],
    ]
    return text_pdf(
        path, pages, outline=[("The Lamp", 0, 720), ("The Boats", 1, 720)], info={"Title": "The Keeper"}
    )


def _docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = "The Keeper"
    document.add_heading("The Lamp", level=1)
    document.add_paragraph(FIRST)
    document.add_heading("The Boats", level=1)
    document.add_paragraph(SECOND)
    document.save(str(path))
    return path


@pytest.mark.parametrize("make", [_pdf, _docx], ids=["pdf", "docx"])
def test_convert_a_pdf_and_a_docx_with_the_built_in_voice(
    make: object, tmp_path: Path, isolated: Path, runner: CliRunner
) -> None:
    book = make(tmp_path / f"keeper.{make.__name__.strip('_')}")  # type: ignore[operator]
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["convert", str(book), "-o", str(out), "--format", "mp3", "--verify", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    manifest = json.loads((out / "manifest.json").read_text())
    assert [c["title"] for c in manifest["chapters"]] == ["The Lamp", "The Boats"]
    mp3s = sorted(out.glob("*.mp3"))
    assert len(mp3s) == 2
    for mp3 in mp3s:
        assert 3.0 < probe_seconds(mp3) < 30.0
    assert summary["verify"]["still_flagged"] == []  # pocketsphinx heard every sentence


def test_a_calibre_only_format_is_converted_by_calibre(tmp_path: Path) -> None:
    require("calibre", shutil.which("ebook-convert") is not None, "apt-get install calibre")
    source = tmp_path / "keeper.txt"
    source.write_text(f"{FIRST}\n\n{SECOND}\n", encoding="utf-8")
    pdb = tmp_path / "keeper.pdb"
    subprocess.run(["ebook-convert", str(source), str(pdb)], check=True, capture_output=True, timeout=300)
    book = read_book(str(pdb))
    assert (
        formatcheck.words(" ".join(c.text for c in book.chapters))[-26:]
        == formatcheck.words(f"{FIRST} {SECOND}")[-26:]
    )
    assert "converted from PDB by calibre's ebook-convert" in book.warnings


def test_without_calibre_the_message_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lit = tmp_path / "old.lit"
    lit.write_bytes(b"ITOLITLS" + bytes(100))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UsageError) as caught:
        read_book(str(lit))
    assert "calibre's ebook-convert, which is not installed" in caught.value.message
    assert "apt install calibre" in (caught.value.fix or "")


def test_kfx_is_reported_not_read(tmp_path: Path) -> None:
    kfx = tmp_path / "new.kfx"
    kfx.write_bytes(b"\xeaDRMION\xee" + bytes(64))
    with pytest.raises(BookError, match="KFX"):
        read_book(str(kfx))


def test_unsupported_suffix_lists_the_formats(runner: CliRunner, tmp_path: Path) -> None:
    odd = tmp_path / "book.xyz"
    odd.write_text("hello")
    result = runner.invoke(app, ["chapters", str(odd)])
    assert result.exit_code != 0
    line = result.output.strip().splitlines()[0]
    assert "unsupported file type '.xyz'" in line and ".pdf" in result.output and ".fb2" in result.output


def test_doctor_reports_calibre_and_tesseract(runner: CliRunner, isolated: Path) -> None:
    result = runner.invoke(app, ["doctor", "--no-load", "--json"])
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    for name, program in (("calibre", "ebook-convert"), ("tesseract", "tesseract")):
        present = shutil.which(program) is not None
        assert checks[name]["status"] == ("ok" if present else "warning"), checks[name]
        if present:
            assert str(shutil.which(program)) in checks[name]["detail"]
    assert checks["pypdfium2"]["status"] == "ok"


def test_a_missing_tesseract_is_reported_as_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    scan = tmp_path / "scan.pdf"
    Image.new("L", (850, 1100), 255).save(scan, "PDF", resolution=100)
    monkeypatch.setenv("PATH", str(tmp_path))
    from voxcli.ingest import ReadOptions

    with pytest.raises(BookError) as caught:
        read_book(str(scan), ReadOptions(ocr=True))
    assert "--ocr needs Tesseract" in caught.value.message
