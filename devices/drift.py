"""Conductance drift and relaxation after programming: the conductance of a programmed cell at a later time.

A cell programmed to ``G_prog`` (``devices.memristor.MemristorCell.program``) is read at a time ``t`` after
programming (memsim's ``age_s``, the time between programming the chip and running the inference). Every
model is a frozen dataclass with ``is_zero`` (true when it cannot change a conductance; no random numbers are
drawn then) and ``apply(g_s, age_s, rng, g_min_s, g_max_s) -> g_s``, a pure function of the programmed
conductances; randomness comes only from the ``rng`` passed in. ``DRIFT_MODELS`` maps the card name to the
class.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import ClassVar

import numpy as np

from .validate import check_choice, check_float, check_keys, check_nonnegative, check_positive

_PREFIX = "cell.drift"


def _check_age(age_s: float) -> float:
    return check_nonnegative("age_s", age_s)


@dataclass(frozen=True)
class NoDrift:
    """No drift: the conductance read at any time is the programmed one. Valid for any age."""

    model: ClassVar[str] = "none"

    @property
    def is_zero(self) -> bool:
        return True

    def apply(self, g_s, age_s: float, rng: np.random.Generator, g_min_s: float, g_max_s: float) -> np.ndarray:
        """``g_s`` unchanged (float64 copy); draws nothing."""
        _check_age(age_s)
        return np.array(g_s, dtype=np.float64)


@dataclass(frozen=True)
class PowerLaw:
    """Power-law drift ``G(t) = G_prog·((t + t0_s)/t0_s)**(-ν)``, ``ν = max(0, nu + nu_sigma·ε)`` per cell.

    The form used for phase-change memory by IBM's aihwkit (``PCMLikeNoiseModel``, after Nandakumar et al.,
    ICECS 2019: ``t0`` is the first read after programming, 20 s there, and ν lies between about 0.05 and
    0.1); NeuroSim's inference wrapper applies the same power law with a drift coefficient ``v`` to RRAM
    (``Retention`` in DNN_NeuroSim's ``wage_quantizer.py``, ``v = 0`` by default). ``ε ~ N(0, 1)`` is drawn
    per cell only when ``nu_sigma > 0`` and ``age_s > 0``. Validity: ``t >= 0`` (``t = 0`` leaves ``G``
    unchanged); ``nu``, ``nu_sigma >= 0``; ``t0_s > 0``.
    """

    model: ClassVar[str] = "power_law"
    nu: float = field(metadata={"unit": "1"})
    t0_s: float = field(metadata={"unit": "s"})
    nu_sigma: float = field(default=0.0, metadata={"unit": "1"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "nu", check_nonnegative(f"{_PREFIX}.nu", self.nu))
        object.__setattr__(self, "t0_s", check_positive(f"{_PREFIX}.t0_s", self.t0_s))
        object.__setattr__(self, "nu_sigma", check_nonnegative(f"{_PREFIX}.nu_sigma", self.nu_sigma))

    @property
    def is_zero(self) -> bool:
        return self.nu == 0.0 and self.nu_sigma == 0.0

    def apply(self, g_s, age_s: float, rng: np.random.Generator, g_min_s: float, g_max_s: float) -> np.ndarray:
        """``G_prog·((t + t0)/t0)**(-ν)`` elementwise (float64, the shape of ``g_s``)."""
        g = np.array(g_s, dtype=np.float64)
        if _check_age(age_s) == 0.0 or self.is_zero:
            return g
        nu = self.nu
        if self.nu_sigma > 0.0:
            nu = np.maximum(self.nu + self.nu_sigma * rng.standard_normal(g.shape), 0.0)
        return g * ((age_s + self.t0_s) / self.t0_s) ** (-nu)


@dataclass(frozen=True)
class LogRelaxation:
    """Relaxation linear in log-time, the same for every level, with a spread that grows with log-time.

    For ``t >= t0_s``: ``G(t) = clip(G_prog + shift_s·ln(t/t0_s) + (sigma_slope_s·ln(t/t0_s) + sigma_s)·ε,
    g_min, g_max)``, ``ε ~ N(0, 1)`` per cell; for ``t < t0_s`` the programmed conductance. This is IBM's
    aihwkit ``ReRamCMONoiseModel`` (conductive-metal-oxide/HfOx ReRAM; mean ``-0.089 µS·ln(t/1 s)``, spread
    ``(0.042·ln(t/1 s) + 0.41) µS``, measured on devices programmed between about 10 and 90 µS). Validity:
    ``t >= t0_s`` (the fit starts at its first read, 1 s there), conductances in the fitted range; the
    spread is drawn only when it is non-zero.
    """

    model: ClassVar[str] = "log_relaxation"
    t0_s: float = field(metadata={"unit": "s"})
    shift_s: float = field(metadata={"unit": "S"})
    sigma_slope_s: float = field(metadata={"unit": "S"})
    sigma_s: float = field(metadata={"unit": "S"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "t0_s", check_positive(f"{_PREFIX}.t0_s", self.t0_s))
        object.__setattr__(self, "shift_s", check_float(f"{_PREFIX}.shift_s", self.shift_s))
        object.__setattr__(self, "sigma_slope_s", check_nonnegative(f"{_PREFIX}.sigma_slope_s", self.sigma_slope_s))
        object.__setattr__(self, "sigma_s", check_nonnegative(f"{_PREFIX}.sigma_s", self.sigma_s))

    @property
    def is_zero(self) -> bool:
        return self.shift_s == 0.0 and self.sigma_slope_s == 0.0 and self.sigma_s == 0.0

    def apply(self, g_s, age_s: float, rng: np.random.Generator, g_min_s: float, g_max_s: float) -> np.ndarray:
        """The relaxed conductances (float64, the shape of ``g_s``), clipped to ``[g_min_s, g_max_s]``."""
        g = np.array(g_s, dtype=np.float64)
        if _check_age(age_s) < self.t0_s or self.is_zero:
            return g
        log_t = float(np.log(age_s / self.t0_s))
        g = g + self.shift_s * log_t
        spread = self.sigma_slope_s * log_t + self.sigma_s
        if spread > 0.0:
            g = g + spread * rng.standard_normal(g.shape)
        return np.clip(g, g_min_s, g_max_s)


DriftModel = NoDrift | PowerLaw | LogRelaxation

DRIFT_MODELS: dict[str, type] = {"none": NoDrift, "power_law": PowerLaw, "log_relaxation": LogRelaxation}


def drift_model_from_dict(d: dict) -> DriftModel:
    """Build a drift model from ``{"model": name, **parameters}`` (SI units); unknown names list the valid ones."""
    params = dict(d)
    name = check_choice(f"{_PREFIX}.model", params.pop("model", None), DRIFT_MODELS)
    cls = DRIFT_MODELS[name]
    flds = fields(cls)
    check_keys(_PREFIX, params, [f.name for f in flds], [f.name for f in flds if f.default is MISSING])
    return cls(**params)
