"""tools/train_digits_cnn.py: the numpy CNN trainer's exact gradients, its agreement with memsim's float network,
and a short training run that writes a loadable, reproducible network."""


import numpy as np
import pytest

from memsim.workload.network import load_network



@pytest.fixture(scope="module")
def tool(load_tool):
    return load_tool("train_digits_cnn")


def small_model(tool):
    args = tool.parse_args(["--channels", "3", "4", "--hidden", "5"])
    rng = np.random.default_rng(1)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in tool.init_params(args, rng).items()}
    return args, params, rng.random((4, 1, 8, 8)), np.array([1, 2, 3, 4])


def test_backward_matches_finite_differences(tool):
    args, params, x, y = small_model(tool)
    n_dense = len(args.hidden) + 1
    logits, cache = tool.forward(params, x, n_dense)
    grads = tool.backward(params, cache, tool.cross_entropy(logits, y)[1], n_dense)
    rng = np.random.default_rng(2)
    for key, value in params.items():
        for _ in range(4):
            index = tuple(int(rng.integers(0, n)) for n in value.shape)
            old, h = value[index], 1e-6
            value[index] = old + h
            up = tool.cross_entropy(tool.forward(params, x, n_dense)[0], y)[0]
            value[index] = old - h
            down = tool.cross_entropy(tool.forward(params, x, n_dense)[0], y)[0]
            value[index] = old
            assert grads[key][index] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-8), key


def test_trainer_forward_is_memsims_float_network(tool):
    args, params, x, _ = small_model(tool)
    network = tool.to_network(args, params)
    assert network.input_shape == (1, 8, 8)
    np.testing.assert_allclose(network.forward_float(x), tool.forward(params, x, len(args.hidden) + 1)[0],
                               rtol=0, atol=1e-12)


def test_short_run_writes_a_reproducible_network(tool, tmp_path, capsys):
    argv = ["--channels", "2", "2", "--hidden", "--epochs", "2", "--name", "tiny-cnn"]
    assert tool.main([*argv, "-o", str(tmp_path / "a.npz")]) == 0
    assert "float accuracy test" in capsys.readouterr().out
    assert tool.main([*argv, "-o", str(tmp_path / "b.npz")]) == 0
    a, b = load_network(tmp_path / "a.npz"), load_network(tmp_path / "b.npz")
    assert a.name == "tiny-cnn" and [n.kind for n in a.layers][-2:] == ["flatten", "dense"]
    for node_a, node_b in zip(a.crossbar_layers, b.crossbar_layers, strict=True):
        np.testing.assert_array_equal(node_a.weight, node_b.weight)
    with np.load(tmp_path / "a.npz") as archive:
        assert "2 epochs, seed=0" in str(archive["provenance"])
