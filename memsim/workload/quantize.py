"""Quantize a float network to the hardware's fixed-point formats, and the exact integer reference.

Per layer (docs/datapath.md §Formats): input ``qx`` unsigned ``Bx`` bits at ``fx``; weights signed ``Bw``
bits at ``fw``
(power-of-two scale from the layer's largest magnitude); bias aligned to ``2**-(fx+fw)``; output unsigned
``Bo`` bits at ``fy`` chosen from the largest calibration activation, so ``k = fx + fw - fy`` accumulator
bits are truncated. The last layer keeps its accumulator (argmax needs no truncation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memsim.workload.fixedpoint import FixedFormat, frac_bits_for, truncate_output
from memsim.workload.layer import Layer
from memsim.workload.network import Network


@dataclass(frozen=True)
class QuantizedLayer(Layer):
    """One layer in integers. ``out_format`` is None for the last layer (accumulator kept).

    The layer protocol (``memsim.workload.layer``): ``rows`` × ``columns`` is the integer weight matrix ``qw``
    of one crossbar input vector; how an inference becomes vectors and back is the float layer's
    (``geometry``; None: a dense layer, one vector per inference).
    """

    index: int
    qw: np.ndarray
    bias_q: np.ndarray
    in_format: FixedFormat
    w_format: FixedFormat
    out_format: FixedFormat | None
    geometry: Layer | None = None

    @property
    def rows(self) -> int:
        return int(self.qw.shape[0])

    @property
    def columns(self) -> int:
        return int(self.qw.shape[1])

    @property
    def outputs(self) -> int:
        """Outputs of one crossbar input vector (``columns``)."""
        return self.columns

    @property
    def vectors_per_inference(self) -> int:
        return self.geometry.vectors_per_inference if self.geometry is not None else 1

    @property
    def in_features(self) -> int:
        return self.geometry.in_features if self.geometry is not None else self.rows

    @property
    def out_features(self) -> int:
        return self.geometry.out_features if self.geometry is not None else self.columns

    def to_vectors(self, x: np.ndarray) -> np.ndarray:
        return self.geometry.to_vectors(x) if self.geometry is not None else x

    def from_vectors(self, y: np.ndarray, inferences: int) -> np.ndarray:
        return self.geometry.from_vectors(y, inferences) if self.geometry is not None else y

    @property
    def shift(self) -> int:
        """``k = fx + fw - fy``: accumulator bits discarded by truncation."""
        if self.out_format is None:
            return 0
        return self.in_format.frac_bits + self.w_format.frac_bits - self.out_format.frac_bits

    @property
    def acc_lsb(self) -> float:
        """Value of one accumulator step, ``2**-(fx+fw)``."""
        return float(2.0 ** -(self.in_format.frac_bits + self.w_format.frac_bits))

    def finish(self, acc: np.ndarray) -> np.ndarray:
        """Accumulator (bias included) -> layer output: ReLU + truncation, or the raw last-layer logits."""
        if self.out_format is None:
            return acc
        return truncate_output(acc, self.shift, self.out_format.bits)

    def reference(self, qx: np.ndarray) -> np.ndarray:
        """Exact integer layer on a batch of inferences: ``finish(x @ qw + bias_q)`` in int64 over the layer's
        input vectors ``x = to_vectors(qx)``, handed on by ``from_vectors``."""
        x = self.to_vectors(np.asarray(qx, dtype=np.int64))
        return self.from_vectors(self.finish(x @ self.qw + self.bias_q), len(qx))


@dataclass(frozen=True)
class QuantizedNetwork:
    name: str
    layers: tuple[QuantizedLayer, ...]

    @property
    def input_format(self) -> FixedFormat:
        return self.layers[0].in_format

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        return self.input_format.quantize(x)

    def reference(self, qx: np.ndarray) -> list[np.ndarray]:
        """Integer outputs of every layer for integer inputs ``qx`` (the zero-variation hardware)."""
        outs = []
        for layer in self.layers:
            qx = layer.reference(qx)
            outs.append(qx)
        return outs


def quantize_network(
    network: Network,
    calibration_x: np.ndarray,
    input_bits: int,
    weight_bits: tuple[int, ...],
    output_bits: int,
    weight_shifts: tuple[int, ...] | None = None,
) -> QuantizedNetwork:
    """Choose power-of-two formats per layer from the weights and calibration activations.

    ``weight_bits`` gives ``Bw`` per layer. ``weight_shifts`` (default 0) adds fractional bits beyond the
    range-fitting scale: finer resolution, with the largest weights saturating (``memsim.planning.plan``). Hidden
    layers must end in ReLU: the hardware's activations are unsigned.
    """
    shifts = weight_shifts if weight_shifts is not None else (0,) * len(weight_bits)
    if len(weight_bits) != len(network.layers) or len(shifts) != len(network.layers):
        raise ValueError(
            f"quantization.weight_bits has {len(weight_bits)} entries; the network has {len(network.layers)} layers"
        )
    for i, layer in enumerate(network.layers[:-1]):
        if layer.activation != "relu":
            raise ValueError(
                f"layer {i} has activation {layer.activation!r}; memsim's hidden activations are unsigned, so "
                "every layer but the last must be relu"
            )
    acts = network.activations_float(calibration_x)
    in_fmt = FixedFormat(input_bits, frac_bits_for(float(np.max(calibration_x, initial=0.0)), input_bits, False), False)
    layers = []
    for i, (layer, bw, h) in enumerate(zip(network.layers, weight_bits, shifts, strict=True)):
        w_fmt = FixedFormat(bw, frac_bits_for(float(np.max(np.abs(layer.weight), initial=0.0)), bw, True) + h, True)
        qw = w_fmt.quantize(layer.weight)
        acc_frac = in_fmt.frac_bits + w_fmt.frac_bits
        bias_q = np.floor(layer.bias * 2.0**acc_frac + 0.5).astype(np.int64)
        last = i == len(network.layers) - 1
        out_fmt = None
        if not last:
            peak = float(np.max(acts[i + 1], initial=0.0))
            out_fmt = FixedFormat(output_bits, frac_bits_for(peak, output_bits, False), False)
        layers.append(QuantizedLayer(i, qw, bias_q, in_fmt, w_fmt, out_fmt, layer))
        if out_fmt is not None:
            in_fmt = out_fmt
    return QuantizedNetwork(network.name, tuple(layers))
