"""Quantization plans: TOML round trip, validation against the network and the hardware, and their effect."""

import numpy as np
import pytest

from memsim.config import SimConfig
from memsim.ledger import time_fs
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
        ("[[layers]]\nweight_bits = 8\n" * 4, "plan has 4 layer(s) but the network has 3 crossbar layer(s)"),
        ("[[layers]]\nlayer = 1\nweight_bits = 8\n", "layers must be listed in order"),
        ("[[layers]]\nweight_bits = 10\n" + "[[layers]]\nweight_bits = 8\n" * 2, "weight_bits 10 needs 5 slices"),
        ('[[layers]]\nweight_bits = 8\ndiscard = ["s4t0"]\n' + "[[layers]]\nweight_bits = 8\n" * 2,
         "outside the grid of 4 slices × 8 cycles"),
        ('[[layers]]\nweight_bits = 8\ndiscard = ["s0t8"]\n' + "[[layers]]\nweight_bits = 8\n" * 2,
         "outside the grid"),
        ('[[layers]]\nweight_bits = 8\ndiscard = ["slice0"]\n', "is not of the form"),
        ("[[layers]]\nweight_bits = 8\nbits = 3\n", "unknown key 'bits'"),
        ("[[layers]]\nweight_bits = 8\ncompensation = 'median'\n", "layers[0].compensation = 'median'"),
        ("[[layers]]\nweight_bits = 8\nadc_bits = 6\n", "unknown key 'adc_bits'"),  # schema 1 has none
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


def test_schema_1_plans_load_and_schema_2_adds_adc_bits(tmp_path):
    old = tmp_path / "old.toml"
    old.write_text("schema_version = 1\n[[layers]]\nweight_bits = 6\nweight_shift = 1\n")
    assert Plan.load(old).layers == (LayerPlan(6, 1),)
    assert Plan.load(old).layers[0].adc_bits is None
    plan = Plan((LayerPlan(6, 1, ((0, 0),), "calibrated", 5), LayerPlan(8)))
    path = tmp_path / "new.toml"
    plan.save(path)
    text = path.read_text()
    assert "schema_version = 2" in text and "adc_bits = 5" in text and text.count("adc_bits") == 1
    assert Plan.load(path) == plan


@pytest.mark.parametrize("entry, fragment", [
    ("adc_bits = 9", "plan layer 0: adc_bits = 9 is out of range; the hardware ADC has 8 bits"),
    ("adc_bits = 0", "layers[0].adc_bits = 0 is out of range"),
    ("adc_bits = 'six'", "layers[0].adc_bits = 'six' is not an integer"),
    ("adc_bits = 3", "adc.bits = 3 is outside the energy table"),
])
def test_plan_adc_bits_are_checked(entry, fragment, tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "plan.toml"
    path.write_text("schema_version = 2\n[[layers]]\nweight_bits = 8\n" + entry + "\n"
                    + "[[layers]]\nweight_bits = 8\n" * 2)
    code, _, err = run_cli(["simulate", "--plan", str(path)])
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and fragment in lines[0], err
    assert list(tmp_path.iterdir()) == [path]


def test_a_layer_at_fewer_adc_bits_pays_that_resolution_and_ranges_for_it():
    """A plan's per-layer ADC resolution: conversions priced by the card's energy table at that resolution,
    SAR latency ``(bits + 1)·t_cycle``, and the calibrated range re-fitted for the fewer codes."""
    cfg = SimConfig(trace="", card_overrides={"cell": {"variation": {"model": "none"}}})
    full = simulate(cfg, plan=Plan(tuple(LayerPlan(8) for _ in range(3))))
    low = simulate(cfg, plan=Plan((LayerPlan(8, adc_bits=5), LayerPlan(8), LayerPlan(8))))
    card = full.card
    assert low.design.layers[0].adc_bits == 5 and low.design.layers[1].adc_bits is None
    assert low.design.layer_cards[0].adc.bits == 5 and low.design.layer_cards[1] is low.design.card
    # Same conversions; layer 0's at the 5-bit energy (0.99 pJ on isaac-2016) instead of the 8-bit one.
    counts = full.ledger.counts()[("adc", "convert")]
    assert low.ledger.counts()[("adc", "convert")] == counts
    conv_rows = [r for r in low.ledger.rows if r.component == "adc" and r.action == "convert"]
    e5, e8 = card.with_adc_bits(5).adc.convert_cost().energy_j, card.adc.convert_cost().energy_j
    assert e5 == pytest.approx(0.99e-12) and e8 == pytest.approx(1.67e-12)
    for r in conv_rows:
        price = e5 if r.layer == 0 else e8
        assert r.energy_zj == pytest.approx(r.count * price * 1e21, rel=1e-9)
    assert low.summary()["energy_j"] < full.summary()["energy_j"]
    assert low.design.timing[0].tiles[0].times.conv < full.design.timing[0].tiles[0].times.conv
    # Fewer codes cover the same calibrated partial sums with a coarser power-of-two step.
    assert low.design.layers[0].adc_step > full.design.layers[0].adc_step


def test_sums_converted_with_fewer_bits_are_priced_and_timed_at_that_resolution():
    """``adc_bits_by_sum``: the sums of slice 0 at 5 bits save exactly (E(8) − E(5)) per conversion, their codes
    are those of a 2**3 times coarser step, and the ADC is busy (5 + 1)/(8 + 1) as long for them."""
    cfg = SimConfig(trace="", card_overrides={"cell": {"variation": {"model": "none"}}})
    full = simulate(cfg, plan=Plan(tuple(LayerPlan(8) for _ in range(3))))
    coarse = tuple(((0, t), 5) for t in range(8))
    low = simulate(cfg, plan=Plan((LayerPlan(8, adc_bits_by_sum=coarse), LayerPlan(8), LayerPlan(8))))
    layer = low.design.layers[0]
    assert layer.adc_coarse[:, 0].tolist() == [3] * 8 and not layer.adc_coarse[:, 1:].any()
    card = low.card

    def adc_energy(result, layer_index):
        return sum(r.energy_zj for r in result.ledger.rows
                   if r.component == "adc" and r.action == "convert" and r.layer == layer_index)

    conversions = low.inferences * 64 * 8  # inputs × outputs × cycles of slice 0 (one row group, offset encoding)
    saved_j = conversions * (card.adc.convert_cost().energy_j - card.with_adc_bits(5).adc.convert_cost().energy_j)
    assert (adc_energy(full, 0) - adc_energy(low, 0)) / 1e21 == pytest.approx(saved_j, rel=1e-9)
    assert adc_energy(full, 1) == adc_energy(low, 1)
    busy = lambda r: sum(t.busy_fs()["adc"] for t in r.design.timing[0].tiles)  # noqa: E731
    t8, t5 = (time_fs(c.adc.latency_s) for c in (card, card.with_adc_bits(5)))
    assert busy(full) - busy(low) == 64 * 8 * (t8 - t5)
    # Slice 0 has significance 1: its codes lose their 3 lowest bits, so outputs move but stay close.
    s = low.summary()
    assert s["bit_exact_rate"] < 1.0 and s["accuracy_hw"] >= full.summary()["accuracy_hw"] - 0.02
