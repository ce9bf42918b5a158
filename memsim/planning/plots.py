"""Pictures of the planner's world: the error model over partial sums ``(s, t)`` and the σ sweep.

Drawn with the helpers of ``memsim.trace.plots`` (Agg figures, no pyplot state, atomic writes; matplotlib is the
optional ``plot`` extra).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from memsim.planning.error_model import LayerErrorModel
from memsim.trace.plots import new_figure, require_matplotlib, save


def error_model_figure(models: tuple[LayerErrorModel, ...], positions: list[dict[int, int]]):
    """Per layer: heat map of the analytic code-error probability over (slice, cycle), with each cell's
    accumulator bit relative to the truncation point written in it; and a histogram of the output-bit
    positions of the measured accumulator errors (negative: inside the truncated bits)."""
    n = len(models)
    fig = require_matplotlib()(figsize=(4.2 * n, 6.4), dpi=100, layout="constrained")
    grid = fig.subplots(2, n, squeeze=False)
    for i, model in enumerate(models):
        ax = grid[0][i]
        image = ax.imshow(model.p_code_error, origin="lower", aspect="auto", vmin=0.0,
                          vmax=max(1e-9, float(model.p_code_error.max())), cmap="magma")
        for s in range(model.p_code_error.shape[0]):
            for t in range(model.p_code_error.shape[1]):
                rel = int(model.error_bit[s, t]) - model.truncation_bits
                ax.text(t, s, f"{rel:+d}", ha="center", va="center", fontsize=7,
                        color="white" if model.p_code_error[s, t] < 0.6 * model.p_code_error.max() else "black")
        ax.set_xlabel("input cycle t")
        ax.set_ylabel("weight slice s")
        ax.set_title(f"layer {model.layer}: P(code error)\n(numbers: error bit − k, k = {model.truncation_bits})")
        fig.colorbar(image, ax=ax, shrink=0.8)
        hist = grid[1][i]
        pos = positions[i] if i < len(positions) else {}
        if pos:
            keys = np.array(sorted(pos))
            counts = np.array([pos[k] for k in keys], dtype=float)
            colors = ["tab:gray" if k < 0 else "tab:red" for k in keys]
            hist.bar(keys, counts / counts.sum(), color=colors)
        hist.axvline(-0.5, color="black", lw=0.8, ls="--")
        hist.set_xlabel("error bit relative to the output LSB (grey: truncated away)")
        hist.set_ylabel("share of erroneous outputs")
        hist.set_title(f"layer {model.layer}: where accumulator errors land")
    return fig


def sweep_figure(rows: list[dict]):
    """Accuracy (mean ± std over evaluation chips) and COPE versus σ, conventional against planned."""
    fig, (acc_ax, cope_ax) = new_figure(10.0, 4.0, ncols=2)
    sigma = np.array([r["sigma"] for r in rows])
    for key, label, color in (("conventional", "conventional", "tab:gray"), ("planned", "planned", "tab:blue")):
        acc = np.array([r[key]["accuracy_hw"] for r in rows])
        std = np.array([r[key]["accuracy_hw_std"] for r in rows])
        acc_ax.errorbar(sigma, 100 * acc, yerr=100 * std, marker="o", capsize=3, label=label, color=color)
        cope_ax.plot(sigma, [r[key]["cope_gop_per_j"] for r in rows], marker="o", label=label, color=color)
    if rows:
        acc_ax.axhline(100 * rows[0]["target_accuracy"], color="black", lw=0.8, ls="--", label="ideal − budget")
    acc_ax.set_xlabel("programming variation σ/G")
    acc_ax.set_ylabel("test accuracy (%)")
    acc_ax.legend()
    cope_ax.set_xlabel("programming variation σ/G")
    cope_ax.set_ylabel("COPE (GOP/J)")
    for r in rows:
        cope_ax.annotate(f"{r['cope_ratio']:.2g}×", (r["sigma"], r["planned"]["cope_gop_per_j"]),
                         textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
    cope_ax.legend()
    return fig


def save_error_model(models, positions, path: str | Path) -> Path:
    return save(error_model_figure(models, positions), path)


def save_sweep(rows: list[dict], path: str | Path) -> Path:
    return save(sweep_figure(rows), path)
