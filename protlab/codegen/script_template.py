"""Runnable script templates (protlab/codegen/templates/) and the writer of their settings block.

A template is an ordinary Python file whose settings sit between two marker lines,
`# ===...=== settings` and `# ===...=== end of settings`, one `NAME = value  # comment` per setting.
`fill_settings` replaces only the values of the named settings there (comments and every other line
stay as they are), so the generated script is the template, run with the page's choices.
"""

from __future__ import annotations

import ast
import functools
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "LINE_LENGTH",
    "TEMPLATE_DIR",
    "Code",
    "fill_settings",
    "literal",
    "read_template",
    "settings_lines",
]

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"  # shipped beside this module
LINE_LENGTH = 88  # the templates' width, kept by the settings written in: the code panel shows whole lines
# CPython 3.11 keeps one AST-builder recursion counter per interpreter: two threads (two students' pages)
# parsing at the same moment can fail with "SystemError: AST constructor recursion depth mismatch"
_PARSE_LOCK = threading.Lock()
_START = re.compile(r"^# =+ settings$")
_END = re.compile(r"^# =+ end of settings$")


class Code(str):
    """Python source written into a setting as is (e.g. `torch.optim.Adam`), not as a string literal."""


def read_template(name: str) -> str:
    """The text of templates/<name>."""
    return (TEMPLATE_DIR / name).read_text(encoding="utf-8")


def settings_lines(source: str) -> tuple[int, int]:
    """0-based indices of the settings block's start and end marker lines."""
    lines = source.splitlines()
    starts = [i for i, line in enumerate(lines) if _START.match(line)]
    ends = [i for i, line in enumerate(lines) if _END.match(line)]
    if len(starts) != 1 or len(ends) != 1 or starts[0] > ends[0]:
        raise ValueError("A script template needs exactly one settings block between its two marker lines.")
    return starts[0], ends[0]


def _string(text: str) -> str:
    """A string literal, in double quotes where that needs no escaping."""
    r = repr(text)
    if r.startswith("'") and '"' not in text and "\\'" not in r:
        return '"' + r[1:-1] + '"'
    return r


def literal(value: Any, room: int = LINE_LENGTH, indent: int = 0) -> str:
    """Python source for a plain value: one line when it fits in `room` characters, else one item a line."""
    if isinstance(value, Code):
        return str(value)
    if isinstance(value, str):
        if len(_string(value)) <= room:
            return _string(value)
        width = max(20, LINE_LENGTH - indent - 8)  # a long string: pieces that Python joins back together
        pieces = [_string(value[i : i + width]) for i in range(0, len(value), width)]
        return "(\n" + "".join(f"{' ' * (indent + 4)}{piece}\n" for piece in pieces) + " " * indent + ")"
    if isinstance(value, (list, tuple, dict)):
        opening, closing = "{}" if isinstance(value, dict) else "[]" if isinstance(value, list) else "()"
        inner = LINE_LENGTH - indent - 5  # an item on its own line: indented, with a comma after it
        if isinstance(value, dict):
            keys = [f"{_string(str(k))}: " for k in value]
            items = [k + literal(v, inner - len(k), indent + 4) for k, v in zip(keys, value.values())]
        else:
            items = [literal(v, inner, indent + 4) for v in value]
        single = "," if isinstance(value, tuple) and len(items) == 1 else ""  # (x,) is a tuple, (x) is not
        one_line = opening + ", ".join(items) + single + closing
        if len(one_line) <= room and "\n" not in one_line:
            return one_line
        pad = " " * (indent + 4)
        return opening + "\n" + "".join(f"{pad}{item},\n" for item in items) + " " * indent + closing
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    raise TypeError(f"Cannot write a {type(value).__name__} into a script's settings.")


@functools.lru_cache(maxsize=64)
def _assignments(source: str, start: int, end: int) -> dict[str, ast.Assign]:
    """The settings block's `NAME = value` statements by name (parsed once per template; read-only)."""
    with _PARSE_LOCK:
        tree = ast.parse(source)
    found: dict[str, ast.Assign] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and start < node.lineno - 1 < end:
            if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
                raise ValueError(f"Setting on line {node.lineno} must assign one NAME.")
            found[node.targets[0].id] = node
    return found


def fill_settings(source: str, values: Mapping[str, Any]) -> str:
    """The template with these settings' values written in (every other line unchanged)."""
    start, end = settings_lines(source)
    found = _assignments(source, start, end)
    unknown = sorted(set(values) - set(found))
    if unknown:
        raise ValueError(f"The template has no settings named {unknown}; it has {sorted(found)}.")
    lines = source.splitlines(keepends=True)
    for name in sorted(values, key=lambda n: -found[n].lineno):  # bottom up: earlier line numbers stay valid
        node = found[name]
        first, last = node.value.lineno - 1, node.value.end_lineno - 1
        head = lines[first].encode()[: node.value.col_offset].decode()  # ast offsets count UTF-8 bytes
        tail = lines[last].encode()[node.value.end_col_offset :].decode()
        comment = tail.rstrip("\n")
        written = literal(values[name], LINE_LENGTH - len(head) - len(comment))
        too_long = max(len(line) for line in (head + written + comment).split("\n")) > LINE_LENGTH
        if too_long and comment.strip().startswith("#"):
            # too long with its comment: the comment goes on a line of its own, above
            written = literal(values[name], LINE_LENGTH - len(head))
            lines[first : last + 1] = [comment.strip() + "\n", head + written + tail[len(comment) :]]
        else:
            lines[first : last + 1] = [head + written + tail]
    return "".join(lines)
