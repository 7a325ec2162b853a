"""Classroom load: a whole class presses Start within the same minute while others click through the lessons.

Two phases, each on a fresh `streamlit run app.py` server with PROTLAB_WORKERS=2:

- pool:      PROTLAB_EXECUTOR=local, runs train in worker processes (what ProtLab does);
- inprocess: PROTLAB_EXECUTOR=inprocess, runs train in threads of the server process (how ProtLab trained
             before worker processes; the executor exists only for this comparison).

In each phase, 30 students (--students) submit one run each at once, on a small subset of the bundled DeepSol
data (--proteins proteins, a small CNN, --epochs epochs). The runs go through the run store exactly as a Start
press does (RunManager.submit on the server's runs folder); the server's dispatcher claims and starts them.
Meanwhile 6 browser sessions (--sessions; headless Chromium through Playwright, one browser, one context
each) click the sidebar links of the lesson pages in turn, 0.5 s apart, and each click is timed until the
new page's heading is visible. Only clicks made while at least one run was training count. A phase ends when
every run has ended (or after --phase-seconds). Wall-clock only: the server, the workers and the browser are
separate processes on the same (shared) cores.

Last four lines: accepted=<n>/<n>, click_p95_s (pool phase), inproc_vs_pool (click p95 in-process / pool),
queue_wait_p50_s (pool phase: submission to start, median over the class).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
from app_latency import free_port, start_server, stop_server, wait_healthy
from common import REPO_ROOT, base_parser, load_deepsol, load_text, median, result_line

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LESSONS = [  # (sidebar link text, main heading text) clicked in turn
    ("1 · Encode a protein", "1 · Encode a protein"),
    ("2 · Gradient descent", "2 · Gradient descent"),
    ("3 · Build a network", "3 · Build a network"),
    ("Welcome", "ProtLab"),
]
THINK_SECONDS = 0.5  # pause between two clicks of one session
TINY_CNN = {"embed_dim": 8, "hidden_dim": 16, "num_layers": 1}


def p95(values: list[float]) -> float:
    """95th percentile (inclusive method; the largest value for fewer than 20 values)."""
    if len(values) < 20:
        return max(values)
    return float(statistics.quantiles(values, n=20, method="inclusive")[-1])


def class_specs(n: int, proteins: int, epochs: int) -> list:
    """One RunSpec per student: the same data subset, each with its own seed."""
    import numpy as np

    from protlab.data import LabelledData
    from protlab.runs import RunSpec
    from protlab.training import TrainConfig

    sequences, labels = load_deepsol(limit=proteins, seed=0)
    keep = [i for i, s in enumerate(sequences) if len(s) <= 600]
    data = LabelledData([sequences[i] for i in keep], np.asarray(labels)[keep], [f"p{i}" for i in keep])
    return [
        RunSpec(
            name=f"student {k}",
            data=data,
            data_description=f"DeepSol subset, {len(keep)} rows",
            model_kind="cnn",
            model_config=TINY_CNN,
            train_config=TrainConfig(epochs=epochs, batch_size=16, seed=k, device="cpu"),
        )
        for k in range(n)
    ]


def submit_class(root: Path, specs: list) -> list[tuple[str, str]]:
    """Every student submits at once into the server's runs folder; returns the accepted (run id, owner)."""
    from protlab.errors import ProtlabError
    from protlab.runs import ClassSettings, RunManager

    writer = RunManager(root, ClassSettings(workers=1))
    writer.close()  # this process only writes the queue; the server's dispatcher starts the runs
    accepted = []
    for k, spec in enumerate(specs):
        owner = f"student{k:04d}-{os.urandom(6).hex()}"
        try:
            accepted.append((writer.submit(spec, owner), owner))
        except ProtlabError as err:
            print(f"# student {k}: refused: {err}")
    return accepted


def run_states(root: Path, runs: list[tuple[str, str]]) -> list[dict]:
    """The run.json of every run (as the server's store has it now)."""
    from protlab.runs import read_record

    return [read_record(root, run_id) for run_id, _ in runs]


async def click_session(browser, url: str, number: int, stop: asyncio.Event, clicks: list) -> None:
    """One student clicking through the lesson pages until stop is set; appends (start time, seconds)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    page.set_default_timeout(120_000)
    await page.goto(url)
    await page.locator('[data-testid="stMain"] h1', has_text="ProtLab").first.wait_for(state="visible")
    turn = number  # sessions start on different pages
    while not stop.is_set():
        link, title = LESSONS[turn % len(LESSONS)]
        started, t0 = time.time(), time.perf_counter()
        await page.locator('[data-testid="stSidebar"] a', has_text=link).first.click()
        await page.locator('[data-testid="stMain"] h1', has_text=title).first.wait_for(state="visible")
        clicks.append((started, time.perf_counter() - t0))
        turn += 1
        try:
            await asyncio.wait_for(stop.wait(), THINK_SECONDS)
        except TimeoutError:
            pass
    await context.close()


async def watch_runs(root: Path, runs: list, stop: asyncio.Event, timeline: list, limit: float) -> None:
    """Sample how many runs train every 0.25 s; set stop when all have ended or the phase is over."""
    deadline = time.monotonic() + limit
    while True:
        states = [r["state"] for r in run_states(root, runs)]
        timeline.append((time.time(), states.count("running")))
        if all(s not in ("queued", "running") for s in states) or time.monotonic() > deadline:
            stop.set()
            return
        await asyncio.sleep(0.25)


def while_training(clicks: list, timeline: list) -> list[float]:
    """Seconds of the clicks that started while at least one run was training."""
    kept = []
    for started, seconds in clicks:
        before = [n for t, n in timeline if t <= started]
        if before and before[-1] > 0:
            kept.append(seconds)
    return kept


async def phase(executor: str, args, home: Path, specs: list) -> dict:
    """One server, one class: returns click times while training, queue waits and what was accepted."""
    from playwright.async_api import async_playwright

    root = home / "runs"
    os.environ.update(PROTLAB_EXECUTOR=executor, PROTLAB_WORKERS="2", PROTLAB_THREADS_PER_RUN="1")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(REPO_ROOT / "app.py", port, home)
    try:
        wait_healthy(url, server, timeout=180)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            opener = await browser.new_page()  # a first visitor: the server's RunManager starts
            await opener.goto(f"{url}/class_view")
            await opener.locator('[data-testid="stMain"] h1', has_text="Class results").first.wait_for(
                state="visible", timeout=180_000
            )
            await opener.close()
            stop, clicks, timeline = asyncio.Event(), [], []
            sessions = [
                asyncio.create_task(click_session(browser, url, i, stop, clicks))
                for i in range(args.sessions)
            ]
            await asyncio.sleep(2.0)  # let the sessions open the app before the class presses Start
            submitted = time.time()
            accepted = submit_class(root, specs)
            await watch_runs(root, accepted, stop, timeline, args.phase_seconds)
            await asyncio.gather(*sessions)
            await browser.close()
        records = run_states(root, accepted)
    finally:
        stop_server(server)
    ended_at = time.time()  # a run still queued when the phase ends has waited at least until now
    waits = [(r["timings"].get("started") or ended_at) - r["timings"]["created"] for r in records]
    unstarted = sum(not r["timings"].get("started") for r in records)
    if unstarted:
        print(f"# {executor}: {unstarted} runs had not started when the phase ended (waits: lower bounds)")
    during = while_training(clicks, timeline)
    if not during:  # runs so short that no click started while one trained (--quick): keep every click
        print(f"# {executor}: no click started while a run trained; all clicks are counted")
    return {
        "accepted": len(accepted),
        "asked": len(specs),
        "clicks": during or [s for _, s in clicks],
        "all_clicks": [s for _, s in clicks],
        "waits": waits,
        "seconds": time.time() - submitted,
        "states": [r["state"] for r in records],
    }


def report(name: str, result: dict) -> None:
    """One line per phase."""
    clicks, states = result["clicks"], result["states"]
    waits = "/".join(f"{f(result['waits']):.1f}" for f in (min, median, max)) if result["waits"] else "n/a"
    ended = sum(s not in ("queued", "running") for s in states)
    print(
        f"{name:9s} accepted {result['accepted']}/{result['asked']}; {ended} ended "
        f"({states.count('finished')} finished) in {result['seconds']:.0f} s; clicks while training: "
        f"{len(clicks)} of {len(result['all_clicks'])}, median {median(clicks):.2f} s, "
        f"p95 {p95(clicks):.2f} s; queue wait min/median/max {waits} s"
    )


def main() -> None:
    """Pool phase, then in-process phase; print both and the four key=value lines."""
    parser = base_parser(__doc__)
    parser.add_argument("--students", type=int, default=30, help="runs submitted at once")
    parser.add_argument("--sessions", type=int, default=6, help="browser sessions clicking through lessons")
    parser.add_argument("--proteins", type=int, default=300, help="DeepSol subset each run trains on")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per run")
    parser.add_argument("--phase-seconds", type=float, default=330.0, help="longest phase")
    args = parser.parse_args()
    if args.quick:
        args.students, args.sessions, args.proteins, args.epochs, args.phase_seconds = 2, 1, 80, 1, 120.0
    print(
        f"# classroom: {args.students} students start runs ({args.proteins} proteins, {args.epochs} "
        f"epochs, small CNN) while {args.sessions} browser sessions click through the lessons; "
        "2 runs train at once"
    )
    print(f"# machine: {common.cpu_model()}, {os.cpu_count()} cores; {load_text()}")
    specs = class_specs(args.students, args.proteins, args.epochs)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for executor in ("local", "inprocess"):
            results[executor] = asyncio.run(phase(executor, args, Path(tmp) / executor, specs))
            report("pool" if executor == "local" else executor, results[executor])
    print(f"# {load_text()}")
    pool, inproc = results["local"], results["inprocess"]
    print(f"accepted={pool['accepted']}/{pool['asked']}")
    print(result_line("click_p95_s", p95(pool["clicks"])))
    print(result_line("inproc_vs_pool", p95(inproc["clicks"]) / p95(pool["clicks"])))
    print(result_line("queue_wait_p50_s", median(pool["waits"]), 1))


if __name__ == "__main__":
    main()
