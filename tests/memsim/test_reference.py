"""The crossbar's ``reference`` option (docs/datapath.md §Reference column): "column" keeps a reference column
per crossbar; "digital" gives every column to data, converts the g_min floor with the sum and subtracts it
digitally. Mapping, tile counts, the floor correction, the ADC range, energy, digital operations, the error
model, aging and the one-line errors."""

import json
from fractions import Fraction
from unittest import mock

import numpy as np
import pytest

from memsim.aging import age_chip
from memsim.chip import design_chip, program_chip
from memsim.config import SimConfig
from memsim.devices.card import load_card
from memsim.devices.crossbar import REFERENCE_MODES, Crossbar
from memsim.engine import Engine
from memsim.ledger import Ledger
from memsim.mapping import map_layer
from memsim.planning import error_model
from memsim.planning.error_model import analyze_layer, measure_code_errors
from memsim.simulate import adc_steps, prepare, simulate
from memsim.tile import GRID_BITS, floor_codes, floor_levels, to_grid
from memsim.workload.fixedpoint import FixedFormat
from memsim.workload.quantize import QuantizedLayer, QuantizedNetwork


def digital(config: SimConfig) -> SimConfig:
    return config.with_card_override("crossbar", {"reference": "digital"})


def test_reference_modes_and_the_one_line_error():
    assert REFERENCE_MODES == ("column", "digital")
    base = dict(rows=128, cols=128, columns_per_adc=8, read_energy_model="lumped", e_array_read_j=0.0,
                t_read_s=1e-8)
    assert Crossbar(**base).reference == "column" and Crossbar(**base).data_cols == 127
    assert Crossbar(**base, reference="digital").data_cols == 128
    with pytest.raises(ValueError) as err:
        Crossbar(**base, reference="analog")
    assert str(err.value) == "crossbar.reference = 'analog' is not valid; allowed: column, digital"
    with pytest.raises(ValueError, match=r"card 'isaac-2016': crossbar.reference = 'none' is not valid"):
        load_card("isaac-2016", overrides={"crossbar": {"reference": "none"}})


def test_shipped_cards_keep_the_reference_column():
    for name in ("isaac-2016", "neurosim-rram"):
        card = load_card(name)
        assert card.crossbar.reference == "column" and card.summary()["reference"] == "column"
    assert load_card("isaac-2016", overrides={"crossbar": {"reference": "digital"}}).crossbar.reference == "digital"


def test_digital_reference_maps_data_on_every_column():
    # 4 column kinds per output on 8 columns: 1 output per tile beside a reference column, 2 without.
    assert len(map_layer(0, 4, 6, 4, 4, 8, 4).tiles) == 6
    assert len(map_layer(0, 4, 6, 4, 4, 8, 4, "digital").tiles) == 3
    with pytest.raises(ValueError, match="only 7 data columns beside its reference column"):
        map_layer(0, 4, 6, 8, 4, 8, 4)
    assert len(map_layer(0, 4, 6, 8, 4, 8, 4, "digital").tiles) == 6
    with pytest.raises(ValueError, match="only 8 data columns; use fewer"):
        map_layer(0, 4, 6, 9, 4, 8, 4, "digital")


def test_the_mlp_at_8_bit_weights_takes_one_tile_less_per_wide_layer():
    """digits-mlp (64×64, 64×32, 32×10; 8-bit offset weights on 2-bit cells: 4 columns per output) on 128×128
    crossbars: 256, 128 and 40 data columns take 3, 2, 1 tiles beside a reference column and 2, 1, 1 without."""
    tiles = {ref: [len(layer.mapping.tiles) for layer in prepare(
        SimConfig(trace="").with_card_override("crossbar", {"reference": ref}))[2].layers]
        for ref in REFERENCE_MODES}
    assert tiles == {"column": [3, 2, 1], "digital": [2, 1, 1]}


def test_floor_codes_are_exact_integers_of_the_rounded_floor(card_factory):
    card = card_factory(cell_bits=2, reference="digital")
    f = floor_levels(card)
    assert f == float(to_grid(1e-6 / 3e-6)) and f * 2**GRID_BITS == 5461
    sums = np.arange(0, 5000)
    for step in (1, 2, 3, 8):
        want = [int(Fraction(5461 * int(s), 2**GRID_BITS * step) + Fraction(1, 2)) for s in sums]  # floor: >= 0
        np.testing.assert_array_equal(floor_codes(card, sums, step), want)
    assert floor_levels(card_factory()) == 0.0 and not floor_codes(card_factory(), sums, 1).any()


def test_zero_variation_digital_reference_run_is_the_integer_reference():
    s = simulate(digital(SimConfig(card_overrides={"cell": {"variation": {"model": "none"}}}, trace=""))).summary()
    assert s["tiles"] == 4 and s["bit_exact_rate"] == 1.0 and s["adc_clip_rate"] == 0
    assert s["accuracy_hw"] == s["accuracy_quantized"]


def test_full_adc_range_includes_the_floor(card_factory):
    """``full``: ``rows·(2**d − 1)·(2**c − 1 + F)`` must fit the codes. 40 rows of 1-bit drives on 2-bit cells
    reach 120 level steps, which 7-bit codes hold at step 1; with the floor 40/3 they reach 133.3, which needs
    step 2."""
    qnet, qx = one_layer(rows=40)
    steps = {ref: adc_steps(design_chip(card_factory(rows=40, cols=33, adc_bits=7, reference=ref), qnet, "offset"),
                            "full", qx) for ref in REFERENCE_MODES}
    assert steps == {"column": (1,), "digital": (2,)}


def test_calibrated_adc_range_includes_each_conversions_floor():
    """``calibrated``: the largest partial sum plus its own conversion's floor ``F·Σx`` fits the codes."""
    config = SimConfig(trace="").with_card_override("adc", {"bits": 5})
    _, workload, design = prepare(digital(config).with_overrides(adc_range="card"))
    qx = design.qnet.quantize_input(workload.calibration.x[:64])
    card = design.card
    f = floor_levels(card)
    assert adc_steps(design, "full", qx) == (8, 8, 4)  # 213.3, 213.3, 106.7 level steps on 32 codes
    calibrated = adc_steps(design, "calibrated", qx)
    for layer, x, m in zip(design.layers, design.layer_inputs(qx), calibrated, strict=True):
        peak = layer.max_partial_sum(layer.to_vectors(x), card.dac.bits, floor_levels=f)
        bare = layer.max_partial_sum(layer.to_vectors(x), card.dac.bits)
        assert bare < peak <= bare + f * 64
        assert np.floor(peak / m + 0.5) <= 31 and (m == 1 or np.floor(peak / (m // 2) + 0.5) > 31)


def one_layer(rows=32, outputs=8, seed=0):
    rng = np.random.default_rng(seed)
    layer = QuantizedLayer(0, rng.integers(-8, 8, (rows, outputs)), np.zeros(outputs, np.int64),
                           FixedFormat(4, 4, False), FixedFormat(4, 3, True), FixedFormat(6, 5, False))
    return QuantizedNetwork("one", (layer,)), rng.integers(0, 16, (40, rows))


def test_cell_read_energy_has_no_reference_cells(card_factory):
    qnet, _ = one_layer()
    for ref in REFERENCE_MODES:
        card = card_factory(rows=32, cols=33, read_energy_model="cell", sigma_rel=0.05, reference=ref)
        tile = program_chip(design_chip(card, qnet, "offset"), np.random.default_rng(0)).tiles[0][0]
        g = tile.g_norm * card.cell.delta_g_s + card.cell.g_min_s
        if ref == "column":
            g_row = g.sum(axis=1) + tile.ref_norm * card.cell.delta_g_s + card.cell.g_min_s
        else:
            assert tile.ref_norm is None
            g_row = g.sum(axis=1)
        want = card.v_unit_v**2 * card.crossbar.t_read_s * g_row * 1e21
        np.testing.assert_allclose(tile.row_energy_zj.astype(float), want, rtol=0, atol=0.5)  # whole zJ


def test_digital_correction_is_counted_in_the_digital_ops(card_factory):
    """Per vector and kept cycle a popcount over the layer's rows, and one subtraction per converted code."""
    qnet, qx = one_layer(rows=40, outputs=9)
    counts = {}
    for ref in REFERENCE_MODES:
        card = card_factory(rows=16, cols=17, reference=ref)
        design = design_chip(card, qnet, "offset")
        ledger = Ledger()
        Engine(program_chip(design, np.random.default_rng(0)), ledger, 0, np.random.default_rng(1)).run(qx, 40)
        counts[ref] = ledger.counts()
    n, cycles, rows = len(qx), 4, 40  # 4-bit inputs, 1-bit DAC
    conversions = counts["digital"][("adc", "convert")]
    extra = counts["digital"][("shift_add", "reduce")] - counts["column"][("shift_add", "reduce")]
    assert extra == n * cycles * rows + conversions


@pytest.mark.parametrize("sigma_rel, read_noise_rel", [(0.08, 0.0), (0.03, 0.01)])
def test_error_model_matches_monte_carlo_with_the_digital_reference(card_factory, sigma_rel, read_noise_rel):
    """No reference term in the variance, and bins placed around the partial sum plus its floor."""
    card = card_factory(rows=32, cols=33, cell_bits=2, dac_bits=1, adc_bits=8, sigma_rel=sigma_rel,
                        read_noise_rel=read_noise_rel, reference="digital")
    qnet, _ = one_layer()
    qx = np.random.default_rng(0).integers(0, 16, (100, 32))
    layer = design_chip(card, qnet, "offset").layers[0]
    model = analyze_layer(layer, card, qx)
    chips = 200
    measured = measure_code_errors(layer, card, qx, chips, np.random.default_rng(1))
    stderr = measured.rate_per_chip.std(axis=0, ddof=1) / np.sqrt(chips)
    assert (model.p_code_error > 0.05).all()
    np.testing.assert_array_less(np.abs(model.p_code_error - measured.rate), 4 * stderr + 1e-3)


def test_column_mode_variance_holds_the_reference_cell_term(card_factory):
    """The same layer and σ: the reference column adds σ(g_min)² (and a second read noise) per driven row, so
    its code errors are more likely than the digital reference's at the same bin position; with the floor on
    the bin centre (F = 0 here: the digital variance alone) the digital model is lower."""
    qnet, qx = one_layer()
    col = card_factory(rows=32, cols=33, sigma_rel=0.08)
    dig = card_factory(rows=32, cols=33, sigma_rel=0.08, reference="digital")
    p_col = analyze_layer(design_chip(col, qnet, "offset").layers[0], col, qx).p_code_error
    with mock.patch.object(error_model, "floor_levels", lambda card: 0.0):
        p_dig = analyze_layer(design_chip(dig, qnet, "offset").layers[0], dig, qx).p_code_error
    assert (p_dig < p_col).all()


def test_aging_a_digital_reference_chip_draws_no_reference_column():
    config = digital(SimConfig(trace="").with_overrides(card="neurosim-rram"))
    card, _, design = prepare(config)
    chip = program_chip(design, np.random.default_rng(0))
    aged = age_chip(chip, 3600.0, np.random.default_rng(1))
    assert all(t.ref_norm is None for layer in aged.tiles for t in layer)
    assert not np.array_equal(aged.tiles[0][0].g_norm, chip.tiles[0][0].g_norm)


def test_bad_reference_through_a_config_override_is_one_line_exit_2(run_cli, tmp_path, monkeypatch):
    config = tmp_path / "bad.toml"
    config.write_text('[devices.overrides.crossbar]\nreference = "both"\n')
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["simulate", "--config", str(config)])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("memsim: error: ")
    assert "crossbar.reference = 'both' is not valid; allowed: column, digital" in lines[0]
    assert not list(tmp_path.glob("*.h5"))


def test_simulate_json_prints_the_digital_reference_tiles(run_cli, tmp_path):
    config = tmp_path / "digital.toml"
    config.write_text('[devices.overrides.crossbar]\nreference = "digital"\n')
    code, out, err = run_cli(["simulate", "--json", "--no-trace", "--config", str(config), "--sigma", "0"])
    assert code == 0, err
    summary = json.loads(out)
    assert summary["tiles"] == 4 and summary["adc_clip_rate"] == 0
    assert summary["accuracy_hw"] == summary["accuracy_quantized"]
