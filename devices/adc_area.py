"""Area of one ADC as a function of its resolution.

Each model is a frozen dataclass with ``area_at(bits) -> square metres of one ADC``; ``ADC_AREA_MODELS`` maps
the card name (``[adc.area] model = ...``) to the class.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import ClassVar

from .bits_table import check_table, log_linear
from .validate import check_choice, check_int, check_keys, check_nonnegative

_PREFIX = "adc.area"


@dataclass(frozen=True)
class LinearArea:
    """ADC area linear in resolution: ``A(N) = area_fixed_m2 + N·area_per_bit_m2`` for an ``N``-bit ADC.

    Source of the law: NeuroSim V1.4's SAR ADC area model (SarADC.cpp ``CalculateUnitArea``) counts
    ``269 + (N − 1)·109`` minimum NMOS and ``209 + (N − 1)·73`` minimum PMOS transistors per ADC, so its area is
    exactly linear in ``N`` (comparator, SAR logic and a current-mode DAC whose transistors grow one stage per
    bit); at 32 nm it evaluates to 64.50 µm² + 39.66 µm²·N (docs/devices.md §ADC area). Validity: SAR ADCs
    whose area is set by their transistors; a capacitive-DAC SAR whose unit capacitor is sized by matching
    grows closer to ``2**N`` at high resolution, which this law does not follow. ``area_fixed_m2`` and
    ``area_per_bit_m2`` ``>= 0``; the card's ``adc.bits`` 1..16.
    """

    model: ClassVar[str] = "linear"
    area_fixed_m2: float = field(metadata={"unit": "m2"})
    area_per_bit_m2: float = field(metadata={"unit": "m2"})

    def __post_init__(self) -> None:
        for name in ("area_fixed_m2", "area_per_bit_m2"):
            object.__setattr__(self, name, check_nonnegative(f"{_PREFIX}.{name}", getattr(self, name)))

    def area_at(self, bits: int) -> float:
        """Square metres of one ``bits``-bit ADC, ``area_fixed_m2 + bits·area_per_bit_m2``."""
        n = check_int("adc.bits", bits, 1, 16)
        return self.area_fixed_m2 + n * self.area_per_bit_m2


@dataclass(frozen=True)
class TableArea:
    """ADC area looked up by resolution: ``A(bits) = area_m2[table_bits.index(bits)]``, log-linear in between,
    ``ln A = ln A0 + (bits - b0)/(b1 - b0)·(ln A1 - ln A0)`` (area grows geometrically with resolution where a
    capacitive DAC of ``2**N`` unit capacitors dominates it). Source: the card (isaac-2016: ISAAC's 1200 µm² at
    8 bits scaled with resolution after Saberi et al., TCAS-I 2011; docs/devices.md §ADC area). Validity:
    ``table_bits`` strictly increasing, areas ``> 0``; a ``bits`` outside the table raises ``ValueError``.
    """

    model: ClassVar[str] = "table"
    table_bits: tuple[int, ...] = field(metadata={"unit": "bit"})
    area_m2: tuple[float, ...] = field(metadata={"unit": "m2"})

    def __post_init__(self) -> None:
        bits, areas = check_table(_PREFIX, self.table_bits, self.area_m2, "area_m2")
        object.__setattr__(self, "table_bits", bits)
        object.__setattr__(self, "area_m2", areas)

    def area_at(self, bits: int) -> float:
        """Square metres of one ``bits``-bit ADC (table entry or log-linear interpolation, ``bits_table``)."""
        return log_linear(self.table_bits, self.area_m2, bits, "ADC area table")


AdcAreaModel = LinearArea | TableArea

ADC_AREA_MODELS: dict[str, type] = {"linear": LinearArea, "table": TableArea}


NO_AREA = LinearArea(0.0, 0.0)  # a card that gives no ADC area: 0 (area where known)


def adc_area_from_dict(d: dict) -> AdcAreaModel:
    """Build an ADC area model from ``{"model": name, **parameters}`` (SI units); one-line errors for an unknown
    model or unknown or missing parameters."""
    params = dict(d)
    name = check_choice(f"{_PREFIX}.model", params.pop("model", None), ADC_AREA_MODELS)
    cls = ADC_AREA_MODELS[name]
    names = [f.name for f in fields(cls)]
    check_keys(_PREFIX, params, names, names)
    return cls(**params)
