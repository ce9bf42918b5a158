"""Pictures of the planner's world: the error model over partial sums ``(s, t)`` and the σ sweep.

Drawn with the helpers of ``memsim.trace.plots`` (Agg figures, no pyplot state, atomic writes; matplotlib is the
optional ``plot`` extra).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from memsim.planning.error_model import LayerErrorModel
from memsim.plotstyle import COLUMN_IN, NEUTRAL, PAGE_IN, PALETTE, styled
from memsim.trace.plots import new_figure, require_matplotlib, save


@styled()
def error_model_figure(models: tuple[LayerErrorModel, ...], positions: list[dict[int, int]]):
    """Per layer: heat map of the analytic code-error probability over (slice, cycle), with each cell's
    accumulator bit relative to the truncation point written in it; and a histogram of the output-bit
    positions of the measured accumulator errors, the truncated bits (negative positions) shaded and their bars in a
    colour of their own."""
    n = len(models)
    fig = require_matplotlib()(figsize=(max(COLUMN_IN, 2.4 * n), 4.6),
                               layout="constrained")
    grid = fig.subplots(2, n, squeeze=False)
    for i, model in enumerate(models):
        ax = grid[0][i]
        p = model.p_code_error
        image = ax.imshow(p, origin="lower", aspect="auto", vmin=0.0, vmax=max(1e-9, float(p.max())),
                          cmap="viridis")
        if p.size <= 160:
            for s in range(p.shape[0]):
                for t in range(p.shape[1]):
                    rel = int(model.error_bit[s, t]) - model.truncation_bits
                    ax.text(t, s, f"{rel:+d}", ha="center", va="center", fontsize=5.5,
                            color="white" if p[s, t] < 0.6 * p.max() else "black")
        ax.set_xticks(range(0, p.shape[1], max(1, math.ceil(p.shape[1] / 8))))
        ax.set_yticks(range(0, p.shape[0], max(1, math.ceil(p.shape[0] / 8))))
        ax.set_xlabel("input cycle t (index)")
        ax.set_ylabel("weight slice s (index)")
        ax.set_title(f"layer {model.layer}: P(code error)\nnumbers: error bit − k, k = {model.truncation_bits}")
        fig.colorbar(image, ax=ax, shrink=0.85, label="probability (1)")
        hist = grid[1][i]
        pos = positions[i] if i < len(positions) else {}
        keys = np.array(sorted(pos), dtype=int)
        if len(keys):
            counts = np.array([pos[k] for k in keys], dtype=float)
            hist.bar(keys[keys >= 0], 100 * counts[keys >= 0] / counts.sum(), color=PALETTE[3], width=0.8,
                     label="in kept bits")
            hist.bar(keys[keys < 0], 100 * counts[keys < 0] / counts.sum(), color=PALETTE[0], width=0.8,
                     label="in truncated bits (shaded)")
            low = min(-0.5, float(keys.min()) - 0.6)
            hist.axvspan(low, -0.5, color=NEUTRAL, alpha=0.15, lw=0)
            hist.set_xlim(low, max(0.5, float(keys.max()) + 0.6))
            hist.xaxis.get_major_locator().set_params(integer=True)
        hist.axvline(-0.5, color="black", lw=0.6, ls="--")
        hist.set_xlabel("error bit − output LSB (bits)")
        hist.set_ylabel("share of wrong outputs (%)")
        hist.set_title(f"layer {model.layer}: error positions")
    handles = {label: h for ax in grid[1] for h, label in zip(*ax.get_legend_handles_labels(), strict=True)}
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=len(handles))
    fig.suptitle("Analytic ADC code-error model and measured error positions")
    return fig


@styled()
def sweep_figure(rows: list[dict]):
    """Accuracy (mean ± std over evaluation chips) and COPE versus σ, conventional against planned."""
    fig, (acc_ax, cope_ax) = new_figure(PAGE_IN, 2.9, ncols=2)
    sigma = np.array([r["sigma"] for r in rows])
    for key, label, color in (("conventional", "conventional", NEUTRAL), ("planned", "planned", PALETTE[0])):
        acc = np.array([r[key]["accuracy_hw"] for r in rows])
        std = np.array([r[key]["accuracy_hw_std"] for r in rows])
        acc_ax.errorbar(sigma, 100 * acc, yerr=100 * std, marker="o", label=label, color=color)
        cope_ax.plot(sigma, [r[key]["cope_gop_per_j"] for r in rows], marker="o", label=label, color=color)
    if rows:
        acc_ax.axhline(100 * rows[0]["target_accuracy"], color="black", lw=0.8, ls="--", label="ideal − budget")
    acc_ax.set_xlabel("programming variation σ/G (1)")
    acc_ax.set_ylabel("test accuracy (%)")
    acc_ax.set_title("accuracy, mean ± std over chips")
    acc_ax.legend(loc="lower left")
    cope_ax.set_xlabel("programming variation σ/G (1)")
    cope_ax.set_ylabel("COPE (GOP/J)")
    cope_ax.set_title("correct operations per joule")
    for r in rows:
        cope_ax.annotate(f"{r['cope_ratio']:.2g}×", (r["sigma"], r["planned"]["cope_gop_per_j"]),
                         textcoords="offset points", xytext=(0, 5), ha="center", fontsize=7)
    cope_ax.margins(x=0.08, y=0.18)  # room for the ratio labels above the highest point
    cope_ax.legend(loc="lower left")
    fig.suptitle("Planned against conventional quantization versus device variation")
    return fig


def save_error_model(models, positions, path: str | Path) -> Path:
    return save(error_model_figure(models, positions), path)


def save_sweep(rows: list[dict], path: str | Path) -> Path:
    return save(sweep_figure(rows), path)
