"""Tests of memsim.workload.network: layer and network validation, float forward pass, the .npz format, the built-in
network."""

from pathlib import Path

import numpy as np
import pytest

from memsim.workload.datasets import digits_splits
from memsim.workload.network import (
    BUILTIN_NETWORKS,
    DenseLayer,
    Network,
    builtin_network,
    load_network,
    save_network,
)


def make_network(sizes=(4, 3, 2), seed=0, name="tiny"):
    rng = np.random.default_rng(seed)
    layers = tuple(
        DenseLayer(
            rng.standard_normal((n_in, n_out)),
            rng.standard_normal(n_out),
            "relu" if i < len(sizes) - 2 else "none",
        )
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))
    )
    return Network(name=name, layers=layers)


def write_npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def assert_one_line(exc_info):
    message = str(exc_info.value)
    assert "\n" not in message
    return message


# --- DenseLayer --------------------------------------------------------------------------------------------


def test_dense_layer_stores_read_only_float64_copies():
    weight = np.arange(6, dtype=np.int32).reshape(3, 2)
    layer = DenseLayer(weight, [1, 2], "relu")
    assert layer.weight.dtype == np.float64 and layer.bias.dtype == np.float64
    assert (layer.in_features, layer.out_features) == (3, 2)
    weight[0, 0] = 99
    assert layer.weight[0, 0] == 0.0
    with pytest.raises(ValueError):
        layer.weight[0, 0] = 5.0


@pytest.mark.parametrize(
    "weight, bias, activation, fragment",
    [
        (np.ones(3), np.ones(3), "relu", "DenseLayer.weight: shape (3,)"),
        (np.ones((3, 2)), np.ones(3), "relu", "DenseLayer.bias: shape (3,)"),
        (np.array([[1.0, np.nan]]), np.ones(2), "relu", "DenseLayer.weight: contains 1 non-finite"),
        (np.ones((1, 2)), np.array([0.0, np.inf]), "relu", "DenseLayer.bias: contains 1 non-finite"),
        (np.ones((1, 2)), np.ones(2), "sigmoid", "DenseLayer.activation: 'sigmoid'"),
        (np.ones((0, 2)), np.ones(2), "relu", "DenseLayer.weight: shape (0, 2)"),
    ],
)
def test_dense_layer_rejects_bad_fields(weight, bias, activation, fragment):
    with pytest.raises(ValueError) as exc_info:
        DenseLayer(weight, bias, activation)
    assert fragment in assert_one_line(exc_info)


# --- Network -----------------------------------------------------------------------------------------------


def test_network_shape_chain_error_names_both_layers():
    first = DenseLayer(np.ones((4, 64)), np.zeros(64), "relu")
    second = DenseLayer(np.ones((30, 10)), np.zeros(10), "none")
    with pytest.raises(ValueError) as exc_info:
        Network("bad", (first, second))
    message = assert_one_line(exc_info)
    assert "layer 1 (weight (30, 10)) has 30 inputs" in message
    assert "layer 0 (weight (4, 64)) outputs 64" in message


@pytest.mark.parametrize(
    "name, layers, fragment",
    [
        ("", (DenseLayer(np.ones((2, 2)), np.zeros(2), "none"),), "Network.name"),
        ("n", (), "Network.layers: empty"),
        ("n", (np.ones((2, 2)),), "Network.layers[0]: ndarray"),
    ],
)
def test_network_rejects_bad_fields(name, layers, fragment):
    with pytest.raises(ValueError) as exc_info:
        Network(name, layers)
    assert fragment in assert_one_line(exc_info)


def test_network_sizes_and_macs():
    network = make_network((64, 64, 32, 10))
    assert network.in_features == 64
    assert network.out_features == 10
    assert network.macs_per_inference == 64 * 64 + 64 * 32 + 32 * 10
    assert isinstance(network.layers, tuple)


def test_forward_float_matches_hand_computation():
    network = make_network((5, 4, 3, 2), seed=3)
    x = np.random.default_rng(1).random((7, 5))
    w0, w1, w2 = (layer.weight for layer in network.layers)
    b0, b1, b2 = (layer.bias for layer in network.layers)
    h1 = np.maximum(x @ w0 + b0, 0.0)
    h2 = np.maximum(h1 @ w1 + b1, 0.0)
    expected = h2 @ w2 + b2
    np.testing.assert_allclose(network.forward_float(x), expected, rtol=0, atol=1e-12)
    assert np.any(expected < 0), "the last layer must not apply ReLU; choose a seed with negative logits"
    np.testing.assert_allclose(network.forward_float(x[2]), expected[2], rtol=0, atol=1e-12)


def test_activations_float_gives_each_layer_input_and_the_output():
    network = make_network((5, 4, 3, 2), seed=3)
    x = np.random.default_rng(1).random((7, 5))
    acts = network.activations_float(x)
    assert [a.shape for a in acts] == [(7, 5), (7, 4), (7, 3), (7, 2)]
    np.testing.assert_array_equal(acts[0], x)
    for layer, a_in, a_out in zip(network.layers, acts[:-1], acts[1:], strict=True):
        np.testing.assert_array_equal(layer.forward_float(a_in), a_out)
    assert all(np.all(a >= 0) for a in acts[1:-1])
    np.testing.assert_array_equal(acts[-1], network.forward_float(x))


@pytest.mark.parametrize("x", [np.ones((3, 4)), np.ones(6), np.ones((2, 2, 5)), np.full((1, 5), np.nan)])
def test_forward_float_rejects_bad_input(x):
    network = make_network((5, 3, 2))
    with pytest.raises(ValueError) as exc_info:
        network.forward_float(x)
    assert "network 'tiny'" in assert_one_line(exc_info)


# --- save / load -------------------------------------------------------------------------------------------


def test_save_load_round_trip(tmp_path):
    network = make_network((6, 5, 4, 3), name="round-trip")
    path = tmp_path / "net.npz"
    save_network(network, path, provenance="made by a test")
    loaded = load_network(path)
    assert loaded.name == "round-trip"
    assert len(loaded.layers) == 3
    for a, b in zip(network.layers, loaded.layers, strict=True):
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.bias, b.bias)
        assert a.activation == b.activation
    with np.load(path) as archive:
        assert str(archive["provenance"]) == "made by a test"


def test_save_is_atomic_and_uses_the_exact_path(tmp_path):
    path = tmp_path / "weights.bin"
    save_network(make_network(), path)
    save_network(make_network(seed=1), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.bin"]
    np.testing.assert_array_equal(load_network(path).layers[0].weight, make_network(seed=1).layers[0].weight)


def test_save_into_missing_directory_is_a_value_error(tmp_path):
    with pytest.raises(ValueError) as exc_info:
        save_network(make_network(), tmp_path / "absent" / "net.npz")
    assert "does not exist" in assert_one_line(exc_info)


def test_load_defaults_activations_and_name(tmp_path):
    path = write_npz(tmp_path / "plain.npz", W0=np.ones((3, 2)), b0=np.zeros(2), W1=np.ones((2, 4)), b1=np.zeros(4))
    network = load_network(path)
    assert network.name == "plain"
    assert [layer.activation for layer in network.layers] == ["relu", "none"]


def test_load_ignores_unknown_keys(tmp_path):
    path = write_npz(tmp_path / "extra.npz", W0=np.ones((3, 2)), b0=np.zeros(2), provenance=np.array("x"),
                     notes=np.arange(3))
    assert load_network(path).macs_per_inference == 6


def two_layer(**overrides):
    arrays = {"W0": np.ones((3, 64)), "b0": np.zeros(64), "W1": np.ones((64, 10)), "b1": np.zeros(10)}
    arrays.update(overrides)
    return {k: v for k, v in arrays.items() if v is not None}


@pytest.mark.parametrize(
    "arrays, fragment",
    [
        (two_layer(W0=None, b0=None), "no W0"),
        (two_layer(b1=None), "W1 has no b1"),
        (two_layer(W1=None), "b1 has no W1"),
        (two_layer(W2=np.ones((10, 2)), b2=np.zeros(2), W1=None, b1=None), "W2 present but W1 missing"),
        (two_layer(W1=np.ones((30, 10))), "W1 has 30 input rows but layer 0 outputs 64"),
        (two_layer(b0=np.zeros(63)), "b0 has shape (63,) but W0 has 64 output columns"),
        (two_layer(W0=np.ones(64)), "W0 has shape (64,)"),
        (two_layer(W1=np.full((64, 10), np.inf)), "W1 contains 640 non-finite values"),
        (two_layer(b0=np.array([np.nan] * 64)), "b0 contains 64 non-finite values"),
        (two_layer(W0=np.array([["a"] * 64] * 3)), "W0 has dtype <U1"),
        (two_layer(activations=np.array(["relu"])), "activations has 1 entries but the file has 2 layers"),
        (two_layer(activations=np.array(["relu", "tanh"])), "activations[1] is 'tanh'"),
        (two_layer(activations=np.array([1, 0])), "activations has dtype"),
        (two_layer(name=np.array(["a", "b"])), "name has dtype <U1 and shape (2,)"),
    ],
)
def test_load_network_errors_are_one_line_and_name_the_file(tmp_path, arrays, fragment):
    path = write_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError) as exc_info:
        load_network(path)
    message = assert_one_line(exc_info)
    assert message.startswith(str(path))
    assert fragment in message


def test_load_network_missing_file(tmp_path):
    with pytest.raises(ValueError) as exc_info:
        load_network(tmp_path / "nope.npz")
    assert "network file not found" in assert_one_line(exc_info)


@pytest.mark.parametrize("content", [b"", b"W0,b0\n1,2\n", b"PK\x03\x04 truncated zip"])
def test_load_network_rejects_files_that_are_not_npz(tmp_path, content):
    path = tmp_path / "junk.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError) as exc_info:
        load_network(path)
    assert "not an .npz archive" in assert_one_line(exc_info)


def test_load_network_rejects_single_npy_array(tmp_path):
    path = tmp_path / "single.npy"
    np.save(path, np.ones((3, 3)))
    with pytest.raises(ValueError) as exc_info:
        load_network(path)
    assert "single .npy array" in assert_one_line(exc_info)


def test_load_network_rejects_pickled_arrays(tmp_path):
    path = write_npz(tmp_path / "pickled.npz", W0=np.ones((2, 2)), b0=np.zeros(2),
                     meta=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError) as exc_info:
        load_network(path)
    assert "object arrays" in assert_one_line(exc_info)


# --- built-in network --------------------------------------------------------------------------------------


def test_builtin_network_shape_and_float_test_accuracy():
    network = builtin_network()
    assert network.name == "digits-mlp"
    assert network.in_features == 64 and network.out_features == 10
    assert [layer.activation for layer in network.layers[:-1]] == ["relu"] * (len(network.layers) - 1)
    assert network.layers[-1].activation == "none"
    test = digits_splits()["test"]
    accuracy = np.mean(np.argmax(network.forward_float(test.x), axis=1) == test.y)
    assert accuracy >= 0.93


def test_builtin_network_ships_provenance():
    from importlib import resources

    with resources.as_file(resources.files("memsim").joinpath("data", BUILTIN_NETWORKS["digits-mlp"])) as path:
        with np.load(path) as archive:
            provenance = str(archive["provenance"])
    assert "MLPClassifier" in provenance and "random_state=0" in provenance


def test_builtin_network_unknown_name_lists_available():
    with pytest.raises(ValueError) as exc_info:
        builtin_network("resnet")
    message = assert_one_line(exc_info)
    assert "'resnet'" in message and "digits-mlp" in message
