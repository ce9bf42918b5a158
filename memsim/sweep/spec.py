"""The sweep file: a base configuration, the axes of the grid and the number of chips.

Layout (TOML)::

    schema_version = 1
    base = "run.toml"        # optional: a memsim config file (relative to the sweep file); default: defaults
    chips = 4                # chip instances of every point (chips 0 .. chips-1, per-chip seeding)
    chips_per_unit = 1       # chips of one work unit (a unit runs a chip range of one point); default 1

    [config]                 # optional: config keys over the base file, in the config file's layout
    workload.split = "calibration"

    [axes]                   # the grid: every combination of the values, in this order (the last varies fastest)
    adc_bits = [4, 6, 8]                              # a list of values ...
    sigma = {start = 0.0, stop = 0.1, num = 3}        # ... or a range: num values from start to stop inclusive
    weight_bits = {start = 4, stop = 8, step = 2}     # ... or start, start + step, ... up to stop inclusive

An axis is a config field (``sigma_scale``, ``weight_bits``, ``encoding``, ``adc_range``, ``network``, ``data``,
``plan``, ``seed``, ...; by name or by its TOML path such as ``quantization.weight_bits``), a card override
(``devices.overrides.adc.bits``, or the same path without ``devices.overrides.``: ``crossbar.columns_per_adc``,
``cell.bits_per_cell``, ``cell.variation.sigma_rel``), or one of the shorthands of ``memsim simulate``:
``sigma`` (proportional variation σ/G, ``--sigma``) and ``adc_bits`` (``--adc-bits``). Relative paths inside
configs are relative to the working directory the sweep is read in (as ``memsim simulate`` reads them) and
are made absolute in every unit's config, so that every worker, in whatever directory it runs, reads the same
files.

Every error is one line naming the key, the value and what is allowed (``ValueError``).
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass
from pathlib import Path

from memsim.config import _SECTIONS, _TOML_NAMES, SimConfig
from memsim.files import read_toml

SCHEMA_VERSION = 1
TOP_KEYS = ("schema_version", "base", "chips", "chips_per_unit", "config", "axes")
# Config fields that a sweep sets itself (chips, chip ranges, traces) or that are whole tables.
NOT_AXES = ("chips", "chip_range", "trace", "card_overrides")
SHORTHANDS = ("sigma", "adc_bits")
MAX_VALUES = 10_000  # values of one axis
MAX_UNITS = 1_000_000
CHIPS_MAX = 100_000


def _fields_by_path() -> dict[str, str]:
    """Every config field an axis may name, by field name and by TOML path."""
    out = {}
    for name, section in _SECTIONS.items():
        if name in NOT_AXES:
            continue
        out[name] = name
        if section is not None:
            out[f"{section}.{_TOML_NAMES.get(name, name)}"] = name
    return out


AXIS_FIELDS = _fields_by_path()
_ALLOWED_AXES = (f"a config field ({', '.join(n for n in _SECTIONS if n not in NOT_AXES)}), its TOML path, "
                 "devices.overrides.SECTION.KEY (or SECTION.KEY) for a card field, sigma or adc_bits")


@dataclass(frozen=True)
class Axis:
    """One axis: its name as the sweep file gives it, its kind and its values (TOML scalars)."""

    name: str
    kind: str          # "field", "override", "sigma" or "adc_bits"
    target: tuple      # ("field",) -> (field name,); "override" -> the card path; shorthands: ()
    values: tuple

    def apply(self, cfg: SimConfig, value) -> SimConfig:
        """``cfg`` with this axis set to ``value`` (``ValueError`` from the config's own checks)."""
        if self.kind == "field":
            return cfg.with_overrides(**{self.target[0]: value})
        if self.kind == "sigma":
            return cfg.with_sigma_rel(value)
        if self.kind == "adc_bits":
            return cfg.with_card_override("adc", {"bits": value})
        merged = copy.deepcopy(cfg.card_overrides)
        node = merged
        for key in self.target[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        node[self.target[-1]] = value
        return cfg.with_overrides(card_overrides=merged)


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: the base config (chips set, no chip range, no trace), the axes and the unit size."""

    base: SimConfig
    axes: tuple[Axis, ...]
    chips: int
    chips_per_unit: int
    origin: str = "sweep"
    cwd: str = ""      # the working directory the sweep was read in: relative input paths are relative to it

    @property
    def axis_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes)

    def points(self):
        """The grid's points in order (``memsim.sweep.units.points``)."""
        from memsim.sweep.units import points

        return points(self)

    def units(self):
        from memsim.sweep.units import units

        return units(self)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


def _axis_kind(name: str, origin: str) -> tuple[str, tuple]:
    if name in SHORTHANDS:
        return name, ()
    if name in AXIS_FIELDS:
        return "field", (AXIS_FIELDS[name],)
    path = name.removeprefix("devices.overrides.")
    parts = tuple(path.split("."))
    if len(parts) >= 2 and all(parts) and parts[0] not in {s for s in _SECTIONS.values() if s}:
        return "override", parts
    raise ValueError(f"{origin}: unknown axis {name!r}; allowed: {_ALLOWED_AXES}")


def _range_values(key: str, table: dict) -> tuple:
    allowed = "a non-empty list of values or a table {start, stop, step} or {start, stop, num}"
    keys = set(table)
    if keys not in ({"start", "stop", "step"}, {"start", "stop", "num"}):
        raise ValueError(f"{key} = {table!r} has keys {sorted(keys)}; allowed: {allowed}")
    start, stop = table["start"], table["stop"]
    for k in ("start", "stop"):
        if not _is_number(table[k]):
            raise ValueError(f"{key}.{k} = {table[k]!r} is not a finite number; allowed: {allowed}")
    if "num" in table:
        num = table["num"]
        if not _is_int(num) or not 1 <= num <= MAX_VALUES:
            raise ValueError(f"{key}.num = {num!r}; allowed: an integer from 1 to {MAX_VALUES}")
        if num == 1:
            return (start,)
        values = [start + (stop - start) * k / (num - 1) for k in range(num)]
        if all(_is_int(v) for v in (start, stop)) and all(float(v).is_integer() for v in values):
            return tuple(int(v) for v in values)
        return tuple(round(float(v), 12) for v in values)
    step = table["step"]
    if not _is_number(step) or step == 0 or (stop - start) * step < 0:
        raise ValueError(f"{key}.step = {step!r} does not lead from start {start!r} to stop {stop!r}; allowed: a "
                         "non-zero number with the sign of stop - start")
    n = math.floor((stop - start) / step + 1e-9) + 1
    if n > MAX_VALUES:
        raise ValueError(f"{key} = {table!r} has {n} values; allowed: at most {MAX_VALUES}")
    if all(_is_int(v) for v in (start, stop, step)):
        return tuple(start + k * step for k in range(n))
    return tuple(round(start + k * step, 12) for k in range(n))


def _axis_values(key: str, value) -> tuple:
    if isinstance(value, dict):
        return _range_values(key, value)
    if not isinstance(value, list) or not value:
        raise ValueError(f"{key} = {value!r}; allowed: a non-empty list of values or a table {{start, stop, step}} "
                         "or {start, stop, num}")
    for v in value:
        if not isinstance(v, (str, int, float, bool)) or (isinstance(v, float) and not math.isfinite(v)):
            raise ValueError(f"{key} has the value {v!r}; allowed: strings, booleans and finite numbers")
    if len(set(map(repr, value))) != len(value):
        raise ValueError(f"{key} = {value!r} repeats a value; allowed: distinct values")
    if len(value) > MAX_VALUES:
        raise ValueError(f"{key} has {len(value)} values; allowed: at most {MAX_VALUES}")
    return tuple(value)


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def parse_sweep(data: dict, origin: str = "sweep", directory: Path | None = None) -> SweepSpec:
    """A ``SweepSpec`` from the sweep file's data; ``directory`` resolves ``base``. Every point's config is built
    and its card loaded here, before anything runs."""
    for key in data:
        if key not in TOP_KEYS:
            raise ValueError(f"{origin}: unknown key {key!r}; allowed: {', '.join(TOP_KEYS)}")
    version = data.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise ValueError(f"{origin}: schema_version = {version!r} is not supported; this memsim reads "
                         f"{SCHEMA_VERSION}")
    chips = data.get("chips", 1)
    if not _is_int(chips) or not 1 <= chips <= CHIPS_MAX:
        raise ValueError(f"{origin}: chips = {chips!r}; allowed: an integer from 1 to {CHIPS_MAX}")
    per_unit = data.get("chips_per_unit", 1)
    if not _is_int(per_unit) or not 1 <= per_unit <= chips:
        raise ValueError(f"{origin}: chips_per_unit = {per_unit!r}; allowed: an integer from 1 to chips ({chips})")
    config: dict = {}
    base = data.get("base", "")
    if not isinstance(base, str):
        raise ValueError(f"{origin}: base = {base!r}; allowed: the path of a memsim config .toml")
    if base:
        path = Path(base) if directory is None or Path(base).is_absolute() else directory / base
        config = read_toml(path, "config")
        base_origin = str(path)
    else:
        base_origin = origin
    inline = data.get("config", {})
    if not isinstance(inline, dict):
        raise ValueError(f"{origin}: config = {inline!r}; allowed: a table in the layout of a memsim config file")
    config = _merge(config, inline)
    for key in ("chips", "chip_range", "trace"):
        if key in config:
            raise ValueError(f"{origin}: config key {key!r} is set by the sweep; allowed: chips in the sweep file, "
                             "traces with --traces")
    try:
        base_cfg = SimConfig.from_dict(config, origin=base_origin if not inline else origin)
    except ValueError as exc:
        raise ValueError(str(exc) if str(exc).startswith(origin) or str(exc).startswith(base_origin)
                         else f"{origin}: {exc}") from None
    base_cfg = base_cfg.with_overrides(chips=chips, chip_range=(), trace="")
    axes_data = data.get("axes", {})
    if not isinstance(axes_data, dict):
        raise ValueError(f"{origin}: axes = {axes_data!r}; allowed: a table of axis = values")
    axes = []
    for name, value in axes_data.items():
        # A dotted key written bare (adc.bits = [...]) arrives as nested tables: flatten it back to its path.
        while isinstance(value, dict) and len(value) == 1 and not {"start", "stop", "step", "num"} & set(value):
            (sub, value), = value.items()
            name = f"{name}.{sub}"
        kind, target = _axis_kind(name, origin)
        axes.append(Axis(name, kind, target, _axis_values(f"{origin}: axes.{name}", value)))
    spec = SweepSpec(base_cfg, tuple(axes), chips, per_unit, origin, os.getcwd())
    n_units = math.prod(len(a.values) for a in axes) * math.ceil(chips / per_unit)
    if n_units > MAX_UNITS:
        raise ValueError(f"{origin}: the sweep has {n_units} units; allowed: at most {MAX_UNITS}")
    from memsim.sweep.units import check_points

    check_points(spec)
    return spec


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file (``ValueError``, one line, for any problem)."""
    path = Path(path)
    return parse_sweep(read_toml(path, "sweep"), origin=str(path), directory=path.parent)
