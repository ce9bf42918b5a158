"""ADC quantization, latency and energy models."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from memsim.devices.adc import ADC_ENERGY_MODELS, ADC_MODELS, FlashAdc, SarAdc, adc_from_dict
from memsim.devices.adc_energy import FlashComparatorsEnergy, NeuroSimSarEnergy, TableEnergy, adc_energy_from_dict

ISAAC_TABLE = TableEnergy(
    table_bits=(4, 5, 6, 7, 8, 9, 10), e_conv_j=tuple(e * 1e-12 for e in (0.79, 0.99, 1.20, 1.42, 1.67, 1.97, 2.38))
)
FLASH_E = FlashComparatorsEnergy(e_comparator_j=1e-15, e_encoder_j=10e-15)


def sar(bits=8, lsb_levels=1.0, **kw):
    return SarAdc(bits=bits, energy=FLASH_E, t_cycle_s=1e-9, lsb_levels=lsb_levels, **kw)


def test_registries():
    assert ADC_MODELS == {"sar": SarAdc, "flash": FlashAdc}
    assert set(ADC_ENERGY_MODELS) == {"table", "neurosim_sar", "flash_comparators"}


@settings(max_examples=300, deadline=None)
@given(
    bits=st.integers(1, 16),
    lsb=st.floats(0.05, 20.0),
    x=hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=8), elements=st.floats(-1e12, 1e12)),
)
def test_quantize_codes_in_range_and_clip_count(bits, lsb, x):
    adc = sar(bits=bits, lsb_levels=lsb)
    codes, n_clipped = adc.quantize(x)
    assert codes.dtype == np.int64 and codes.shape == x.shape
    assert codes.min(initial=0) >= 0 and codes.max(initial=0) <= adc.max_code
    raw = [math.floor(v / lsb + 0.5) for v in x.ravel()]
    assert n_clipped == sum(1 for r in raw if r < 0 or r > adc.max_code)
    expect = [min(max(r, 0), adc.max_code) for r in raw]
    assert codes.ravel().tolist() == expect


@settings(max_examples=200, deadline=None)
@given(bits=st.integers(1, 16), data=st.data())
def test_integers_in_range_map_to_themselves(bits, data):
    adc = sar(bits=bits)
    ints = data.draw(st.lists(st.integers(0, adc.max_code), min_size=1, max_size=50))
    codes, n_clipped = adc.quantize(np.array(ints, dtype=np.int64))
    assert codes.tolist() == ints and n_clipped == 0
    codes, n_clipped = adc.quantize(np.array(ints, dtype=np.float64) + 0.4999)
    assert codes.tolist() == ints and n_clipped == 0


def test_round_half_up_and_clipping_examples():
    adc = sar(bits=2)
    codes, n = adc.quantize(np.array([-0.6, -0.5, 0.5, 1.5, 2.5, 3.49, 3.5, 100.0]))
    assert codes.tolist() == [0, 0, 1, 2, 3, 3, 3, 3]
    assert n == 3  # -0.6 -> -1, 3.5 -> 4, 100 -> 100


def test_lsb_levels_scales_range():
    codes, n = sar(bits=4, lsb_levels=2.0).quantize(np.array([0.0, 1.0, 2.0, 30.0, 31.0]))
    assert codes.tolist() == [0, 1, 1, 15, 15] and n == 1


def test_convert_physical_units():
    adc = sar(bits=8)
    lsb, ref = 1.5e-6, 2e-6
    k = np.arange(0, 256)
    codes, n = adc.convert(ref + k * lsb, lsb, ref)
    assert codes.tolist() == k.tolist() and n == 0
    with pytest.raises(ValueError, match=r"adc\.lsb_a"):
        adc.convert(np.zeros(3), 0.0)


def test_sar_latency_n_plus_one_cycles():
    for n in (1, 5, 8, 12):
        adc = SarAdc(bits=n, energy=FLASH_E, t_cycle_s=1e-9, overhead_cycles=1)
        assert adc.convert_cost().latency_s == pytest.approx((n + 1) * 1e-9, rel=1e-12, abs=0)
    sar = SarAdc(bits=8, energy=FLASH_E, t_cycle_s=2e-9, overhead_cycles=0)
    assert sar.latency_s == pytest.approx(16e-9, rel=1e-12, abs=0)


def test_flash_latency_and_comparator_energy():
    adc = FlashAdc(bits=4, energy=FLASH_E, t_conv_s=0.5e-9)
    cost = adc.convert_cost()
    assert cost.latency_s == 0.5e-9
    assert cost.energy_j == pytest.approx(15 * 1e-15 + 10e-15, rel=1e-12, abs=0)


def test_table_exact_entries_and_log_linear_interpolation():
    sar = SarAdc(bits=8, energy=ISAAC_TABLE, t_cycle_s=1e-9)
    assert sar.convert_cost().energy_j == pytest.approx(1.67e-12, rel=1e-12, abs=0)
    gappy = TableEnergy(table_bits=(4, 6, 8), e_conv_j=(1e-12, 4e-12, 16e-12))
    assert gappy.energy_j(5, 0.0) == pytest.approx(2e-12, rel=1e-12, abs=0)  # geometric mean of neighbours
    assert gappy.energy_j(7, 0.0) == pytest.approx(8e-12, rel=1e-12, abs=0)
    assert gappy.energy_j(6, 0.0) == 4e-12


def test_table_outside_range_names_bits_and_range():
    with pytest.raises(ValueError, match=r"adc\.bits = 3 is outside the energy table; allowed 4\.\.10"):
        SarAdc(bits=3, energy=ISAAC_TABLE, t_cycle_s=1e-9)
    with pytest.raises(ValueError, match=r"adc\.bits = 12"):
        SarAdc(bits=12, energy=ISAAC_TABLE, t_cycle_s=1e-9)


def test_table_validation():
    with pytest.raises(ValueError, match=r"not strictly increasing"):
        TableEnergy(table_bits=(5, 4), e_conv_j=(1e-12, 2e-12))
    with pytest.raises(ValueError, match=r"adc\.energy\.e_conv_j has 1 entries"):
        TableEnergy(table_bits=(4, 5), e_conv_j=(1e-12,))
    with pytest.raises(ValueError, match=r"adc\.energy\.e_conv_j\[0\] = 0"):
        TableEnergy(table_bits=(4,), e_conv_j=(0.0,))


def test_neurosim_sar_reproduces_reference_within_1_percent():
    # docs/devices.md §NeuroSim SAR energy: ≈136 fJ at 5 b and 235 fJ at 8 b; with R_col = 10 kΩ and
    # latency (N+1) ns.
    e = NeuroSimSarEnergy(r_col_ohm=10e3)
    for bits, ref_j in ((5, 136e-15), (8, 235e-15)):
        adc = SarAdc(bits=bits, energy=e, t_cycle_s=1e-9, overhead_cycles=1)
        assert adc.convert_cost().energy_j == pytest.approx(ref_j, rel=0.01, abs=0)
    # the column term falls with resistance: a lower R_col costs more
    assert NeuroSimSarEnergy(r_col_ohm=1e3).power_w(8) > e.power_w(8)


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(bits=0), r"adc\.bits = 0 is out of range; allowed 1\.\.16"),
        (dict(bits=17), r"adc\.bits = 17"),
        (dict(lsb_levels=0.0), r"adc\.lsb_levels"),
        (dict(t_cycle_s=0.0), r"adc\.t_cycle_s"),
        (dict(overhead_cycles=-1), r"adc\.overhead_cycles"),
        (dict(energy="table"), r"adc\.energy = 'table' is not an ADC energy model"),
    ],
)
def test_adc_validation_names_field(kw, name):
    params = dict(bits=8, energy=FLASH_E, t_cycle_s=1e-9) | kw
    with pytest.raises(ValueError, match=name):
        SarAdc(**params)


def test_energy_model_validation():
    with pytest.raises(ValueError, match=r"adc\.energy\.r_col_ohm"):
        NeuroSimSarEnergy(r_col_ohm=0.0)
    with pytest.raises(ValueError, match=r"adc\.energy\.e_comparator_j"):
        FlashComparatorsEnergy(e_comparator_j=-1.0, e_encoder_j=0.0)


def test_from_dict():
    adc = adc_from_dict(
        {"kind": "sar", "bits": 5, "t_cycle_s": 1e-9, "energy": {"model": "neurosim_sar", "r_col_ohm": 1e4}}
    )
    assert isinstance(adc, SarAdc) and adc.energy == NeuroSimSarEnergy(1e4) and adc.overhead_cycles == 1
    with pytest.raises(ValueError, match=r"adc\.kind = 'pipelined' is not valid; allowed: flash, sar"):
        adc_from_dict({"kind": "pipelined", "bits": 8})
    with pytest.raises(ValueError, match=r"allowed: flash_comparators, neurosim_sar, table"):
        adc_energy_from_dict({"model": "murmann"})
    with pytest.raises(ValueError, match=r"missing adc\.t_conv_s"):
        adc_from_dict({"kind": "flash", "bits": 4, "energy": FLASH_E})
    with pytest.raises(ValueError, match=r"unknown key 't_cycle_s'"):
        adc_from_dict({"kind": "flash", "bits": 4, "energy": FLASH_E, "t_conv_s": 1e-9, "t_cycle_s": 1e-9})
