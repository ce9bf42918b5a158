"""`memsim trace summary|plot|compare|export` on traces written by `memsim simulate`: content, not just exit codes."""

import contextlib
import csv
import io
import json
import shutil
import struct
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from numpy.lib.recfunctions import repack_fields

import memsim.trace
from memsim.trace import plots
from memsim.cli.main import main
from memsim.trace.report import summarize
from memsim.trace.timeline import busy_intervals

GOLDEN = Path(__file__).resolve().parents[2] / "traces" / "reference.h5"


def simulate_cli(directory, name, *options):
    """`memsim simulate --json` on the digits calibration split; returns the trace path and the printed JSON."""
    config = directory / "calibration.toml"
    config.write_text('[workload]\nsplit = "calibration"\n')
    path = directory / name
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        try:
            main(["simulate", "--config", str(config), "-o", str(path), "--json", *options])
        except SystemExit as exc:
            raise AssertionError(f"memsim simulate exited with {exc.code}") from None
    return path, json.loads(stdout.getvalue())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs: the default card on two chips, and σ = 0.15 on one chip."""
    directory = tmp_path_factory.mktemp("traces")
    return simulate_cli(directory, "base.h5", "--chips", "2"), simulate_cli(directory, "noisy.h5", "--sigma", "0.15")


@pytest.fixture(scope="module")
def traces(runs):
    return runs[0][0], runs[1][0]


@pytest.fixture(scope="module")
def base(traces):
    return traces[0]


# What `memsim trace summary --json` prints besides every key of `memsim simulate --json` (README "Analysing traces").
TRACE_ONLY = {"schema_version", "memsim_version", "per_chip", "energy_by_layer", "confusion", "per_class", "config",
              "cards"}
# Shared figures that a trace reduces from float tables (joules summed, per-chip seconds averaged) where simulate
# reduces the ledger's exact integers: equal to float rounding.
ROUNDED = {"energy_j", "energy_per_inference_j", "energy_by_component_j", "static_energy_j", "run_time_s",
           "cope_gop_per_j"}


def test_summary_json_has_every_figure_of_simulate_json_with_its_value(runs, run_cli):
    base, run = runs[0]  # run: what `memsim simulate --json` printed
    code, out, err = run_cli(["trace", "summary", str(base), "--json"])
    assert code == 0, err
    s = json.loads(out)
    assert set(s) == set(run) | TRACE_ONLY and not set(run) & TRACE_ONLY
    for key, value in run.items():
        if key in ROUNDED:
            assert s[key] == pytest.approx(value, rel=1e-12, abs=0), key
        else:
            assert s[key] == value, key
    assert s["chips"] == 2 and s["inferences"] == 450 and s["trace"] == str(base)
    rows = s["energy_by_layer"]
    assert sum(r["share"] for r in rows) == pytest.approx(1.0, rel=1e-12, abs=0)
    assert sum(r["energy_j"] for r in rows) == pytest.approx(s["energy_j"], rel=1e-12, abs=0)
    assert sum(s["energy_by_component_j"].values()) == pytest.approx(s["energy_j"], rel=1e-12, abs=0)
    assert [c["accuracy"] for c in s["per_chip"]] == run["accuracy_hw_per_chip"]
    assert sum(c["energy_j"] for c in s["per_chip"]) / 2 == pytest.approx(run["energy_j"], rel=1e-12, abs=0)
    assert [c["run_time_s"] for c in s["per_chip"]] == pytest.approx([run["run_time_s"]] * 2, rel=1e-12, abs=0)
    assert [r["layer"] for r in rows] == [0, 1, 2]
    assert s["config"]["workload"]["split"] == "calibration"
    assert list(s["cards"]) == ["isaac-2016"] and s["cards"]["isaac-2016"]["crossbar"]["rows"] == 128


def downgrade(path, version):
    """Rewrite a schema-4 trace as ``version`` (1, 2 or 3) wrote it: no /confusion, /outputs nor config
    ``outputs``; before 3 also no /utilization, /reads, /busy (nor /errors for 1), /chips without the pipeline's
    columns, and a summary attribute without the pipeline's figures."""
    with h5py.File(path, "a") as h5:
        for name in ("confusion", "outputs"):
            if name in h5:
                del h5[name]
        config = json.loads(h5.attrs["config"])
        del config["outputs"]
        h5.attrs["config"] = json.dumps(config)
        h5.attrs["schema_version"] = version
        if version >= 3:
            return
        for name in ("utilization", "reads", "busy", *(("errors",) if version < 2 else ())):
            del h5[name]
        old = h5["chips"][()]
        keep = [c for c in old.dtype.names
                if c not in ("latency_s", "first_latency_s", "throughput_inf_per_s", "static_energy_j")]
        units = {c: u for c, u in json.loads(h5["chips"].attrs["units"]).items() if c in keep}
        del h5["chips"]
        h5.create_dataset("chips", data=repack_fields(old[keep]))
        h5["chips"].attrs["units"] = json.dumps(units)
        summary = json.loads(h5.attrs["summary"])
        for key in ("latency_first_s", "utilization", "static_energy_j", "stages", "age_s"):
            del summary[key]
        h5.attrs["summary"] = json.dumps(summary)
        config = json.loads(h5.attrs["config"])
        del config["timing"]
        h5.attrs["config"] = json.dumps(config)
        h5.attrs["schema_version"] = version


@pytest.mark.parametrize("version", [1, 2])
def test_older_schemas_summarize_with_the_figures_they_hold(version, tmp_path, run_cli):
    path = tmp_path / f"schema{version}.h5"
    shutil.copyfile(GOLDEN, path)
    fresh = summarize(memsim.trace.open(path))
    downgrade(path, version)
    code, out, err = run_cli(["trace", "summary", str(path), "--json"])
    assert code == 0, err
    s = json.loads(out)
    missing = {"latency_first_s", "utilization", "static_energy_j", "stages", "age_s", "confusion", "per_class"}
    assert s["schema_version"] == version and set(s) == set(fresh) - missing
    # Before schema 3 the engine ran the layers one after another: latency and throughput from the run time.
    assert s["latency_s"] == s["run_time_s"] / s["inferences"]
    assert s["throughput_inf_per_s"] == s["inferences"] / s["run_time_s"]
    for key in set(s) - {"latency_s", "throughput_inf_per_s", "schema_version", "config", "trace"}:
        assert s[key] == fresh[key], key
    code, out, err = run_cli(["trace", "summary", str(path)])
    assert code == 0, err
    assert "(run time / inferences)" in out and "where time goes" not in out and "utilization" not in out


def test_schema_3_trace_opens_and_reports_all_but_the_class_figures(tmp_path, run_cli):
    """A schema-3 trace (before /confusion and /outputs) opens, summarizes, exports and plots what it holds; the
    confusion plot says in one line that the trace has no confusion matrix."""
    path = tmp_path / "schema3.h5"
    shutil.copyfile(GOLDEN, path)
    fresh = summarize(memsim.trace.open(path))
    downgrade(path, 3)
    tr = memsim.trace.open(path)
    assert tr.schema_version == 3 and tr.confusion is None and tr.outputs is None and tr.busy is not None
    assert "confusion" not in tr.tables() and "outputs" not in tr.tables()
    code, out, err = run_cli(["trace", "summary", str(path), "--json"])
    assert code == 0, err
    s = json.loads(out)
    assert set(s) == set(fresh) - {"confusion", "per_class"}
    for key in set(s) - {"schema_version", "config", "trace"}:
        assert s[key] == fresh[key], key
    code, out, err = run_cli(["trace", "summary", str(path)])
    assert code == 0, err
    assert "confusion matrix" not in out and "where time goes" in out
    code, out, err = run_cli(["trace", "export", str(path), "--csv", str(tmp_path / "csv")])
    assert code == 0, err
    assert not (tmp_path / "csv" / "confusion.csv").exists() and "accuracy_hw.class" not in out
    assert "accuracy_hw.class" not in (tmp_path / "csv" / "summary.csv").read_text()
    code, out, err = run_cli(["trace", "plot", str(path), "--kind", "confusion", "-o", str(tmp_path / "c.png")])
    assert code == 2 and err.count("\n") == 1 and "records no confusion matrix" in err
    assert not (tmp_path / "c.png").exists()


def test_summary_table_lists_components_layers_chips_config_and_card(base, run_cli):
    code, out, err = run_cli(["trace", "summary", str(base)])
    assert code == 0, err
    s = memsim.trace.open(base).summary
    for text in ("hardware (mean ± std)", "by component", "by layer", "layer 2 (32 → 10, 1 tile)",
                 "latency per inference", "throughput", "COPE", "workload.split = calibration",
                 "card isaac-2016", "crossbar.rows = 128"):
        assert text in out, text
    chip_table = out.split("chip   accuracy")[1].split("\n\n")[0]
    per_chip = [line.split() for line in chip_table.splitlines()[1:]]
    assert [row[0] for row in per_chip] == ["0", "1"]
    assert [float(row[1]) for row in per_chip] == pytest.approx(
        [100 * a for a in s["accuracy_hw_per_chip"]], rel=0, abs=0.005)
    shares = [float(line.split()[-2]) for line in out.split("by component")[1].split("by layer")[0].splitlines()
              if line.strip()]
    assert len(shares) == 6 and sum(shares) == pytest.approx(100, rel=0, abs=0.35)


def test_compare_puts_figures_side_by_side_with_ratios_to_the_first(traces, run_cli):
    base, noisy = traces
    code, out, err = run_cli(["trace", "compare", str(base), str(noisy), "--json"])
    assert code == 0, err
    cmp = json.loads(out)
    assert cmp["traces"] == [str(base), str(noisy)]
    figures = {f["figure"]: f for f in cmp["figures"]}
    sa, sb = (memsim.trace.open(p).summary for p in traces)
    for key in ("accuracy_hw", "energy_j", "cope_gop_per_j", "latency_s"):
        assert figures[key]["values"] == pytest.approx([sa[key], sb[key]], rel=1e-12, abs=0), key
        assert figures[key]["ratios"][0] == 1.0
        assert figures[key]["ratios"][1] == pytest.approx(sb[key] / sa[key], rel=1e-12, abs=0), key
    assert figures["accuracy_hw"]["ratios"][1] < 1  # σ = 0.15 is worse than the card's 5 %
    diff = cmp["config_differences"]
    assert diff["chips"] == [2, 1]
    assert diff["devices.overrides.cell.variation.sigma_rel"] == [None, 0.15]
    assert "trace" not in diff

    code, out, err = run_cli(["trace", "compare", str(base), str(noisy)])
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split() == ["figure", "base.h5", "noisy.h5", "÷", "base.h5"]
    cope = next(r for r in rows if r.startswith("COPE"))
    assert cope.split()[-1] == f"{sb['cope_gop_per_j'] / sa['cope_gop_per_j']:.3f}"
    assert "devices.overrides.cell.variation.sigma_rel" in out


def test_compare_needs_two_traces(base, run_cli):
    code, _, err = run_cli(["trace", "compare", str(base)])
    assert code == 2 and err.startswith("memsim: error: compare needs at least two traces")


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_export_writes_tables_whose_totals_equal_the_trace(base, tmp_path, run_cli):
    out_dir = tmp_path / "csv"
    code, out, err = run_cli(["trace", "export", str(base), "--csv", str(out_dir)])
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        ["events.csv", "counters.csv", "layers.csv", "chips.csv", "errors.csv", "summary.csv", "utilization.csv",
         "reads.csv", "busy.csv", "confusion.csv"])
    tr = memsim.trace.open(base)
    events = read_csv(out_dir / "events.csv")
    assert len(events) == len(tr.events)
    assert list(events[0]) == list(tr.events.columns)
    # Floats are written with repr, so every value reads back bit for bit and the totals agree.
    assert [float(r["energy_j"]) for r in events] == tr.events["energy_j"].tolist()
    assert [float(r["t_s"]) for r in events] == tr.events["t_s"].tolist()
    assert sum(float(r["energy_j"]) for r in events) == pytest.approx(
        tr.events["energy_j"].sum(), rel=1e-12, abs=0)
    assert {r["component"] for r in events} == {"dac", "crossbar", "sample_hold", "adc", "shift_add", "register"}
    assert {r["action"] for r in events} >= {"drive", "read", "sample", "convert", "shift_add", "reduce", "write"}
    counters = read_csv(out_dir / "counters.csv")
    conv = next(r for r in counters if (r["component"], r["action"]) == ("adc", "convert"))
    converts = [r for r in events if (r["component"], r["action"]) == ("adc", "convert")]
    assert int(conv["count"]) == sum(int(r["count"]) for r in converts)
    assert sum(float(r["energy_j"]) for r in counters) == pytest.approx(
        sum(float(r["energy_j"]) for r in events), rel=1e-12, abs=0)
    chips = read_csv(out_dir / "chips.csv")
    assert [float(r["accuracy"]) for r in chips] == list(tr.chips["accuracy"])
    layers = read_csv(out_dir / "layers.csv")
    assert sum(float(r["energy_j"]) for r in layers) * 2 == pytest.approx(
        sum(float(r["energy_j"]) for r in events), rel=1e-12, abs=0)
    errors = read_csv(out_dir / "errors.csv")
    assert sum(int(r["count"]) for r in errors) == 2 * 450 * int(tr.layers["outputs"].sum())
    summary = {r["figure"]: (float(r["value"]), r["unit"]) for r in read_csv(out_dir / "summary.csv")}
    assert summary["energy_j"] == (pytest.approx(sum(float(r["energy_j"]) for r in events) / 2, rel=1e-12, abs=0), "J")
    assert summary["cope_gop_per_j"][0] == pytest.approx(tr.summary["cope_gop_per_j"], rel=1e-12, abs=0)
    components = [k for k in summary if k.startswith("energy_j.component.")]
    assert sum(summary[k][0] for k in components) == pytest.approx(summary["energy_j"][0], rel=1e-12, abs=0)


def test_export_into_a_missing_parent_is_one_line_exit_2(base, tmp_path, run_cli):
    code, out, err = run_cli(["trace", "export", str(base), "--csv", str(tmp_path / "no" / "dir")])
    assert code == 2 and err.count("\n") == 1 and "does not exist" in err
    assert not (tmp_path / "no").exists()


def assert_real_png(path, min_bytes=10_000):
    """A valid PNG of non-trivial size whose pixels are not one flat colour."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 100 and height > 100
    assert len(data) > min_bytes
    from matplotlib.image import imread

    pixels = imread(path)[..., :3]
    assert pixels.shape[:2] == (height, width)
    assert np.mean(np.any(pixels < 0.9, axis=-1)) > 0.01  # more than 1 % of the picture is drawn
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20  # more than a few flat colours
    return width, height


@pytest.mark.parametrize("kind", list(plots.PLOTS))
def test_plot_writes_a_real_png(kind, base, tmp_path, run_cli):
    out = tmp_path / f"{kind}.png"
    code, stdout, err = run_cli(["trace", "plot", str(base), "--kind", kind, "-o", str(out)])
    assert code == 0, err
    assert stdout.strip() == f"wrote {out}"
    assert_real_png(out)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left


def test_plot_kinds_and_their_help_come_from_the_registry(base, tmp_path):
    from memsim.cli.main import cli

    option = next(p for p in cli.commands["trace"].commands["plot"].params if p.name == "kind")
    assert list(option.type.choices) == list(plots.PLOTS)
    assert all(f"{name}: {kind.description}" in option.help for name, kind in plots.PLOTS.items())
    with pytest.raises(ValueError, match="^--kind 'heatmap' is unknown; allowed: energy, timeline, errors, accuracy, "
                                         "confusion, latency$"):
        plots.plot(memsim.trace.open(base), "heatmap", tmp_path / "h.png")
    assert list(tmp_path.iterdir()) == []


def test_energy_plot_bars_are_the_summary_energies(base):
    tr = memsim.trace.open(base)
    fig = plots.energy_figure(tr)
    by_component = fig.axes[0]
    widths = np.array([p.get_width() for p in by_component.patches])
    s = summarize(tr)
    shares = sorted(e / s["energy_j"] for e in s["energy_by_component_j"].values())
    assert sorted(widths / widths.sum()) == pytest.approx(shares, rel=1e-9, abs=0)
    by_layer = fig.axes[1]
    heights = {}
    for p in by_layer.patches:
        heights[round(p.get_x(), 6)] = heights.get(round(p.get_x(), 6), 0) + p.get_height()
    layer_share = [r["share"] for r in s["energy_by_layer"]]
    stacked = np.array([heights[k] for k in sorted(heights)])
    assert stacked / stacked.sum() == pytest.approx(layer_share, rel=1e-9, abs=0)


def test_errors_table_adds_up_to_the_bit_exact_rate(base):
    tr = memsim.trace.open(base)
    err = tr.errors
    outputs = int(tr.layers["outputs"].sum())
    for i, chip in enumerate(tr.chips["chip"]):
        sel = err["chip"] == chip
        assert err["count"][sel].sum() == tr.inferences * outputs
        exact = err["count"][sel & (err["bit"] == -1)].sum()
        assert exact / (tr.inferences * outputs) == pytest.approx(tr.chips["bit_exact_rate"][i], rel=1e-12, abs=0)
        assert err["count"][sel & (err["bit"] >= 0)].sum() > 0  # σ = 5 % makes errors
    # Dense: every (chip, layer) has the same bit range, starting at -1.
    bits = {(int(c), int(l)): tuple(err["bit"][(err["chip"] == c) & (err["layer"] == l)])
            for c in tr.chips["chip"] for l in tr.layers["layer"]}
    assert len(set(bits.values())) == 1 and next(iter(bits.values()))[0] == -1


def test_timeline_intervals_are_the_recorded_busy_window(base):
    """Schema 3 records the engine's busy intervals of chip 0's first vectors (``/busy``)."""
    tr = memsim.trace.open(base)
    iv = busy_intervals(tr, chip=0)
    assert len(iv) == len(tr.busy) > 0
    assert np.all(iv["end_s"] >= iv["start_s"])
    assert iv["end_s"].max() <= float(tr.chips["makespan_s"][0])
    # Every crossbar read takes the card's read time, and one tile's reads never overlap.
    t_read = tr.cards["isaac-2016"]["crossbar"]["t_read_s"]
    reads = iv[iv["component"] == "crossbar"]
    assert reads["end_s"] - reads["start_s"] == pytest.approx(np.full(len(reads), t_read), rel=1e-9, abs=0)
    for layer, tile in {(int(r["layer"]), int(r["tile"])) for r in reads}:
        lane = np.sort(reads[(reads["layer"] == layer) & (reads["tile"] == tile)]["start_s"])
        assert np.all(np.diff(lane) >= t_read * (1 - 1e-9))
    # Layers pipeline: layer 1 starts its first vector before layer 0 has finished the window.
    first_l1 = iv["start_s"][iv["layer"] == 1].min()
    assert first_l1 < iv["end_s"][iv["layer"] == 0].max()
    with pytest.raises(ValueError, match="chip 0 only"):
        busy_intervals(tr, chip=1)


def test_trace_timeline_draws_the_gantt_chart(base, tmp_path, run_cli):
    out = tmp_path / "timeline.png"
    code, stdout, err = run_cli(["trace", "timeline", str(base), "-o", str(out)])
    assert code == 0, err
    assert stdout.strip() == f"wrote {out}"
    assert_real_png(out)


def test_timeline_of_a_chip_the_trace_lacks_is_one_line_exit_2(base, tmp_path, run_cli):
    code, _, err = run_cli(["trace", "plot", str(base), "--kind", "timeline", "--chip", "5",
                            "-o", str(tmp_path / "t.png")])
    assert code == 2 and err.count("\n") == 1 and "chip = 5" in err
    assert list(tmp_path.iterdir()) == []


def test_plot_without_matplotlib_is_one_line_exit_2(base, tmp_path, run_cli, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, out, err = run_cli(["trace", "plot", str(base), "-o", str(tmp_path / "e.png")])
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("memsim: error: plotting needs matplotlib")
    assert "pip install 'memsim[plot]'" in err
    assert list(tmp_path.iterdir()) == []


def test_trace_timeline_without_matplotlib_is_one_line_exit_2(base, tmp_path, run_cli, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, _, err = run_cli(["trace", "timeline", str(base), "-o", str(tmp_path / "t.png")])
    assert code == 2 and err.count("\n") == 1 and "plotting needs matplotlib" in err
    assert list(tmp_path.iterdir()) == []


def test_plot_to_an_unknown_format_is_one_line_exit_2(base, tmp_path, run_cli):
    code, _, err = run_cli(["trace", "plot", str(base), "-o", str(tmp_path / "e.bmp")])
    assert code == 2 and err.count("\n") == 1 and "'.bmp'" in err


def test_readme_shows_the_energy_plot_and_the_command_that_made_it():
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    assert "![Energy per component and per layer of the default run](docs/energy.png)" in readme
    assert "memsim trace plot run.h5 --kind energy -o docs/energy.png" in readme
    assert_real_png(root / "docs" / "energy.png")
