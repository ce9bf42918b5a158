"""Two-dimensional convolution on crossbars, the way CIM accelerators map it (ISAAC, Shafiee et al., ISCA
2016, §III; NeuroSim's conventional mapping).

A ``C_in → C_out`` convolution with a ``kh × kw`` kernel stores its weights as one crossbar matrix: the
``C_in·kh·kw`` weights of one output channel on the rows of one column (rows ordered channel-major: channel,
then kernel row, then kernel column — the order of ``weight.reshape(C_out, -1)``), the ``C_out`` channels on
the columns (times the encoding's column kinds, as for a dense layer). Each output pixel is one crossbar
read of the input window it sees, so an image of ``H_out × W_out`` output pixels gives the layer
``V = H_out·W_out`` input vectors (``to_vectors``: im2col), and their ``C_out`` results per pixel are the
output map (``from_vectors``). Rows beyond a crossbar go to row groups and row blocks as for dense layers
(``memsim.mapping``). With zero padding ``p``, stride ``s`` and dilation 1:

    H_out = ⌊(H + 2·p_h − k_h)/s_h⌋ + 1,   W_out = ⌊(W + 2·p_w − k_w)/s_w⌋ + 1
    y[c, i, j] = b[c] + Σ_(c', u, v) w[c, c', u, v] · x_pad[c', s_h·i + u, s_w·j + v]

Padding adds zeros, which the integer datapath represents exactly (an unsigned zero drive). Validity:
groups = 1 and dilation = 1 (depthwise and dilated convolutions are not modelled).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memsim.workload.layer import ACTIVATIONS, Layer, Node, frozen_float_array, int_pair


@dataclass(frozen=True, eq=False)
class Conv2dLayer(Node, Layer):
    """A 2-D convolution ``y = activation(conv(x, weight, stride, padding) + bias)`` (module docstring).

    ``weight``: (C_out, C_in, kh, kw) float; ``bias``: (C_out,); ``stride`` and ``padding``: an integer or an
    ``(h, w)`` pair (symmetric zero padding); ``activation``: ``"relu"`` or ``"none"``. ``in_shape`` is the
    input map ``(C_in, H, W)``.
    """

    weight: np.ndarray
    bias: np.ndarray
    activation: str
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)

    kind = "conv2d"

    def __post_init__(self) -> None:
        weight = frozen_float_array(self.weight, "Conv2dLayer.weight")
        bias = frozen_float_array(self.bias, "Conv2dLayer.bias")
        if weight.ndim != 4 or 0 in weight.shape:
            raise ValueError(f"Conv2dLayer.weight: shape {weight.shape} is not allowed; expected 4-D "
                             "(C_out, C_in, kh, kw), all >= 1")
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"Conv2dLayer.bias: shape {bias.shape} does not match weight shape {weight.shape}; "
                             f"expected ({weight.shape[0]},)")
        for name, array in (("weight", weight), ("bias", bias)):
            if not np.all(np.isfinite(array)):
                raise ValueError(f"Conv2dLayer.{name}: contains non-finite values; all must be finite")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"Conv2dLayer.activation: {self.activation!r} is not allowed; expected one of "
                             f"{', '.join(ACTIVATIONS)}")
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "bias", bias)
        object.__setattr__(self, "stride", int_pair("Conv2dLayer", "stride", self.stride, 1))
        object.__setattr__(self, "padding", int_pair("Conv2dLayer", "padding", self.padding, 0))

    @property
    def kernel(self) -> tuple[int, int]:
        return int(self.weight.shape[2]), int(self.weight.shape[3])

    def out_shape(self, in_shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        (shape,) = in_shapes
        c_out, c_in, kh, kw = self.weight.shape
        if len(shape) != 3 or shape[0] != c_in:
            raise ValueError(f"conv2d layer with weight {self.weight.shape} takes (C_in = {c_in}, H, W) maps; "
                             f"its input has shape {shape}")
        (sh, sw), (ph, pw) = self.stride, self.padding
        h_out, w_out = (shape[1] + 2 * ph - kh) // sh + 1, (shape[2] + 2 * pw - kw) // sw + 1
        if h_out < 1 or w_out < 1:
            raise ValueError(f"conv2d layer: a {kh}×{kw} kernel with padding {self.padding} does not fit the "
                             f"{shape[1]}×{shape[2]} input map")
        return int(c_out), int(h_out), int(w_out)

    @property
    def out_map(self) -> tuple[int, int, int]:
        """``(C_out, H_out, W_out)`` of the bound input shape."""
        return self.out_shape((self.in_shape,))

    # The layer protocol.
    @property
    def rows(self) -> int:
        return int(np.prod(self.weight.shape[1:]))

    @property
    def columns(self) -> int:
        return int(self.weight.shape[0])

    @property
    def vectors_per_inference(self) -> int:
        _, h_out, w_out = self.out_map
        return h_out * w_out

    @property
    def in_features(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def out_features(self) -> int:
        return int(np.prod(self.out_map))

    @property
    def matrix(self) -> np.ndarray:
        """The crossbar weight matrix, (rows = C_in·kh·kw, columns = C_out)."""
        return self.weight.reshape(self.weight.shape[0], -1).T

    def _windows(self, x: np.ndarray) -> np.ndarray:
        """A view (n, H_out, W_out, C, kh, kw) of the zero-padded windows of maps ``x`` (n, C, H, W), any C."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        if ph or pw:
            x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        _, h_out, w_out = self.out_map
        windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
        windows = windows[:, :, : sh * (h_out - 1) + 1 : sh, : sw * (w_out - 1) + 1 : sw]  # (n, C, Ho, Wo, kh, kw)
        return windows.transpose(0, 2, 3, 1, 4, 5)

    def to_vectors(self, x: np.ndarray) -> np.ndarray:
        """im2col: (n, C_in, H, W) -> (n·H_out·W_out, C_in·kh·kw), pixels row-major, rows channel-major; exact
        for any dtype (zero padding)."""
        n = len(x)
        return self._windows(x.reshape((n, *self.in_shape))).reshape(n * self.vectors_per_inference, self.rows)

    def input_sums(self, x: np.ndarray) -> np.ndarray:
        """``Σ_i x_i`` of every window, (n·V, 1) int64: the channel sums of the map, summed over each window."""
        n = len(x)
        channels = x.reshape((n, *self.in_shape)).sum(axis=1, keepdims=True, dtype=np.int64)
        return self._windows(channels).sum(axis=(3, 4, 5)).reshape(n * self.vectors_per_inference, 1)

    def from_vectors(self, y: np.ndarray, inferences: int) -> np.ndarray:
        """(n·H_out·W_out, C_out) -> (n, C_out, H_out, W_out)."""
        c_out, h_out, w_out = self.out_map
        return y.reshape(inferences, h_out, w_out, c_out).transpose(0, 3, 1, 2)

    def forward_float(self, x: np.ndarray) -> np.ndarray:
        n = len(x)
        y = self.from_vectors(self.to_vectors(np.asarray(x, dtype=np.float64)) @ self.matrix + self.bias, n)
        return np.maximum(y, 0.0) if self.activation == "relu" else y
