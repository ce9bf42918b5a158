"""The bit-true computation of one chunk of inferences through every layer: no time, no ledger, no SimPy.

Per crossbar layer (``memsim.chip.LayerDesign``), in the order of the network graph (digital nodes between
them compute exactly in integers): the layer turns the chunk's inputs into crossbar input vectors
(``to_vectors``: one per inference for a dense layer), the vectors become drive codes (``d`` bits per input
cycle), the layer's fused read (``memsim.tile.LayerReader``) converts and shift-and-adds them with the bias,
the discard compensation and the encoding's exact input-sum correction folded in, and the digital stage
truncates the accumulator to the next layer's format (``QuantizedLayer.finish``); ``from_vectors`` hands the
result to the next layer. Random draws (read noise) come in a fixed order: layer by layer, then
``LayerReader.read``'s order. What the hardware did on the way — per tile activity, clipped conversions,
digital operations, register bits and read pulses per row — comes back as a ``LayerChunk`` per layer, which
the engine turns into timed ledger posts (``memsim.engine.posting``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memsim.tile import LayerReader, TileActivity
from memsim.workload.fixedpoint import unsigned_dtype


@dataclass(frozen=True)
class LayerChunk:
    """What one layer computed and did for one chunk of ``inferences`` inferences (``vectors`` crossbar input
    vectors).

    ``outputs``: int64 (inferences, out_features), the layer's result as the next layer takes it;
    ``activity``: per tile, in mapping order; ``clipped``: conversions that saturated; ``digital_ops``:
    additions of the digital stage (row blocks, the offset encoding's input sums and corrections, with the
    digital reference the popcount of each kept cycle's drives and one subtraction per converted code, and the
    element-wise additions of skip connections it hosts); ``pool_ops``: comparisons and additions of the
    pooling (and stand-alone ReLU) nodes it hosts;
    ``input_bits`` / ``output_bits``: bits through the layer's input and output registers; ``row_pulses``
    (rows,): read pulses each layer row received (vectors with a non-zero drive on it at a kept cycle).
    """

    inferences: int
    vectors: int
    outputs: np.ndarray
    activity: tuple[TileActivity, ...]
    clipped: int
    digital_ops: int
    pool_ops: int
    input_bits: int
    output_bits: int
    row_pulses: np.ndarray


def run_chunk(design, readers: tuple[LayerReader, ...], qx: np.ndarray, rng: np.random.Generator,
              threads: int) -> tuple[LayerChunk, ...]:
    """The chunk ``qx`` (inferences × network inputs, int64 in the input format) through the network graph of
    the chip whose crossbar layers are ``design.layers`` and whose prepared reads are ``readers`` (one per
    layer); digital nodes between them compute exactly (``QuantizedNetwork.evaluate``) and their operations
    count towards the digital stage of the layer that hosts them (``ChipDesign.digital_ops``)."""
    hosted = design.digital_ops()
    out: list[LayerChunk] = []

    def crossbar(i: int, x: np.ndarray) -> np.ndarray:
        layer, reader = design.layers[i], readers[i]
        ql = layer.qlayer
        inferences = x.shape[0]
        # The operand is unsigned within its format (checked at quantization), so it travels in the narrowest
        # unsigned type; the read's workers slice the vectors into drive codes block by block.
        bits = ql.in_format.bits
        x = x.astype(unsigned_dtype(bits), copy=False)
        vectors = layer.to_vectors(x)
        n = vectors.shape[0]
        digital_ops = n * ql.outputs * layer.mapping.row_blocks
        input_sum = None
        if layer.encoded.input_coeff:  # the encoding's exact digital correction
            input_sum = layer.encoded.input_coeff * layer.input_sums(x)
            digital_ops += n * (ql.rows + ql.outputs)
        read = reader.read(vectors, rng, ql.bias_q + layer.discard.compensation, input_sum, threads, input_bits=bits)
        if design.card.crossbar.reference == "digital":
            # The digital floor correction (docs/datapath.md §Reference column): per vector and kept cycle the
            # popcount of the drives, one addition per layer row (row groups and row blocks partition the
            # rows, and the tiles of a row block share it), then one subtraction per converted code.
            digital_ops += n * len(reader.active) * ql.rows
            digital_ops += sum(int(a.conversions.sum()) for a in read.activity)
        y = layer.from_vectors(ql.finish(read.partial), inferences)
        out.append(LayerChunk(
            inferences=inferences,
            vectors=n,
            outputs=y,
            activity=read.activity,
            clipped=int(sum(int(a.clipped.sum()) for a in read.activity)),
            digital_ops=digital_ops + inferences * hosted[i]["reduce"],
            pool_ops=inferences * hosted[i]["pool"],
            input_bits=n * ql.rows * ql.in_format.bits,
            output_bits=n * ql.outputs * layer.output_bits,
            row_pulses=read.nonzero.sum(axis=0),
        ))
        return y

    design.qnet.evaluate(qx, crossbar)
    return tuple(out)
