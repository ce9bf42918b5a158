"""Pictures of a trace (``memsim trace plot``): energy breakdown, timeline, error positions, accuracy, confusion.

matplotlib is an optional extra (``pip install 'memsim[plot]'``) and is imported only when a plot is made,
so ``import memsim.trace.plots`` works without it; a missing matplotlib raises ``MissingMatplotlib`` with the
install command. Figures are built with matplotlib's object API (``matplotlib.figure.Figure``), which renders
with the non-interactive Agg canvas and never touches pyplot's global state or the user's chosen backend,
so plotting from a notebook or a headless server behaves the same. Files are written atomically (temporary
name, then rename). Numbers are SI in code and converted to a readable prefix only on the axes.

Each kind of picture is one entry of ``PLOTS`` (its figure function and a one-line description), the one
registry from which ``memsim trace plot --kind`` takes its choices and help: a new kind is a figure function
and its entry here, and its test.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memsim.files import atomic_write, check_writable
from memsim.ledger import COMPONENTS
from memsim.trace.reader import Trace
from memsim.trace.report import MATRIX_CLASSES, energy_by_component_layer, summarize
from memsim.trace.timeline import busy_intervals, window

FORMATS = (".png", ".svg", ".pdf")
_PREFIX = {-15: "f", -12: "p", -9: "n", -6: "µ", -3: "m", 0: ""}


class MissingMatplotlib(ImportError):
    """matplotlib (the ``plot`` extra) is not installed."""


def require_matplotlib():
    """The ``matplotlib.figure.Figure`` class, or ``MissingMatplotlib`` naming the install command."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingMatplotlib(
            "plotting needs matplotlib, which is not installed; install it with: pip install 'memsim[plot]'"
        ) from None
    return Figure


def new_figure(width_in: float, height_in: float, ncols: int = 1):
    """A new Agg-rendered figure and its row of ``ncols`` axes; no pyplot, no global backend switch."""
    fig = require_matplotlib()(figsize=(width_in, height_in), dpi=100, layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes


def _component_colors() -> dict[str, str]:
    return {c: f"C{i}" for i, c in enumerate(COMPONENTS)}


def _scale(max_value: float, unit: str) -> tuple[float, str]:
    """Divisor and label for an axis in ``unit`` whose largest value is ``max_value`` (e.g. 1e-6, 'µJ')."""
    if max_value <= 0 or not math.isfinite(max_value):
        return 1.0, unit
    exp = max(-15, min(0, int(math.floor(math.log10(max_value) / 3) * 3)))
    return 10.0**exp, f"{_PREFIX[exp]}{unit}"


def check_output(path: str | Path, label: str = "-o") -> Path:
    """The figure path must name a supported format in an existing, writable directory; ``label`` names the
    option in the message."""
    out = Path(path)
    if out.suffix.lower() not in FORMATS:
        raise ValueError(f"{label} {str(out)!r}: unknown image format {out.suffix or '(none)'!r}; allowed: "
                         f"{', '.join(FORMATS)}")
    return check_writable(out, label, "energy.png")


def save(fig, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` atomically (format from the suffix)."""
    out = check_output(path)
    with atomic_write(out) as tmp:
        fig.savefig(tmp, format=out.suffix[1:].lower())
    return out


def plot(trace: Trace, kind: str, path: str | Path, chip: int = 0) -> Path:
    """Draw ``kind`` (a name in ``PLOTS``) of ``trace`` into ``path``; ``chip`` selects a per-chip picture's chip."""
    entry = plot_kind(kind)
    check_output(path)
    return save(entry.figure(trace, chip), path)


def _title(trace: Trace) -> str:
    s = trace.summary
    return (f"{s.get('network')} on {s.get('dataset')}, card {s.get('card')}, "
            f"{trace.n_chips} chip{'s' if trace.n_chips != 1 else ''} ({trace.path.name})")


def energy_figure(trace: Trace):
    """Left: energy per component with its share. Right: energy per layer, stacked by component."""
    s = summarize(trace)
    colors = _component_colors()
    fig, (left, right) = new_figure(11, 4.8, ncols=2)
    total = s["energy_j"]
    rows = sorted(s["energy_by_component_j"].items(), key=lambda kv: -kv[1])[::-1]  # largest at the top
    div, unit = _scale(max((e for _, e in rows), default=0.0), "J")
    y = np.arange(len(rows))
    left.barh(y, [e / div for _, e in rows], color=[colors[name] for name, _ in rows])
    left.set_yticks(y, [name for name, _ in rows])
    for yi, (_, e) in zip(y, rows, strict=True):
        share = e / total if total > 0 else float("nan")
        left.annotate(f" {100 * share:.1f} %", (e / div, yi), va="center", fontsize=9)
    left.set_xlabel(f"energy per chip run ({unit})")
    left.set_title(f"by component: total {s['energy_j'] / div:.3g} {unit}")
    left.margins(x=0.18)

    split = energy_by_component_layer(trace)
    layers = [r["layer"] for r in s["energy_by_layer"]]
    div, unit = _scale(max((r["energy_j"] for r in s["energy_by_layer"]), default=0.0), "J")
    bottom = np.zeros(len(layers))
    for comp in COMPONENTS:
        values = np.array([split.get((layer, comp), 0.0) for layer in layers]) / div
        if values.any():
            right.bar([str(layer) for layer in layers], values, bottom=bottom, color=colors[comp], label=comp)
            bottom += values
    right.set_xlabel("layer")
    right.set_ylabel(f"energy per chip run ({unit})")
    right.set_title("by layer")
    right.legend(fontsize=8)
    fig.suptitle(f"Energy: {_title(trace)}")
    return fig


def timeline_figure(trace: Trace, chip: int = 0):
    """Gantt chart of one chip: one lane per (layer, tile, component); tile -1 is the layer's digital stage.

    Intervals come from ``memsim.trace.timeline.busy_intervals``: since schema 3 the engine's recorded busy
    intervals of chip 0's first vectors (the axis then spans that window, and the title says so); for older
    traces, inferred for the whole run. Actions shorter than 0.2 % of the span
    (instantaneous DAC drives, sample-and-holds, register accesses on some cards) are drawn 0.2 % wide so
    that every action stays visible.
    """
    iv = busy_intervals(trace, chip)
    colors = _component_colors()
    order = {c: i for i, c in enumerate(COMPONENTS)}
    lanes = sorted({(int(r["layer"]), int(r["tile"]) if r["tile"] >= 0 else 1 << 30, str(r["component"]))
                    for r in iv}, key=lambda k: (k[0], k[1], order[k[2]]))
    lane_index = {lane: i for i, lane in enumerate(lanes)}
    makespan = float(trace.chips["makespan_s"][list(trace.chips["chip"]).index(chip)])
    sampled = window(trace)
    if sampled is not None:
        makespan = float(iv["end_s"].max(initial=0.0))  # the window's span
    div, unit = _scale(max(makespan, float(iv["end_s"].max(initial=0.0))), "s")
    min_width = 0.002 * makespan
    fig, (ax,) = new_figure(12, max(4.0, 0.22 * len(lanes) + 1.6))
    for lane, i in lane_index.items():
        layer, tile, comp = lane
        tile = -1 if tile == 1 << 30 else tile
        sel = (iv["layer"] == layer) & (iv["tile"] == tile) & (iv["component"] == comp)
        spans = [(a / div, max(b - a, min_width) / div)
                 for a, b in zip(iv["start_s"][sel], iv["end_s"][sel], strict=True)]
        ax.broken_barh(spans, (i - 0.4, 0.8), facecolors=colors[comp])
    labels = [f"L{layer} {'digital' if tile == 1 << 30 else f'T{tile}'} {comp}" for layer, tile, comp in lanes]
    ax.set_yticks(range(len(lanes)), labels, fontsize=7)
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    ax.set_xlim(0, makespan / div if makespan > 0 else None)
    ax.set_xlabel(f"simulated time ({unit})")
    ax.grid(axis="x", alpha=0.3)
    what = (f"first {sampled[0]} of {sampled[1]} inferences (sampled window), {len(iv)} busy intervals"
            if sampled is not None else f"{len(iv)} actions, makespan {makespan / div:.3g} {unit}")
    ax.set_title(f"Timeline of chip {chip}: {what} — {_title(trace)}", fontsize=10)
    return fig


def errors_figure(trace: Trace):
    """Left: outputs by the highest set bit of |hardware − reference|, per layer. Right: exact and clipped rates."""
    if trace.errors is None:
        raise ValueError(
            f"trace {str(trace.path)!r} has schema_version {trace.schema_version}, which records no per-bit "
            "errors; re-run memsim simulate to write a newer trace"
        )
    err = trace.errors
    layers = [int(v) for v in trace.layers["layer"]]
    bits = np.unique(err["bit"])
    plan = {p["layer"]: p for p in trace.plan.get("layers", [])}
    fig, (left, right) = new_figure(12, 4.8, ncols=2)
    width = 0.8 / max(len(layers), 1)
    exact, clip_rate = [], []
    ev = trace.events
    comp, action = ev.labels("component"), ev.labels("action")
    for j, layer in enumerate(layers):
        sel = err["layer"] == layer
        counts = np.array([err["count"][sel & (err["bit"] == b)].sum() for b in bits], dtype=float)
        total = counts.sum()
        frac = counts / total if total else counts
        exact.append(frac[bits == -1].sum() if total else float("nan"))
        out_bits = plan.get(layer, {}).get("output_bits")
        label = f"layer {layer} ({out_bits}-bit output)" if out_bits else f"layer {layer} (accumulator)"
        left.bar(np.arange(len(bits)) + (j - (len(layers) - 1) / 2) * width, frac, width, label=label)
        conv = ev["count"][(ev["layer"] == layer) & (comp == "adc") & (action == "convert")].sum()
        clipped = ev["count"][(ev["layer"] == layer) & (comp == "adc") & (action == "clip")].sum()
        clip_rate.append(clipped / conv if conv else 0.0)
    left.set_xticks(np.arange(len(bits)), ["exact" if b < 0 else str(b) for b in bits])
    left.set_yscale("log")
    left.set_xlabel("highest set bit of |hardware − zero-variation reference| (output LSB = bit 0)")
    left.set_ylabel("fraction of the layer's outputs")
    left.set_title("where output errors land")
    left.legend(fontsize=8)
    x = np.arange(len(layers))
    for offset, values, label, color in ((-0.2, exact, "outputs equal to the reference", "C2"),
                                         (0.2, clip_rate, "ADC conversions clipped (partial sums)", "C3")):
        bars = right.bar(x + offset, np.array(values) * 100, 0.4, label=label, color=color)
        right.bar_label(bars, fmt="%.2f", fontsize=8)
    right.set_xticks(x, [str(layer) for layer in layers])
    right.set_xlabel("layer")
    right.set_ylabel("%")
    right.set_ylim(0, 105)
    right.set_title("bit-exact outputs and saturated partial sums")
    right.legend(fontsize=8)
    fig.suptitle(f"Errors (all chips): {_title(trace)}")
    return fig


def accuracy_figure(trace: Trace):
    """Left: accuracy of each chip instance, mean ± std, ideal and float references. Right: bit-exact rate."""
    s = summarize(trace)
    chips = np.array([c["chip"] for c in s["per_chip"]])
    acc = np.array([c["accuracy"] for c in s["per_chip"]]) * 100
    fig, (left, right) = new_figure(11, 4.8, ncols=2)
    mean, std = s["accuracy_hw"] * 100, s["accuracy_hw_std"] * 100
    left.axhspan(mean - std, mean + std, color="C0", alpha=0.15, label=f"mean ± std {mean:.2f} ± {std:.2f} %")
    left.axhline(mean, color="C0")
    left.plot(chips, acc, "o", color="C0", label="chip instance")
    if s["accuracy_quantized"] is not None:
        left.axhline(s["accuracy_quantized"] * 100, color="C2", ls="--",
                     label=f"quantized (ideal) {s['accuracy_quantized'] * 100:.2f} %")
    if s["accuracy_float"] is not None:
        left.axhline(s["accuracy_float"] * 100, color="C7", ls=":", label=f"float {s['accuracy_float'] * 100:.2f} %")
    left.set_xlabel("chip instance")
    left.set_ylabel("accuracy (%)")
    left.set_title("accuracy across chips")
    left.legend(fontsize=8)
    right.bar(chips, [c["bit_exact_rate"] * 100 for c in s["per_chip"]], color="C1")
    right.set_xlabel("chip instance")
    right.set_ylabel("bit-exact outputs (%)")
    right.set_ylim(0, 105)
    right.set_title("outputs equal to the zero-variation reference")
    for ax in (left, right):
        ax.set_xticks(chips if len(chips) <= 20 else ax.get_xticks())
    fig.suptitle(f"Accuracy: {_title(trace)}")
    return fig


def confusion_figure(trace: Trace):
    """Left: the confusion matrix summed over chips (rows: true label, columns: prediction), coloured by the share
    of the true label's inputs, with the counts written in when there are at most ``MATRIX_CLASSES`` classes.
    Right: each class's accuracy over all chips, with every chip's as a dot."""
    s = summarize(trace)
    if "confusion" not in s:
        raise ValueError(
            f"trace {str(trace.path)!r} has schema_version {trace.schema_version}, which records no confusion "
            "matrix; re-run memsim simulate to write a newer trace"
        )
    matrix = np.array(s["confusion"], dtype=np.int64)
    classes = len(matrix)
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros(matrix.shape), where=rows > 0)
    fig, (left, right) = new_figure(11, 4.8, ncols=2)
    image = left.imshow(share * 100, cmap="Blues", vmin=0, vmax=100)
    fig.colorbar(image, ax=left, label="% of the true label's inputs")
    if classes <= MATRIX_CLASSES:
        for (label, predicted), count in np.ndenumerate(matrix):
            if count:
                left.text(predicted, label, str(count), ha="center", va="center", fontsize=7,
                          color="white" if share[label, predicted] > 0.5 else "black")
        left.set_xticks(range(classes))
        left.set_yticks(range(classes))
    left.set_xlabel("prediction")
    left.set_ylabel("true label")
    left.set_title(f"confusion matrix (counts over {trace.n_chips} chip{'s' if trace.n_chips != 1 else ''})")
    labels = np.array([c["label"] for c in s["per_class"]])
    right.bar(labels, [100 * c["accuracy"] for c in s["per_class"]], color="C0", label="all chips")
    for c in s["per_class"]:
        right.plot([c["label"]] * len(c["accuracy_per_chip"]), [100 * a for a in c["accuracy_per_chip"]], ".",
                   color="C1", label="chip instance" if c is s["per_class"][0] else None)
    right.axhline(100 * s["accuracy_hw"], color="C2", ls="--", label=f"overall {100 * s['accuracy_hw']:.2f} %")
    right.set_xlabel("true label")
    right.set_ylabel("accuracy (%)")
    right.set_ylim(0, 105)
    if classes <= MATRIX_CLASSES:
        right.set_xticks(labels)
    right.set_title("accuracy per class")
    right.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"Confusion: {_title(trace)}")
    return fig


@dataclass(frozen=True)
class PlotKind:
    """One kind of ``memsim trace plot``: ``draw`` builds its figure from a trace (and, when ``per_chip``,
    the chip instance to draw); ``description`` is its one line in the ``--kind`` help."""

    draw: Callable[..., object]
    description: str
    per_chip: bool = False

    def figure(self, trace: Trace, chip: int = 0):
        """The figure of ``trace`` (``chip`` is passed on only to a per-chip picture)."""
        return self.draw(trace, chip) if self.per_chip else self.draw(trace)


# The one registry of plot kinds (the CLI's --kind choices and help come from it), in the order listed.
PLOTS: dict[str, PlotKind] = {
    "energy": PlotKind(energy_figure, "energy per component and per layer"),
    "timeline": PlotKind(timeline_figure, "busy intervals of one chip (--chip)", per_chip=True),
    "errors": PlotKind(errors_figure, "where output errors land, with bit-exact and clipped rates per layer"),
    "accuracy": PlotKind(accuracy_figure, "accuracy and bit-exact outputs of each chip instance"),
    "confusion": PlotKind(confusion_figure, "confusion matrix over the chips and accuracy per class"),
}


def plot_kind(name: str) -> PlotKind:
    """The registered plot kind called ``name``; otherwise one-line ValueError naming the allowed kinds."""
    if not isinstance(name, str) or name not in PLOTS:
        raise ValueError(f"--kind {name!r} is unknown; allowed: {', '.join(PLOTS)}")
    return PLOTS[name]
