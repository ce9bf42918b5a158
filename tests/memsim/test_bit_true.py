"""The first invariant: with no variation and an ADC that covers the partial sums, the simulated datapath
equals integer arithmetic bit for bit, through truncation (docs/datapath.md §The bit-true invariant).
With partial sums discarded, it equals the integer sum of the kept partial sums plus the compensation.
The fused read is held to it in every configuration it can take: float32 or float64 products, blocks of one
vector or many, one or many column panels; and with either crossbar reference (docs/datapath.md §Reference
column): a reference column, or the g_min floor converted with the sum and subtracted digitally."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memsim import tile

from memsim.chip import Discard, design_chip, program_chip
from memsim.devices.crossbar import REFERENCE_MODES
from memsim.encoding import ENCODINGS, columns_per_weight, slices_needed
from memsim.engine import Engine
from memsim.workload.fixedpoint import FixedFormat
from memsim.ledger import Ledger
from memsim.workload.quantize import QuantizedLayer, QuantizedNetwork


def random_qnet(rng, sizes, input_bits, weight_bits, out_bits):
    """Integer layers with random weights, biases and truncation shifts."""
    layers = []
    in_fmt = FixedFormat(input_bits, input_bits, False)
    for i, (rows, outs) in enumerate(zip(sizes, sizes[1:], strict=False)):
        bw = weight_bits[i]
        w_fmt = FixedFormat(bw, bw - 1, True)
        qw = rng.integers(-(1 << (bw - 1)), 1 << (bw - 1), size=(rows, outs))
        bias = rng.integers(-(1 << (input_bits + bw)), 1 << (input_bits + bw), size=outs)
        last = i == len(sizes) - 2
        out_fmt = None
        if not last:
            k = int(rng.integers(0, input_bits + bw))
            out_fmt = FixedFormat(out_bits, in_fmt.frac_bits + w_fmt.frac_bits - k, False)
        layers.append(QuantizedLayer(i, qw, bias, in_fmt, w_fmt, out_fmt))
        if out_fmt is not None:
            in_fmt = out_fmt
    return QuantizedNetwork("random", tuple(layers))


def covering_adc_bits(card_factory, rows_per_read, dac_bits, cell_bits, reference):
    """ADC bits whose codes cover the largest ADC input of one row group: the partial sum plus, with the digital
    reference, the g_min floor F·Σx (round half up: ``floor(P + b + 1/2) <= 2**bits − 1``)."""
    x_max = rows_per_read * ((1 << dac_bits) - 1)
    max_partial = x_max * ((1 << cell_bits) - 1)
    probe = card_factory(cell_bits=cell_bits, reference=reference)
    return max(1, int(max_partial + tile.floor_levels(probe) * x_max + 0.5).bit_length())


@pytest.mark.parametrize("reference", REFERENCE_MODES)
@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_layers=st.integers(1, 2),
    input_bits=st.integers(1, 8),
    weight_bits=st.integers(1, 8),
    cell_bits=st.integers(1, 4),
    dac_bits=st.integers(1, 4),
    encoding=st.sampled_from(sorted(ENCODINGS)),
    xbar_rows=st.integers(2, 24),
    rows_per_read_frac=st.floats(0.2, 1.0),
    xbar_cols=st.integers(9, 40),
    columns_per_adc=st.integers(1, 16),
    batch=st.integers(1, 7),
    discard_fraction=st.sampled_from([0.0, 0.0, 0.3, 0.7]),
    block_bytes=st.sampled_from([tile.BLOCK_BYTES, 1, 3000]),
    panel_columns=st.sampled_from([tile.PANEL_COLUMNS, 1, 5]),
    float64=st.booleans(),
)
def test_zero_variation_datapath_equals_integer_reference(
    card_factory, reference, seed, n_layers, input_bits, weight_bits, cell_bits, dac_bits, encoding, xbar_rows,
    rows_per_read_frac, xbar_cols, columns_per_adc, batch, discard_fraction, block_bytes, panel_columns, float64,
):
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(1, 60))] + [int(rng.integers(1, 12)) for _ in range(n_layers)]
    qnet = random_qnet(rng, sizes, input_bits, [weight_bits] * n_layers, input_bits)
    rows_per_read = max(1, int(xbar_rows * rows_per_read_frac))
    # An ADC whose range covers the largest partial sum of one row group (and the floor, digitally removed).
    card = card_factory(rows=xbar_rows, cols=xbar_cols, columns_per_adc=columns_per_adc, cell_bits=cell_bits,
                        dac_bits=dac_bits, reference=reference,
                        adc_bits=covering_adc_bits(card_factory, rows_per_read, dac_bits, cell_bits, reference))
    kinds = columns_per_weight(encoding, slices_needed(encoding, weight_bits, cell_bits))
    if kinds > card.crossbar.data_cols:
        return  # one weight would not fit a crossbar; mapping rejects it (tested elsewhere)
    full = design_chip(card, qnet, encoding, rows_per_read)
    discards = tuple(
        Discard(rng.random(layer.discard.keep.shape) >= discard_fraction,
                rng.integers(-50, 50, layer.qlayer.outputs) if discard_fraction
                else np.zeros(layer.qlayer.outputs, np.int64))
        for layer in full.layers
    )
    design = design_chip(card, qnet, encoding, rows_per_read, discards=discards)
    qx = rng.integers(0, 1 << input_bits, size=(9, sizes[0]))
    exact_bits = {**tile._EXACT_BITS, np.dtype(np.float32): 0} if float64 else tile._EXACT_BITS
    with mock.patch.multiple(tile, BLOCK_BYTES=block_bytes, PANEL_COLUMNS=panel_columns, _EXACT_BITS=exact_bits):
        chip = program_chip(design, np.random.default_rng(0))
        result = Engine(chip, Ledger(), 0, np.random.default_rng(1)).run(qx, batch)
        if float64:
            assert all(d == np.float64 for r in chip.readers for b in r.blocks for d in b.dtypes)
    reference = design.reference(qx)
    if discard_fraction == 0:
        for got, want in zip(reference, qnet.reference(qx), strict=True):
            np.testing.assert_array_equal(got, want)
    assert len(result.layer_outputs) == len(reference)
    for got, want in zip(result.layer_outputs, reference, strict=True):
        np.testing.assert_array_equal(got, want)
    assert sum(result.clipped) == 0
