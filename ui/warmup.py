"""Background warm-up: once the first page has painted, import the heavy libraries the other pages need.

The first page a student opens paints before PyTorch is loaded. A daemon thread then imports torch, pandas,
ProtParam, plotly and scikit-learn's metrics: several CPU-seconds together, spent while the student reads,
so the lesson clicked next finds them ready. torch._dynamo (the compiler, which every torch.optim optimizer
imports on first use) is not among them: the server never builds an optimizer (training runs in the
workers, and the Gradient-descent lesson calls torch.optim's update functions directly), and importing it
here cost the lesson clicked next a second of waiting. It imports third-party libraries only
(never protlab or Streamlit code), one after the other; a failed import is logged and skipped, and the page
that needs it imports it again and shows the error there.

Page scripts and the warm-up never import at the same time (app.py wraps every run in `script_run`, and
ui.common.fragment wraps every fragment, whose reruns run without app.py, in `counted`):
- Each warm-up import waits for a moment when no page's script runs, up to IDLE_WAIT_S, and is skipped if
  none comes (a busy class is never quiet; the pages then import what they need themselves).
- A run that starts while a warm-up import is under way waits for that one import to finish, and goes
  before the next one.
Two threads importing at once can each hold a module the other one needs; Python then hands one of them a
half-initialised module ("partially initialized module 'pandas' has no attribute ..."), which a test met.
On two cores the interpreter lock is shared too, so an import beside a page's script slowed the page the
student had just clicked.

Once the imports are done the thread freezes the garbage collector's view of every object alive (`gc.freeze`):
Streamlit runs a full collection after every script run, and with torch, pandas and plotly loaded that walk
over ~300,000 long-lived objects cost about 0.25 s per rerun (every widget click, every live-progress tick
of every student). Frozen objects are still freed by reference counting; only cycles among them would wait.
"""

from __future__ import annotations

import functools
import gc
import importlib
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

# libraries the pages import, in the order students usually need them: torch (every lesson, and the
# sidebar's device line), pandas (tables on every lesson), ProtParam (Encode's features), plotly's figures
# (every chart), then scikit-learn's metrics (Train, Bias and variance, Predict). scikit-learn's 0.6 s go in
# steps of at most 0.2 s (SciPy's parts first, then the metrics on top of them): a page run clicked meanwhile
# waits only for the step under way, and the lesson after Encode needs none of it.
WARM_MODULES = (
    "torch",
    "pandas",
    "Bio.SeqUtils.ProtParam",
    "plotly.graph_objects",
    "scipy.sparse",
    "scipy.special",
    "scipy.linalg",
    "scipy.optimize",
    "scipy.interpolate",
    "scipy.ndimage",
    "scipy.stats",
    "sklearn.utils",
    "sklearn.metrics",
)

_P = ParamSpec("_P")
_R = TypeVar("_R")

IDLE_WAIT_S = 5.0  # longest wait for a quiet moment before each import

_log = logging.getLogger(__name__)
_lock = threading.Lock()  # guards _thread: the warm-up starts once per process
_thread: threading.Thread | None = None
_idle = threading.Condition()  # guards _running and _importing; notified when either changes
_running = 0  # page script runs in progress in this process
_waiting = 0  # runs waiting for the warm-up's import to finish (the warm-up lets them go first)
_importing = False  # True while the warm-up imports a module


@contextmanager
def script_run() -> Iterator[None]:
    """Count one page script run as in progress for the block; first wait for a warm-up import under way."""
    global _running, _waiting
    with _idle:
        _waiting += 1
        _idle.wait_for(lambda: not _importing)
        _waiting -= 1
        _running += 1
    try:
        yield
    finally:
        with _idle:
            _running -= 1
            _idle.notify_all()


def counted(body: Callable[_P, _R]) -> Callable[_P, _R]:
    """body wrapped so that every call counts as a script run (for fragments: they rerun without app.py)."""

    @functools.wraps(body)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with script_run():
            return body(*args, **kwargs)

    return run


@contextmanager
def quiet_moment(timeout: float = IDLE_WAIT_S) -> Iterator[bool]:
    """Wait up to timeout seconds for no script run; yield True (runs held back meanwhile) or False."""
    global _importing
    with _idle:
        quiet = _idle.wait_for(lambda: _running == 0 and _waiting == 0, timeout)
        _importing = quiet
    try:
        yield quiet
    finally:
        if quiet:
            with _idle:
                _importing = False
                _idle.notify_all()


def finished_import(name: str) -> bool:
    """True once module name has been imported completely (not while another thread is still importing it)."""
    module = sys.modules.get(name)
    return module is not None and not getattr(getattr(module, "__spec__", None), "_initializing", False)


def warm_imports(modules: tuple[str, ...] = WARM_MODULES, wait_s: float = IDLE_WAIT_S) -> list[str]:
    """Import each module in a quiet moment; return the names not imported (failed, or no quiet moment)."""
    missed = []
    for name in modules:
        with quiet_moment(wait_s) as quiet:
            if not quiet:
                _log.info("warm-up skipped %s: page scripts kept running for %.0f s", name, wait_s)
                missed.append(name)
                continue
            try:
                importlib.import_module(name)
            except Exception:  # a missing or broken optional library must not take the server down
                _log.warning(
                    "warm-up could not import %s; the page that needs it will try again", name, exc_info=True
                )
                missed.append(name)
    return missed


def warm_and_freeze(modules: tuple[str, ...] = WARM_MODULES) -> list[str]:
    """Import the modules, then exclude every object alive now from later full garbage collections."""
    failed = warm_imports(modules)
    gc.freeze()  # the libraries' objects live as long as the server: no collection needs to walk them again
    return failed


def start_warmup(modules: tuple[str, ...] = WARM_MODULES) -> threading.Thread:
    """Start the warm-up thread, once per process (later calls return the same thread)."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(
                target=warm_and_freeze, args=(modules,), name="protlab-warmup", daemon=True
            )
            _thread.start()
        return _thread
