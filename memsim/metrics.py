"""Figures of merit computed from outputs and the ledger (docs/metrics.md).

- accuracy: fraction of argmax(logits) equal to the label;
- operations: 2 × multiply-accumulates (one multiply and one add each) × inferences;
- COPE, correct operations per unit energy: ``accuracy × operations / energy`` in GOP/J (the definition of
  the ICCAD 2024 authors' group, AICAS 2023);
- bit-exact output rate: the fraction of all layer outputs equal to the zero-variation integer reference.
"""

from __future__ import annotations

import numpy as np


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    if len(labels) == 0:
        return float("nan")
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def operations(macs_per_inference: int, inferences: int) -> int:
    return 2 * macs_per_inference * inferences


def cope_gop_per_j(acc: float, ops: int, energy_j: float) -> float:
    """``accuracy × operations / energy`` in 1e9 operations per joule."""
    if energy_j <= 0:
        return float("nan")
    return acc * ops / energy_j / 1e9


def bit_exact_rate(outputs: tuple[np.ndarray, ...], reference: list[np.ndarray]) -> float:
    """Fraction of layer outputs (all layers, all vectors) equal to the integer reference."""
    equal = sum(int(np.count_nonzero(o == r)) for o, r in zip(outputs, reference, strict=True))
    total = sum(r.size for r in reference)
    return equal / total if total else float("nan")
