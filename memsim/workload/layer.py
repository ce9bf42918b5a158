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

A dense layer (``memsim.workload.network.DenseLayer``) takes every default: its vectors are its inputs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


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
        """The crossbar input vectors of a batch: (inferences, in_features) -> (inferences·V, rows)."""
        return x

    def from_vectors(self, y: np.ndarray, inferences: int) -> np.ndarray:
        """The layer's result per inference: (inferences·V, columns) -> (inferences, out_features)."""
        return y
