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


SCALABLE = [
    Proportional(0.05),
    Additive(2e-7),
    Polynomial((4.78e-6, -0.009107)),
    Polynomial((1e-7, 0.02, -1e3)),
    Table((1e-7, 2e-7, 3e-7, 4e-7)),
]


@pytest.mark.parametrize("model", [NoVariation(), *SCALABLE], ids=lambda m: type(m).__name__)
@pytest.mark.parametrize("factor", [0.0, 0.5, 1.0, 3.0])
def test_scaled_multiplies_sigma_of_every_model(model, factor):
    """sigma'(L, G) = factor·sigma(L, G) for every level and conductance, whatever the model."""
    g = np.array([[50e-6, 108e-6], [167e-6, 225e-6]])
    scaled = model.scaled(factor)
    assert type(scaled) is type(model)
    np.testing.assert_allclose(scaled.sigma_s(LEVELS, g), factor * model.sigma_s(LEVELS, g), rtol=1e-12, atol=0)
    np.testing.assert_allclose(scaled.sigma_s(LEVELS, G), factor * model.sigma_s(LEVELS, G), rtol=1e-12, atol=0)
    assert scaled.is_zero == (factor == 0.0 or model.is_zero)


@pytest.mark.parametrize("model", SCALABLE, ids=lambda m: type(m).__name__)
def test_scale_one_is_the_model_itself(model):
    assert model.scaled(1.0) is model and model.scaled(1) is model


@pytest.mark.parametrize("factor, fragment", [(-0.5, "sigma_scale = -0.5 is out of range; allowed >= 0"),
                                              (float("nan"), "sigma_scale = nan is not finite; allowed >= 0"),
                                              (float("inf"), "sigma_scale = inf is not finite"),
                                              ("2", "sigma_scale = '2' is not a number")])
def test_bad_scale_is_a_one_line_error_naming_sigma_scale(factor, fragment):
    with pytest.raises(ValueError, match="^sigma_scale") as exc:
        Table((1e-7, 2e-7)).scaled(factor)
    assert fragment in str(exc.value) and "\n" not in str(exc.value)
