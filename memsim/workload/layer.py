"""The layer protocol: what the engine, the pipeline, the metrics and the trace ask of any layer kind.

A crossbar computes one matrix-vector product per *input vector*: ``rows`` inputs drive the rows and
``columns`` weight columns (times the encoding's column kinds) give the outputs. A layer kind says how one
inference becomes such vectors and how their outputs feed the next layer; everything else derives from that,
so the engine runs any layer kind unchanged:

- ``rows`` and ``columns``: inputs and outputs of one input vector (the two properties a kind must define);
- ``vectors_per_inference``: input vectors one inference gives the layer (``V``; 1 for a dense layer, the
  output pixels ``H_out·W_out`` for a convolution read as in ISAAC, Shafiee et al., ISCA 2016, §III);
- ``in_features`` and ``out_features``: what one inference hands the layer and what it hands on;
- ``macs_per_inference``: ``V · rows · columns`` logical multiply-accumulates;
- ``to_vectors(x)``: (inferences, in_features) -> (inferences·V, rows), the crossbar input vectors;
- ``from_vectors(y, inferences)``: (inferences·V, columns) -> (inferences, out_features).

A dense layer (``memsim.workload.network.DenseLayer``) takes every default: its vectors are its inputs,
flattened. A network is a graph of ``Node``s (below): crossbar layers, and the digital operations between
them (pooling, element-wise addition, flattening; ``memsim.workload.digital``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np


ACTIVATIONS = ("relu", "none")  # what a crossbar layer (or an addition) applies to its result


def int_pair(owner: str, name: str, value, lo: int) -> tuple[int, int]:
    """``value`` as an ``(h, w)`` pair of integers >= ``lo`` (one integer means both); a one-line error naming
    ``owner.name`` otherwise."""
    pair = (value, value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= lo
                                 for v in pair):
        raise ValueError(f"{owner}.{name} = {value!r} is not allowed; expected an integer >= {lo} or a pair")
    return int(pair[0]), int(pair[1])


def frozen_float_array(value: object, field: str) -> np.ndarray:
    """A read-only float64 copy of ``value``, so a frozen node cannot be changed through its arrays."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: cannot convert {type(value).__name__} to a float64 array") from None
    array.setflags(write=False)
    return array


class Layer(ABC):
    """Base of every layer kind (see the module docstring); subclasses define ``rows`` and ``columns``."""

    @property
    @abstractmethod
    def rows(self) -> int:
        """Inputs of one crossbar input vector (crossbar rows it drives)."""

    @property
    @abstractmethod
    def columns(self) -> int:
        """Outputs of one crossbar input vector (weight columns)."""

    @property
    def vectors_per_inference(self) -> int:
        """Crossbar input vectors one inference gives this layer."""
        return 1

    @property
    def in_features(self) -> int:
        """Numbers one inference hands this layer."""
        return self.rows

    @property
    def out_features(self) -> int:
        """Numbers this layer hands on per inference."""
        return self.columns

    @property
    def macs_per_inference(self) -> int:
        """Logical multiply-accumulates per inference, ``V · rows · columns`` (biases excluded)."""
        return self.vectors_per_inference * self.rows * self.columns

    def to_vectors(self, x: np.ndarray) -> np.ndarray:
        """The crossbar input vectors of a batch: (inferences, *in_shape) -> (inferences·V, rows); by default
        each inference's tensor, flattened in C order, is its one vector."""
        return x.reshape(len(x), -1)

    def from_vectors(self, y: np.ndarray, inferences: int) -> np.ndarray:
        """The layer's result per inference: (inferences·V, columns) -> (inferences, out_features)."""
        return y

    def input_sums(self, x: np.ndarray) -> np.ndarray:
        """``Σ_i x_i`` of each of the batch's vectors, (inferences·V, 1) int64 (the offset encoding's exact
        digital correction)."""
        return self.to_vectors(x).sum(axis=1, keepdims=True, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class Node(ABC):
    """A node of a network graph: one operation on the tensors of each inference.

    ``inputs``: the producers of its operands, by node index (``-1``: the network's input; empty: the node
    before it, or the network's input for the first node); ``in_shape``: the shape of one inference's first
    operand, as ``memsim.workload.network.Network`` resolves it (None until then). Tensors are numpy arrays of
    shape ``(inferences, *shape)``. Crossbar kinds (dense, convolution) also implement ``Layer``; the other
    kinds run in the digital periphery (``memsim.workload.digital``). Equality is identity (nodes hold
    arrays).
    """

    inputs: tuple[int, ...] = field(default=(), kw_only=True)
    in_shape: tuple[int, ...] | None = field(default=None, kw_only=True)

    kind: ClassVar[str] = ""
    arity: ClassVar[int] = 1  # operands

    @abstractmethod
    def out_shape(self, in_shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        """The shape of one inference's result from the shapes of its operands; a one-line ``ValueError`` when
        they do not fit this node."""

    @abstractmethod
    def forward_float(self, *xs: np.ndarray) -> np.ndarray:
        """The float result for operands of shape ``(inferences, *in_shape)``."""

    @property
    def crossbar(self) -> bool:
        """Whether the node runs on crossbars (it implements ``Layer``)."""
        return isinstance(self, Layer)
