"""Figures of merit computed from outputs and the ledger (docs/metrics.md).

- accuracy: fraction of argmax(logits) equal to the label;
- confusion matrix: inputs counted by (true label, prediction); per-class accuracy: its diagonal over its row
  sums (the fraction of each class's inputs predicted as that class, i.e. the class's recall);
- operations: 2 × multiply-accumulates (one multiply and one add each) × inferences;
- COPE, correct operations per unit energy: ``accuracy × operations / energy`` in GOP/J (the definition of
  the ICCAD 2024 authors' group, AICAS 2023);
- TOPS/W: operations per joule / 1e12;
- bit-exact output rate: the fraction of all layer outputs equal to the zero-variation integer reference.
"""

from __future__ import annotations

import numpy as np


def predictions(outputs: np.ndarray) -> np.ndarray:
    """The predicted class of every input: the argmax of its outputs, flattened in C order (the first maximum on
    a tie); a network whose last layer is a convolution predicts over its whole output map."""
    return np.argmax(np.asarray(outputs).reshape(len(outputs), -1), axis=1)


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    if len(labels) == 0:
        return float("nan")
    return float(np.mean(predictions(logits) == labels))


def operations(macs_per_inference: int, inferences: int) -> int:
    return 2 * macs_per_inference * inferences


def cope_gop_per_j(acc: float, ops: int, energy_j: float) -> float:
    """``accuracy × operations / energy`` in 1e9 operations per joule."""
    if energy_j <= 0:
        return float("nan")
    return acc * ops / energy_j / 1e9


def tops_per_w(ops: int, energy_j: float) -> float:
    """Tera-operations per joule (TOPS/W: operations per second per watt), ``ops / energy / 1e12``."""
    if energy_j <= 0:
        return float("nan")
    return ops / energy_j / 1e12


def bit_exact_rate(outputs: tuple[np.ndarray, ...], reference: list[np.ndarray]) -> float:
    """Fraction of layer outputs (all layers, all vectors) equal to the integer reference."""
    equal = sum(int(np.count_nonzero(o == r)) for o, r in zip(outputs, reference, strict=True))
    total = sum(r.size for r in reference)
    return equal / total if total else float("nan")


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, n_classes: int) -> np.ndarray:
    """Inputs counted by true label (row) and prediction (column): an int64 ``n_classes × n_classes`` matrix.

    ``labels`` and ``predictions`` are non-negative integers below ``n_classes``, one per input. The matrix
    sums to the number of inputs and its trace is the number of correct predictions.
    """
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    flat = np.bincount(labels * n_classes + predictions, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """Per true label (the last two axes are label × prediction): correct predictions over that label's inputs;
    NaN for a label without inputs."""
    confusion = np.asarray(confusion)
    inputs = confusion.sum(axis=-1)
    correct = np.diagonal(confusion, axis1=-2, axis2=-1)
    return np.where(inputs > 0, correct / np.maximum(inputs, 1), np.nan)


def paired_drop_bootstrap(reference_correct: np.ndarray, correct: np.ndarray, rng: np.random.Generator,
                          resamples: int = 4000) -> tuple[float, np.ndarray]:
    """The accuracy drop of a hardware run below a reference on the same inputs, and its bootstrap
    distribution: ``(mean drop, drops of the resamples)``.

    ``reference_correct`` (n,): whether the reference (e.g. the ideal quantized network) classifies each input
    right; ``correct`` (chips, n): whether each chip instance does. The drop is
    ``mean_i ref_i − mean_(c,i) hw_(c,i)``; pairing every chip's answer with the reference's on the same input
    removes the variance the two accuracies share. Each resample draws inputs and chips with replacement, both
    at once (the two-stage bootstrap of a crossed design), so the spread carries the uncertainty of a finite
    test set and of finitely many chips."""
    ref = np.asarray(reference_correct, dtype=np.float64)
    hw = np.asarray(correct, dtype=np.float64).reshape(-1, len(ref))
    chips, n = hw.shape
    if n == 0 or chips == 0:
        return float("nan"), np.full(resamples, np.nan)
    drop = float(ref.mean() - hw.mean())
    drops = np.empty(resamples)
    for b in range(resamples):
        images = rng.integers(0, n, n)
        instances = rng.integers(0, chips, chips)
        drops[b] = ref[images].mean() - hw[np.ix_(instances, images)].mean()
    return drop, drops


def paired_drop_bound(reference_correct: np.ndarray, correct: np.ndarray, rng: np.random.Generator,
                      level: float = 0.95, resamples: int = 4000) -> tuple[float, float]:
    """The accuracy drop of a hardware run below a reference on the same inputs, and a one-sided upper
    confidence bound on it: ``(mean drop, bound)``, the bound being the ``level`` quantile of the drop over
    ``resamples`` bootstrap resamples (``paired_drop_bootstrap``). A budget is met at that confidence only when
    the bound is within it."""
    drop, drops = paired_drop_bootstrap(reference_correct, correct, rng, resamples)
    return drop, float(np.quantile(drops, level)) if np.isfinite(drop) else float("nan")
