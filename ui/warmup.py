"""Background warm-up: once the first page has painted, import the heavy libraries the other pages need.

The first page a student opens paints before PyTorch is loaded. A daemon thread then imports torch, pandas
and the parts of torch that the first optimizer loads (torch._dynamo): several CPU-seconds together, spent
while the student reads, so the lesson clicked next finds them ready. It imports third-party libraries only
(never protlab or Streamlit code), one after the other; a failed import is logged and skipped, and the page
that needs it imports it again and shows the error there.
"""

from __future__ import annotations

import importlib
import logging
import threading

# libraries the pages import, in the order students usually need them: torch (every lesson, and the sidebar's
# device line), pandas (tables on every lesson), ProtParam (Encode's features), torch._dynamo (loaded by the
# first torch optimizer a page creates, about 2 CPU-seconds: Gradient descent, Train), sklearn's metrics
# (Train, Bias and variance, Predict)
WARM_MODULES = ("torch", "pandas", "Bio.SeqUtils.ProtParam", "torch._dynamo", "sklearn.metrics")

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


def start_warmup(modules: tuple[str, ...] = WARM_MODULES) -> threading.Thread:
    """Start the warm-up thread, once per process (later calls return the same thread)."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(
                target=warm_imports, args=(modules,), name="protlab-warmup", daemon=True
            )
            _thread.start()
        return _thread
