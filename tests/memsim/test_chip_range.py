"""Per-chip seeding (issue 14, item 1): chip k draws from SeedSequence(seed, spawn_key=(k,)), so ``--chip-range``
runs simulate exactly chips of the full run and ``memsim trace merge`` joins their traces into the full run's
trace, dataset by dataset and attribute by attribute."""

import json
import shutil

import h5py
import numpy as np
import pytest

import memsim.trace
from memsim.config import SimConfig
from memsim.files import live_temporaries
from memsim.ledger import ZJ_PER_J, Ledger
from memsim.simulate import simulate
from memsim.trace import TraceWriter

SMALL = '[workload]\nsplit = "calibration"\n'
READ_NOISE = SMALL + '[devices.overrides.cell]\nread_noise_rel = 0.01\n'


def _values(value):
    return value.decode() if isinstance(value, bytes) else value


def assert_same_trace(a, b):
    """Every root attribute, every dataset (dtype, shape, data) and every dataset attribute equal."""
    with h5py.File(a, "r") as x, h5py.File(b, "r") as y:
        assert sorted(x.attrs) == sorted(y.attrs)
        for key in x.attrs:
            va, vb = _values(x.attrs[key]), _values(y.attrs[key])
            if isinstance(va, str):
                assert va == vb, f"root attribute {key!r} differs"
            else:
                assert np.array_equal(va, vb), f"root attribute {key!r} differs"
        assert sorted(x) == sorted(y)
        for name in x:
            dx, dy = x[name], y[name]
            assert dx.dtype == dy.dtype, name
            assert dx.shape == dy.shape, name
            rx, ry = dx[()], dy[()]
            for column in dx.dtype.names:
                assert np.array_equal(rx[column], ry[column]), f"{name}.{column} differs"
            assert {k: str(_values(v)) for k, v in dx.attrs.items()} == \
                   {k: str(_values(v)) for k, v in dy.attrs.items()}, f"attributes of {name} differ"


@pytest.fixture
def config_file(tmp_path):
    def make(text=SMALL):
        path = tmp_path / "run.toml"
        path.write_text(text)
        return str(path)
    return make


@pytest.mark.parametrize("text, options", [
    (SMALL, ("--outputs", "logits")),
    (READ_NOISE, ()),
    (SMALL, ("--card", "neurosim-rram", "--age", "1e4")),
], ids=["variation", "read-noise", "age"])
def test_merge_of_chip_ranges_is_the_full_run(tmp_path, monkeypatch, run_cli, config_file, text, options):
    config = config_file(text)
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    whole.mkdir()
    parts.mkdir()
    common = ["simulate", "--config", config, "--chips", "4", "--seed", "3", *options]
    monkeypatch.chdir(whole)
    assert run_cli([*common, "-o", "all.h5"])[0] == 0
    monkeypatch.chdir(parts)
    assert run_cli([*common, "--chip-range", "2:4", "-o", "b.h5"])[0] == 0
    assert run_cli([*common, "--chip-range", "0:2", "-o", "a.h5"])[0] == 0
    code, out, err = run_cli(["trace", "merge", "b.h5", "a.h5", "-o", "all.h5"])
    assert code == 0, err
    assert_same_trace(whole / "all.h5", parts / "all.h5")
    merged = memsim.trace.open(parts / "all.h5")
    assert merged.chips["chip"].tolist() == [0, 1, 2, 3]
    assert merged.config["chip_range"] == []
    assert sorted(set(merged.events["chip"].tolist())) == [0, 1, 2, 3]


def test_a_chip_range_runs_those_chips_of_the_full_run(tmp_path, config_file):
    config = SimConfig.from_toml(config_file(READ_NOISE)).with_overrides(trace="", chips=3, seed=5)
    full = simulate(config)
    one = simulate(config.with_overrides(chip_range=(1, 2)))
    assert [c.chip for c in one.chips] == [1]
    a, b = full.chips[1], one.chips[0]
    assert (a.accuracy, a.bit_exact_rate, a.energy_zj, a.makespan_fs, a.events, a.clipped, a.error_bits) == \
           (b.accuracy, b.bit_exact_rate, b.energy_zj, b.makespan_fs, b.events, b.clipped, b.error_bits)
    assert np.array_equal(a.predictions, b.predictions) and np.array_equal(a.confusion, b.confusion)
    assert [r for r in full.ledger.rows if r.chip == 1] == list(one.ledger.rows)
    # The software accuracies draw nothing: the first chip of any range measures the same.
    assert (one.accuracy_float, one.accuracy_quantized) == (full.accuracy_float, full.accuracy_quantized)
    # Chip k does not depend on how many chips run.
    assert simulate(config.with_overrides(chips=1)).chips[0].energy_zj == full.chips[0].energy_zj


def test_same_seed_same_chips_and_seeds_differ(config_file):
    config = SimConfig.from_toml(config_file()).with_overrides(trace="", chips=2, seed=7)
    a, b = simulate(config), simulate(config)
    assert [c.energy_zj for c in a.chips] == [c.energy_zj for c in b.chips]
    assert all(np.array_equal(x.predictions, y.predictions) for x, y in zip(a.chips, b.chips, strict=True))
    assert a.chips[0].energy_zj != a.chips[1].energy_zj or a.chips[0].error_bits != a.chips[1].error_bits


def test_chip_range_config():
    assert SimConfig(chips=4, chip_range=[0, 4]).chip_range == ()
    assert SimConfig(chips=4, chip_range=[1, 3]).chip_indices == range(1, 3)
    assert SimConfig(chips=4).chip_indices == range(4)
    assert SimConfig(chips=4, chip_range=(1, 3)).to_dict()["chip_range"] == [1, 3]
    assert SimConfig.from_dict({"chips": 4, "chip_range": [2, 4]}).chip_range == (2, 4)
    for bad in ([2, 5], [3, 3], [-1, 2], [1], [1.0, 2], "0:2", [True, 2]):
        with pytest.raises(ValueError, match=r"^chip_range = .*allowed: \[\] or \[start, stop\]"):
            SimConfig(chips=4, chip_range=bad)


@pytest.mark.parametrize("argv, message", [
    (["--chip-range", "1:3"], "chip_range = [1, 3] is out of range; allowed: [] or [start, stop] with 0 <= start "
                              "< stop <= chips (1)"),
    (["--chips", "4", "--chip-range", "2-3"], "--chip-range '2-3' is not START:STOP"),
    (["--chips", "4", "--chip-range", "3:2"], "chip_range = [3, 2] is out of range"),
])
def test_chip_range_option_refused(tmp_path, run_cli, argv, message):
    code, out, err = run_cli(["simulate", "--no-trace", *argv])
    assert code == 2
    assert err.count("\n") == 1 and message in err


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """Two halves of a 4-chip run, and a run of another seed."""
    directory = tmp_path_factory.mktemp("parts")
    base = SimConfig(split="calibration", chips=4, seed=1)
    paths = {}
    for name, changes in {"a": {"chip_range": (0, 2)}, "b": {"chip_range": (2, 4)}, "c": {"chip_range": (1, 3)},
                          "other": {"chip_range": (2, 4), "seed": 2}}.items():
        cfg = base.with_overrides(trace=str(directory / f"{name}.h5"), **changes)
        ledger = Ledger()
        writer = TraceWriter(cfg.trace, ledger)
        writer.finish(simulate(cfg, ledger=ledger))
        paths[name] = directory / f"{name}.h5"
    return paths


@pytest.mark.parametrize("names, message", [
    (("a", "other"), "differs from trace"),
    (("a", "c"), "overlap in chip 1; allowed: disjoint chip ranges"),
    (("a", "a"), "overlap in chip 0"),
    (("b",), "merge needs at least two traces"),
    (("a", "old"), "has schema_version 4; merge reads only schema_version 5"),
])
def test_merge_refuses(tmp_path, run_cli, parts, names, message):
    old = tmp_path / "old.h5"
    shutil.copy(parts["b"], old)
    with h5py.File(old, "a") as h5:
        h5.attrs["schema_version"] = 4
    paths = [str(old) if n == "old" else str(parts[n]) for n in names]
    out = tmp_path / "merged.h5"
    code, stdout, err = run_cli(["trace", "merge", *paths, "-o", str(out)])
    assert code == 2
    assert err.count("\n") == 1 and message in err, err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.h5"]
    assert live_temporaries() == []


def test_merge_refuses_to_overwrite_an_input(run_cli, parts):
    code, _, err = run_cli(["trace", "merge", str(parts["a"]), str(parts["b"]), "-o", str(parts["a"])])
    assert code == 2 and "is the input trace file" in err


def test_merged_chip_ledger_and_summary(tmp_path, run_cli, parts):
    out = tmp_path / "ab.h5"
    assert run_cli(["trace", "merge", str(parts["a"]), str(parts["b"]), "-o", str(out)])[0] == 0
    merged = memsim.trace.open(out)
    assert [e["chip"] for e in merged.chip_ledger] == [0, 1, 2, 3]
    assert merged.summary["chips"] == 4
    assert merged.summary["energy_j"] == sum(e["energy_zj"] for e in merged.chip_ledger) / 4 / ZJ_PER_J
    assert json.loads(h5py.File(out, "r").attrs["config"])["trace"] == str(out)
