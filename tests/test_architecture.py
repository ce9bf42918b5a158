"""The import directions of the architecture (docs/architecture.md), read from the source files with ``ast``.

- ``devices/`` (installed as ``memsim.devices``) imports only numpy, scipy, the standard library and itself:
  never the rest of memsim;
- nothing outside ``memsim.cli`` imports the command line;
- ``memsim.trace`` never imports the engine: the trace writer observes the ledger;
- only ``memsim.trace`` imports h5py (model code never writes files);
- no file edits ``sys.path``.
"""

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STDLIB = set(sys.stdlib_module_names)


def module_name(path: Path) -> str:
    """``devices/adc.py`` -> ``memsim.devices.adc``; ``memsim/cli/main.py`` -> ``memsim.cli.main``."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "devices":
        parts = ["memsim", *parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                found.add(".".join(base + ([node.module] if node.module else [])))
            else:
                found.add(node.module)
    return found


SOURCES = sorted([*ROOT.glob("devices/**/*.py"), *ROOT.glob("memsim/**/*.py")])
ALL = sorted([*SOURCES, *ROOT.glob("tools/*.py"), *ROOT.glob("tests/**/*.py")])


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_the_rules_see_the_whole_code_base():
    names = {module_name(p) for p in SOURCES}
    assert {"memsim.devices.card", "memsim.engine.run", "memsim.cli.main", "memsim.trace.writer"} <= names
    assert "memsim.devices.component" in imports(ROOT / "devices" / "adc.py")  # relative import resolved


@pytest.mark.parametrize("path", [p for p in SOURCES if module_name(p).startswith("memsim.devices")],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_devices_import_only_numpy_scipy_and_the_standard_library(path):
    for name in imports(path):
        top = name.split(".")[0]
        assert within(name, "memsim.devices") or top in {"numpy", "scipy"} or top in STDLIB, (
            f"{path.relative_to(ROOT)} imports {name}; devices/ may import numpy, scipy, the standard library "
            "and memsim.devices only")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_imports_the_command_line(path):
    if within(module_name(path), "memsim.cli"):
        return
    bad = [n for n in imports(path) if within(n, "memsim.cli")]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}; only memsim.cli itself may"


@pytest.mark.parametrize("path", [p for p in SOURCES if within(module_name(p), "memsim.trace")],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_trace_never_imports_the_engine(path):
    bad = [n for n in imports(path) if within(n, "memsim.engine")]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}; the trace observes the ledger, not the engine"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_trace_writes_hdf5(path):
    if within(module_name(path), "memsim.trace"):
        return
    assert "h5py" not in imports(path), f"{path.relative_to(ROOT)} imports h5py; only memsim.trace may"


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_file_edits_sys_path(path):
    edit = re.compile(r"sys\.path\s*(\.\s*(insert|append|extend)\b|\[|\+?=)")
    assert not edit.search(path.read_text(encoding="utf-8")), f"{path.relative_to(ROOT)} edits sys.path"


def test_a_forbidden_import_is_caught(tmp_path, monkeypatch):
    """The check itself can fail: a devices module that imports memsim.ledger is reported."""
    probe = tmp_path / "devices" / "_probe.py"
    probe.parent.mkdir()
    probe.write_text("from memsim.ledger import Ledger\nfrom .cost import Cost\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert imports(probe) == {"memsim.ledger", "memsim.devices.cost"}
    with pytest.raises(AssertionError, match="memsim.ledger"):
        test_devices_import_only_numpy_scipy_and_the_standard_library(probe)
