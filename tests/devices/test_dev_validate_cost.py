"""Validation helpers and Cost."""

import pytest

from memsim.devices.cost import Cost
from memsim.devices.validate import check_choice, check_float, check_float_tuple, check_int, check_keys, check_positive


def test_int_message_names_field_value_and_range():
    with pytest.raises(ValueError) as err:
        check_int("cell.bits_per_cell", 0, 1, 8)
    assert str(err.value) == "cell.bits_per_cell = 0 is out of range; allowed 1..8"


@pytest.mark.parametrize("bad", [True, 2.0, "3", None])
def test_int_rejects_non_integers(bad):
    with pytest.raises(ValueError, match=r"^adc\.bits = .* is not an integer; allowed 1\.\.16$"):
        check_int("adc.bits", bad, 1, 16)


def test_int_unbounded_above():
    assert check_int("x.n", 10**9, 0) == 10**9
    with pytest.raises(ValueError, match=r"allowed >= 0"):
        check_int("x.n", -1, 0)


def test_float_bounds_open_and_closed():
    assert check_float("x.f", 0, 0.0, 1.0) == 0.0
    assert isinstance(check_float("x.f", 1, 0.0, 1.0), float)
    with pytest.raises(ValueError, match=r"^x\.f = 0 is out of range; allowed > 0$"):
        check_positive("x.f", 0)
    with pytest.raises(ValueError, match=r"^x\.f = 1\.5 is out of range; allowed \[0, 1\]$"):
        check_float("x.f", 1.5, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"not finite"):
        check_float("x.f", float("nan"))
    with pytest.raises(ValueError, match=r"not a number"):
        check_float("x.f", "1.0")


def test_choice_lists_valid_names():
    with pytest.raises(ValueError, match=r"^adc\.kind = 'pipeline' is not valid; allowed: flash, sar$"):
        check_choice("adc.kind", "pipeline", ["sar", "flash"])
    assert check_choice("adc.kind", "sar", ["sar", "flash"]) == "sar"


def test_float_tuple_and_keys():
    assert check_float_tuple("t.v", [1, 2.5]) == (1.0, 2.5)
    with pytest.raises(ValueError, match=r"t\.v\[1\] = -1"):
        check_float_tuple("t.v", [1, -1], 0.0)
    with pytest.raises(ValueError, match=r"empty"):
        check_float_tuple("t.v", [])
    with pytest.raises(ValueError, match=r"unknown key 'c'; allowed: a, b"):
        check_keys("sec", ["a", "c"], ["a", "b"], ["a"])
    with pytest.raises(ValueError, match=r"missing sec\.b"):
        check_keys("sec", ["a"], ["a", "b"], ["a", "b"])


def test_cost_validates_and_normalises():
    c = Cost(1, 2)
    assert (c.energy_j, c.latency_s) == (1.0, 2.0) and isinstance(c.energy_j, float)
    with pytest.raises(ValueError, match=r"cost\.energy_j = -1"):
        Cost(-1, 0)
    with pytest.raises(ValueError, match=r"cost\.latency_s"):
        Cost(0, float("inf"))
