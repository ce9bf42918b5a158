"""ONNX import (memsim.workload.onnx_import): models built with onnx.helper, read by memsim, checked against
onnx's own reference evaluator; refusals are one line naming node and op; the imported LeNet runs bit-exact."""

import json
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

from memsim.workload.conv import Conv2dLayer  # noqa: E402
from memsim.workload.network import DenseLayer  # noqa: E402
from memsim.workload.onnx_import import MISSING_ONNX, SUPPORTED_OPS, load_onnx  # noqa: E402


class Graph:
    """A small builder: float32 initializers from a seeded generator, nodes named after their op."""

    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.count = [], [], 0

    def const(self, array, name=None):
        name = name or f"c{len(self.inits)}"
        array = np.asarray(array)
        self.inits.append(numpy_helper.from_array(array.astype(np.float32) if array.dtype.kind == "f" else array,
                                                  name))
        return name

    def rand(self, *shape, scale=None):
        scale = scale if scale is not None else 1 / np.sqrt(np.prod(shape[1:]) if len(shape) > 1 else 1)
        return self.const(self.rng.normal(scale=scale, size=shape))

    def op(self, op_type, inputs, name=None, outputs=1, **attrs):
        self.count += 1
        name = name or f"{op_type.lower()}{self.count}"
        outs = [f"{name}_out{k}" if k else f"{name}_out" for k in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=name, **attrs))
        return outs[0] if outputs == 1 else outs

    def bn(self, x, channels):
        return self.op("BatchNormalization", [x, self.const(self.rng.uniform(0.5, 1.5, channels)),
                                              self.const(self.rng.normal(scale=0.1, size=channels)),
                                              self.const(self.rng.normal(scale=0.1, size=channels)),
                                              self.const(self.rng.uniform(0.5, 2.0, channels))], epsilon=1e-3)

    def model(self, out, in_shape, out_features, opset=17, batch="N", name="g"):
        graph = helper.make_graph(
            self.nodes, name,
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, *in_shape])],
            [helper.make_tensor_value_info(out, TensorProto.FLOAT, [batch, out_features])], self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def save(model, path):
    onnx.save(model, str(path))
    return path


def lenet(pool="MaxPool", opset=17, batch="N"):
    """LeNet-5 for 1×28×28 inputs (LeCun et al., 1998, with ReLU): random weights, fixed seed."""
    g = Graph(seed=5)
    h = g.op("Conv", ["x", g.rand(6, 1, 5, 5), g.rand(6, scale=0.1)], kernel_shape=[5, 5], pads=[2, 2, 2, 2])
    h = g.op(pool, [g.op("Relu", [h])], kernel_shape=[2, 2], strides=[2, 2])
    h = g.op("Conv", [h, g.rand(16, 6, 5, 5), g.rand(16, scale=0.1)], kernel_shape=[5, 5])
    h = g.op("Flatten", [g.op(pool, [g.op("Relu", [h])], kernel_shape=[2, 2], strides=[2, 2])], axis=1)
    h = g.op("Relu", [g.op("Gemm", [h, g.rand(120, 400), g.rand(120, scale=0.1)], transB=1)])
    h = g.op("Relu", [g.op("Gemm", [h, g.rand(84, 120), g.rand(84, scale=0.1)], transB=1)])
    h = g.op("Gemm", [h, g.rand(10, 84), g.rand(10, scale=0.1)], transB=1)
    return g.model(h, (1, 28, 28), 10, opset=opset, batch=batch, name="lenet5")


def residual():
    """A stem and one residual block with batch normalization (He et al., CVPR 2016, Fig. 2), then global
    average pooling and a classifier."""
    g = Graph(seed=7)
    stem = g.op("Relu", [g.bn(g.op("Conv", ["x", g.rand(8, 3, 3, 3)], pads=[1, 1, 1, 1]), 8)])
    h = g.op("Relu", [g.bn(g.op("Conv", [stem, g.rand(8, 8, 3, 3), g.rand(8, scale=0.1)], pads=[1, 1, 1, 1]), 8)])
    h = g.bn(g.op("Conv", [h, g.rand(8, 8, 3, 3)], pads=[1, 1, 1, 1]), 8)
    h = g.op("Relu", [g.op("Add", [h, stem])])
    h = g.op("Flatten", [g.op("GlobalAveragePool", [h])])
    h = g.op("Gemm", [h, g.rand(10, 8), g.rand(10, scale=0.1)], transB=1)
    return g.model(h, (3, 8, 8), 10, name="resblock")


def mlp(opset=17):
    """MatMul + Add (a bias), then Gemm with transB = 0, alpha and beta, then Gemm with transB = 1."""
    g = Graph(seed=3)
    h = g.op("Relu", [g.op("Add", [g.op("MatMul", ["x", g.rand(16, 12)]), g.rand(12, scale=0.1)])])
    h = g.op("Relu", [g.op("Gemm", [h, g.rand(12, 9), g.rand(1, 9, scale=0.1)], alpha=0.5, beta=2.0)])
    h = g.op("Add", [g.rand(7, scale=0.1), g.op("MatMul", [h, g.rand(9, 7)])])
    return g.model(h, (16,), 7, opset=opset, name="")


def assert_matches_reference(model, network, x):
    """memsim's float64 forward against onnx.reference on float32 inputs, within 1e-5 relative."""
    expected = ReferenceEvaluator(model).run(None, {"x": x.astype(np.float32)})[0].astype(np.float64)
    got = network.forward_float(x.astype(np.float32).astype(np.float64))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


@pytest.mark.parametrize("opset", [11, 13, 17, 21])
@pytest.mark.parametrize("pool", ["MaxPool", "AveragePool"])
def test_lenet_matches_the_onnx_reference(tmp_path, pool, opset):
    model = lenet(pool, opset)
    network = load_onnx(save(model, tmp_path / "lenet.onnx"))
    assert network.name == "lenet5" and network.input_shape == (1, 28, 28)
    pooling = {"MaxPool": "maxpool2d", "AveragePool": "avgpool2d"}[pool]
    assert [n.kind for n in network.layers] == ["conv2d", pooling, "conv2d", pooling, "flatten"] + ["dense"] * 3
    assert [getattr(n, "activation", "") for n in network.crossbar_layers] == ["relu"] * 4 + ["none"]
    assert network.layers[0].padding == (2, 2) and network.layers[1].stride == (2, 2)
    assert network.shapes[3] == (16, 5, 5)
    x = np.random.default_rng(1).uniform(0, 1, size=(6, 1, 28, 28))
    assert_matches_reference(model, network, x)


def test_residual_block_with_batch_norm_matches_the_onnx_reference(tmp_path):
    model = residual()
    network = load_onnx(save(model, tmp_path / "res.onnx"))
    assert [(n.kind, getattr(n, "activation", "")) for n in network.layers] == [
        ("conv2d", "relu"), ("conv2d", "relu"), ("conv2d", "none"), ("add", "relu"), ("globalavgpool", ""),
        ("flatten", ""), ("dense", "none")]
    assert network.layers[3].inputs == (2, 0)  # the skip connection from the stem
    x = np.random.default_rng(2).uniform(0, 1, size=(5, 3, 8, 8))
    assert_matches_reference(model, network, x)


def test_batch_norm_folding_follows_the_equation(tmp_path):
    g = Graph(seed=1)
    w = g.rng.normal(size=(4, 2, 3, 3))
    gamma, beta, mean, var = np.array([1.5, 0.5, 2, 1]), np.array([0.1, -0.2, 0, 1]), np.arange(4.0), np.ones(4)
    h = g.op("Conv", ["x", g.const(w), g.const(np.ones(4))])
    h = g.op("BatchNormalization", [h, *(g.const(a) for a in (gamma, beta, mean, var))], epsilon=0.25)
    conv = load_onnx(save(g.model(h, (2, 5, 5), 4 * 9), tmp_path / "bn.onnx")).layers[0]
    s = gamma / np.sqrt(var + 0.25)
    np.testing.assert_allclose(conv.weight, w.astype(np.float32) * s[:, None, None, None], rtol=1e-15)
    np.testing.assert_allclose(conv.bias, (1 - mean) * s + beta.astype(np.float32), rtol=1e-15)
    assert conv.weight.dtype == np.float64


@pytest.mark.parametrize("opset", [11, 21])
def test_matmul_with_bias_and_gemm_variants(tmp_path, opset):
    model = mlp(opset)
    path = save(model, tmp_path / "mlp.onnx")
    network = load_onnx(path)
    assert network.name == "mlp"  # the graph has no name: the file's
    assert [(n.kind, n.activation) for n in network.layers] == [("dense", "relu")] * 2 + [("dense", "none")]
    inits = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in model.graph.initializer}
    first, second, _ = network.layers
    np.testing.assert_array_equal(first.weight, inits["c0"])  # MatMul's B is already (in, out)
    np.testing.assert_array_equal(first.bias, inits["c1"])
    np.testing.assert_array_equal(second.weight, 0.5 * inits["c2"])  # transB = 0, alpha = 0.5
    np.testing.assert_array_equal(second.bias, 2.0 * inits["c3"][0])
    x = np.random.default_rng(4).uniform(0, 1, size=(9, 16))
    assert_matches_reference(model, network, x)


@pytest.mark.parametrize("shape", [[0, -1], [-1, 400], [1, -1], [1, 400]])
def test_reshape_to_a_flat_batch_and_no_op_nodes(tmp_path, shape):
    """Reshape's shape as a Constant node (opset 5+) or an initializer; a static batch of 1 as PyTorch exports
    it; Identity and Dropout in inference form are no-ops."""
    g = Graph(seed=2)
    h = g.op("Relu", [g.op("Identity", [g.op("Conv", ["x", g.rand(16, 1, 5, 5)])])])
    if shape[0] == 1:
        target = g.op("Constant", [], value=numpy_helper.from_array(np.array(shape, dtype=np.int64)))
    else:
        target = g.const(np.array(shape, dtype=np.int64))
    h = g.op("Reshape", [g.op("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0]), target])
    h = g.op("Dropout", [h, g.const(np.array(0.5)), g.const(np.array(False))])
    model = g.model(g.op("Gemm", [h, g.rand(10, 400)], transB=1), (1, 14, 14), 10, opset=13, batch=1)
    network = load_onnx(save(model, tmp_path / "reshape.onnx"))
    assert [n.kind for n in network.layers] == ["conv2d", "maxpool2d", "flatten", "dense"]
    assert network.layers[0].activation == "relu"  # fused through the Identity
    x = np.random.default_rng(3).uniform(0, 1, size=(1, 1, 14, 14))
    assert_matches_reference(model, network, x)


def test_initializers_listed_as_graph_inputs_are_weights(tmp_path):
    """Old exporters (IR version < 4, or keep_initializers_as_inputs) list every initializer as a graph input."""
    model = mlp()
    inits = model.graph.initializer
    model.graph.input.extend(helper.make_tensor_value_info(i.name, i.data_type, i.dims) for i in inits)
    network = load_onnx(save(model, tmp_path / "old.onnx"))
    assert network.input_shape == (16,) and len(network.layers) == 3


def test_the_planner_reads_an_onnx_network(tmp_path, run_cli):
    rng = np.random.default_rng(1)
    path = save(mlp(), tmp_path / "mlp.onnx")
    np.savez(tmp_path / "data.npz", x=rng.uniform(0, 1, size=(24, 16)), y=rng.integers(0, 7, size=24))
    code, out, err = run_cli(["plan", "--network", str(path), "--data", str(tmp_path / "data.npz"), "--chips", "1",
                              "--plan-chips", "1", "-o", str(tmp_path / "plan.toml")])
    assert code == 0, err
    code, out, err = run_cli(["simulate", "--network", str(path), "--data", str(tmp_path / "data.npz"), "--plan",
                              str(tmp_path / "plan.toml"), "--no-trace", "--json"])
    assert code == 0, err
    assert json.loads(out)["inferences"] == 24


def test_relu_whose_input_has_other_readers_stays_a_node_and_dead_nodes_are_dropped(tmp_path):
    g = Graph(seed=4)
    h = g.op("MatMul", ["x", g.rand(6, 6)])
    g.op("Relu", [h], name="unused")  # reads h, leads nowhere: dropped, but h keeps two readers
    h = g.op("Relu", [h])
    model = g.model(g.op("Gemm", [h, g.rand(6, 3)]), (6,), 3)
    network = load_onnx(save(model, tmp_path / "dead.onnx"))
    assert [(n.kind, getattr(n, "activation", "")) for n in network.layers] == [
        ("dense", "none"), ("relu", ""), ("dense", "none")]
    assert_matches_reference(model, network, np.random.default_rng(0).uniform(0, 1, size=(4, 6)))


def conv_model(**conv_attrs):
    g = Graph()
    h = g.op("Conv", ["x", g.rand(4, 2 // conv_attrs.get("group", 1), 3, 3)], name="conv3", **conv_attrs)
    return g.model(h, (2, 6, 6), 4)


def one_node(op_type, in_shape=(2, 6, 6), inputs=(), name=None, **attrs):
    """A model of one node reading x and ``inputs`` (names, or arrays that become initializers)."""
    g = Graph()
    h = g.op(op_type, ["x", *(i if isinstance(i, str) else g.const(i) for i in inputs)], name=name, **attrs)
    return g.model(h, in_shape, 4)


def refusals():
    g = Graph()
    sig = g.model(g.op("Sigmoid", [g.op("MatMul", ["x", g.rand(4, 4)])], name="sig"), (4,), 4)
    unnamed = Graph()
    unnamed.nodes.append(helper.make_node("Tanh", ["x"], ["y"]))
    bn_alone = Graph()
    bn_alone.bn("x", 2)
    nan = Graph()
    nan_conv = nan.op("Conv", ["x", nan.const(np.full((4, 2, 3, 3), np.nan))], name="conv3")
    soft = Graph()
    softmax = soft.op("Softmax", [soft.op("MatMul", ["x", soft.rand(4, 4)])], name="probs", axis=1)
    return {
        "Sigmoid": (sig, "node 'sig' (Sigmoid) is not supported; supported ops: " + ", ".join(SUPPORTED_OPS)),
        "unnamed": (unnamed.model("y", (4,), 4), "node 0 (Tanh) is not supported; supported ops:"),
        "Softmax": (soft.model(softmax, (4,), 4),
                    f"node 'probs' (Softmax) is not supported; supported ops: {', '.join(SUPPORTED_OPS)}; export the "
                    "logits instead"),
        "non-finite weights": (nan.model(nan_conv, (2, 6, 6), 4),
                               "node 'conv3' (Conv): Conv2dLayer.weight: contains non-finite values"),
        "group": (conv_model(group=2), "node 'conv3' (Conv): group = 2 is not supported; memsim supports group = 1"),
        "dilations": (conv_model(dilations=[2, 2]), "node 'conv3' (Conv): dilations = [2, 2] is not supported"),
        "asymmetric pads": (conv_model(pads=[1, 0, 0, 1]),
                            "node 'conv3' (Conv): pads = [1, 0, 0, 1] are not symmetric"),
        "auto_pad": (conv_model(auto_pad="SAME_UPPER"), "node 'conv3' (Conv): auto_pad = SAME_UPPER is not supported"),
        "ceil_mode": (one_node("MaxPool", name="mp", kernel_shape=[2, 2], ceil_mode=1),
                      "node 'mp' (MaxPool): ceil_mode = 1 is not supported; memsim supports ceil_mode = 0"),
        "average pool pads": (one_node("AveragePool", name="ap", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                              "node 'ap' (AveragePool): pads = [1, 1, 1, 1] is not supported"),
        "transA": (one_node("Gemm", (4,), [np.eye(4)], name="fc", transA=1),
                   "node 'fc' (Gemm): transA = 1 is not supported; memsim supports transA = 0"),
        "unknown attribute": (one_node("Relu", name="r", foo=1), "node 'r' (Relu): attribute 'foo' is not supported"),
        "batch norm alone": (bn_alone.model(bn_alone.nodes[0].output[0], (2, 6, 6), 4),
                             "(BatchNormalization): memsim supports batch normalization only right after a Conv"),
        "reshape": (one_node("Reshape", inputs=[np.array([-1, 2, 36])], name="rs"),
                    "node 'rs' (Reshape): a reshape to [-1, 2, 36] is not supported"),
        "dynamic weights": (one_node("MatMul", (4,), ["x"], name="mm"),
                            "node 'mm' (MatMul): its matrix B is computed by the graph"),
    }


@pytest.mark.parametrize("case", list(refusals()))
def test_refusals_are_one_line_naming_node_and_op(tmp_path, case):
    model, expected = refusals()[case]
    path = save(model, tmp_path / "bad.onnx")
    with pytest.raises(ValueError) as info:
        load_onnx(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: ") and expected in message


def test_cli_refuses_a_bad_model_with_exit_code_2(tmp_path, run_cli):
    path = save(refusals()["Sigmoid"][0], tmp_path / "bad.onnx")
    code, out, err = run_cli(["simulate", "--network", str(path), "--no-trace"])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "node 'sig' (Sigmoid) is not supported" in err
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\xff\x00 not a protobuf")
    code, _, err = run_cli(["simulate", "--network", str(garbage), "--no-trace"])
    assert code == 2 and err.count("\n") == 1 and "garbage.onnx" in err


def test_without_the_onnx_package_one_line_names_the_extra(tmp_path, run_cli, monkeypatch):
    path = save(lenet(), tmp_path / "lenet.onnx")
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ValueError, match="^reading .onnx networks needs the onnx package: pip install 'memsim"):
        load_onnx(path)
    code, _, err = run_cli(["simulate", "--network", str(path), "--no-trace"])
    assert code == 2 and err.strip() == f"memsim: error: {MISSING_ONNX}"


def test_imported_lenet_simulates_bit_exact_without_variation(tmp_path, run_cli):
    rng = np.random.default_rng(0)
    path = save(lenet(), tmp_path / "lenet.onnx")
    np.savez(tmp_path / "data.npz", x=rng.uniform(0, 1, size=(8, 1, 28, 28)), y=rng.integers(0, 10, size=8))
    code, out, err = run_cli(["simulate", "--network", str(path), "--data", str(tmp_path / "data.npz"),
                              "--sigma", "0", "--no-trace", "--json"])
    assert code == 0, err
    s = json.loads(out)
    assert s["inferences"] == 8 and s["accuracy_hw"] == s["accuracy_quantized"] and s["bit_exact_rate"] == 1.0
    layers = load_onnx(path).crossbar_layers
    assert isinstance(layers[0], Conv2dLayer) and isinstance(layers[-1], DenseLayer)
    assert s["macs"] == 8 * sum(layer.macs_per_inference for layer in layers)
