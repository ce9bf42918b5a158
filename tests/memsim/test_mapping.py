"""A tile's column layout: its block of a layer's per-cell array, output-major."""

import numpy as np

from memsim.chip import design_chip, program_chip
from memsim.mapping import map_layer
from memsim.workload.fixedpoint import FixedFormat
from memsim.workload.quantize import QuantizedLayer, QuantizedNetwork


def test_tile_columns_are_its_block_output_major():
    rows, kinds, outputs = 7, 3, 5
    cells = np.arange(rows * kinds * outputs).reshape(rows, kinds, outputs)
    mapping = map_layer(0, rows, outputs, kinds, xbar_rows=4, xbar_cols=7, rows_per_read=4)
    assert len(mapping.tiles) == 2 * 3  # row blocks of 4 rows, column blocks of floor(6/3) = 2 outputs
    for spec in mapping.tiles:
        block = spec.columns(cells)
        assert block.shape == (spec.rows, spec.used_columns) and block.flags.c_contiguous
        for o in range(spec.outputs):
            for k in range(kinds):
                np.testing.assert_array_equal(block[:, o * kinds + k],
                                              cells[spec.row_start:spec.row_stop, k, spec.out_start + o])
        assert spec.per_column(np.arange(kinds)).tolist() == list(range(kinds)) * spec.outputs


def test_programmed_tiles_hold_the_encoded_levels_in_the_tile_layout(card_factory):
    card = card_factory(rows=4, cols=7)
    rng = np.random.default_rng(0)
    layer = QuantizedLayer(0, rng.integers(-8, 8, (9, 5)), np.zeros(5, dtype=np.int64), FixedFormat(4, 0, False),
                           FixedFormat(4, 3, True), None)
    design = design_chip(card, QuantizedNetwork("s", (layer,)), "differential")
    chip = program_chip(design, np.random.default_rng(1))
    for tile in chip.tiles[0]:
        np.testing.assert_array_equal(tile.read_levels, tile.spec.columns(design.layers[0].encoded.levels))
