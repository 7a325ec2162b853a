"""Background warm-up: once the first page has painted, import the heavy libraries the other pages need.

The first page a student opens paints before PyTorch is loaded. A daemon thread then imports torch, pandas
and the parts of torch that the first optimizer loads (torch._dynamo): several CPU-seconds together, spent
while the student reads, so the lesson clicked next finds them ready. It imports third-party libraries only
(never protlab or Streamlit code), one after the other; a failed import is logged and skipped, and the page
that needs it imports it again and shows the error there.

Once the imports are done the thread freezes the garbage collector's view of every object alive (`gc.freeze`):
Streamlit runs a full collection after every script run, and with torch, pandas and plotly loaded that walk
over ~300,000 long-lived objects cost about 0.25 s per rerun (every widget click, every live-progress tick
of every student). Frozen objects are still freed by reference counting; only cycles among them would wait.
"""

from __future__ import annotations

import gc
import importlib
import logging
import threading

# libraries the pages import, in the order students usually need them: torch (every lesson, and the sidebar's
# device line), pandas (tables on every lesson), ProtParam (Encode's features), torch._dynamo (loaded by the
# first torch optimizer a page creates, about 2 CPU-seconds: Gradient descent, Train), sklearn's metrics
# (Train, Bias and variance, Predict), plotly's figures (every chart)
WARM_MODULES = (
    "torch",
    "pandas",
    "Bio.SeqUtils.ProtParam",
    "torch._dynamo",
    "sklearn.metrics",
    "plotly.graph_objects",
)

_log = logging.getLogger(__name__)
_lock = threading.Lock()  # guards _thread: the warm-up starts once per server process
_thread: threading.Thread | None = None


def warm_imports(modules: tuple[str, ...] = WARM_MODULES) -> list[str]:
    """Import each module in turn; return the names that failed (each failure is logged, never raised)."""
    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # a missing or broken optional library must not take the server down
            _log.warning(
                "warm-up could not import %s; the page that needs it will try again", name, exc_info=True
            )
            failed.append(name)
    return failed


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
