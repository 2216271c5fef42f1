"""Check a built site the way its readers meet it: in a real browser, offline.

Two kinds of check, each returning a list of :class:`Problem` (empty means the page passed):

- :func:`static_problems` reads the HTML files: every internal link and anchor resolves, every local image,
  video and script file exists, no page loads a script or stylesheet from the network (an offline reader, or
  one behind a firewall, would lose it), and every chapter page carries videos, a results table and the run
  card that states its profile, time and machine.
- :func:`browser_problems` opens every page in headless Chromium (Debian's ``chromium`` + ``chromium-driver``,
  driven by Selenium) served from a loopback HTTP server, and fails a page that logs a JavaScript error, whose
  videos have no decodable frames (``readyState``, ``duration``, and ``play()`` must advance ``currentTime``),
  whose saved widgets render empty, or whose equations are left as raw TeX.

:func:`screenshots` writes every page at desktop and phone width. ``python -m vidsynth_lite.booktools.site_check
_build/html [--screenshots DIR]`` runs everything and exits 1 on any problem.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import http.server
import re
import sys
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHAPTER_PAGE = re.compile(r"^notebooks/(\d\d)_[a-z0-9_]+\.html$")
RUN_CARD_CLASS = "vidsynth-run-card"
# TeX commands that must never reach a reader as text (MathJax renders them inside .math elements)
RAW_TEX = re.compile(r"\\(frac|operatorname|mathrm|mathbf|lVert|rVert|sqrt|sum_|begin\{|left\(|right\))")
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


@dataclasses.dataclass(frozen=True)
class Problem:
    page: str
    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.page}: [{self.check}] {self.detail}"


# ----------------------------------------------------------------------------------------------- static checks

class _PageParser(HTMLParser):
    """Collects ids, links, local resources, external scripts/styles, videos, tables and the run card."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.resources: list[str] = []
        self.external: list[str] = []
        self.videos = 0
        self.tables = 0
        self.run_cards = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.ids.add(a["name"])
        if RUN_CARD_CLASS in a.get("class", "").split():
            self.run_cards += 1
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag in ("img", "source", "video") and a.get("src"):
            self.resources.append(a["src"])
        elif tag == "script" and a.get("src"):
            (self.external if _is_remote(a["src"]) else self.resources).append(a["src"])
        elif tag == "link" and a.get("href") and "stylesheet" in a.get("rel", ""):
            (self.external if _is_remote(a["href"]) else self.resources).append(a["href"])
        if tag == "video":
            self.videos += 1
        if tag == "table":
            self.tables += 1


def _is_remote(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https") or url.startswith("//")


@functools.cache
def _parse(path: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(path.read_text(errors="replace"))
    return parser


def pages(site: str | Path) -> list[Path]:
    """Every HTML page of the book (search and index pages included), sorted."""
    site = Path(site)
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)


def _local_target(site: Path, page: Path, url: str) -> tuple[Path, str] | None:
    parts = urlsplit(url)
    if parts.scheme or url.startswith(("//", "data:", "mailto:")):
        return None
    target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
    return target, unquote(parts.fragment)


def static_problems(site: str | Path, page_list: list[Path] | None = None) -> list[Problem]:
    site = Path(site).resolve()
    problems = []
    for page in page_list or pages(site):
        name = page.resolve().relative_to(site).as_posix()
        parsed = _parse(page.resolve())
        for url in parsed.external:
            problems.append(Problem(name, "offline", f"loads {url} from the network"))
        for url in parsed.resources:
            target = _local_target(site, page.resolve(), url)
            if target is not None and not target[0].is_file():
                problems.append(Problem(name, "resource", f"{url} does not exist"))
        for url in parsed.links:
            target = _local_target(site, page.resolve(), url)
            if target is None:
                continue
            path, fragment = target
            if path.is_dir():
                path = path / "index.html"
            if not path.is_file():
                problems.append(Problem(name, "link", f"{url} points at a missing file"))
            elif fragment and path.suffix == ".html" and fragment not in _parse(path).ids:
                problems.append(Problem(name, "anchor", f"{url}: no element with id {fragment!r}"))
        if CHAPTER_PAGE.match(name) and not name.startswith("notebooks/90"):
            if parsed.videos == 0:
                problems.append(Problem(name, "chapter", "has no video"))
            if parsed.tables == 0:
                problems.append(Problem(name, "chapter", "has no results table"))
            if parsed.run_cards == 0:
                problems.append(Problem(name, "chapter", f"has no run card (.{RUN_CARD_CLASS}: profile, time, "
                                        "machine from the results file)"))
    return problems


# ---------------------------------------------------------------------------------------------- browser checks

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def serve(site: str | Path) -> Iterator[str]:
    """Serve ``site`` on a free loopback port for the duration of the block; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def chromium_paths() -> tuple[str, str] | None:
    """``(chromium, chromedriver)`` from Debian's packages, or None when they are not installed."""
    import shutil

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@contextlib.contextmanager
def browser(width: int = 1280, height: int = 900):
    """A headless Chromium driven by Selenium that cannot reach the network (only loopback answers here)."""
    import tempfile

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = chromium_paths()
    if found is None:
        raise RuntimeError("the browser checks need Debian's chromium and chromium-driver "
                           "(apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    profile = tempfile.mkdtemp(prefix="vidsynth-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--mute-audio",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required", f"--window-size={width},{height}",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(found[1]), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        import shutil

        shutil.rmtree(profile, ignore_errors=True)


_WAIT_READY = """
const done = arguments[arguments.length - 1];
const deadline = Date.now() + arguments[0];
function settled() {
  const mj = window.MathJax;
  const mathReady = !document.querySelector('.math') ||
      (mj && mj.startup && mj.startup.promise && mj.startup.document &&
       document.querySelectorAll('.math mjx-container').length > 0);
  const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
  const widgetsReady = [...views].every(s => s.parentElement.querySelector('.jupyter-widgets, .widget-subarea'));
  return mathReady && widgetsReady;
}
(function poll() {
  if (settled() || Date.now() > deadline) {
    const mj = window.MathJax;
    if (mj && mj.startup && mj.startup.promise) { mj.startup.promise.then(() => done(true), () => done(false)); }
    else { done(true); }
  } else { setTimeout(poll, 100); }
})();
"""

_INSPECT = """
const rawTex = new RegExp(arguments[0]);
const result = {math: [], widgets: [], text: []};
document.querySelectorAll('.math').forEach((el, i) => {
  if (!el.querySelector('mjx-container')) result.math.push(el.textContent.trim().slice(0, 80));
});
document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').forEach((s, i) => {
  const view = s.parentElement.querySelector('.jupyter-widgets, .widget-subarea');
  if (!view || view.children.length === 0 || view.getBoundingClientRect().height < 1) {
    result.widgets.push(i);
  }
});
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {acceptNode: n => {
  const skip = n.parentElement.closest('pre, code, script, style, mjx-container, .math, textarea');
  return skip ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT;
}});
while (walker.nextNode()) {
  const t = walker.currentNode.textContent;
  if (rawTex.test(t)) result.text.push(t.trim().slice(0, 80));
}
return result;
"""

_VIDEOS = """
const done = arguments[arguments.length - 1];
const videos = [...document.querySelectorAll('video')];
Promise.all(videos.map((v, i) => new Promise(resolve => {
  const report = {index: i, readyState: v.readyState, duration: v.duration, advanced: false, error: null};
  const finish = () => { report.readyState = v.readyState; report.duration = v.duration; resolve(report); };
  const start = () => {
    // autoplaying looped videos may wrap around: restart from 0 and watch the clock move forward
    v.pause(); v.muted = true; v.loop = false; v.currentTime = 0;
    const deadline = Date.now() + 6000;
    v.play().then(() => {
      (function watch() {
        if (v.currentTime > 0.01) { report.advanced = true; v.pause(); finish(); }
        else if (Date.now() > deadline) { v.pause(); finish(); }
        else { setTimeout(watch, 100); }
      })();
    }, e => { report.error = String(e); finish(); });
  };
  if (v.error) { report.error = 'media error ' + v.error.code; resolve(report); return; }
  if (v.readyState >= 2) { start(); return; }
  v.addEventListener('loadeddata', start, {once: true});
  v.addEventListener('error', () => { report.error = 'media error ' + (v.error && v.error.code); finish(); },
                     {once: true});
  v.load();
  setTimeout(finish, 10000);
}))).then(done);
"""


def _page_problems(driver, base: str, name: str, timeout_ms: int = 15000) -> list[Problem]:
    problems = []
    driver.get(base + name)
    driver.set_script_timeout(timeout_ms / 1000 + 20)
    driver.execute_async_script(_WAIT_READY, timeout_ms)
    for entry in driver.get_log("browser"):
        if entry.get("level") == "SEVERE":
            problems.append(Problem(name, "javascript", entry.get("message", "")[:300]))
    seen = driver.execute_script(_INSPECT, RAW_TEX.pattern)
    for text in seen["math"]:
        problems.append(Problem(name, "math", f"equation left as raw TeX: {text!r}"))
    for text in seen["text"]:
        problems.append(Problem(name, "math", f"raw TeX in the page text: {text!r}"))
    for index in seen["widgets"]:
        problems.append(Problem(name, "widget", f"saved widget #{index} renders empty"))
    for video in driver.execute_async_script(_VIDEOS):
        label = f"video #{video['index']}"
        if video["error"]:
            problems.append(Problem(name, "video", f"{label}: {video['error']}"))
        elif video["readyState"] is None or video["readyState"] < 2:
            problems.append(Problem(name, "video", f"{label}: no decodable frame (readyState "
                                    f"{video['readyState']})"))
        elif not (video["duration"] and video["duration"] > 0):
            problems.append(Problem(name, "video", f"{label}: duration {video['duration']}"))
        elif not video["advanced"]:
            problems.append(Problem(name, "video", f"{label}: play() did not advance currentTime"))
    return problems


def browser_problems(site: str | Path, page_list: list[Path] | None = None) -> list[Problem]:
    site = Path(site).resolve()
    names = [p.resolve().relative_to(site).as_posix() for p in (page_list or pages(site))]
    problems = []
    with serve(site) as base, browser() as driver:
        for name in names:
            problems.extend(_page_problems(driver, base, name))
    return problems


def screenshots(site: str | Path, out: str | Path, page_list: list[Path] | None = None) -> list[Path]:
    """Full-page PNG of every page at desktop and phone width: ``out/<page>-<width name>.png``."""
    import base64

    site, out = Path(site).resolve(), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = [p.resolve().relative_to(site).as_posix() for p in (page_list or pages(site))]
    written = []
    with serve(site) as base:
        for label, (width, height) in WIDTHS.items():
            with browser(width, height) as driver:
                driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                    "width": width, "height": height, "deviceScaleFactor": 1, "mobile": label == "phone"})
                for name in names:
                    driver.get(base + name)
                    driver.set_script_timeout(40)
                    driver.execute_async_script(_WAIT_READY, 15000)
                    time.sleep(0.3)
                    shot = driver.execute_cdp_cmd("Page.captureScreenshot",
                                                  {"format": "png", "captureBeyondViewport": True})
                    path = out / f"{name.removesuffix('.html').replace('/', '__')}-{label}.png"
                    path.write_bytes(base64.b64decode(shot["data"]))
                    written.append(path)
    return written


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m vidsynth_lite.booktools.site_check")
    parser.add_argument("site", help="the built site, e.g. _build/html")
    parser.add_argument("--screenshots", default=None, help="also write page screenshots into this folder")
    args = parser.parse_args(argv)
    site = Path(args.site)
    if not (site / "index.html").is_file():
        print(f"{site} holds no index.html: build the book first", file=sys.stderr)
        return 2
    started = time.perf_counter()
    problems = static_problems(site) + browser_problems(site)
    for problem in problems:
        print(f"!! {problem}", file=sys.stderr)
    count = len(pages(site))
    print(f"site check: {count} pages, {len(problems)} problems ({time.perf_counter() - started:.0f} s)")
    if args.screenshots:
        shots = screenshots(site, args.screenshots)
        print(f"wrote {len(shots)} screenshots to {args.screenshots}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
