"""Per-input outputs: predictions (and, on request, logits) per chip, confusion matrices and accuracy per class,
in the library, the trace (/confusion, /outputs), `memsim trace summary` and `memsim trace export`."""

import csv
import json
from pathlib import Path

import h5py
import numpy as np
import pytest

import memsim.trace
from memsim import metrics
from memsim.chip import program_chip
from memsim.config import OUTPUTS, SimConfig
from memsim.engine import Engine
from memsim.ledger import Ledger
from memsim.simulate import chip_generator, prepare, simulate
from memsim.trace import TraceWriter
from memsim.trace.report import MATRIX_CLASSES, class_lines, confusion_per_chip, summarize

GOLDEN = Path(__file__).resolve().parents[2] / "traces" / "reference.h5"
# Two chips at σ = 0.2 on the calibration split, in chunks of 50: predictions differ from chip to chip.
NOISY = SimConfig(data="digits", split="calibration", trace="", chips=2, batch=50).with_card_override(
    "cell", {"variation": {"model": "proportional", "sigma_rel": 0.2}})


@pytest.fixture(scope="module")
def logits_run(tmp_path_factory):
    """The noisy run with outputs = "logits", and its trace."""
    path = tmp_path_factory.mktemp("outputs") / "logits.h5"
    ledger = Ledger()
    writer = TraceWriter(str(path), ledger)
    result = simulate(NOISY.with_overrides(outputs="logits", trace=str(path)), ledger=ledger)
    writer.finish(result)
    return result, path


def test_predictions_and_logits_are_the_engines_last_layer_outputs(logits_run):
    """Each chip's predictions are the argmax of the last layer's outputs of the same chip run through the engine
    at once (the same seeded draws: the chip's own generator), and its logits are those outputs; the confusion
    matrix counts them."""
    result, _ = logits_run
    _, workload, design = prepare(NOISY)
    x, y = workload.data.x, workload.data.y
    qx = design.qnet.quantize_input(x)
    for chip in result.chips:
        rng = chip_generator(NOISY.seed, chip.chip)  # the chip's own stream (per-chip seeding, schema 5)
        last = Engine(program_chip(design, rng), Ledger(), chip.chip, rng).run(qx, len(qx)).layer_outputs[-1]
        assert chip.predictions.dtype == np.int32 and chip.predictions.shape == (len(x),)
        np.testing.assert_array_equal(chip.predictions, np.argmax(last, axis=1))
        np.testing.assert_array_equal(chip.logits, last)
        np.testing.assert_array_equal(chip.confusion, metrics.confusion_matrix(y, np.argmax(last, axis=1), 10))
        for array in (chip.predictions, chip.logits, chip.confusion):
            assert not array.flags.writeable
    assert not np.array_equal(result.chips[0].predictions, result.chips[1].predictions)


def test_confusion_sums_to_the_inputs_and_its_diagonal_is_the_accuracy(logits_run):
    result, _ = logits_run
    n = result.inferences
    for chip in result.chips:
        assert chip.confusion.shape == (10, 10) and chip.confusion.sum() == n
        assert np.trace(chip.confusion) / n == chip.accuracy
        np.testing.assert_array_equal(chip.confusion.sum(axis=1), np.bincount(result.labels, minlength=10))
    total = result.confusion()
    assert total.sum() == n * len(result.chips)
    np.testing.assert_array_equal(total, sum(c.confusion for c in result.chips))
    per_class = result.accuracy_per_class()
    inputs = np.bincount(result.labels, minlength=10)
    # Weighted by each class's inputs, the per-class accuracies give back the mean hardware accuracy.
    assert (per_class * inputs).sum() / n == pytest.approx(result.summary()["accuracy_hw"], rel=1e-12, abs=0)


def test_logits_times_their_lsb_approximate_the_float_network():
    """``logits × logits_lsb`` is the last layer's output on the float network's scale: without variation the
    logits are the integer reference, within 8-bit quantization of the float network."""
    cfg = SimConfig(split="calibration", trace="", outputs="logits").with_card_override(
        "cell", {"variation": {"model": "none"}})
    result = simulate(cfg)
    assert result.logits_lsb == 2.0 ** -result.logits_frac_bits
    qx = result.design.qnet.quantize_input(result.workload.data.x)
    np.testing.assert_array_equal(result.chips[0].logits, result.design.reference(qx)[-1])
    values = result.chips[0].logits * result.logits_lsb
    float_logits = result.workload.network.forward_float(result.workload.data.x)
    assert np.mean(np.abs(values - float_logits)) < 0.05 * np.mean(np.abs(float_logits))


def test_default_run_keeps_predictions_not_logits_and_records_no_per_input_table(tmp_path):
    """outputs = "none" (the default): the library still returns the predictions (one int per input and chip),
    never the logits; the trace has /confusion but no /outputs."""
    path = tmp_path / "none.h5"
    ledger = Ledger()
    writer = TraceWriter(str(path), ledger)
    result = simulate(NOISY.with_overrides(trace=str(path), chips=1), ledger=ledger)
    writer.finish(result)
    chip = result.chips[0]
    assert chip.logits is None and chip.predictions.nbytes == 4 * result.inferences
    tr = memsim.trace.open(path)
    assert tr.outputs is None and tr.config["outputs"] == "none"
    np.testing.assert_array_equal(confusion_per_chip(tr)[0], chip.confusion)


def test_logits_round_trip_through_the_trace_and_its_csv(logits_run, tmp_path, run_cli):
    result, path = logits_run
    tr = memsim.trace.open(path)
    out = tr.outputs
    n, chips = result.inferences, len(result.chips)
    assert out.columns == ("chip", "input", "label", "prediction", "logits") and len(out) == n * chips
    assert out.units["logits"] == "accumulator LSB" and out["logits"].shape == (n * chips, 10)
    assert out.attrs == {"logits_frac_bits": result.logits_frac_bits, "logits_lsb": result.logits_lsb}
    np.testing.assert_array_equal(out["chip"], np.repeat([0, 1], n))
    np.testing.assert_array_equal(out["input"], np.tile(np.arange(n), chips))
    np.testing.assert_array_equal(out["label"], np.tile(result.labels, chips))
    np.testing.assert_array_equal(out["prediction"], np.concatenate([c.predictions for c in result.chips]))
    np.testing.assert_array_equal(out["logits"], np.concatenate([c.logits for c in result.chips]))
    np.testing.assert_array_equal(confusion_per_chip(tr), np.stack([c.confusion for c in result.chips]))
    with h5py.File(path) as h5:  # without memsim: the predictions as a table, the logits as a 2-D array
        assert h5["outputs"].fields(["chip", "prediction"])[()]["prediction"].tolist() == out["prediction"].tolist()
        assert h5["outputs"]["logits"].shape == (n * chips, 10)

    code, stdout, err = run_cli(["trace", "export", str(path), "--csv", str(tmp_path / "csv")])
    assert code == 0, err
    with open(tmp_path / "csv" / "outputs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["chip", "input", "label", "prediction", *(f"logits_{i}" for i in range(10))]
    logits = np.array([[int(r[f"logits_{i}"]) for i in range(10)] for r in rows])
    np.testing.assert_array_equal(logits, out["logits"])
    with open(tmp_path / "csv" / "confusion.csv", newline="") as f:
        confusion = list(csv.DictReader(f))
    assert len(confusion) == chips * 100 and sum(int(r["count"]) for r in confusion) == n * chips


def test_summary_reports_the_confusion_matrix_and_accuracy_per_class(logits_run, run_cli):
    result, path = logits_run
    code, out, err = run_cli(["trace", "summary", str(path), "--json"])
    assert code == 0, err
    s = json.loads(out)
    assert s["confusion"] == result.confusion().tolist()
    inputs = np.bincount(result.labels, minlength=10)
    assert [c["label"] for c in s["per_class"]] == list(range(10))
    assert [c["inputs"] for c in s["per_class"]] == inputs.tolist()
    assert [c["accuracy"] for c in s["per_class"]] == pytest.approx(result.accuracy_per_class(), rel=1e-12, abs=0)
    for i, chip in enumerate(result.chips):
        per_chip = np.array([c["accuracy_per_chip"][i] for c in s["per_class"]])
        assert per_chip == pytest.approx(np.diag(chip.confusion) / inputs, rel=1e-12, abs=0)
        assert (per_chip * inputs).sum() / result.inferences == pytest.approx(chip.accuracy, rel=1e-12, abs=0)

    code, out, err = run_cli(["trace", "summary", str(path)])
    assert code == 0, err
    block = out.split("confusion matrix")[1].split("\n\n")[0].splitlines()
    assert "rows: true label, columns: prediction; counts summed over 2 chips" in block[0]
    assert block[1].split() == ["label", *map(str, range(10)), "accuracy", "inputs"]
    for k, line in enumerate(block[2:12]):
        fields = line.split()
        assert [int(v) for v in fields[:11]] == [k, *result.confusion()[k]]
        assert float(fields[11]) == pytest.approx(100 * result.accuracy_per_class()[k], rel=0, abs=0.005)
        assert int(fields[13]) == inputs[k]


def test_outputs_option_writes_predictions_or_logits(tmp_path, run_cli):
    """A bare --outputs records the predictions; --outputs logits the logits too; --outputs none overrides a
    config file that asks for them."""
    config = tmp_path / "run.toml"
    config.write_text('outputs = "logits"\nchips = 2\n[workload]\nsplit = "calibration"\n')
    expected = {("--outputs",): "predictions", ("--outputs", "logits"): "logits", ("--outputs", "none"): "none",
                (): "logits"}
    for i, (option, outputs) in enumerate(expected.items()):
        path = tmp_path / f"run{i}.h5"
        code, _, err = run_cli(["simulate", "--config", str(config), "-o", str(path), *option, "--json"])
        assert code == 0, err
        tr = memsim.trace.open(path)
        assert tr.config["outputs"] == outputs
        if outputs == "none":
            assert tr.outputs is None
        else:
            assert len(tr.outputs) == 2 * tr.inferences and ("logits" in tr.outputs.columns) == (outputs == "logits")
        assert len(tr.confusion) == 2 * 100


@pytest.mark.parametrize("argv, fragment", [
    (["--outputs", "everything"], "'--outputs': 'everything' is not one of 'none', 'predictions', 'logits'"),
    (["--config", "{bad}"], "outputs = 'all' is not valid; allowed: logits, none, predictions"),
])
def test_bad_outputs_value_is_one_line_exit_2_and_no_trace(argv, fragment, tmp_path, run_cli, monkeypatch):
    bad = tmp_path / "bad.toml"
    bad.write_text('outputs = "all"\n')
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["simulate", *(a.format(bad=bad) for a in argv)])
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("memsim: error: ") and fragment in lines[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_outputs_config_field_round_trips_and_is_validated():
    assert OUTPUTS == ("none", "predictions", "logits") and SimConfig().outputs == "none"
    cfg = SimConfig(outputs="logits")
    assert cfg.to_dict()["outputs"] == "logits" and SimConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match=r"^outputs = 'Logits' is not valid; allowed: logits, none, predictions$"):
        SimConfig(outputs="Logits")


def test_labels_beyond_the_networks_outputs_are_refused(tmp_path):
    """A data set whose labels exceed the last layer's outputs is refused in one line before any simulation
    (memsim.simulate.fit_to_network): a confusion matrix of the network's classes could not count them."""
    _, workload, _ = prepare(SimConfig(split="calibration", trace=""))
    y = workload.data.y.copy()
    y[:5] = 12
    data = tmp_path / "data.npz"
    np.savez(data, x=workload.data.x, y=y)
    with pytest.raises(ValueError, match="has label 12; network 'digits-mlp' has 10 outputs, so labels must be 0..9"):
        simulate(SimConfig(data=str(data), trace="", batch=100))


def test_confusion_matrix_and_class_accuracy():
    confusion = metrics.confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 4)
    assert confusion.tolist() == [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]]
    accuracy = metrics.class_accuracy(confusion)
    assert accuracy[:3].tolist() == [0.5, 1.0, 2 / 3] and np.isnan(accuracy[3])
    assert metrics.class_accuracy(np.stack([confusion, confusion])).shape == (2, 4)


def test_summarize_of_the_golden_trace_has_the_class_figures():
    tr = memsim.trace.open(GOLDEN)
    s = summarize(tr)
    assert len(s["confusion"]) == 10 and sum(map(sum, s["confusion"])) == s["inferences"] * s["chips"]
    for i, accuracy in enumerate(tr.chips["accuracy"]):
        assert np.trace(confusion_per_chip(tr)[i]) / tr.inferences == accuracy
    assert len(tr.outputs) == s["inferences"] * s["chips"]  # traces/reference.toml records the predictions


def test_many_classes_print_the_accuracy_per_class_without_the_matrix():
    classes = MATRIX_CLASSES + 1
    s = {"chips": 1, "confusion": np.eye(classes, dtype=int).tolist(),
         "per_class": [{"label": k, "inputs": 1, "accuracy": 1.0 if k else float("nan"), "accuracy_per_chip": [1.0]}
                       for k in range(classes)]}
    lines = class_lines(s)
    assert lines[0].startswith(f"accuracy per class        {classes} classes")
    assert lines[1].split() == ["label", "accuracy", "inputs"]
    assert lines[2].split() == ["0", "-", "1"] and lines[3].split() == ["1", "100.00", "%", "1"]
    assert len(lines) == classes + 3
