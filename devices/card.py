"""Device cards: one published technology or design per TOML file, every number with its unit and source.

Card format (``devices/cards/<name>.toml``)::

    schema_version = 1
    name = "isaac-2016"
    description = "..."
    [crossbar]  [cell]  [cell.variation]  [cell.drift]  [cell.disturb]  [dac]  [sample_hold]  [adc]  [adc.energy]
    [adc.area]  [shift_add]  [register]

Inside a section each key is the dataclass field name with its SI suffix. A number is an inline table
``{ value = 30, unit = "pJ", source = "..." }`` (``value`` may be a list of numbers); the loader converts it to
SI (prefixes f p n u µ m k M G on J W S s V A Hz Ohm/Ω; areas in ``m2`` with a length prefix, ``"um2"``, ``"mm2"``,
``"nm2"`` (or ``m²``); ``"1"``, ``"bit"``, ``"count"`` are dimensionless) and
checks the unit against the field's declared unit (``dataclasses.field(metadata={"unit": ...})``). A unit
that is not one of these (e.g. ``"S^(1-k)"`` for polynomial coefficients) must be written exactly as the field
declares it and is taken as SI. Enumerations (``kind = "sar"``, ``model = "table"``) are plain strings.
Every number needs its source. A card may take a number from another shipped card instead of repeating it:
``e_drive_j = { from = "isaac-2016" }`` takes that card's value, unit and source for the same field (the
recorded source names the card it came from), so each published figure is written in one file only.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, replace
from importlib.resources import files
from pathlib import Path

from .adc import ADC_MODELS, Adc, adc_from_dict
from .adc_area import ADC_AREA_MODELS
from .component import Component
from .adc_energy import ADC_ENERGY_MODELS
from .crossbar import Crossbar
from .dac import Dac
from .digital import Register, ShiftAdd
from .disturb import DISTURB_MODELS, disturb_model_from_dict
from .drift import DRIFT_MODELS, drift_model_from_dict
from .memristor import MemristorCell
from .sense_amp import SampleHold
from .validate import check_keys
from .vocabulary import COMPONENTS
from .variation import SIGMA_MODELS, sigma_model_from_dict
from .wires import Wires

SCHEMA_VERSION = 1
# Bounds on what one counted action may cost and one instance may draw: many orders of magnitude beyond any
# device (pJ, ns, mW), and within what the ledger's exact integers (zJ, fs) and the trace's floats carry.
ACTION_ENERGY_MAX_J = 1.0
ACTION_LATENCY_MAX_S = 1.0
STATIC_POWER_MAX_W = 1e3

# Sections built from one fixed class, and sections whose class is chosen by a string key in the section.
_FIXED_SECTIONS: dict[str, type] = {
    "crossbar": Crossbar,
    "cell": MemristorCell,
    "dac": Dac,
    "sample_hold": SampleHold,
    "shift_add": ShiftAdd,
    "register": Register,
}
_SELECTED_SECTIONS: dict[str, tuple[str, dict[str, type]]] = {
    "adc": ("kind", ADC_MODELS),
    "cell.variation": ("model", SIGMA_MODELS),
    "cell.drift": ("model", DRIFT_MODELS),
    "cell.disturb": ("model", DISTURB_MODELS),
    "adc.energy": ("model", ADC_ENERGY_MODELS),
    "adc.area": ("model", ADC_AREA_MODELS),
}
# Sub-sections built from one fixed class (their keys merge under overrides, like a section's).
_NESTED_SECTIONS: dict[str, type] = {"crossbar.wires": Wires}
SECTIONS = ("crossbar", "cell", "dac", "sample_hold", "adc", "shift_add", "register")

_DIMENSIONLESS = ("1", "bit", "count")
_BASE_UNITS = {"Ohm": "Ohm", "Ω": "Ohm", "Hz": "Hz", "J": "J", "W": "W", "S": "S", "s": "s", "V": "V", "A": "A",
               "m": "m"}
_PREFIX_EXP10 = {"": 0, "f": -15, "p": -12, "n": -9, "u": -6, "µ": -6, "μ": -6, "m": -3, "k": 3, "M": 6, "G": 9}


def _dimension(unit: str) -> tuple[str, int] | None:
    """(dimension, power of ten) of a unit string, or None if it is not a recognised SI unit."""
    if unit in _DIMENSIONLESS:
        return "1", 0
    for square in ("m2", "m²"):  # an area: the length prefix counts twice (1 µm² = 1e-12 m²)
        if unit.endswith(square) and unit[: -len(square)] in _PREFIX_EXP10:
            return "m2", 2 * _PREFIX_EXP10[unit[: -len(square)]]
    for base in sorted(_BASE_UNITS, key=len, reverse=True):
        if unit.endswith(base) and unit[: -len(base)] in _PREFIX_EXP10:
            return _BASE_UNITS[base], _PREFIX_EXP10[unit[: -len(base)]]
    return None


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _scale(v: int | float, exp10: int) -> int | float:
    # Division/multiplication by an exact power of ten rounds once (30 pJ -> 3e-11 exactly as written).
    if exp10 == 0:
        return v
    return v / 10**-exp10 if exp10 < 0 else v * 10**exp10


def to_si(label: str, qualified: str, value: object, unit: object, field_unit: str) -> object:
    """Convert a card number (or list of numbers) in ``unit`` to the SI unit ``field_unit`` of its field.

    Raises ``ValueError`` naming the card, the field and the unit when the dimensions differ.
    """
    if not isinstance(unit, str):
        raise ValueError(f"card '{label}': {qualified} unit = {unit!r} is not a string")
    want, got = _dimension(field_unit), _dimension(unit)
    if want is None:
        if unit != field_unit:
            raise ValueError(f"card '{label}': {qualified} has unit '{unit}'; allowed only '{field_unit}' (SI)")
        exp10 = 0
    elif got is None or got[0] != want[0]:
        need = ("dimensionless ('1', 'bit' or 'count')" if want[0] == "1"
                else "area ('m2' with a length prefix: 'um2', 'mm2', ...)" if want[0] == "m2"
                else f"'{want[0]}' (with an SI prefix)")
        raise ValueError(f"card '{label}': {qualified} has unit '{unit}'; allowed a unit of {need}")
    else:
        exp10 = got[1]
    if _is_number(value):
        return _scale(value, exp10)
    if isinstance(value, list) and value and all(_is_number(v) for v in value):
        return [_scale(v, exp10) for v in value]
    raise ValueError(f"card '{label}': {qualified} value = {value!r} is not a number or a list of numbers")


def _section_class(label: str, path: str, table: Mapping) -> tuple[type, str | None]:
    if path in _FIXED_SECTIONS:
        return _FIXED_SECTIONS[path], None
    if path in _NESTED_SECTIONS:
        return _NESTED_SECTIONS[path], None
    selector, registry = _SELECTED_SECTIONS[path]
    name = table.get(selector)
    if name not in registry:
        raise ValueError(
            f"card '{label}': {path}.{selector} = {name!r} is not valid; allowed: {', '.join(sorted(registry))}"
        )
    return registry[name], selector


def _parse_section(label: str, path: str, table: object, sources: dict[str, str]) -> dict:
    """One TOML section -> dict of SI values (sub-sections nested); records each number's source."""
    if not isinstance(table, Mapping):
        raise ValueError(f"card '{label}': [{path}] must be a table")
    cls, selector = _section_class(label, path, table)
    by_name = {f.name: f for f in fields(cls)}
    out: dict = {}
    for key, raw in table.items():
        q = f"{path}.{key}"
        if key == selector:
            out[key] = raw
            continue
        f = by_name.get(key)
        if f is not None and f.metadata.get("run"):
            raise ValueError(f"card '{label}': {q} is a setting of the run, not device data; set it in the config's "
                             f"[circuit] section (allowed in a card: the other keys of [{path}])")
        if f is None:
            allowed = sorted(k for k, g in by_name.items() if not g.metadata.get("run"))
            allowed += [selector] if selector else []
            raise ValueError(f"card '{label}': unknown key {q!r}; allowed: {', '.join(allowed)}")
        if "section" in f.metadata:
            out[key] = _parse_section(label, q, raw, sources)
        elif "unit" in f.metadata:
            if isinstance(raw, Mapping) and set(raw) == {"from"}:
                raw = _borrowed(label, path, key, raw["from"])
            if not (isinstance(raw, Mapping) and "value" in raw and raw.get("source")):
                raise ValueError(
                    f"card '{label}': {q} = {raw!r} has no source; every number needs its source "
                    '(write { value = ..., unit = "...", source = "..." })'
                )
            check_keys(f"card '{label}': {q}", raw, ("value", "unit", "source"), ("value", "unit", "source"))
            if not isinstance(raw["source"], str):
                raise ValueError(f"card '{label}': {q} source = {raw['source']!r} is not a string")
            out[key] = to_si(label, q, raw["value"], raw["unit"], f.metadata["unit"])
            sources[q] = raw["source"]
        else:
            if not isinstance(raw, str):
                raise ValueError(f"card '{label}': {q} = {raw!r} is not a string")
            out[key] = raw
    return out


def _borrowed(label: str, path: str, key: str, other: object) -> dict:
    """The ``{value, unit, source}`` entry of field ``path.key`` in the shipped card ``other``; its source is
    prefixed with that card's name. The entry must be written out there (no chains of borrowing)."""
    q = f"{path}.{key}"
    if not isinstance(other, str) or other not in list_cards():
        raise ValueError(f"card '{label}': {q} takes its number from {other!r}, which is not a shipped card; "
                         f"available: {', '.join(list_cards())}")
    table = tomllib.loads(_cards_dir().joinpath(f"{other}.toml").read_text(encoding="utf-8"))
    for part in path.split("."):
        table = table.get(part, {}) if isinstance(table, Mapping) else {}
    entry = table.get(key) if isinstance(table, Mapping) else None
    if not (isinstance(entry, Mapping) and "value" in entry and isinstance(entry.get("source"), str)):
        raise ValueError(f"card '{label}': {q} takes its number from card '{other}', which does not write one out")
    return {**entry, "source": f"{other}: {entry['source']}"}


def _number_leaves(prefix: str, value: object):
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _number_leaves(f"{prefix}.{k}", v)
    elif _is_number(value) or isinstance(value, (list, tuple)):
        yield prefix


def _apply_overrides(label: str, si: dict, overrides: Mapping, sources: dict[str, str]) -> None:
    """Merge ``overrides`` (nested, SI) into ``si`` in place; overridden numbers get source "user override".

    A sub-table whose ``kind``/``model`` differs from the card's replaces that section wholly (its old
    parameters would not fit the new model); otherwise keys merge.
    """

    def merge(base: dict, over: Mapping, path: str) -> None:
        for key, val in over.items():
            q = f"{path}.{key}" if path else key
            if not path and key not in SECTIONS:
                allowed = ", ".join(SECTIONS)
                raise ValueError(f"card '{label}': unknown override section {key!r}; allowed: {allowed}")
            if isinstance(val, Mapping):
                selector = _SELECTED_SECTIONS.get(q, (None,))[0]
                old = base.get(key)
                if isinstance(old, dict) and not (selector in val and val[selector] != old.get(selector)):
                    merge(old, val, q)
                    continue
            for stale in [s for s in sources if s.startswith(q + ".")]:
                del sources[stale]
            base[key] = copy.deepcopy(dict(val) if isinstance(val, Mapping) else val)
            for leaf in _number_leaves(q, val):
                sources[leaf] = "user override"

    if not isinstance(overrides, Mapping):
        raise ValueError(f"card '{label}': overrides = {overrides!r} is not a dict")
    merge(si, overrides, "")


def _build_component(section: str, d: object):
    if not isinstance(d, Mapping):
        raise ValueError(f"{section} = {d!r} is not a table")
    if section == "adc":
        return adc_from_dict(d)
    cls = _FIXED_SECTIONS[section]
    flds = fields(cls)
    check_keys(section, d, [f.name for f in flds], [f.name for f in flds if f.default is MISSING])
    params = dict(d)
    if isinstance(params.get("variation"), Mapping):
        params["variation"] = sigma_model_from_dict(params["variation"])
    if isinstance(params.get("drift"), Mapping):
        params["drift"] = drift_model_from_dict(params["drift"])
    if isinstance(params.get("disturb"), Mapping):
        params["disturb"] = disturb_model_from_dict(params["disturb"])
    if isinstance(params.get("wires"), Mapping):
        names = [f.name for f in fields(Wires)]
        check_keys(f"{section}.wires", params["wires"], names, ())
        params["wires"] = Wires(**params["wires"])
    return cls(**params)


RUN_SOURCE = "run setting from the config's [circuit] section (memsim's IR-drop solver), not device data"


def _build_card(label: str, name: object, description: object, si: Mapping, sources: dict[str, str]) -> DeviceCard:
    sources = {**sources, **{f"crossbar.wires.{f.name}": RUN_SOURCE for f in fields(Wires)
                             if f.metadata.get("run") and "unit" in f.metadata}}
    missing = [s for s in SECTIONS if s not in si]
    if missing:
        raise ValueError(f"card '{label}': missing section [{missing[0]}]")
    try:
        parts = {s: _build_component(s, si[s]) for s in SECTIONS}
        return DeviceCard(name=name, description=description, sources=dict(sources), **parts)
    except ValueError as exc:
        raise ValueError(f"card '{label}': {exc}") from None


def _as_plain(obj: object) -> object:
    """A component (or value) as JSON-serialisable plain data in SI units, selector key first."""
    if is_dataclass(obj):
        out: dict = {}
        for attr in ("kind", "model"):
            if isinstance(getattr(type(obj), attr, None), str):
                out[attr] = getattr(type(obj), attr)
        for f in fields(obj):
            out[f.name] = _as_plain(getattr(obj, f.name))
        return out
    if isinstance(obj, tuple):
        return [_as_plain(v) for v in obj]
    return obj


@dataclass(frozen=True)
class DeviceCard:
    """All components of one tile technology, with the source of every number.

    ``sources`` maps a qualified field name (``"adc.energy.e_conv_j"``) to its source string (``"user
    override"`` for overridden numbers). Built by ``load_card`` or ``DeviceCard.from_dict``.
    """

    name: str
    description: str
    crossbar: Crossbar
    cell: MemristorCell
    dac: Dac
    sample_hold: SampleHold
    adc: Adc
    shift_add: ShiftAdd
    register: Register
    sources: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for attr in ("name", "description"):
            if not isinstance(getattr(self, attr), str) or not getattr(self, attr):
                raise ValueError(f"card.{attr} = {getattr(self, attr)!r} is not a non-empty string")
        expected = {**_FIXED_SECTIONS, "adc": tuple(ADC_MODELS.values())}
        for section, cls in expected.items():
            if not isinstance(getattr(self, section), cls):
                raise ValueError(f"card.{section} = {getattr(self, section)!r} is not a {section} component")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in self.sources.items()):
            raise ValueError("card.sources must map qualified field names (str) to source strings (str)")
        for row in self.action_costs():
            what = f"{row['component']}.{row['action']}"
            for key, limit, unit in (("energy_j", ACTION_ENERGY_MAX_J, "J per action"),
                                     ("latency_s", ACTION_LATENCY_MAX_S, "s per action"),
                                     ("power_w", STATIC_POWER_MAX_W, "W")):
                if key in row and not row[key] <= limit:
                    raise ValueError(f"{what}: one action's {key} = {row[key]:g} (from the card's [{row['component']}] "
                                     f"numbers) is out of range; allowed at most {limit:g} {unit}")

    @property
    def v_unit_v(self) -> float:
        """Row voltage of one drive-code step, ``v_unit = v_read/(2**d − 1)`` in volts (``d``: DAC bits).

        The DAC applies ``x·v_unit`` for code ``x`` (``Dac.voltages``), so the full-scale code drives
        ``v_read``. Validity: every card (``v_read > 0``, ``d`` 1..8).
        """
        return self.cell.v_read_v / self.dac.max_code

    @property
    def i_unit_a(self) -> float:
        """Column current of one drive-code step on one level step, ``I_unit = v_unit·Δg`` in amperes.

        Ohm's law on a cell one level step ``Δg`` (``MemristorCell.delta_g_s``) above its neighbour: the unit
        in which a column current above the reference column reads as an integer partial sum. Validity:
        linear (ohmic) cells, as ``devices.memristor.read_energy_j`` assumes.
        """
        return self.v_unit_v * self.cell.delta_g_s

    def with_adc_bits(self, bits: int) -> DeviceCard:
        """This card with its ADC converting at ``bits`` (a plan's lower-resolution tile ADC).

        A SAR ADC that resolves fewer bits stops after fewer comparisons, so its latency and energy follow the
        card's own laws at the new resolution (``SarAdc.latency_s``, the energy model's ``energy_j(bits)``);
        a flash ADC's energy likewise. Validity: ``bits`` 1..16 and within the energy model's range (a
        one-line error otherwise).
        """
        if bits == self.adc.bits:
            return self
        return replace(self, adc=replace(self.adc, bits=bits),
                       sources={**self.sources, "adc.bits": f"plan: {bits}-bit conversions"})

    def with_circuit(self, solver: str, tolerance: float) -> DeviceCard:
        """This card with the run's IR-drop solver (``circuit.solver``, one of ``memsim.devices.ir_drop.SOLVERS``)
        and its ``circuit.tolerance`` (config fields, not device data; ``memsim.devices.wires``). They matter only
        when ``crossbar.wires.model = "resistive"``; a one-line ``ValueError`` names a bad value."""
        wires = self.crossbar.wires
        if (solver, tolerance) == (wires.solver, wires.tolerance):
            return self
        try:
            wires = replace(wires, solver=solver, tolerance=tolerance)
        except ValueError as exc:
            raise ValueError(f"card '{self.name}': {exc}") from None
        return replace(self, crossbar=replace(self.crossbar, wires=wires))

    def with_sigma_scale(self, factor: float) -> DeviceCard:
        """This card with its programming-variation sigma multiplied by ``factor`` (the ``sigma_scale`` study
        parameter): ``sigma'(L, G) = factor·sigma(L, G)`` for whatever model the card has
        (``SigmaModelBase.scaled``; ``none`` is unchanged). ``factor`` must be finite and ``>= 0``
        (``ValueError`` naming ``sigma_scale`` otherwise). The source of every ``cell.variation`` number then
        says that it was scaled, since the scaled value is not the one its source gives; ``factor == 1`` returns the
        card itself."""
        variation = self.cell.variation.scaled(factor)
        if variation is self.cell.variation:
            return self
        note = f" [multiplied by {factor:g}, the sigma_scale study parameter]"
        sources = {k: v + note if k.startswith("cell.variation.") else v for k, v in self.sources.items()}
        try:
            cell = replace(self.cell, variation=variation)
        except ValueError as exc:
            raise ValueError(f"card '{self.name}' with sigma_scale = {factor:g}: {exc}") from None
        return replace(self, cell=cell, sources=sources)

    def summary(self) -> dict:
        """Key figures for ``memsim devices`` (SI units)."""
        xb, cell, adc = self.crossbar, self.cell, self.adc
        conv = adc.convert_cost()
        variation = _as_plain(cell.variation)
        drift = _as_plain(cell.drift)
        return {
            "name": self.name,
            "array": f"{xb.rows}x{xb.cols}",
            "reference": xb.reference,
            "bits_per_cell": cell.bits_per_cell,
            "g_min_s": cell.g_min_s,
            "g_max_s": cell.g_max_s,
            "v_read_v": cell.v_read_v,
            "variation": " ".join([variation.pop("model")] + [f"{k}={v}" for k, v in variation.items()]),
            "drift": " ".join([drift.pop("model")] + [f"{k}={v:g}" for k, v in drift.items()]),
            "read_energy_model": xb.read_energy_model,
            "e_array_read_j": xb.e_array_read_j,
            "t_read_s": xb.t_read_s,
            "dac_bits": self.dac.bits,
            "adc_kind": adc.kind,
            "adc_bits": adc.bits,
            "adc_energy_j": conv.energy_j,
            "adc_latency_s": conv.latency_s,
            "columns_per_adc": xb.columns_per_adc,
            "n_adcs": xb.n_adcs,
            "cell_area_m2": xb.cell_area_m2,
            "array_area_m2": xb.area_parts()["unit"],
            "dac_area_m2": self.dac.area_m2,
            "sample_hold_area_m2": self.sample_hold.area_m2,
            "adc_area_m2": adc.area_parts()["unit"],
            "adc_area_law": _area_law(adc.area),
            "shift_add_area_m2": self.shift_add.area_m2,
            "pool_area_m2": self.shift_add.area_pool_m2,
            "register_area_m2": self.register.area_m2,
            "tile_area_m2": self.instances_area_m2(self.tile_instances()),
        }

    def tile_instances(self) -> dict[str, dict[str, int]]:
        """Instances of each component part that one crossbar (memsim's tile) brings with it: its array, a
        driver per row, a sample-and-hold per column, ``n_adcs = ceil(cols/columns_per_adc)`` ADCs, one
        shift-and-add unit per ADC and one register set. The same instances draw static power
        (``memsim.engine.posting.static_units``) and occupy area (``memsim.area``)."""
        xb = self.crossbar
        return {"dac": {"unit": xb.rows}, "crossbar": {"unit": 1}, "sample_hold": {"unit": xb.cols},
                "adc": {"unit": xb.n_adcs}, "shift_add": {"unit": xb.n_adcs}, "register": {"unit": 1}}

    def stage_instances(self, pools: bool) -> dict[str, dict[str, int]]:
        """Instances of a crossbar layer's digital stage: one reduction unit (a shift-and-add unit), one register
        set and, when the layer hosts pooling (``pools``), one pooling unit."""
        return {"shift_add": {"unit": 1, "pool": int(bool(pools))}, "register": {"unit": 1}}

    def instances_area_m2(self, instances: Mapping[str, Mapping[str, int]]) -> float:
        """Square metres of ``instances`` (component -> part -> count): Σ count × the part's area."""
        return sum(self.area_by_component_m2(instances).values())

    def area_by_component_m2(self, instances: Mapping[str, Mapping[str, int]]) -> dict[str, float]:
        """Square metres of ``instances`` per component (ledger order; components without instances are 0)."""
        out = {}
        for name, component in self.components().items():
            parts = component.area_parts()
            out[name] = float(sum(count * parts[part] for part, count in instances.get(name, {}).items()))
        return out

    def components(self) -> dict[str, Component]:
        """The priced components in ledger order (``memsim.devices.vocabulary.COMPONENTS``), by name."""
        return {name: getattr(self, name) for name in COMPONENTS}

    def action_costs(self) -> list[dict]:
        """Every declared action of every component (ledger order) with what one count is and the cost of one
        counted action in SI units (``energy_j``, ``latency_s``); ``static`` gives the component's static power
        ``power_w`` instead (its energy is power × run time)."""
        rows = []
        for name, component in self.components().items():
            for spec in component.actions():
                row = {"component": name, "action": spec.name, "counts": spec.counts}
                if spec.name == "static":
                    row["power_w"] = component.p_static_w
                else:
                    cost = component.cost(spec.name)
                    row.update(energy_j=cost.energy_j, latency_s=cost.latency_s)
                rows.append(row)
        return rows

    def to_dict(self) -> dict:
        """Every field in SI units plus sources, JSON-serialisable; ``DeviceCard.from_dict`` inverts it."""
        out: dict = {"schema_version": SCHEMA_VERSION, "name": self.name, "description": self.description}
        for section in SECTIONS:
            out[section] = _as_plain(getattr(self, section))
        out["sources"] = dict(sorted(self.sources.items()))
        return out

    @classmethod
    def from_dict(cls, d: Mapping) -> DeviceCard:
        """Rebuild a card from ``to_dict()`` output (SI units, no unit conversion)."""
        label = d.get("name", "?") if isinstance(d, Mapping) else "?"
        if not isinstance(d, Mapping) or d.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"card '{label}': schema_version must be {SCHEMA_VERSION}")
        check_keys(f"card '{label}'", d, ("schema_version", "name", "description", "sources", *SECTIONS), ())
        sources = dict(d.get("sources", {}))
        return _build_card(label, d.get("name"), d.get("description"), d, sources)


def _area_law(area) -> str:
    """The ADC area model in one line for ``memsim devices``."""
    if area.model == "linear":
        return f"linear: {area.area_fixed_m2 * 1e12:.4g} µm² + {area.area_per_bit_m2 * 1e12:.4g} µm² × bits"
    pairs = ", ".join(f"{b} b {a * 1e12:.4g}" for b, a in zip(area.table_bits, area.area_m2, strict=True))
    return f"table: {pairs} µm²"


def _cards_dir():
    """The folder of the shipped cards (the ``cards`` package beside this module)."""
    return files(__package__).joinpath("cards")


def list_cards() -> list[str]:
    """Names of the cards shipped in ``devices/cards`` (sorted)."""
    return sorted(p.name[: -len(".toml")] for p in _cards_dir().iterdir() if p.name.endswith(".toml"))


def load_card(name_or_path: str, overrides: Mapping | None = None) -> DeviceCard:
    """Load a device card by shipped name (``"isaac-2016"``) or by path to a ``.toml`` file.

    ``overrides`` is a nested dict in SI units applied on top of the card before construction, e.g.
    ``{"cell": {"variation": {"model": "proportional", "sigma_rel": 0.1}}, "adc": {"bits": 6}}``; overridden
    numbers get source ``"user override"``. Every problem raises ``ValueError`` with a one-line message:
    unknown card (listing the available ones), malformed TOML, a number without source, a unit of the wrong
    dimension, an unknown or missing key, or a value out of range.
    """
    if not isinstance(name_or_path, str) or not name_or_path:
        raise ValueError(f"card name {name_or_path!r} is not a card name or a .toml path")
    if name_or_path.endswith(".toml"):
        path = Path(name_or_path)
        if path.is_dir():
            raise ValueError(f"card file '{name_or_path}' is a directory; give a card .toml file")
        if not path.is_file():
            raise ValueError(f"card file '{name_or_path}' does not exist")
        data, label = path.read_bytes(), name_or_path
    else:
        resource = _cards_dir().joinpath(f"{name_or_path}.toml")
        if not resource.is_file():
            raise ValueError(f"unknown card '{name_or_path}'; available: {', '.join(list_cards())}")
        data, label = resource.read_bytes(), name_or_path
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"card file '{label}' is not UTF-8 text (byte {exc.start}); a card is a UTF-8 TOML "
                         "file") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = " ".join(str(exc).split())
        raise ValueError(f"card file '{label}' is malformed TOML: {message}") from None

    check_keys(f"card '{label}'", doc, ("schema_version", "name", "description", *SECTIONS), ())
    if doc.get("schema_version") != SCHEMA_VERSION:
        version = doc.get("schema_version")
        raise ValueError(f"card '{label}': schema_version = {version!r} is not supported; allowed {SCHEMA_VERSION}")
    sources: dict[str, str] = {}
    si = {s: _parse_section(label, s, doc[s], sources) for s in SECTIONS if s in doc}
    if overrides:
        _apply_overrides(label, si, overrides, sources)
    return _build_card(label, doc.get("name"), doc.get("description"), si, sources)
