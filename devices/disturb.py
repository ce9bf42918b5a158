"""Read disturb: the conductance shift a cell accumulates from the read pulses applied to it.

Every read with a non-zero drive on a row applies the read voltage to the cells of that row. A model is a
frozen dataclass with ``is_zero`` and ``apply(g_s, reads, g_min_s, g_max_s) -> g_s``: the conductances after
``reads`` read pulses (broadcast against ``g_s``), deterministic. ``DISTURB_MODELS`` maps the card name to
the class.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import ClassVar

import numpy as np

from .validate import check_choice, check_float, check_keys

_PREFIX = "cell.disturb"


@dataclass(frozen=True)
class NoDisturb:
    """Reads do not change the conductance. Valid for any read count."""

    model: ClassVar[str] = "none"

    @property
    def is_zero(self) -> bool:
        return True

    def apply(self, g_s, reads, g_min_s: float, g_max_s: float) -> np.ndarray:
        """``g_s`` unchanged (float64 copy)."""
        return np.array(g_s, dtype=np.float64)


@dataclass(frozen=True)
class LinearDisturb:
    """First-order disturb ``G(n) = clip(G_0·(1 + rel_per_read·n), g_min, g_max)`` after ``n`` read pulses.

    ``rel_per_read`` is the relative conductance change per read pulse (negative: reads reset the cell,
    positive: reads set it). No shipped card gives a value (their sources do not); a user's card states its
    own. Validity: ``|rel_per_read·n| << 1`` (the linear term of whatever law the device follows).
    """

    model: ClassVar[str] = "linear"
    rel_per_read: float = field(metadata={"unit": "1"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "rel_per_read", check_float(f"{_PREFIX}.rel_per_read", self.rel_per_read, -1.0, 1.0))

    @property
    def is_zero(self) -> bool:
        return self.rel_per_read == 0.0

    def apply(self, g_s, reads, g_min_s: float, g_max_s: float) -> np.ndarray:
        """The disturbed conductances (float64), ``reads`` broadcast against ``g_s``."""
        g = np.asarray(g_s, dtype=np.float64)
        n = np.asarray(reads, dtype=np.float64)
        return np.clip(g * (1.0 + self.rel_per_read * n), g_min_s, g_max_s)


DisturbModel = NoDisturb | LinearDisturb

DISTURB_MODELS: dict[str, type] = {"none": NoDisturb, "linear": LinearDisturb}


def disturb_model_from_dict(d: dict) -> DisturbModel:
    """Build a disturb model from ``{"model": name, **parameters}``; unknown names list the valid ones."""
    params = dict(d)
    name = check_choice(f"{_PREFIX}.model", params.pop("model", None), DISTURB_MODELS)
    cls = DISTURB_MODELS[name]
    flds = fields(cls)
    check_keys(_PREFIX, params, [f.name for f in flds], [f.name for f in flds if f.default is MISSING])
    return cls(**params)
