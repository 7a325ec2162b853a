"""App latency: every page's first visit and warm switch, in headless Chromium, over fresh server starts.

Every run starts `streamlit run app.py` on a free port and times:
(a) launching the server until the home page heading is visible (start -> home painted);
(b) the first visit of every page in app.py's SECTIONS: the home page from opening its address (server
    already healthy) until its heading shows, every other page from its sidebar click until its heading
    shows (imports and cold caches are paid here);
(c) a warm switch to every page: the same clicks once more in the same browser session.
Each figure is a median over --repeats fresh server starts. Runs alternate with a bare Streamlit app (one
title, two pages) so ProtLab's figures come with Streamlit's own floor.
"""

from __future__ import annotations

import ast
import math
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
FIRST_VISIT_TARGET_S = 1.5  # the first visit of every page, median over fresh server starts
WARM_SWITCH_TARGET_S = 0.5  # a warm switch to every page, median over fresh server starts
HEADING_TIMEOUT_MS = 60_000  # a page whose heading has not shown by then counts as infinitely slow
SETTLE_MS = 300  # pause after a page's heading shows before the next click, as a person would pause
HOME_FILE = "pages/home.py"
# h1 text of each page in app.py's SECTIONS (the sidebar link text is read from app.py)
HEADINGS = {
    "pages/home.py": "ProtLab",
    "pages/encode.py": "1 · Encode a protein",
    "pages/gradient_descent.py": "2 · Gradient descent",
    "pages/build_network.py": "3 · Build a network",
    "pages/structure.py": "Per-residue prediction",
    "pages/train.py": "Train a solubility classifier",
    "pages/bias_variance.py": "Bias and variance",
    "pages/predict.py": "Predict solubility",
    "pages/class_view.py": "6 · Class results",
}
BARE_APP = """import streamlit as st
def other():
    st.title("Bare other page")
def home():
    st.title("Bare home")
st.navigation([st.Page(home, title="Bare home", default=True), st.Page(other, title="Bare other page")]).run()
"""
BARE_PAGES = [("Bare home", "Bare home"), ("Bare other page", "Bare other page")]


def app_pages(app: Path) -> list[tuple[str, str]]:
    """(sidebar link text, h1 text) of every page in app.py's SECTIONS, home first, in menu order."""
    tree = ast.parse(app.read_text(encoding="utf-8"))
    sections = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "SECTIONS"
    )
    entries = [entry for group in ast.literal_eval(sections).values() for entry in group]
    missing = [file for file, *_ in entries if file not in HEADINGS]
    if missing:
        raise SystemExit(
            f"app_latency.py does not know the heading of {', '.join(missing)}: add it to HEADINGS."
        )
    pages = [(title, HEADINGS[file]) for file, title, _icon in entries]
    home = next(i for i, (file, *_) in enumerate(entries) if file == HOME_FILE)
    return [pages[home]] + pages[:home] + pages[home + 1 :]


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


def click_to(page: Any, link: str, title: str) -> float:
    """Pause, click the sidebar link, wait for the heading; return the seconds (inf if it never shows)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.wait_for_timeout(SETTLE_MS)
    t0 = time.perf_counter()
    try:
        page.locator('[data-testid="stSidebar"] a', has_text=link).first.click(timeout=HEADING_TIMEOUT_MS)
        heading(page, title).wait_for(state="visible", timeout=HEADING_TIMEOUT_MS)
    except PlaywrightTimeout:
        print(
            f"# {link}: link or heading not ready {HEADING_TIMEOUT_MS / 1000:.0f} s after the click",
            flush=True,
        )
        return math.inf
    return time.perf_counter() - t0


def one_run(browser: Any, app: Path, pages: list[tuple[str, str]], home: Path) -> tuple[float, list, list]:
    """One fresh server: (start -> home painted, first-visit seconds per page, warm-switch seconds per page).

    pages[0] is the home page: its first visit is opening the address, every other first visit is a click.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    start = time.perf_counter()
    process = start_server(app, port, home)
    try:
        wait_healthy(url, process)
        t0 = time.perf_counter()
        page.goto(url)
        heading(page, pages[0][1]).wait_for(state="visible", timeout=60_000)
        painted = time.perf_counter()
        first = [painted - t0] + [click_to(page, link, title) for link, title in pages[1:]]
        warm = [click_to(page, link, title) for link, title in pages]
        return painted - start, first, warm
    finally:
        context.close()
        stop_server(process)


def spread(values: list[float]) -> str:
    """'median (min-max)' of a list of seconds."""
    return f"{median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    """Alternate bare-Streamlit and ProtLab runs; print per-page medians, targets and key=value lines."""
    from playwright.sync_api import sync_playwright

    parser = base_parser(__doc__)
    args = parser.parse_args()
    runs = 1 if args.quick else max(1, args.repeats)
    pages = app_pages(REPO_ROOT / "app.py")
    if args.quick:
        pages = pages[:2]
    print(
        f"# app latency: {len(pages)} pages, first visit and warm switch, {runs} fresh server start(s) each"
    )
    print(f"# machine: {common.cpu_model()}, {os.cpu_count()} cores; {load_text()}")
    cold: dict[str, list[float]] = {"bare": [], "protlab": []}
    first: dict[str, dict[str, list[float]]] = {"bare": {}, "protlab": {}}  # per page, one figure per run
    warm: dict[str, dict[str, list[float]]] = {"bare": {}, "protlab": {}}
    loads = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        bare_app = Path(tmp) / "bare_app.py"
        bare_app.write_text(BARE_APP)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for run in range(runs):
                for name, app, visit in (
                    ("bare", bare_app, BARE_PAGES),
                    ("protlab", REPO_ROOT / "app.py", pages),
                ):
                    c, f, w = one_run(browser, app, visit, Path(tmp) / f"home-{run}")
                    cold[name].append(c)
                    for (link, _), seconds in zip(visit, f):
                        first[name].setdefault(link, []).append(seconds)
                    for (link, _), seconds in zip(visit, w):
                        warm[name].setdefault(link, []).append(seconds)
                loads.append(os.getloadavg()[0])
                figures = ", ".join(
                    f"{link} {first['protlab'][link][-1]:.2f}/{warm['protlab'][link][-1]:.2f}"
                    for link in first["protlab"]
                )
                print(f"# run {run + 1}/{runs} first/warm s: {figures}; {load_text()}", flush=True)
        finally:
            browser.close()
    print(f"{'page':28s} {'first visit median (min-max)':>32s} {'warm switch median (min-max)':>32s}")
    for link in first["protlab"]:
        print(f"{link:28s} {spread(first['protlab'][link]):>32s} {spread(warm['protlab'][link]):>32s}")
    for name in ("bare", "protlab"):
        all_first = [s for t in first[name].values() for s in t]
        all_warm = [s for t in warm[name].values() for s in t]
        print(
            f"{name:8s} start->home painted: median {median(cold[name]):.2f} s (runs: "
            f"{', '.join(f'{c:.2f}' for c in cold[name])}); first visit median {median(all_first):.3f} s, "
            f"warm switch median {median(all_warm):.3f} s over {len(all_warm)} switches"
        )
    first_max = max(first["protlab"].items(), key=lambda kv: median(kv[1]))
    warm_max = max(warm["protlab"].items(), key=lambda kv: median(kv[1]))
    first_ok = median(first_max[1]) < FIRST_VISIT_TARGET_S
    warm_ok = median(warm_max[1]) < WARM_SWITCH_TARGET_S
    print(
        f"target first visit < {FIRST_VISIT_TARGET_S} s on every page: {'met' if first_ok else 'NOT met'} "
        f"(slowest: {first_max[0]}, median {median(first_max[1]):.2f} s)"
    )
    print(
        f"target warm switch < {WARM_SWITCH_TARGET_S} s on every page: {'met' if warm_ok else 'NOT met'} "
        f"(slowest: {warm_max[0]}, median {median(warm_max[1]):.2f} s)"
    )
    print(
        f"protlab / bare streamlit: start x{median(cold['protlab']) / median(cold['bare']):.2f}; "
        f"1-min load average during the runs {min(loads):.2f}-{max(loads):.2f}; {load_text()}"
    )
    print(
        result_line("first_visit_max_median_s", median(first_max[1]))
        + " "
        + result_line("warm_switch_max_median_s", median(warm_max[1]))
    )
    print(
        result_line("start_seconds", median(cold["protlab"]))
        + " "
        + result_line("switch_seconds", median([s for t in warm["protlab"].values() for s in t]), 3)
        + " "
        + result_line("first_visit_seconds", median([s for t in first["protlab"].values() for s in t]), 3)
    )


if __name__ == "__main__":
    main()
