"""The background warm-up: imports its libraries once per process, on a daemon thread, and never raises."""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
import threading
import time
import types

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


def test_imports_wait_while_a_page_script_runs_and_runs_wait_for_an_import() -> None:
    order: list[str] = []

    def page(name: str, seconds: float) -> None:
        with warmup.script_run():
            order.append(f"{name} starts")
            time.sleep(seconds)
            order.append(f"{name} ends")

    first = threading.Thread(target=page, args=("page 1", 0.3))
    first.start()
    time.sleep(0.05)
    with warmup.quiet_moment(10) as quiet:  # as the warm-up does before each import
        order.append("import starts")
        second = threading.Thread(target=page, args=("page 2", 0.0))
        second.start()  # a run that begins during the import waits for it
        time.sleep(0.2)
        order.append("import ends")
    first.join(10)
    second.join(10)
    assert quiet
    assert order == [
        "page 1 starts",
        "page 1 ends",
        "import starts",
        "import ends",
        "page 2 starts",
        "page 2 ends",
    ]


def test_a_run_waiting_for_an_import_goes_before_the_next_import() -> None:
    order: list[str] = []

    def page() -> None:
        with warmup.script_run():
            order.append("page")

    def imports() -> None:
        for name in ("first", "second"):
            with warmup.quiet_moment(10):
                order.append(f"{name} import starts")
                time.sleep(0.2)
        order.append("imports done")

    importer = threading.Thread(target=imports)
    importer.start()
    time.sleep(0.05)  # the first import is under way
    page_thread = threading.Thread(target=page)
    page_thread.start()
    importer.join(10)
    page_thread.join(10)
    assert order == ["first import starts", "page", "second import starts", "imports done"]


def test_a_module_is_skipped_when_pages_never_pause(caplog) -> None:
    with warmup.script_run(), caplog.at_level(logging.INFO, logger="ui.warmup"):
        assert warmup.warm_imports(("json",), wait_s=0.1) == ["json"]
    assert "skipped json" in caplog.text


def test_waiting_for_a_quiet_moment_gives_up_after_the_timeout() -> None:
    with warmup.script_run():
        start = time.monotonic()
        with warmup.quiet_moment(0.2) as quiet:
            assert quiet is False
        assert time.monotonic() - start >= 0.2
    with warmup.quiet_moment(0.2) as quiet:
        assert quiet is True


def test_a_run_that_raises_still_counts_as_ended() -> None:
    try:
        with warmup.script_run():
            raise RuntimeError("st.stop() ends a run with an exception")
    except RuntimeError:
        pass
    with warmup.quiet_moment(0.1) as quiet:
        assert quiet is True


def test_finished_import_is_false_while_a_module_is_still_importing(monkeypatch) -> None:
    loading = types.ModuleType("protlab_loading")
    loading.__spec__ = types.SimpleNamespace(_initializing=True)
    monkeypatch.setitem(sys.modules, "protlab_loading", loading)
    assert not warmup.finished_import("protlab_loading")
    loading.__spec__._initializing = False
    assert warmup.finished_import("protlab_loading")
    assert warmup.finished_import("json")
    assert not warmup.finished_import("protlab_never_imported")


def test_a_counted_call_is_a_script_run_that_ends_even_when_it_raises() -> None:
    seen: list[int] = []

    @warmup.counted
    def fragment_body(value: int) -> int:
        seen.append(warmup._running)
        if value < 0:
            raise ValueError("a fragment that stops early")
        return value * 2

    assert fragment_body(21) == 42
    assert fragment_body.__qualname__.endswith("fragment_body")  # Streamlit keys a fragment by this name
    try:
        fragment_body(-1)
    except ValueError:
        pass
    assert seen == [1, 1]
    with warmup.quiet_moment(0.1) as quiet:  # both calls have ended
        assert quiet is True


def test_a_counted_call_waits_for_an_import_under_way() -> None:
    order: list[str] = []
    body = warmup.counted(lambda: order.append("fragment runs"))
    with warmup.quiet_moment(10) as quiet:
        order.append("import starts")
        fragment_thread = threading.Thread(target=body)
        fragment_thread.start()
        time.sleep(0.2)
        order.append("import ends")
    fragment_thread.join(10)
    assert quiet
    assert order == ["import starts", "import ends", "fragment runs"]
