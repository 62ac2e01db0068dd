"""The brief displays in a real browser: headless Chromium loads every image and reports no script error.

A screenshot of the page is kept as a test artifact (its path is printed; set TEST_ARTIFACTS to a folder
to have it copied there as well). Without Chromium the test is skipped, except in CI (CI set), where
it fails: .ci/run installs Debian's chromium package.
"""
import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Injected first into <head>: records errors (script errors and failed resource loads) and, once the page
# has loaded, writes what it found into the DOM, which --dump-dom prints.
PROBE = """<script>
window.__errors = [];
window.addEventListener("error", function (e) {
  var t = e.target || {};
  window.__errors.push(String(e.message || t.src || t.href || "error"));
}, true);
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var out = {
    images: imgs.length,
    broken: imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                .map(function (i) { return i.alt || i.src.slice(0, 60); }),
    without_alt: imgs.filter(function (i) { return !i.alt; }).length,
    errors: window.__errors,
    title: document.title
  };
  var pre = document.createElement("pre");
  pre.id = "__probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed but CI is set: .ci/run must install Debian's chromium package")
    pytest.skip("chromium is not installed (apt-get install chromium); CI runs this test")


def run_chromium(exe, profile, *args, timeout=120):
    cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def brief(tiny_run):
    exe = chromium()
    return exe, tiny_run / "results/public/brief.html"


def test_brief_loads_every_image_without_script_errors(brief, tmp_path):
    exe, page = brief
    text = page.read_text(encoding="utf-8")
    probed = tmp_path / "brief_probe.html"
    probed.write_text(text.replace("<head>", "<head>\n" + PROBE, 1), encoding="utf-8")
    proc = run_chromium(exe, tmp_path / "profile", "--virtual-time-budget=10000", "--enable-logging=stderr",
                        "--v=0", "--dump-dom", probed.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = re.search(r'<pre id="__probe">(.*?)</pre>', proc.stdout, re.S)
    assert m, "the page did not finish loading:\n" + proc.stdout[-1000:] + proc.stderr[-2000:]
    result = json.loads(html.unescape(m.group(1)))
    assert result["title"].startswith("Online credit recovery")
    assert result["images"] == len(re.findall(r"<img\b", text)) >= 1
    assert result["broken"] == []
    assert result["without_alt"] == 0
    assert result["errors"] == []
    assert "Uncaught" not in proc.stderr
    # the page's own text made it into the DOM
    assert "compared with similar students who retook the course in a classroom" in proc.stdout.lower()


def test_brief_screenshot_is_kept(brief, tmp_path):
    exe, page = brief
    shot = tmp_path / "brief.png"
    proc = run_chromium(exe, tmp_path / "profile", "--hide-scrollbars", "--window-size=1280,4000",
                        "--virtual-time-budget=10000", f"--screenshot={shot}", page.as_uri())
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 50_000    # a rendered page, not a blank one
    print(f"\nscreenshot of the brief: {shot}")
    if os.environ.get("TEST_ARTIFACTS"):
        folder = Path(os.environ["TEST_ARTIFACTS"])
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, folder / "brief.png")


# Injected into the appendix: after load, every element that does not fit a 1280 px window (a table wider than
# the window, a scroll box hiding part of its content, a cell whose text is clipped) is listed in the DOM.
FIT_PROBE = """<script>
window.addEventListener("load", function () {
  var W = window.innerWidth, bad = [];
  var all = document.querySelectorAll("body *");
  for (var i = 0; i < all.length; i++) {
    var el = all[i], r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    if (cs.overflowX != "visible" && el.scrollWidth > el.clientWidth + 1)
      bad.push("scroll box " + el.tagName + "." + el.className + ": " + el.scrollWidth + " > " + el.clientWidth);
    if (el.tagName == "TABLE" && r.right > W + 1)
      bad.push("table wider than the window (" + Math.round(r.right) + " px): " + el.innerText.slice(0, 50));
    if ((el.tagName == "TD" || el.tagName == "TH") && r.width > 0 && (r.right > W + 1 || r.left < -1))
      bad.push("cell outside the window: " + el.innerText.slice(0, 30));
  }
  var out = {width: W, page: document.documentElement.scrollWidth, tables: document.querySelectorAll("table").length,
             bad: bad.slice(0, 20)};
  var pre = document.createElement("pre"); pre.id = "__fit"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def test_appendix_fits_1280_pixels_with_every_number_visible(tiny_run, tmp_path):
    """The technical appendix at 1280 px: no horizontal scrolling, no table wider than the page, nothing hidden
    in a scroll box; a screenshot is kept (TEST_ARTIFACTS)."""
    exe = chromium()
    page = tiny_run / "results/public/appendix.html"
    probed = tmp_path / "appendix_probe.html"
    probed.write_text(page.read_text(encoding="utf-8").replace("<head>", "<head>\n" + FIT_PROBE, 1), encoding="utf-8")
    proc = run_chromium(exe, tmp_path / "profile", "--window-size=1280,4000", "--virtual-time-budget=10000",
                        "--dump-dom", probed.as_uri())
    m = re.search(r'<pre id="__fit">(.*?)</pre>', proc.stdout, re.S)
    assert m, "the page did not finish loading:\n" + proc.stderr[-2000:]
    result = json.loads(html.unescape(m.group(1)))
    assert result["width"] == 1280 and result["tables"] >= 5
    assert result["bad"] == [] and result["page"] <= 1280, result
    shot = tmp_path / "appendix.png"
    proc = run_chromium(exe, tmp_path / "profile", "--hide-scrollbars", "--window-size=1280,6000",
                        "--virtual-time-budget=10000", f"--screenshot={shot}", page.as_uri())
    assert proc.returncode == 0 and shot.read_bytes().startswith(b"\x89PNG")
    print(f"\nscreenshot of the appendix: {shot}")
    if os.environ.get("TEST_ARTIFACTS"):
        folder = Path(os.environ["TEST_ARTIFACTS"])
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, folder / "appendix.png")
