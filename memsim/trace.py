"""The HDF5 trace: one file per run, written atomically (schema in ``traces/README.md``).

``TraceWriter`` subscribes to the ledger and streams its rows into a chunked, compressed, resizable event
table in a temporary file beside the target; ``finish`` adds the per-component, per-layer and per-chip
tables and the run's metadata, then renames the file into place. On any failure ``abort`` removes the
temporary file, so no half-written trace is ever left under the target name. Physics code never sees this
module: it only observes the ledger.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

from memsim import __version__
from memsim.ledger import ACTIONS, COMPONENTS, FS_PER_S, ZJ_PER_J, Ledger, LedgerRow

SCHEMA_VERSION = 1
_BLOCK = 65536

COMPONENT_ENUM = h5py.enum_dtype({name: i for i, name in enumerate(COMPONENTS)}, basetype="u1")
ACTION_ENUM = h5py.enum_dtype({name: i for i, name in enumerate(ACTIONS)}, basetype="u1")
EVENT_DTYPE = np.dtype(
    [
        ("t_s", "<f8"),
        ("chip", "<i4"),
        ("layer", "<i4"),
        ("tile", "<i4"),
        ("component", COMPONENT_ENUM),
        ("action", ACTION_ENUM),
        ("count", "<i8"),
        ("energy_j", "<f8"),
    ]
)
EVENT_UNITS = {"t_s": "s", "chip": "1", "layer": "1", "tile": "1", "component": "enum", "action": "enum",
               "count": "1", "energy_j": "J"}


def check_trace_path(path: str) -> Path:
    """Fail early (before simulating) when the trace cannot be written where asked."""
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"trace = {path!r}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"trace = {path!r}: directory {str(parent)!r} is not writable")
    if target.is_dir():
        raise ValueError(f"trace = {path!r} is a directory; give a file name such as run.h5")
    return target


def _table(h5: h5py.File, name: str, columns: dict[str, np.ndarray], units: dict[str, str]) -> None:
    """A compound dataset from equal-length columns, with a ``units`` attribute (JSON: column -> unit)."""
    dtype = np.dtype([(k, v.dtype if v.dtype != object else h5py.string_dtype()) for k, v in columns.items()])
    n = len(next(iter(columns.values())))
    data = np.empty(n, dtype=dtype)
    for k, v in columns.items():
        data[k] = v
    ds = h5.create_dataset(name, data=data)
    ds.attrs["units"] = json.dumps(units)


class TraceWriter:
    """Streams ledger rows to ``<target>.tmp-<pid>`` and renames it to ``target`` on ``finish``."""

    def __init__(self, path: str, ledger: Ledger) -> None:
        self.target = check_trace_path(path)
        self.tmp = self.target.with_name(f".{self.target.name}.tmp-{os.getpid()}")
        self.h5 = h5py.File(self.tmp, "w")
        self.events = self.h5.create_dataset(
            "events", shape=(0,), maxshape=(None,), dtype=EVENT_DTYPE, chunks=(_BLOCK,), compression="gzip",
            compression_opts=4, shuffle=True,
        )
        self.events.attrs["units"] = json.dumps(EVENT_UNITS)
        self._pending: list[LedgerRow] = []
        ledger.subscribe(self._observe)

    def _observe(self, row: LedgerRow) -> None:
        self._pending.append(row)
        if len(self._pending) >= _BLOCK:
            self._flush()

    def _flush(self) -> None:
        rows = self._pending
        if not rows:
            return
        block = np.empty(len(rows), dtype=EVENT_DTYPE)
        block["t_s"] = [r.t_fs / FS_PER_S for r in rows]
        block["chip"] = [r.chip for r in rows]
        block["layer"] = [r.layer for r in rows]
        block["tile"] = [r.tile for r in rows]
        block["component"] = [COMPONENTS.index(r.component) for r in rows]
        block["action"] = [ACTIONS.index(r.action) for r in rows]
        block["count"] = [r.count for r in rows]
        block["energy_j"] = [r.energy_zj / ZJ_PER_J for r in rows]
        n = self.events.shape[0]
        self.events.resize((n + len(rows),))
        self.events[n:] = block
        self._pending = []

    def finish(self, result) -> Path:
        """Write the result tables and metadata, close, and rename into place. ``result``: a SimResult."""
        try:
            self._flush()
            self._write_result(result)
            self.h5.close()
            os.replace(self.tmp, self.target)
        except BaseException:
            self.abort()
            raise
        return self.target

    def abort(self) -> None:
        """Close and delete the temporary file (idempotent)."""
        try:
            self.h5.close()
        finally:
            self.tmp.unlink(missing_ok=True)

    def _write_result(self, result) -> None:
        h5 = self.h5
        summary = result.summary()
        design = result.design
        h5.attrs["schema_version"] = SCHEMA_VERSION
        h5.attrs["memsim_version"] = __version__
        h5.attrs["seed"] = result.config.seed
        h5.attrs["config"] = result.config.to_json()
        h5.attrs["plan"] = json.dumps(_plan(design), sort_keys=True)
        h5.attrs["cards"] = json.dumps({result.card.name: result.card.to_dict()}, sort_keys=True)
        h5.attrs["summary"] = json.dumps(summary, sort_keys=True)

        counts = result.ledger.counts()
        energy: dict[tuple[str, str], int] = {}
        for r in result.ledger.rows:
            energy[(r.component, r.action)] = energy.get((r.component, r.action), 0) + r.energy_zj
        keys = sorted(counts)
        _table(h5, "counters", {
            "component": np.array([k[0] for k in keys], dtype=object),
            "action": np.array([k[1] for k in keys], dtype=object),
            "count": np.array([counts[k] for k in keys], dtype=np.int64),
            "energy_j": np.array([energy[k] / ZJ_PER_J for k in keys], dtype=np.float64),
        }, {"component": "name", "action": "name", "count": "1", "energy_j": "J"})

        n_chips = len(result.chips)
        by_layer = result.ledger.by("layer")
        layers = design.layers
        _table(h5, "layers", {
            "layer": np.arange(len(layers), dtype=np.int32),
            "rows": np.array([l.qlayer.rows for l in layers], dtype=np.int32),
            "outputs": np.array([l.qlayer.outputs for l in layers], dtype=np.int32),
            "tiles": np.array([len(l.mapping.tiles) for l in layers], dtype=np.int32),
            "weight_bits": np.array([l.qlayer.w_format.bits for l in layers], dtype=np.int32),
            "columns_per_weight": np.array([l.encoded.kinds for l in layers], dtype=np.int32),
            "truncated_bits": np.array([l.qlayer.shift for l in layers], dtype=np.int32),
            "macs_per_inference": np.array([l.qlayer.rows * l.qlayer.outputs for l in layers], dtype=np.int64),
            "energy_j": np.array([by_layer.get(i, 0) / n_chips / ZJ_PER_J for i in range(len(layers))]),
            "adc_clipped": np.array([sum(c.clipped[i] for c in result.chips) / n_chips for i in range(len(layers))]),
        }, {"layer": "1", "rows": "1", "outputs": "1", "tiles": "1", "weight_bits": "bit",
            "columns_per_weight": "1", "truncated_bits": "bit", "macs_per_inference": "1",
            "energy_j": "J per chip run", "adc_clipped": "conversions per chip run"})

        _table(h5, "chips", {
            "chip": np.array([c.chip for c in result.chips], dtype=np.int32),
            "accuracy": np.array([c.accuracy for c in result.chips]),
            "bit_exact_rate": np.array([c.bit_exact_rate for c in result.chips]),
            "energy_j": np.array([c.energy_j for c in result.chips]),
            "makespan_s": np.array([c.makespan_s for c in result.chips]),
            "events": np.array([c.events for c in result.chips], dtype=np.int64),
        }, {"chip": "1", "accuracy": "1", "bit_exact_rate": "1", "energy_j": "J", "makespan_s": "s",
            "events": "1"})


def _plan(design) -> dict:
    """The quantization plan the run used: formats and encoding per layer."""
    return {
        "encoding": design.encoding,
        "layers": [
            {
                "layer": l.qlayer.index,
                "input_bits": l.qlayer.in_format.bits,
                "input_frac_bits": l.qlayer.in_format.frac_bits,
                "weight_bits": l.qlayer.w_format.bits,
                "weight_frac_bits": l.qlayer.w_format.frac_bits,
                "output_bits": l.qlayer.out_format.bits if l.qlayer.out_format else None,
                "output_frac_bits": l.qlayer.out_format.frac_bits if l.qlayer.out_format else None,
                "truncated_bits": l.qlayer.shift,
                "columns_per_weight": l.encoded.kinds,
            }
            for l in design.layers
        ],
    }
