"""The background warm-up: imports its libraries once per process, on a daemon thread, and never raises."""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys

from ui import warmup


def test_every_warm_module_is_installed() -> None:
    assert all(importlib.util.find_spec(name) is not None for name in warmup.WARM_MODULES)


def test_a_failing_import_is_logged_and_skipped(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="ui.warmup"):
        failed = warmup.warm_imports(("protlab_no_such_module", "json"))
    assert failed == ["protlab_no_such_module"]
    assert "protlab_no_such_module" in caplog.text
    assert "json" in sys.modules


def test_the_thread_starts_once_and_is_a_daemon() -> None:
    code = (
        "import sys\n"
        "from ui import warmup\n"
        "first = warmup.start_warmup(('json',))\n"
        "second = warmup.start_warmup(('email',))\n"
        "assert first is second and first.daemon and first.name == 'protlab-warmup'\n"
        "first.join(60)\n"
        "assert 'json' in sys.modules\n"
        "import gc\n"
        "assert gc.get_freeze_count() > 0\n"  # the objects alive after the warm-up are frozen
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_frozen_objects_make_a_full_collection_skip_the_libraries() -> None:
    code = (
        "import gc, time\n"
        "from ui import warmup\n"
        "before = len(gc.get_objects())\n"
        "warmup.warm_and_freeze(('json', 'email.message'))\n"
        "assert gc.get_freeze_count() >= before\n"
        "assert len(gc.get_objects()) < gc.get_freeze_count()\n"  # a full collection walks only the rest
    )
    subprocess.run([sys.executable, "-c", code], check=True)
