"""Mapping a layer's encoded weights onto crossbar tiles.

A layer with ``rows`` inputs and ``outputs`` outputs, each output occupying ``K`` columns (its encoding's
column kinds, adjacent), is cut into tiles: row blocks of the crossbar's ``rows`` and column blocks of
``floor(data_cols / K)`` outputs. ``data_cols`` is ``cols − 1`` with ``reference = "column"`` (one column of
every crossbar is the reference column that removes the ``g_min`` floor) and ``cols`` with
``reference = "digital"`` (the floor is removed digitally; docs/datapath.md §Reference column). Inside a
tile, rows are read in row groups of
``rows_per_read`` (at most the crossbar's rows); every row group is converted separately and the partial
sums of row groups and row blocks are added digitally.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memsim.devices.crossbar import REFERENCE_MODES
from memsim.devices.validate import check_choice


@dataclass(frozen=True)
class TileSpec:
    """Where one crossbar sits in its layer. Row bounds are layer rows; output bounds are layer outputs."""

    layer: int
    index: int
    row_start: int
    row_stop: int
    out_start: int
    out_stop: int
    kinds: int
    rows_per_read: int

    @property
    def rows(self) -> int:
        return self.row_stop - self.row_start

    @property
    def outputs(self) -> int:
        return self.out_stop - self.out_start

    @property
    def used_columns(self) -> int:
        """Data columns holding weights (a reference column is not counted)."""
        return self.outputs * self.kinds

    def columns(self, layer_cells: np.ndarray) -> np.ndarray:
        """This tile's block of a per-cell layer array, in the tile's column layout.

        ``layer_cells`` is (layer rows, K, layer outputs), e.g. encoded levels or programmed conductances; the
        result is its block of rows ``row_start:row_stop`` and outputs ``out_start:out_stop`` as a C-contiguous
        (rows, outputs·K) array, output-major: column ``o·K + k`` holds column kind ``k`` of output
        ``out_start + o`` (the K column kinds of one output are adjacent).
        """
        block = layer_cells[self.row_start : self.row_stop, :, self.out_start : self.out_stop]
        return np.ascontiguousarray(block.transpose(0, 2, 1).reshape(self.rows, self.used_columns))

    def per_column(self, per_kind: np.ndarray) -> np.ndarray:
        """A per-column-kind vector (K,) in the tile's output-major column layout, (outputs·K,)."""
        return np.tile(per_kind, self.outputs)

    @property
    def row_groups(self) -> tuple[tuple[int, int], ...]:
        """Row groups as ``(start, stop)`` relative to the tile's first row."""
        return tuple((r, min(r + self.rows_per_read, self.rows)) for r in range(0, self.rows, self.rows_per_read))


@dataclass(frozen=True)
class LayerMapping:
    layer: int
    tiles: tuple[TileSpec, ...]
    row_blocks: int
    col_blocks: int


def map_layer(
    layer: int, rows: int, outputs: int, kinds: int, xbar_rows: int, xbar_cols: int, rows_per_read: int,
    reference: str = "column",
) -> LayerMapping:
    """Cut a layer into tiles (row-block major order). ``reference`` is the crossbar's ``reference`` mode
    (``memsim.devices.crossbar.REFERENCE_MODES``): ``"column"`` keeps one column per crossbar for the reference
    column, ``"digital"`` gives every column to data. Raises ValueError when one weight cannot fit."""
    check_choice("crossbar.reference", reference, REFERENCE_MODES)
    data_cols = xbar_cols - 1 if reference == "column" else xbar_cols
    if kinds > data_cols:
        beside = " beside its reference column" if reference == "column" else ""
        raise ValueError(
            f"layer {layer}: one weight needs {kinds} columns but a {xbar_cols}-column crossbar has only "
            f"{data_cols} data columns{beside}; use fewer weight bits or more bits per cell"
        )
    if not 1 <= rows_per_read <= xbar_rows:
        raise ValueError(f"mapping.rows_per_read = {rows_per_read} is out of range; allowed 1..{xbar_rows}")
    per_tile = data_cols // kinds
    tiles = []
    for r in range(0, rows, xbar_rows):
        for o in range(0, outputs, per_tile):
            tiles.append(
                TileSpec(layer, len(tiles), r, min(r + xbar_rows, rows), o, min(o + per_tile, outputs), kinds,
                         rows_per_read)
            )
    return LayerMapping(layer, tuple(tiles), -(-rows // xbar_rows), -(-outputs // per_tile))
