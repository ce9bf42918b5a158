"""Tests of memsim.workload.network: layer and network validation, float forward pass, the .npz format (dense chains
and graphs), the built-in networks."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from memsim.config import SimConfig
from memsim.simulate import simulate
from memsim.workload.conv import Conv2dLayer
from memsim.workload.datasets import digits_splits
from memsim.workload.digital import Add, AvgPool2d, Flatten, GlobalAvgPool, MaxPool2d, ReLU
from memsim.workload.network import (
    BUILTIN_NETWORKS,
    GRAPH_KEYS,
    NODE_KINDS,
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
    assert accuracy >= 0.95


def test_builtin_network_ships_provenance():
    from importlib import resources

    with resources.as_file(resources.files("memsim").joinpath("data", BUILTIN_NETWORKS["digits-mlp"])) as path:
        with np.load(path) as archive:
            provenance = str(archive["provenance"])
    assert "tools/train_digits.py: numpy" in provenance and "seed=0" in provenance
    assert "weight noise 0.1 x max|w| per layer and step" in provenance
    assert "(718 images; split train/calibration/test 40/25/35 %, stratified)" in provenance


def test_builtin_network_unknown_name_lists_available():
    with pytest.raises(ValueError) as exc_info:
        builtin_network("resnet")
    message = assert_one_line(exc_info)
    assert "'resnet'" in message and "digits-mlp" in message


# --- the graph layout ----------------------------------------------------------------------------------------


def make_cnn(seed=0, name="small-cnn"):
    """A CNN with every node kind: stride and padding pairs, both poolings, a skip connection (Add with inputs)
    around a convolution, ReLU, global pooling and flatten."""
    rng = np.random.default_rng(seed)
    layers = (
        Conv2dLayer(rng.standard_normal((4, 1, 3, 3)), rng.standard_normal(4), "relu", padding=1),   # 0: 4×8×8
        MaxPool2d(3, stride=(2, 1), padding=(1, 0)),                                                  # 1: 4×4×6
        Conv2dLayer(rng.standard_normal((4, 4, 3, 3)), rng.standard_normal(4), "none", padding=(1, 1)),  # 2
        Add("relu", inputs=(1, 2)),                                                                   # 3: 4×4×6
        AvgPool2d((2, 3)),                                                                            # 4: 4×2×2
        ReLU(),                                                                                       # 5
        Conv2dLayer(rng.standard_normal((6, 4, 2, 2)), rng.standard_normal(6), "relu", stride=(2, 1)),  # 6: 6×1×1
        GlobalAvgPool(),                                                                              # 7: 6×1×1
        Flatten(),                                                                                    # 8: 6
        DenseLayer(rng.standard_normal((6, 3)), rng.standard_normal(3), "none"),                      # 9: 3
    )
    return Network(name=name, layers=layers, input_shape=(1, 8, 8))


def assert_same_network(a: Network, b: Network):
    """Every field of every node equal (arrays exactly), and the same name, input shape and shapes."""
    assert (a.name, a.input_shape, a.shapes) == (b.name, b.input_shape, b.shapes)
    assert len(a.layers) == len(b.layers)
    for node_a, node_b in zip(a.layers, b.layers, strict=True):
        assert type(node_a) is type(node_b)
        for f in dataclasses.fields(node_a):
            x, y = getattr(node_a, f.name), getattr(node_b, f.name)
            if isinstance(x, np.ndarray):
                assert x.dtype == y.dtype and np.array_equal(x, y), f.name
            else:
                assert x == y, f.name


def test_graph_keys_cover_every_node_kind():
    assert set(GRAPH_KEYS) == set(NODE_KINDS)
    assert all(cls.kind == kind for kind, cls in NODE_KINDS.items())


def test_save_load_round_trips_a_cnn_exactly(tmp_path):
    network = make_cnn()
    path = tmp_path / "cnn.npz"
    save_network(network, path, provenance="a test CNN")
    loaded = load_network(path)
    assert_same_network(network, loaded)
    x = np.random.default_rng(2).random((5, 1, 8, 8))
    np.testing.assert_array_equal(loaded.forward_float(x), network.forward_float(x))
    with np.load(path) as archive:
        assert str(archive["kind3"]) == "add" and archive["inputs3"].tolist() == [1, 2]
        assert not any(f"inputs{i}" in archive.files for i in (1, 2, 4, 5, 6, 7, 8, 9))
        assert archive["padding1"].tolist() == [1, 0] and archive["stride6"].tolist() == [2, 1]
        assert archive["input_shape"].tolist() == [1, 8, 8] and str(archive["provenance"]) == "a test CNN"


@pytest.mark.parametrize("input_shape", [None, (1, 8, 8)])
def test_save_load_round_trips_a_dense_chain_in_the_chain_layout(tmp_path, input_shape):
    rng = np.random.default_rng(4)
    layers = (DenseLayer(rng.standard_normal((64, 5)), rng.standard_normal(5), "relu"),
              DenseLayer(rng.standard_normal((5, 3)), rng.standard_normal(3), "none"))
    network = Network("chain", layers, input_shape=input_shape)
    path = tmp_path / "chain.npz"
    save_network(network, path)
    assert_same_network(network, load_network(path))
    with np.load(path) as archive:
        assert not any(key.startswith("kind") for key in archive.files)
        assert archive["activations"].tolist() == ["relu", "none"]


def test_a_dense_chain_with_a_skip_is_saved_as_a_graph(tmp_path):
    rng = np.random.default_rng(5)
    layers = (DenseLayer(rng.standard_normal((4, 4)), np.zeros(4), "relu"),
              DenseLayer(rng.standard_normal((4, 4)), np.zeros(4), "relu", inputs=(-1,)))
    network = Network("two-heads", layers)
    path = tmp_path / "net.npz"
    save_network(network, path)
    assert_same_network(network, load_network(path))
    with np.load(path) as archive:
        assert str(archive["kind1"]) == "dense" and archive["inputs1"].tolist() == [-1]


def test_graph_defaults(tmp_path):
    """Scalar attributes mean (h, w) pairs; stride and padding default; add's activation defaults to none; a
    network of a dense first node needs no input_shape."""
    path = write_npz(tmp_path / "g.npz", kind0=np.array("dense"), W0=np.ones((4, 4)), b0=np.zeros(4),
                     activation0=np.array("relu"), kind1=np.array("add"), inputs1=np.array([0, 0]),
                     kind2=np.array("dense"), W2=np.ones((4, 2)), b2=np.zeros(2), activation2=np.array("none"))
    network = load_network(path)
    assert network.name == "g" and network.input_shape == (4,) and network.layers[1].activation == "none"
    path = write_npz(tmp_path / "p.npz", input_shape=np.array([1, 4, 4]), kind0=np.array("maxpool2d"),
                     kernel0=np.array(2), kind1=np.array("conv2d"), W1=np.ones((2, 1, 1, 1)), b1=np.zeros(2),
                     activation1=np.array("none"))
    pool, conv = load_network(path).layers
    assert (pool.kernel, pool.stride, pool.padding) == ((2, 2), (2, 2), (0, 0))
    assert (conv.stride, conv.padding) == ((1, 1), (0, 0))


def cnn_arrays(**overrides):
    """A valid graph file (conv, max pooling, flatten, dense) with keys replaced or removed (None)."""
    arrays = {
        "input_shape": np.array([1, 4, 4]),
        "kind0": np.array("conv2d"), "W0": np.ones((2, 1, 3, 3)), "b0": np.zeros(2),
        "activation0": np.array("relu"), "padding0": np.array([1, 1]),
        "kind1": np.array("maxpool2d"), "kernel1": np.array([2, 2]),
        "kind2": np.array("flatten"),
        "kind3": np.array("dense"), "W3": np.ones((8, 3)), "b3": np.zeros(3), "activation3": np.array("none"),
    }
    arrays.update(overrides)
    return {k: v for k, v in arrays.items() if v is not None}


def test_cnn_arrays_are_valid(tmp_path):
    assert load_network(write_npz(tmp_path / "ok.npz", **cnn_arrays())).shapes[-1] == (3,)


@pytest.mark.parametrize(
    "arrays, fragment",
    [
        (cnn_arrays(kind2=None), "kind3 present but kind2 missing"),
        (cnn_arrays(kind1=np.array("lstm")), "kind1 is 'lstm'; expected one of dense, conv2d"),
        (cnn_arrays(kind1=np.array(["maxpool2d"] * 2)), "kind1 has dtype <U9 and shape (2,)"),
        (cnn_arrays(activations=np.array(["relu", "none"])), "activations belongs to the dense-chain layout"),
        (cnn_arrays(W7=np.ones((2, 2))), "W7 has no kind7"),
        (cnn_arrays(inputs9=np.array([0])), "inputs9 has no kind9"),
        (cnn_arrays(kernel0=np.array(3)), "kernel0 is not allowed on node 0 (conv2d); it takes W0, b0, activation0"),
        (cnn_arrays(activation1=np.array("relu")), "activation1 is not allowed on node 1 (maxpool2d)"),
        (cnn_arrays(W2=np.ones((2, 2))), "W2 is not allowed on node 2 (flatten); it takes no attributes"),
        (cnn_arrays(W0=None), "W0 is missing; a conv2d node needs W0 and b0"),
        (cnn_arrays(b3=None), "b3 is missing"),
        (cnn_arrays(W0=np.ones((2, 9))), "W0 has shape (2, 9); a conv2d weight is 4-D (C_out, C_in, kh, kw)"),
        (cnn_arrays(W3=np.ones((8, 3, 1))), "W3 has shape (8, 3, 1); a dense weight is 2-D"),
        (cnn_arrays(b0=np.zeros(3)), "b0 has shape (3,) but W0 has 2 outputs"),
        (cnn_arrays(W3=np.full((8, 3), np.nan)), "W3 contains 24 non-finite values"),
        (cnn_arrays(b0=np.array(["a", "b"])), "b0 has dtype <U1"),
        (cnn_arrays(activation0=None), "activation0 is missing; a conv2d node needs activation relu or none"),
        (cnn_arrays(activation3=np.array("tanh")), "activation3 is 'tanh'; expected one of relu, none"),
        (cnn_arrays(kernel1=None), "kernel1 is missing; a maxpool2d node needs its window"),
        (cnn_arrays(kernel1=np.array([0, 2])), "kernel1 is [0, 2] (int64, shape (2,)); expected an integer >= 1"),
        (cnn_arrays(padding0=np.array([1, 1, 1])), "padding0 is [1, 1, 1]"),
        (cnn_arrays(padding0=np.array([-1, 0])), "padding0 is [-1, 0]"),
        (cnn_arrays(padding0=np.array([1.0, 1.0])), "padding0 is [1.0, 1.0] (float64"),
        (cnn_arrays(stride1=np.array(0)), "stride1 is 0 (int64, shape ()); expected an integer >= 1"),
        (cnn_arrays(padding1=np.array(2)), "padding1 = [2, 2] is not less than kernel1 = [2, 2]"),
        (cnn_arrays(inputs2=np.array([0, 1])), "inputs2 is [0, 1] (int64); a flatten node takes 1 integer"),
        (cnn_arrays(inputs2=np.array([2])), "inputs2 is [2] (int64)"),
        (cnn_arrays(inputs2=np.array([-2])), "inputs2 is [-2]"),
        (cnn_arrays(kind2=np.array("add")), "inputs2 is missing; an add node takes 2 operands"),
        (cnn_arrays(input_shape=None), "input_shape is needed when the first node is conv2d"),
        (cnn_arrays(input_shape=np.array([[1, 4, 4]])), "input_shape is [[1, 4, 4]]"),
        (cnn_arrays(input_shape=np.array([1, 0, 4])), "input_shape is [1, 0, 4]"),
        (cnn_arrays(input_shape=np.array([2, 4, 4])), "node 0: conv2d layer with weight (2, 1, 3, 3) takes (C_in = 1"),
        (cnn_arrays(W3=np.ones((9, 3))), "layer 3 (weight (9, 3)) has 9 inputs but layer 2 (flatten) outputs 8"),
        (cnn_arrays(name=np.array("")), "name is empty"),
    ],
)
def test_load_graph_errors_are_one_line_and_name_the_file_and_key(tmp_path, arrays, fragment):
    path = write_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError) as exc_info:
        load_network(path)
    message = assert_one_line(exc_info)
    assert message.startswith(f"{path}: ")
    assert fragment in message


def test_chain_layout_takes_input_shape(tmp_path):
    path = write_npz(tmp_path / "c.npz", W0=np.ones((64, 2)), b0=np.zeros(2), input_shape=np.array([1, 8, 8]))
    assert load_network(path).input_shape == (1, 8, 8)
    bad = write_npz(tmp_path / "bad.npz", W0=np.ones((64, 2)), b0=np.zeros(2), input_shape=np.array([1, 8, 7]))
    with pytest.raises(ValueError) as exc_info:
        load_network(bad)
    message = assert_one_line(exc_info)
    assert message.startswith(str(bad)) and "has 64 inputs but the network input outputs 56" in message


# --- the built-in CNN ----------------------------------------------------------------------------------------

DIGITS_CNN_PROVENANCE = (
    "tools/train_digits_cnn.py: numpy 2.4.6 im2col trainer, float64, one BLAS thread; conv 1->8 3x3 pad 1 relu, "
    "maxpool 2, conv 8->16 3x3 pad 1 relu, maxpool 2, flatten, dense 32 relu, dense 10; He-normal init, softmax "
    "cross-entropy, Adam(lr=0.005 cosine-decayed to 0, betas=(0.9, 0.999), eps=1e-8) with decoupled weight decay "
    "0.0001, weight noise 0.1 x max|w| per layer and step, batch 32, 200 epochs, seed=0; fitted on "
    "digits_splits(seed=0)['train'] (718 images; split train/calibration/test 40/25/35 %, stratified), last epoch's "
    "training loss (noisy weights) 0.01879; command: python tools/train_digits_cnn.py -o memsim/data/digits_cnn.npz"
)


def test_builtin_cnn_shape_and_float_test_accuracy():
    network = builtin_network("digits-cnn")
    assert network.name == "digits-cnn" and network.input_shape == (1, 8, 8)
    assert [node.kind for node in network.layers] == ["conv2d", "maxpool2d", "conv2d", "maxpool2d", "flatten",
                                                      "dense", "dense"]
    assert network.shapes[-1] == (10,)
    crossbar = network.crossbar_layers
    assert [layer.activation for layer in crossbar] == ["relu"] * (len(crossbar) - 1) + ["none"]
    test = digits_splits()["test"]
    accuracy = np.mean(np.argmax(network.forward_float(test.x.reshape(-1, 1, 8, 8)), axis=1) == test.y)
    assert accuracy >= 0.97


def test_builtin_cnn_ships_its_recorded_provenance():
    from importlib import resources

    with resources.as_file(resources.files("memsim").joinpath("data", BUILTIN_NETWORKS["digits-cnn"])) as path:
        with np.load(path) as archive:
            assert str(archive["provenance"]) == DIGITS_CNN_PROVENANCE


def test_builtin_cnn_simulates_bit_exactly_without_variation():
    result = simulate(SimConfig(network="digits-cnn", trace="").with_sigma_rel(0.0)).summary()
    assert result["accuracy_float"] >= 0.97
    assert result["accuracy_hw"] == result["accuracy_quantized"]
    assert result["bit_exact_rate"] == 1.0


def test_save_refuses_a_node_kind_without_an_npz_form(tmp_path):
    class Twice(ReLU):
        kind = "twice"

        def forward_float(self, x):
            return 2 * x

    network = Network("odd", (Twice(), DenseLayer(np.ones((4, 2)), np.zeros(2), "none")), input_shape=(4,))
    with pytest.raises(ValueError) as exc_info:
        save_network(network, tmp_path / "odd.npz")
    message = assert_one_line(exc_info)
    assert message.startswith(str(tmp_path / "odd.npz")) and "node 0 (Twice, kind 'twice') has no .npz form" in message
    assert not (tmp_path / "odd.npz").exists()
