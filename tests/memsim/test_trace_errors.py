"""The per-layer error histogram behind the trace's /errors table and the errors plot."""

import numpy as np

from memsim.simulate import error_bit_histogram


def test_outputs_are_counted_by_the_highest_set_bit_of_the_error():
    outputs = np.array([[5, 7, 8, -3]])
    reference = np.array([[5, 6, 0, 4]])
    # errors 0, 1, 8, 7 -> exact, bit 0, bit 3, bit 2
    assert error_bit_histogram(outputs, reference) == (1, 1, 0, 1, 1)


def test_no_error_is_one_bin_and_huge_errors_are_exact():
    assert error_bit_histogram(np.zeros((3, 2), np.int64), np.zeros((3, 2), np.int64)) == (6,)
    big = np.array([2**62, 2**62 - 1], dtype=np.int64)
    hist = error_bit_histogram(big, np.zeros(2, np.int64))
    assert len(hist) == 64 and hist[63] == 1 and hist[62] == 1 and sum(hist) == 2
