"""Writing the HDF5 trace: one file per run, written atomically (schema in ``traces/README.md``).

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
from memsim.files import check_writable, claim_temporary, discard_temporary, release_temporary
from memsim.ledger import ACTIONS, COMPONENTS, FS_PER_S, ZJ_PER_J, Ledger, LedgerRow

SCHEMA_VERSION = 5  # bump together with traces/README.md and the golden file traces/reference.h5
_BLOCK = 65536  # ledger rows buffered in memory before they are appended to the event table
_CHUNK_ROWS = 4096  # rows per compressed HDF5 chunk: small runs do not compress a mostly empty 2.5 MB chunk
_GZIP_LEVEL = 1  # fast deflate: the event table compresses well at any level, and writing keeps pace with the run

COMPONENT_ENUM = h5py.enum_dtype({name: i for i, name in enumerate(COMPONENTS)}, basetype="u1")
ACTION_ENUM = h5py.enum_dtype({name: i for i, name in enumerate(ACTIONS)}, basetype="u1")
_COMPONENT_CODE = {name: i for i, name in enumerate(COMPONENTS)}
_ACTION_CODE = {name: i for i, name in enumerate(ACTIONS)}
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
# Columns and units of every table (the reader checks a file against these).
TABLE_UNITS = {
    "events": EVENT_UNITS,
    "counters": {"component": "name", "action": "name", "count": "1", "energy_j": "J"},
    "layers": {"layer": "1", "rows": "1", "outputs": "1", "tiles": "1", "weight_bits": "bit",
               "columns_per_weight": "1", "truncated_bits": "bit", "macs_per_inference": "1",
               "energy_j": "J per chip run", "adc_clipped": "conversions per chip run"},
    "chips": {"chip": "1", "accuracy": "1", "bit_exact_rate": "1", "energy_j": "J", "makespan_s": "s",
              "events": "1", "latency_s": "s", "first_latency_s": "s", "throughput_inf_per_s": "1/s",
              "static_energy_j": "J"},
    "errors": {"chip": "1", "layer": "1", "bit": "bit", "count": "outputs"},
    "utilization": {"chip": "1", "component": "name", "busy_s": "s", "units": "1", "utilization": "1"},
    "reads": {"chip": "1", "layer": "1", "tile": "1", "reads": "array reads per row group"},
    "busy": {"layer": "1", "tile": "1", "component": "enum", "action": "enum", "vector": "1", "start_s": "s",
             "end_s": "s"},
    "confusion": {"chip": "1", "label": "1", "prediction": "1", "count": "inputs"},
    "outputs": {"chip": "1", "input": "1", "label": "1", "prediction": "1", "logits": "accumulator LSB"},
}
# Columns added to a table after its first schema (the reader accepts older files without them).
COLUMN_SINCE = {("chips", c): 3 for c in ("latency_s", "first_latency_s", "throughput_inf_per_s", "static_energy_j")}
# Tables written only when the run's config asks for them (``outputs``), and columns likewise.
OPTIONAL_TABLES = frozenset({"outputs"})
OPTIONAL_COLUMNS = frozenset({("outputs", "logits")})


def check_trace_path(path: str) -> Path:
    """Fail early (before simulating) when the trace cannot be written where asked."""
    return check_writable(path, "trace =", "run.h5")


def _table(h5: h5py.File, name: str, columns: dict[str, np.ndarray], compress: bool = False) -> None:
    """A compound dataset from equal-length columns, with a ``units`` attribute (JSON: column -> unit);
    ``compress``: chunked and gzip-compressed (for the larger tables). A 2-D column becomes an array-valued
    column (one fixed-length row per entry); ``OPTIONAL_COLUMNS`` may be left out."""
    units = {c: u for c, u in TABLE_UNITS[name].items() if c in columns or (name, c) not in OPTIONAL_COLUMNS}
    if list(columns) != list(units):
        raise RuntimeError(f"trace table {name!r}: columns {list(columns)} do not match TABLE_UNITS {list(units)}")
    dtype = np.dtype([(k, v.dtype if v.dtype != object else h5py.string_dtype(), v.shape[1:])
                      for k, v in columns.items()])
    n = len(next(iter(columns.values())))
    data = np.empty(n, dtype=dtype)
    for k, v in columns.items():
        data[k] = v
    extra = {"compression": "gzip", "compression_opts": _GZIP_LEVEL, "shuffle": True} if compress and n else {}
    ds = h5.create_dataset(name, data=data, **extra)
    ds.attrs["units"] = json.dumps(units)


class TraceWriter:
    """Streams ledger rows to the temporary ``.<stem>.tmp-<pid>.h5`` beside the target
    (``memsim.files.temporary_path``, registered as live) and renames it to ``target`` on ``finish``."""

    def __init__(self, path: str, ledger: Ledger) -> None:
        self.target = check_trace_path(path)
        self.tmp = claim_temporary(self.target)
        try:
            self.h5 = h5py.File(self.tmp, "w")
        except OSError as exc:
            discard_temporary(self.tmp)
            reason = os.strerror(exc.errno) if exc.errno else (exc.strerror or type(exc).__name__)
            raise ValueError(f"trace = {path!r} cannot be written: {reason}") from None
        except BaseException:
            discard_temporary(self.tmp)
            raise
        self.events = self.h5.create_dataset(
            "events", shape=(0,), maxshape=(None,), dtype=EVENT_DTYPE, chunks=(_CHUNK_ROWS,), compression="gzip",
            compression_opts=_GZIP_LEVEL, shuffle=True,
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
        t_fs, chip, layer, tile, component, action, count, energy_zj = zip(*rows, strict=True)
        block = np.empty(len(rows), dtype=EVENT_DTYPE)
        block["t_s"] = np.array(t_fs, dtype=np.float64) / FS_PER_S
        block["chip"] = chip
        block["layer"] = layer
        block["tile"] = tile
        block["component"] = [_COMPONENT_CODE[c] for c in component]
        block["action"] = [_ACTION_CODE[a] for a in action]
        block["count"] = count
        block["energy_j"] = np.array(energy_zj, dtype=np.float64) / ZJ_PER_J
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
            release_temporary(self.tmp)
        except BaseException:
            self.abort()
            raise
        return self.target

    def abort(self) -> None:
        """Close and delete the temporary file (idempotent)."""
        try:
            self.h5.close()
        finally:
            discard_temporary(self.tmp)

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
        h5.attrs["chip_ledger"] = json.dumps(chip_ledger(result), sort_keys=True)

        counts = result.ledger.counts()
        energy = result.ledger.by_action()
        keys = sorted(counts)
        _table(h5, "counters", {
            "component": np.array([k[0] for k in keys], dtype=object),
            "action": np.array([k[1] for k in keys], dtype=object),
            "count": np.array([counts[k] for k in keys], dtype=np.int64),
            "energy_j": np.array([energy[k] / ZJ_PER_J for k in keys], dtype=np.float64),
        })

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
            "macs_per_inference": np.array([l.macs_per_inference for l in layers], dtype=np.int64),
            "energy_j": np.array([by_layer.get(i, 0) / n_chips / ZJ_PER_J for i in range(len(layers))]),
            "adc_clipped": np.array([sum(c.clipped[i] for c in result.chips) / n_chips for i in range(len(layers))]),
        })

        _table(h5, "chips", {
            "chip": np.array([c.chip for c in result.chips], dtype=np.int32),
            "accuracy": np.array([c.accuracy for c in result.chips]),
            "bit_exact_rate": np.array([c.bit_exact_rate for c in result.chips]),
            "energy_j": np.array([c.energy_j for c in result.chips]),
            "makespan_s": np.array([c.makespan_s for c in result.chips]),
            "events": np.array([c.events for c in result.chips], dtype=np.int64),
            "latency_s": np.array([c.latency_s for c in result.chips]),
            "first_latency_s": np.array([c.first_latency_s for c in result.chips]),
            "throughput_inf_per_s": np.array([c.throughput_inf_per_s for c in result.chips]),
            "static_energy_j": np.array([sum(c.static_zj.values()) / ZJ_PER_J for c in result.chips]),
        })
        _table(h5, "errors", _errors(result.chips, len(layers)))
        kinds = sorted({k for c in result.chips for k in c.utilization})
        _table(h5, "utilization", {
            "chip": np.array([c.chip for c in result.chips for _ in kinds], dtype=np.int32),
            "component": np.array([k for _ in result.chips for k in kinds], dtype=object),
            "busy_s": np.array([c.busy_fs.get(k, 0) / FS_PER_S for c in result.chips for k in kinds]),
            "units": np.array([round(c.busy_fs.get(k, 0) / (c.utilization[k] * c.makespan_fs))
                               if c.utilization.get(k) else 0 for c in result.chips for k in kinds], dtype=np.int64),
            "utilization": np.array([c.utilization.get(k, 0.0) for c in result.chips for k in kinds]),
        })
        rows = [(c.chip, li, ti, int(r)) for c in result.chips for li, per in enumerate(c.reads)
                for ti, r in enumerate(per)]
        _table(h5, "reads", {
            "chip": np.array([r[0] for r in rows], dtype=np.int32),
            "layer": np.array([r[1] for r in rows], dtype=np.int32),
            "tile": np.array([r[2] for r in rows], dtype=np.int32),
            "reads": np.array([r[3] for r in rows], dtype=np.int64),
        })
        _busy(h5, result.chips[0].timeline if result.chips else None, result.chips[0].chip if result.chips else 0)
        _table(h5, "confusion", _confusion(result.chips), compress=True)
        if result.config.outputs != "none":
            _outputs(h5, result, logits=result.config.outputs == "logits")


def chip_ledger(result) -> list[dict]:
    """Per chip instance, in chip order, the exact integers (zJ, fs, counts) and the figures the run's aggregates
    are computed from (root attribute ``chip_ledger``, since schema 5): ``memsim trace merge`` sums them to
    recompute the counters, the layers' per-chip-run means and the summary exactly as the writer of one run of
    all the chips computes them. ``actions``: ``[component, action, count, energy_zj]`` sorted by component and
    action; ``layer_zj``/``clipped``: per layer; ``stages``: ``[latency_fs, period_fs, vectors,
    input_buffer_bits]`` per layer."""
    n_layers = len(result.design.layers)
    out = []
    for c in result.chips:
        counts = result.ledger.counts(chip=c.chip)
        energy = result.ledger.by_action(chip=c.chip)
        by_layer = result.ledger.by("layer", chip=c.chip)
        out.append({
            "chip": int(c.chip),
            "energy_zj": int(c.energy_zj),
            "makespan_fs": int(c.makespan_fs),
            "static_zj": int(sum(c.static_zj.values())),
            "clipped": [int(v) for v in c.clipped],
            "layer_zj": [int(by_layer.get(i, 0)) for i in range(n_layers)],
            "actions": [[k[0], k[1], int(counts[k]), int(energy.get(k, 0))] for k in sorted(counts)],
            "utilization": {k: float(v) for k, v in c.utilization.items()},
            "stages": [[int(v) for v in st] for st in c.stages],
        })
    return out


def _confusion(chips) -> dict[str, np.ndarray]:
    """Dense ``(chip, label, prediction)`` table of input counts: every pair of classes for every chip that
    recorded a confusion matrix, so that each chip's rows pivot into its square matrix."""
    chips = [c for c in chips if c.confusion is not None]
    classes = chips[0].confusion.shape[0] if chips else 0
    label, prediction = np.divmod(np.arange(classes * classes), classes)
    return {
        "chip": np.repeat(np.array([c.chip for c in chips], dtype=np.int32), classes * classes),
        "label": np.tile(label, len(chips)).astype(np.int32),
        "prediction": np.tile(prediction, len(chips)).astype(np.int32),
        "count": np.concatenate([c.confusion.ravel() for c in chips]).astype(np.int64) if chips
        else np.zeros(0, np.int64),
    }


def _outputs(h5: h5py.File, result, logits: bool) -> None:
    """Per input and chip: the true label and the prediction, and with ``logits`` the last layer's integer
    outputs as one array-valued column. Its attributes give the logits' scale (``logits × logits_lsb`` is the
    float network's output)."""
    chips = [c for c in result.chips if c.predictions is not None and (c.logits is not None or not logits)]
    n = len(result.labels)
    columns = {
        "chip": np.repeat(np.array([c.chip for c in chips], dtype=np.int32), n),
        "input": np.tile(np.arange(n, dtype=np.int64), len(chips)),
        "label": np.tile(result.labels.astype(np.int32), len(chips)),
        "prediction": np.concatenate([c.predictions for c in chips]) if chips else np.zeros(0, np.int32),
    }
    if logits:
        outputs = result.design.layers[-1].qlayer.out_features
        columns["logits"] = np.concatenate([c.logits for c in chips]) if chips else np.zeros((0, outputs), np.int64)
    _table(h5, "outputs", columns, compress=True)
    h5["outputs"].attrs["logits_frac_bits"] = result.logits_frac_bits
    h5["outputs"].attrs["logits_lsb"] = result.logits_lsb


def _busy(h5: h5py.File, timeline, chip: int = 0) -> None:
    """Busy intervals of the run's first chip's (``chip``, chip 0 unless the run simulated a chip range) first
    vectors (a sampled window; its attributes say which). The timeline's
    component and action codes are those of the ledger's vocabulary, as are the enumerations'."""
    n = 0 if timeline is None else len(timeline.start_fs)
    _table(h5, "busy", {
        "layer": timeline.layer.astype(np.int32) if n else np.zeros(0, np.int32),
        "tile": timeline.tile.astype(np.int32) if n else np.zeros(0, np.int32),
        "component": timeline.component.astype(COMPONENT_ENUM) if n else np.zeros(0, COMPONENT_ENUM),
        "action": timeline.action.astype(ACTION_ENUM) if n else np.zeros(0, ACTION_ENUM),
        "vector": timeline.vector.astype(np.int64) if n else np.zeros(0, np.int64),
        "start_s": timeline.start_fs / FS_PER_S if n else np.zeros(0),
        "end_s": timeline.stop_fs / FS_PER_S if n else np.zeros(0),
    }, compress=True)
    ds = h5["busy"]
    ds.attrs["chip"] = chip
    ds.attrs["window_vectors"] = 0 if timeline is None else timeline.vectors
    ds.attrs["total_vectors"] = 0 if timeline is None else timeline.total_vectors
    ds.attrs["sampled"] = (
        f"busy intervals of chip {chip} for its first window_vectors of total_vectors input vectors only "
        "(a sampled window: the schedule is periodic once the pipeline is full)"
    )


def _errors(chips, n_layers: int) -> dict[str, np.ndarray]:
    """Dense ``(chip, layer, bit)`` table of output counts by the highest set bit of |hardware - reference|.

    ``bit = -1`` counts outputs equal to the zero-variation reference; every (chip, layer) has the same bit
    range, from -1 to the highest bit any error of the run reached, so the table pivots without gaps.
    """
    longest = max((len(h) for c in chips for h in c.error_bits), default=1)
    chip_col, layer_col, bit_col, count_col = [], [], [], []
    for c in chips:
        for layer in range(n_layers):
            hist = c.error_bits[layer] if layer < len(c.error_bits) else ()
            for i in range(longest):
                chip_col.append(c.chip)
                layer_col.append(layer)
                bit_col.append(i - 1)
                count_col.append(hist[i] if i < len(hist) else 0)
    return {
        "chip": np.array(chip_col, dtype=np.int32),
        "layer": np.array(layer_col, dtype=np.int32),
        "bit": np.array(bit_col, dtype=np.int32),
        "count": np.array(count_col, dtype=np.int64),
    }


def _plan(design) -> dict:
    """The quantization plan the run used: formats, encoding, the ADC step and resolution (and the sums
    converted with fewer bits), discarded partial sums and compensation per layer."""
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
                "adc_step": l.adc_step,
                "adc_bits": card.adc.bits,
                "adc_bits_by_sum": {} if l.adc_coarse is None else {
                    f"s{s}t{t}": card.adc.bits - int(l.adc_coarse[t, s])
                    for t, s in zip(*np.nonzero(l.adc_coarse), strict=True)},
                "discard": [f"s{s}t{t}" for t, s in zip(*np.nonzero(~l.discard.keep), strict=True)],
                "compensation": l.discard.compensation.tolist(),
            }
            for l, card in zip(design.layers, design.layer_cards, strict=True)
        ],
    }
