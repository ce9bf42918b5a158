"""DAC, sample-and-hold, shift-and-add, register, crossbar."""

import numpy as np
import pytest

from memsim.devices.crossbar import Crossbar
from memsim.devices.dac import Dac
from memsim.devices.digital import Register, ShiftAdd
from memsim.devices.sense_amp import SampleHold


def test_dac():
    d = Dac(bits=2, e_drive_j=0.39e-12, t_drive_s=1e-9)
    assert d.max_code == 3
    c = d.drive_cost()
    assert (c.energy_j, c.latency_s) == (0.39e-12, 1e-9)
    np.testing.assert_allclose(d.voltage_v(np.array([0, 1, 2, 3]), 0.5), [0, 0.5 / 3, 1.0 / 3, 0.5], rtol=1e-15)
    assert Dac(bits=1, e_drive_j=0.0, t_drive_s=0.0).voltage_v(np.array([1]), 0.5).tolist() == [0.5]
    with pytest.raises(ValueError, match=r"dac code 4 is out of range; allowed 0\.\.3"):
        d.voltage_v(np.array([4]), 0.5)
    with pytest.raises(ValueError, match=r"dac\.bits = 9 is out of range; allowed 1\.\.8"):
        Dac(bits=9, e_drive_j=0.0, t_drive_s=0.0)
    with pytest.raises(ValueError, match=r"dac\.e_drive_j"):
        Dac(bits=1, e_drive_j=-1.0, t_drive_s=0.0)


def test_sample_hold_offsets():
    sh = SampleHold(e_sample_j=1e-15, t_sample_s=0.0)
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    z = sh.sample_offsets_a(16, rng)
    assert z.shape == (16,) and not z.any() and rng.bit_generator.state == before
    assert sh.sample_cost().energy_j == 1e-15
    noisy = SampleHold(e_sample_j=1e-15, t_sample_s=0.0, offset_sigma_a=1e-8)
    off = noisy.sample_offsets_a(100_000, np.random.default_rng(1))
    assert abs(off.std() / 1e-8 - 1.0) < 0.02 and abs(off.mean()) < 2e-10
    np.testing.assert_array_equal(off, 1e-8 * np.random.default_rng(1).standard_normal(100_000))
    with pytest.raises(ValueError, match=r"sample_hold\.offset_sigma_a"):
        SampleHold(e_sample_j=0.0, t_sample_s=0.0, offset_sigma_a=-1.0)


def test_digital():
    sa = ShiftAdd(e_op_j=2e-14, t_op_s=1e-9)
    assert (sa.shift_add_cost().energy_j, sa.shift_add_cost().latency_s) == (2e-14, 1e-9)
    reg = Register(e_bit_j=9e-15, t_access_s=0.0)
    assert reg.access_cost(16).energy_j == pytest.approx(16 * 9e-15, rel=1e-15, abs=0)
    assert reg.access_cost(0).energy_j == 0.0
    with pytest.raises(ValueError, match=r"register\.n_bits = -1"):
        reg.access_cost(-1)
    with pytest.raises(ValueError, match=r"shift_add\.t_op_s"):
        ShiftAdd(e_op_j=0.0, t_op_s=-1e-9)
    with pytest.raises(ValueError, match=r"register\.e_bit_j"):
        Register(e_bit_j=float("nan"), t_access_s=0.0)


def xbar(**kw):
    base = dict(rows=128, cols=128, columns_per_adc=8, read_energy_model="cell", e_array_read_j=0.0, t_read_s=1e-8)
    return Crossbar(**(base | kw))


def test_crossbar_n_adcs_ceil():
    assert xbar().n_adcs == 16
    assert xbar(cols=130).n_adcs == 17
    assert xbar(columns_per_adc=128).n_adcs == 1
    assert xbar(columns_per_adc=500).n_adcs == 1


def test_crossbar_read_cost():
    assert xbar().read_cost(5e-12).energy_j == pytest.approx(5e-12, rel=1e-12, abs=0)
    lumped = xbar(read_energy_model="lumped", e_array_read_j=30e-12, t_read_s=1e-7)
    c = lumped.read_cost()
    assert (c.energy_j, c.latency_s) == (30e-12, 1e-7)
    with pytest.raises(ValueError, match=r"crossbar\.cell_energy_j"):
        lumped.read_cost(1e-12)


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(rows=0), r"crossbar\.rows = 0 is out of range; allowed 1\.\.4096"),
        (dict(cols=4097), r"crossbar\.cols = 4097"),
        (dict(columns_per_adc=0), r"crossbar\.columns_per_adc = 0 is out of range; allowed >= 1"),
        (dict(read_energy_model="wire"), r"crossbar\.read_energy_model = 'wire' is not valid; allowed: cell, lumped"),
        (dict(e_array_read_j=-1.0), r"crossbar\.e_array_read_j"),
        (dict(t_read_s=0.0), r"crossbar\.t_read_s"),
    ],
)
def test_crossbar_validation(kw, name):
    with pytest.raises(ValueError, match=name):
        xbar(**kw)
