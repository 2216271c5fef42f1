"""The built site, checked in a real browser: the book as its readers meet it (booktools/site_check.py).

`make test` builds the site from the `smoke` execution (`make site-smoke`, path in VIDSYNTH_SITE) and this test
opens every page in headless Chromium. Each check is also shown to fail on a page broken on purpose.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from vidsynth_lite.booktools import site_check

SITE = os.environ.get("VIDSYNTH_SITE")
needs_site = pytest.mark.skipif(
    not SITE and os.environ.get("CI") != "true",
    reason="no built site: `make test` builds one (make site-smoke) and sets VIDSYNTH_SITE")
needs_browser = pytest.mark.skipif(
    site_check.chromium_paths() is None and os.environ.get("CI") != "true",
    reason="Debian's chromium + chromium-driver are not installed (make system-deps installs them as root)")


def _site() -> Path:
    assert SITE, "VIDSYNTH_SITE must name the built smoke site (make site-smoke)"
    path = Path(SITE)
    assert (path / "index.html").is_file(), f"{path} holds no built site"
    return path


def _chapter_page(site: Path) -> str:
    """A chapter page with videos, widgets and equations to break (chapter 0 has all three)."""
    return "notebooks/00_running_the_book.html"


@pytest.fixture(scope="module")
def broken_copy(tmp_path_factory):
    """A copy of the built site whose pages we break, one kind of damage per page."""
    copy = tmp_path_factory.mktemp("site") / "html"
    shutil.copytree(_site(), copy)
    return copy


def _break(copy: Path, source: str, name: str, edit) -> Path:
    page = copy / "notebooks" / name
    page.write_text(edit((copy / source).read_text()))
    return page


@needs_site
@needs_browser
def test_every_page_of_the_built_site_passes_every_check():
    site = _site()
    problems = site_check.static_problems(site) + site_check.browser_problems(site)
    assert problems == [], "\n".join(map(str, problems))


@needs_site
def test_static_checks_catch_broken_links_anchors_network_scripts_and_bare_chapters(broken_copy):
    source = _chapter_page(broken_copy)
    page = _break(broken_copy, source, "07_broken_static.html", lambda html: html.replace(
        "</body>", '<a href="nowhere.html">x</a><a href="#no-such-anchor">y</a>'
        '<script src="https://cdn.example.org/lib.js"></script></body>'))
    bare = _break(broken_copy, source, "08_bare.html", lambda html: re.sub(
        r"<(video|table)\b", r"<\1-gone", html).replace(site_check.RUN_CARD_CLASS, "card-gone"))
    kinds = {(p.check, p.detail.split(":")[0]) for p in site_check.static_problems(broken_copy, [page, bare])}
    checks = {check for check, _ in kinds}
    assert {"link", "anchor", "offline", "chapter"} <= checks, kinds
    details = {p.detail for p in site_check.static_problems(broken_copy, [bare])}
    assert {"has no video", "has no results table"} <= details


@needs_site
@needs_browser
def test_browser_checks_catch_js_errors_dead_videos_empty_widgets_and_raw_tex(broken_copy):
    source = _chapter_page(broken_copy)
    js = _break(broken_copy, source, "09_js_error.html",
                lambda html: html.replace("</body>", "<script>throw new Error('broken on purpose')</script></body>"))
    video = _break(broken_copy, source, "10_dead_video.html", lambda html: re.sub(
        r'(<video[^>]*src=")data:video/mp4;base64,[^"]*"', r'\1data:video/mp4;base64,AAAAIGZ0eXA="', html))
    widget = _break(broken_copy, source, "11_empty_widget.html", lambda html: re.sub(
        r'<script type="application/vnd.jupyter.widget-state\+json">.*?</script>', "", html, flags=re.DOTALL))
    tex = _break(broken_copy, source, "12_raw_tex.html", lambda html: re.sub(
        r'<script[^>]*src="[^"]*mathjax[^"]*"[^>]*></script>', "", html)
        .replace("</article>", '<p>an equation the page forgot: \\frac{a}{b}</p></article>'))
    found = {}
    for page in (js, video, widget, tex):
        found[page.name] = {p.check for p in site_check.browser_problems(broken_copy, [page])}
    assert "javascript" in found[js.name], found
    assert "video" in found[video.name], found
    assert "widget" in found[widget.name], found
    assert "math" in found[tex.name], found


def test_static_checks_pass_a_minimal_good_page(tmp_path):
    (tmp_path / "index.html").write_text('<html><body id="top"><a href="#top">up</a>'
                                         '<a href="other.html#x">o</a></body></html>')
    (tmp_path / "other.html").write_text('<html><body><h1 id="x">x</h1></body></html>')
    assert site_check.static_problems(tmp_path) == []
