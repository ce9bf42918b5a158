"""The golden trace: the writer's layout changes only together with a schema_version bump.

``traces/reference.h5`` was written from ``traces/reference.toml``. A fresh trace of the same config must
have the same layout (datasets, columns, dtypes with enum members, units, attribute names) unless
``SCHEMA_VERSION`` was bumped; after a bump the golden file must be regenerated
(``memsim simulate --config traces/reference.toml`` from the repository root). Values are not compared:
they change whenever the physics does, which is not a schema change.
"""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from memsim.config import SimConfig
from memsim.ledger import Ledger
from memsim.simulate import simulate
from memsim.trace import SCHEMA_VERSION, TraceWriter

TRACES = Path(__file__).resolve().parents[2] / "traces"
GOLDEN = TRACES / "reference.h5"
REGENERATE = "regenerate it from the repository root with: memsim simulate --config traces/reference.toml"


def _dtype(dtype) -> object:
    if dtype.subdtype is not None:  # an array-valued column: its element type and shape
        base, shape = dtype.subdtype
        return ("array", _dtype(base), shape)
    enum = h5py.check_enum_dtype(dtype)
    if enum is not None:
        return ("enum", dtype.base.str, tuple(sorted(enum.items())))
    if h5py.check_string_dtype(dtype) is not None:
        return ("str",)
    return dtype.str


def layout(path) -> dict:
    """What the schema fixes: names, column dtypes and units of the datasets; attribute names."""
    with h5py.File(path, "r") as h5:
        return {
            "root attributes": sorted(h5.attrs),
            "datasets": {
                name: {
                    "columns": [(c, _dtype(h5[name].dtype[c])) for c in h5[name].dtype.names or ()],
                    "dtype": None if h5[name].dtype.names else _dtype(h5[name].dtype),
                    "units": json.loads(h5[name].attrs.get("units", "null")),
                    "attributes": sorted(h5[name].attrs),
                    "rank": h5[name].ndim,
                }
                for name in sorted(h5)
            },
        }


def write_reference(path, **changes):
    """A fresh trace of traces/reference.toml (with ``changes`` to its config) at ``path``."""
    config = SimConfig.from_toml(TRACES / "reference.toml").with_overrides(trace=str(path), **changes)
    ledger = Ledger()
    writer = TraceWriter(str(path), ledger)
    writer.finish(simulate(config, ledger=ledger))
    return path


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    return write_reference(tmp_path_factory.mktemp("golden") / "fresh.h5")


def version(path) -> int:
    with h5py.File(path, "r") as h5:
        return int(h5.attrs["schema_version"])


def test_golden_file_is_small():
    assert GOLDEN.stat().st_size < 100_000


def test_layout_change_requires_a_schema_version_bump(fresh):
    if layout(fresh) != layout(GOLDEN):
        assert version(fresh) != version(GOLDEN), (
            f"the trace layout differs from traces/reference.h5 but schema_version is still {version(fresh)}: "
            "bump SCHEMA_VERSION in memsim/trace/writer.py, update traces/README.md and the reader, then "
            + REGENERATE
        )


def test_golden_file_has_the_current_schema_version(fresh):
    assert version(fresh) == SCHEMA_VERSION
    assert version(GOLDEN) == SCHEMA_VERSION, f"traces/reference.h5 is schema {version(GOLDEN)}; " + REGENERATE


def test_layout_comparison_notices_a_changed_column(fresh, tmp_path):
    """The check itself can fail: a renamed column, a new dataset or a changed unit change the layout."""
    changed = tmp_path / "changed.h5"
    changed.write_bytes(fresh.read_bytes())
    with h5py.File(changed, "a") as h5:
        h5["chips"].attrs["units"] = json.dumps({**json.loads(h5["chips"].attrs["units"]), "energy_j": "pJ"})
    assert layout(changed) != layout(fresh)
    with h5py.File(changed, "a") as h5:
        h5["chips"].attrs["units"] = json.dumps({**json.loads(h5["chips"].attrs["units"]), "energy_j": "J"})
    assert layout(changed) == layout(fresh)
    with h5py.File(changed, "a") as h5:
        h5["extra"] = np.zeros(2, dtype=[("x", "<f8")])
        h5["extra"].attrs["units"] = json.dumps({"x": "1"})
    assert layout(changed) != layout(fresh)


def test_logits_add_one_array_column_to_the_golden_outputs_table(tmp_path):
    """The golden run records predictions (traces/reference.toml); with the logits, /outputs has the same layout
    plus the ``logits`` column: int64, one entry per output of the last layer."""
    golden = layout(GOLDEN)["datasets"]
    fresh = layout(write_reference(tmp_path / "logits.h5", outputs="logits"))["datasets"]
    assert {k: v for k, v in fresh.items() if k != "outputs"} == {k: v for k, v in golden.items() if k != "outputs"}
    assert fresh["outputs"]["columns"] == [*golden["outputs"]["columns"], ("logits", ("array", "<i8", (10,)))]
    assert fresh["outputs"]["units"] == {**golden["outputs"]["units"], "logits": "accumulator LSB"}
    assert fresh["outputs"]["attributes"] == golden["outputs"]["attributes"] == ["logits_frac_bits", "logits_lsb",
                                                                                 "units"]
