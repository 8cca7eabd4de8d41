"""The check's HTML report, opened by a real browser: headless Chromium renders it, its DOM is read
back and a screenshot is taken (the oracle is the browser, not voxcli's own string)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import lxml.html
import numpy as np
import pytest
from PIL import Image

from tests.conftest import require
from tests.test_engines import JOE
from voxcli.asr import load_recognizer
from voxcli.engines import load_engine, speak
from voxcli.verify.book import BookCheck, ChapterCheck
from voxcli.verify.listen import Sentence, check_sentences
from voxcli.verify.report import render

TEXTS = [
    "The Prince travelled all over the world to find a real Princess.",
    "There were Princesses enough, but he could not be sure they were real.",
    "One evening a terrible storm came on, with thunder and lightning.",
    "Somebody knocked at the town gate, and the old King went to open it.",
    "It was a Princess standing outside, and the rain ran down her hair.",
    "The Queen thought, we shall soon find out, but said nothing at all.",
]
SILENCED = 2  # this sentence's audio is replaced by silence: the one fault
pytestmark = pytest.mark.slow  # speech, recognition and a browser


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    require("chromium", found is not None, "apt-get install chromium")
    assert found is not None
    return found


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BookCheck]:
    engine = load_engine(JOE)
    audio = [speak(engine, text) for text in TEXTS]
    listener = load_recognizer("pocketsphinx", "en-us", TEXTS)

    def take(index: int) -> tuple[np.ndarray, int]:
        spoken = audio[index]
        if index == SILENCED:
            return np.zeros_like(spoken.samples), spoken.sample_rate
        return spoken.samples, spoken.sample_rate

    checks = check_sentences(10, [Sentence(t, t) for t in TEXTS], take, listener)
    listener.close()
    result = BookCheck(
        "pocketsphinx",
        "en-us",
        [ChapterCheck(10, "The Real Princess", checks)],
        clip=lambda check: take(check.index),
    )
    page = tmp_path_factory.mktemp("report") / "check.html"
    page.write_text(render(result), encoding="utf-8")
    return page, result


def test_the_browser_sees_the_chapter_the_plot_and_a_player_per_flagged_sentence(
    report: tuple[Path, BookCheck],
) -> None:
    page, result = report
    assert [s.index for s in result.flagged] == [SILENCED]  # the fault, and nothing else
    dom = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    tree = lxml.html.fromstring(dom)
    chapters = tree.xpath("//section[@class='chapter']")
    assert [c.get("data-chapter") for c in chapters] == ["10"]
    assert "The Real Princess" in chapters[0].text_content()
    plots = chapters[0].xpath(".//svg[@class='plot']")
    assert len(plots) == 1
    assert len(plots[0].xpath(".//circle")) == len(TEXTS)  # a point per sentence
    assert len(plots[0].xpath(".//circle[@class='flagged']")) == 1
    rows = chapters[0].xpath(".//tr[@class='flagged']")
    assert len(rows) == 1 and TEXTS[SILENCED] in rows[0].text_content()
    players = rows[0].xpath(".//audio")
    assert len(players) == 1 and players[0].get("src", "").startswith("data:audio/wav;base64,")
    assert not tree.xpath("//script")  # nothing to run, nothing fetched
    assert "http://" not in dom and "https://" not in dom


def test_a_screenshot_of_the_report_shows_a_rendered_page(
    report: tuple[Path, BookCheck], tmp_path: Path
) -> None:
    page, _ = report
    shot = tmp_path / "check.png"
    subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1000,900",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    with Image.open(shot) as image:
        assert image.size == (1000, 900)
        pixels = np.asarray(image.convert("RGB"))
    # Text, a blue plot and the red flagged point: the page rendered, not a blank or error page.
    red = (pixels[..., 0] > 150) & (pixels[..., 1] < 60) & (pixels[..., 2] < 80)
    blue = (pixels[..., 2] > 180) & (pixels[..., 0] < 80)
    dark = pixels.sum(axis=-1) < 150
    assert red.sum() > 10 and blue.sum() > 10 and dark.sum() > 500
