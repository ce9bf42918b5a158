"""Encodings and slicing recover the exact integer product (docs/datapath.md §Signed-weight encodings)."""

from typing import get_args

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memsim.encoding import (
    ENCODING_NAMES,
    ENCODINGS,
    Encoding,
    EncodingName,
    encode_weights,
    encoding_named,
    input_cycles,
    input_slices,
    slices_needed,
)


@settings(max_examples=200, deadline=None)
@given(
    encoding=st.sampled_from(sorted(ENCODINGS)),
    weight_bits=st.integers(1, 12),
    cell_bits=st.integers(1, 8),
    extra_slices=st.integers(0, 2),
    seed=st.integers(0, 2**32 - 1),
)
def test_column_sums_recombine_to_integer_product(encoding, weight_bits, cell_bits, extra_slices, seed):
    rng = np.random.default_rng(seed)
    rows, outs = 7, 5
    qw = rng.integers(-(1 << (weight_bits - 1)), 1 << (weight_bits - 1), size=(rows, outs))
    qx = rng.integers(0, 256, size=(3, rows))
    rule = ENCODINGS[encoding]
    slices = rule.slices_needed(weight_bits, cell_bits) + extra_slices
    enc = rule.encode(qw, weight_bits, cell_bits, slices)
    assert enc.levels.min() >= 0 and enc.levels.max() < (1 << cell_bits)
    # The column count the mapping and the planner use is the one the levels have.
    assert enc.kinds == enc.levels.shape[1] == rule.columns_per_weight(slices)
    assert enc.slices == slices and sorted(enc.slice_index.tolist()) == sorted(list(range(slices)) * rule.column_sets)
    column_sums = np.einsum("ni,iko->nko", qx, enc.levels)
    acc = np.einsum("nko,k->no", column_sums, enc.significance) + enc.input_coeff * qx.sum(axis=1, keepdims=True)
    np.testing.assert_array_equal(acc, qx @ qw)


def test_offset_levels_of_a_known_weight():
    # qw = -3 with 4 bits: u = -3 + 8 = 5 = 0b0101; 2-bit cells: slices (01, 01).
    enc = encode_weights(np.array([[-3]]), 4, 2, "offset")
    assert enc.levels[0, :, 0].tolist() == [1, 1]
    assert enc.significance.tolist() == [1, 4]
    assert enc.input_coeff == -8


def test_twos_sign_column():
    # qw = -3 with 4 bits: pattern 1101; low 3 bits 101 = 5 on 2-bit cells -> slices (1, 1); sign bit 1
    enc = encode_weights(np.array([[-3]]), 4, 2, "twos")
    assert enc.levels[0, :, 0].tolist() == [1, 1, 1]
    assert enc.significance.tolist() == [1, 4, -8]


def test_differential_uses_two_column_sets():
    enc = encode_weights(np.array([[-3, 2]]), 4, 1, "differential")
    assert enc.kinds == 8
    assert enc.significance.tolist() == [1, 2, 4, 8, -1, -2, -4, -8]


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_weight_bits_the_slices_cannot_hold(encoding):
    need = slices_needed(encoding, 8, 2)
    with pytest.raises(ValueError, match="mapping.weight_slices"):
        encode_weights(np.zeros((2, 2), dtype=np.int64), 8, 2, encoding, need - 1)


def test_weights_outside_their_range_are_rejected():
    with pytest.raises(ValueError, match="4-bit signed range"):
        encode_weights(np.array([[8]]), 4, 2, "offset")


def test_unknown_encoding_names_the_choices():
    with pytest.raises(ValueError, match="offset, differential, twos"):
        encode_weights(np.array([[1]]), 4, 2, "sign-magnitude")
    for bad in ("sign-magnitude", 3, ["offset"], None):
        with pytest.raises(ValueError, match=r"^quantization.encoding = .* is unknown; allowed: offset, differential"):
            encoding_named(bad)


def test_one_registry_of_encodings():
    # The Literal type, the table of names and the registry hold the same names in the same order, and each
    # registered encoding is the instance of its own name with every hook of the protocol implemented.
    assert get_args(EncodingName) == ENCODING_NAMES == tuple(ENCODINGS)
    for name, rule in ENCODINGS.items():
        assert isinstance(rule, Encoding) and rule.name == name and encoding_named(name) is rule
        assert rule.column_sets >= 1


def test_every_caller_takes_the_names_from_the_registry():
    from memsim.cli.main import cli
    from memsim.config import SimConfig

    for command in ("simulate", "plan"):
        option = next(p for p in cli.commands[command].params if p.name == "encoding")
        assert tuple(option.type.choices) == ENCODING_NAMES
    for name in ENCODING_NAMES:
        assert SimConfig(encoding=name).encoding == name
    with pytest.raises(ValueError, match="allowed: offset, differential, twos"):
        SimConfig(encoding="sign-magnitude")


def test_the_base_class_is_only_the_protocol():
    with pytest.raises(NotImplementedError):
        Encoding().slices_needed(4, 2)


@pytest.mark.parametrize("weight_bits, cell_bits, field", [(0, 2, "quantization.weight_bits"),
                                                           (4, 0, "cell.bits_per_cell")])
def test_bits_out_of_range_name_the_field(weight_bits, cell_bits, field):
    with pytest.raises(ValueError, match=f"^{field} = 0 is out of range"):
        slices_needed("offset", weight_bits, cell_bits)


@given(bits=st.integers(1, 16), d=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_input_slices_recombine(bits, d, seed):
    qx = np.random.default_rng(seed).integers(0, 1 << bits, size=(4, 3))
    parts = input_slices(qx, bits, d)
    assert parts.shape[0] == input_cycles(bits, d)
    assert parts.max() < (1 << d)
    sig = np.int64(1) << (np.arange(parts.shape[0]) * d)
    np.testing.assert_array_equal(np.tensordot(sig, parts, axes=1), qx)
