"""Tests of memsim.workload.datasets: Dataset validation, the digits splits, the .npz format, the registry."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from memsim.workload.datasets import (
    BUILTIN_DATASETS,
    Dataset,
    builtin_dataset,
    digits_split_indices,
    digits_splits,
    load_dataset,
)

SPLITS = ("train", "calibration", "test")


def assert_one_line(exc_info):
    message = str(exc_info.value)
    assert "\n" not in message
    return message


# --- Dataset -----------------------------------------------------------------------------------------------


def test_dataset_stores_read_only_typed_copies():
    x = np.array([[0, 1], [2, 3]], dtype=np.int16)
    y = np.array([1, 0], dtype=np.uint8)
    data = Dataset("d", x, y)
    assert data.x.dtype == np.float64 and data.y.dtype == np.int64
    assert (data.n_samples, data.n_features) == (2, 2)
    x[0, 0] = 7
    assert data.x[0, 0] == 0.0
    with pytest.raises(ValueError):
        data.y[0] = 3


@pytest.mark.parametrize(
    "x, y, fragment",
    [
        (np.ones(3), np.zeros(3, dtype=int), "x has shape (3,)"),
        (np.ones((3, 2)), np.zeros(2, dtype=int), "x has 3 rows but y has 2 labels"),
        (np.ones((3, 2)), np.zeros((3, 1), dtype=int), "y has shape (3, 1)"),
        (np.ones((2, 2)), np.zeros(2), "y has dtype float64"),
        (np.array([[0.5, -0.25]]), np.zeros(1, dtype=int), "activations are unsigned"),
        (np.array([[0.5, np.nan]]), np.zeros(1, dtype=int), "x contains 1 non-finite"),
        (np.ones((1, 2)), np.array([-1]), "y has negative labels"),
        (np.array([["a", "b"]]), np.zeros(1, dtype=int), "x has dtype <U1"),
    ],
)
def test_dataset_rejects_bad_arrays(x, y, fragment):
    with pytest.raises(ValueError) as exc_info:
        Dataset("d", x, y)
    message = assert_one_line(exc_info)
    assert message.startswith("dataset 'd'")
    assert fragment in message


def test_dataset_rejects_empty_name():
    with pytest.raises(ValueError) as exc_info:
        Dataset("", np.ones((1, 1)), np.zeros(1, dtype=int))
    assert "Dataset.name" in assert_one_line(exc_info)


# --- digits splits -----------------------------------------------------------------------------------------


def test_digits_splits_are_disjoint_and_cover_all_images():
    indices = digits_split_indices()
    assert set(indices) == set(SPLITS)
    sets = {split: set(idx.tolist()) for split, idx in indices.items()}
    for split, idx in indices.items():
        assert len(sets[split]) == len(idx), f"{split} repeats an image"
    assert not sets["train"] & sets["calibration"]
    assert not sets["train"] & sets["test"]
    assert not sets["calibration"] & sets["test"]
    assert sets["train"] | sets["calibration"] | sets["test"] == set(range(1797))


def test_digits_splits_sizes_and_contents():
    splits = digits_splits()
    assert {split: data.n_samples for split, data in splits.items()} == {"train": 718, "calibration": 450, "test": 629}
    assert sum(data.n_samples for data in splits.values()) == 1797
    digits = load_digits()
    for split, idx in digits_split_indices().items():
        data = splits[split]
        assert data.name == f"digits-{split}"
        assert data.n_features == 64
        np.testing.assert_array_equal(data.x, digits.data[idx] / 16.0)
        np.testing.assert_array_equal(data.y, digits.target[idx])
        assert data.x.min() >= 0.0 and data.x.max() <= 1.0


def test_digits_split_images_are_disjoint_by_content():
    splits = digits_splits()
    rows = {split: {row.tobytes() for row in data.x} for split, data in splits.items()}
    assert not rows["calibration"] & rows["test"]
    assert not rows["train"] & (rows["calibration"] | rows["test"])


def test_digits_splits_are_stratified():
    splits = digits_splits()
    for split, fraction in (("train", 0.4), ("calibration", 0.25), ("test", 0.35)):
        counts = np.bincount(splits[split].y, minlength=10)
        totals = np.bincount(load_digits().target, minlength=10)
        assert np.all(np.abs(counts - fraction * totals) <= 1.0), (split, counts)


def test_digits_splits_are_deterministic_and_depend_on_seed():
    first, second = digits_split_indices(), digits_split_indices()
    for split in SPLITS:
        np.testing.assert_array_equal(first[split], second[split])
    other = digits_split_indices(seed=1)
    assert not np.array_equal(first["test"], other["test"])


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_digits_split_seed_must_be_a_non_negative_integer(seed):
    with pytest.raises(ValueError) as exc_info:
        digits_split_indices(seed)
    assert "digits split seed" in assert_one_line(exc_info)


# --- load_dataset ------------------------------------------------------------------------------------------


def test_load_dataset_round_trip_and_name(tmp_path):
    x = np.random.default_rng(0).random((5, 3))
    y = np.array([0, 1, 2, 1, 0])
    np.savez(tmp_path / "mine.npz", x=x, y=y, comment=np.array("ignored"))
    data = load_dataset(tmp_path / "mine.npz")
    assert data.name == "mine"
    np.testing.assert_array_equal(data.x, x)
    np.testing.assert_array_equal(data.y, y)
    np.savez(tmp_path / "named.npz", x=x, y=y, name=np.array("sensor-set"))
    assert load_dataset(tmp_path / "named.npz").name == "sensor-set"


@pytest.mark.parametrize(
    "arrays, fragment",
    [
        ({"y": np.zeros(2, dtype=int)}, "no array 'x'"),
        ({"x": np.ones((2, 2))}, "no array 'y'"),
        ({"x": np.ones((3, 2)), "y": np.zeros(2, dtype=int)}, "x has 3 rows but y has 2 labels"),
        ({"x": np.array([[0.1, -0.2]]), "y": np.zeros(1, dtype=int)}, "x has negative values (min -0.2)"),
        ({"x": np.array([[np.inf, 0.0]]), "y": np.zeros(1, dtype=int)}, "non-finite"),
        ({"x": np.ones(4), "y": np.zeros(4, dtype=int)}, "x has shape (4,)"),
        ({"x": np.ones((1, 1)), "y": np.zeros(1, dtype=int), "name": np.array([1, 2])}, "name has dtype"),
    ],
)
def test_load_dataset_errors_are_one_line_and_name_the_file(tmp_path, arrays, fragment):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError) as exc_info:
        load_dataset(path)
    message = assert_one_line(exc_info)
    assert message.startswith(str(path))
    assert fragment in message


def test_load_dataset_missing_and_non_npz_files(tmp_path):
    with pytest.raises(ValueError) as exc_info:
        load_dataset(tmp_path / "absent.npz")
    assert "dataset file not found" in assert_one_line(exc_info)
    text = tmp_path / "data.csv"
    text.write_text("x,y\n1,0\n")
    with pytest.raises(ValueError) as exc_info:
        load_dataset(text)
    assert "not an .npz archive" in assert_one_line(exc_info)


# --- registry ----------------------------------------------------------------------------------------------


def test_builtin_dataset_defaults_to_digits_test():
    data = builtin_dataset()
    assert "digits" in BUILTIN_DATASETS
    np.testing.assert_array_equal(data.x, digits_splits()["test"].x)
    np.testing.assert_array_equal(builtin_dataset("digits", "calibration").y, digits_splits()["calibration"].y)


def test_builtin_dataset_unknown_name_or_split_lists_available():
    with pytest.raises(ValueError) as exc_info:
        builtin_dataset("mnist")
    assert "'mnist'" in assert_one_line(exc_info) and "digits" in str(exc_info.value)
    with pytest.raises(ValueError) as exc_info:
        builtin_dataset("digits", "validation")
    message = assert_one_line(exc_info)
    assert "'validation'" in message and "train, calibration, test" in message
