"""A rendered report opens in headless Chromium from disk and renders completely.

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
from tests.report.operation import write_operation
from tests.report.probe import make_params

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


PROBE = """JSON.stringify({
  title: document.title,
  headings: Array.from(document.querySelectorAll('h2')).map(h => h.id),
  images: Array.from(document.images).map(i => ({w: i.naturalWidth, h: i.naturalHeight,
                                                  complete: i.complete, alt: i.alt})),
  scripts: document.scripts.length,
  tocLinks: Array.from(document.querySelectorAll('nav.insights-toc a')).map(a => a.hash),
})"""


def load_in_chromium(path: Path, user_data_dir: Path) -> tuple[dict, list[dict]]:
    """Open ``path`` (file://) and return the page probe and the console/log errors."""
    cdp = DevTools(user_data_dir)
    try:
        target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            cdp.send(f"{domain}.enable", session=session)
        cdp.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
        cdp.wait_event("Page.loadEventFired", timeout=60)
        probe = cdp.send("Runtime.evaluate", {"expression": PROBE, "returnByValue": True},
                         session=session)["result"]["value"]
        errors = [ev for ev in cdp.events
                  if ev.get("method") == "Runtime.exceptionThrown"
                  or (ev.get("method") == "Runtime.consoleAPICalled"
                      and ev["params"].get("type") in ("error", "assert"))
                  or (ev.get("method") == "Log.entryAdded"
                      and ev["params"]["entry"].get("level") == "error")]
        return json.loads(probe), errors
    finally:
        cdp.close()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    op = write_operation(root / "op", markets=("AA",), n_items=150)
    params = make_params(root, op, ["AA"])
    run = render.run_reports(params_dir=params, out_dir=root / "reports", jobs=1)
    assert not run.failed
    return Path(run.results["AA"].html_path)


def test_report_renders_in_headless_chromium(rendered, tmp_path):
    probe, errors = load_in_chromium(rendered, tmp_path / "profile")
    assert probe["title"].startswith("AA labeling quality report, ")
    assert len(probe["headings"]) >= 5
    decoded = [i for i in probe["images"] if i["complete"] and i["w"] > 0 and i["h"] > 0]
    assert len(decoded) >= 3, probe["images"]
    assert all(i["alt"] for i in probe["images"])
    assert probe["scripts"] == 0
    assert {f"#{h}" for h in probe["headings"] if h} <= set(probe["tocLinks"])
    assert errors == [], errors


def test_index_renders_in_headless_chromium(rendered, tmp_path):
    probe, errors = load_in_chromium(rendered.parent / "index.html", tmp_path / "profile")
    assert probe["title"] == "Labeling quality reports: index"
    assert errors == [], errors
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)
