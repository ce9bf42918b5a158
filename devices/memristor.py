"""The memristor cell: levels, target conductances, programming with variation and faults, read energy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from .disturb import DISTURB_MODELS, DisturbModel, NoDisturb
from .drift import DRIFT_MODELS, DriftModel, NoDrift
from .validate import check_choice, check_float, check_int, check_nonnegative
from .variation import SIGMA_MODELS, NoVariation, SigmaModel, Table

DISTRIBUTIONS = ("gaussian", "lognormal")


def read_energy_j(v_v, g_s, t_s) -> np.ndarray:
    """Joule heating of a cell read, elementwise: ``E = V²·G·t`` (Ohm's law, P = V²·G, over the read time).

    Inputs broadcast (volts, siemens, seconds). Validity: linear (ohmic) cells, which the column-read
    model of docs/datapath.md §Column read assumes; wire resistance and driver losses are not included.
    """
    v = np.asarray(v_v, dtype=np.float64)
    return v * v * np.asarray(g_s, dtype=np.float64) * np.asarray(t_s, dtype=np.float64)


# Largest programming-variation sigma, as a multiple of g_max_s, and largest read_noise_rel a cell may have.
SIGMA_MAX_REL = 10.0
READ_NOISE_MAX_REL = 1.0
# Largest conductance and read voltage a card may give (memristors: µS..mS, well below 1 V): absurd values
# overflowed the per-cell read energy v²·G·t.
G_MAX_S = 1.0
V_READ_MAX_V = 100.0


@dataclass(frozen=True)
class MemristorCell:
    """A multi-level memristor cell (docs/devices.md §Cells, §Programming variation, §Read noise, §Stuck-at faults).

    Level ``L in [0, 2**bits_per_cell)`` targets ``G(L) = g_min_s + L·delta_g_s`` with
    ``delta_g_s = (g_max_s - g_min_s)/(n_levels - 1)``. ``program`` adds programming variation
    (``variation`` gives sigma(G); ``distribution`` its shape) and stuck-at faults, once per chip instance.
    ``read_noise_rel`` is the sigma of one read as a fraction of ``g_max_s`` (aihwkit's ReRAM model uses about
    1 %); the datapath samples it per column (docs/devices.md §Read noise). ``drift`` gives the conductance
    at a time after
    programming (``devices.drift``; applied by ``memsim.aging``), ``disturb`` the shift per read pulse
    (``devices.disturb``). Validity: ``bits_per_cell`` 1..8,
    ``0 <= g_min_s < g_max_s <= G_MAX_S``, ``0 < v_read_v <= V_READ_MAX_V``, fault fractions in [0, 1] with
    sum <= 1, a programming sigma of at most ``SIGMA_MAX_REL·g_max_s`` at every level and ``read_noise_rel``
    in [0, ``READ_NOISE_MAX_REL``] (beyond those a conductance is noise, and absurd values overflow the
    datapath's arithmetic).
    """

    prefix: ClassVar[str] = "cell"
    bits_per_cell: int = field(metadata={"unit": "bit"})
    g_min_s: float = field(metadata={"unit": "S"})
    g_max_s: float = field(metadata={"unit": "S"})
    v_read_v: float = field(metadata={"unit": "V"})
    variation: SigmaModel = field(default=NoVariation(), metadata={"section": "model"})
    distribution: str = "gaussian"
    read_noise_rel: float = field(default=0.0, metadata={"unit": "1"})
    stuck_at_min_frac: float = field(default=0.0, metadata={"unit": "1"})
    stuck_at_max_frac: float = field(default=0.0, metadata={"unit": "1"})
    drift: DriftModel = field(default=NoDrift(), metadata={"section": "model"})
    disturb: DisturbModel = field(default=NoDisturb(), metadata={"section": "model"})

    def __post_init__(self) -> None:
        p = self.prefix
        check_int(f"{p}.bits_per_cell", self.bits_per_cell, 1, 8)
        g_min = check_nonnegative(f"{p}.g_min_s", self.g_min_s)
        g_max = check_float(f"{p}.g_max_s", self.g_max_s, 0.0, G_MAX_S, lo_open=True)
        if g_max <= g_min:
            raise ValueError(f"{p}.g_min_s = {self.g_min_s!r} and {p}.g_max_s = {self.g_max_s!r} are out of order; "
                             f"allowed 0 <= {p}.g_min_s < {p}.g_max_s")
        set_ = object.__setattr__
        set_(self, "g_min_s", g_min)
        set_(self, "g_max_s", g_max)
        set_(self, "v_read_v", check_float(f"{p}.v_read_v", self.v_read_v, 0.0, V_READ_MAX_V, lo_open=True))
        if not isinstance(self.variation, tuple(SIGMA_MODELS.values())):
            raise ValueError(
                f"{p}.variation = {self.variation!r} is not a sigma model; allowed: {', '.join(SIGMA_MODELS)}"
            )
        if isinstance(self.variation, Table) and len(self.variation.sigma_s_per_level) != self.n_levels:
            raise ValueError(
                f"{p}.variation.sigma_s_per_level has {len(self.variation.sigma_s_per_level)} entries; "
                f"allowed exactly n_levels = {self.n_levels} (2**{p}.bits_per_cell)"
            )
        levels = np.arange(self.n_levels)
        sigma = np.asarray(self.variation.sigma_s(levels, g_min + levels * (g_max - g_min) / (self.n_levels - 1)),
                           dtype=np.float64)
        worst = int(np.argmax(np.where(np.isfinite(sigma), sigma, np.inf)))
        if not sigma[worst] <= SIGMA_MAX_REL * g_max:
            raise ValueError(f"{p}.variation gives sigma = {sigma[worst]:g} S at level {worst}; allowed at most "
                             f"{SIGMA_MAX_REL:g} × {p}.g_max_s = {SIGMA_MAX_REL * g_max:g} S")
        if not isinstance(self.drift, tuple(DRIFT_MODELS.values())):
            raise ValueError(f"{p}.drift = {self.drift!r} is not a drift model; allowed: {', '.join(DRIFT_MODELS)}")
        if not isinstance(self.disturb, tuple(DISTURB_MODELS.values())):
            raise ValueError(
                f"{p}.disturb = {self.disturb!r} is not a disturb model; allowed: {', '.join(DISTURB_MODELS)}"
            )
        check_choice(f"{p}.distribution", self.distribution, DISTRIBUTIONS)
        set_(self, "read_noise_rel", check_float(f"{p}.read_noise_rel", self.read_noise_rel, 0.0, READ_NOISE_MAX_REL))
        f_min = check_float(f"{p}.stuck_at_min_frac", self.stuck_at_min_frac, 0.0, 1.0)
        f_max = check_float(f"{p}.stuck_at_max_frac", self.stuck_at_max_frac, 0.0, 1.0)
        if f_min + f_max > 1.0:
            raise ValueError(
                f"{p}.stuck_at_min_frac + {p}.stuck_at_max_frac = {f_min + f_max:g} is out of range; "
                "allowed [0, 1]"
            )
        set_(self, "stuck_at_min_frac", f_min)
        set_(self, "stuck_at_max_frac", f_max)

    @property
    def n_levels(self) -> int:
        """Number of programmable levels, ``2**bits_per_cell``."""
        return 1 << self.bits_per_cell

    @property
    def delta_g_s(self) -> float:
        """Conductance step between adjacent levels, ``(g_max_s - g_min_s)/(n_levels - 1)``."""
        return (self.g_max_s - self.g_min_s) / (self.n_levels - 1)

    @property
    def read_noise_sigma_s(self) -> float:
        """Sigma of one cell read in siemens, ``read_noise_rel·g_max_s`` (aihwkit-like; docs/devices.md §Read noise)."""
        return self.read_noise_rel * self.g_max_s

    @property
    def read_noise_levels(self) -> float:
        """Sigma of one read of one cell in level steps, ``read_noise_sigma_s / delta_g_s``: the unit in which the
        datapath and the error model add read noise to a column signal."""
        return self.read_noise_sigma_s / self.delta_g_s

    def _check_levels(self, levels) -> np.ndarray:
        lv = np.asarray(levels)
        if lv.size == 0:
            return lv.astype(np.int64)
        if not np.issubdtype(lv.dtype, np.integer):
            raise ValueError(
                f"{self.prefix} levels have dtype {lv.dtype}; allowed integer levels 0..{self.n_levels - 1}"
            )
        lo, hi = int(lv.min()), int(lv.max())
        if lo < 0 or hi >= self.n_levels:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{self.prefix} level {bad} is out of range; allowed 0..{self.n_levels - 1}")
        return lv

    def target_conductance_s(self, levels) -> np.ndarray:
        """Target conductance ``G(L) = g_min_s + L·delta_g_s`` (docs/datapath.md §Cells), float64, same shape.

        Raises ``ValueError`` for non-integer levels or levels outside ``[0, n_levels)``.
        """
        lv = self._check_levels(levels)
        return self.g_min_s + lv.astype(np.float64) * self.delta_g_s

    def program(self, levels, rng: np.random.Generator) -> np.ndarray:
        """Programmed conductances (siemens, float64, the shape of ``levels``) of one chip instance.

        Equations (docs/devices.md §Programming variation, §Stuck-at faults):
        - gaussian:  ``G = max(0, G(L) + sigma(G(L))·eps)``, ``eps ~ N(0, 1)``;
        - lognormal: ``G = G(L)·exp(mu + s·eps)``, ``s² = ln(1 + (sigma/G(L))²)``, ``mu = -s²/2`` (mean G(L),
          standard deviation sigma; ``G(L) = 0`` stays 0);
        - stuck-at faults, one uniform ``u`` per cell: ``u < stuck_at_min_frac`` -> ``g_min_s``;
          ``u >= 1 - stuck_at_max_frac`` -> ``g_max_s``.
        Draw order (fixed): first all ``eps`` as ``rng.standard_normal(shape)``, only if the variation model
        can give a non-zero sigma (``not variation.is_zero``); then all ``u`` as ``rng.random(shape)``, only
        if a stuck-at fraction is > 0. With neither, the exact targets are returned and ``rng`` is untouched,
        so zero-variation runs are bit-identical whatever the generator.
        """
        lv = self._check_levels(levels)
        g = self.g_min_s + lv.astype(np.float64) * self.delta_g_s
        shape = g.shape
        if not self.variation.is_zero:
            sigma = self.variation.sigma_s(lv, g)
            eps = rng.standard_normal(shape)
            if self.distribution == "gaussian":
                g = np.maximum(g + sigma * eps, 0.0)
            else:
                ratio = np.divide(sigma, g, out=np.zeros(shape), where=g > 0.0)
                s2 = np.log1p(ratio * ratio)
                g = g * np.exp(np.sqrt(s2) * eps - 0.5 * s2)
        if self.stuck_at_min_frac > 0.0 or self.stuck_at_max_frac > 0.0:
            u = rng.random(shape)
            g = np.where(u < self.stuck_at_min_frac, self.g_min_s, g)
            g = np.where(u >= 1.0 - self.stuck_at_max_frac, self.g_max_s, g)
        return g

    read_energy_j = staticmethod(read_energy_j)
