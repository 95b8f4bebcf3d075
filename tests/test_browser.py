"""The default scenario's report, opened from disk in headless Chromium at 1280 px width:
it renders completely, no table or figure overflows the page, no table is a header without
rows, every contents link resolves, no script and no console error.

The browser is driven through the Chrome DevTools Protocol over ``--remote-debugging-pipe``
(file descriptors 3 and 4, NUL-terminated JSON messages): no network port, no websocket
client, no selenium/chromedriver, works offline. Skipped when /usr/bin/chromium is absent
(Debian package ``chromium``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from insights.report import render

CHROMIUM = os.environ.get("INSIGHTS_CHROMIUM", "/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (Path(CHROMIUM).exists() and os.access(CHROMIUM, os.X_OK)),
                       reason=f"headless Chromium not found at {CHROMIUM} "
                              f"(apt-get install chromium)"),
]


class DevTools:
    """Minimal CDP client over Chromium's debugging pipe."""

    def __init__(self, user_data_dir: Path):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def fds():  # in the child: the pipe ends become fds 3 (commands) and 4 (replies)
            # copy first (the ends may themselves be 3 or 4, and dup2 onto the same number
            # would keep their close-on-exec flag), then place them, inheritable
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-extensions", "--remote-debugging-pipe",
             f"--user-data-dir={user_data_dir}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=fds, close_fds=False)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next = 0
        self._buf = b""
        self.events: list[dict] = []

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the debugging pipe")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30) -> dict:
        self._next += 1
        msg = {"id": self._next, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        for ev in self.events:
            if ev.get("method") == method:
                return ev
        while True:
            ev = self._read(deadline)
            self.events.append(ev)
            if ev.get("method") == method:
                return ev

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


#: What a stakeholder's screen is (the issue: "overflows the page at 1280 px width").
WIDTH = 1280
#: Where to keep the full-page screenshot (set it to look at the page; default: tmp).
SCREENSHOT_DIR = os.environ.get("INSIGHTS_SCREENSHOT_DIR", "")

PROBE = """(() => {
  const W = document.documentElement.clientWidth;
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    ' "' + ((el.querySelector && el.querySelector('caption')) ? el.querySelector('caption')
            .textContent : (el.alt || el.textContent || '')).trim().slice(0, 60) + '"';
  const overflow = [];
  for (const el of document.querySelectorAll('table, img, svg, figure, pre')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right > W + 1 || r.left < -1) overflow.push(name(el) + ' spans ' +
      Math.round(r.left) + '..' + Math.round(r.right) + ' px of ' + W);
    // cut off or scrolled inside a box (a scroll box hides the right part too)
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const ov = getComputedStyle(a).overflowX;
      if (ov !== 'visible' && a.scrollWidth > a.clientWidth + 1) {
        overflow.push(name(el) + ' is ' + a.scrollWidth + ' px wide in a box of ' +
                      a.clientWidth + ' px');
        break;
      }
    }
  }
  const empty = Array.from(document.querySelectorAll('table')).filter(t =>
      t.querySelector('th') && !Array.from(t.querySelectorAll('tr')).some(
        tr => tr.querySelector('td'))).map(name);
  const ids = new Set(Array.from(document.querySelectorAll('[id]')).map(e => e.id));
  const toc = Array.from(document.querySelectorAll('nav.insights-toc a'))
      .map(a => a.getAttribute('href'));
  return JSON.stringify({
    title: document.title,
    width: window.innerWidth, client: W, scrollWidth: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight,
    overflow: overflow, empty: empty,
    tables: document.querySelectorAll('table').length,
    headings: Array.from(document.querySelectorAll('h2[id]')).map(h => h.id),
    images: Array.from(document.images).map(i => ({w: i.naturalWidth, h: i.naturalHeight,
                                                    complete: i.complete, alt: i.alt})),
    scripts: document.scripts.length,
    toc: toc, unresolved: toc.filter(h => !ids.has(decodeURIComponent(h.slice(1))) &&
                                          !ids.has(h.slice(1))),
  });
})()"""


def load_in_chromium(path: Path, user_data_dir: Path, screenshot: Path | None = None
                     ) -> tuple[dict, list[dict]]:
    """Open ``path`` (file://) at :data:`WIDTH` px; return the page probe and the
    console/log errors; save a full-page PNG to ``screenshot``."""
    import base64

    cdp = DevTools(user_data_dir)
    try:
        target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            cdp.send(f"{domain}.enable", session=session)
        cdp.send("Emulation.setDeviceMetricsOverride",
                 {"width": WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                 session=session)
        cdp.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
        cdp.wait_event("Page.loadEventFired", timeout=60)
        probe = json.loads(cdp.send("Runtime.evaluate", {"expression": PROBE,
                                                         "returnByValue": True},
                                    session=session)["result"]["value"])
        if screenshot is not None:
            shot = cdp.send("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": WIDTH, "height": min(probe["height"], 16000),
                         "scale": 1}}, session=session, timeout=60)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        errors = [ev for ev in cdp.events
                  if ev.get("method") == "Runtime.exceptionThrown"
                  or (ev.get("method") == "Runtime.consoleAPICalled"
                      and ev["params"].get("type") in ("error", "assert"))
                  or (ev.get("method") == "Log.entryAdded"
                      and ev["params"]["entry"].get("level") == "error")]
        return probe, errors
    finally:
        cdp.close()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """The default scenario's report of one market (DE), as ``insights report`` renders it
    with the project's defaults (the simulated operation generated into tmp)."""
    root = tmp_path_factory.mktemp("browser")
    params = root / "params"
    params.mkdir()
    (params / "defaults.yaml").write_text(
        (Path(__file__).resolve().parents[1] / "params" / "defaults.yaml").read_text())
    run = render.run_reports(["DE"], params_dir=params, out_dir=root / "reports", jobs=1,
                             overrides={"data_dir": str(root / "data"),
                                        "pseudonym_key_file": str(root / "key")})
    assert not run.failed, run.results["DE"].error
    return Path(run.results["DE"].html_path)


@pytest.fixture(scope="module")
def report_probe(rendered, tmp_path_factory) -> tuple[dict, list[dict], Path]:
    tmp = tmp_path_factory.mktemp("chromium")
    shots = Path(SCREENSHOT_DIR) if SCREENSHOT_DIR else tmp
    shots.mkdir(parents=True, exist_ok=True)
    probe, errors = load_in_chromium(rendered, tmp / "profile",
                                     screenshot=shots / "DE-1280.png")
    assert probe["width"] == WIDTH
    return probe, errors, shots / "DE-1280.png"


@pytest.mark.xfail(strict=True, reason=(
    "known defect of the report's tables (insights.report.html / sections, not the runner): "
    "at 1280 px the vendor team scorecard (~2100 px) and the model annotators' scores "
    "(~1130 px) are wider than their 1070 px scroll box, so their right columns are cut off; "
    "remove this mark when they fit"))
def test_no_table_or_figure_overflows_at_1280px(report_probe):
    probe, _, _ = report_probe
    assert probe["overflow"] == [], probe["overflow"]
    assert probe["scrollWidth"] <= probe["client"], "the page scrolls sideways"


def test_report_renders_completely_without_empty_tables(report_probe):
    probe, errors, shot = report_probe
    assert probe["empty"] == [], probe["empty"]
    assert probe["tables"] >= 3
    assert probe["title"].startswith("DE labeling quality report, ")
    assert len(probe["headings"]) >= 8 and probe["toc"] and probe["unresolved"] == []
    decoded = [i for i in probe["images"] if i["complete"] and i["w"] > 0 and i["h"] > 0]
    assert len(decoded) >= 3 and len(decoded) == len(probe["images"]), probe["images"]
    assert all(i["alt"] for i in probe["images"])
    assert probe["scripts"] == 0
    assert errors == [], errors
    assert shot.stat().st_size > 10_000  # a full-page screenshot was taken


def test_index_renders_in_headless_chromium(rendered, tmp_path):
    probe, errors = load_in_chromium(rendered.parent / "index.html", tmp_path / "profile")
    assert probe["title"] == "Labeling quality reports: index"
    assert probe["overflow"] == [] and probe["empty"] == []
    assert errors == [], errors
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)
