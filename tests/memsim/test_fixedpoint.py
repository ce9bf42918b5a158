import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from memsim.workload.fixedpoint import FixedFormat, frac_bits_for, shift_right_floor, truncate_output


@given(max_abs=st.floats(1e-6, 1e6), bits=st.integers(2, 16), signed=st.booleans())
def test_frac_bits_is_the_finest_scale_without_saturation(max_abs, bits, signed):
    f = frac_bits_for(max_abs, bits, signed)
    fmt = FixedFormat(bits, f, signed)
    assert max_abs * 2.0**f <= fmt.q_max
    assert max_abs * 2.0 ** (f + 1) > fmt.q_max


def test_quantize_rounds_and_saturates():
    fmt = FixedFormat(4, 2, True)  # values -2 .. 1.75 in steps of 0.25
    np.testing.assert_array_equal(fmt.quantize([0.3, -0.3, 5.0, -5.0, 0.125]), [1, -1, 7, -8, 1])


@given(a=st.integers(-(2**40), 2**40), k=st.integers(-8, 20))
def test_shift_right_floor_is_floor_division(a, k):
    got = int(shift_right_floor(np.array([a]), k)[0])
    assert got == (a // (1 << k) if k >= 0 else a * (1 << -k))


def test_truncation_applies_relu_and_saturates():
    acc = np.array([-100, 0, 255, 256, 10_000])
    np.testing.assert_array_equal(truncate_output(acc, 2, 6), [0, 0, 63, 63, 63])
    np.testing.assert_array_equal(truncate_output(np.array([40]), 2, 6), [10])


def test_format_bits_are_validated():
    with pytest.raises(ValueError, match="format.bits"):
        FixedFormat(0, 0, False)
