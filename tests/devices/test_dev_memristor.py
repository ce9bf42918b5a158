"""The memristor cell: targets, programming statistics, draw order, faults, read energy."""

import numpy as np
import pytest

from memsim.devices.memristor import MemristorCell, read_energy_j
from memsim.devices.variation import Additive, Proportional, Table

BASE = dict(bits_per_cell=2, g_min_s=1e-6, g_max_s=10e-6, v_read_v=0.5)


def cell(**kw):
    return MemristorCell(**{**BASE, **kw})


def test_levels_and_targets():
    c = cell()
    assert c.n_levels == 4
    assert c.delta_g_s == pytest.approx(3e-6, rel=1e-15, abs=0)
    np.testing.assert_allclose(c.target_conductance_s(np.array([0, 1, 2, 3])), [1e-6, 4e-6, 7e-6, 10e-6], rtol=1e-15)
    assert cell(bits_per_cell=1).delta_g_s == pytest.approx(9e-6, rel=1e-12, abs=0)


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(bits_per_cell=0), r"cell\.bits_per_cell = 0 is out of range; allowed 1\.\.8"),
        (dict(bits_per_cell=9), r"cell\.bits_per_cell = 9"),
        (dict(g_min_s=-1e-6), r"cell\.g_min_s = -1e-06"),
        (dict(g_max_s=1e-6), r"cell\.g_min_s = 1e-06 and cell\.g_max_s = 1e-06 are out of order; allowed "
                             r"0 <= cell\.g_min_s < cell\.g_max_s"),
        (dict(v_read_v=0.0), r"cell\.v_read_v"),
        (dict(distribution="uniform"), r"cell\.distribution = 'uniform' is not valid; allowed: gaussian, lognormal"),
        (dict(read_noise_rel=-0.01), r"cell\.read_noise_rel"),
        (dict(stuck_at_min_frac=1.5), r"cell\.stuck_at_min_frac"),
        (dict(stuck_at_min_frac=0.6, stuck_at_max_frac=0.6), r"cell\.stuck_at_min_frac \+ cell\.stuck_at_max_frac"),
        (dict(variation=0.05), r"cell\.variation = 0\.05 is not a sigma model"),
    ],
)
def test_validation_names_field(kw, name):
    with pytest.raises(ValueError, match=name):
        cell(**kw)


def test_table_length_must_equal_levels():
    with pytest.raises(ValueError, match=r"cell\.variation\.sigma_s_per_level has 3 entries; allowed exactly n_levels "
                                         r"= 4"):
        cell(variation=Table((1e-7, 1e-7, 1e-7)))
    assert cell(variation=Table((1e-7,) * 4)).n_levels == 4


def test_levels_out_of_range_or_not_integer():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"level 4 is out of range; allowed 0\.\.3"):
        cell().program(np.array([0, 4]), rng)
    with pytest.raises(ValueError, match=r"level -1 is out of range"):
        cell().target_conductance_s(np.array([-1, 2]))
    with pytest.raises(ValueError, match=r"integer levels"):
        cell().program(np.array([0.0, 1.0]), rng)


def test_no_variation_exact_targets_and_no_draws():
    levels = np.random.default_rng(1).integers(0, 4, size=(64, 32))
    rng = np.random.default_rng(123)
    before = rng.bit_generator.state
    for c in (cell(), cell(variation=Proportional(0.0)), cell(distribution="lognormal", variation=Additive(0.0))):
        g = c.program(levels, rng)
        assert g.dtype == np.float64 and g.shape == levels.shape
        np.testing.assert_array_equal(g, c.target_conductance_s(levels))
    assert rng.bit_generator.state == before


def test_proportional_gaussian_mean_and_std():
    # n = 400k draws at G = 10 µS, sigma = 1 µS: standard error of the mean is 1.6e-9 S and of the std 0.11 %;
    # the bounds below are > 6 standard errors, so no seed can plausibly fail them.
    c = cell(variation=Proportional(0.1))
    g = c.program(np.full(400_000, 3), np.random.default_rng(2024))
    assert abs(g.mean() - 10e-6) < 0.01e-6
    assert abs(g.std() / 1e-6 - 1.0) < 0.01
    assert g.min() >= 0.0


def test_gaussian_clips_at_zero():
    c = MemristorCell(bits_per_cell=1, g_min_s=0.0, g_max_s=1e-6, v_read_v=0.5, variation=Additive(1e-6))
    g = c.program(np.zeros(10_000, dtype=int), np.random.default_rng(3))
    assert g.min() == 0.0 and (g == 0.0).mean() > 0.4


def test_lognormal_mean_std_and_positive():
    c = cell(variation=Proportional(0.2), distribution="lognormal")
    g = c.program(np.full(400_000, 3), np.random.default_rng(7))
    assert g.min() > 0.0
    assert abs(g.mean() / 10e-6 - 1.0) < 0.003
    assert abs(g.std() / 2e-6 - 1.0) < 0.02
    # lognormal is skewed: median below the mean
    assert np.median(g) < g.mean()


def test_lognormal_zero_target_stays_zero():
    c = MemristorCell(
        bits_per_cell=1, g_min_s=0.0, g_max_s=1e-6, v_read_v=0.5,
        variation=Additive(1e-7), distribution="lognormal",
    )
    g = c.program(np.array([0, 0, 1, 1]), np.random.default_rng(0))
    assert g[0] == 0.0 and g[1] == 0.0 and g[2] > 0.0


def test_draw_order_is_eps_then_u():
    c = cell(variation=Proportional(0.1), stuck_at_min_frac=0.1, stuck_at_max_frac=0.2)
    levels = np.random.default_rng(5).integers(0, 4, size=(50, 40))
    got = c.program(levels, np.random.default_rng(99))
    rng = np.random.default_rng(99)
    eps = rng.standard_normal(levels.shape)
    u = rng.random(levels.shape)
    target = c.target_conductance_s(levels)
    expect = np.maximum(target + 0.1 * target * eps, 0.0)
    expect = np.where(u < 0.1, c.g_min_s, expect)
    expect = np.where(u >= 0.8, c.g_max_s, expect)
    np.testing.assert_array_equal(got, expect)


def test_stuck_at_only_draws_u():
    c = cell(stuck_at_min_frac=0.25)
    levels = np.full(100, 2)
    got = c.program(levels, np.random.default_rng(11))
    u = np.random.default_rng(11).random(100)
    np.testing.assert_array_equal(got == c.g_min_s, u < 0.25)


def test_stuck_at_fractions():
    c = cell(stuck_at_min_frac=0.1, stuck_at_max_frac=0.2)
    g = c.program(np.full(400_000, 1), np.random.default_rng(17))  # level 1 target is 4 µS
    frac_min = np.mean(g == c.g_min_s)
    frac_max = np.mean(g == c.g_max_s)
    # standard errors 4.7e-4 and 6.3e-4; bounds are > 7 of them
    assert abs(frac_min - 0.1) < 0.005
    assert abs(frac_max - 0.2) < 0.005
    assert np.all((g == c.g_min_s) | (g == c.g_max_s) | (g == c.target_conductance_s(np.array(1))))


def test_all_stuck():
    g = cell(stuck_at_max_frac=1.0).program(np.zeros(1000, dtype=int), np.random.default_rng(0))
    assert np.all(g == 10e-6)


def test_read_noise_sigma():
    assert cell(read_noise_rel=0.01).read_noise_sigma_s == pytest.approx(1e-7, rel=1e-12, abs=0)
    assert cell().read_noise_sigma_s == 0.0


def test_read_energy():
    e = read_energy_j(np.array([0.5, 0.25]), np.array([10e-6, 1e-6]), 100e-9)
    np.testing.assert_allclose(e, [0.25 * 10e-6 * 100e-9, 0.0625 * 1e-6 * 100e-9], rtol=1e-15)
    assert cell().read_energy_j(0.5, 10e-6, 1e-8) == pytest.approx(2.5e-14, rel=1e-12, abs=0)
