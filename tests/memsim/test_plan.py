"""Quantization plans: TOML round trip, validation against the network and the hardware, and their effect."""

import numpy as np
import pytest

from memsim.config import SimConfig
from memsim.planning.plan import LayerPlan, Plan
from memsim.simulate import simulate


def test_plan_round_trips_through_toml(tmp_path):
    plan = Plan(
        (LayerPlan(6, 2, ((0, 1), (0, 0), (2, 7)), "calibrated"), LayerPlan(8), LayerPlan(4, 1, ((1, 3),), "zero")),
        "hand-written",
    )
    path = tmp_path / "plan.toml"
    plan.save(path)
    assert Plan.load(path) == plan
    assert Plan.load(path).layers[0].discard == ((0, 0), (0, 1), (2, 7))  # sorted
    assert "s2t7" in path.read_text()


@pytest.mark.parametrize(
    "layers, fragment",
    [
        ("[[layers]]\nweight_bits = 8\n" * 4, "plan has 4 layers; the network has 3"),
        ("[[layers]]\nlayer = 1\nweight_bits = 8\n", "layers must be listed in order"),
        ("[[layers]]\nweight_bits = 10\n" + "[[layers]]\nweight_bits = 8\n" * 2, "weight_bits 10 needs 5 slices"),
        ('[[layers]]\nweight_bits = 8\ndiscard = ["s4t0"]\n' + "[[layers]]\nweight_bits = 8\n" * 2,
         "outside the grid of 4 slices × 8 cycles"),
        ('[[layers]]\nweight_bits = 8\ndiscard = ["s0t8"]\n' + "[[layers]]\nweight_bits = 8\n" * 2,
         "outside the grid"),
        ('[[layers]]\nweight_bits = 8\ndiscard = ["slice0"]\n', "is not of the form"),
        ("[[layers]]\nweight_bits = 8\nbits = 3\n", "unknown key 'bits'"),
        ("[[layers]]\nweight_bits = 8\ncompensation = 'median'\n", "plan.compensation"),
    ],
)
def test_plans_that_do_not_fit_are_rejected(layers, fragment, tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "plan.toml"
    path.write_text("schema_version = 1\n" + layers)
    code, out, err = run_cli(["simulate", "--plan", str(path)])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], err
    assert list(tmp_path.iterdir()) == [path]  # no trace left behind


def test_a_plan_changes_formats_and_discards_conversions():
    cfg = SimConfig(trace="", card_overrides={"cell": {"variation": {"model": "none"}}})
    base = simulate(cfg).summary()
    plan = Plan(tuple(LayerPlan(6, 2, tuple((s, t) for s in range(3) for t in range(3)), "calibrated")
                      for _ in range(3)))
    result = simulate(cfg, plan=plan)
    s = result.summary()
    for layer in result.design.layers:
        assert layer.qlayer.w_format.bits == 6
        assert layer.encoded.slices == 3  # 6-bit weights on 2-bit cells
        assert not layer.discard.keep[:3, :3].any() and layer.discard.keep[3:, :].all()
    assert s["adc_conversions"] < base["adc_conversions"]
    assert s["energy_j"] < base["energy_j"]
    # Zero variation: the hardware equals the integer reference of the plan, bit for bit.
    assert s["bit_exact_rate"] == 1.0
    assert s["accuracy_hw"] == s["accuracy_quantized"]


def test_weight_shift_keeps_resolution_and_saturates():
    cfg = SimConfig(trace="", card_overrides={"cell": {"variation": {"model": "none"}}})
    wide = simulate(cfg, plan=Plan(tuple(LayerPlan(5, 0) for _ in range(3)))).design
    fine = simulate(cfg, plan=Plan(tuple(LayerPlan(5, 3) for _ in range(3)))).design
    for w, f in zip(wide.layers, fine.layers, strict=True):
        assert f.qlayer.w_format.frac_bits == w.qlayer.w_format.frac_bits + 3
        if f.qlayer.out_format is not None:  # three more accumulator bits fall below the output LSB
            assert f.qlayer.shift == w.qlayer.shift + 3
        assert np.abs(w.qlayer.qw).max() < 16  # range-preserving: nothing saturates
        assert f.qlayer.qw.min() == -16 or f.qlayer.qw.max() == 15  # finer: the largest weights saturate
