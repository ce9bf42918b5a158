"""The fused read (``memsim.tile.LayerReader``) is exact: with variation, offsets, clipping, discards and any
ADC step it equals a plain float64 read column by column and cycle by cycle (``column_signal`` and the ADC's
own ``quantize``), whatever its dtype, blocks, panels, threads or chunking, with either crossbar reference (the
digital one's floor correction ``floor_codes`` subtracted from every kept code); its read noise has the
distribution of docs/devices.md §Read noise."""

from dataclasses import replace
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memsim import tile
from memsim.chip import Discard, design_chip, program_chip
from memsim.devices.crossbar import REFERENCE_MODES
from memsim.encoding import ENCODINGS, columns_per_weight, slices_needed
from memsim.workload.fixedpoint import FixedFormat
from memsim.workload.quantize import QuantizedLayer, QuantizedNetwork
from memsim.tile import LayerReader, column_signal, floor_codes
from memsim.workload.fixedpoint import drive_codes


def one_layer(rng, rows, outputs, input_bits, weight_bits):
    qw = rng.integers(-(1 << (weight_bits - 1)), 1 << (weight_bits - 1), size=(rows, outputs))
    layer = QuantizedLayer(0, qw, np.zeros(outputs, dtype=np.int64), FixedFormat(input_bits, input_bits, False),
                           FixedFormat(weight_bits, weight_bits - 1, True), None)
    return QuantizedNetwork("one", (layer,))


def reference_read(tiles, drives, card, significance, keep, coarse=None):
    """Per tile, row group and kept cycle: ``column_signal`` (float64, exact on the grid), ``adc.quantize`` on
    the kept columns minus the digital reference's floor correction (``floor_codes`` of the read's drive sum; 0
    with a reference column), shift-and-add in int64. Returns the layer's partial sums and clipped counts per tile.
    ``coarse`` (T, K): column kinds converted ``e`` bits coarser, by an ADC of ``bits − e`` bits whose step is
    ``2**e`` times the layer's (the same range), whose floor correction is in its own coarser codes."""
    adc, d = card.adc, card.dac.bits
    coarse = np.zeros(keep.shape, dtype=np.int64) if coarse is None else coarse
    step = int(adc.lsb_levels)
    n = drives.shape[0]
    outputs = max(t.spec.out_stop for t in tiles)
    partial = np.zeros((n, outputs), dtype=np.int64)
    clipped = []
    for t_ in tiles:
        spec = t_.spec
        clip = np.zeros((len(spec.row_groups), keep.shape[0]), dtype=np.int64)
        for g, (r0, r1) in enumerate(spec.row_groups):
            for t in np.flatnonzero(keep.any(axis=1)):
                x = drives[:, t, spec.row_start + r0 : spec.row_start + r1]
                signal = column_signal(t_, x, r0, r1, 0.0, None)
                kept = np.tile(keep[t], spec.outputs)  # output-major columns
                e = np.tile(coarse[t], spec.outputs)[kept]
                codes = np.zeros((n, int(kept.sum())), dtype=np.int64)
                drive_sum = x.sum(axis=1, dtype=np.int64)
                for value in np.unique(e):
                    coarser = replace(adc, bits=adc.bits - int(value), lsb_levels=adc.lsb_levels * 2**int(value))
                    codes[:, e == value], clipped_here = coarser.quantize(signal[:, kept][:, e == value])
                    codes[:, e == value] -= floor_codes(card, drive_sum, step << int(value))[:, None]
                    codes[:, e == value] <<= int(value)
                    clip[g, t] += clipped_here
                sig = np.tile(significance, spec.outputs)[kept]
                out = np.repeat(np.arange(spec.outputs), spec.kinds)[kept]
                contrib = np.zeros((n, spec.outputs), dtype=np.int64)
                np.add.at(contrib, (slice(None), out), codes * sig * step)
                partial[:, spec.out_start : spec.out_stop] += contrib << (d * int(t))
        clipped.append(clip)
    return partial, clipped


@pytest.mark.parametrize("reference", REFERENCE_MODES)
@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    cell_bits=st.integers(1, 3),
    dac_bits=st.integers(1, 3),
    adc_bits=st.integers(2, 8),
    lsb_levels=st.sampled_from([1, 2, 3, 4]),
    encoding=st.sampled_from(sorted(ENCODINGS)),
    xbar_rows=st.integers(2, 40),
    rows_per_read_frac=st.floats(0.2, 1.0),
    sigma_rel=st.sampled_from([0.0, 0.05, 0.3]),
    offset_sigma_a=st.sampled_from([0.0, 3e-7]),
    discard_fraction=st.sampled_from([0.0, 0.4]),
    block_bytes=st.sampled_from([tile.BLOCK_BYTES, 1, 5000]),
    panel_columns=st.sampled_from([tile.PANEL_COLUMNS, 1, 6]),
    float64=st.booleans(),
    threads=st.integers(1, 3),
    coarser=st.booleans(),
)
def test_fused_read_equals_the_per_column_reference_bit_for_bit(
    card_factory, reference, seed, cell_bits, dac_bits, adc_bits, lsb_levels, encoding, xbar_rows,
    rows_per_read_frac, sigma_rel, offset_sigma_a, discard_fraction, block_bytes, panel_columns, float64, threads,
    coarser,
):
    rng = np.random.default_rng(seed)
    weight_bits = int(rng.integers(2, 7))
    if columns_per_weight(encoding, slices_needed(encoding, weight_bits, cell_bits)) > 18:
        return
    card = card_factory(rows=xbar_rows, cols=19, cell_bits=cell_bits, dac_bits=dac_bits, adc_bits=adc_bits,
                        sigma_rel=sigma_rel, reference=reference)
    card = replace(card, adc=replace(card.adc, lsb_levels=float(lsb_levels)),
                   sample_hold=replace(card.sample_hold, offset_sigma_a=offset_sigma_a))
    rows, outputs = int(rng.integers(1, 90)), int(rng.integers(1, 30))
    qnet = one_layer(rng, rows, outputs, 6, weight_bits)
    rows_per_read = max(1, int(xbar_rows * rows_per_read_frac))
    keep = design_chip(card, qnet, encoding, rows_per_read).layers[0].discard.keep
    keep = rng.random(keep.shape) >= discard_fraction
    design = design_chip(card, qnet, encoding, rows_per_read,
                         discards=(Discard(keep, np.zeros(outputs, dtype=np.int64)),))
    layer = design.layers[0]
    tiles = program_chip(design, rng).tiles[0]
    drives = drive_codes(rng.integers(0, 64, size=(int(rng.integers(1, 12)), rows)), 6, dac_bits)
    exact_bits = {**tile._EXACT_BITS, np.dtype(np.float32): 0} if float64 else tile._EXACT_BITS
    add_outputs = rng.integers(-1000, 1000, outputs)
    add_vectors = rng.integers(-1000, 1000, (len(drives), 1))
    # Some partial sums converted with fewer bits over the same range (a plan's adc_bits_by_sum; power-of-two
    # steps only).
    coarse = None
    if coarser and lsb_levels != 3:
        coarse = rng.integers(0, adc_bits, size=layer.keep_kinds.shape) * (rng.random(layer.keep_kinds.shape) < 0.5)
    with mock.patch.multiple(tile, BLOCK_BYTES=block_bytes, PANEL_COLUMNS=panel_columns, _EXACT_BITS=exact_bits):
        reader = LayerReader(tiles, card, layer.encoded.significance, layer.keep_kinds, coarse_kinds=coarse)
        fused = reader.read(drives, None, add_outputs, add_vectors, threads)
    partial, clipped = reference_read(tiles, drives, card, layer.encoded.significance, layer.keep_kinds, coarse)
    np.testing.assert_array_equal(fused.partial, partial + add_outputs + add_vectors)
    for activity, clip in zip(fused.activity, clipped, strict=True):
        np.testing.assert_array_equal(activity.clipped, clip)
    np.testing.assert_array_equal(fused.nonzero.sum(), np.count_nonzero(drives[:, layer.keep_kinds.any(axis=1)]))


def w2_like(card_factory, outputs=40, sigma_rel=0.1):
    """A W2-shaped layer (128 rows, 2-bit cells, 8 slices of offset-encoded 8-bit weights... 4 of 2 bits), with
    variation: every conversion lands somewhere inside its ADC bin, many within float32 rounding of an edge."""
    card = card_factory(rows=128, cols=128, cell_bits=2, dac_bits=1, adc_bits=8, sigma_rel=sigma_rel)
    qnet = one_layer(np.random.default_rng(0), 256, outputs, 8, 8)
    design = design_chip(card, qnet, "offset")
    return card, design, program_chip(design, np.random.default_rng(1))


def test_rounding_does_not_depend_on_chunks_blocks_or_dtype(card_factory):
    """~650k conversions with variation, read four ways: the whole batch in default blocks; one vector at a time
    (BLAS then runs other kernels, summing in another order); one-vector blocks with one-output panels; float64.
    A float product whose rounding depended on the summation order would move some signals across an ADC
    bin edge between these reads; on the modelling grid every partial sum is exact, so they agree bit for bit."""
    card, design, chip = w2_like(card_factory)
    layer = design.layers[0]
    qx = np.random.default_rng(2).integers(0, 256, (400, 256))
    drives = drive_codes(qx, 8, 1)

    def read(d, **patch):
        with mock.patch.multiple(tile, **{"BLOCK_BYTES": tile.BLOCK_BYTES, **patch}):
            reader = LayerReader(chip.tiles[0], card, layer.encoded.significance, layer.keep_kinds)
            return reader.read(d, None).partial, reader

    whole, reader = read(drives)
    assert all(d == np.float32 for b in reader.blocks for d in b.dtypes)
    single = np.concatenate([read(drives[i : i + 1])[0] for i in range(len(drives))])
    tiny, _ = read(drives[:60], BLOCK_BYTES=1, PANEL_COLUMNS=1)
    wide, reader64 = read(drives, _EXACT_BITS={**tile._EXACT_BITS, np.dtype(np.float32): 0})
    assert all(d == np.float64 for b in reader64.blocks for d in b.dtypes)
    np.testing.assert_array_equal(whole, single)
    np.testing.assert_array_equal(whole[:60], tiny)
    np.testing.assert_array_equal(whole, wide)


def test_threads_share_blocks_without_changing_a_number(card_factory):
    """Read noise, clipping (a 7-bit ADC on 128-row sums) and blocks of 3 vectors: 1, 2 and 3 worker threads
    give the same partial sums and clipping counts, and the same seed the same noise."""
    card, design, chip = w2_like(card_factory)
    card = replace(card, adc=replace(card.adc, bits=7), cell=replace(card.cell, read_noise_rel=0.01))
    layer = design.layers[0]
    drives = drive_codes(np.random.default_rng(2).integers(0, 256, (100, 256)), 8, 1)
    reads = []
    for threads in (1, 2, 3, 2):
        with mock.patch.object(tile, "BLOCK_BYTES", 3 * 8 * 4 * 40 * 4):
            reader = LayerReader(chip.tiles[0], card, layer.encoded.significance, layer.keep_kinds)
            assert reader.block_vectors == 3
            reads.append(reader.read(drives, np.random.default_rng(7), threads=threads))
    assert sum(int(a.clipped.sum()) for a in reads[0].activity) > 0
    for r in reads[1:]:
        np.testing.assert_array_equal(r.partial, reads[0].partial)
        for a, b in zip(r.activity, reads[0].activity, strict=True):
            np.testing.assert_array_equal(a.clipped, b.clipped)
    other = LayerReader(chip.tiles[0], card, layer.encoded.significance, layer.keep_kinds)
    assert not np.array_equal(other.read(drives, np.random.default_rng(8)).partial, reads[0].partial)


def test_read_levels_sit_on_the_modelling_grid_within_half_a_step(card_factory):
    _, _, chip = w2_like(card_factory)
    t = chip.tiles[0][0]
    scaled = t.read_levels * 2.0**tile.GRID_BITS
    np.testing.assert_array_equal(scaled, np.rint(scaled))
    assert np.abs(t.read_levels - (t.g_norm - t.ref_norm[:, None])).max() <= 2.0 ** -(tile.GRID_BITS + 1)


def test_a_tile_too_large_for_float32_falls_back_to_float64_and_stays_exact(card_factory):
    """4-bit cells driven by 3-bit DACs over 40 rows: column sums reach 40·7·15 > 2**(24 − GRID_BITS)."""
    card = card_factory(rows=40, cols=17, cell_bits=4, dac_bits=3, adc_bits=13)
    qnet = one_layer(np.random.default_rng(0), 40, 4, 6, 8)
    design = design_chip(card, qnet, "offset")
    reader = program_chip(design, np.random.default_rng(0)).readers[0]
    assert [d for b in reader.blocks for d in b.dtypes] == [np.float64]
    qx = np.random.default_rng(1).integers(0, 64, (9, 40))
    correction = design.layers[0].encoded.input_coeff * qx.sum(axis=1)[:, None]
    acc = reader.read(drive_codes(qx, 6, 3), None).partial + correction
    np.testing.assert_array_equal(acc, qx @ qnet.layers[0].qw)


def test_read_noise_is_sampled_per_column_with_one_reference_draw_per_tile_read(card_factory):
    """Zero variation, every cell at level 3 of 32 driven rows: each column's ADC input is 96 + e with
    e = sqrt(32)·σ·(ε_j − ε_ref), so the code errors have variance 2·32·σ² (+1/12 for rounding), columns of one
    tile share half of it through their reference column, and columns of different tiles share nothing."""
    sigma_lsb = 0.6  # per cell read, in level steps
    card = card_factory(rows=32, cols=17, cell_bits=2, dac_bits=1, read_noise_rel=sigma_lsb * 3e-6 / 10e-6)
    layer = QuantizedLayer(0, np.ones((32, 32), dtype=np.int64), np.zeros(32, dtype=np.int64),
                           FixedFormat(1, 0, False), FixedFormat(2, 1, True), None)  # offset: u = 3
    design = design_chip(card, QuantizedNetwork("ones", (layer,)), "offset")
    reader = program_chip(design, np.random.default_rng(0)).readers[0]
    assert len(reader.tiles) == 2 and design.layers[0].encoded.kinds == 1
    errors = reader.read(drive_codes(np.ones((20000, 32), dtype=np.int64), 1, 1),
                         np.random.default_rng(5)).partial - 96.0
    var = 2 * 32 * sigma_lsb**2
    cov = np.cov(errors, rowvar=False)
    same_tile = np.concatenate([cov[:16, :16][~np.eye(16, dtype=bool)], cov[16:, 16:][~np.eye(16, dtype=bool)]])
    other_tile = cov[:16, 16:].ravel()
    # Standard errors over 20000 draws: about 0.4 on a variance of 23, 0.3 on a covariance. The mean over the
    # 256 cross-tile pairs is the covariance of the two tiles' column means (variance ≈ 23·17/32 each), so its
    # standard error is ≈ 12/sqrt(20000) ≈ 0.09 (0.12 over seeds): 0.5 is 4 of them, far below var/2 = 11.5.
    assert np.diag(cov).mean() == pytest.approx(var + 1 / 12, rel=0.03, abs=0)
    assert same_tile.mean() == pytest.approx(var / 2, rel=0.05, abs=0)
    assert abs(other_tile.mean()) < 0.5


def test_digital_reference_read_noise_has_no_reference_term_and_no_shared_draw(card_factory):
    """The same layer as above with the digital reference: no reference column, so each column's code error
    has variance 32·σ² (+1/12 for rounding; the floor 32/3 puts the sum a third of a step off its bin centre,
    so the rounding error is that of a uniform offset, variance 1/12 still) and columns share nothing."""
    sigma_lsb = 0.6
    card = card_factory(rows=32, cols=17, cell_bits=2, dac_bits=1, read_noise_rel=sigma_lsb * 3e-6 / 10e-6,
                        reference="digital")
    layer = QuantizedLayer(0, np.ones((32, 32), dtype=np.int64), np.zeros(32, dtype=np.int64),
                           FixedFormat(1, 0, False), FixedFormat(2, 1, True), None)
    design = design_chip(card, QuantizedNetwork("ones", (layer,)), "offset")
    reader = program_chip(design, np.random.default_rng(0)).readers[0]
    assert len(reader.tiles) == 2 and reader.tiles[0].ref_norm is None
    errors = reader.read(drive_codes(np.ones((20000, 32), dtype=np.int64), 1, 1),
                         np.random.default_rng(5)).partial - 96.0
    cov = np.cov(errors, rowvar=False)
    off_diagonal = cov[~np.eye(32, dtype=bool)]
    assert np.diag(cov).mean() == pytest.approx(32 * sigma_lsb**2 + 1 / 12, rel=0.03, abs=0)
    assert abs(off_diagonal.mean()) < 0.5
