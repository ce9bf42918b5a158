"""``memsim trace export``: a trace's tables as CSV files for spreadsheets and pandas.

One file per table (``events.csv``, ``counters.csv``, ``layers.csv``, ``chips.csv``, from schema 2
``errors.csv``, from schema 3 ``utilization.csv``, ``reads.csv`` and ``busy.csv``, from schema 4
``confusion.csv`` and, when the run recorded it, ``outputs.csv``) with a header of column names, plus
``summary.csv`` (``figure,value,unit``) holding the scalar figures of ``memsim trace summary``, its energy per
component and per layer and (from schema 4) its accuracy per class. Enum columns are written as names
(``adc``, ``convert``), never as codes; an array-valued column (``logits``) is written as one column per
entry (``logits_0``, ``logits_1``, ...). Floats are written with ``repr`` so they read back
bit for bit. Each file is written under a temporary name and renamed, so a failed export leaves no
half-written file.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from memsim.files import atomic_write
from memsim.trace.reader import Table, Trace
from memsim.trace.report import summarize

# Units of the scalar figures of ``summarize`` that summary.csv lists (those a trace lacks are left out).
SUMMARY_UNITS = {
    "inferences": "1", "chips": "1", "seed": "1", "accuracy_float": "1", "accuracy_quantized": "1",
    "accuracy_hw": "1", "accuracy_hw_std": "1", "bit_exact_rate": "1", "macs_per_inference": "1", "macs": "1",
    "ops": "1", "energy_j": "J", "energy_per_inference_j": "J", "latency_s": "s", "latency_first_s": "s",
    "throughput_inf_per_s": "1/s", "run_time_s": "s", "static_energy_j": "J", "age_s": "s",
    "cope_gop_per_j": "GOP/J", "adc_conversions": "1", "adc_clip_rate": "1", "tiles": "1", "events": "1",
}


def _cell(value) -> str:
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (np.integer, np.bool_)):
        return str(value.item())
    return str(value)


def _write_csv(path: Path, header: list[str], rows) -> None:
    with atomic_write(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([_cell(v) for v in row] for row in rows)


def table_columns(table: Table) -> dict[str, np.ndarray]:
    """The table's columns with enum codes replaced by their names and array-valued columns split into one
    column per entry (``logits`` -> ``logits_0``, ``logits_1``, ...)."""
    out: dict[str, np.ndarray] = {}
    for c in table.columns:
        values = table.labels(c) if c in table.enums else table[c]
        if values.ndim > 1:
            out.update({f"{c}_{i}": values[:, i] for i in range(values.shape[1])})
        else:
            out[c] = values
    return out


def summary_rows(s: dict) -> list[tuple[str, object, str]]:
    """``(figure, value, unit)`` rows: the scalar figures, then energy per component and per layer, then (from
    schema 4) the accuracy of each class over all chips."""
    rows = [(k, s[k], unit) for k, unit in SUMMARY_UNITS.items() if s.get(k) is not None]
    rows += [(f"energy_j.component.{name}", e, "J") for name, e in s["energy_by_component_j"].items()]
    rows += [(f"energy_j.layer.{r['layer']}", r["energy_j"], "J") for r in s["energy_by_layer"]]
    rows += [(f"accuracy_hw.class.{c['label']}", c["accuracy"], "1") for c in s.get("per_class", ())]
    return rows


def export_csv(trace: Trace, directory: str | Path) -> list[Path]:
    """Write the CSV files into ``directory`` (created if its parent exists); return their paths."""
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--csv {str(out)!r} is a file; give a directory")
    if not out.exists():
        parent = out.parent if str(out.parent) else Path(".")
        if not parent.is_dir():
            raise ValueError(f"--csv {str(out)!r}: directory {str(parent)!r} does not exist")
        out.mkdir()
    if not os.access(out, os.W_OK):
        raise ValueError(f"--csv {str(out)!r} is not writable")
    written = []
    for name, table in trace.tables().items():
        columns = table_columns(table)
        path = out / f"{name}.csv"
        _write_csv(path, list(columns), zip(*columns.values(), strict=True))
        written.append(path)
    path = out / "summary.csv"
    _write_csv(path, ["figure", "value", "unit"], summary_rows(summarize(trace)))
    written.append(path)
    return written
