"""The operations a network runs in the digital periphery between crossbar layers: pooling, element-wise
addition (skip connections), ReLU and flattening.

Each kind gives its float result (``forward_float``), its exact integer result on fixed-point operands
(``integer``, the bit-true contract of docs/datapath.md §Digital operations) and the digital operations one
inference costs (``ops_per_inference``: one comparison or addition each, priced by the card as one operation
of the digital adder, ``shift_add.pool`` or ``shift_add.reduce``). Integer semantics, with ``q`` the operands
in their fixed-point formats:

- max pooling: ``max`` over each window (padding takes the format's smallest value, so it never wins);
- average pooling (and global average pooling): ``⌊(2·Σq + m) / (2m)⌋`` over the ``m`` values of a window —
  the mean rounded half up, in the operand's format;
- addition: both operands aligned to the finer scale ``F = max(f₁, f₂)`` by left shifts (exact), added, then
  brought to the output format ``f_o`` (chosen from calibration like a layer's output) by
  ``clamp(⌊a / 2^(F−f_o)⌋)``, with ReLU when the node has it;
- ReLU: ``max(q, 0)``; flatten: the same integers in C order.

Pooling windows have no dilation; average pooling takes no padding (ONNX's ``count_include_pad`` question
does not arise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memsim.workload.fixedpoint import FixedFormat
from memsim.workload.layer import ACTIVATIONS, Node, int_pair


def _map_shape(kind: str, in_shapes) -> tuple[int, int, int]:
    (shape,) = in_shapes
    if len(shape) != 3:
        raise ValueError(f"{kind} takes (C, H, W) maps; its input has shape {tuple(shape)}")
    return shape


@dataclass(frozen=True, eq=False)
class _Pool2d(Node):
    """A pooling window slid over each channel: ``kernel``, ``stride`` (default: the kernel) and symmetric
    ``padding`` (max pooling only), each an integer or an ``(h, w)`` pair."""

    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] | None = None
    padding: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        name = type(self).__name__
        object.__setattr__(self, "kernel", int_pair(name, "kernel", self.kernel, 1))
        object.__setattr__(self, "stride", int_pair(name, "stride", self.kernel if self.stride is None else self.stride,
                                                 1))
        object.__setattr__(self, "padding", int_pair(name, "padding", self.padding, 0))
        if any(p >= k for p, k in zip(self.padding, self.kernel, strict=True)):
            raise ValueError(f"{name}.padding = {self.padding} is not allowed; expected less than the kernel "
                             f"{self.kernel}")

    def out_shape(self, in_shapes):
        c, h, w = _map_shape(self.kind, in_shapes)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        h_out, w_out = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
        if h_out < 1 or w_out < 1:
            raise ValueError(f"{self.kind}: a {kh}×{kw} window does not fit the {h}×{w} input map")
        return c, h_out, w_out

    def windows(self, x: np.ndarray, pad_value) -> np.ndarray:
        """(n, C, H, W) -> (n, C, H_out, W_out, kh·kw): every window's values."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        if ph or pw:
            x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
        _, h_out, w_out = self.out_shape((self.in_shape,))
        win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
        win = win[:, :, : sh * (h_out - 1) + 1 : sh, : sw * (w_out - 1) + 1 : sw]
        return win.reshape(*win.shape[:4], kh * kw)

    @property
    def window(self) -> int:
        return self.kernel[0] * self.kernel[1]

    @property
    def outputs(self) -> int:
        return int(np.prod(self.out_shape((self.in_shape,))))


@dataclass(frozen=True, eq=False)
class MaxPool2d(_Pool2d):
    """Max pooling: the largest value of each window (module docstring)."""

    kind = "maxpool2d"

    def forward_float(self, x):
        return self.windows(np.asarray(x, dtype=np.float64), -np.inf).max(axis=-1)

    def integer(self, qs, in_formats, out_format):
        (q,), (fmt,) = qs, in_formats
        return self.windows(q, fmt.q_min).max(axis=-1)

    @property
    def ops_per_inference(self) -> int:
        """``window − 1`` comparisons per output."""
        return (self.window - 1) * self.outputs


@dataclass(frozen=True, eq=False)
class AvgPool2d(_Pool2d):
    """Average pooling without padding: the mean of each window, rounded half up in integers."""

    kind = "avgpool2d"

    def __post_init__(self) -> None:
        super().__post_init__()
        if any(self.padding):
            raise ValueError(f"AvgPool2d.padding = {self.padding} is not allowed; average pooling takes no padding")

    def forward_float(self, x):
        return self.windows(np.asarray(x, dtype=np.float64), 0.0).mean(axis=-1)

    def integer(self, qs, in_formats, out_format):
        m = self.window
        return (2 * self.windows(qs[0], 0).sum(axis=-1, dtype=np.int64) + m) // (2 * m)

    @property
    def ops_per_inference(self) -> int:
        """``window`` additions (the last one the scaling) per output."""
        return self.window * self.outputs


@dataclass(frozen=True, eq=False)
class GlobalAvgPool(Node):
    """Global average pooling: (C, H, W) -> (C, 1, 1), the mean of each channel, rounded half up in integers."""

    kind = "globalavgpool"

    def out_shape(self, in_shapes):
        c, _, _ = _map_shape(self.kind, in_shapes)
        return c, 1, 1

    def forward_float(self, x):
        return np.asarray(x, dtype=np.float64).mean(axis=(2, 3), keepdims=True)

    def integer(self, qs, in_formats, out_format):
        _, h, w = self.in_shape
        m = h * w
        return (2 * qs[0].sum(axis=(2, 3), keepdims=True, dtype=np.int64) + m) // (2 * m)

    @property
    def ops_per_inference(self) -> int:
        return int(np.prod(self.in_shape))


@dataclass(frozen=True, eq=False)
class Flatten(Node):
    """Flatten: one inference's tensor as a vector, C order (no operation in hardware)."""

    kind = "flatten"

    def out_shape(self, in_shapes):
        (shape,) = in_shapes
        return (int(np.prod(shape)),)

    def forward_float(self, x):
        return np.asarray(x).reshape(len(x), -1)

    def integer(self, qs, in_formats, out_format):
        return qs[0].reshape(len(qs[0]), -1)

    ops_per_inference = 0


@dataclass(frozen=True, eq=False)
class ReLU(Node):
    """ReLU on its own (a ReLU right after a crossbar layer or an addition is part of that node instead)."""

    kind = "relu"

    def out_shape(self, in_shapes):
        (shape,) = in_shapes
        return tuple(shape)

    def forward_float(self, x):
        return np.maximum(np.asarray(x, dtype=np.float64), 0.0)

    def integer(self, qs, in_formats, out_format):
        return np.maximum(qs[0], 0)

    @property
    def ops_per_inference(self) -> int:
        return int(np.prod(self.in_shape))


@dataclass(frozen=True, eq=False)
class Add(Node):
    """Element-wise addition of two tensors of one shape (a skip connection), with ReLU when ``activation`` is
    ``"relu"``."""

    activation: str = "none"

    kind = "add"
    arity = 2

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"Add.activation: {self.activation!r} is not allowed; expected one of "
                             f"{', '.join(ACTIVATIONS)}")

    def out_shape(self, in_shapes):
        a, b = in_shapes
        if tuple(a) != tuple(b):
            raise ValueError(f"add takes two tensors of one shape; its inputs have shapes {tuple(a)} and {tuple(b)}")
        return tuple(a)

    def forward_float(self, a, b):
        y = np.asarray(a, dtype=np.float64) + b
        return np.maximum(y, 0.0) if self.activation == "relu" else y

    def integer(self, qs, in_formats, out_format: FixedFormat):
        fine = max(f.frac_bits for f in in_formats)
        acc = sum(np.asarray(q, dtype=np.int64) << (fine - f.frac_bits) for q, f in zip(qs, in_formats, strict=True))
        k = fine - out_format.frac_bits
        acc = acc >> k if k >= 0 else acc << -k
        return np.clip(acc, out_format.q_min, out_format.q_max)

    @property
    def ops_per_inference(self) -> int:
        return int(np.prod(self.in_shape))


DIGITAL_KINDS = {cls.kind: cls for cls in (MaxPool2d, AvgPool2d, GlobalAvgPool, Flatten, ReLU, Add)}
