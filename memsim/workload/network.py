"""Networks: the floating-point model that memsim quantizes and maps, and its `.npz` file format.

A `Network` is the software reference: its `forward_float` gives the ideal logits against which the
simulated hardware is compared, and `activations_float` gives the per-node outputs from which the
quantizer calibrates fixed-point formats. Networks are stored as `.npz` archives in one of two layouts.

A chain of dense layers (any file without a `kind<i>` key):

    W0, b0, W1, b1, ...   float arrays; W_i has shape (in_features, out_features) of layer i,
                          b_i has shape (out_features,). Numbering starts at 0 and has no gaps.
    activations           optional; array of strings, one per layer, each "relu" or "none".
                          Default: "relu" on every hidden layer and "none" on the last (logits).

A graph of nodes (any file with a `kind<i>` key), node i = 0, 1, ... in an order where every node comes
after its operands (the order of `Network.layers`; numbering starts at 0 and has no gaps):

    kind<i>               string: dense, conv2d, maxpool2d, avgpool2d, globalavgpool, flatten, relu or add
    W<i>, b<i>            dense and conv2d only, float: dense W (in_features, out_features); conv2d W
                          (C_out, C_in, kh, kw); b (out_features,) or (C_out,)
    activation<i>         string "relu" or "none": required for dense and conv2d; optional for add
                          (default "none")
    kernel<i>             maxpool2d and avgpool2d, required: an integer array, () or (2,) for (h, w)
    stride<i>             conv2d, maxpool2d and avgpool2d, optional, the same form; default 1 for conv2d
                          and the kernel for pooling
    padding<i>            conv2d and maxpool2d, optional, the same form (zeros >= 0); default 0; a pooling
                          padding must be less than its kernel
    inputs<i>             optional integer array: the node's operands by node index, -1 for the network's
                          input; default the node before it (the input for node 0). add takes two and
                          needs it.

No other `<attribute><i>` key is allowed on a node, and `activations` belongs to the chain layout only.
Both layouts take:

    input_shape           optional 1-D integer array: one inference's input, e.g. [1, 8, 8]. Default
                          (in_features,) of a first dense layer; needed when the first node is not dense.
    name                  optional; 0-d string array. Default: the file name without its suffix.

Any other key (for example a `provenance` string) is ignored, so archives may carry metadata. Every member
must be a plain .npy array (no pickled objects) holding the data its header declares, and an archive's arrays
may declare at most 4 GiB together (`NPZ_MAX_BYTES`); `read_npz` checks the headers before allocating anything.
`save_network` writes the chain layout for a chain of dense layers (which every memsim reads) and the
graph layout for anything else; either way `load_network` gives back the same network exactly.
"""

from __future__ import annotations

import math
import os
import re
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np

from memsim.files import atomic_write
from memsim.workload.conv import Conv2dLayer
from memsim.workload.digital import DIGITAL_KINDS
from memsim.workload.layer import ACTIVATIONS, Layer, Node, frozen_float_array

BUILTIN_NETWORKS = {"digits-mlp": "digits_mlp.npz", "digits-cnn": "digits_cnn.npz"}

_WEIGHT_KEY = re.compile(r"W(0|[1-9][0-9]*)")
_BIAS_KEY = re.compile(r"b(0|[1-9][0-9]*)")
_NODE_KEY = re.compile(r"(kind|W|b|activation|kernel|stride|padding|inputs)(0|[1-9][0-9]*)")

# The graph layout: the per-node keys each node kind takes besides kind<i> and inputs<i> (module docstring).
GRAPH_KEYS = {
    "dense": ("W", "b", "activation"),
    "conv2d": ("W", "b", "activation", "stride", "padding"),
    "maxpool2d": ("kernel", "stride", "padding"),
    "avgpool2d": ("kernel", "stride"),
    "globalavgpool": (),
    "flatten": (),
    "relu": (),
    "add": ("activation",),
}
# The smallest value of each integer attribute.
_INT_MINIMUM = {"kernel": 1, "stride": 1, "padding": 0}


@dataclass(frozen=True, eq=False)
class DenseLayer(Node, Layer):
    """One fully connected layer, `y = activation(x @ weight + bias)`.

    `weight` has shape (in_features, out_features), the orientation of a crossbar whose rows are driven
    by the inputs and whose columns sum into the outputs. `activation` is "relu" for hidden layers and
    "none" for the logits layer. The arrays are stored as read-only float64 copies. Equality is identity
    because arrays have no single truth value; compare arrays explicitly.
    """

    weight: np.ndarray
    bias: np.ndarray
    activation: str

    kind = "dense"

    def __post_init__(self) -> None:
        weight = frozen_float_array(self.weight, "DenseLayer.weight")
        bias = frozen_float_array(self.bias, "DenseLayer.bias")
        if weight.ndim != 2 or 0 in weight.shape:
            raise ValueError(
                f"DenseLayer.weight: shape {weight.shape} is not allowed; expected 2-D (in_features, out_features), "
                f"both >= 1"
            )
        if bias.shape != (weight.shape[1],):
            raise ValueError(
                f"DenseLayer.bias: shape {bias.shape} does not match weight shape {weight.shape}; expected "
                f"({weight.shape[1]},)"
            )
        if not np.all(np.isfinite(weight)):
            raise ValueError(f"DenseLayer.weight: contains {int(np.sum(~np.isfinite(weight)))} non-finite values; all "
                             f"must be finite")
        if not np.all(np.isfinite(bias)):
            raise ValueError(f"DenseLayer.bias: contains {int(np.sum(~np.isfinite(bias)))} non-finite values; all "
                             f"must be finite")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"DenseLayer.activation: {self.activation!r} is not allowed; expected one of "
                             f"{', '.join(ACTIVATIONS)}")
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "bias", bias)

    @property
    def rows(self) -> int:
        """Inputs of the layer: one crossbar input vector per inference."""
        return int(self.weight.shape[0])

    @property
    def columns(self) -> int:
        return int(self.weight.shape[1])

    def out_shape(self, in_shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        (shape,) = in_shapes
        if int(np.prod(shape)) != self.in_features:
            raise ValueError(f"dense layer with weight {self.weight.shape} takes {self.in_features} inputs; its input "
                             f"has shape {tuple(shape)}")
        return (self.out_features,)

    @property
    def matrix(self) -> np.ndarray:
        """The crossbar weight matrix, (rows, columns) = ``weight``."""
        return self.weight

    def forward_float(self, x: np.ndarray) -> np.ndarray:
        """Floating-point output of this layer for inputs ``x`` of shape (..., in_features); an input map of a
        batch, (n, C, H, W), is flattened in C order first."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim > 2:
            x = x.reshape(len(x), -1)
        y = x @ self.weight + self.bias
        if self.activation == "relu":
            y = np.maximum(y, 0.0)
        return y


# Every node kind by its name (``Node.kind``): the crossbar layers and the digital operations.
NODE_KINDS: dict[str, type[Node]] = {"dense": DenseLayer, "conv2d": Conv2dLayer, **DIGITAL_KINDS}


@dataclass(frozen=True, eq=False)
class Network:
    """A named graph of nodes (``memsim.workload.layer.Node``): crossbar layers (dense, convolution) and the
    digital operations between them, in an order where every node comes after its operands.

    A node's ``inputs`` name its producers by index (``-1``: the network's input); without them a node takes
    the node before it, so a plain tuple of layers is a chain. ``input_shape`` is one inference's input
    tensor, e.g. ``(64,)`` or ``(1, 8, 8)``; it defaults to a first dense layer's ``(in_features,)``.
    Construction resolves every node's operands and shapes (``Node.out_shape``) and checks that they fit, so
    every later stage (quantizer, mapper, engine) can rely on them; the last node is the network's output.
    Equality is identity, as for its nodes.
    """

    name: str
    layers: tuple[Node, ...]
    input_shape: tuple[int, ...] | None = None
    shapes: tuple[tuple[int, ...], ...] = field(default=(), init=False)  # every node's output shape

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Network.name: {self.name!r} is not allowed; expected a non-empty string")
        layers = tuple(self.layers)
        if not layers:
            raise ValueError("Network.layers: empty; a network needs at least one DenseLayer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Node):
                raise ValueError(f"Network.layers[{i}]: {type(layer).__name__} is not allowed; expected DenseLayer, "
                                 "Conv2dLayer or a digital node (memsim.workload.digital)")
        shape = self.input_shape
        if shape is None:
            if not isinstance(layers[0], DenseLayer):
                raise ValueError(f"network {self.name!r}: input_shape is needed when the first node is "
                                 f"{layers[0].kind}, not dense")
            shape = (layers[0].in_features,)
        shape = tuple(int(s) for s in shape)
        if not shape or any(s < 1 for s in shape):
            raise ValueError(f"network {self.name!r}: input_shape = {shape} is not allowed; expected sizes >= 1")
        shapes: list[tuple[int, ...]] = []
        resolved = []
        for i, node in enumerate(layers):
            inputs = tuple(node.inputs) or ((i - 1,) if i else (-1,))
            if len(inputs) != node.arity or not all(isinstance(j, int) and -1 <= j < i for j in inputs):
                raise ValueError(f"network {self.name!r}: node {i} ({node.kind}) has inputs {inputs}; expected "
                                 f"{node.arity} index(es) of earlier nodes, or -1 for the network's input")
            in_shapes = tuple(shape if j == -1 else shapes[j] for j in inputs)
            if isinstance(node, DenseLayer) and int(np.prod(in_shapes[0])) != node.in_features:
                j = inputs[0]
                source = "the network input" if j == -1 else f"layer {j} ({_describe(resolved[j])})"
                raise ValueError(f"Network.layers: layer {i} ({_describe(node)}) has {node.in_features} inputs but "
                                 f"{source} outputs {int(np.prod(in_shapes[0]))}")
            try:
                out = tuple(int(s) for s in node.out_shape(in_shapes))
            except ValueError as exc:
                raise ValueError(f"network {self.name!r}: node {i}: {exc}") from None
            resolved.append(replace(node, inputs=inputs, in_shape=tuple(in_shapes[0])))
            shapes.append(out)
        object.__setattr__(self, "layers", tuple(resolved))
        object.__setattr__(self, "input_shape", shape)
        object.__setattr__(self, "shapes", tuple(shapes))

    @property
    def crossbar_layers(self) -> tuple[Layer, ...]:
        """The nodes that run on crossbars, in order: what a quantization plan's layers refer to."""
        return tuple(node for node in self.layers if node.crossbar)

    @property
    def in_features(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def out_features(self) -> int:
        return int(np.prod(self.shapes[-1]))

    @property
    def macs_per_inference(self) -> int:
        """Logical multiply-accumulates per inference, the sum of the crossbar layers' (biases excluded)."""
        return sum(layer.macs_per_inference for layer in self.crossbar_layers)

    def _batch(self, x: np.ndarray) -> tuple[np.ndarray, bool]:
        """``x`` as a batch (n, *input_shape) and whether it was one inference without the batch axis."""
        current = np.asarray(x, dtype=np.float64)
        single = current.shape == self.input_shape
        if single:
            current = current[None]
        if current.shape[1:] != self.input_shape:
            expected = f"{self.input_shape} or (n, {', '.join(map(str, self.input_shape))})"
            raise ValueError(f"network {self.name!r}: input shape {current.shape if not single else x.shape} is not "
                             f"allowed; expected {expected}")
        if not np.all(np.isfinite(current)):
            raise ValueError(f"network {self.name!r}: input contains non-finite values; all must be finite")
        return current, single

    def activations_float(self, x: np.ndarray) -> list[np.ndarray]:
        """The network's input followed by every node's output: ``len(layers) + 1`` float64 arrays.

        ``x`` is one inference (``input_shape``) or a batch ``(n, *input_shape)``; every returned array keeps
        that leading shape. Used to calibrate the fixed-point format of every node's output.
        """
        current, single = self._batch(x)
        result = [current]
        for node in self.layers:
            result.append(node.forward_float(*(result[j + 1] for j in node.inputs)))
        return [a[0] for a in result] if single else result

    def forward_float(self, x: np.ndarray) -> np.ndarray:
        """Floating-point outputs (float64) of the last node for one inference or a batch."""
        return self.activations_float(x)[-1]

    def activation_peaks(self, x: np.ndarray, budget_values: int = 1 << 23) -> list[float]:
        """``max |a|`` of the network's input and of every node's output over the batch ``x``: what the
        quantizer calibrates formats on. Computed in chunks of inferences whose largest intermediate array
        (a convolution's im2col vectors, or a node's output) holds at most ``budget_values`` numbers, so memory
        does not grow with the calibration set; a maximum does not depend on the chunking."""
        batch, _ = self._batch(x)
        widest = max([int(np.prod(shape)) for shape in (self.input_shape, *self.shapes)]
                     + [layer.vectors_per_inference * layer.rows for layer in self.crossbar_layers])
        chunk = max(1, budget_values // widest)
        peaks = np.zeros(len(self.layers) + 1)
        for lo in range(0, len(batch), chunk):
            acts = self.activations_float(batch[lo : lo + chunk])
            peaks = np.maximum(peaks, [float(np.max(np.abs(a), initial=0.0)) for a in acts])
        return [float(p) for p in peaks]


def _describe(node: Node) -> str:
    return f"weight {node.weight.shape}" if hasattr(node, "weight") else node.kind


# The most an archive's arrays may declare together (bytes): a bound on what reading a network or data set
# allocates, whatever the file claims (see ``read_npz``).
NPZ_MAX_BYTES = 4 << 30
_NPY_MAGIC = b"\x93NUMPY"
_NPZ_ERRORS = (OSError, EOFError, ValueError, RuntimeError, NotImplementedError, OverflowError, zipfile.BadZipFile,
               zlib.error)


def _npy_header(stream, name: str, where: str) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Parse the .npy header at the start of a zip member's ``stream``: ``(shape, fortran_order, dtype, header
    bytes)``, without reading any array data. One-line ValueErrors name the member."""
    try:
        version = np.lib.format.read_magic(stream)
    except ValueError:
        raise ValueError(f"{where}: member {name!r} is not a .npy array") from None
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise ValueError(f"{where}: member {name!r} has .npy format version {version[0]}.{version[1]}; allowed: "
                         "1.0 and 2.0")
    return shape, fortran, dtype, stream.tell()


def read_npz(path: str | os.PathLike[str], kind: str) -> dict[str, np.ndarray]:
    """Read every array of an `.npz` archive into memory, turning I/O and format failures into one-line ValueErrors.

    Used by `load_network` and by `memsim.workload.datasets.load_dataset`; `kind` ("network", "dataset") only words
    the messages. Before any array is allocated, every member's .npy header is parsed from the zip and checked:
    pickled (object) arrays are refused (archives hold plain numbers and strings only), as is a member whose
    declared size (shape × item size) exceeds the bytes the member holds after its header (a few bytes on disk
    cannot declare a 100 GB array), and an archive whose arrays together declare more than `NPZ_MAX_BYTES`
    (4 GiB). So a hostile or damaged file costs at most what it declares and holds.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a directory; give a {kind} .npz file")
    if not path.is_file():
        raise ValueError(f"{path}: {kind} file not found")
    try:
        with path.open("rb") as f:
            start = f.read(len(_NPY_MAGIC))
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({type(exc).__name__}); expected an .npz {kind} file") from None
    if start == _NPY_MAGIC:
        raise ValueError(f"{path}: holds a single .npy array, not an .npz archive; expected an .npz {kind} file")
    try:
        archive = zipfile.ZipFile(path)
    except _NPZ_ERRORS as exc:
        raise ValueError(f"{path}: not an .npz archive ({type(exc).__name__}); expected an .npz {kind} file") from None
    with archive:
        members = []
        total = 0
        for info in archive.infolist():
            name = info.filename
            try:
                with archive.open(info) as stream:
                    shape, fortran, dtype, header = _npy_header(stream, name, str(path))
            except ValueError as exc:
                if str(exc).startswith(f"{path}: member"):
                    raise ValueError(f"{exc}; expected an .npz {kind} file") from None
                raise ValueError(f"{path}: member {name!r} has a corrupt .npy header ({type(exc).__name__}); expected "
                                 f"an .npz {kind} file") from None
            except _NPZ_ERRORS as exc:
                raise ValueError(f"{path}: cannot read member {name!r} ({type(exc).__name__}); corrupt data is not "
                                 "allowed") from None
            if dtype.hasobject:
                raise ValueError(f"{path}: member {name!r} has dtype {dtype} (pickled objects); object arrays are not "
                                 f"allowed, only numbers and strings")
            declared = math.prod(shape) * dtype.itemsize
            held = info.file_size - header
            if declared > held:
                raise ValueError(f"{path}: member {name!r} declares shape {shape} of {dtype} ({declared:,} bytes) but "
                                 f"holds {max(held, 0):,} bytes of data; allowed: at most what the member holds")
            total += declared
            if total > NPZ_MAX_BYTES:
                raise ValueError(f"{path}: the arrays declare {total:,} bytes (member {name!r} shape {shape} of "
                                 f"{dtype}); allowed: at most {NPZ_MAX_BYTES:,} bytes (4 GiB) per {kind} file")
            members.append(info)
        arrays = {}
        for info in members:
            name = info.filename
            try:
                with archive.open(info) as stream:
                    value = np.lib.format.read_array(stream, allow_pickle=False)
            except _NPZ_ERRORS as exc:
                raise ValueError(f"{path}: cannot read the array of member {name!r} ({type(exc).__name__}); corrupt "
                                 "data is not allowed") from None
            arrays[name[: -len(".npy")] if name.endswith(".npy") else name] = value
    return arrays


def npz_string(value: np.ndarray, path: str | os.PathLike[str], key: str) -> str:
    """Return the text of a 0-d (or one-element) string array read from `path` under `key` (e.g. `name`)."""
    if value.dtype.kind != "U" or value.size != 1:
        raise ValueError(f"{path}: {key} has dtype {value.dtype} and shape {value.shape}; expected a single string")
    return str(value.reshape(()))


def _real_array(path: Path, key: str, value: np.ndarray) -> np.ndarray:
    """``value`` checked to be real and finite (weights and biases), with one-line errors naming ``key``."""
    if value.dtype.kind not in "iuf":
        raise ValueError(f"{path}: {key} has dtype {value.dtype}; expected a real numeric array")
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{path}: {key} contains {int(np.sum(~np.isfinite(value)))} non-finite values; all "
                         f"must be finite")
    return value


def _input_shape(path: Path, arrays: dict[str, np.ndarray]) -> tuple[int, ...] | None:
    """The optional top-level ``input_shape``: a 1-D integer array of sizes >= 1."""
    if "input_shape" not in arrays:
        return None
    value = arrays["input_shape"]
    if value.dtype.kind not in "iu" or value.ndim != 1 or value.size == 0 or np.any(value < 1):
        raise ValueError(f"{path}: input_shape is {value.tolist()!r} ({value.dtype}, shape {value.shape}); expected a "
                         f"1-D integer array of sizes >= 1, e.g. [1, 8, 8]")
    return tuple(int(s) for s in value)


def _network_name(path: Path, arrays: dict[str, np.ndarray]) -> str:
    name = npz_string(arrays["name"], path, "name") if "name" in arrays else path.stem
    if not name:
        raise ValueError(f"{path}: name is empty; expected a non-empty string")
    return name


def load_network(path: str | os.PathLike[str]) -> Network:
    """Load a `Network` from an `.npz` archive in either layout of this module's docstring: a graph when any
    `kind<i>` key is present, a chain of dense layers otherwise.

    Every problem with the file is reported as a one-line ValueError naming the file and the key.
    """
    path = Path(path)
    arrays = read_npz(path, "network")
    kinds = {int(m.group(2)): value for key, value in arrays.items()
             if (m := _NODE_KEY.fullmatch(key)) and m.group(1) == "kind"}
    nodes = _load_graph(path, arrays, kinds) if kinds else _load_chain(path, arrays)
    name, input_shape = _network_name(path, arrays), _input_shape(path, arrays)
    try:
        return Network(name=name, layers=nodes, input_shape=input_shape)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _load_chain(path: Path, arrays: dict[str, np.ndarray]) -> tuple[DenseLayer, ...]:
    """The dense layers of a file in the chain layout (`W0, b0, ...`, `activations`)."""
    weights: dict[int, np.ndarray] = {}
    biases: dict[int, np.ndarray] = {}
    for key, value in arrays.items():
        if match := _WEIGHT_KEY.fullmatch(key):
            weights[int(match.group(1))] = value
        elif match := _BIAS_KEY.fullmatch(key):
            biases[int(match.group(1))] = value
    if 0 not in weights:
        raise ValueError(f"{path}: no W0; a network file needs arrays W0, b0, W1, b1, ... or kind0, ... (keys "
                         f"present: {', '.join(sorted(arrays)) or 'none'})")
    n_layers = len(weights)
    for i in sorted(set(weights) | set(biases)):
        if i not in weights:
            raise ValueError(f"{path}: b{i} has no W{i}; layers must be numbered 0..n-1 with both W_i and b_i")
        if i not in biases:
            raise ValueError(f"{path}: W{i} has no b{i}; every layer needs a bias array b_i")
        if i >= n_layers:
            missing = min(set(range(n_layers)) - set(weights))
            raise ValueError(f"{path}: W{i} present but W{missing} missing; layers must be numbered 0..n-1 without "
                             f"gaps")

    for i in range(n_layers):
        w, b = _real_array(path, f"W{i}", weights[i]), _real_array(path, f"b{i}", biases[i])
        if w.ndim != 2 or 0 in w.shape:
            raise ValueError(f"{path}: W{i} has shape {w.shape}; expected 2-D (in_features, out_features), both >= 1")
        if b.shape != (w.shape[1],):
            raise ValueError(f"{path}: b{i} has shape {b.shape} but W{i} has {w.shape[1]} output columns; expected "
                             f"({w.shape[1]},)")
        if i > 0 and w.shape[0] != weights[i - 1].shape[1]:
            raise ValueError(f"{path}: W{i} has {w.shape[0]} input rows but layer {i - 1} outputs "
                             f"{weights[i - 1].shape[1]}")

    if "activations" in arrays:
        stored = arrays["activations"]
        if stored.dtype.kind != "U" or stored.ndim != 1:
            raise ValueError(f"{path}: activations has dtype {stored.dtype} and shape {stored.shape}; expected a 1-D "
                             f"array of strings")
        activations = [str(a) for a in stored]
        if len(activations) != n_layers:
            raise ValueError(f"{path}: activations has {len(activations)} entries but the file has {n_layers} layers; "
                             f"expected one per layer")
        for i, activation in enumerate(activations):
            if activation not in ACTIVATIONS:
                raise ValueError(f"{path}: activations[{i}] is {activation!r}; expected one of "
                                 f"{', '.join(ACTIVATIONS)}")
    else:
        activations = ["relu"] * (n_layers - 1) + ["none"]
    return tuple(DenseLayer(weights[i], biases[i], activations[i]) for i in range(n_layers))


def _load_graph(path: Path, arrays: dict[str, np.ndarray], kinds: dict[int, np.ndarray]) -> tuple[Node, ...]:
    """The nodes of a file in the graph layout (`kind<i>` and the keys of each kind, module docstring)."""
    n_nodes = len(kinds)
    for i in sorted(kinds):
        if i >= n_nodes:
            missing = min(set(range(n_nodes)) - set(kinds))
            raise ValueError(f"{path}: kind{i} present but kind{missing} missing; nodes must be numbered 0..n-1 "
                             f"without gaps")
    if "activations" in arrays:
        raise ValueError(f"{path}: activations belongs to the dense-chain layout; a graph file (with kind<i> keys) "
                         f"gives activation<i> per node")
    names = []
    for i in range(n_nodes):
        kind = npz_string(kinds[i], path, f"kind{i}")
        if kind not in GRAPH_KEYS:
            raise ValueError(f"{path}: kind{i} is {kind!r}; expected one of {', '.join(GRAPH_KEYS)}")
        names.append(kind)
    for key in sorted(arrays):
        match = _NODE_KEY.fullmatch(key)
        if not match or match.group(1) == "kind":
            continue
        attribute, i = match.group(1), int(match.group(2))
        if i >= n_nodes:
            raise ValueError(f"{path}: {key} has no kind{i}; the file's nodes are 0..{n_nodes - 1}")
        if attribute != "inputs" and attribute not in GRAPH_KEYS[names[i]]:
            allowed = ", ".join(f"{a}{i}" for a in GRAPH_KEYS[names[i]]) or "no attributes"
            raise ValueError(f"{path}: {key} is not allowed on node {i} ({names[i]}); it takes {allowed}")
    return tuple(_load_node(path, arrays, i, kind) for i, kind in enumerate(names))


def _load_node(path: Path, arrays: dict[str, np.ndarray], i: int, kind: str) -> Node:
    """Node ``i`` of kind ``kind`` from its keys in a graph file."""
    cls = NODE_KINDS[kind]
    fields: dict[str, object] = {}
    keys = GRAPH_KEYS[kind]
    if "W" in keys:
        ndim, form = (2, "2-D (in_features, out_features)") if kind == "dense" else (4, "4-D (C_out, C_in, kh, kw)")
        for key in (f"W{i}", f"b{i}"):
            if key not in arrays:
                raise ValueError(f"{path}: {key} is missing; {_article(kind)} {kind} node needs W{i} and b{i}")
        weight = _real_array(path, f"W{i}", arrays[f"W{i}"])
        bias = _real_array(path, f"b{i}", arrays[f"b{i}"])
        if weight.ndim != ndim or 0 in weight.shape:
            raise ValueError(f"{path}: W{i} has shape {weight.shape}; a {kind} weight is {form}, all >= 1")
        outputs = weight.shape[1] if kind == "dense" else weight.shape[0]
        if bias.shape != (outputs,):
            raise ValueError(f"{path}: b{i} has shape {bias.shape} but W{i} has {outputs} outputs; expected "
                             f"({outputs},)")
        fields.update(weight=weight, bias=bias)
    if "activation" in keys:
        key = f"activation{i}"
        if key in arrays:
            activation = npz_string(arrays[key], path, key)
            if activation not in ACTIVATIONS:
                raise ValueError(f"{path}: {key} is {activation!r}; expected one of {', '.join(ACTIVATIONS)}")
            fields["activation"] = activation
        elif kind != "add":
            raise ValueError(f"{path}: {key} is missing; {_article(kind)} {kind} node needs activation "
                             f"{' or '.join(ACTIVATIONS)}")
    for attribute in ("kernel", "stride", "padding"):
        key = f"{attribute}{i}"
        if attribute in keys and key in arrays:
            fields[attribute] = _int_pair(path, key, arrays[key], _INT_MINIMUM[attribute])
        elif attribute == "kernel" and attribute in keys:
            raise ValueError(f"{path}: {key} is missing; {_article(kind)} {kind} node needs its window, e.g. [2, 2]")
    if "padding" in fields and "kernel" in fields and any(
            p >= k for p, k in zip(fields["padding"], fields["kernel"], strict=True)):
        raise ValueError(f"{path}: padding{i} = {list(fields['padding'])} is not less than kernel{i} = "
                         f"{list(fields['kernel'])}; pooling padding must be smaller than the window")
    key = f"inputs{i}"
    if key in arrays:
        value = arrays[key]
        if (value.dtype.kind not in "iu" or value.ndim > 1 or value.size != cls.arity
                or not all(-1 <= j < i for j in value.reshape(-1).tolist())):
            raise ValueError(f"{path}: {key} is {value.tolist()!r} ({value.dtype}); {_article(kind)} {kind} node takes "
                             f"{cls.arity} integer index(es) of earlier nodes, -1 for the network's input")
        fields["inputs"] = tuple(int(j) for j in value.reshape(-1))
    elif cls.arity != 1:
        raise ValueError(f"{path}: {key} is missing; {_article(kind)} {kind} node takes {cls.arity} operands (indices "
                         f"of earlier nodes, -1 for the network's input)")
    try:
        return cls(**fields)
    except ValueError as exc:
        raise ValueError(f"{path}: node {i} ({kind}): {exc}") from None


def _article(kind: str) -> str:
    return "an" if kind[0] in "aeiou" else "a"


def _int_pair(path: Path, key: str, value: np.ndarray, minimum: int) -> tuple[int, int]:
    """An integer attribute of a graph file, () or (2,) integers >= ``minimum``, as an (h, w) pair."""
    if value.dtype.kind not in "iu" or value.shape not in ((), (2,)) or np.any(value < minimum):
        raise ValueError(f"{path}: {key} is {value.tolist()!r} ({value.dtype}, shape {value.shape}); expected an "
                         f"integer >= {minimum} or a pair [h, w] of them")
    h, w = np.broadcast_to(value, (2,)).tolist()
    return int(h), int(w)


def save_network(network: Network, path: str | os.PathLike[str], *, provenance: str | None = None) -> None:
    """Write `network` to `path` in the `.npz` layout that `load_network` reads, atomically.

    A chain of dense layers (every layer taking the one before it) is written in the chain layout, which memsim
    versions without graphs read too; any other network in the graph layout. Both carry `input_shape` and
    `name`, so loading gives back the same nodes, operands, attributes and float64 arrays exactly. The archive
    is written to a temporary file in the target directory and renamed over `path`, so a reader never sees a
    half-written file. `path` is used exactly as given (no ".npz" is appended). `provenance`, if given, is
    stored as a string array that `load_network` ignores: how the weights were made (tool, library versions,
    hyper-parameters).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"{path}: directory {path.parent} does not exist; create it before saving a network there")
    arrays: dict[str, np.ndarray] = {}
    chained = all(node.inputs == (i - 1 if i else -1,) for i, node in enumerate(network.layers))
    if chained and all(isinstance(node, DenseLayer) for node in network.layers):
        for i, layer in enumerate(network.layers):
            arrays[f"W{i}"] = np.asarray(layer.weight, dtype=np.float64)
            arrays[f"b{i}"] = np.asarray(layer.bias, dtype=np.float64)
        arrays["activations"] = np.array([layer.activation for layer in network.layers], dtype=np.str_)
    else:
        for i, node in enumerate(network.layers):
            if NODE_KINDS.get(node.kind) is not type(node):
                raise ValueError(f"{path}: node {i} ({type(node).__name__}, kind {node.kind!r}) has no .npz form; the "
                                 f"graph layout stores {', '.join(GRAPH_KEYS)}")
            arrays.update(_graph_arrays(node, i))
    arrays["input_shape"] = np.array(network.input_shape, dtype=np.int64)
    arrays["name"] = np.array(network.name, dtype=np.str_)
    if provenance is not None:
        arrays["provenance"] = np.array(provenance, dtype=np.str_)
    with atomic_write(path) as tmp_path, open(tmp_path, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def _graph_arrays(node: Node, i: int) -> dict[str, np.ndarray]:
    """The keys of node ``i`` (one of ``NODE_KINDS``) in the graph layout."""
    arrays = {f"kind{i}": np.array(node.kind, dtype=np.str_)}
    for attribute in GRAPH_KEYS[node.kind]:
        if attribute == "W":
            arrays[f"W{i}"] = np.asarray(node.weight, dtype=np.float64)
        elif attribute == "b":
            arrays[f"b{i}"] = np.asarray(node.bias, dtype=np.float64)
        elif attribute == "activation":
            arrays[f"activation{i}"] = np.array(node.activation, dtype=np.str_)
        else:
            arrays[f"{attribute}{i}"] = np.array(getattr(node, attribute), dtype=np.int64)
    if node.inputs != (i - 1 if i else -1,):
        arrays[f"inputs{i}"] = np.array(node.inputs, dtype=np.int64)
    return arrays


def builtin_network(name: str = "digits-mlp") -> Network:
    """Load a network shipped inside the package (`memsim/data/`), by its registry name in BUILTIN_NETWORKS."""
    if name not in BUILTIN_NETWORKS:
        raise ValueError(f"network name {name!r} is not built in; available: {', '.join(sorted(BUILTIN_NETWORKS))}")
    resource = resources.files("memsim").joinpath("data", BUILTIN_NETWORKS[name])
    with resources.as_file(resource) as file_path:
        return load_network(file_path)
