"""Reading a trace back: ``memsim.trace.open(path)`` returns a ``Trace`` of numpy tables with their units.

The whole file is read at open and closed again, so a ``Trace`` is a plain in-memory value that notebooks,
the ``memsim trace`` commands and plots share. Opening checks what a user can get wrong and says so in one
line (a ``ValueError`` naming the file): a missing path, a file that is not HDF5, an HDF5 file that is not a
memsim trace, a truncated or corrupt file, and a ``schema_version`` this memsim does not know (a newer
memsim wrote it). Every schema from 1 up to ``SCHEMA_VERSION`` is read; tables that an older schema lacks
are ``None`` (``errors`` before schema 2; ``utilization``, ``reads`` and ``busy`` before schema 3, whose
``chips`` table also lacks the latency, throughput and static-energy columns; ``confusion`` and ``outputs``
before schema 4). ``outputs`` is also ``None`` in a trace of a run that did not ask for it (config
``outputs = "none"``), and has its ``logits`` column only when the run asked for the logits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from memsim import __version__
from memsim.trace.writer import COLUMN_SINCE, OPTIONAL_COLUMNS, OPTIONAL_TABLES, SCHEMA_VERSION, TABLE_UNITS

# The schema version that introduced each table (tables absent here exist since schema 1).
_TABLE_SINCE = {"errors": 2, "utilization": 3, "reads": 3, "busy": 3, "confusion": 4, "outputs": 4}
_JSON_ATTRS = ("config", "plan", "cards", "summary")


@dataclass(frozen=True, eq=False)
class Table:
    """One dataset: a numpy structured array, the unit of each column, and the names of enum columns.

    ``table["energy_j"]`` is a column; ``table.units["energy_j"]`` its unit (``"1"`` dimensionless,
    ``"name"`` text, ``"enum"`` an integer code whose names are ``table.enums[column]``);
    ``table.labels("component")`` gives an enum or text column as an array of names. An array-valued column
    (``outputs["logits"]``) is a 2-D array, one row per entry. ``attrs``: the dataset's other attributes
    (e.g. ``busy.attrs["window_vectors"]``, ``outputs.attrs["logits_lsb"]``).
    """

    name: str
    data: np.ndarray
    units: dict[str, str]
    enums: dict[str, tuple[str, ...]]
    attrs: dict = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.data.dtype.names)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, column: str) -> np.ndarray:
        if column not in self.columns:
            raise KeyError(f"table {self.name!r} has no column {column!r}; columns: {', '.join(self.columns)}")
        return self.data[column]

    def labels(self, column: str) -> np.ndarray:
        """The column as names: enum codes mapped to their names; other columns as strings."""
        values = self[column]
        if column in self.enums:
            names = np.array(self.enums[column], dtype=object)
            return names[values.astype(np.intp)]
        return values.astype(str).astype(object)


@dataclass(frozen=True, eq=False)
class Trace:
    """A memsim trace in memory: metadata (parsed JSON) and the tables of ``traces/README.md``."""

    path: Path
    schema_version: int
    memsim_version: str
    seed: int
    config: dict
    plan: dict
    cards: dict
    summary: dict
    events: Table
    counters: Table
    layers: Table
    chips: Table
    errors: Table | None
    # Since schema 3: busy time per component kind, array reads per tile, busy intervals of a window.
    utilization: Table | None = None
    reads: Table | None = None
    busy: Table | None = None
    # Since schema 4: each chip's confusion matrix; per-input predictions (and logits) when the run asked.
    confusion: Table | None = None
    outputs: Table | None = None

    @property
    def n_chips(self) -> int:
        return len(self.chips)

    @property
    def inferences(self) -> int:
        """Inferences per chip run (the evaluation set's size)."""
        return int(self.summary["inferences"])

    def tables(self) -> dict[str, Table]:
        """The tables present in this trace, by dataset name."""
        out = {"events": self.events, "counters": self.counters, "layers": self.layers, "chips": self.chips}
        for name in ("errors", "utilization", "reads", "busy", "confusion", "outputs"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


class _BadTrace(ValueError):
    """A problem this module diagnosed itself (its message already names the file)."""


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def open_trace(path: str | Path) -> Trace:
    """Read a memsim trace; ``ValueError`` (one line, naming the file) if it is not a readable one."""
    p = Path(path)
    where = f"trace {str(p)!r}"
    if not p.exists():
        raise _BadTrace(f"{where} does not exist")
    if p.is_dir():
        raise _BadTrace(f"{where} is a directory; give a trace file such as memsim-trace.h5")
    try:
        is_hdf5 = h5py.is_hdf5(p)
    except OSError as exc:
        raise _BadTrace(f"{where} cannot be read: {_one_line(exc)}") from None
    if not is_hdf5:
        raise _BadTrace(f"{where} is not an HDF5 file; memsim traces are HDF5 files written by memsim simulate")
    try:
        with h5py.File(p, "r") as h5:
            return _read(h5, p, where)
    except _BadTrace:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError, OverflowError) as exc:
        # HDF5 reports damaged files through any of these (found by overwriting bytes of a good trace).
        raise ValueError(f"{where} is truncated or corrupt: {_one_line(exc)}") from None


def _read(h5: h5py.File, path: Path, where: str) -> Trace:
    if "schema_version" not in h5.attrs:
        raise _BadTrace(f"{where} is an HDF5 file but not a memsim trace (no schema_version attribute)")
    version = h5.attrs["schema_version"]
    if not isinstance(version, (int, np.integer)) or version < 1:
        raise _BadTrace(f"{where} has schema_version {version!r}; allowed: an integer from 1 to {SCHEMA_VERSION}")
    version = int(version)
    if version > SCHEMA_VERSION:
        raise _BadTrace(
            f"{where} has schema_version {version}, newer than this memsim ({__version__}) reads "
            f"(1 to {SCHEMA_VERSION}); upgrade memsim"
        )
    meta = {}
    for name in _JSON_ATTRS:
        if name not in h5.attrs:
            raise _BadTrace(f"{where} lacks the root attribute {name!r} of schema_version {version}")
        try:
            meta[name] = json.loads(h5.attrs[name])
        except (TypeError, ValueError):
            raise _BadTrace(f"{where}: root attribute {name!r} is not valid JSON; the file is corrupt") from None
    tables: dict[str, Table | None] = {}
    for name in TABLE_UNITS:
        if version < _TABLE_SINCE.get(name, 1) or (name in OPTIONAL_TABLES and name not in h5):
            tables[name] = None
        elif name not in h5:
            raise _BadTrace(f"{where} lacks the dataset {name!r} of schema_version {version}")
        else:
            tables[name] = _table(h5[name], name, where, version)
    return Trace(
        path=path,
        schema_version=version,
        memsim_version=_text(h5.attrs.get("memsim_version", "")),
        seed=int(h5.attrs.get("seed", meta["config"].get("seed", 0))),
        config=meta["config"],
        plan=meta["plan"],
        cards=meta["cards"],
        summary=meta["summary"],
        **tables,
    )


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _table(ds: h5py.Dataset, name: str, where: str, version: int = SCHEMA_VERSION) -> Table:
    """Read one compound dataset; text columns become numpy unicode, enum columns keep their codes."""
    if not isinstance(ds, h5py.Dataset) or ds.dtype.names is None:
        raise _BadTrace(f"{where}: {name!r} is not a table (compound dataset)")
    missing = [c for c in TABLE_UNITS[name] if c not in ds.dtype.names
               and version >= COLUMN_SINCE.get((name, c), 1) and (name, c) not in OPTIONAL_COLUMNS]
    if missing:
        raise _BadTrace(f"{where}: dataset {name!r} lacks the column(s) {', '.join(missing)}")
    try:
        units = json.loads(ds.attrs["units"])
    except (KeyError, TypeError, ValueError):
        raise _BadTrace(f"{where}: dataset {name!r} has no valid units attribute") from None
    raw = ds[()]
    enums: dict[str, tuple[str, ...]] = {}
    columns: dict[str, np.ndarray] = {}
    for column in raw.dtype.names:
        dtype = ds.dtype[column]
        mapping = h5py.check_enum_dtype(dtype)
        if mapping is not None:
            names = [""] * (max(mapping.values(), default=-1) + 1)
            for label, code in mapping.items():
                names[code] = label
            enums[column] = tuple(names)
            columns[column] = raw[column].astype(np.dtype(dtype.str))
            if columns[column].size and int(columns[column].max()) >= len(names):
                raise _BadTrace(f"{where}: dataset {name!r} column {column!r} holds codes outside its enum")
        elif h5py.check_string_dtype(dtype) is not None:
            # Text as fixed-width numpy unicode, so the table is a plain numpy value (no object dtype).
            columns[column] = np.array([_text(v) for v in raw[column]], dtype=str).reshape(raw.shape)
        else:
            columns[column] = raw[column]
    data = np.empty(raw.shape, dtype=[(c, v.dtype, v.shape[raw.ndim:]) for c, v in columns.items()])
    for column, values in columns.items():
        data[column] = values
    data.setflags(write=False)
    attrs = {k: _attr(v) for k, v in ds.attrs.items() if k != "units"}
    return Table(name, data, units, enums, attrs)


def _attr(value):
    """A dataset attribute as a plain Python value (numpy scalars unwrapped, bytes decoded)."""
    if isinstance(value, bytes):
        return value.decode()
    return value.item() if isinstance(value, np.generic) else value
