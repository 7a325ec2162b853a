"""App latency: `streamlit run app.py` to the home page painted, and sidebar page switches,
in headless Chromium.

Every run starts a fresh server on a free port, times (a) launching the
server process until the home page heading is visible in the browser and
(b) clicking each sidebar link until that page's heading is visible (every
page twice: the first visit pays imports and cold caches, the second is the
warm steady state), then kills the server. Runs alternate with a bare Streamlit app (one title, two
pages) so ProtLab's figures come with a ratio to Streamlit's own floor.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import common  # noqa: F401  (puts the repository on sys.path)
from common import REPO_ROOT, base_parser, load_text, median, result_line

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
HOME_HEADING = "ProtLab"  # text of the home page's h1
# (sidebar link text, h1 text of that page), visited in this order and then back home
PAGES = [
    ("1 · Encode a protein", "1 · Encode a protein"),
    ("2 · Gradient descent", "2 · Gradient descent"),
    ("3 · Build a network", "3 · Build a network"),
    ("4 · Train a classifier", "Train a solubility classifier"),
    ("5 · Predict solubility", "Predict solubility"),
    ("Welcome", "ProtLab"),
]
BARE_APP = """import streamlit as st
def other():
    st.title("Bare other page")
def home():
    st.title("Bare home")
st.navigation([st.Page(home, title="Bare home", default=True), st.Page(other, title="Bare other page")]).run()
"""
BARE_PAGES = [("Bare other page", "Bare other page"), ("Bare home", "Bare home")]


def free_port() -> int:
    """A localhost TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(app: Path, port: int, home: Path) -> subprocess.Popen:
    """Launch `streamlit run app` headless on port, in its own process group."""
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    env = {**os.environ, "PROTLAB_HOME": str(home)}
    return subprocess.Popen(
        command,
        cwd=app.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_server(process: subprocess.Popen) -> None:
    """Terminate the server's process group (SIGKILL if it lingers)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    """Poll the health endpoint every 20 ms until it answers ok."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"streamlit exited with code {process.returncode} before it was healthy.")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:  # noqa: S310
                if response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.02)
    raise SystemExit(f"streamlit did not become healthy within {timeout:.0f} s.")


def heading(page: Any, text: str) -> Any:  # playwright Page -> Locator
    """Locator of the main-area h1 that contains text."""
    return page.locator('[data-testid="stMain"] h1', has_text=text).first


def one_run(
    browser: Any, app: Path, home_heading: str, pages: list[tuple[str, str]], home: Path
) -> tuple[float, list[float]]:
    """Cold start to painted home page, then each page switch; returns (start seconds, switch seconds)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    start = time.perf_counter()
    process = start_server(app, port, home)
    try:
        wait_healthy(url, process)
        page.goto(url)
        heading(page, home_heading).wait_for(state="visible", timeout=60_000)
        cold = time.perf_counter() - start
        switches = []
        for link, title in pages:
            page.wait_for_timeout(300)  # let the previous page settle, as a person would
            t0 = time.perf_counter()
            page.locator('[data-testid="stSidebar"] a', has_text=link).first.click()
            heading(page, title).wait_for(state="visible", timeout=60_000)
            switches.append(time.perf_counter() - t0)
        return cold, switches
    finally:
        context.close()
        stop_server(process)


def main() -> None:
    """Alternate bare-Streamlit and ProtLab runs; print medians, ratios and key=value lines."""
    from playwright.sync_api import sync_playwright

    parser = base_parser(__doc__)
    args = parser.parse_args()
    runs = 1 if args.quick else max(3, args.repeats)
    pages = [PAGES[0], PAGES[-1]] if args.quick else PAGES
    print(
        f"# app latency: streamlit run -> home painted, sidebar click -> heading visible ({runs} runs each)"
    )
    print(f"# machine: {common.cpu_model()}, {os.cpu_count()} cores; {load_text()}")
    cold = {"bare": [], "protlab": []}
    first = {"bare": [], "protlab": []}  # first visit of each page on a fresh server (imports, cold caches)
    warm = {"bare": [], "protlab": []}  # the same pages visited again in the same session
    per_page: dict[str, list[float]] = {link: [] for link, _ in pages}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        bare_app = Path(tmp) / "bare_app.py"
        bare_app.write_text(BARE_APP)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(runs):
                for name, app, title, visit in (
                    ("bare", bare_app, "Bare home", BARE_PAGES),
                    ("protlab", REPO_ROOT / "app.py", HOME_HEADING, pages),
                ):
                    c, s = one_run(browser, app, title, visit + visit, Path(tmp) / "home")
                    cold[name].append(c)
                    first[name].extend(s[: len(visit)])
                    warm[name].extend(s[len(visit) :])
                    if name == "protlab":
                        for (link, _), seconds in zip(visit, s):
                            per_page[link].append(seconds)
        finally:
            browser.close()
    for name in ("bare", "protlab"):
        print(
            f"{name:8s} start->home painted: median {median(cold[name]):.2f} s (runs: "
            f"{', '.join(f'{c:.2f}' for c in cold[name])}); page switch: first visit median "
            f"{median(first[name]):.3f} s (max {max(first[name]):.3f}), "
            f"warm median {median(warm[name]):.3f} s "
            f"(max {max(warm[name]):.3f}) over {len(warm[name])} switches"
        )
    print(
        "protlab first visit per page (median over runs, each on a fresh server): "
        + "; ".join(f"{link} {median(t):.2f} s (max {max(t):.2f} s)" for link, t in per_page.items())
    )
    print(
        f"protlab / bare streamlit: start x{median(cold['protlab']) / median(cold['bare']):.2f}, "
        f"warm switch x{median(warm['protlab']) / median(warm['bare']):.2f}; {load_text()}"
    )
    print(
        result_line("start_seconds", median(cold["protlab"]))
        + " "
        + result_line("switch_seconds", median(warm["protlab"]), 3)
        + " "
        + result_line("first_visit_seconds", median(first["protlab"]), 3)
    )


if __name__ == "__main__":
    main()
