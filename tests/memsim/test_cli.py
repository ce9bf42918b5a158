"""The command line: defaults run end to end; bad input is one line on stderr, exit 2, and no trace file."""

import json
import os

import h5py
import numpy as np
import pytest



def test_simulate_json_reports_every_figure(tmp_path, run_cli):
    trace = tmp_path / "run.h5"
    code, out, err = run_cli(["simulate", "--json", "-o", str(trace)])
    assert code == 0, err
    s = json.loads(out)
    for key in ("accuracy_float", "accuracy_quantized", "accuracy_hw", "accuracy_hw_std", "macs", "ops",
                "energy_j", "energy_by_component_j", "latency_s", "throughput_inf_per_s", "cope_gop_per_j",
                "bit_exact_rate", "trace", "latency_first_s", "utilization", "static_energy_j", "stages"):
        assert key in s
    assert s["inferences"] == 629 and s["chips"] == 1
    assert 0.9 < s["accuracy_float"] <= 1 and 0.5 < s["accuracy_hw"] <= 1
    assert s["ops"] == 2 * s["macs"] == 2 * 6464 * 629
    assert s["energy_j"] == pytest.approx(sum(s["energy_by_component_j"].values()), rel=1e-12, abs=0)
    # The pipeline: 8 bit-serial cycles of ISAAC's 100 ns read per vector in every layer, so one result per
    # 800 ns in steady state; one inference alone takes the sum of the three stage latencies.
    assert s["throughput_inf_per_s"] == pytest.approx(1 / 800e-9, rel=1e-12, abs=0)
    assert s["latency_first_s"] == pytest.approx(sum(st["latency_s"] for st in s["stages"]), rel=1e-12, abs=0)
    assert set(s["utilization"]) == {"dac", "crossbar", "sample_hold", "adc", "shift_add", "register"}
    assert 0.99 < s["utilization"]["crossbar"] <= 1 and s["static_energy_j"] == 0.0  # ISAAC gives no leakage
    assert s["cope_gop_per_j"] == pytest.approx(s["accuracy_hw"] * s["ops"] / s["energy_j"] / 1e9, rel=1e-12, abs=0)
    assert s["trace"] == str(trace) and trace.is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["run.h5"]  # no temporary file left behind
    with h5py.File(trace) as h5:
        assert h5.attrs["schema_version"] == 5  # traces/README.md; schema 5: per-chip seeding, chip_ledger
        assert "confusion" in h5 and "outputs" not in h5  # per-input outputs only with --outputs
        assert h5["events"]["energy_j"].sum() == pytest.approx(s["energy_j"], rel=1e-9, abs=0)
        assert json.loads(h5.attrs["config"])["workload"]["network"] == "digits-mlp"


def test_simulate_table_prints_accuracy_energy_latency_cope(tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["simulate", "--batch", "100"])
    assert code == 0, err
    for text in ("hardware (one chip)", "no spread over chips", "energy per chip run", "adc",
                 "latency per inference", "COPE", "GOP/J"):
        assert text in out
    assert "± 0.00 %" not in out  # one chip shows no spread it does not have
    assert (tmp_path / "memsim-trace.h5").is_file()
    code, out, err = run_cli(["simulate", "--batch", "100", "--chips", "2", "--no-trace"])
    assert code == 0 and "hardware (mean ± std)" in out and "no spread" not in out, err


def test_devices_lists_the_cards(run_cli):
    code, out, _ = run_cli(["devices", "--json"])
    assert code == 0
    cards = json.loads(out)
    assert {"isaac-2016", "isaac-milo2021", "neurosim-rram"} <= set(cards)
    assert cards["isaac-2016"]["array"] == "128x128"


def test_devices_lists_every_declared_action(run_cli):
    from memsim.ledger import ACTIONS, COMPONENTS

    code, out, _ = run_cli(["devices", "--actions", "--json"])
    assert code == 0
    rows = json.loads(out)["isaac-2016"]
    assert {r["component"] for r in rows} == set(COMPONENTS) and {r["action"] for r in rows} == set(ACTIONS)
    read = next(r for r in rows if (r["component"], r["action"]) == ("crossbar", "read"))
    assert read["energy_j"] == 30e-12 and read["latency_s"] == 100e-9
    code, out, _ = run_cli(["devices", "--actions"])
    assert code == 0 and "adc.convert" in out and "1.67 pJ" in out


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


@pytest.fixture
def bad_inputs(tmp_path):
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("seed = [unclosed\n")
    rng = np.random.default_rng(0)
    unchained = write_npz(tmp_path / "unchained.npz", W0=rng.normal(size=(64, 8)), b0=np.zeros(8),
                          W1=rng.normal(size=(9, 10)), b1=np.zeros(10))
    return {
        "unknown card": (["--card", "no-such-card"], "unknown card 'no-such-card'"),
        "negative sigma": (["--sigma", "-0.1"], "sigma_rel"),
        "zero ADC bits": (["--adc-bits", "0"], "adc.bits"),
        "weight bits the slices cannot hold": (["--weight-bits", "8", "--weight-slices", "2"], "weight_slices"),
        "trace in a missing directory": (["-o", str(tmp_path / "missing" / "run.h5")], "does not exist"),
        "malformed TOML": (["--config", str(bad_toml)], "not valid TOML"),
        "network shapes that do not chain": (["--network", unchained], "W1"),
        "network that does not fit the data": (["--network", write_npz(tmp_path / "wide.npz",
                                                W0=rng.normal(size=(30, 10)), b0=np.zeros(10))], "features"),
        "unknown config key": (["--config", str(_write(tmp_path / "k.toml", "[quantization]\nbits = 3\n"))],
                               "quantization.bits"),
        "negative age": (["--age", "-5"], "timing.age_s = -5.0 is out of range"),
        "empty buffer": (["--buffer", "0"], "timing.buffer_vectors = 0 is out of range"),
        "zero memory budget": (["--memory-budget", "0"], "memory_budget_mb = 0 is out of range"),
        "negative threads": (["--threads", "-1"], "threads = -1 is out of range"),
        "negative sigma scale": (["--sigma-scale", "-2"], "devices.sigma_scale = -2.0 is out of range; allowed >= 0"),
        "NaN sigma scale": (["--sigma-scale", "nan"], "devices.sigma_scale = nan is not finite; allowed >= 0"),
    }


def _write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "case",
    ["unknown card", "negative sigma", "zero ADC bits", "weight bits the slices cannot hold",
     "trace in a missing directory", "malformed TOML", "network shapes that do not chain",
     "network that does not fit the data", "unknown config key", "negative age", "empty buffer",
     "zero memory budget", "negative threads", "negative sigma scale", "NaN sigma scale"],
)
def test_bad_input_is_one_line_exit_2_and_no_trace(case, bad_inputs, tmp_path, run_cli, monkeypatch):
    args, fragment = bad_inputs[case]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    monkeypatch.chdir(out_dir)
    before = set(os.listdir(tmp_path))
    code, out, err = run_cli(["simulate", *args])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("memsim: error: "), err
    assert fragment in lines[0]
    assert "Traceback" not in err
    assert list(out_dir.iterdir()) == []
    assert set(os.listdir(tmp_path)) == before


def test_age_option_lowers_accuracy_where_the_card_drifts(run_cli):
    """neurosim-rram's drift model lowers conductances with log-time: an hour after programming the
    hardware accuracy is lower than fresh; the JSON reports the age."""
    base = ["simulate", "--json", "--no-trace", "--card", "neurosim-rram", "--data", "digits"]
    code, out, err = run_cli(base)
    assert code == 0, err
    fresh = json.loads(out)
    code, out, err = run_cli(base + ["--age", "3600"])
    assert code == 0, err
    aged = json.loads(out)
    assert aged["age_s"] == 3600.0 and fresh["age_s"] == 0.0
    assert aged["accuracy_hw"] < fresh["accuracy_hw"]



@pytest.mark.parametrize("value, fragment", [("-1", "devices.sigma_scale = -1.0 is out of range; allowed >= 0"),
                                             ("nan", "devices.sigma_scale = nan is not finite; allowed >= 0")])
def test_plan_rejects_a_bad_sigma_scale_with_exit_2(value, fragment, tmp_path, monkeypatch, run_cli):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["plan", "--sigma-scale", value])
    assert code == 2 and err.strip() == f"memsim: error: {fragment}"
    assert list(tmp_path.iterdir()) == []


def test_simulate_runs_the_measured_per_level_card(run_cli):
    code, out, err = run_cli(["simulate", "--card", "isaac-milo2021", "--no-trace", "--json"])
    assert code == 0, err
    s = json.loads(out)
    assert s["card"] == "isaac-milo2021" and s["trace"] is None
    assert 0.9 < s["accuracy_hw"] <= s["accuracy_quantized"] + 0.01 and s["bit_exact_rate"] < 1.0
    code, out, err = run_cli(["simulate", "--card", "isaac-milo2021", "--no-trace", "--json", "--sigma-scale", "0"])
    assert code == 0, err
    assert json.loads(out)["bit_exact_rate"] == 1.0
