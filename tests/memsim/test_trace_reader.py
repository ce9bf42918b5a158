"""memsim.trace.open: tables with units, older schemas, and one-line errors for files it cannot read."""

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

import memsim.trace
from memsim.cli.main import main
from memsim.ledger import ACTIONS, COMPONENTS
from memsim.trace.writer import OPTIONAL_COLUMNS

GOLDEN = Path(__file__).resolve().parents[2] / "traces" / "reference.h5"


@pytest.fixture
def golden_copy(tmp_path):
    path = tmp_path / "trace.h5"
    shutil.copyfile(GOLDEN, path)
    return path


def test_open_gives_metadata_and_tables_with_units():
    tr = memsim.trace.open(GOLDEN)
    assert tr.schema_version == memsim.trace.SCHEMA_VERSION
    assert tr.config["workload"]["split"] == "calibration" and tr.config["chips"] == 2 == tr.n_chips
    assert tr.plan["encoding"] == "offset" and len(tr.plan["layers"]) == len(tr.layers) == 3
    assert list(tr.cards) == ["isaac-2016"]
    assert tr.events.units["energy_j"] == "J" and tr.events.units["t_s"] == "s"
    assert tr.layers.units["energy_j"] == "J per chip run"
    assert tr.outputs is not None and "logits" not in tr.outputs.columns  # traces/reference.toml: predictions
    for name, table in tr.tables().items():
        optional = {c for t, c in OPTIONAL_COLUMNS if t == name and c not in table.columns}
        assert set(table.units) == set(table.columns) == set(memsim.trace.TABLE_UNITS[name]) - optional, name
        assert isinstance(table.data, np.ndarray) and not table.data.flags.writeable
    assert tr.events.enums == {"component": COMPONENTS, "action": ACTIONS}
    labels = tr.events.labels("component")
    assert set(labels) == set(COMPONENTS)
    assert list(labels[:1]) == [COMPONENTS[tr.events["component"][0]]]
    assert tr.counters["component"].dtype.kind == "U"  # text as numpy unicode, not bytes
    # The tables agree with each other and with the run's summary.
    assert tr.events["energy_j"].sum() / tr.n_chips == pytest.approx(tr.summary["energy_j"], rel=1e-12, abs=0)
    assert tr.counters["energy_j"].sum() == pytest.approx(tr.events["energy_j"].sum(), rel=1e-12, abs=0)
    assert tr.chips["accuracy"].tolist() == tr.summary["accuracy_hw_per_chip"]


def test_missing_column_raises_keyerror_listing_the_columns():
    tr = memsim.trace.open(GOLDEN)
    with pytest.raises(KeyError, match="energy_j"):
        tr.chips["power_w"]


def test_schema_1_trace_is_read_without_errors_table(golden_copy):
    with h5py.File(golden_copy, "a") as h5:
        del h5["errors"]
        h5.attrs["schema_version"] = 1
    tr = memsim.trace.open(golden_copy)
    assert tr.schema_version == 1 and tr.errors is None
    assert "errors" not in tr.tables()
    assert len(tr.events) == len(memsim.trace.open(GOLDEN).events)


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def not_hdf5(path):
    path.write_text("t_s,chip,layer\n0.0,0,0\n")


def newer_schema(path):
    with h5py.File(path, "a") as h5:
        h5.attrs["schema_version"] = memsim.trace.SCHEMA_VERSION + 1


def foreign_hdf5(path):
    path.unlink()
    with h5py.File(path, "w") as h5:
        h5["x"] = np.arange(3)


def missing_table(path):
    with h5py.File(path, "a") as h5:
        del h5["chips"]


def corrupt_json(path):
    with h5py.File(path, "a") as h5:
        h5.attrs["config"] = "{not json"


def missing_file(path):
    path.unlink()


BAD = {
    "truncated": (truncate, "is truncated or corrupt"),
    "not HDF5": (not_hdf5, "is not an HDF5 file"),
    "newer schema": (newer_schema, f"has schema_version {memsim.trace.SCHEMA_VERSION + 1}, newer than"),
    "HDF5 but not memsim": (foreign_hdf5, "not a memsim trace"),
    "missing table": (missing_table, "lacks the dataset 'chips'"),
    "corrupt JSON attribute": (corrupt_json, "'config' is not valid JSON"),
    "missing file": (missing_file, "does not exist"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_file_is_a_one_line_valueerror_naming_it(case, golden_copy):
    damage, fragment = BAD[case]
    damage(golden_copy)
    with pytest.raises(ValueError) as info:
        memsim.trace.open(golden_copy)
    message = str(info.value)
    assert "\n" not in message and fragment in message and str(golden_copy) in message


@pytest.mark.parametrize("case", ["truncated", "not HDF5", "newer schema"])
@pytest.mark.parametrize("command", [["summary"], ["summary", "--json"], ["plot", "-o", "{dir}/p.png"],
                                     ["export", "--csv", "{dir}/csv"], ["compare", "{good}"]])
def test_every_subcommand_gives_one_line_and_exit_2(case, command, golden_copy, tmp_path, capsys):
    damage, fragment = BAD[case]
    damage(golden_copy)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    args = [a.format(dir=out_dir, good=GOLDEN) for a in command]
    try:
        main(["trace", args[0], str(golden_copy), *args[1:]])
        code = 0
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("memsim: error: trace ") and fragment in lines[0], err
    assert "Traceback" not in err and out == ""
    assert list(out_dir.iterdir()) == []  # nothing written


def test_units_attribute_is_json_for_every_dataset():
    with h5py.File(GOLDEN) as h5:
        for name in h5:
            assert set(json.loads(h5[name].attrs["units"])) == set(h5[name].dtype.names)
