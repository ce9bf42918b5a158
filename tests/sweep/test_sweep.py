"""memsim sweep (issue 14, items 2-4): identical tables on every executor, resumability, bad sweep files, plots."""

import json
import re

import pytest

from memsim.sweep import load_sweep
from memsim.sweep.run import Executor, parts_dir, read_table, run_sweep
from memsim.sweep.spec import parse_sweep

SWEEP = """chips = 4
[config.workload]
split = "calibration"
[axes]
adc_bits = [4, 8]
sigma = [0.0, 0.1]
"""


@pytest.fixture
def sweep_file(tmp_path):
    def make(text=SWEEP, name="s.toml"):
        path = tmp_path / name
        path.write_text(text)
        return str(path)
    return make


def test_same_table_on_one_process_two_processes_and_dask(tmp_path, sweep_file):
    pytest.importorskip("distributed")
    spec = load_sweep(sweep_file())
    tables = {}
    for name, executor in [("inline", Executor("inline")), ("local2", Executor("local", workers=2)),
                           ("dask2", Executor("dask", workers=2, address="local"))]:
        report = run_sweep(spec, tmp_path / f"{name}.csv", executor)
        assert (report.units, report.skipped, len(report.ran), report.failed) == (16, 0, 16, [])
        tables[name] = (tmp_path / f"{name}.csv").read_bytes()
    assert tables["inline"] == tables["local2"] == tables["dask2"]
    columns, rows = read_table(tmp_path / "inline.csv")
    assert columns[:4] == ["point", "chip", "adc_bits", "sigma"]
    assert {"accuracy_hw", "energy_j", "energy_adc_j", "latency_s", "throughput_inf_per_s", "cope_gop_per_j"} \
        <= set(columns)
    assert [(r["point"], r["chip"]) for r in rows] == [(str(p), str(c)) for p in range(4) for c in range(4)]
    # σ = 0: every chip is the same chip; σ = 0.1: the chips differ
    assert len({r["accuracy_hw"] for r in rows if r["point"] == "2"}) == 1
    assert len({r["energy_adc_j"] for r in rows}) > 1


def test_the_rows_of_a_unit_are_the_chips_of_the_full_run(tmp_path, sweep_file):
    from memsim.config import SimConfig
    from memsim.simulate import simulate

    text = SWEEP.replace("chips = 4", "chips = 4\nchips_per_unit = 3")
    report = run_sweep(load_sweep(sweep_file(text)), tmp_path / "r.csv")
    assert report.units == 8
    _, rows = read_table(tmp_path / "r.csv")
    full = simulate(SimConfig(chips=4, trace="", split="calibration").with_sigma_rel(0.1)
                    .with_card_override("adc", {"bits": 8}))
    got = [float(r["accuracy_hw"]) for r in rows if r["point"] == "3"]
    assert got == [c.accuracy for c in full.chips]


def test_an_interrupted_sweep_reruns_only_the_missing_units(tmp_path, sweep_file):
    spec = load_sweep(sweep_file())
    out = tmp_path / "r.csv"
    finished = []

    def stop_after_five(unit):
        finished.append(unit.id)
        if len(finished) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, out, on_unit=stop_after_five)
    assert len(list(parts_dir(out).glob("*.json"))) == 5
    report = run_sweep(spec, out)
    assert (report.skipped, len(report.ran)) == (5, 11)
    assert not set(report.ran) & set(finished)
    whole = out.read_bytes()
    # delete three parts and corrupt one: only those four run again, and the table is the same
    parts = sorted(parts_dir(out).glob("*.json"))
    for p in parts[:3]:
        p.unlink()
    parts[3].write_text("{")
    report = run_sweep(spec, out)
    assert (report.skipped, len(report.ran)) == (12, 4)
    assert out.read_bytes() == whole
    report = run_sweep(spec, out)
    assert (report.skipped, report.ran) == (16, [])


def test_a_failed_unit_is_reported_and_the_rest_go_on(tmp_path, sweep_file, monkeypatch, run_cli):
    import memsim.sweep.run as run

    real = run.unit_rows

    def flaky(config_json, start, stop, *args):
        if start == 2 and '"bits": 4' in config_json:
            raise RuntimeError("boom")
        return real(config_json, start, stop, *args)

    monkeypatch.setattr(run, "unit_rows", flaky)
    out = tmp_path / "r.csv"
    code, stdout, err = run_cli(["sweep", "run", sweep_file(), "-o", str(out), "--workers", "1"])
    assert code == 1
    lines = err.strip().splitlines()
    failed = [line for line in lines if "failed" in line]
    assert len(failed) == 2 and all("adc_bits=4" in line and "chips 2:3" in line and "boom" in line
                                    for line in failed)
    assert "14 run, 2 failed" in stdout
    assert len(read_table(out)[1]) == 14


def test_axes_ranges_and_override_paths(tmp_path, sweep_file):
    spec = load_sweep(sweep_file("""chips = 2
[axes]
"devices.overrides.adc.bits" = {start = 4, stop = 8, step = 2}
cell.variation.sigma_rel = {start = 0.0, stop = 0.1, num = 3}
"quantization.weight_bits" = [6, 8]
"""))
    assert [a.values for a in spec.axes] == [(4, 6, 8), (0.0, 0.05, 0.1), (6, 8)]
    assert len(spec.points()) == 18 and len(spec.units()) == 36
    same = load_sweep(sweep_file('chips = 2\n[axes]\nadc_bits = [4, 6, 8]\n', "b.toml"))
    other = load_sweep(sweep_file('chips = 2\n[axes]\n"adc.bits" = [4, 6, 8]\n', "c.toml"))
    assert [u.id for u in same.units()] == [u.id for u in other.units()]
    assert len({u.id for u in spec.units()}) == 36


@pytest.mark.parametrize("text, message", [
    ("chips = 2\n[axes]\nnope = [1, 2]\n", "unknown axis 'nope'; allowed: a config field"),
    ("chips = 2\n[axes]\nadc_bits = []\n", "axes.adc_bits = []; allowed: a non-empty list"),
    ("chips = 2\n[axes]\nadc_bits = {start = 4, stop = 2, step = 1}\n", "does not lead from start 4 to stop 2"),
    ("chips = 2\n[axes]\nsigma = {start = 0, stop = 1}\n", "has keys ['start', 'stop']"),
    ("chips = 0\n", "chips = 0; allowed: an integer from 1"),
    ("chips = 2\nchips_per_unit = 3\n", "chips_per_unit = 3; allowed: an integer from 1 to chips (2)"),
    ("chips = 2\nfoo = 1\n", "unknown key 'foo'"),
    ("chips = 2\n[config]\nchips = 3\n", "config key 'chips' is set by the sweep"),
    ("chips = 2\n[axes]\nencoding = ['offset', 'nope']\n", "point encoding='nope' cannot be built"),
    ("chips = 2\n[axes]\nadc_bits = [4, 0]\n", "point adc_bits=0 cannot be built"),
    ("chips = 2\n[axes]\nnetwork = ['missing.npz']\n", "workload.network 'missing.npz' is not a file"),
    ("chips = 2\n[axes]\nadc_bits = [4, 4]\n", "repeats a value"),
    ("chips = 2\n[axes]\nsigma_scale = [1, 1.0]\n", "are the same configuration"),
    ("chips = 2\nbase = 'missing.toml'\n", "config file"),
    ("chips = 2\n[config.workload]\nnope = 1\n", "unknown key 'workload.nope'"),
])
def test_bad_sweep_files(tmp_path, sweep_file, run_cli, text, message):
    out = tmp_path / "r.csv"
    code, stdout, err = run_cli(["sweep", "run", sweep_file(text), "-o", str(out)])
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("memsim: error: ") and message in err, err
    assert not out.exists() and not parts_dir(out).exists()


def test_base_config_file_relative_to_the_sweep(tmp_path, sweep_file):
    (tmp_path / "base.toml").write_text('seed = 7\n[workload]\nsplit = "calibration"\n')
    spec = load_sweep(sweep_file('base = "base.toml"\nchips = 2\n[config.quantization]\nweight_bits = 6\n'))
    assert (spec.base.seed, spec.base.split, spec.base.weight_bits, spec.base.chips) == (7, "calibration", 6, 2)
    assert len(spec.units()) == 2


def test_parse_sweep_in_memory():
    spec = parse_sweep({"chips": 3, "chips_per_unit": 2, "axes": {"seed": [1, 2]}})
    assert [(u.point.values, u.start, u.stop) for u in spec.units()] == \
        [((1,), 0, 2), ((1,), 2, 3), ((2,), 0, 2), ((2,), 2, 3)]


def test_sweep_plot_and_traces(tmp_path, sweep_file, run_cli):
    pytest.importorskip("matplotlib")
    out = tmp_path / "r.csv"
    code, _, err = run_cli(["sweep", "run", sweep_file(SWEEP.replace("chips = 4", "chips = 2")), "-o", str(out),
                            "--workers", "1", "--traces", str(tmp_path / "traces")])
    assert code == 0, err
    # one trace per point, merged from its units' traces: the trace of one run of the point's chips
    point_traces = sorted((tmp_path / "traces").glob("*.h5"))
    assert len(point_traces) == 4 and all(re.fullmatch(r"point000\d-[0-9a-f]{16}\.h5", p.name) for p in point_traces)
    from memsim.trace.reader import open_trace

    merged = open_trace(point_traces[3])
    assert merged.n_chips == 2 and [c["chip"] for c in merged.chip_ledger] == [0, 1]
    _, rows = read_table(out)
    assert [float(r["accuracy_hw"]) for r in rows if r["point"] == "3"] == list(merged.chips["accuracy"])
    # a lost point trace: its units run again with the rerun, and only they
    point_traces[1].unlink()
    code, stdout, err = run_cli(["sweep", "run", sweep_file(SWEEP.replace("chips = 4", "chips = 2")), "-o", str(out),
                                 "--workers", "1", "--traces", str(tmp_path / "traces")])
    assert code == 0 and "(6 already done, 2 run, 0 failed)" in stdout, err
    assert sorted((tmp_path / "traces").glob("*.h5")) == point_traces
    png = tmp_path / "fig.png"
    code, stdout, err = run_cli(["sweep", "plot", str(out), "--x", "sigma", "--y", "accuracy_hw", "--group",
                                 "adc_bits", "-o", str(png)])
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = run_cli(["sweep", "plot", str(out), "--x", "nope", "--y", "accuracy_hw", "-o", str(png)])
    assert code == 2 and "--x 'nope' is not a column" in err
    code, _, err = run_cli(["sweep", "plot", str(out), "--x", "sigma", "--y", "point_id", "-o", str(png)])
    assert code == 2 and "not a numeric column" in err


def test_part_files_hold_their_config(tmp_path, sweep_file):
    out = tmp_path / "r.csv"
    spec = load_sweep(sweep_file())
    run_sweep(spec, out)
    part = json.loads(next(parts_dir(out).glob("*.json")).read_text())
    assert set(part) == {"schema", "unit", "point", "chips", "config", "rows"}


def test_scheduler_address_and_scheduler_file(tmp_path, sweep_file, run_cli):
    """``--scheduler tcp://HOST:PORT`` and ``--scheduler FILE`` run on a cluster that memsim did not start (here a
    LocalCluster of this test, as a remote cluster would be) and give the table of the in-process run."""
    distributed = pytest.importorskip("distributed")
    text = SWEEP.replace("chips = 4", "chips = 2")
    code, _, err = run_cli(["sweep", "run", sweep_file(text), "-o", str(tmp_path / "inline.csv"), "--workers", "1"])
    assert code == 0, err
    scheduler_file = tmp_path / "scheduler.json"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                                  scheduler_kwargs={"scheduler_file": str(scheduler_file)}) as cluster:
        assert cluster.scheduler_address.startswith("tcp://") and scheduler_file.is_file()
        for name, address in [("address", cluster.scheduler_address), ("file", str(scheduler_file))]:
            out = tmp_path / f"{name}.csv"
            code, stdout, err = run_cli(["sweep", "run", sweep_file(text), "-o", str(out), "--scheduler", address])
            assert code == 0, err
            assert "8 units (0 already done, 8 run, 0 failed)" in stdout
            assert out.read_bytes() == (tmp_path / "inline.csv").read_bytes()
    code, _, err = run_cli(["sweep", "run", sweep_file(text), "-o", str(tmp_path / "x.csv"), "--scheduler",
                            str(tmp_path / "missing.json")])
    assert code == 2 and "is neither a scheduler address nor a file" in err and err.count("\n") == 1


def test_an_unreachable_scheduler_is_one_line_and_leaves_nothing(tmp_path, sweep_file, run_cli, monkeypatch):
    pytest.importorskip("distributed")
    import socket

    import memsim.sweep.run as run

    monkeypatch.setattr(run, "CONNECT_TIMEOUT_S", 1)
    with socket.socket() as s:  # a port with no scheduler behind it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "r.csv"
    code, _, err = run_cli(["sweep", "run", sweep_file(), "-o", str(out), "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert code == 2 and err.count("\n") == 1 and "no Dask scheduler answered" in err, err
    assert not out.exists() and not run.parts_dir(out).exists()


def test_cluster_workers_of_another_memsim_are_refused(tmp_path, sweep_file, run_cli, monkeypatch):
    """Workers that run another memsim version would compute other numbers: refused before anything runs."""
    distributed = pytest.importorskip("distributed")
    import memsim.sweep.run as run

    out = tmp_path / "r.csv"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        # the workers are threads of this process here: what they report is what run.memsim_version returns
        monkeypatch.setattr(run, "memsim_version", lambda: "0.0.0-other")
        code, _, err = run_cli(["sweep", "run", sweep_file(), "-o", str(out), "--scheduler",
                                cluster.scheduler_address])
    assert code == 2 and err.count("\n") == 1, err
    assert "has 0.0.0-other; allowed: workers with memsim" in err
    assert not out.exists() and not run.parts_dir(out).exists()


def test_input_files_are_absolute_in_the_units(tmp_path, sweep_file, monkeypatch):
    """A worker started in another directory reads the files the sweep was checked against."""
    from memsim.config import SimConfig
    from memsim.simulate import prepare
    from memsim.workload.network import save_network

    _, workload, _ = prepare(SimConfig(trace=""))
    save_network(workload.network, tmp_path / "net.npz")
    monkeypatch.chdir(tmp_path)
    spec = load_sweep(sweep_file('chips = 1\n[config.workload]\nnetwork = "net.npz"\n[axes]\nadc_bits = [6, 8]\n'))
    assert {u.point.config.network for u in spec.units()} == {str(tmp_path / "net.npz")}
    monkeypatch.chdir(tmp_path.parent)
    report = run_sweep(spec, tmp_path / "r.csv")
    assert (len(report.ran), report.failed) == (2, [])


def test_the_table_carries_the_area_which_follows_the_adc_sharing(tmp_path, sweep_file):
    text = 'chips = 1\n[config.workload]\nsplit = "calibration"\n[axes]\n"crossbar.columns_per_adc" = [16, 32]\n'
    run_sweep(load_sweep(sweep_file(text)), tmp_path / "a.csv")
    columns, rows = read_table(tmp_path / "a.csv")
    assert {"area_m2", "tops_per_w", "tops_per_mm2", "area_adc_m2", "area_crossbar_m2"} <= set(columns)
    assert columns[-1] == "point_id"
    a16, a32 = (float(r["area_adc_m2"]) for r in rows)
    assert a16 == pytest.approx(2 * a32, rel=1e-12)  # twice the ADCs
    assert float(rows[0]["area_m2"]) > float(rows[1]["area_m2"])
    assert rows[0]["area_crossbar_m2"] == rows[1]["area_crossbar_m2"]
