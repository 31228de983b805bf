"""Open a page in headless Chromium: its console errors, a screenshot, DOM questions.

Speaks the DevTools protocol over ``--remote-debugging-pipe`` (Chromium reads commands
on fd 3 and writes replies on fd 4, NUL-separated JSON), so it needs no port, no
WebSocket library and no driver: only Debian's ``chromium``. Every wait is bounded.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-dev-shm-usage", "--remote-debugging-pipe")
VIEWPORT = {"width": 1600, "height": 900}  # a projector


class BrowserError(RuntimeError):
    pass


@dataclass
class PageCheck:
    """What a page did when opened: errors it logged, answers to DOM questions."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    answers: dict[str, object] = field(default_factory=dict)
    screenshot: Path | None = None
    external_requests: list[str] = field(default_factory=list)  # anything not file:/data:


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def check_page(page: Path, questions: dict[str, str] | None = None,
               screenshot: Path | None = None, ready: str = "true",
               timeout_s: float = 60.0) -> PageCheck:
    """Load ``page``, wait until the JS expression ``ready`` is true, ask ``questions``.

    ``questions`` maps a name to a JavaScript expression; its JSON-able value is the
    answer. Console errors, uncaught exceptions and failed loads are collected.
    """
    chromium = find_chromium()
    if chromium is None:
        raise BrowserError("chromium is not installed; install it with "
                           "`apt-get install chromium` (scripts/setup-host does)")
    check = PageCheck(page.resolve().as_uri())
    with tempfile.TemporaryDirectory(prefix="rhl-chromium-") as profile, \
            _Chromium(chromium, profile) as browser:
        target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        session = browser.call("Target.attachToTarget", targetId=target,
                               flatten=True)["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            browser.call(f"{domain}.enable", session=session)
        browser.call("Emulation.setDeviceMetricsOverride", session=session,
                     deviceScaleFactor=1, mobile=False, **VIEWPORT)
        browser.call("Page.navigate", session=session, url=check.url)
        deadline = time.monotonic() + timeout_s
        browser.wait_for("Page.loadEventFired", deadline)
        while not browser.evaluate(session, ready):
            if time.monotonic() > deadline:
                raise BrowserError(f"{page}: not ready after {timeout_s:.0f} s ({ready})")
            browser.pump(0.2)
        for name, expression in (questions or {}).items():
            check.answers[name] = browser.evaluate(session, expression)
        if screenshot:
            shot = browser.call("Page.captureScreenshot", session=session, format="png",
                                captureBeyondViewport=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            check.screenshot = screenshot
        browser.pump(0.5)  # late errors (e.g. a chart that throws on its first frame)
        check.console_errors = browser.errors()
        check.external_requests = browser.external_requests()
    return check


class _Chromium:
    def __init__(self, binary: str, profile: str) -> None:
        self.binary = binary
        self.profile = profile
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict] = []

    def __enter__(self) -> _Chromium:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_pipes() -> None:
            # In the child: fd 3 = commands in, fd 4 = replies out. Copied above 10 first,
            # so neither dup2 can overwrite the other pipe's end.
            commands = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD_CLOEXEC, 10)
            replies = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD_CLOEXEC, 10)
            os.dup2(commands, 3)
            os.dup2(replies, 4)

        # close_fds=False: Python's own fds are not inheritable anyway (PEP 446), and
        # closing would run after wire_pipes and close 3 and 4 again.
        self.process = subprocess.Popen(
            [self.binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=wire_pipes)
        os.close(to_browser_r)
        os.close(from_browser_w)
        return self

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(BrowserError, OSError):  # it may have exited already
            self.call("Browser.close", timeout_s=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        os.close(self._to_browser)
        os.close(self._from_browser)

    def call(self, method: str, session: str | None = None, timeout_s: float = 30,
             **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout_s
        while True:
            for reply in self._read(deadline):
                if reply.get("id") == self._next_id:
                    if "error" in reply:
                        raise BrowserError(f"{method}: {reply['error'].get('message')}")
                    return reply.get("result", {})
                self._events.append(reply)

    def evaluate(self, session: str, expression: str):
        result = self.call("Runtime.evaluate", session=session, expression=expression,
                           returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, method: str, deadline: float) -> dict:
        while True:
            for event in self._events:
                if event.get("method") == method:
                    return event
            self._events.extend(self._read(deadline))

    def pump(self, seconds: float) -> None:
        """Collect events for ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._events.extend(self._read(deadline, quiet=True))

    def errors(self) -> list[str]:
        found = []
        for event in self._events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append(details.get("exception", {}).get("description")
                             or details.get("text", "exception"))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(" ".join(str(a.get("value", a.get("description", "")))
                                      for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                found.append(f"{entry.get('text')} ({entry.get('url', '')})")
        return found

    def external_requests(self) -> list[str]:
        urls = (e["params"]["request"]["url"] for e in self._events
                if e.get("method") == "Network.requestWillBeSent")
        return [u for u in urls if not u.startswith(("file:", "data:", "about:", "blob:"))]

    def _read(self, deadline: float, quiet: bool = False) -> list[dict]:
        """The complete messages that arrive before ``deadline`` (at least one unless quiet)."""
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                if quiet:
                    return []
                raise BrowserError("chromium did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError(f"chromium exited (status {self.process.poll()})")
            self._buffer += chunk
        *complete, self._buffer = self._buffer.split(b"\0")
        return [json.loads(m) for m in complete if m]
