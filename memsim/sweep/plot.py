"""``memsim sweep plot``: a result column of a sweep table against an axis, one line per value of another axis,
each point the mean over its chips with the chips' standard deviation as an error bar.

Axes are labelled with what the column means and its unit (``column_label``); accuracies and rates are shown in
per cent and SI quantities with a readable prefix (``memsim.plotstyle.scale``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from memsim.plotstyle import COLUMN_IN, scale, styled
from memsim.sweep.run import read_table
from memsim.trace.plots import check_output, new_figure, save

# What a column of the sweep table holds: (description, unit); "%" columns are fractions shown in per cent, "mm²"
# columns are m² shown in mm².
COLUMNS = {
    "accuracy_hw": ("hardware accuracy", "%"), "bit_exact_rate": ("bit-exact outputs", "%"),
    "accuracy_float": ("float accuracy", "%"), "accuracy_quantized": ("quantized (ideal) accuracy", "%"),
    "adc_clip_rate": ("ADC clip rate", "%"), "energy_j": ("energy per chip run", "J"),
    "energy_per_inference_j": ("energy per inference", "J"), "static_energy_j": ("static energy per chip run", "J"),
    "latency_s": ("latency per inference", "s"), "latency_first_s": ("first-inference latency", "s"),
    "run_time_s": ("run time", "s"), "throughput_inf_per_s": ("throughput", "inferences/s"),
    "cope_gop_per_j": ("COPE", "GOP/J"), "adc_conversions": ("ADC conversions per chip run", "1"),
    "inferences": ("inferences", "1"), "macs_per_inference": ("MACs per inference", "1"), "tiles": ("tiles", "1"),
    "events": ("events", "1"), "sigma": ("programming variation σ/G", "1"), "adc_bits": ("ADC resolution", "bit"),
    "weight_bits": ("weight precision", "bit"), "input_bits": ("input precision", "bit"),
    "output_bits": ("output precision", "bit"), "sigma_scale": ("σ scale", "1"), "age_s": ("age", "s"),
    "area_m2": ("chip area", "mm²"), "tops_per_w": ("energy efficiency", "TOPS/W"),
    "tops_per_mm2": ("area efficiency", "TOPS/mm²"), "cope_gop_per_j_per_mm2": ("COPE per area", "GOP/J/mm²"),
}


def column_meaning(name: str) -> tuple[str, str]:
    """(description, unit) of a sweep table column; ``energy_<component>_j`` is that component's energy."""
    if name in COLUMNS:
        return COLUMNS[name]
    if name.startswith("energy_") and name.endswith("_j"):
        return f"{name[7:-2]} energy per chip run", "J"
    if name.startswith("area_") and name.endswith("_m2"):
        return f"{name[5:-3]} area", "mm²"
    return name, ""


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def _axis_label(name: str, unit: str, note: str = "") -> str:
    description, _ = column_meaning(name)
    shown = "" if unit in ("", "1") else f" ({unit})"
    return f"{description}{note}{shown}"


@styled()
def sweep_figure(table: str | Path, x: str, y: str, group: str | None = None):
    """The figure of ``memsim sweep plot``: mean ± std over chips of column ``y`` against ``x``, one line per
    value of ``group``."""
    columns, rows = read_table(table)
    for label, name in (("--x", x), ("--y", y), ("--group", group)):
        if name is not None and name not in columns:
            raise ValueError(f"{label} {name!r} is not a column of {str(table)!r}; allowed: {', '.join(columns)}")
    if not rows:
        raise ValueError(f"sweep table {str(table)!r} has no rows")
    ys = [_number(r[y]) for r in rows]
    if any(v is None for v in ys):
        raise ValueError(f"--y {y!r} is not a numeric column; allowed: a column of numbers such as accuracy_hw")
    description, unit = column_meaning(y)
    if unit == "%":
        div, shown = 0.01, "%"
    elif unit == "mm²":  # the table holds m²
        div, shown = 1e-6, unit
    elif unit in ("J", "s"):
        div, shown = scale(max(abs(v) for v in ys), unit)
    else:
        div, shown = 1.0, unit
    ys = [v / div for v in ys]
    xs_num = [_number(r[x]) for r in rows]
    numeric_x = all(v is not None for v in xs_num)
    groups: dict[str, dict] = {}
    for r, yv, xv in zip(rows, ys, xs_num, strict=True):
        key = r[group] if group else ""
        groups.setdefault(key, {}).setdefault(xv if numeric_x else r[x], []).append(yv)
    categories = list(dict.fromkeys(r[x] for r in rows)) if not numeric_x else None
    fig, (ax,) = new_figure(COLUMN_IN, 2.6)
    # Lines that coincide stay visible: each group has its own marker, dash and size (later ones smaller, on top).
    styles = [("o", "-", 5.5), ("s", "--", 4.5), ("^", ":", 4.0), ("D", "-.", 3.5), ("v", "-", 3.0)]
    for i, (key, by_x) in enumerate(groups.items()):
        marker, dash, size = styles[i % len(styles)]
        xs = sorted(by_x) if numeric_x else [c for c in categories if c in by_x]
        means = [float(np.mean(by_x[v])) for v in xs]
        stds = [float(np.std(by_x[v], ddof=1)) if len(by_x[v]) > 1 else 0.0 for v in xs]
        positions = xs if numeric_x else [categories.index(v) for v in xs]
        ax.errorbar(positions, means, yerr=stds, marker=marker, ls=dash, markersize=size,
                    label=f"{key}" if group else None)
    if not numeric_x:
        ax.set_xticks(range(len(categories)), categories)
    ax.set_xlabel(_axis_label(x, column_meaning(x)[1]))
    ax.set_ylabel(_axis_label(y, shown))
    if group:
        gdesc, gunit = column_meaning(group)
        ax.legend(title=gdesc + ("" if gunit in ("", "1") else f" ({gunit})"), loc="best")
    ax.grid(True)
    chips = max(len(v) for by_x in groups.values() for v in by_x.values())
    ax.set_title(f"{description}, mean ± std over {chips} chip{'s' if chips != 1 else ''}")
    return fig


def plot_sweep(table: str | Path, x: str, y: str, path: str | Path, group: str | None = None) -> Path:
    """Draw ``sweep_figure`` into ``path`` (PNG at 300 dpi, SVG or PDF by its suffix)."""
    check_output(path)
    return save(sweep_figure(table, x, y, group), path)


__all__ = ["column_meaning", "plot_sweep", "sweep_figure"]
