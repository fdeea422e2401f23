"""The built book renders: every page of the toc exists, is not blank in headless
Chromium, every image exists and decodes, no notebook output is an error, math is
typeset by the local MathJax, and no page loads anything from the network.

In Chromium at 1,280 px, with a probe script measuring the laid-out page: no table and
no display equation runs past the visible text box (the article's content box, not the
article's width), no code block is cut, no visible text shows a raw
``$`` or ``\\`` (math that was not typeset), every image has alt text that says what it
shows, no page shows a notebook code cell, and every generated page names its scale.

Runs on an existing build (``_build/html``, made by ``make book`` or ``make smoke-book``);
skipped when there is none or Chromium is missing, unless ``BOOK_RENDER_REQUIRED=1``
(CI), where that is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from bs4 import BeautifulSoup
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
#: the built book (``BOOK_BUILD`` names another, e.g. a copy built outside the checkout)
BUILD = Path(os.environ.get("BOOK_BUILD") or REPO / "_build" / "html")
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


# --------------------------------------------------------------------------- layout probe
#: measured in the page after MathJax has typeset it; the result lands in <body data-probe>
_PROBE = r"""<script>
(function () {
  function measure() {
    var art = document.querySelector("article");
    var out = {width: 0, box: 0, wide_tables: [], wide_math: [], wide_code: [],
               math_errors: 0, raw_math: [], bad_alt: [], code_cells: 0, text: ""};
    if (art) {
      // the visible text box: the article's content box (its width less its padding), not
      // the article's own width
      var ar = art.getBoundingClientRect(), cs = getComputedStyle(art);
      var box = {left: ar.left + parseFloat(cs.paddingLeft) + parseFloat(cs.borderLeftWidth),
                 right: ar.right - parseFloat(cs.paddingRight) - parseFloat(cs.borderRightWidth)};
      out.width = ar.width;
      out.box = box.right - box.left;
      // an element laid out past the text box: a reader sees it cut at the box's edge (a
      // sideways scrollbar, where the theme gives one, is easy to miss and absent with
      // overlay scrollbars), so it must fit
      var cut = function (el) {
        var r = el.getBoundingClientRect();
        return r.left < box.left - 2 || r.right > box.right + 2;
      };
      art.querySelectorAll("table").forEach(function (t) {
        var w = Math.max(t.scrollWidth, t.getBoundingClientRect().width);
        if (cut(t)) out.wide_tables.push(Math.round(w) + " px: " + t.innerText.slice(0, 80));
      });
      art.querySelectorAll('mjx-container[display="true"]').forEach(function (m) {
        var inner = m.querySelector("mjx-math") || m;
        var w = inner.getBoundingClientRect().width;
        if (cut(inner)) out.wide_math.push(Math.round(w) + " px: " + m.textContent.slice(0, 60));
      });
      // a code block whose lines are cut at the right edge (neither wrapped nor fitting)
      art.querySelectorAll("pre").forEach(function (p) {
        if (p.scrollWidth > p.clientWidth + 2 || cut(p))
          out.wide_code.push(p.scrollWidth + " px in " + p.clientWidth + " px: "
                             + p.innerText.slice(0, 60));
      });
      out.math_errors = art.querySelectorAll("mjx-merror").length;
      var skip = "code, pre, kbd, script, style, mjx-container, .highlight, textarea";
      var walker = document.createTreeWalker(art, NodeFilter.SHOW_TEXT);
      var n;
      while ((n = walker.nextNode())) {
        var el = n.parentElement;
        if (!el || el.closest(skip) || el.offsetParent === null) continue;
        if (/[$\\]/.test(n.textContent)) out.raw_math.push(n.textContent.trim().slice(0, 100));
      }
      art.querySelectorAll("img").forEach(function (img) {
        var alt = (img.getAttribute("alt") || "").trim();
        if (alt.split(/\s+/).length < 6 || /^[0-9a-f]{16,}/i.test(alt)
            || /\.(png|jpe?g|svg|gif)$/i.test(alt))
          out.bad_alt.push((img.getAttribute("src") || "") + " alt=" + JSON.stringify(alt));
      });
      out.code_cells = art.querySelectorAll(".cell_input, details.above-input").length;
      out.text = art.innerText;
    }
    document.body.setAttribute("data-probe", JSON.stringify(out));
  }
  window.addEventListener("load", function () {
    var ready = (window.MathJax && MathJax.startup && MathJax.startup.promise)
      || Promise.resolve();
    ready.then(function () { setTimeout(measure, 200); });
  });
})();
</script>"""


@pytest.fixture(scope="module")
def probes(pages) -> dict[str, dict]:
    """Every built page, laid out by Chromium at 1,280 px and measured by :data:`_PROBE`."""
    _require(CHROMIUM is not None, "chromium not installed (apt-get install -y chromium)")
    out = {}
    for name, path in pages.items():
        if not path.is_file():
            continue
        # a copy beside the page, so that its relative links (MathJax, CSS) still resolve
        probe = path.with_name(f".probe-{path.name}")
        probe.write_text(path.read_text().replace("</body>", _PROBE + "</body>"))
        try:
            dom = _chromium(["--window-size=1280,1400", "--dump-dom"], probe.as_uri())
        finally:
            probe.unlink()
        body = BeautifulSoup(dom.stdout, "html.parser").find("body")
        raw = body.get("data-probe") if body is not None else None
        assert raw, f"{name}: the layout probe did not run (chromium: {dom.stderr[-300:]})"
        out[name] = json.loads(raw)
    return out


def _all_pages(probes, check) -> None:
    """Run ``check(name, probe)`` (a message or None) on every page; fail listing all."""
    bad = [msg for name, p in probes.items() if (msg := check(name, p))]
    assert not bad, f"{len(bad)} page(s):\n" + "\n".join(bad)


def test_tables_and_equations_fit_the_page(probes):
    """No table or display equation runs past the visible text box (the article's content
    box, narrower than the article by its padding)."""
    _all_pages(probes, lambda name, p: (
        f"{name}: wider than the text box ({p['box']:.0f} px of a {p['width']:.0f} px "
        f"article): tables {p['wide_tables']}, equations {p['wide_math']}, "
        f"{p['math_errors']} MathJax errors"
        if p["wide_tables"] or p["wide_math"] or p["math_errors"] else None))


def test_code_blocks_are_not_cut(probes):
    """Every code block wraps its long lines (or fits): nothing is cut at 1,280 px."""
    _all_pages(probes, lambda name, p: (
        f"{name}: code cut at the right edge: {p['wide_code'][:2]}" if p["wide_code"]
        else None))


def test_no_raw_math_on_any_page(probes):
    _all_pages(probes, lambda name, p: (
        f"{name}: text shows a raw '$' or '\\': {p['raw_math'][:3]}" if p["raw_math"] else None))


def test_images_have_meaningful_alt_text(probes):
    _all_pages(probes, lambda name, p: (
        f"{name}: image without meaningful alt text: {p['bad_alt'][:2]}" if p["bad_alt"]
        else None))


def test_no_code_cell_on_a_book_page(probes):
    _all_pages(probes, lambda name, p: (
        f"{name}: {p['code_cells']} notebook code cells shown" if p["code_cells"] else None))


def test_every_generated_page_names_its_scale(probes):
    # "scale `cpu`" or "the cpu scale"
    pattern = re.compile(r"\bscales?\b\W+(smoke|cpu|paper)\b|\b(smoke|cpu|paper)\W+scales?\b")
    _all_pages(probes, lambda name, p: (
        f"{name}: the page does not say its scale"
        if "generated/" in name and not pattern.search(p["text"]) else None))


def test_generated_figures_are_numbered_with_captions(soups):
    """Every figure of a generated page is a numbered figure with a caption."""
    n = 0
    for name, soup in soups.items():
        if "generated/" not in name:
            continue
        for img in soup.select("article img"):
            fig = img.find_parent("figure")
            assert fig is not None, f"{name}: image outside a figure: {img.get('src')}"
            cap = fig.find("figcaption")
            assert cap is not None and cap.select_one(".caption-number"), \
                f"{name}: figure without a numbered caption: {img.get('src')}"
            assert len(cap.get_text(" ", strip=True)) > 80, f"{name}: caption too short"
            n += 1
    assert n >= 5, f"only {n} numbered figures on the generated pages"
