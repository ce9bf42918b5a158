"""Reading a trace back: ``memsim.trace.open(path)`` returns a ``Trace`` of numpy tables with their units.

The whole file is read at open and closed again, so a ``Trace`` is a plain in-memory value that notebooks,
the ``memsim trace`` commands and plots share. Opening checks what a user can get wrong and says so in one
line (a ``ValueError`` naming the file): a missing path, a file that is not HDF5, an HDF5 file that is not a
memsim trace, a truncated or corrupt file, and a ``schema_version`` this memsim does not know (a newer
memsim wrote it). A trace is untrusted input: before reading anything, ``check_structure`` refuses links,
external and virtual storage, unknown filters and declared sizes the file cannot hold; the tables may declare at
most ``max_bytes`` together; the JSON attributes are checked against ``_JSON_SCHEMA`` and an empty ``chips``
table is refused (traces/README.md, "Reading"). Every schema from 1 up to ``SCHEMA_VERSION`` is read; tables
that an older schema lacks are ``None`` (``errors`` before schema 2; ``utilization``, ``reads`` and ``busy``
before schema 3, whose ``chips`` table also lacks the latency, throughput and static-energy columns;
``confusion`` and ``outputs`` before schema 4; the ``chip_ledger`` attribute before schema 5). ``outputs`` is
also ``None`` in a trace of a run that did not ask for it (config ``outputs = "none"``), and has its ``logits``
column only when the run asked for the logits.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from memsim import __version__
from memsim.trace.writer import COLUMN_SINCE, OPTIONAL_COLUMNS, OPTIONAL_TABLES, SCHEMA_VERSION, TABLE_UNITS

# The schema version that introduced each table (tables absent here exist since schema 1).
_TABLE_SINCE = {"errors": 2, "utilization": 3, "reads": 3, "busy": 3, "confusion": 4, "outputs": 4}
_JSON_ATTRS = ("config", "plan", "cards", "summary")
# The reader's memory budget: the most the tables of one trace may declare together (``open_trace(max_bytes=)``,
# ``memsim trace ... --max-read-mb``).
DEFAULT_MAX_BYTES = 1 << 30
# The HDF5 filters a trace may use (memsim writes gzip with shuffle); others are refused, so reading never loads
# a filter plugin.
_FILTERS = {1: "deflate/gzip", 2: "shuffle", 3: "fletcher32", 32000: "lzf"}
# Declared size / stored size above which a dataset is refused: more than deflate's best ratio (1032:1) gives.
_MAX_RATIO = 1100
_MIN_CHECKED = 1 << 20  # datasets declaring at most this many bytes are not held to _MAX_RATIO
_MAX_ENUM = 1 << 16  # enum codes a table column may use (memsim's enums are u1)
_MAX_DEPTH = 32  # nesting of a JSON attribute (memsim's are at most 5 deep)


def _show(value) -> str:
    """A JSON value for a message: its JSON text, shortened."""
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


_INT = "an integer"
_NUM = "a number"
_STR = "a string"
_OBJ = "a JSON object"
_LIST = "a JSON array"


def _is(value, kind: str) -> bool:
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _NUM:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == _STR:
        return isinstance(value, str)
    if kind == _OBJ:
        return isinstance(value, dict)
    return isinstance(value, list)


# What the reader and ``memsim.trace.report`` rely on in each JSON root attribute (traces/README.md): per key,
# (expected kind, may it be null, is it required); nested objects by "key.sub", array items by "key[]".
_JSON_SCHEMA: dict[str, dict[str, tuple[str, bool, bool]]] = {
    "config": {
        "": (_OBJ, False, True), "seed": (_INT, False, False), "chips": (_INT, False, False),
        "chip_range": (_LIST, False, False),
        "outputs": (_STR, False, False), "trace": (_STR, False, False), "workload": (_OBJ, False, False),
        "devices": (_OBJ, False, False), "quantization": (_OBJ, False, False), "mapping": (_OBJ, False, False),
        "timing": (_OBJ, False, False), "timing.age_s": (_NUM, True, False),
    },
    "plan": {
        "": (_OBJ, False, True), "encoding": (_STR, False, True), "layers": (_LIST, False, True),
        "layers[]": (_OBJ, False, True), "layers[].layer": (_INT, False, True),
        **{f"layers[].{k}": (_INT, False, False) for k in ("input_bits", "input_frac_bits", "weight_bits",
                                                            "weight_frac_bits", "truncated_bits",
                                                            "columns_per_weight", "adc_bits")},
        "layers[].output_bits": (_INT, True, False), "layers[].output_frac_bits": (_INT, True, False),
        "layers[].adc_step": (_NUM, False, False), "layers[].discard": (_LIST, False, False),
        "layers[].compensation": (_LIST, False, False),
    },
    "cards": {"": (_OBJ, False, True), "*": (_OBJ, False, False), "*.name": (_STR, False, False),
              "*.description": (_STR, False, False)},
    "summary": {
        "": (_OBJ, False, True), "inferences": (_INT, False, True), "card": (_STR, True, False),
        "network": (_STR, True, False), "dataset": (_STR, True, False), "accuracy_float": (_NUM, True, False),
        "accuracy_quantized": (_NUM, True, False), "classes": (_INT, True, False), "stages": (_LIST, True, False),
        "stages[]": (_OBJ, False, True), "stages[].latency_s": (_NUM, False, True),
        "stages[].period_s": (_NUM, False, True), "stages[].layer": (_INT, False, False),
        "stages[].vectors": (_INT, False, False), "stages[].input_buffer_bits": (_INT, False, False),
    },
}


def _depth(value) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if d > _MAX_DEPTH:
            break
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)
    return deepest


def check_json(attr: str, value, where: str) -> None:
    """Check a parsed JSON root attribute against ``_JSON_SCHEMA``: one-line ``ValueError`` naming the attribute,
    the key, its value and what is expected."""
    if _depth(value) > _MAX_DEPTH:
        raise _BadTrace(f"{where}: root attribute {attr!r} nests JSON deeper than {_MAX_DEPTH} levels; expected "
                        "the layout of traces/README.md")
    schema = _JSON_SCHEMA[attr]

    def check(spec: str, label: str, v, present: bool) -> None:
        kind, nullable, required = schema[spec]
        if not present:
            if required:
                raise _BadTrace(f"{where}: root attribute {attr!r} lacks {label or 'its value'}; expected {kind} "
                                "there (traces/README.md)")
            return
        if v is None and nullable:
            return
        if not _is(v, kind):
            name = f"{attr!r}" if not label else f"{attr!r} key {label}"
            raise _BadTrace(f"{where}: root attribute {name} is {_show(v)}; expected {kind}"
                            f"{' or null' if nullable else ''} (traces/README.md)")
        for sub in schema:
            head = f"{spec}." if spec else ""
            if kind == _OBJ and sub.startswith(head) and sub != spec and "." not in sub[len(head):] \
                    and "[]" not in sub[len(head):]:
                key = sub[len(head):]
                if key == "*":
                    for k, x in v.items():
                        check(sub, f"{label}.{k}" if label else k, x, True)
                else:
                    check(sub, f"{label}.{key}" if label else key, v.get(key), key in v)
            if kind == _LIST and sub == f"{spec}[]":
                for i, x in enumerate(v):
                    check(sub, f"{label}[{i}]", x, True)

    check("", "", value, True)
    if attr == "summary":
        for i, stage in enumerate(value.get("stages") or ()):
            if ("vectors" in stage) != ("input_buffer_bits" in stage):
                raise _BadTrace(f"{where}: root attribute 'summary' key stages[{i}] is {_show(stage)}; expected "
                                "both vectors and input_buffer_bits or neither (traces/README.md)")


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
    # Since schema 5: per chip, the exact ledger integers the aggregates are computed from (``chip_ledger``
    # attribute, memsim.trace.writer.chip_ledger); None before.
    chip_ledger: list | None = None

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


def open_trace(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Trace:
    """Read a memsim trace; ``ValueError`` (one line, naming the file) if it is not a readable one.

    ``max_bytes``: the most the tables may declare together (shape × item size, summed), the reader's memory
    budget. Links, external or virtual storage and implausible declared sizes are refused before any data
    is read (``check_structure``).
    """
    p = Path(path)
    where = f"trace {str(p)!r}"
    if not p.exists():
        raise _BadTrace(f"{where} does not exist")
    if p.is_dir():
        raise _BadTrace(f"{where} is a directory; give a trace file such as memsim-trace.h5")
    if not p.is_file():
        raise _BadTrace(f"{where} is not a regular file; give a trace file such as memsim-trace.h5")
    try:
        is_hdf5 = h5py.is_hdf5(p)
    except OSError as exc:
        raise _BadTrace(f"{where} cannot be read: {_one_line(exc)}") from None
    if not is_hdf5:
        raise _BadTrace(f"{where} is not an HDF5 file; memsim traces are HDF5 files written by memsim simulate")
    try:
        with h5py.File(p, "r") as h5:
            check_structure(h5, where, p.stat().st_size)
            return _read(h5, p, where, max_bytes)
    except _BadTrace:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError, OverflowError) as exc:
        # HDF5 reports damaged files through any of these (found by overwriting bytes of a good trace).
        raise ValueError(f"{where} is truncated or corrupt: {_one_line(exc)}") from None


def _size(shape: tuple[int, ...], itemsize: int) -> int:
    return math.prod(int(n) for n in shape) * int(itemsize)


def _bytes(n: int) -> str:
    return f"{n:,} bytes"


def check_structure(h5: h5py.File, where: str, file_size: int) -> None:
    """Refuse, before any data is read, what could make reading the file touch other files or allocate what
    the file cannot hold: any link that is not a hard link (external links, which HDF5 would resolve by opening
    another file, and soft links), datasets stored in external files or virtual (mapped onto other files),
    filters other than those of ``_FILTERS``, a dataset whose declared size (shape × item size) is more than
    ``_MAX_RATIO`` times what it stores (beyond any compression, e.g. a 2**40-row dataset with nothing
    written) or stores more than the file holds, and an attribute that declares more than the file holds.
    Walks every group, checking each link with ``getlink=True`` before opening what it points to."""
    seen: set[int] = set()
    stack: list[tuple[h5py.Group, str]] = [(h5, "/")]
    _check_attrs(h5, "/", where, file_size)
    while stack:
        group, prefix = stack.pop()
        for name in group:
            full = prefix + name
            try:
                link = group.get(name, getlink=True)
            except (TypeError, KeyError, OSError, RuntimeError, ValueError):
                link = None
            if isinstance(link, h5py.ExternalLink):
                raise _BadTrace(f"{where}: {full!r} is an external link (to {link.path!r} in file {link.filename!r}); "
                                "allowed: only hard links within the file (memsim traces hold no links)")
            if isinstance(link, h5py.SoftLink):
                raise _BadTrace(f"{where}: {full!r} is a soft link (to {link.path!r}); allowed: only hard links "
                                "within the file (memsim traces hold no links)")
            if not isinstance(link, h5py.HardLink):
                raise _BadTrace(f"{where}: {full!r} is a link of an unknown kind; allowed: only hard links within "
                                "the file")
            obj = group[name]
            key = hash(obj.id)
            if key in seen:
                continue
            seen.add(key)
            _check_attrs(obj, full, where, file_size)
            if isinstance(obj, h5py.Group):
                stack.append((obj, full + "/"))
            elif isinstance(obj, h5py.Dataset):
                _check_dataset(obj, full, where, file_size)


def _check_attrs(obj, full: str, where: str, file_size: int) -> None:
    for name in obj.attrs:
        aid = obj.attrs.get_id(name)
        declared = _size(aid.shape or (), aid.dtype.itemsize)
        if declared > file_size:
            raise _BadTrace(f"{where}: attribute {name!r} of {full!r} declares {_bytes(declared)} (shape "
                            f"{aid.shape}); allowed: at most the file's {_bytes(file_size)}")


def _check_dataset(ds: h5py.Dataset, full: str, where: str, file_size: int) -> None:
    plist = ds.id.get_create_plist()
    if plist.get_layout() == h5py.h5d.VIRTUAL:
        raise _BadTrace(f"{where}: dataset {full!r} is a virtual dataset (its data lives in other files); "
                        "allowed: datasets stored in the trace file")
    if plist.get_external_count():
        raise _BadTrace(f"{where}: dataset {full!r} has external storage (raw data in file "
                        f"{plist.get_external(0)[0].decode(errors='replace')!r}); allowed: datasets stored in the "
                        "trace file")
    for i in range(plist.get_nfilters()):
        code = plist.get_filter(i)[0]
        if code not in _FILTERS:
            raise _BadTrace(f"{where}: dataset {full!r} uses HDF5 filter {code}; allowed: "
                            + ", ".join(f"{c} ({n})" for c, n in _FILTERS.items()))
    declared = _size(ds.shape or (), ds.dtype.itemsize)
    stored = ds.id.get_storage_size()
    if stored > file_size:
        raise _BadTrace(f"{where}: dataset {full!r} claims to store {_bytes(stored)} in a file of "
                        f"{_bytes(file_size)}; the file is corrupt")
    if declared > _MIN_CHECKED and declared > _MAX_RATIO * stored:
        raise _BadTrace(f"{where}: dataset {full!r} declares shape {ds.shape} × {ds.dtype.itemsize} bytes = "
                        f"{_bytes(declared)} but stores {_bytes(stored)}; allowed: at most {_MAX_RATIO} times what "
                        "it stores (more than any compression gives)")


def _read(h5: h5py.File, path: Path, where: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Trace:
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
        except (TypeError, ValueError, RecursionError):
            raise _BadTrace(f"{where}: root attribute {name!r} is not valid JSON (or nests too deeply); the file is "
                            "corrupt") from None
        check_json(name, meta[name], where)
    chip_ledger = None
    if version >= 5:
        if "chip_ledger" not in h5.attrs:
            raise _BadTrace(f"{where} lacks the root attribute 'chip_ledger' of schema_version {version}")
        try:
            chip_ledger = json.loads(h5.attrs["chip_ledger"])
        except (TypeError, ValueError, RecursionError):
            raise _BadTrace(f"{where}: root attribute 'chip_ledger' is not valid JSON (or nests too deeply); the "
                            "file is corrupt") from None
        if (not isinstance(chip_ledger, list) or _depth(chip_ledger) > _MAX_DEPTH
                or not all(isinstance(c, dict) for c in chip_ledger)):
            raise _BadTrace(f"{where}: root attribute 'chip_ledger' is {_show(chip_ledger)}; expected a JSON array "
                            "of one object per chip (traces/README.md)")
    seed = h5.attrs.get("seed", meta["config"].get("seed", 0))
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, (bool, np.bool_)):
        raise _BadTrace(f"{where}: root attribute 'seed' is {seed!r}; expected an integer")
    present = []
    for name in TABLE_UNITS:
        if version < _TABLE_SINCE.get(name, 1) or (name in OPTIONAL_TABLES and name not in h5):
            continue
        if name not in h5:
            raise _BadTrace(f"{where} lacks the dataset {name!r} of schema_version {version}")
        present.append(name)
    declared = {name: _size(h5[name].shape or (), h5[name].dtype.itemsize) for name in present}
    if sum(declared.values()) > max_bytes:
        big = max(declared, key=declared.get)
        raise _BadTrace(f"{where}: the tables declare {_bytes(sum(declared.values()))} (dataset {big!r}: shape "
                        f"{h5[big].shape} × {h5[big].dtype.itemsize} bytes); allowed: at most {_bytes(max_bytes)}, "
                        "the reader's memory budget (--max-read-mb)")
    tables: dict[str, Table | None] = dict.fromkeys(TABLE_UNITS)
    for name in present:
        tables[name] = _table(h5[name], name, where, version)
    if len(tables["chips"]) == 0:
        raise _BadTrace(f"{where}: the chips table is empty; allowed: at least one chip instance (one row per chip)")
    confusion = tables["confusion"]
    if confusion is not None and len(confusion):
        low = min(int(confusion["label"].min()), int(confusion["prediction"].min()))
        classes = max(int(confusion["label"].max()), int(confusion["prediction"].max())) + 1
        if low < 0 or len(tables["chips"]) * classes * classes * 8 > max_bytes:
            raise _BadTrace(f"{where}: dataset 'confusion' has labels and predictions from {low} to {classes - 1}; "
                            f"allowed: classes from 0, with chips × classes² × 8 bytes at most {_bytes(max_bytes)}")
    return Trace(
        path=path,
        schema_version=version,
        memsim_version=_text(h5.attrs.get("memsim_version", "")),
        seed=int(seed),
        config=meta["config"],
        plan=meta["plan"],
        cards=meta["cards"],
        summary=meta["summary"],
        chip_ledger=chip_ledger,
        **tables,
    )


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _table(ds: h5py.Dataset, name: str, where: str, version: int = SCHEMA_VERSION) -> Table:
    """Read one compound dataset; text columns become numpy unicode, enum columns keep their codes."""
    if not isinstance(ds, h5py.Dataset) or ds.dtype.names is None or ds.ndim != 1:
        raise _BadTrace(f"{where}: {name!r} is not a table (one-dimensional compound dataset)")
    missing = [c for c in TABLE_UNITS[name] if c not in ds.dtype.names
               and version >= COLUMN_SINCE.get((name, c), 1) and (name, c) not in OPTIONAL_COLUMNS]
    if missing:
        raise _BadTrace(f"{where}: dataset {name!r} lacks the column(s) {', '.join(missing)}")
    try:
        units = json.loads(ds.attrs["units"])
    except (KeyError, TypeError, ValueError, RecursionError):
        raise _BadTrace(f"{where}: dataset {name!r} has no valid units attribute") from None
    if not isinstance(units, dict) or not all(isinstance(u, str) for u in units.values()):
        raise _BadTrace(f"{where}: dataset {name!r} has units {_show(units)}; expected a JSON object mapping each "
                        "column to its unit (a string)")
    for column, unit in TABLE_UNITS[name].items():
        if column not in ds.dtype.names:
            continue
        dtype = ds.dtype[column]
        is_enum = h5py.check_enum_dtype(dtype) is not None
        is_text = h5py.check_string_dtype(dtype) is not None
        if unit == "enum":
            ok, expected = is_enum, "an HDF5 enumeration"
        elif unit == "name":
            ok, expected = is_text, "text"
        else:
            ok, expected = not is_enum and dtype.base.kind in "iuf", "numbers"
        if not ok:
            raise _BadTrace(f"{where}: dataset {name!r} column {column!r} has dtype {dtype}; expected {expected}")
        mapping = h5py.check_enum_dtype(dtype)
        if mapping and not all(0 <= code < _MAX_ENUM for code in mapping.values()):
            raise _BadTrace(f"{where}: dataset {name!r} column {column!r} has enum codes "
                            f"{sorted(mapping.values())}; allowed: codes from 0 to {_MAX_ENUM - 1}")
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
