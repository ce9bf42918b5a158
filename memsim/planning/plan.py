"""Quantization plans: per layer, the weight bits, where they sit among the slices, and the discarded sums.

A plan (docs/planning.md §Plans) gives, for every layer:

- ``weight_bits`` ``Bw`` and ``weight_shift`` ``h``: where the bits sit relative to the slices and the
  truncation point. The weight format has ``fw = f_range + h`` fractional bits, ``f_range`` being the scale at
  which the layer's largest weight just fits ``Bw`` bits. ``h = 0`` keeps the range and coarsens the
  resolution; each step of ``h`` keeps one more bit of resolution and saturates the largest weights instead.
  A plan maps each layer on the ``ceil(Bw/c)`` slices its weights need (at most the hardware's ``S``): the
  slices a conventional ``S·c``-bit weight would spend on its upper bits are not used at all — their cells
  would sit at level 0, carry nothing and add only noise at the highest significance. When ``h`` restores
  the conventional plan's fractional bits, the weight keeps its resolution and the truncation point stays
  where it was, so the remaining variation errors sit as many bits lower relative to the output as the
  weight lost at its top: in the bits that truncation discards;
- ``discard``: partial sums ``(s, t)`` — weight slice ``s``, input cycle ``t`` — that are not converted;
- ``compensation``: what replaces them: ``"zero"`` or ``"calibrated"`` (the mean of their exact contribution
  over the calibration inputs, an integer added to the accumulator);
- ``adc_bits`` (schema 2): the resolution the layer's tile ADCs convert at, at most the card's ``adc.bits``
  (absent: the card's). The layer's ADC range is then calibrated for that many codes (``--adc-range``), and a
  SAR conversion with fewer bits takes fewer comparison cycles and the card's energy at that resolution
  (``DeviceCard.with_adc_bits``);
- ``adc_bits_by_sum`` (schema 2): partial sums converted with fewer bits than the layer's, over the same
  range: a SAR ADC that stops ``e`` comparisons early gives the code of a step ``2**e`` times coarser, which
  shift-and-add weighs by ``2**e`` (exact), at the card's energy and latency for that resolution. Worth it
  where a sum's significance lies far below the truncation point.

Plans are TOML::

    schema_version = 2
    description = "..."
    [[layers]]
    layer = 0
    weight_bits = 6
    weight_shift = 2
    adc_bits = 6
    compensation = "calibrated"
    discard = ["s0t0", "s0t1"]      # "s<slice>t<cycle>"
    adc_bits_by_sum = { s0t2 = 4, s1t0 = 5 }

Schema 1 plans (no ``adc_bits``) still load: every layer converts at the card's resolution.

The conventional plan (every layer at the configured weight bits, offset 0, nothing discarded) is the
baseline the planner is compared with.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tomli_w

from memsim.devices.validate import check_choice, check_int
from memsim.encoding import slices_needed
from memsim.files import atomic_write, check_writable, read_toml

SCHEMA_VERSION = 2
SCHEMA_VERSIONS = (1, 2)  # what ``Plan.from_dict`` reads; schema 1 has no ``adc_bits``
COMPENSATIONS = ("zero", "calibrated")
WEIGHT_BITS = (2, 16)  # a layer's weight bits, lo..hi: signed weights need a sign bit and at least one more
_SUM = re.compile(r"s(\d+)t(\d+)")


@dataclass(frozen=True)
class LayerPlan:
    """One layer's plan (see the module docstring). ``discard`` holds ``(s, t)`` pairs, sorted, unique."""

    weight_bits: int
    weight_shift: int = 0
    discard: tuple[tuple[int, int], ...] = ()
    compensation: str = "calibrated"
    adc_bits: int | None = None  # None: the card's adc.bits
    adc_bits_by_sum: tuple[tuple[tuple[int, int], int], ...] = ()  # ((s, t), bits), sorted, unique sums

    def __post_init__(self) -> None:
        check_int("plan.weight_bits", self.weight_bits, *WEIGHT_BITS)
        check_int("plan.weight_shift", self.weight_shift, 0, 16)
        if self.adc_bits is not None:
            check_int("plan.adc_bits", self.adc_bits, 1, 16)
        by_sum = {}
        for item in self.adc_bits_by_sum:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], tuple) and len(item[0]) == 2):
                raise ValueError(f"plan.adc_bits_by_sum entry {item!r} is not an ((s, t), bits) pair")
            (s, t), bits = item
            key = (check_int("plan.adc_bits_by_sum slice", s, 0), check_int("plan.adc_bits_by_sum cycle", t, 0))
            by_sum[key] = check_int(f"plan.adc_bits_by_sum s{s}t{t}", bits, 1, 16)
        object.__setattr__(self, "adc_bits_by_sum", tuple(sorted(by_sum.items())))
        check_choice("plan.compensation", self.compensation, COMPENSATIONS)
        pairs = []
        for item in self.discard:
            if not (isinstance(item, tuple) and len(item) == 2):
                raise ValueError(f"plan.discard entry {item!r} is not an (s, t) pair")
            s, t = item
            pairs.append((check_int("plan.discard slice", s, 0), check_int("plan.discard cycle", t, 0)))
        object.__setattr__(self, "discard", tuple(sorted(set(pairs))))


@dataclass(frozen=True)
class Plan:
    layers: tuple[LayerPlan, ...]
    description: str = ""

    @classmethod
    def conventional(cls, n_layers: int, weight_bits: int) -> Plan:
        """The baseline: every layer at ``weight_bits`` with its range-fitting scale, every sum converted."""
        return cls(tuple(LayerPlan(weight_bits, 0, (), "zero") for _ in range(n_layers)),
                   f"conventional: {weight_bits}-bit weights, every slice and input bit converted")

    @property
    def weight_bits(self) -> tuple[int, ...]:
        return tuple(layer.weight_bits for layer in self.layers)

    def adc_coarse(self, i: int, adc_bits: int, cycles: int, slices: int) -> np.ndarray | None:
        """Layer ``i``'s ``adc_bits_by_sum`` as bits fewer than its resolution, int (cycles, slices), or None:
        ``e[t, s] = B − bits(s, t)`` with ``B`` the layer's ``adc_bits`` (``adc_bits``: the card's when the
        layer sets none)."""
        lp = self.layers[i]
        if not lp.adc_bits_by_sum:
            return None
        layer_bits = adc_bits if lp.adc_bits is None else lp.adc_bits
        coarse = np.zeros((cycles, slices), dtype=np.int64)
        for (s, t), bits in lp.adc_bits_by_sum:
            coarse[t, s] = layer_bits - bits
        return coarse

    def to_dict(self) -> dict:
        layers = []
        for i, lp in enumerate(self.layers):
            entry = {"layer": i, "weight_bits": lp.weight_bits, "weight_shift": lp.weight_shift}
            if lp.adc_bits is not None:
                entry["adc_bits"] = lp.adc_bits
            entry["compensation"] = lp.compensation
            entry["discard"] = [f"s{s}t{t}" for s, t in lp.discard]
            if lp.adc_bits_by_sum:
                entry["adc_bits_by_sum"] = {f"s{s}t{t}": bits for (s, t), bits in lp.adc_bits_by_sum}
            layers.append(entry)
        return {"schema_version": SCHEMA_VERSION, "description": self.description, "layers": layers}

    @classmethod
    def from_dict(cls, data: dict, origin: str = "plan") -> Plan:
        version = data.get("schema_version")
        if isinstance(version, bool) or version not in SCHEMA_VERSIONS:
            raise ValueError(f"{origin}: schema_version = {version!r} is not supported; allowed "
                             f"{', '.join(map(str, SCHEMA_VERSIONS))}")
        unknown = set(data) - {"schema_version", "description", "layers"}
        if unknown:
            raise ValueError(f"{origin}: unknown key {sorted(unknown)[0]!r}; allowed: schema_version, description, "
                             f"layers")
        entries = data.get("layers")
        if not isinstance(entries, list) or not entries:
            raise ValueError(f"{origin}: needs at least one [[layers]] table")
        layers = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise ValueError(f"{origin}: layers[{i}] is not a table")
            allowed = {"layer", "weight_bits", "weight_shift", "compensation", "discard"}
            if version >= 2:
                allowed |= {"adc_bits", "adc_bits_by_sum"}
            extra = set(entry) - allowed
            if extra:
                raise ValueError(f"{origin}: layers[{i}] has unknown key {sorted(extra)[0]!r}; allowed: "
                                 f"{', '.join(sorted(allowed))}")
            if entry.get("layer", i) != i:
                raise ValueError(f"{origin}: layers[{i}] says layer = {entry['layer']!r}; layers must be listed "
                                 "in order from 0")
            if "weight_bits" not in entry:
                raise ValueError(f"{origin}: layers[{i}] needs weight_bits")
            where = f"{origin}: layers[{i}]"
            check_int(f"{where}.weight_bits", entry["weight_bits"], *WEIGHT_BITS)
            check_int(f"{where}.weight_shift", entry.get("weight_shift", 0), 0, 16)
            if entry.get("adc_bits") is not None:
                check_int(f"{where}.adc_bits", entry["adc_bits"], 1, 16)
            check_choice(f"{where}.compensation", entry.get("compensation", "calibrated"), COMPENSATIONS)
            discard = entry.get("discard", [])
            if not isinstance(discard, list):
                raise ValueError(f"{where}.discard = {discard!r} is not a list of 's<slice>t<cycle>' strings")
            pairs = []
            for name in discard:
                match = _SUM.fullmatch(name) if isinstance(name, str) else None
                if match is None:
                    raise ValueError(f"{where}.discard entry {name!r} is not of the form 's<slice>t<cycle>'")
                pairs.append((int(match[1]), int(match[2])))
            by_sum = entry.get("adc_bits_by_sum", {})
            if not isinstance(by_sum, dict):
                raise ValueError(f"{where}.adc_bits_by_sum = {by_sum!r} is not a table of 's<slice>t<cycle>' = bits")
            coarse = []
            for name, bits in by_sum.items():
                match = _SUM.fullmatch(name)
                if match is None:
                    raise ValueError(f"{where}.adc_bits_by_sum key {name!r} is not of the form 's<slice>t<cycle>'")
                check_int(f"{where}.adc_bits_by_sum.{name}", bits, 1, 16)
                coarse.append(((int(match[1]), int(match[2])), bits))
            try:
                layers.append(LayerPlan(entry["weight_bits"], entry.get("weight_shift", 0), tuple(pairs),
                                        entry.get("compensation", "calibrated"), entry.get("adc_bits"),
                                        tuple(coarse)))
            except ValueError as err:
                raise ValueError(f"{origin}: layers[{i}]: {err}") from None
        description = data.get("description", "")
        if not isinstance(description, str):
            raise ValueError(f"{origin}: description must be a string")
        return cls(tuple(layers), description)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write TOML atomically (temporary name, then rename)."""
        with atomic_write(check_plan_output(path)) as tmp:
            tmp.write_text(tomli_w.dumps(self.to_dict()), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Plan:
        return cls.from_dict(read_toml(path, "plan"), origin=str(path))


def check_plan_output(path: str | os.PathLike[str]) -> Path:
    """Fail early when a plan cannot be written where asked."""
    return check_writable(path, "plan output", "plan.toml")


def check_plan_fits(
    plan: Plan, n_layers: int, encoding: str, cell_bits: int, slices: int, cycles: tuple[int, ...],
    adc_bits: int = 16,
) -> None:
    """Reject a plan that does not fit the network or the hardware, with one line naming the problem.

    ``slices`` is the most columns per column set the hardware gives a weight ``S``; each layer is mapped on
    the slices its weight bits need, which is its discard grid. ``cycles`` are each layer's input cycles;
    ``adc_bits`` the hardware ADC's resolution, which a plan may lower but not raise.
    """
    if len(plan.layers) != n_layers:
        raise ValueError(f"plan has {len(plan.layers)} layer(s) but the network has {n_layers} crossbar layer(s); a "
                         "plan lists every crossbar layer once")
    for i, lp in enumerate(plan.layers):
        if lp.adc_bits is not None and lp.adc_bits > adc_bits:
            raise ValueError(f"plan layer {i}: adc_bits = {lp.adc_bits} is out of range; the hardware ADC has "
                             f"{adc_bits} bits, allowed 1..{adc_bits}")
        need = slices_needed(encoding, lp.weight_bits, cell_bits)
        if need > slices:
            raise ValueError(
                f"plan layer {i}: weight_bits {lp.weight_bits} needs {need} slices of {cell_bits}-bit cells with "
                f"{encoding} encoding; the hardware has {slices}"
            )
        for s, t in lp.discard:
            if s >= need or t >= cycles[i]:
                raise ValueError(
                    f"plan layer {i}: discard s{s}t{t} is outside the grid of {need} slices × {cycles[i]} cycles"
                )
        layer_bits = adc_bits if lp.adc_bits is None else lp.adc_bits
        for (s, t), bits in lp.adc_bits_by_sum:
            if s >= need or t >= cycles[i]:
                raise ValueError(f"plan layer {i}: adc_bits_by_sum s{s}t{t} is outside the grid of {need} slices × "
                                 f"{cycles[i]} cycles")
            if bits > layer_bits:
                raise ValueError(f"plan layer {i}: adc_bits_by_sum s{s}t{t} = {bits} is out of range; allowed "
                                 f"1..{layer_bits} (the layer's ADC resolution)")
