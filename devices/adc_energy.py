"""Energy per conversion of an ADC as a function of its resolution (and, for some models, its latency).

Each model is a frozen dataclass with ``energy_j(bits, latency_s) -> joules per conversion``;
``ADC_ENERGY_MODELS`` maps the card/config name to the class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import ClassVar

from .bits_table import check_table, log_linear
from .validate import (
    check_choice,
    check_keys,
    check_nonnegative,
    check_positive,
)

_PREFIX = "adc.energy"

# NeuroSim V1.4 SarADC.cpp, GetColumnPower(), low-power (LSTP) roadmap, 32 nm
# (docs/devices.md §NeuroSim SAR energy).
_NEUROSIM_SAR_32NM_W_PER_BIT = 1.1294e-6
_NEUROSIM_SAR_32NM_W_FIXED = 8.8998e-6
_NEUROSIM_SAR_32NM_COL_W = 0.079449
_NEUROSIM_SAR_32NM_COL_EXP = 2.297


@dataclass(frozen=True)
class TableEnergy:
    """Energy per conversion looked up by resolution: ``E(bits) = e_conv_j[table_bits.index(bits)]``.

    Between two table entries ``b0 < bits < b1`` it interpolates log-linearly,
    ``ln E = ln E0 + (bits - b0)/(b1 - b0)·(ln E1 - ln E0)`` (energy grows geometrically with resolution, as
    in capacitive-DAC SAR scaling; docs/devices.md §ADC energy models). Validity: ``table_bits`` strictly
    increasing, all
    energies ``> 0``; a ``bits`` outside ``[table_bits[0], table_bits[-1]]`` raises ``ValueError``.
    Source: the card (isaac-2016: 4 b 0.79 ... 10 b 2.38 pJ at ISAAC's node, whose publication is not recorded;
    docs/devices.md §Numbers whose origin is incomplete). ``latency_s`` is not used.
    """

    model: ClassVar[str] = "table"
    table_bits: tuple[int, ...] = field(metadata={"unit": "bit"})
    e_conv_j: tuple[float, ...] = field(metadata={"unit": "J"})

    def __post_init__(self) -> None:
        bits, energies = check_table(_PREFIX, self.table_bits, self.e_conv_j, "e_conv_j")
        object.__setattr__(self, "table_bits", bits)
        object.__setattr__(self, "e_conv_j", energies)

    def energy_j(self, bits: int, latency_s: float) -> float:
        """Joules per conversion at ``bits`` (table entry or log-linear interpolation, ``bits_table``)."""
        return log_linear(self.table_bits, self.e_conv_j, bits, "energy table")


@dataclass(frozen=True)
class NeuroSimSarEnergy:
    """NeuroSim V1.4 SAR ADC at 32 nm (low-power roadmap), energy ``E = P·latency_s`` with

    ``P = (1.1294·N + 8.8998) µW + 0.079449·exp(-2.297·log10(r_col_ohm)) W``, ``N = bits``
    (NeuroSim V1.4 SarADC.cpp GetColumnPower; docs/devices.md §NeuroSim SAR energy). NeuroSim
    takes ``latency = (N + 1)·1 ns`` and ``r_col_ohm`` as the parallel resistance of the column's activated
    cells (data-dependent there; a fixed effective value here). With ``r_col_ohm = 10 kΩ`` (ten 100 kΩ
    R_on cells in parallel) and ``latency = (N + 1) ns`` it gives 136.0 fJ at 5 b and 234.5 fJ at 8 b,
    as ``tests/devices/test_dev_adc.py`` checks. Validity: 32 nm LP, read voltage 0.5 V and 300 K (NeuroSim
    rescales ``r_col_ohm`` by 0.5 V/V_read and P by ``1 + 1.3e-3·(T - 300 K)``; memsim does not); NeuroSim
    states no resolution range for the fit.
    """

    model: ClassVar[str] = "neurosim_sar"
    r_col_ohm: float = field(metadata={"unit": "Ohm"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "r_col_ohm", check_positive(f"{_PREFIX}.r_col_ohm", self.r_col_ohm))

    def power_w(self, bits: int) -> float:
        """The SAR's power ``P`` in watts (equation above)."""
        p_bits = _NEUROSIM_SAR_32NM_W_PER_BIT * bits + _NEUROSIM_SAR_32NM_W_FIXED
        return p_bits + _NEUROSIM_SAR_32NM_COL_W * math.exp(-_NEUROSIM_SAR_32NM_COL_EXP * math.log10(self.r_col_ohm))

    def energy_j(self, bits: int, latency_s: float) -> float:
        """Joules per conversion, ``power_w(bits)·latency_s``."""
        return self.power_w(bits) * latency_s


@dataclass(frozen=True)
class FlashComparatorsEnergy:
    """Flash ADC energy ``E = (2**bits - 1)·e_comparator_j + e_encoder_j`` per conversion.

    One comparator per threshold fires each conversion, plus the thermometer-to-binary encoder (the standard
    flash architecture). Validity: both energies ``>= 0``; exponential in ``bits``, so meaningful for low
    resolutions (flash ADCs are rarely built above 6-8 b). ``latency_s`` is not used.
    """

    model: ClassVar[str] = "flash_comparators"
    e_comparator_j: float = field(metadata={"unit": "J"})
    e_encoder_j: float = field(metadata={"unit": "J"})

    def __post_init__(self) -> None:
        for name in ("e_comparator_j", "e_encoder_j"):
            object.__setattr__(self, name, check_nonnegative(f"{_PREFIX}.{name}", getattr(self, name)))

    def energy_j(self, bits: int, latency_s: float) -> float:
        """Joules per conversion, ``(2**bits - 1)·e_comparator_j + e_encoder_j``."""
        return ((1 << bits) - 1) * self.e_comparator_j + self.e_encoder_j


AdcEnergyModel = TableEnergy | NeuroSimSarEnergy | FlashComparatorsEnergy

ADC_ENERGY_MODELS: dict[str, type] = {
    "table": TableEnergy,
    "neurosim_sar": NeuroSimSarEnergy,
    "flash_comparators": FlashComparatorsEnergy,
}


def adc_energy_from_dict(d: dict) -> AdcEnergyModel:
    """Build an ADC energy model from ``{"model": name, **parameters}`` (SI units).

    Unknown model names raise ``ValueError`` listing the valid ones; unknown or missing parameters too.
    """
    params = dict(d)
    name = check_choice(f"{_PREFIX}.model", params.pop("model", None), ADC_ENERGY_MODELS)
    cls = ADC_ENERGY_MODELS[name]
    names = [f.name for f in fields(cls)]
    check_keys(_PREFIX, params, names, names)
    return cls(**params)
