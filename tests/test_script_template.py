"""Script templates: the settings block is rewritten in place, and templates are parsed safely from many
threads (each page's script runs in its own thread)."""

from __future__ import annotations

import ast
import threading

import pytest

from protlab.codegen import script_template as st_module
from protlab.codegen.script_template import fill_settings

TEMPLATE = """import torch

# ============ settings
LR = 0.001  # learning rate
NAMES = ["a"]  # proteins
# ============ end of settings

print(LR, NAMES)
"""


def test_only_the_named_settings_change_and_the_script_still_runs() -> None:
    filled = fill_settings(TEMPLATE, {"LR": 0.01})
    assert "LR = 0.01  # learning rate" in filled
    assert filled.replace("LR = 0.01", "LR = 0.001") == TEMPLATE
    tree = ast.parse(filled)  # still Python
    assert any(isinstance(n, ast.Assign) and n.targets[0].id == "NAMES" for n in tree.body)
    with pytest.raises(ValueError, match="no settings named"):
        fill_settings(TEMPLATE, {"EPOCHS": 3})


def test_a_template_is_parsed_once_and_under_the_parse_lock(monkeypatch) -> None:
    # CPython 3.11's AST builder fails with "SystemError: AST constructor recursion depth mismatch" when two
    # threads parse at once (seen with six students predicting together): every parse holds one lock, and
    # a template is parsed once per process
    calls = []
    real_parse = ast.parse

    def watched_parse(source, *args, **kwargs):
        calls.append(st_module._PARSE_LOCK.locked())
        return real_parse(source, *args, **kwargs)

    monkeypatch.setattr(st_module.ast, "parse", watched_parse)
    st_module._assignments.cache_clear()
    source = TEMPLATE.replace("0.001", "0.002")  # a template no other test has parsed
    results, errors = [], []

    def fill() -> None:
        try:
            results.append(fill_settings(source, {"LR": 0.5}))
        except Exception as err:  # collected: an exception in a thread would otherwise be lost
            errors.append(err)

    threads = [threading.Thread(target=fill) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors and len(results) == 8 and len(set(results)) == 1
    assert calls and all(calls)  # every parse ran holding the lock
    before = len(calls)  # (several only if threads missed the cache together, before the first parse ended)
    fill_settings(source, {"LR": 0.25})
    assert len(calls) == before  # from then on, from the cache
