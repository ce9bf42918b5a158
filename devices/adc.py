"""The column ADC: quantization of a column signal to a code, and the cost of one conversion."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import ClassVar

import numpy as np

from .adc_area import ADC_AREA_MODELS, NO_AREA, AdcAreaModel, adc_area_from_dict
from .adc_energy import ADC_ENERGY_MODELS, AdcEnergyModel, adc_energy_from_dict
from .component import Component, action
from .cost import Cost
from .validate import check_choice, check_int, check_keys, check_nonnegative, check_positive

__all__ = ["ADC_AREA_MODELS", "ADC_ENERGY_MODELS", "ADC_MODELS", "AdcBase", "FlashAdc", "SarAdc", "adc_from_dict"]


class AdcBase(Component):
    """Quantization and cost shared by every ADC kind (docs/datapath.md §ADC); subclasses give ``latency_s``.

    ``code = clamp(floor(x/lsb_levels + 0.5), 0, 2**bits - 1)`` where ``x = (I - I_ref)/I_lsb`` is the column
    signal in units of one level step at one unit of drive, ``I_lsb = v_unit·delta_g``. Rounding is half-up
    (``floor(x + 0.5)``), so an exact integer signal maps to itself. ``lsb_levels`` is the range/gain knob:
    the ADC step in level steps (1.0: one code per level step; 2.0: half the resolution, twice the range).
    A conversion is *clipped* when its unclipped code is below 0 or above ``max_code``. ``p_static_w`` is the
    static (leakage) power of one ADC, drawn whether it converts or not. ``area`` (``ADC_AREA_MODELS``) gives
    the area of one ADC at its resolution (``area_parts``); a card without ``[adc.area]`` has none (0).
    """

    prefix: ClassVar[str] = "adc"

    def _check_common(self) -> None:
        check_int("adc.bits", self.bits, 1, 16)
        object.__setattr__(self, "lsb_levels", check_positive("adc.lsb_levels", self.lsb_levels))
        object.__setattr__(self, "p_static_w", check_nonnegative("adc.p_static_w", self.p_static_w))
        if not isinstance(self.energy, tuple(ADC_ENERGY_MODELS.values())):
            raise ValueError(
                f"adc.energy = {self.energy!r} is not an ADC energy model; allowed: {', '.join(ADC_ENERGY_MODELS)}"
            )
        self.energy.energy_j(self.bits, self.latency_s)
        if not isinstance(self.area, tuple(ADC_AREA_MODELS.values())):
            raise ValueError(
                f"adc.area = {self.area!r} is not an ADC area model; allowed: {', '.join(ADC_AREA_MODELS)}"
            )
        self.area.area_at(self.bits)

    def area_parts(self) -> dict[str, float]:
        """Square metres of one ADC at its resolution, ``area.area_at(bits)``."""
        return {"unit": self.area.area_at(self.bits)}

    @property
    def max_code(self) -> int:
        """Largest output code, ``2**bits - 1``."""
        return (1 << self.bits) - 1

    def quantize(self, x_lsb) -> tuple[np.ndarray, int]:
        """Codes (int64, the shape of ``x_lsb``) and the number of clipped conversions.

        ``x_lsb``: finite column signals in units of one level step (``I/I_unit``). One vectorised pass.
        """
        x = np.asarray(x_lsb, dtype=np.float64)
        r = x / self.lsb_levels if self.lsb_levels != 1.0 else x + 0.0
        r += 0.5
        np.floor(r, out=r)
        top = float(self.max_code)
        n_clipped = int(np.count_nonzero(r < 0.0)) + int(np.count_nonzero(r > top))
        np.clip(r, 0.0, top, out=r)
        return r.astype(np.int64), n_clipped

    def convert(self, current_a, lsb_a, ref_a=0.0) -> tuple[np.ndarray, int]:
        """Physical entry point: ``quantize((current_a - ref_a)/lsb_a)``; amperes in, codes out.

        ``lsb_a`` is ``I_lsb = v_unit·delta_g`` (scalar or broadcastable array, every entry ``> 0``);
        ``ref_a`` the reference-column current that removes the ``g_min`` floor.
        """
        lsb = np.asarray(lsb_a, dtype=np.float64)
        if not np.all(lsb > 0.0):
            raise ValueError(f"adc.lsb_a = {lsb_a!r} is out of range; allowed > 0")
        return self.quantize((np.asarray(current_a, dtype=np.float64) - ref_a) / lsb)

    @action("column conversion")
    def convert_cost(self) -> Cost:
        """Cost of ONE conversion: ``Cost(energy.energy_j(bits, latency_s), latency_s)``."""
        latency = self.latency_s
        return Cost(self.energy.energy_j(self.bits, latency), latency)

    @action("conversion that saturated (a counter: the conversion itself is priced by convert)")
    def clip_cost(self) -> Cost:
        """A clipped conversion costs nothing beyond the conversion itself: ``Cost(0, 0)``."""
        return Cost(0.0, 0.0)


@dataclass(frozen=True)
class SarAdc(AdcBase):
    """Successive-approximation ADC: one comparison per bit plus ``overhead_cycles`` (sampling/reset).

    Latency per conversion ``(bits + overhead_cycles)·t_cycle_s`` (NeuroSim: ``(N + 1)`` cycles of 1 ns,
    docs/devices.md §SAR latency). Energy from ``energy`` (``ADC_ENERGY_MODELS``). Quantization: see
    ``AdcBase``. Validity:
    ``bits`` 1..16, ``t_cycle_s > 0``, ``overhead_cycles >= 0``, ``lsb_levels > 0``, and ``bits`` within the
    energy model's range.
    """

    kind: ClassVar[str] = "sar"
    bits: int = field(metadata={"unit": "bit"})
    energy: AdcEnergyModel = field(metadata={"section": "model"})
    t_cycle_s: float = field(metadata={"unit": "s"})
    overhead_cycles: int = field(default=1, metadata={"unit": "count"})
    lsb_levels: float = field(default=1.0, metadata={"unit": "1"})
    p_static_w: float = field(default=0.0, metadata={"unit": "W"})
    area: AdcAreaModel = field(default=NO_AREA, metadata={"section": "model"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "t_cycle_s", check_positive("adc.t_cycle_s", self.t_cycle_s))
        check_int("adc.overhead_cycles", self.overhead_cycles, 0)
        self._check_common()

    @property
    def latency_s(self) -> float:
        """Latency of one conversion, ``(bits + overhead_cycles)·t_cycle_s``."""
        return (self.bits + self.overhead_cycles) * self.t_cycle_s


@dataclass(frozen=True)
class FlashAdc(AdcBase):
    """Flash ADC: ``2**bits - 1`` comparators resolve a conversion in one cycle, latency ``t_conv_s``.

    Energy from ``energy`` (typically ``flash_comparators``). Quantization: see ``AdcBase``. Validity:
    ``bits`` 1..16, ``t_conv_s > 0``, ``lsb_levels > 0``.
    """

    kind: ClassVar[str] = "flash"
    bits: int = field(metadata={"unit": "bit"})
    energy: AdcEnergyModel = field(metadata={"section": "model"})
    t_conv_s: float = field(metadata={"unit": "s"})
    lsb_levels: float = field(default=1.0, metadata={"unit": "1"})
    p_static_w: float = field(default=0.0, metadata={"unit": "W"})
    area: AdcAreaModel = field(default=NO_AREA, metadata={"section": "model"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "t_conv_s", check_positive("adc.t_conv_s", self.t_conv_s))
        self._check_common()

    @property
    def latency_s(self) -> float:
        """Latency of one conversion, ``t_conv_s``."""
        return self.t_conv_s


Adc = SarAdc | FlashAdc

ADC_MODELS: dict[str, type] = {"sar": SarAdc, "flash": FlashAdc}


def adc_from_dict(d: dict) -> Adc:
    """Build an ADC from ``{"kind": "sar" | "flash", **parameters, "energy": {"model": ..., ...}}`` (SI units),
    optionally with ``"area": {"model": ..., ...}``.

    ``energy`` and ``area`` may also be model objects. Unknown kinds raise ``ValueError`` listing the valid ones.
    """
    params = dict(d)
    kind = check_choice("adc.kind", params.pop("kind", None), ADC_MODELS)
    cls = ADC_MODELS[kind]
    flds = fields(cls)
    check_keys("adc", params, [f.name for f in flds], [f.name for f in flds if f.default is MISSING])
    if isinstance(params.get("energy"), Mapping):
        params["energy"] = adc_energy_from_dict(params["energy"])
    if isinstance(params.get("area"), Mapping):
        params["area"] = adc_area_from_dict(params["area"])
    return cls(**params)
