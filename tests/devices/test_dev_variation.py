"""Programming-variation sigma(G) models."""

import numpy as np
import pytest

from memsim.devices.variation import (
    SIGMA_MODELS,
    Additive,
    NoVariation,
    Polynomial,
    Proportional,
    Table,
    sigma_model_from_dict,
)

LEVELS = np.array([[0, 1], [2, 3]])
G = np.array([[1e-6, 4e-6], [7e-6, 10e-6]])


def test_registry_names():
    assert set(SIGMA_MODELS) == {"none", "proportional", "additive", "polynomial", "table"}


def test_none_is_zero():
    s = NoVariation().sigma_s(LEVELS, G)
    assert s.shape == G.shape and not s.any()
    assert NoVariation().is_zero


def test_proportional():
    np.testing.assert_allclose(Proportional(0.1).sigma_s(LEVELS, G), 0.1 * G, rtol=0, atol=0)
    assert Proportional(0.0).is_zero and not Proportional(0.1).is_zero
    with pytest.raises(ValueError, match=r"cell\.variation\.sigma_rel = -0\.1 is out of range; allowed >= 0"):
        Proportional(-0.1)


def test_additive():
    s = Additive(2e-7).sigma_s(LEVELS, G)
    assert s.shape == G.shape and np.all(s == 2e-7)
    with pytest.raises(ValueError, match=r"cell\.variation\.sigma_const_s"):
        Additive(-1e-7)


def test_polynomial_milo_linear_fit_and_clip():
    milo = Polynomial((4.78e-6, -0.009107))
    g = np.array([50e-6, 100e-6, 225e-6, 1e-3])
    s = milo.sigma_s(np.zeros(4, dtype=int), g)
    np.testing.assert_allclose(s[:3], 4.78e-6 - 0.009107 * g[:3], rtol=1e-12)
    assert s[3] == 0.0  # 4.78 µS - 9.107 µS < 0 is clipped
    assert Polynomial((0.0, 0.0)).is_zero and not milo.is_zero
    assert Polynomial([1e-7, 0.01]).coeffs == (1e-7, 0.01)
    with pytest.raises(ValueError, match=r"cell\.variation\.coeffs"):
        Polynomial(())


def test_table_lookup_by_level():
    t = Table((1e-7, 2e-7, 3e-7, 4e-7))
    np.testing.assert_array_equal(t.sigma_s(LEVELS, G), [[1e-7, 2e-7], [3e-7, 4e-7]])
    with pytest.raises(ValueError, match=r"cell\.variation\.sigma_s_per_level\[1\] = -1e-07"):
        Table((1e-7, -1e-7))


def test_from_dict():
    assert sigma_model_from_dict({"model": "proportional", "sigma_rel": 0.05}) == Proportional(0.05)
    assert sigma_model_from_dict({"model": "none"}) == NoVariation()
    assert sigma_model_from_dict({"model": "table", "sigma_s_per_level": [1e-7, 2e-7]}) == Table((1e-7, 2e-7))
    with pytest.raises(ValueError, match=r"allowed: additive, none, polynomial, proportional, table"):
        sigma_model_from_dict({"model": "gamma"})
    with pytest.raises(ValueError, match=r"unknown key 'sigma'"):
        sigma_model_from_dict({"model": "proportional", "sigma": 0.1})
    with pytest.raises(ValueError, match=r"missing cell\.variation\.sigma_rel"):
        sigma_model_from_dict({"model": "proportional"})
