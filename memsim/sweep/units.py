"""The points of a sweep's grid and its work units, with ids that depend only on what they compute.

A point is one combination of axis values; its config is the base config with each axis applied in the sweep
file's order. A unit is a point and a chip range ``[start, stop)`` of ``chips_per_unit`` chips; its id is the
first 16 hex digits of the SHA-256 of the point's config JSON (``SimConfig.to_json``, chips set, no range, no
trace) and the range, so a unit keeps its id (and its finished part file) when axes are reordered or values
added, and a changed base config gives new ids.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from dataclasses import dataclass
from pathlib import Path

from memsim.config import SimConfig


@dataclass(frozen=True)
class Point:
    index: int
    values: tuple          # one value per axis, in the axes' order
    config: SimConfig

    @property
    def config_json(self) -> str:
        return self.config.to_json()

    @property
    def id(self) -> str:
        return hashlib.sha256(self.config_json.encode()).hexdigest()[:16]

    def label(self, names) -> str:
        return ", ".join(f"{n}={v!r}" for n, v in zip(names, self.values, strict=True)) or "(base)"


@dataclass(frozen=True)
class Unit:
    point: Point
    start: int
    stop: int

    @property
    def id(self) -> str:
        key = f"{self.point.config_json}|{self.start}:{self.stop}"
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def describe(self, names) -> str:
        return f"point {self.point.index} ({self.point.label(names)}), chips {self.start}:{self.stop}"


_PATH_FIELDS = {"devices.card": "card", "workload.network": "network", "workload.data": "data",
                "quantization.plan": "plan"}


def point_config(spec, values: tuple, absolute: bool = True) -> SimConfig:
    """The point's config: the base with the axes' values, and (``absolute``) its input files (card, network,
    data, plan) as absolute paths, so that a worker started in another directory (a cluster's) reads the same
    files."""
    cfg = spec.base
    for axis, value in zip(spec.axes, values, strict=True):
        cfg = axis.apply(cfg, value)
    if not absolute:
        return cfg
    return cfg.with_overrides(**{_PATH_FIELDS[key]: str(Path(spec.cwd or os.getcwd(), path))
                                 for key, path in cfg.input_paths().items()})


def points(spec) -> list[Point]:
    grid = itertools.product(*(a.values for a in spec.axes))
    return [Point(i, values, point_config(spec, values)) for i, values in enumerate(grid)]


def units(spec) -> list[Unit]:
    out = []
    for p in points(spec):
        for start in range(0, spec.chips, spec.chips_per_unit):
            out.append(Unit(p, start, min(start + spec.chips_per_unit, spec.chips)))
    return out


def check_points(spec) -> None:
    """Build every point's config and card and check its input files, before anything runs: the first problem
    is one ``ValueError`` naming the point's axis values."""
    names = spec.axis_names
    seen: dict[str, tuple] = {}
    for values in itertools.product(*(a.values for a in spec.axes)):
        label = ", ".join(f"{n}={v!r}" for n, v in zip(names, values, strict=True)) or "(base)"
        try:
            given = point_config(spec, values, absolute=False)  # errors name the paths as the user gave them
            given.device_card()
            for key, path in given.input_paths().items():
                if not Path(path).is_file():
                    raise ValueError(f"{key} {path!r} is not a file")
            cfg = point_config(spec, values)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{spec.origin}: point {label} cannot be built: {exc}") from None
        key = cfg.to_json()
        if key in seen:
            other = ", ".join(f"{n}={v!r}" for n, v in zip(names, seen[key], strict=True))
            raise ValueError(f"{spec.origin}: points {other} and {label} are the same configuration; allowed: axes "
                             "whose values change the configuration")
        seen[key] = values
