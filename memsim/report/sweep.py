"""The sections of a sweep table's report (``memsim report results.csv``): the grid's points with mean ± std over
their chips, and the plots of ``memsim sweep plot`` for the headline columns against the sweep's axes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from memsim.report.html import figure, section, si, table
from memsim.sweep.plot import column_meaning, sweep_figure
from memsim.sweep.run import read_table

# The result columns a sweep report plots and tabulates, in order.
REPORTED = ("accuracy_hw", "energy_per_inference_j", "latency_s", "cope_gop_per_j", "adc_clip_rate")


def axes_of(columns: list[str]) -> list[str]:
    """The sweep's axes: the columns between ``chip`` and the first result column."""
    start = columns.index("chip") + 1
    stop = next((i for i, c in enumerate(columns) if c == "accuracy_hw"), len(columns))
    return columns[start:stop]


def _numeric(values: list[str]) -> bool:
    try:
        [float(v) for v in values]
    except ValueError:
        return False
    return True


def _show(column: str, values: list[float]) -> str:
    _, unit = column_meaning(column)
    mean = float(np.mean(values))
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    if unit == "%":
        return f"{100 * mean:.2f} ± {100 * std:.2f} %"
    if unit == "mm²":
        return f"{1e6 * mean:.4g} ± {1e6 * std:.2g} mm²"
    if unit in ("J", "s"):
        return f"{si(mean, unit)} ± {si(std, unit)}"
    return f"{mean:.4g} ± {std:.2g} {unit}".rstrip()


def sweep_sections(path: str | Path, key: str = "sweep") -> tuple[list[tuple[str, str]], str]:
    """Navigation entries and HTML of a sweep table's report."""
    columns, rows = read_table(path)
    if not rows:
        raise ValueError(f"sweep table {str(path)!r} has no rows; allowed: a table written by memsim sweep run")
    axes = axes_of(columns)
    reported = [c for c in REPORTED if c in columns]
    points: dict[str, list[dict]] = {}
    for r in rows:
        points.setdefault(r["point"], []).append(r)
    table_rows = []
    for point, members in points.items():
        values = [members[0][a] for a in axes]
        figures = [_show(c, [float(m[c]) for m in members]) for c in reported]
        table_rows.append([point, *values, len(members), *figures])
    header = ["point", *axes, "chips", *[f"{column_meaning(c)[0]} (mean ± std)" for c in reported]]
    body = table(header, table_rows, numeric=set(range(len(header))))
    nav = [(f"{key}-points", "Points")]
    html = [section(f"{key}-points", f"Sweep {Path(path).name}: {len(points)} points", body,
                    f"Axes: {', '.join(axes) or '(none)'}; each point's figures are the mean ± std over its chips.")]
    if axes:
        numeric_axes = [a for a in axes if _numeric([r[a] for r in rows])]
        x = numeric_axes[0] if numeric_axes else axes[0]
        group = next((a for a in axes if a != x), None)
        figs = ""
        for column in reported:
            fig = sweep_figure(path, x, column, group)
            figs += figure(fig, f"{column_meaning(column)[0]} against {column_meaning(x)[0]}"
                           + (f", one line per {column_meaning(group)[0]}" if group else "")
                           + "; points are means over chips, bars their standard deviation.")
        nav.append((f"{key}-plots", "Plots"))
        html.append(section(f"{key}-plots", "Plots", f'<div class="side">{figs}</div>'))
    return nav, "".join(html)
