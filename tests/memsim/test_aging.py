"""Drift after programming and read disturb on a programmed chip, and their effect on accuracy."""

from dataclasses import replace

import numpy as np
import pytest

from memsim.devices.disturb import LinearDisturb
from memsim.devices.drift import PowerLaw
from memsim.aging import age_chip, disturb_chip, with_conductances
from memsim.chip import design_chip, program_chip
from memsim.config import SimConfig
from memsim.engine import Engine, EngineOptions
from memsim.workload.fixedpoint import FixedFormat
from memsim.ledger import Ledger
from memsim.workload.quantize import QuantizedLayer, QuantizedNetwork
from memsim.simulate import simulate


def small_design(card):
    rng = np.random.default_rng(0)
    layer = QuantizedLayer(0, rng.integers(-8, 8, (12, 3)), np.zeros(3, dtype=np.int64), FixedFormat(4, 0, False),
                           FixedFormat(4, 3, True), None)
    return design_chip(card, QuantizedNetwork("s", (layer,)), "offset")


def test_age_chip_applies_the_power_law_to_every_cell_and_reference(card_factory):
    base = card_factory(read_energy_model="cell")
    card = replace(base, cell=replace(base.cell, drift=PowerLaw(nu=0.1, t0_s=10.0)))
    design = small_design(card)
    chip = program_chip(design, np.random.default_rng(1))
    assert age_chip(chip, 0.0, np.random.default_rng(2)) is chip
    aged = age_chip(chip, 990.0, np.random.default_rng(2))
    cell = card.cell
    factor = (1000.0 / 10.0) ** -0.1
    for t0, t1 in zip(chip.tiles[0], aged.tiles[0], strict=True):
        g0 = t0.g_norm * cell.delta_g_s + cell.g_min_s
        np.testing.assert_allclose(t1.g_norm * cell.delta_g_s + cell.g_min_s, g0 * factor, rtol=1e-12, atol=0)
        np.testing.assert_allclose(t1.ref_norm * cell.delta_g_s + cell.g_min_s,
                                   (t0.ref_norm * cell.delta_g_s + cell.g_min_s) * factor, rtol=1e-12, atol=0)
        assert sum(t1.row_energy_zj) < sum(t0.row_energy_zj)  # lower conductance, less V²·G·t
    with pytest.raises(ValueError, match="age_s = -1"):
        age_chip(chip, -1.0, np.random.default_rng(2))


@pytest.mark.parametrize("model", ["cell", "lumped"])
def test_new_conductances_give_the_read_energy_programming_gives(card_factory, model):
    # One expression (memsim.tile.row_read_energy_zj) for programming and for aged or disturbed tiles.
    card = card_factory(read_energy_model=model, sigma_rel=0.05)
    chip = program_chip(small_design(card), np.random.default_rng(1))
    cell = card.cell
    for t in chip.tiles[0]:
        g, g_ref = t.g_norm * cell.delta_g_s + cell.g_min_s, t.ref_norm * cell.delta_g_s + cell.g_min_s
        again = with_conductances(t, card, g, g_ref)
        if model == "lumped":
            assert t.row_energy_zj is None and again.row_energy_zj is None
            continue
        v_unit = cell.v_read_v / card.dac.max_code
        want = v_unit**2 * card.crossbar.t_read_s * (g.sum(axis=1) + g_ref) * 1e21
        # Exact integer zJ: the formula rounded once (g, g_ref here are rebuilt from level units).
        np.testing.assert_allclose(np.array(t.row_energy_zj, dtype=float), want, rtol=1e-12, atol=1)
        np.testing.assert_allclose(np.array(again.row_energy_zj, dtype=float), want, rtol=1e-12, atol=1)


def test_read_disturb_updates_at_fixed_points_whatever_the_chunking(card_factory):
    base = card_factory()
    card = replace(base, cell=replace(base.cell, disturb=LinearDisturb(rel_per_read=-2e-3)))
    design = small_design(card)
    qx = np.random.default_rng(4).integers(0, 16, (23, 12))
    outs = {}
    for batch in (23, 5, 1):
        res = Engine(program_chip(design, np.random.default_rng(1)), Ledger(), 0, np.random.default_rng(2),
                     EngineOptions(disturb_every=4)).run(qx, batch)
        outs[batch] = res
    for batch in (5, 1):
        np.testing.assert_array_equal(outs[batch].layer_outputs[0], outs[23].layer_outputs[0])
    # The pulses each row received are counted: one per vector and cycle with a non-zero drive.
    drives = np.stack([(qx >> t) & 1 for t in range(4)])
    np.testing.assert_array_equal(outs[23].row_pulses[0], np.count_nonzero(drives, axis=(0, 1)))
    assert outs[23].reads[0].tolist() == [23 * 4] * len(design.layers[0].mapping.tiles)
    # The disturb lowers conductances, so later vectors drift away from the undisturbed chip's outputs.
    clean = Engine(program_chip(small_design(base), np.random.default_rng(1)), Ledger(), 0,
                   np.random.default_rng(2)).run(qx, 23)
    np.testing.assert_array_equal(clean.layer_outputs[0][:4], outs[23].layer_outputs[0][:4])
    assert not np.array_equal(clean.layer_outputs[0], outs[23].layer_outputs[0])
    chip = program_chip(design, np.random.default_rng(1))
    pulses = outs[23].row_pulses[0]
    tile, hit = chip.tiles[0][0], disturb_chip(chip, [pulses]).tiles[0][0]
    g0 = tile.g_norm * card.cell.delta_g_s + card.cell.g_min_s
    expected = np.clip(g0 * (1 - 2e-3 * pulses[:, None]), card.cell.g_min_s, card.cell.g_max_s)
    np.testing.assert_allclose(hit.g_norm * card.cell.delta_g_s + card.cell.g_min_s, expected, rtol=1e-12, atol=0)


def test_age_lowers_accuracy_on_the_rram_card_and_changes_nothing_without_a_drift_model():
    """neurosim-rram relaxes toward lower conductance with log-time (its card's model), so accuracy falls
    with age; isaac-2016 has no drift model, so --age leaves every figure unchanged."""
    fresh = simulate(SimConfig(card="neurosim-rram", trace="", data="digits", split="calibration")).summary()
    aged = simulate(SimConfig(card="neurosim-rram", trace="", data="digits", split="calibration",
                              age_s=3600.0)).summary()
    assert aged["accuracy_hw"] < fresh["accuracy_hw"] - 0.1
    assert aged["bit_exact_rate"] < fresh["bit_exact_rate"]
    a = simulate(SimConfig(trace="", split="calibration")).summary()
    b = simulate(SimConfig(trace="", split="calibration", age_s=1e7)).summary()
    assert {k: v for k, v in a.items() if k != "age_s"} == {k: v for k, v in b.items() if k != "age_s"}
