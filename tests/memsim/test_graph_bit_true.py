"""The first invariant for network graphs: with no variation and an ADC that covers the partial sums, the
simulated convolutions, pooling, skip additions and the dense head equal integer arithmetic bit for bit
(docs/datapath.md §The bit-true invariant), for all three encodings and both crossbar references (a
reference column, or the g_min floor subtracted digitally), with convolutions whose rows exceed a crossbar.
The reference here is written independently of memsim's im2col and digital nodes: explicit window loops over
the padded integer maps."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memsim.chip import design_chip, program_chip
from memsim.devices.crossbar import REFERENCE_MODES
from memsim.tile import floor_levels
from memsim.encoding import ENCODINGS, columns_per_weight, slices_needed
from memsim.engine import Engine
from memsim.ledger import Ledger
from memsim.workload.conv import Conv2dLayer
from memsim.workload.digital import Add, AvgPool2d, Flatten, MaxPool2d
from memsim.workload.network import DenseLayer, Network
from memsim.workload.quantize import quantize_network


def truncate(acc, ql):
    """The layer output of an integer accumulator: floor shift, clamp to the output format (ReLU for an unsigned
    one); the last layer keeps its accumulator."""
    fmt = ql.out_format
    if fmt is None:
        return acc
    return np.clip(acc >> ql.shift if ql.shift >= 0 else acc << -ql.shift, fmt.q_min, fmt.q_max)


def conv_reference(x, ql, node):
    """Direct integer convolution: one multiply-accumulate per kernel offset over the zero-padded map."""
    c_out, c_in, kh, kw = node.weight.shape
    (sh, sw), (ph, pw) = node.stride, node.padding
    w4 = ql.qw.T.reshape(c_out, c_in, kh, kw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    _, h_out, w_out = node.out_map
    acc = np.zeros((len(x), c_out, h_out, w_out), dtype=np.int64)
    for u in range(kh):
        for v in range(kw):
            patch = xp[:, :, u : u + sh * (h_out - 1) + 1 : sh, v : v + sw * (w_out - 1) + 1 : sw]
            acc += np.einsum("nchw,oc->nohw", patch, w4[:, :, u, v])
    return truncate(acc + ql.bias_q[None, :, None, None], ql)


def pool_reference(x, node, fmt):
    """Explicit window loops: max over a window padded with the format's minimum, or the mean rounded half up."""
    (kh, kw), (sh, sw), (ph, pw) = node.kernel, node.stride, node.padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fmt.q_min)
    _, h_out, w_out = node.out_shape((x.shape[1:],))
    out = np.zeros((*x.shape[:2], h_out, w_out), dtype=np.int64)
    for i in range(h_out):
        for j in range(w_out):
            window = xp[:, :, sh * i : sh * i + kh, sw * j : sw * j + kw].reshape(*x.shape[:2], -1)
            m = kh * kw
            if node.kind == "maxpool2d":
                out[:, :, i, j] = window.max(axis=2)
            else:
                out[:, :, i, j] = (2 * window.sum(axis=2) + m) // (2 * m)
    return out


def graph_reference(qnet, qx):
    """Every crossbar layer's output, computed node by node from the quantized network's formats and integers."""
    values, outputs = {-1: qx}, []
    for i, step in enumerate(qnet.steps):
        xs = [values[j] for j in step.inputs]
        node = step.node
        if step.layer is not None:
            ql = qnet.layers[step.layer]
            if node.kind == "conv2d":
                y = conv_reference(xs[0], ql, node)
            else:
                y = truncate(xs[0].reshape(len(qx), -1) @ ql.qw + ql.bias_q, ql)
            outputs.append(y)
        elif node.kind in ("maxpool2d", "avgpool2d"):
            y = pool_reference(xs[0], node, step.in_formats[0])
        elif node.kind == "add":
            fine = max(f.frac_bits for f in step.in_formats)
            total = sum(x << (fine - f.frac_bits) for x, f in zip(xs, step.in_formats, strict=True))
            k = fine - step.out_format.frac_bits
            y = np.clip(total >> k if k >= 0 else total << -k, step.out_format.q_min, step.out_format.q_max)
        else:
            assert node.kind == "flatten"
            y = xs[0].reshape(len(qx), -1)
        values[i] = y
    return outputs


def random_cnn(rng, c_in, size, c1, k1, stride1, pad1, pool, k2):
    """Conv (ReLU) -> pool -> conv without ReLU -> Add with the pool's output (ReLU) -> flatten -> dense."""
    conv1 = Conv2dLayer(rng.normal(size=(c1, c_in, k1, k1)), rng.normal(size=c1), "relu", stride=stride1,
                        padding=pad1)
    pool_node = (MaxPool2d(pool, padding=pool // 2 if pool > 1 else 0) if rng.random() < 0.5
                 else AvgPool2d(pool))
    conv2 = Conv2dLayer(rng.normal(size=(c1, c1, k2, k2)), rng.normal(size=c1), "none", padding=k2 // 2)
    probe = Network("probe", (conv1, pool_node, conv2), input_shape=(c_in, size, size))
    features = int(np.prod(probe.shapes[-1]))
    head = DenseLayer(rng.normal(size=(features, 3)), rng.normal(size=3), "none")
    return Network("random-cnn", (conv1, pool_node, conv2, Add("relu", inputs=(1, 2)), Flatten(), head),
                   input_shape=(c_in, size, size))


@pytest.mark.parametrize("reference", REFERENCE_MODES)
@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    c_in=st.integers(1, 3),
    size=st.integers(3, 8),
    c1=st.integers(1, 4),
    k1=st.integers(1, 3),
    stride1=st.integers(1, 2),
    pad1=st.integers(0, 1),
    pool=st.integers(1, 2),
    k2=st.sampled_from([1, 3]),
    input_bits=st.integers(1, 6),
    weight_bits=st.integers(2, 6),
    cell_bits=st.integers(1, 3),
    dac_bits=st.integers(1, 2),
    encoding=st.sampled_from(sorted(ENCODINGS)),
    xbar_rows=st.integers(2, 12),
    batch=st.integers(1, 5),
)
def test_zero_variation_graph_equals_integer_reference(
    card_factory, reference, seed, c_in, size, c1, k1, stride1, pad1, pool, k2, input_bits, weight_bits, cell_bits,
    dac_bits, encoding, xbar_rows, batch,
):
    rng = np.random.default_rng(seed)
    if pad1 >= k1 or (size + 2 * pad1 - k1) // stride1 + 1 < pool:
        return  # the map is too small for this kernel and window
    network = random_cnn(rng, c_in, size, c1, k1, stride1, pad1, pool, k2)
    calibration = rng.random((16, c_in, size, size))
    qnet = quantize_network(network, calibration, input_bits, (weight_bits,) * 3, 6)
    x_max = xbar_rows * ((1 << dac_bits) - 1)
    max_partial = x_max * ((1 << cell_bits) - 1)
    floor = floor_levels(card_factory(cell_bits=cell_bits, reference=reference))  # the digital reference's floor
    card = card_factory(rows=xbar_rows, cols=40, columns_per_adc=4, cell_bits=cell_bits, dac_bits=dac_bits,
                        adc_bits=max(1, int(max_partial + floor * x_max + 0.5).bit_length()), reference=reference)
    if columns_per_weight(encoding, slices_needed(encoding, weight_bits, cell_bits)) > card.crossbar.data_cols:
        return
    design = design_chip(card, qnet, encoding)
    qx = qnet.quantize_input(rng.random((7, c_in, size, size)))
    result = Engine(program_chip(design, np.random.default_rng(0)), Ledger(), 0, np.random.default_rng(1)).run(
        qx, batch)
    reference = graph_reference(qnet, qx)
    assert len(result.layer_outputs) == len(reference) == 3
    for got, want in zip(result.layer_outputs, reference, strict=True):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(design.reference(qx), reference, strict=True):
        np.testing.assert_array_equal(got, want)
    assert sum(result.clipped) == 0
