"""Labelled input sets that networks are calibrated and evaluated on.

The built-in set is scikit-learn's bundled handwritten digits (1797 images of 8×8 pixels, values 0..16,
shipped with scikit-learn, so no download). memsim scales the pixels to [0, 1] (pixels / 16) and splits the
images once, stratified by class, with a fixed seed:

    train        40 % (718 images)   used only by tools/train_digits.py and tools/train_digits_cnn.py to fit the
                                     built-in networks
    calibration  25 % (450 images)   used to calibrate fixed-point formats and to verify quantization plans
    test         35 % (629 images)   used only to report accuracy

The test split is sized so that a budget of about one accuracy point can be judged. memsim judges a plan by a
one-sided 95 % bound on the *paired* accuracy drop over the same test images (memsim.metrics.paired_drop_bound).
Only the discordant images (right for one side, wrong for the other) move a paired drop, so its image standard
error is about sqrt(discordant fraction / n), and the bound lies about 1.6 of those above the mean drop. With
1.9 % of the images discordant (the default card at σ = 5 % against the ideal, 5 chips) that is 0.55 points on
629 test images (3.7 % and 0.76 points with the former shared random stream; 1.0 on the 360 of the former
60/20/20 split); with 0.16 % (σ = 2.5 %) it is 0.16 points. The
training split gave up the images at no cost: the former scikit-learn MLP of tools/train_digits.py reached
96.3-97.3 % float test accuracy over seeds 0-2 fitted on 40 %, as against 96.1-97.5 % fitted on the former 60 %.

The three splits are disjoint, so a plan calibrated on "calibration" is judged on images it has not seen.
User datasets are `.npz` archives with arrays `x` (n × features, finite, >= 0) and `y` (n integer class
labels >= 0), and an optional 0-d string `name`; other keys are ignored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memsim.workload.network import npz_string, read_npz

DIGITS_SPLIT_FRACTIONS = {"train": 0.4, "calibration": 0.25, "test": 0.35}
DIGITS_SPLIT_SEED = 0


@dataclass(frozen=True, eq=False)
class Dataset:
    """Inputs `x` (n × features, float64) and integer class labels `y` (n,), stored as read-only copies.

    Inputs must be non-negative because activations are unsigned integers in the hardware's fixed-point
    format (docs/datapath.md §Formats); a network whose first layer needs signed inputs must be re-expressed first.
    Equality is identity because arrays have no single truth value; compare arrays explicitly.
    """

    name: str
    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Dataset.name: {self.name!r} is not allowed; expected a non-empty string")
        where = f"dataset {self.name!r}"
        x_in = np.asarray(self.x)
        y_in = np.asarray(self.y)
        if x_in.dtype.kind not in "iuf":
            raise ValueError(f"{where}: x has dtype {x_in.dtype}; expected real numbers")
        if y_in.dtype.kind not in "iu":
            raise ValueError(f"{where}: y has dtype {y_in.dtype}; expected integer class labels")
        if x_in.ndim < 2 or 0 in x_in.shape:
            raise ValueError(f"{where}: x has shape {x_in.shape}; expected (n_samples, n_features) or (n_samples, "
                             "C, H, W), all >= 1")
        if y_in.ndim != 1:
            raise ValueError(f"{where}: y has shape {y_in.shape}; expected 1-D (n_samples,)")
        if len(y_in) != len(x_in):
            raise ValueError(f"{where}: x has {len(x_in)} rows but y has {len(y_in)} labels; expected the same length")
        x = np.array(x_in, dtype=np.float64)
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{where}: x contains {int(np.sum(~np.isfinite(x)))} non-finite values; all must be "
                             f"finite")
        if np.any(x < 0):
            raise ValueError(
                f"{where}: x has negative values (min {x.min():g}); inputs must be >= 0 because activations are "
                f"unsigned in the hardware format"
            )
        if np.any(y_in < 0):
            raise ValueError(f"{where}: y has negative labels (min {y_in.min()}); class labels must be >= 0")
        y = np.array(y_in, dtype=np.int64)
        x.setflags(write=False)
        y.setflags(write=False)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)

    @property
    def n_samples(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_features(self) -> int:
        """Numbers per input (the product of its shape)."""
        return int(np.prod(self.x.shape[1:]))


def digits_split_indices(seed: int = DIGITS_SPLIT_SEED) -> dict[str, np.ndarray]:
    """Indices into scikit-learn's `load_digits()` for the "train", "calibration" and "test" splits.

    Stratified by class with `DIGITS_SPLIT_FRACTIONS`: first the test 35 % is split off, then the
    calibration images (25 % of all, 25/65 of the rest); both draws use `random_state=seed`. Indices are
    sorted ascending.
    The built-in networks were trained on the seed-0 train split, so only seed 0 keeps its test and
    calibration images unseen by them.
    """
    from sklearn.datasets import (
        load_digits,  # imported here: scikit-learn takes seconds to import
    )
    from sklearn.model_selection import train_test_split

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"digits split seed: {seed!r} is not allowed; expected an integer >= 0")
    labels = load_digits().target
    everything = np.arange(len(labels))
    rest, test = train_test_split(
        everything, test_size=DIGITS_SPLIT_FRACTIONS["test"], stratify=labels, random_state=int(seed)
    )
    calibration_of_rest = DIGITS_SPLIT_FRACTIONS["calibration"] / (1.0 - DIGITS_SPLIT_FRACTIONS["test"])
    train, calibration = train_test_split(
        rest, test_size=calibration_of_rest, stratify=labels[rest], random_state=int(seed)
    )
    return {"train": np.sort(train), "calibration": np.sort(calibration), "test": np.sort(test)}


def digits_splits(seed: int = DIGITS_SPLIT_SEED) -> dict[str, Dataset]:
    """The digits images as disjoint "train", "calibration" and "test" datasets, pixels scaled to [0, 1].

    See `digits_split_indices` for how the images are assigned; dataset names are "digits-<split>".
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = digits.data / 16.0
    return {
        split: Dataset(name=f"digits-{split}", x=x[indices], y=digits.target[indices])
        for split, indices in digits_split_indices(seed).items()
    }


BUILTIN_DATASETS = {"digits": digits_splits}


def load_dataset(path: str | os.PathLike[str]) -> Dataset:
    """Load a `Dataset` from an `.npz` archive with arrays `x` and `y` (and optionally `name`).

    Every problem with the file is reported as a one-line ValueError starting with the file path.
    """
    path = Path(path)
    arrays = read_npz(path, "dataset")
    for key in ("x", "y"):
        if key not in arrays:
            raise ValueError(f"{path}: no array {key!r}; a dataset file needs x (n × features) and y (n labels)")
    name = npz_string(arrays["name"], path, "name") if "name" in arrays else path.stem
    try:
        return Dataset(name=name, x=arrays["x"], y=arrays["y"])
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def builtin_dataset(name: str = "digits", split: str = "test") -> Dataset:
    """One split of a dataset registered in BUILTIN_DATASETS, with that dataset's fixed split seed."""
    if name not in BUILTIN_DATASETS:
        raise ValueError(f"dataset name {name!r} is not built in; available: {', '.join(sorted(BUILTIN_DATASETS))}")
    splits = BUILTIN_DATASETS[name]()
    if split not in splits:
        raise ValueError(f"workload.split = {split!r} is not a split of dataset {name!r}; allowed: {', '.join(splits)}")
    return splits[split]
