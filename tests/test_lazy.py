"""Lazy package exports: every public name still imports, is the object its module defines, and a light
name does not drag in torch."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from protlab.lazy import lazy_exports

PACKAGES = [
    "protlab.codegen",
    "protlab.data",
    "protlab.lessons",
    "protlab.runs",
    "protlab.structure",
    "protlab.training",
]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_is_the_object_its_module_defines(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)
        owners = [m for m in sys.modules.values() if getattr(m, "__name__", "").startswith(package + ".")]
        assert any(vars(m).get(name) is value for m in owners), f"{package}.{name}"
        assert name in dir(module)


@pytest.mark.parametrize("package", PACKAGES)
def test_an_unknown_name_is_an_attribute_error(package: str) -> None:
    module = importlib.import_module(package)
    with pytest.raises(AttributeError, match="no_such_name"):
        module.no_such_name  # noqa: B018
    with pytest.raises(ImportError):
        exec(f"from {package} import no_such_name", {})


def test_names_come_from_their_module_on_first_use() -> None:
    code = (
        "import sys\n"
        "import protlab.data as data\n"
        "assert 'protlab.data.sequences' not in sys.modules\n"
        "from protlab.data import clean_sequence\n"
        "assert 'protlab.data.sequences' in sys.modules\n"
        "assert 'torch' not in sys.modules, 'a text helper loaded torch'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_lazy_exports_reads_its_table() -> None:
    getattr_, dir_ = lazy_exports(
        "protlab.errors", {"alphabet": ("AMINO_ACIDS",)}
    )  # any loaded module will do
    with pytest.raises(ModuleNotFoundError):
        getattr_("AMINO_ACIDS")  # protlab.errors.alphabet does not exist: the import error is not hidden
    assert "AMINO_ACIDS" in dir_()
    with pytest.raises(AttributeError):
        getattr_("missing")
