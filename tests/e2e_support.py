"""Helpers for the browser and server tests: a real `streamlit run` on a free port and headless Chromium."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]  # the checkout that holds app.py
CHROMIUM_PATH = Path("/usr/bin/chromium")  # Debian's Chromium, installed by .ci/run
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 800}  # every page is screenshotted at this size
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"  # git-ignored; screenshots for humans


def free_port() -> int:
    """Return a TCP port on localhost that nothing is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, *, timeout: float = 10.0) -> tuple[int, float, bytes]:
    """GET a URL and return (status, seconds taken, body); network errors become status 0."""
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (localhost only)
            body = response.read()
            return int(response.status), time.perf_counter() - start, body
    except urllib.error.HTTPError as err:
        return int(err.code), time.perf_counter() - start, b""
    except (urllib.error.URLError, OSError):
        return 0, time.perf_counter() - start, b""


@dataclass
class StreamlitServer:
    """One `streamlit run app.py` process on a free port, with its own PROTLAB_HOME."""

    home: Path  # PROTLAB_HOME for this server: runs and caches land here
    app: str = "app.py"  # script to run, relative to the repository root
    port: int = field(default_factory=free_port)  # port the server listens on
    extra_args: tuple[str, ...] = ()  # more `--server.x value` options
    process: subprocess.Popen | None = None  # the running server, once started
    log_path: Path | None = None  # stdout+stderr of the server

    @property
    def url(self) -> str:
        """Base URL of the app."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 60.0) -> StreamlitServer:
        """Start the server and wait until its health endpoint answers 'ok'."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_path = self.home / f"streamlit-{self.port}.log"
        env = {**os.environ, "PROTLAB_HOME": str(self.home), "PYTHONUNBUFFERED": "1"}
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            self.app,
            "--server.headless",
            "true",
            "--server.port",
            str(self.port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
            *self.extra_args,
        ]
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 (fixed argument list, no shell)
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self._wait_healthy(timeout)
        return self

    def _wait_healthy(self, timeout: float) -> None:
        """Poll /_stcore/health until it says ok, the process dies, or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                self.stop()
                pytest.fail(
                    f"streamlit exited with code {self.process.returncode} before it was healthy:\n"
                    f"{self.log_tail()}"
                )
            status, _, body = http_get(f"{self.url}/_stcore/health", timeout=2.0)
            if status == 200 and body.strip() == b"ok":
                return
            time.sleep(0.25)
        self.stop()
        pytest.fail(f"streamlit did not answer /_stcore/health within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        """Return the end of the server log, for failure messages."""
        if self.log_path is None or not self.log_path.exists():
            return "(no server log)"
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]

    def stop(self) -> None:
        """Stop the server's process group: SIGTERM, then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)

    def __enter__(self) -> StreamlitServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def require_chromium() -> str:
    """Return the Chromium path, or FAIL (never skip) with how to install it."""
    if not CHROMIUM_PATH.exists():
        pytest.fail(
            f"The end-to-end tests need Debian's Chromium at {CHROMIUM_PATH}, but it is not there. "
            "Install it with `apt-get install -y chromium` (as .ci/run does) and run pytest again."
        )
    return str(CHROMIUM_PATH)


def launch_chromium(playwright):  # -> playwright.sync_api.Browser
    """Launch headless Debian Chromium through Playwright with the project's fixed flags."""
    return playwright.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_ARGS)


def wait_until_idle(page, *, timeout_ms: int = 60_000) -> None:
    """Wait until the app is connected and Streamlit has finished running the page script."""
    page.wait_for_timeout(250)  # let a rerun triggered by the last action register
    app = '[data-testid="stApp"]'
    page.wait_for_selector(f'{app}[data-test-connection-state="CONNECTED"]', timeout=timeout_ms)
    page.wait_for_selector(f'{app}[data-test-script-state="notRunning"]', timeout=timeout_ms)


def open_page(page, url: str, heading: str, *, timeout_ms: int = 60_000) -> None:
    """Go to url, wait for the page heading and the end of the script run, and check for tracebacks."""
    page.goto(url)
    page.get_by_role("heading", name=heading).first.wait_for(timeout=timeout_ms)
    wait_until_idle(page, timeout_ms=timeout_ms)
    assert_no_traceback(page, url)


def sidebar_links(page):  # -> playwright Locator
    """The page links of the sidebar menu (drawn by app.py so that each carries the student's token)."""
    return page.locator(".st-key-protlab-nav").get_by_role("link")


def go_by_sidebar(page, link: str, heading: str) -> None:
    """Switch page with the sidebar (keeps the same Streamlit session, unlike a reload)."""
    sidebar_links(page).filter(has_text=link).first.click()
    page.get_by_role("heading", name=heading).first.wait_for()
    wait_until_idle(page)
    assert_no_traceback(page, link)


def student_of(url: str) -> str | None:
    """The student token in a page address (?student=...), or None."""
    from urllib.parse import parse_qs, urlparse

    return (parse_qs(urlparse(url).query).get("student") or [None])[-1]


def run_ids(runs_root: Path) -> list[str]:
    """The run folders under a server's runs root (not the queue's own folders)."""
    from protlab.runs import RUN_ID

    return sorted(p.name for p in runs_root.iterdir() if p.is_dir() and RUN_ID.match(p.name))


def set_number(page, label: str, value: int) -> None:
    """Type into a number input and commit it with Enter."""
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    wait_until_idle(page)


def set_text_area(page, label: str, text: str) -> None:
    """Replace a text area's content and commit it with Ctrl+Enter."""
    area = page.get_by_label(label)
    area.fill(text)
    area.press("Control+Enter")
    wait_until_idle(page)


def configure_tiny_training(page) -> None:
    """On the Train page: a 60-row sample, a 4-wide one-layer CNN, 2 epochs, no early stopping."""
    page.get_by_text("Custom sample size").click()
    wait_until_idle(page)
    set_number(page, "Rows to sample", 60)
    set_number(page, "Embedding size", 4)
    set_number(page, "Filters per layer", 4)
    set_number(page, "Conv layers", 1)
    set_number(page, "Epochs", 2)
    set_number(page, "Early-stopping patience", 0)


def page_text(page) -> str:
    """Return the visible text of the main app area."""
    return page.locator('[data-testid="stApp"]').inner_text()


def assert_no_traceback(page, where: str) -> None:
    """Fail if the page shows a Python traceback or Streamlit exception box."""
    exceptions = page.locator('[data-testid="stException"]')
    if exceptions.count():
        pytest.fail(f"{where}: the page shows an exception:\n{exceptions.first.inner_text()[:2000]}")
    text = page_text(page)
    assert "Traceback (most recent call last)" not in text, f"{where}: traceback on the page:\n{text[:2000]}"


MAX_SHOT_HEIGHT = 16_000  # tallest screenshot in pixels (Chromium refuses much taller captures)


def screenshot(page, name: str) -> Path:
    """Save a screenshot of the whole page (not only the visible part) under test-artifacts/; return its path.

    Streamlit scrolls its main area inside the window, so full_page alone captures the viewport: the window is
    made as tall as the main area's content for the capture, then set back.
    """
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS_DIR / f"{name}.png"
    viewport = page.viewport_size
    content = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
        " return m ? m.scrollHeight : document.documentElement.scrollHeight; }"
    )
    if viewport is not None and content > viewport["height"]:
        page.set_viewport_size({"width": viewport["width"], "height": min(int(content), MAX_SHOT_HEIGHT)})
        page.wait_for_timeout(300)  # charts re-layout to the new size
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        if viewport is not None:
            page.set_viewport_size(viewport)
    return path
