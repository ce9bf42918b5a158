"""``memsim trace merge``: the traces of runs over disjoint chip ranges as the trace of one run of them all.

Chip ``k`` of a run draws everything from its own generator, seeded with ``SeedSequence(seed, spawn_key=(k,))``
(``memsim.simulate.chip_generator``), so a run of ``chip_range = [a, b]`` simulates exactly chips ``a..b-1`` of
the run of every chip. ``merge_traces`` checks that the traces are of one configuration (the same config but
for ``chip_range`` and ``trace``, the same plan, cards, schema and memsim version) and that their chip ranges
are disjoint and join into one range, then writes, atomically, the trace that one run of the joined range writes
(traces/README.md, "Merging"):

- per-chip tables (``events``, ``chips``, ``reads``, ``confusion``, ``outputs``) are concatenated in chip order;
  ``errors`` and ``utilization`` are re-padded to the joined run's bit range and component kinds;
- the aggregates (``counters``, the ``layers`` table's per-chip-run energy and clipping, the ``summary``
  attribute) are recomputed from the per-chip exact integers of the ``chip_ledger`` attribute with the same
  arithmetic as the writer (``memsim.figures.headline_figures`` for the summary);
- ``busy`` (the timeline of the run's first chip only) is taken from the trace holding the lowest chip;
- the ``config`` attribute gets the joined ``chip_range`` and ``trace`` = the output path, as a run of the
  joined range writing to that path would record.

The result equals, dataset by dataset and attribute by attribute, the trace of the joined run written to the
output path. Bad input is a one-line ``ValueError``, raised before anything is written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

from memsim.config import check_chip_range, check_not_input
from memsim.figures import RunMeasurements, headline_figures
from memsim.files import check_writable, claim_temporary, discard_temporary, release_temporary
from memsim.ledger import FS_PER_S, ZJ_PER_J
from memsim.trace.reader import DEFAULT_MAX_BYTES, Table, Trace, open_trace
from memsim.trace.writer import (ACTION_ENUM, COMPONENT_ENUM, EVENT_DTYPE, EVENT_UNITS, SCHEMA_VERSION, TABLE_UNITS,
                                 _CHUNK_ROWS, _GZIP_LEVEL, _table)

# Tables the writer compresses (memsim.trace.writer); the others are written plain.
_COMPRESSED = frozenset({"busy", "confusion", "outputs"})
_ENUMS = {"component": COMPONENT_ENUM, "action": ACTION_ENUM}
# Config keys that may differ between the traces of one merge: which chips ran, and where the trace went.
_PER_RUN_KEYS = ("chip_range", "trace")


def _difference(a, b, prefix: str = "") -> str | None:
    """The first key (dotted) where two JSON values differ, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{prefix}{key}"
            sub = _difference(a[key], b[key], f"{prefix}{key}.")
            if sub is not None:
                return sub
        return None
    return None if json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) else prefix.rstrip(".") or "(root)"


def _lookup(value, dotted: str):
    for key in dotted.split("."):
        value = value.get(key, "(missing)") if isinstance(value, dict) else "(missing)"
    return value


def _show(value) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _chips(tr: Trace) -> range:
    """The trace's chips as a range, checked against its config and its ``chip_ledger``."""
    where = f"trace {str(tr.path)!r}"
    chips = [int(c) for c in tr.chips["chip"]]
    total = tr.config.get("chips", len(chips))
    try:
        span = check_chip_range(tr.config.get("chip_range", []), total)
    except ValueError as exc:
        raise ValueError(f"{where}: config {exc}") from None
    expected = range(*span) if span else range(total)
    if chips != list(expected):
        raise ValueError(f"{where} holds chips {_show(chips)} but its config ran chips {expected.start}.."
                         f"{expected.stop - 1}; the file is not a whole run")
    ledger = tr.chip_ledger or []
    if [entry.get("chip") for entry in ledger] != chips:
        raise ValueError(f"{where}: root attribute 'chip_ledger' does not list chips {_show(chips)}; the file is "
                         "corrupt")
    return expected


def _check_same(first: Trace, tr: Trace) -> None:
    """One configuration: schema, memsim version, config but for ``_PER_RUN_KEYS``, plan and cards."""
    a, b = str(first.path), str(tr.path)
    if tr.schema_version != first.schema_version:
        raise ValueError(f"trace {b!r} has schema_version {tr.schema_version} and trace {a!r} "
                         f"{first.schema_version}; allowed: traces of one schema")
    if tr.memsim_version != first.memsim_version:
        raise ValueError(f"trace {b!r} was written by memsim {tr.memsim_version} and trace {a!r} by "
                         f"{first.memsim_version}; allowed: traces of one memsim version")
    for attr in ("config", "plan", "cards"):
        x, y = getattr(first, attr), getattr(tr, attr)
        if attr == "config":
            x = {k: v for k, v in x.items() if k not in _PER_RUN_KEYS}
            y = {k: v for k, v in y.items() if k not in _PER_RUN_KEYS}
        key = _difference(x, y)
        if key is not None:
            raise ValueError(f"trace {b!r} differs from trace {a!r} in {attr} key {key!r} "
                             f"({_show(_lookup(y, key))} vs {_show(_lookup(x, key))}); allowed: traces of one "
                             "configuration but for chip_range (and the trace path)")
    if tr.seed != first.seed:
        raise ValueError(f"trace {b!r} has seed {tr.seed} and trace {a!r} {first.seed}; allowed: traces of one seed")


def _columns(table: Table) -> dict[str, np.ndarray]:
    """A table's columns as the writer passes them to ``_table``: text as objects, enums with their HDF5 enum."""
    out = {}
    for column in table.columns:
        values = table[column]
        unit = table.units.get(column, TABLE_UNITS[table.name].get(column))
        if unit == "name":
            values = values.astype(object)
        elif unit == "enum":
            values = values.astype(_ENUMS[column])
        out[column] = values
    return out


def _concatenate(tables: list[Table]) -> dict[str, np.ndarray]:
    parts = [_columns(t) for t in tables]
    return {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}


def _errors(parts: list[Trace], n_layers: int) -> dict[str, np.ndarray]:
    """``errors`` of the joined run: every (chip, layer) over the joined run's bit range (zeros beyond a part's)."""
    blocks = []
    for tr in parts:
        chips = len(tr.chips)
        longest = len(tr.errors) // (chips * n_layers) if chips * n_layers else 0
        blocks.append(np.asarray(tr.errors["count"], dtype=np.int64).reshape(chips, n_layers, longest))
    longest = max(b.shape[2] for b in blocks)
    counts = np.concatenate([np.pad(b, ((0, 0), (0, 0), (0, longest - b.shape[2]))) for b in blocks])
    chips = np.concatenate([np.asarray(tr.chips["chip"], dtype=np.int32) for tr in parts])
    return {
        "chip": np.repeat(chips, n_layers * longest).astype(np.int32),
        "layer": np.tile(np.repeat(np.arange(n_layers, dtype=np.int32), longest), len(chips)),
        "bit": np.tile(np.arange(longest, dtype=np.int32) - 1, len(chips) * n_layers),
        "count": counts.ravel(),
    }


def _utilization(parts: list[Trace]) -> dict[str, np.ndarray]:
    """``utilization`` of the joined run: every chip over the sorted union of component kinds (a kind a chip
    lacks is zero there, as the writer writes it)."""
    rows: dict[tuple[int, str], tuple] = {}
    for tr in parts:
        u = tr.utilization
        for i, (chip, kind) in enumerate(zip(u["chip"], u["component"], strict=True)):
            rows[int(chip), str(kind)] = (u["busy_s"][i], u["units"][i], u["utilization"][i])
    kinds = sorted({k for _, k in rows})
    chips = [int(c) for tr in parts for c in tr.chips["chip"]]
    zero = (np.float64(0.0), np.int64(0), np.float64(0.0))
    picked = [rows.get((c, k), zero) for c in chips for k in kinds]
    return {
        "chip": np.array([c for c in chips for _ in kinds], dtype=np.int32),
        "component": np.array([k for _ in chips for k in kinds], dtype=object),
        "busy_s": np.array([p[0] for p in picked], dtype=np.float64),
        "units": np.array([p[1] for p in picked], dtype=np.int64),
        "utilization": np.array([p[2] for p in picked], dtype=np.float64),
    }


def _summary(parts: list[Trace], config: dict, ledger: list[dict]) -> dict:
    """The joined run's headline figures, reduced as ``SimResult.summary`` reduces a run's (exact integers of the
    chip ledger, per-chip floats of the chips table)."""
    first = parts[0]
    s = first.summary
    chips = [tr.chips for tr in parts]
    n = len(ledger)

    def column(name):
        return [float(v) for t in chips for v in t[name]]

    by_component: dict[str, int] = {}
    conversions = 0
    for entry in ledger:
        for component, action, count, zj in entry["actions"]:
            by_component[component] = by_component.get(component, 0) + zj
            if (component, action) == ("adc", "convert"):
                conversions += count
    return headline_figures(RunMeasurements(
        card=s.get("card"),
        network=s.get("network"),
        dataset=s.get("dataset"),
        seed=first.seed,
        inferences=int(s["inferences"]),
        macs_per_inference=int(s["macs_per_inference"]),
        accuracy_float=s.get("accuracy_float"),
        accuracy_quantized=s.get("accuracy_quantized"),
        accuracy_per_chip=tuple(column("accuracy")),
        bit_exact_rate_per_chip=tuple(column("bit_exact_rate")),
        energy_j=sum(e["energy_zj"] for e in ledger) / n / ZJ_PER_J,
        energy_by_component_j={k: v / n / ZJ_PER_J for k, v in by_component.items()},
        run_time_s=sum(e["makespan_fs"] for e in ledger) / n / FS_PER_S,
        adc_conversions_total=conversions,
        adc_clipped_total=sum(sum(e["clipped"]) for e in ledger),
        tiles=int(s["tiles"]),
        events=sum(int(v) for t in chips for v in t["events"]),
        trace=config.get("trace") or None,
        latency_s_per_chip=tuple(column("latency_s")),
        first_latency_s_per_chip=tuple(column("first_latency_s")),
        throughput_inf_per_s_per_chip=tuple(column("throughput_inf_per_s")),
        utilization_per_chip=tuple(e["utilization"] for e in ledger),
        static_energy_j=sum(e["static_zj"] for e in ledger) / n / ZJ_PER_J,
        stages_s=tuple((lat / FS_PER_S, period / FS_PER_S, vectors, buffer)
                       for lat, period, vectors, buffer in ledger[0]["stages"]),
        age_s=config.get("timing", {}).get("age_s"),
        classes=s.get("classes"),
        area_m2=s.get("area_m2"),  # the mapping's, the same in every piece
        area_by_component_m2=s.get("area_by_component_m2"),
        area_by_layer=s.get("area_by_layer"),
    ))


def merge_traces(paths: list[str], output: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
    """Merge the traces at ``paths`` (runs of one configuration over disjoint chip ranges) into ``output``, the
    trace of one run of the joined range written to ``output``; returns its path. See the module docstring."""
    if len(paths) < 2:
        raise ValueError(f"merge needs at least two traces; got {len(paths)}")
    target = check_writable(output, "-o/--output", "all.h5")
    for p in paths:
        check_not_input("-o/--output", output, "input trace", p)
    traces = [open_trace(p, max_bytes) for p in paths]
    for tr in traces:
        if tr.schema_version != SCHEMA_VERSION:
            raise ValueError(f"trace {str(tr.path)!r} has schema_version {tr.schema_version}; merge reads only "
                             f"schema_version {SCHEMA_VERSION} (per-chip seeding and the chip_ledger attribute); "
                             "simulate it again with this memsim")
    for tr in traces[1:]:
        _check_same(traces[0], tr)
    ranges = [_chips(tr) for tr in traces]
    order = sorted(range(len(traces)), key=lambda i: ranges[i].start)
    parts = [traces[i] for i in order]
    ranges = [ranges[i] for i in order]
    for (a, ra), (b, rb) in zip(zip(parts, ranges, strict=True), zip(parts[1:], ranges[1:], strict=True),
                                strict=False):
        if rb.start < ra.stop:
            raise ValueError(f"traces {str(a.path)!r} (chips {ra.start}..{ra.stop - 1}) and {str(b.path)!r} (chips "
                             f"{rb.start}..{rb.stop - 1}) overlap in chip {rb.start}; allowed: disjoint chip ranges")
        if rb.start > ra.stop:
            raise ValueError(f"traces {str(a.path)!r} (chips {ra.start}..{ra.stop - 1}) and {str(b.path)!r} (chips "
                             f"{rb.start}..{rb.stop - 1}) leave chips {ra.stop}..{rb.start - 1} out; allowed: chip "
                             "ranges that join into one range")
    first = parts[0]
    config = dict(first.config)
    config["chip_range"] = list(check_chip_range([ranges[0].start, ranges[-1].stop], config.get("chips", 0)))
    config["trace"] = output
    ledger = [entry for tr in parts for entry in tr.chip_ledger]
    summary = _summary(parts, config, ledger)
    n_layers = len(first.layers)
    tables: dict[str, dict[str, np.ndarray]] = {}
    keys = sorted({(c, a) for e in ledger for c, a, _, _ in e["actions"]})
    counts = {k: 0 for k in keys}
    energy = {k: 0 for k in keys}
    for e in ledger:
        for c, a, count, zj in e["actions"]:
            counts[c, a] += count
            energy[c, a] += zj
    tables["counters"] = {
        "component": np.array([k[0] for k in keys], dtype=object),
        "action": np.array([k[1] for k in keys], dtype=object),
        "count": np.array([counts[k] for k in keys], dtype=np.int64),
        "energy_j": np.array([energy[k] / ZJ_PER_J for k in keys], dtype=np.float64),
    }
    layers = _columns(first.layers)
    for tr in parts[1:]:
        other = _columns(tr.layers)
        for column in ("layer", "rows", "outputs", "tiles", "weight_bits", "columns_per_weight", "truncated_bits",
                       "macs_per_inference"):
            if not np.array_equal(layers[column], other[column]):
                raise ValueError(f"trace {str(tr.path)!r} differs from trace {str(first.path)!r} in the layers "
                                 f"table's {column!r}; allowed: traces of one configuration")
    n = len(ledger)
    layers["energy_j"] = np.array([sum(e["layer_zj"][i] for e in ledger) / n / ZJ_PER_J for i in range(n_layers)])
    layers["adc_clipped"] = np.array([sum(e["clipped"][i] for e in ledger) / n for i in range(n_layers)])
    tables["layers"] = layers
    tables["chips"] = _concatenate([tr.chips for tr in parts])
    tables["errors"] = _errors(parts, n_layers)
    tables["utilization"] = _utilization(parts)
    tables["reads"] = _concatenate([tr.reads for tr in parts])
    tables["busy"] = _columns(first.busy)
    tables["confusion"] = _concatenate([tr.confusion for tr in parts])
    has_outputs = [tr.outputs is not None for tr in parts]
    if any(has_outputs):
        tables["outputs"] = _concatenate([tr.outputs for tr in parts])
    events = _concatenate([tr.events for tr in parts])

    tmp = claim_temporary(target)
    try:
        with h5py.File(tmp, "w") as h5:
            ds = h5.create_dataset("events", shape=(0,), maxshape=(None,), dtype=EVENT_DTYPE, chunks=(_CHUNK_ROWS,),
                                   compression="gzip", compression_opts=_GZIP_LEVEL, shuffle=True)
            ds.attrs["units"] = json.dumps(EVENT_UNITS)
            block = np.empty(len(events["chip"]), dtype=EVENT_DTYPE)
            for column in EVENT_DTYPE.names:
                block[column] = events[column]
            ds.resize((len(block),))
            ds[:] = block
            h5.attrs["schema_version"] = SCHEMA_VERSION
            h5.attrs["memsim_version"] = first.memsim_version
            h5.attrs["seed"] = first.seed
            h5.attrs["config"] = json.dumps(config, sort_keys=True)
            h5.attrs["plan"] = json.dumps(first.plan, sort_keys=True)
            h5.attrs["cards"] = json.dumps(first.cards, sort_keys=True)
            h5.attrs["summary"] = json.dumps(summary, sort_keys=True)
            h5.attrs["chip_ledger"] = json.dumps(ledger, sort_keys=True)
            for name in TABLE_UNITS:
                if name == "events" or name not in tables:
                    continue
                _table(h5, name, tables[name], compress=name in _COMPRESSED)
            for name, source in (("busy", first.busy), ("outputs", first.outputs)):
                if name in tables and source is not None:
                    for key, value in source.attrs.items():
                        h5[name].attrs[key] = value
        os.replace(tmp, target)
        release_temporary(tmp)
    except BaseException:
        discard_temporary(tmp)
        raise
    return target
