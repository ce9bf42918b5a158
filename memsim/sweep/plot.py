"""``memsim sweep plot``: a result column of a sweep table against an axis, one line per value of another axis,
each point the mean over its chips with the chips' standard deviation as an error bar."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from memsim.sweep.run import read_table
from memsim.trace.plots import check_output, new_figure, save


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def sweep_figure(table: str | Path, x: str, y: str, group: str | None = None):
    columns, rows = read_table(table)
    for label, name in (("--x", x), ("--y", y), ("--group", group)):
        if name is not None and name not in columns:
            raise ValueError(f"{label} {name!r} is not a column of {str(table)!r}; allowed: {', '.join(columns)}")
    if not rows:
        raise ValueError(f"sweep table {str(table)!r} has no rows")
    ys = [_number(r[y]) for r in rows]
    if any(v is None for v in ys):
        raise ValueError(f"--y {y!r} is not a numeric column; allowed: a column of numbers such as accuracy_hw")
    xs_num = [_number(r[x]) for r in rows]
    numeric_x = all(v is not None for v in xs_num)
    groups: dict[str, dict] = {}
    for r, yv, xv in zip(rows, ys, xs_num, strict=True):
        key = r[group] if group else ""
        groups.setdefault(key, {}).setdefault(xv if numeric_x else r[x], []).append(yv)
    categories = list(dict.fromkeys(r[x] for r in rows)) if not numeric_x else None
    fig, (ax,) = new_figure(6.4, 4.0)
    for key, by_x in groups.items():
        xs = sorted(by_x) if numeric_x else [c for c in categories if c in by_x]
        means = [float(np.mean(by_x[v])) for v in xs]
        stds = [float(np.std(by_x[v], ddof=1)) if len(by_x[v]) > 1 else 0.0 for v in xs]
        positions = xs if numeric_x else [categories.index(v) for v in xs]
        ax.errorbar(positions, means, yerr=stds, marker="o", capsize=3,
                    label=f"{group} = {key}" if group else None)
    if not numeric_x:
        ax.set_xticks(range(len(categories)), categories)
    ax.set_xlabel(x)
    ax.set_ylabel(y + " (mean ± std over chips)")
    if group:
        ax.legend()
    ax.grid(True, alpha=0.3)
    ax.set_title(Path(table).name)
    return fig


def plot_sweep(table: str | Path, x: str, y: str, path: str | Path, group: str | None = None) -> Path:
    check_output(path)
    return save(sweep_figure(table, x, y, group), path)


__all__ = ["plot_sweep", "sweep_figure"]
