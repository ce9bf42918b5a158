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

from memsim.workload.fixedpoint import FixedFormat, frac_bits_for, shift_right_floor, truncate_output
from memsim.workload.layer import Layer, Node
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
        return self.geometry.to_vectors(x) if self.geometry is not None else Layer.to_vectors(self, x)

    def from_vectors(self, y: np.ndarray, inferences: int) -> np.ndarray:
        return self.geometry.from_vectors(y, inferences) if self.geometry is not None else y

    def input_sums(self, x: np.ndarray) -> np.ndarray:
        return self.geometry.input_sums(x) if self.geometry is not None else Layer.input_sums(self, x)

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
        """Accumulator (bias included) -> layer output: ReLU and truncation to an unsigned format, truncation
        to a signed one (a layer without ReLU whose output an addition takes), or the raw last-layer
        logits."""
        if self.out_format is None:
            return acc
        if self.out_format.signed:
            return np.clip(shift_right_floor(acc, self.shift), self.out_format.q_min, self.out_format.q_max)
        return truncate_output(acc, self.shift, self.out_format.bits)

    def reference(self, qx: np.ndarray) -> np.ndarray:
        """Exact integer layer on a batch of inferences: ``finish(x @ qw + bias_q)`` in int64 over the layer's
        input vectors ``x = to_vectors(qx)``, handed on by ``from_vectors``."""
        x = self.to_vectors(np.asarray(qx, dtype=np.int64))
        return self.from_vectors(self.finish(x @ self.qw + self.bias_q), len(qx))


@dataclass(frozen=True)
class QuantizedStep:
    """One node of the quantized graph: its float ``node``, its operands (node indices, ``-1`` the network's
    input) and their formats, its output format (None: the last layer's accumulator), ``layer``: its index
    among the crossbar layers (None for a digital node) and ``host``: the crossbar layer whose digital
    stage runs a digital node (the last crossbar layer before it, or the first one)."""

    node: Node
    inputs: tuple[int, ...]
    in_formats: tuple[FixedFormat, ...]
    out_format: FixedFormat | None
    layer: int | None = None
    host: int = 0

    def digital(self, qs: list[np.ndarray]) -> np.ndarray:
        """The exact integer result of a digital node (``memsim.workload.digital``)."""
        return self.node.integer(qs, self.in_formats, self.out_format)


@dataclass(frozen=True)
class QuantizedNetwork:
    """A network in integers: its crossbar ``layers`` and, for a graph, every node as a ``QuantizedStep``
    (empty ``steps``: the layers form a chain). The last node is a crossbar layer; its output is the
    network's."""

    name: str
    layers: tuple[QuantizedLayer, ...]
    steps: tuple[QuantizedStep, ...] = ()

    def __post_init__(self) -> None:
        if not self.steps:
            chain = tuple(QuantizedStep(ql.geometry, (i - 1,), (ql.in_format,), ql.out_format, i, i)
                          for i, ql in enumerate(self.layers))
            object.__setattr__(self, "steps", chain)

    @property
    def input_format(self) -> FixedFormat:
        return self.layers[0].in_format

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        return self.input_format.quantize(x)

    def evaluate(self, qx: np.ndarray, crossbar) -> list[np.ndarray]:
        """Run the graph on integer inputs ``qx`` (inferences, *input_shape): ``crossbar(i, x)`` computes
        crossbar layer ``i`` on its operand ``x``, digital nodes compute exactly. Returns every crossbar layer's
        output, in order (the last is the network's output). Operands are dropped once no later node needs
        them."""
        last_use = {}
        for i, step in enumerate(self.steps):
            for j in step.inputs:
                last_use[j] = i
        values = {-1: qx}
        outputs = []
        for i, step in enumerate(self.steps):
            operands = [values[j] for j in step.inputs]
            for j in step.inputs:
                if last_use[j] == i:
                    del values[j]
            if step.layer is not None:
                y = crossbar(step.layer, operands[0])
                outputs.append(y)
            else:
                y = step.digital(operands)
            values[i] = y
        return outputs

    def reference(self, qx: np.ndarray) -> list[np.ndarray]:
        """Integer outputs of every crossbar layer for integer inputs ``qx`` (the zero-variation hardware)."""
        return self.evaluate(np.asarray(qx, dtype=np.int64), lambda i, x: self.layers[i].reference(x))


BIAS_BITS = 62  # a quantized bias is an int64 accumulator value: |bias| < 2**62 steps leaves room for the sums


def quantize_network(
    network: Network,
    calibration_x: np.ndarray,
    input_bits: int,
    weight_bits: tuple[int, ...],
    output_bits: int,
    weight_shifts: tuple[int, ...] | None = None,
) -> QuantizedNetwork:
    """Choose power-of-two formats for every node from the weights and the calibration activations.

    ``weight_bits`` gives ``Bw`` per crossbar layer. ``weight_shifts`` (default 0) adds fractional bits beyond
    the range-fitting scale: finer resolution, with the largest weights saturating (``memsim.planning.plan``).
    A crossbar layer's input must be unsigned (the DACs drive unsigned codes): a ReLU, a pooling of one, or
    the network's non-negative input. A layer without ReLU that is not last gets a signed output format (an
    addition takes it); the last node must be a crossbar layer, which keeps its accumulator.
    """
    layers = network.crossbar_layers
    shifts = weight_shifts if weight_shifts is not None else (0,) * len(weight_bits)
    if len(weight_bits) != len(layers) or len(shifts) != len(layers):
        raise ValueError(
            f"quantization.weight_bits has {len(weight_bits)} entries; the network has {len(layers)} layers"
        )
    if not network.layers[-1].crossbar:
        raise ValueError(f"network {network.name!r} ends in a {network.layers[-1].kind} node; memsim needs the last "
                         "node to be a dense or conv2d layer (its accumulators are the outputs)")
    peaks = network.activation_peaks(calibration_x)  # max |a| of the input and of every node's output
    formats = {-1: FixedFormat(input_bits, frac_bits_for(peaks[0], input_bits, False), False)}
    qlayers: list[QuantizedLayer] = []
    steps = []
    for i, node in enumerate(network.layers):
        in_formats = tuple(formats[j] for j in node.inputs)
        last = i == len(network.layers) - 1
        peak = peaks[i + 1]
        if node.crossbar:
            c = len(qlayers)
            in_fmt = in_formats[0]
            if in_fmt.signed:
                raise ValueError(f"layer {c} ({node.kind}, node {i}) takes a signed input from node "
                                 f"{node.inputs[0]}; crossbar inputs are unsigned, so its producer must end in relu")
            bw, h = weight_bits[c], shifts[c]
            matrix = node.matrix
            w_fmt = FixedFormat(bw, frac_bits_for(float(np.max(np.abs(matrix), initial=0.0)), bw, True) + h, True)
            qw = w_fmt.quantize(matrix)
            acc_frac = in_fmt.frac_bits + w_fmt.frac_bits
            bias_scaled = np.floor(node.bias * 2.0**acc_frac + 0.5)
            limit = 2.0**BIAS_BITS
            if np.any(np.abs(bias_scaled) >= limit):
                largest = float(np.max(np.abs(node.bias)))
                raise ValueError(f"layer {c} ({node.kind}, node {i}): a bias of magnitude {largest:g} does not fit the "
                                 f"accumulator at its scale 2**-{acc_frac}; allowed |bias| < {limit / 2.0**acc_frac:g}")
            bias_q = bias_scaled.astype(np.int64)
            out_fmt = None
            if not last:
                signed = node.activation != "relu"
                out_fmt = FixedFormat(output_bits, frac_bits_for(peak, output_bits, signed), signed)
            qlayers.append(QuantizedLayer(c, qw, bias_q, in_fmt, w_fmt, out_fmt, node))
            steps.append(QuantizedStep(node, node.inputs, in_formats, out_fmt, c, c))
        else:
            if node.kind == "add":
                signed = node.activation != "relu"
                out_fmt = FixedFormat(output_bits, frac_bits_for(peak, output_bits, signed), signed)
            elif node.kind == "relu":
                fmt = in_formats[0]
                out_fmt = FixedFormat(max(1, fmt.bits - 1) if fmt.signed else fmt.bits, fmt.frac_bits, False)
            else:
                out_fmt = in_formats[0]
            steps.append(QuantizedStep(node, node.inputs, in_formats, out_fmt, None, max(len(qlayers) - 1, 0)))
        formats[i] = out_fmt
    return QuantizedNetwork(network.name, tuple(qlayers), tuple(steps))
