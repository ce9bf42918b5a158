"""Convolution layers: im2col, the input sums computed without it, and the float forward pass
against a direct loop over kernel offsets."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memsim.workload.conv import Conv2dLayer
from memsim.workload.network import Network


def bound(c_in, size, c_out, k, stride, pad, seed=0):
    rng = np.random.default_rng(seed)
    conv = Conv2dLayer(rng.normal(size=(c_out, c_in, k, k)), rng.normal(size=c_out), "none", stride=stride,
                       padding=pad)
    return Network("conv", (conv,), input_shape=(c_in, size, size)).layers[0]


@settings(max_examples=40, deadline=None)
@given(c_in=st.integers(1, 4), size=st.integers(2, 9), c_out=st.integers(1, 3), k=st.integers(1, 4),
       stride=st.integers(1, 3), pad=st.integers(0, 2), bits=st.integers(1, 10),
       seed=st.integers(0, 2**32 - 1))
def test_input_sums_equal_those_of_the_im2col_vectors(c_in, size, c_out, k, stride, pad, bits, seed):
    if size + 2 * pad < k:
        return
    conv = bound(c_in, size, c_out, k, stride, pad)
    x = np.random.default_rng(seed).integers(0, 1 << bits, (3, c_in, size, size))
    vectors = conv.to_vectors(x)
    assert vectors.shape == (3 * conv.vectors_per_inference, conv.rows)
    np.testing.assert_array_equal(conv.input_sums(x), vectors.sum(axis=1, keepdims=True))


@pytest.mark.parametrize("stride, pad", [(1, 0), (1, 1), (2, 1), (3, 2)])
def test_forward_float_equals_a_direct_convolution(stride, pad):
    conv = bound(2, 7, 3, 3, stride, pad)
    x = np.random.default_rng(1).random((2, 2, 7, 7))
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    _, h_out, w_out = conv.out_map
    want = np.zeros((2, 3, h_out, w_out)) + conv.bias[None, :, None, None]
    for u in range(3):
        for v in range(3):
            patch = xp[:, :, u : u + stride * (h_out - 1) + 1 : stride, v : v + stride * (w_out - 1) + 1 : stride]
            want += np.einsum("nchw,oc->nohw", patch, conv.weight[:, :, u, v])
    np.testing.assert_allclose(conv.forward_float(x), want, rtol=1e-12, atol=1e-12)


def test_bad_convolutions_are_refused_in_one_line():
    with pytest.raises(ValueError, match=r"Conv2dLayer.weight: shape \(3, 3\) is not allowed"):
        Conv2dLayer(np.ones((3, 3)), np.ones(3), "relu")
    with pytest.raises(ValueError, match="Conv2dLayer.stride = 0 is not allowed"):
        Conv2dLayer(np.ones((1, 1, 3, 3)), np.ones(1), "relu", stride=0)
    with pytest.raises(ValueError, match="does not fit the 2×2 input map"):
        Network("n", (Conv2dLayer(np.ones((1, 1, 3, 3)), np.ones(1), "none"),), input_shape=(1, 2, 2))
