"""The built book renders: every page of the toc exists, is not blank in headless
Chromium, every image exists and decodes, no notebook output is an error, math is
typeset by the local MathJax, and no page loads anything from the network.

Runs on an existing build (``_build/html``, made by ``make book`` or ``make smoke-book``);
skipped when there is none or Chromium is missing, unless ``BOOK_RENDER_REQUIRED=1``
(CI), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from bs4 import BeautifulSoup
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "_build" / "html"
CHROMIUM = next((p for p in (shutil.which(n) for n in
                             ("chromium", "chromium-browser", "google-chrome")) if p), None)
REQUIRED = os.environ.get("BOOK_RENDER_REQUIRED") == "1"

pytestmark = pytest.mark.slow


def _require(ok: bool, why: str) -> None:
    if not ok:
        (pytest.fail if REQUIRED else pytest.skip)(why)


def _toc_files() -> list[str]:
    """Every page of _toc.yml (globs expanded against the built pages), without suffix."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for e in entries or []:
            if "file" in e:
                files.append(e["file"])
            if "glob" in e:
                built = sorted(BUILD.glob(e["glob"] + ".html"))
                files.extend(str(p.relative_to(BUILD).with_suffix("")) for p in built)
            walk(e.get("sections"))
            walk(e.get("chapters"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return files


@pytest.fixture(scope="module")
def pages() -> dict[str, Path]:
    _require((BUILD / "index.html").is_file(), f"no built book at {BUILD}")
    return {f: BUILD / f"{f}.html" for f in _toc_files()}


@pytest.fixture(scope="module")
def soups(pages) -> dict[str, BeautifulSoup]:
    return {f: BeautifulSoup(p.read_text(), "html.parser") for f, p in pages.items()
            if p.is_file()}


def test_every_toc_page_is_built(pages):
    missing = [f for f, p in pages.items() if not p.is_file()]
    assert not missing, f"pages of _toc.yml not built: {missing}"
    assert len(pages) >= 14


def test_images_exist_and_decode(soups):
    n = 0
    for name, soup in soups.items():
        for img in soup.find_all("img"):
            src = img.get("src", "")
            assert src and not src.startswith(("http:", "https:")), f"{name}: bad img {src!r}"
            if src.startswith("data:"):
                continue
            path = (BUILD / name).parent / src
            assert path.is_file(), f"{name}: broken image {src}"
            with Image.open(path) as im:
                assert min(im.size) >= 32, f"{name}: {src} is {im.size}"
                im.load()
            n += 1
    assert n >= 1, "the book holds no image at all"


def test_no_failed_notebook_output(soups):
    for name, soup in soups.items():
        text = soup.get_text()
        assert "Traceback (most recent call last)" not in text, f"{name}: error traceback"
        assert "PapermillExecutionError" not in text, f"{name}: failed notebook"
        bad = soup.select("div.output.error, div.output.traceback, div.output.stderr")
        assert not bad, f"{name}: error/stderr output: {bad[0].get_text()[:300]}"


def test_generated_pages_have_captions(soups):
    for name, soup in soups.items():
        if "/generated/" not in f"/{name}" or name.endswith("protocols"):
            continue
        text = soup.select_one("article").get_text(" ")
        assert "scale" in text, f"{name}: no scale stated"


def test_offline(soups):
    for name, soup in soups.items():
        for tag, attr in (("script", "src"), ("link", "href")):
            for el in soup.find_all(tag):
                url = el.get(attr) or ""
                assert not url.startswith(("http:", "https:", "//")), f"{name}: loads {url}"


def _chromium(args: list[str], url: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", f"--user-data-dir={profile}",
             "--virtual-time-budget=4000", *args, url],
            capture_output=True, text=True, timeout=120,
        )


def test_pages_render_in_chromium(pages):
    _require(CHROMIUM is not None, "chromium not installed (apt-get install -y chromium)")
    shots = REPO / "_build" / "screenshots"
    shots.mkdir(exist_ok=True)
    for name, path in pages.items():
        dom = _chromium(["--dump-dom"], path.as_uri())
        assert dom.returncode == 0, f"{name}: chromium failed: {dom.stderr[-500:]}"
        soup = BeautifulSoup(dom.stdout, "html.parser")
        article = soup.select_one("article")
        assert article is not None, f"{name}: no <article> in the rendered DOM"
        assert len(article.get_text(" ", strip=True)) > 300, f"{name}: (nearly) blank page"
        png = shots / (name.replace("/", "__") + ".png")
        shot = _chromium(["--window-size=1280,1400", f"--screenshot={png}"], path.as_uri())
        assert shot.returncode == 0 and png.is_file(), f"{name}: no screenshot"
        pixels = np.asarray(Image.open(png).convert("L"), dtype=np.float32)
        content = pixels[100:, 300:]  # right of the sidebar, below the header
        assert (content < 200).mean() > 0.01, f"{name}: rendered blank ({png})"


def test_math_is_typeset_by_local_mathjax(pages):
    _require(CHROMIUM is not None, "chromium not installed")
    intro = pages["book/intro"]
    assert "_static/mathjax/tex-chtml.js" in intro.read_text().replace("../", "")
    dom = _chromium(["--dump-dom"], intro.as_uri()).stdout
    assert "mjx-container" in dom, "MathJax did not typeset the intro's equation"
