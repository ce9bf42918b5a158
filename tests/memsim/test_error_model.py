"""The analytic error model against Monte Carlo chips, and the error-position histogram."""

import numpy as np
import pytest

from memsim.chip import design_chip
from memsim.planning.error_model import analyze_layer, error_bit_positions, measure_code_errors
from memsim.workload.fixedpoint import FixedFormat
from memsim.workload.quantize import QuantizedLayer, QuantizedNetwork


def single_tile_layer(card):
    rng = np.random.default_rng(0)
    layer = QuantizedLayer(0, rng.integers(-8, 8, (32, 8)), np.zeros(8, np.int64), FixedFormat(4, 4, False),
                           FixedFormat(4, 3, True), FixedFormat(6, 5, False))
    design = design_chip(card, QuantizedNetwork("one-tile", (layer,)), "offset")
    assert len(design.layers[0].mapping.tiles) == 1
    return design.layers[0], rng.integers(0, 16, (100, 32))


@pytest.mark.parametrize("sigma_rel, read_noise_rel", [(0.08, 0.0), (0.03, 0.01)])
def test_predicted_code_error_probability_matches_monte_carlo(card_factory, sigma_rel, read_noise_rel):
    card = card_factory(rows=32, cols=33, cell_bits=2, dac_bits=1, adc_bits=8, sigma_rel=sigma_rel,
                        read_noise_rel=read_noise_rel)
    layer, qx = single_tile_layer(card)
    model = analyze_layer(layer, card, qx)
    chips = 200
    measured = measure_code_errors(layer, card, qx, chips, np.random.default_rng(1))
    # Chips are the independent samples (cells are shared by every read of a chip): standard error from them.
    stderr = measured.rate_per_chip.std(axis=0, ddof=1) / np.sqrt(chips)
    assert model.p_code_error.shape == measured.rate.shape == (2, 4)
    assert (model.p_code_error > 0.05).all()
    np.testing.assert_array_less(np.abs(model.p_code_error - measured.rate), 4 * stderr + 1e-3)


def test_no_variation_no_code_errors(card_factory):
    card = card_factory(rows=32, cols=33, sigma_rel=0.0)
    layer, qx = single_tile_layer(card)
    model = analyze_layer(layer, card, qx)
    measured = measure_code_errors(layer, card, qx, 2, np.random.default_rng(1))
    assert not model.p_code_error.any() and not model.error_power.any()
    assert not measured.errors.any()


def test_information_and_flip_rate(card_factory):
    card = card_factory(rows=32, cols=33)
    layer, qx = single_tile_layer(card)
    qx = qx & ~np.int64(1)  # input bit 0 is always 0: the t = 0 sums carry nothing
    model = analyze_layer(layer, card, qx)
    assert (model.information[:, 0] == 0).all() and (model.flip_rate[:, 0] == 0).all()
    assert (model.information[:, 1:] > 0).all()
    # The top slice at the top input bit moves the output most.
    assert model.flip_rate[1, 3] == model.flip_rate.max() > 0
    assert model.error_bit.tolist() == [[0, 1, 2, 3], [2, 3, 4, 5]]
    assert model.truncation_bits == 4 + 3 - 5


def test_error_bit_positions_relative_to_truncation():
    ideal = np.array([[0, 0, 0, 0]])
    hw = np.array([[1, -3, 16, 0]])  # errors 1 (bit 0), 3 (bit 1), 16 (bit 4); k = 2
    assert error_bit_positions(hw, ideal, 2) == {-2: 1, -1: 1, 2: 1}


def test_ranged_lower_resolution_adc_code_errors_match_monte_carlo(card_factory):
    """A 4-bit ADC whose step is ranged to the partial sums (m = 4 level steps): the analytic probability of a
    wrong code (the Gaussian mass outside each sum's bin of width m) agrees with Monte Carlo chips."""
    card = card_factory(rows=32, cols=33, cell_bits=2, dac_bits=1, adc_bits=4, sigma_rel=0.15)
    rng = np.random.default_rng(0)
    layer = QuantizedLayer(0, rng.integers(-8, 8, (32, 8)), np.zeros(8, np.int64), FixedFormat(4, 4, False),
                           FixedFormat(4, 3, True), FixedFormat(6, 5, False))
    design = design_chip(card, QuantizedNetwork("one-tile", (layer,)), "offset", adc_steps=(4,))
    layer, qx = design.layers[0], rng.integers(0, 16, (100, 32))
    assert layer.adc_step == 4 and layer.max_partial_sum(qx, 1) < (2**4 - 0.5) * 4  # the range covers the sums
    model = analyze_layer(layer, card, qx)
    chips = 200
    measured = measure_code_errors(layer, card, qx, chips, np.random.default_rng(1))
    stderr = measured.rate_per_chip.std(axis=0, ddof=1) / np.sqrt(chips)
    assert (model.p_code_error > 0.02).all()
    np.testing.assert_array_less(np.abs(model.p_code_error - measured.rate), 4 * stderr + 1e-3)
