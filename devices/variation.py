"""Programming (device-to-device) variation: models of the conductance spread sigma(G).

A cell programmed to level ``L`` with target ``G(L)`` lands at ``G(L) + sigma(G(L))·eps``
(docs/devices.md §Programming variation); this module only supplies ``sigma``, the cell
(``devices.memristor``) draws ``eps``.
Every model is a frozen dataclass derived from ``SigmaModelBase`` with ``sigma_s(levels, g_target_s) -> sigma``
in siemens per cell, an ``is_zero`` property (true when the model cannot produce a non-zero sigma; the cell
then draws no random numbers) and ``scaled(factor)``, the same model with every sigma multiplied by
``factor`` (the ``sigma_scale`` study parameter); each model supplies only its scaling rule
(``_scaled_fields``). ``SIGMA_MODELS`` maps the card/config name to the class.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import ClassVar

import numpy as np

from .validate import check_choice, check_float_tuple, check_keys, check_nonnegative

_PREFIX = "cell.variation"


@dataclass(frozen=True)
class SigmaModelBase:
    """What every sigma model shares: ``scaled(factor)``, the model of ``sigma'(G) = factor·sigma(G)``.

    Equation: ``sigma'(L, G) = f·sigma(L, G)`` for every level and conductance, ``f >= 0`` (``f = 0`` gives
    no variation, ``f = 1`` the model itself). Source: none; ``f`` is a study parameter (``sigma_scale``,
    ``memsim simulate --sigma-scale``), not a measured figure. Each model supplies its rule as
    ``_scaled_fields(f)``: the fields to replace so that its sigma is multiplied by ``f``.
    """

    def scaled(self, factor: float) -> SigmaModelBase:
        """This model with every sigma multiplied by ``factor`` (finite, ``>= 0``; else ``ValueError`` naming
        ``sigma_scale``). ``factor == 1`` (or a model with nothing to scale) returns the model itself."""
        f = check_nonnegative("sigma_scale", factor)
        changes = {} if f == 1.0 else self._scaled_fields(f)
        return replace(self, **changes) if changes else self

    def _scaled_fields(self, factor: float) -> dict:
        raise NotImplementedError(f"{type(self).__name__} does not say how its sigma scales")


@dataclass(frozen=True)
class NoVariation(SigmaModelBase):
    """No programming variation: ``sigma = 0`` for every cell. Valid for any level and conductance."""

    model: ClassVar[str] = "none"

    @property
    def is_zero(self) -> bool:
        """Always true: the cell draws no random numbers for this model."""
        return True

    def sigma_s(self, levels: np.ndarray, g_target_s: np.ndarray) -> np.ndarray:
        """Zeros of the shape of ``g_target_s``."""
        return np.zeros(np.shape(g_target_s), dtype=np.float64)

    def _scaled_fields(self, factor: float) -> dict:
        """Nothing to scale: ``f·0 = 0``."""
        return {}


@dataclass(frozen=True)
class Proportional(SigmaModelBase):
    """Proportional variation ``sigma = sigma_rel·G``, the common "x % variation" model (docs/devices.md §Proportional).

    Absolute error grows with conductance, as in the RRAM data of Prakash & Hwang (Phys. Sci. Rev. 2016).
    Validity: ``sigma_rel >= 0``; any ``G >= 0``.
    """

    model: ClassVar[str] = "proportional"
    sigma_rel: float = field(metadata={"unit": "1"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigma_rel", check_nonnegative(f"{_PREFIX}.sigma_rel", self.sigma_rel))

    @property
    def is_zero(self) -> bool:
        return self.sigma_rel == 0.0

    def sigma_s(self, levels: np.ndarray, g_target_s: np.ndarray) -> np.ndarray:
        """``sigma_rel·G`` per cell (siemens)."""
        return self.sigma_rel * np.asarray(g_target_s, dtype=np.float64)

    def _scaled_fields(self, factor: float) -> dict:
        """``f·sigma_rel·G``: scale ``sigma_rel``."""
        return {"sigma_rel": factor * self.sigma_rel}


@dataclass(frozen=True)
class Additive(SigmaModelBase):
    """Additive variation: the same ``sigma = sigma_const_s`` (siemens) for every level (docs/devices.md §Additive).

    Validity: ``sigma_const_s >= 0``. (The field is not called ``sigma_s``: that is the method's name.)
    """

    model: ClassVar[str] = "additive"
    sigma_const_s: float = field(metadata={"unit": "S"})

    def __post_init__(self) -> None:
        sigma = check_nonnegative(f"{_PREFIX}.sigma_const_s", self.sigma_const_s)
        object.__setattr__(self, "sigma_const_s", sigma)

    @property
    def is_zero(self) -> bool:
        return self.sigma_const_s == 0.0

    def sigma_s(self, levels: np.ndarray, g_target_s: np.ndarray) -> np.ndarray:
        """``sigma_const_s`` for every cell (siemens)."""
        return np.full(np.shape(g_target_s), self.sigma_const_s, dtype=np.float64)

    def _scaled_fields(self, factor: float) -> dict:
        """``f·sigma_const_s``."""
        return {"sigma_const_s": factor * self.sigma_const_s}


@dataclass(frozen=True)
class Polynomial(SigmaModelBase):
    """Polynomial variation ``sigma = max(0, sum_k coeffs[k]·G**k)``, G in siemens, ``coeffs[k]`` in S^(1-k).

    Sources (docs/devices.md §Polynomial):
    - Milo et al., IRPS 2021, linear fit ``sigma = -0.009107·G + 4.78 µS`` valid over G = 50..225 µS:
      ``coeffs = (4.78e-6, -0.009107)``.
    - NeuRRAM (Wan et al., Nature 608, 2022) reports sigma rising from about 1.1 µS to 2.4 µS across
      0..40 µS; fit ``coeffs`` to the published curve (memsim ships no coefficients; a straight line
      through the two end points, ``(1.1e-6, 0.0325)``, is only an approximation of it).
    Validity: the fit's own conductance range; sigma is clipped at 0 outside it.
    """

    model: ClassVar[str] = "polynomial"
    coeffs: tuple[float, ...] = field(metadata={"unit": "S^(1-k)"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "coeffs", check_float_tuple(f"{_PREFIX}.coeffs", self.coeffs))

    @property
    def is_zero(self) -> bool:
        return all(c == 0.0 for c in self.coeffs)

    def sigma_s(self, levels: np.ndarray, g_target_s: np.ndarray) -> np.ndarray:
        """``max(0, sum_k coeffs[k]·G**k)`` per cell (siemens)."""
        g = np.asarray(g_target_s, dtype=np.float64)
        return np.maximum(np.polynomial.polynomial.polyval(g, self.coeffs), 0.0)

    def _scaled_fields(self, factor: float) -> dict:
        """Every coefficient times ``f``: ``max(0, sum_k f·c_k·G**k) = f·max(0, sum_k c_k·G**k)`` as ``f >= 0``."""
        return {"coeffs": tuple(factor * c for c in self.coeffs)}


@dataclass(frozen=True)
class Table(SigmaModelBase):
    """Per-level variation: ``sigma = sigma_s_per_level[L]`` (docs/devices.md §Per-level table).

    Measured data per programmed level. Validity: every entry ``>= 0``; the length must equal the cell's
    number of levels (checked by ``MemristorCell``).
    """

    model: ClassVar[str] = "table"
    sigma_s_per_level: tuple[float, ...] = field(metadata={"unit": "S"})

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "sigma_s_per_level",
            check_float_tuple(f"{_PREFIX}.sigma_s_per_level", self.sigma_s_per_level, 0.0),
        )

    @property
    def is_zero(self) -> bool:
        return all(s == 0.0 for s in self.sigma_s_per_level)

    def sigma_s(self, levels: np.ndarray, g_target_s: np.ndarray) -> np.ndarray:
        """``sigma_s_per_level[L]`` per cell (siemens); ``levels`` must be valid indices."""
        return np.asarray(self.sigma_s_per_level, dtype=np.float64)[np.asarray(levels)]

    def _scaled_fields(self, factor: float) -> dict:
        """Every entry times ``f``."""
        return {"sigma_s_per_level": tuple(factor * s for s in self.sigma_s_per_level)}


SigmaModel = NoVariation | Proportional | Additive | Polynomial | Table

SIGMA_MODELS: dict[str, type] = {
    "none": NoVariation,
    "proportional": Proportional,
    "additive": Additive,
    "polynomial": Polynomial,
    "table": Table,
}


def sigma_model_from_dict(d: dict) -> SigmaModel:
    """Build a sigma model from ``{"model": name, **parameters}`` (parameters in SI units).

    Example: ``{"model": "proportional", "sigma_rel": 0.05}``. An unknown model name raises ``ValueError``
    listing the valid names; unknown or missing parameters raise ``ValueError`` naming them.
    """
    params = dict(d)
    name = check_choice(f"{_PREFIX}.model", params.pop("model", None), SIGMA_MODELS)
    cls = SIGMA_MODELS[name]
    names = [f.name for f in fields(cls)]
    check_keys(_PREFIX, params, names, names)
    return cls(**params)
