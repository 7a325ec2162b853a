"""The backend package stays free of any user-interface dependency."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "protlab"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_imports_streamlit() -> None:
    offenders = [p.name for p in PACKAGE.rglob("*.py") if "streamlit" in _imported_modules(p)]
    assert offenders == []


def test_importing_protlab_does_not_load_streamlit() -> None:
    code = (
        "import sys, protlab, pkgutil, importlib\n"
        "for m in pkgutil.walk_packages(protlab.__path__, 'protlab.'):\n"
        "    importlib.import_module(m.name)\n"
        "print('streamlit' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_alphabet_is_written_once() -> None:
    from protlab.alphabet import AMINO_ACIDS

    holders = [p.name for p in PACKAGE.rglob("*.py") if AMINO_ACIDS in p.read_text(encoding="utf-8")]
    assert holders == ["alphabet.py"]
