"""Shared by the tests of tools/: a script loaded as a module."""

import importlib.util
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"


@pytest.fixture(scope="session")
def load_tool():
    """``load_tool("sweep_sigma")``: tools/sweep_sigma.py as a fresh module, loaded from its path (tools/ is not a
    package; no sys.path edits)."""
    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load
