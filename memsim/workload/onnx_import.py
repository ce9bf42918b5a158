"""Import an ONNX model as a memsim ``Network``: ``load_onnx("model.onnx")``.

ONNX (https://onnx.ai, operator semantics: https://onnx.ai/onnx/operators/) is what PyTorch
(``torch.onnx.export``), TensorFlow (tf2onnx) and most other frameworks export. Reading it needs the ``onnx``
package, an optional extra (``pip install 'memsim[onnx]'``); it is imported only when a model is read, so the
rest of memsim works without it.

The graph must have one input, ``(batch, *input_shape)`` with every size after the batch axis fixed, and one
output. Its initializers (and ``Constant`` nodes) are the weights, converted to float64; the nodes, which ONNX
stores in topological order, become memsim nodes (``memsim.workload.network``, ``conv``, ``digital``):

    Conv                 Conv2dLayer: 2-D, group = 1, dilations = 1, symmetric pads, auto_pad NOTSET or VALID
    Gemm                 DenseLayer with weight ``alpha·B`` (``alpha·Bᵀ`` when transB = 1; a DenseLayer's weight is
                         (in, out)) and bias ``beta·C``; transA = 0
    MatMul               DenseLayer with a constant (in, out) matrix and zero bias; an Add of a constant after it
                         (or after Conv, Gemm) is that layer's bias
    BatchNormalization   inference form, folded into the Conv, Gemm or MatMul before it (below)
    Relu                 the ``activation`` of the Conv, Gemm, MatMul or Add before it when nothing else reads
                         that node's output; otherwise a ReLU node
    MaxPool              MaxPool2d: ceil_mode = 0, dilations = 1, storage_order = 0, symmetric pads, no Indices
    AveragePool          AvgPool2d: no padding, ceil_mode = 0, dilations = 1
    GlobalAveragePool    GlobalAvgPool
    Flatten, Reshape     Flatten: Flatten with axis = 1, Reshape to (batch, -1), (0, -1) or (-1, features)
    Add                  of two activations of one shape (a skip connection): an Add node
    Identity, Dropout    no-ops (Dropout in inference form)
    Constant             a constant tensor (weights, Reshape's shape)

Batch normalization in inference form (Ioffe and Szegedy, ICML 2015, Algorithm 2; ONNX BatchNormalization) is
``y = γ·(x − μ)/√(σ² + ε) + β`` per channel. Right after a layer ``x = W·u + b`` it is folded into that layer
(Jacob et al., CVPR 2018, §3.2), with ``s = γ/√(σ² + ε)`` per output channel ``c``:

    W'[c] = W[c]·s[c]        b'[c] = (b[c] − μ[c])·s[c] + β[c]

which is exact in real arithmetic and changes the float result by rounding only (float64 here). Valid only for
inference statistics (``training_mode = 0``), and only when the layer's output goes nowhere but into the
normalization. Everything else (another op, an attribute memsim cannot honour, a weight that is not a
constant) is refused with one line naming the node (its name, or its index in the graph), the op and what is
supported; memsim's own rules (the last node a crossbar layer, unsigned crossbar inputs) are checked when the
network is quantized. Nodes that do not lead to the graph's output are dropped.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

import numpy as np

from memsim.workload.conv import Conv2dLayer
from memsim.workload.digital import Add, AvgPool2d, Flatten, GlobalAvgPool, MaxPool2d, ReLU
from memsim.workload.layer import Node
from memsim.workload.network import DenseLayer, Network

MISSING_ONNX = "reading .onnx networks needs the onnx package: pip install 'memsim[onnx]'"

# The attributes each supported op may carry (any other is refused); which values are honoured is checked
# per op.
_ATTRIBUTES = {
    "Add": (),
    "AveragePool": ("auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"),
    "BatchNormalization": ("epsilon", "momentum", "spatial", "training_mode"),
    "Constant": ("value", "value_float", "value_floats", "value_int", "value_ints"),
    "Conv": ("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"),
    "Dropout": ("is_test", "ratio", "seed"),
    "Flatten": ("axis",),
    "Gemm": ("alpha", "beta", "transA", "transB"),
    "GlobalAveragePool": (),
    "Identity": (),
    "MatMul": (),
    "MaxPool": ("auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"),
    "Relu": (),
    "Reshape": ("allowzero", "shape"),
}
SUPPORTED_OPS = tuple(sorted(_ATTRIBUTES))

_NO_OPS = ("Identity", "Dropout")
_DEFAULT_DOMAINS = ("", "ai.onnx")
_FLOAT_TYPES = {1: "float", 10: "float16", 11: "double", 16: "bfloat16"}  # onnx.TensorProto element types


def _require_onnx():
    """The ``onnx`` module, or a one-line ValueError naming the extra that installs it."""
    try:
        import onnx
        import onnx.numpy_helper  # noqa: F401  (the submodule used below)
    except ImportError:
        raise ValueError(MISSING_ONNX) from None
    return onnx


def load_onnx(path: str | os.PathLike[str]) -> Network:
    """Read the ONNX model at ``path`` as a ``Network`` (module docstring: supported ops and their limits).

    The network is named after the graph (the file name without its suffix when the graph has no name); its
    ``input_shape`` is the graph input's shape without the batch axis. Every problem is one ValueError line
    naming the file.
    """
    path = Path(path)
    onnx = _require_onnx()
    if not path.is_file():
        raise ValueError(f"{path}: network file not found")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf's DecodeError, missing external data, ...: any unreadable file
        raise ValueError(f"{path}: cannot read an ONNX model ({type(exc).__name__}); expected an .onnx file") from None
    if not model.graph.node:
        raise ValueError(f"{path}: holds no graph nodes; expected an ONNX model")
    return _Importer(path, model.graph, onnx.numpy_helper.to_array, onnx.helper.get_attribute_value).network()


class _Refusal(ValueError):
    """A one-line refusal that already names the file and the node."""


def _pair(values) -> tuple[int, int]:
    return int(values[0]), int(values[1])


class _Importer:
    """One pass over a graph's nodes in their (topological) order, building memsim nodes.

    ``env`` maps each tensor name to what it holds: a memsim node index (``-1``: the network's input) or a
    constant array. A Relu, a BatchNormalization or a bias Add is merged into the node before it when that
    node's output has this one consumer (``consumers``, counted through the no-op Identity and Dropout).
    """

    def __init__(self, path: Path, graph, to_array, attribute_value) -> None:
        self.path = path
        self.graph = graph
        self.to_array = to_array
        self.attribute_value = attribute_value
        self.nodes: list[Node] = []
        self.shapes: list[tuple[int, ...]] = []
        self.env: dict[str, int | np.ndarray] = {}
        self.alias: dict[str, str] = {}
        self.consumers: Counter[str] = Counter()
        self.where = ""

    # -- helpers ---------------------------------------------------------------------------------------------

    def fail(self, message: str) -> NoReturn:
        raise _Refusal(f"{self.path}: {self.where}: {message}")

    def canonical(self, name: str) -> str:
        while name in self.alias:
            name = self.alias[name]
        return name

    def value(self, name: str) -> int | np.ndarray:
        if name not in self.env:
            self.fail(f"input {name!r} is not the graph input, an initializer or the output of an earlier node")
        return self.env[name]

    def activation(self, node, k: int, role: str = "") -> int:
        """The memsim node (index, -1 for the network input) that input ``k`` of ``node`` comes from."""
        if k >= len(node.input) or not node.input[k]:
            self.fail(f"input {k} is missing")
        value = self.value(node.input[k])
        if isinstance(value, np.ndarray):
            self.fail(f"a constant {role or f'input {k}'} is not supported; memsim expects the activations here")
        return value

    def constant(self, node, k: int, role: str, optional: bool = False) -> np.ndarray | None:
        """Input ``k`` of ``node``, which must be a constant (an initializer or a Constant node)."""
        if k >= len(node.input) or not node.input[k]:
            if optional:
                return None
            self.fail(f"its {role} (input {k}) is missing")
        value = self.value(node.input[k])
        if not isinstance(value, np.ndarray):
            self.fail(f"its {role} is computed by the graph; memsim supports only constants (initializers) there")
        return value

    def weights(self, node, k: int, role: str, optional: bool = False) -> np.ndarray | None:
        value = self.constant(node, k, role, optional)
        if value is None:
            return None
        if value.dtype.kind not in "iuf":
            self.fail(f"its {role} has dtype {value.dtype}; expected real numbers")
        return np.asarray(value, dtype=np.float64)

    def shape(self, index: int) -> tuple[int, ...]:
        return self.input_shape if index == -1 else self.shapes[index]

    def append(self, node: Node) -> int:
        """Add ``node`` (its ``inputs`` set), checking that its operands' shapes fit it; returns its index."""
        try:
            self.shapes.append(tuple(int(s) for s in node.out_shape(tuple(self.shape(j) for j in node.inputs))))
        except ValueError as exc:
            self.fail(str(exc))
        self.nodes.append(node)
        return len(self.nodes) - 1

    def mergeable(self, name: str, kinds: tuple[type, ...]) -> int | None:
        """The node that tensor ``name`` comes from, when it is one of ``kinds`` without an activation and this
        tensor has no consumer but the node being imported; otherwise None."""
        index = self.env.get(name)
        if isinstance(index, np.ndarray) or index is None or index < 0 or self.consumers[self.canonical(name)] != 1:
            return None
        node = self.nodes[index]
        return index if isinstance(node, kinds) and node.activation == "none" else None

    def attributes(self, node) -> dict:
        allowed = _ATTRIBUTES[node.op_type]
        attrs = {}
        for attribute in node.attribute:
            if attribute.name not in allowed:
                known = f"the attributes {', '.join(allowed)}" if allowed else "no attributes"
                self.fail(f"attribute {attribute.name!r} is not supported; memsim reads {known} of {node.op_type}")
            value = self.attribute_value(attribute)
            attrs[attribute.name] = value.decode() if isinstance(value, bytes) else value
        return attrs

    def check(self, attrs: dict, name: str, allowed, default, supported: str) -> None:
        """Refuse attribute ``name`` unless its value (or ``default``) is one of ``allowed``."""
        value = attrs.get(name, default)
        if isinstance(value, list):
            value = tuple(value)
        if value not in allowed:
            shown = list(value) if isinstance(value, tuple) else value
            self.fail(f"{name} = {shown} is not supported; memsim supports {supported}")

    def window(self, attrs: dict, kernel_shape, pads_allowed: bool) -> dict:
        """The 2-D window attributes of Conv, MaxPool and AveragePool as Conv2dLayer/_Pool2d keywords."""
        if len(kernel_shape) != 2:
            self.fail(f"a {len(kernel_shape)}-D window is not supported; memsim supports 2-D (N, C, H, W) maps")
        self.check(attrs, "auto_pad", ("NOTSET", "VALID"), "NOTSET", "NOTSET (explicit pads) or VALID")
        self.check(attrs, "dilations", ((1, 1),), (1, 1), "dilations = [1, 1]")
        strides = attrs.get("strides", [1, 1])
        pads = attrs.get("pads", [0, 0, 0, 0])
        if len(strides) != 2 or len(pads) != 4:
            self.fail(f"strides = {list(strides)} and pads = {list(pads)} do not fit a 2-D window")
        if attrs.get("auto_pad", "NOTSET") == "VALID" and any(pads):
            self.fail(f"auto_pad = VALID with pads = {list(pads)} is not allowed; give one or the other")
        if pads_allowed:
            if pads[0] != pads[2] or pads[1] != pads[3]:
                self.fail(f"pads = {list(pads)} are not symmetric; memsim supports [top, left, bottom, right] with "
                          "top = bottom and left = right")
        elif any(pads):
            self.fail(f"pads = {list(pads)} is not supported; memsim supports average pooling without padding")
        return {"stride": _pair(strides), "padding": _pair(pads)}

    # -- the graph -------------------------------------------------------------------------------------------

    def network(self) -> Network:
        graph = self.graph
        self.where = f"graph {graph.name!r}" if graph.name else "graph"
        for init in graph.initializer:
            self.env[init.name] = self.to_array(init)
        inputs = [i for i in graph.input if i.name not in self.env]
        if len(inputs) != 1:
            names = ", ".join(repr(i.name) for i in inputs) or "none"
            self.fail(f"has {len(inputs)} inputs ({names}); memsim supports a network with one input")
        self.input_shape = self.read_input(inputs[0])
        self.env[inputs[0].name] = -1
        if len(graph.output) != 1:
            self.fail(f"has {len(graph.output)} outputs; memsim supports a network with one output")
        for node in graph.node:
            if node.op_type in _NO_OPS and node.domain in _DEFAULT_DOMAINS and node.input and node.input[0]:
                self.alias[node.output[0]] = self.canonical(node.input[0])
                continue
            for name in node.input:
                if name:
                    self.consumers[self.canonical(name)] += 1
        self.consumers[self.canonical(graph.output[0].name)] += 1

        for k, node in enumerate(graph.node):
            label = repr(node.name) if node.name else str(k)
            self.where = f"node {label} ({node.op_type})"
            if node.domain not in _DEFAULT_DOMAINS or node.op_type not in _ATTRIBUTES:
                domain = f" of domain {node.domain!r}" if node.domain not in _DEFAULT_DOMAINS else ""
                hint = "; export the logits instead" if node.op_type in ("Softmax", "LogSoftmax") else ""
                raise ValueError(f"{self.path}: {self.where}{domain} is not supported; supported ops: "
                                 f"{', '.join(SUPPORTED_OPS)}{hint}")
            attrs = self.attributes(node)
            try:
                self.env[node.output[0]] = getattr(self, f"op_{node.op_type}")(node, attrs)
            except _Refusal:
                raise
            except ValueError as exc:  # a memsim node refusing its arguments, e.g. non-finite weights
                self.fail(str(exc))

        self.where = f"graph output {graph.output[0].name!r}"
        out = self.value(graph.output[0].name)
        if isinstance(out, np.ndarray) or out < 0:
            self.fail("is a constant or the graph input itself; memsim needs it computed by the network")
        return self.build(out)

    def read_input(self, value_info) -> tuple[int, ...]:
        """The graph input's shape without the batch axis; its sizes must be fixed."""
        self.where = f"graph input {value_info.name!r}"
        tensor = value_info.type.tensor_type
        if not value_info.type.HasField("tensor_type") or not tensor.HasField("shape"):
            self.fail("has no tensor shape; memsim needs (batch, C, H, W) or (batch, features) with fixed sizes")
        if tensor.elem_type not in _FLOAT_TYPES:
            self.fail(f"has element type {tensor.elem_type}; memsim supports float, double, float16 or bfloat16")
        dims = tensor.shape.dim
        shown = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims]
        if len(dims) < 2 or not all(d.HasField("dim_value") and d.dim_value >= 1 for d in dims[1:]):
            self.fail(f"has shape {shown}; memsim needs (batch, C, H, W) or (batch, features) with every size "
                      "after the batch axis fixed")
        first = dims[0]
        self.batch = int(first.dim_value) if first.HasField("dim_value") and first.dim_value >= 1 else None
        return tuple(int(d.dim_value) for d in dims[1:])

    def build(self, out: int) -> Network:
        """The network of the nodes the output depends on, renumbered in their order."""
        needed = {out}
        for i in range(out, -1, -1):
            if i in needed:
                needed.update(j for j in self.nodes[i].inputs if j >= 0)
        order = sorted(needed)
        index = {old: new for new, old in enumerate(order)}
        index[-1] = -1
        layers = tuple(replace(self.nodes[i], inputs=tuple(index[j] for j in self.nodes[i].inputs)) for i in order)
        name = self.graph.name or self.path.stem
        try:
            return Network(name=name, layers=layers, input_shape=self.input_shape)
        except ValueError as exc:
            raise ValueError(f"{self.path}: {exc}") from None

    # -- the ops (``op_<OpType>(node, attrs)`` returns what the node's first output holds) --------------------

    def op_Constant(self, node, attrs):
        if len(attrs) != 1:
            self.fail(f"expected one value attribute; it has {', '.join(attrs) or 'none'}")
        ((name, value),) = attrs.items()
        return self.to_array(value) if name == "value" else np.array(value)

    def op_Identity(self, node, attrs):
        return self.value(node.input[0])

    def op_Dropout(self, node, attrs):
        self.check(attrs, "is_test", (1,), 1, "is_test = 1 (inference)")
        training = self.constant(node, 2, "training_mode", optional=True) if len(node.input) > 2 else None
        if training is not None and bool(np.asarray(training).reshape(-1)[0]):
            self.fail("training_mode = true is not supported; memsim supports Dropout in inference form")
        if len(node.output) > 1 and node.output[1]:
            self.fail("its mask output is read; memsim supports Dropout in inference form (one output)")
        return self.value(node.input[0])

    def op_Conv(self, node, attrs):
        x = self.activation(node, 0)
        weight = self.weights(node, 1, "weight W")
        bias = self.weights(node, 2, "bias B", optional=True)
        if weight.ndim != 4:
            self.fail(f"a {weight.ndim - 2}-D convolution is not supported; memsim supports 2-D ones (W of shape "
                      "(C_out, C_in, kh, kw))")
        self.check(attrs, "group", (1,), 1, "group = 1")
        kernel = tuple(attrs.get("kernel_shape", weight.shape[2:]))
        if kernel != weight.shape[2:]:
            self.fail(f"kernel_shape = {list(kernel)} does not match W of shape {list(weight.shape)}")
        window = self.window(attrs, kernel, pads_allowed=True)
        bias = np.zeros(weight.shape[0]) if bias is None else bias
        if bias.shape != weight.shape[:1]:
            self.fail(f"bias B has shape {list(bias.shape)}; expected ({weight.shape[0]},)")
        return self.append(Conv2dLayer(weight, bias, "none", **window, inputs=(x,)))

    def dense_input(self, node, op: str) -> int:
        x = self.activation(node, 0, "input A")
        shape = self.shape(x)
        if len(shape) != 1:
            self.fail(f"its input has shape (batch, {', '.join(map(str, shape))}); memsim supports {op} on "
                      "(batch, features): flatten it first")
        return x

    def op_Gemm(self, node, attrs):
        x = self.dense_input(node, "Gemm")
        self.check(attrs, "transA", (0,), 0, "transA = 0")
        self.check(attrs, "transB", (0, 1), 0, "transB = 0 or 1")
        b = self.weights(node, 1, "matrix B")
        c = self.weights(node, 2, "bias C", optional=True)
        if b.ndim != 2:
            self.fail(f"matrix B has shape {list(b.shape)}; expected 2-D")
        weight = float(attrs.get("alpha", 1.0)) * (b.T if attrs.get("transB", 0) else b)
        n = weight.shape[1]
        bias = np.zeros(n) if c is None else float(attrs.get("beta", 1.0)) * self.vector(c, n, "bias C")
        return self.append(DenseLayer(weight, bias, "none", inputs=(x,)))

    def vector(self, c: np.ndarray, n: int, role: str) -> np.ndarray:
        """A bias that broadcasts over a (batch, n) result, as (n,)."""
        if c.ndim > 2 or (c.ndim == 2 and c.shape[0] != 1) or c.shape[-1:] not in ((), (1,), (n,)):
            self.fail(f"{role} has shape {list(c.shape)}; memsim supports ({n},), (1, {n}) or one number")
        return np.broadcast_to(c.reshape(-1), (n,)).astype(np.float64)

    def op_MatMul(self, node, attrs):
        x = self.dense_input(node, "MatMul")
        b = self.weights(node, 1, "matrix B")
        if b.ndim != 2:
            self.fail(f"matrix B has shape {list(b.shape)}; memsim supports a constant 2-D (in, out) matrix")
        return self.append(DenseLayer(b, np.zeros(b.shape[1]), "none", inputs=(x,)))

    def op_Add(self, node, attrs):
        if len(node.input) != 2 or not all(node.input):
            self.fail(f"has {len(node.input)} inputs; expected 2")
        a, b = (self.value(name) for name in node.input)
        if not isinstance(a, np.ndarray) and not isinstance(b, np.ndarray):
            if self.shape(a) != self.shape(b):
                self.fail(f"its inputs have shapes {list(self.shape(a))} and {list(self.shape(b))} per inference; "
                          "memsim supports adding tensors of one shape (no broadcasting)")
            return self.append(Add(inputs=(a, b)))
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
            self.fail("both inputs are constants; memsim supports an Add of two activations or a bias after a layer")
        name, c = (node.input[1], a) if isinstance(a, np.ndarray) else (node.input[0], b)
        i = self.mergeable(name, (DenseLayer, Conv2dLayer))
        if i is None:
            self.fail("adding a constant is supported only as the bias of the Conv, Gemm or MatMul right before it, "
                      "when nothing else reads that layer's output")
        layer = self.nodes[i]
        c = np.asarray(c, dtype=np.float64)
        if isinstance(layer, DenseLayer):
            bias = self.vector(c, layer.columns, "the constant")
        else:
            channels = layer.columns
            padded = c.reshape((1,) * (4 - c.ndim) + c.shape) if c.ndim <= 4 else c
            if c.ndim > 4 or padded.shape[0] != 1 or padded.shape[2:] != (1, 1) or padded.shape[1] not in (1, channels):
                self.fail(f"the constant has shape {list(c.shape)}; memsim supports a per-channel bias ({channels}, 1, "
                          "1) after a Conv")
            bias = np.broadcast_to(padded.reshape(-1), (channels,))
        self.nodes[i] = replace(layer, bias=layer.bias + bias)
        return i

    def op_BatchNormalization(self, node, attrs):
        self.check(attrs, "training_mode", (0,), 0, "training_mode = 0 (inference)")
        self.check(attrs, "spatial", (1,), 1, "spatial = 1")
        if any(node.output[1:]):
            self.fail("its running-statistics outputs are read; memsim supports the inference form (one output)")
        self.activation(node, 0)
        i = self.mergeable(node.input[0], (DenseLayer, Conv2dLayer))
        if i is None:
            self.fail("memsim supports batch normalization only right after a Conv, Gemm or MatMul whose output "
                      "nothing else reads (it is folded into that layer)")
        layer = self.nodes[i]
        gamma, beta, mean, var = (self.weights(node, k, role) for k, role in
                                  ((1, "scale"), (2, "bias B"), (3, "mean"), (4, "var")))
        channels = layer.columns
        for role, array in (("scale", gamma), ("bias B", beta), ("mean", mean), ("var", var)):
            if array.shape != (channels,):
                self.fail(f"its {role} has shape {list(array.shape)}; expected ({channels},), one per channel")
        eps = float(attrs.get("epsilon", 1e-5))
        if np.any(var + eps <= 0):
            self.fail("var + epsilon must be > 0 in every channel")
        s = gamma / np.sqrt(var + eps)
        weight = layer.weight * (s[:, None, None, None] if isinstance(layer, Conv2dLayer) else s[None, :])
        self.nodes[i] = replace(layer, weight=weight, bias=(layer.bias - mean) * s + beta)
        return i

    def op_Relu(self, node, attrs):
        x = self.activation(node, 0)
        i = self.mergeable(node.input[0], (DenseLayer, Conv2dLayer, Add))
        if i is not None:
            self.nodes[i] = replace(self.nodes[i], activation="relu")
            return i
        if x >= 0 and (isinstance(self.nodes[x], ReLU) or getattr(self.nodes[x], "activation", "none") == "relu"):
            return x
        return self.append(ReLU(inputs=(x,)))

    def op_MaxPool(self, node, attrs):
        x = self.activation(node, 0)
        if any(node.output[1:]):
            self.fail("its Indices output is read; memsim supports MaxPool with one output")
        self.check(attrs, "ceil_mode", (0,), 0, "ceil_mode = 0")
        self.check(attrs, "storage_order", (0,), 0, "storage_order = 0")
        kernel = self.kernel(attrs)
        window = self.window(attrs, kernel, pads_allowed=True)
        if any(p >= k for p, k in zip(window["padding"], kernel, strict=True)):
            self.fail(f"pads = {list(attrs['pads'])} are not smaller than kernel_shape = {list(kernel)}")
        return self.append(MaxPool2d(kernel, **window, inputs=(x,)))

    def op_AveragePool(self, node, attrs):
        x = self.activation(node, 0)
        self.check(attrs, "ceil_mode", (0,), 0, "ceil_mode = 0")
        kernel = self.kernel(attrs)
        window = self.window(attrs, kernel, pads_allowed=False)
        return self.append(AvgPool2d(kernel, window["stride"], inputs=(x,)))

    def kernel(self, attrs) -> tuple[int, ...]:
        if "kernel_shape" not in attrs:
            self.fail("kernel_shape is missing")
        return tuple(int(k) for k in attrs["kernel_shape"])

    def op_GlobalAveragePool(self, node, attrs):
        return self.append(GlobalAvgPool(inputs=(self.activation(node, 0),)))

    def flatten(self, x: int) -> int:
        return x if len(self.shape(x)) == 1 else self.append(Flatten(inputs=(x,)))

    def op_Flatten(self, node, attrs):
        x = self.activation(node, 0)
        rank = len(self.shape(x)) + 1
        axis = int(attrs.get("axis", 1))
        if (axis + rank if axis < 0 else axis) != 1:
            self.fail(f"axis = {axis} is not supported; memsim supports axis = 1 (keep the batch axis, flatten the "
                      "rest)")
        return self.flatten(x)

    def op_Reshape(self, node, attrs):
        x = self.activation(node, 0)
        if "shape" in attrs:
            target = [int(v) for v in attrs["shape"]]
        else:
            target = [int(v) for v in np.asarray(self.constant(node, 1, "target shape")).reshape(-1)]
        features = int(np.prod(self.shape(x)))
        first_is_batch = (target[:1] == [0] and not attrs.get("allowzero", 0)) or (
            self.batch is not None and target[:1] == [self.batch])
        if len(target) == 2 and ((first_is_batch and target[1] in (-1, features)) or target == [-1, features]):
            return self.flatten(x)
        self.fail(f"a reshape to {target} is not supported; memsim supports a flatten: (batch, -1), (0, -1) or "
                  f"(-1, {features})")
