"""Pictures of a trace (``memsim trace plot``): energy breakdown, timeline, error positions, accuracy, confusion.

matplotlib is an optional extra (``pip install 'memsim[plot]'``) and is imported only when a plot is made,
so ``import memsim.trace.plots`` works without it; a missing matplotlib raises ``MissingMatplotlib`` with the
install command. Figures are built with matplotlib's object API (``matplotlib.figure.Figure``), which renders
with the non-interactive Agg canvas and never touches pyplot's global state or the user's chosen backend,
so plotting from a notebook or a headless server behaves the same. Every figure is built in memsim's one
style (``memsim.plotstyle``: sized for a paper's column, colour-blind-safe palette, units on every axis, titles
that say what is shown) and PNGs are written at 300 dpi. Files are written atomically (temporary name, then
rename). Numbers are SI in code and converted to a readable prefix only on the axes.

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
from memsim.plotstyle import (  # noqa: F401 - MissingMatplotlib: callers catch it from here
    DPI,
    MAX_HEIGHT_IN,
    MISSING_MATPLOTLIB,
    NEUTRAL,
    PAGE_IN,
    PALETTE,
    MissingMatplotlib,
    component_color,
    scale,
    stacked_by_component,
    styled,
)
from memsim.trace.reader import Trace
from memsim.trace.report import MATRIX_CLASSES, energy_by_component_layer, si, summarize
from memsim.trace.timeline import busy_intervals, select, window

FORMATS = (".png", ".svg", ".pdf")


def require_matplotlib():
    """The ``matplotlib.figure.Figure`` class, or ``MissingMatplotlib`` naming the install command."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingMatplotlib(MISSING_MATPLOTLIB) from None
    return Figure


def new_figure(width_in: float, height_in: float, ncols: int = 1):
    """A new Agg-rendered figure and its row of ``ncols`` axes; no pyplot, no global backend switch. Call it
    inside ``memsim.plotstyle.styled()`` (the figure functions here are decorated with it)."""
    fig = require_matplotlib()(figsize=(width_in, height_in), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes


def check_output(path: str | Path, label: str = "-o") -> Path:
    """The figure path must name a supported format in an existing, writable directory; ``label`` names the
    option in the message."""
    out = Path(path)
    if out.suffix.lower() not in FORMATS:
        raise ValueError(f"{label} {str(out)!r}: unknown image format {out.suffix or '(none)'!r}; allowed: "
                         f"{', '.join(FORMATS)}")
    return check_writable(out, label, "energy.png")


def save(fig, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` atomically (format from the suffix; PNG at ``memsim.plotstyle.DPI``)."""
    out = check_output(path)
    with atomic_write(out) as tmp, styled():
        fig.savefig(tmp, format=out.suffix[1:].lower(), dpi=DPI)
    return out


def plot(trace: Trace, kind: str, path: str | Path, chip: int = 0, **options) -> Path:
    """Draw ``kind`` (a name in ``PLOTS``) of ``trace`` into ``path``; ``chip`` selects a per-chip picture's chip;
    ``options`` go to the figure function (the timeline's ``layers``, ``tiles`` and ``window_s``)."""
    entry = plot_kind(kind)
    check_output(path)
    return save(entry.figure(trace, chip, **options), path)


def _chips(n: int) -> str:
    return f"{n} chip{'s' if n != 1 else ''}"


def run_label(trace: Trace) -> str:
    """What was run, for a figure's title: network, data set, card and chips (never the file name)."""
    s = trace.summary
    return f"{s.get('network')} on {s.get('dataset')}, card {s.get('card')}, {_chips(trace.n_chips)}"


@styled()
def energy_figure(trace: Trace):
    """Left: energy per component with its share. Right: energy per layer, stacked by component."""
    s = summarize(trace)
    fig, (left, right) = new_figure(PAGE_IN, 2.9, ncols=2)
    total = s["energy_j"]
    rows = sorted(s["energy_by_component_j"].items(), key=lambda kv: -kv[1])[::-1]  # largest at the top
    div, unit = scale(max((e for _, e in rows), default=0.0), "J")
    y = np.arange(len(rows))
    left.barh(y, [e / div for _, e in rows], color=[component_color(name) for name, _ in rows], height=0.7)
    left.set_yticks(y, [name for name, _ in rows])
    for yi, (_, e) in zip(y, rows, strict=True):
        share = e / total if total > 0 else float("nan")
        left.annotate(f"{100 * share:.1f} %", (e / div, yi), xytext=(3, 0), textcoords="offset points",
                      va="center", fontsize=7)
    left.set_xlabel(f"energy per chip run ({unit})")
    left.set_title(f"by component (total {total / div:.3g} {unit})")
    left.margins(x=0.22)

    split = energy_by_component_layer(trace)
    layers = [r["layer"] for r in s["energy_by_layer"]]
    div, unit = scale(max((r["energy_j"] for r in s["energy_by_layer"]), default=0.0), "J")
    stacked_by_component(right, [str(layer) for layer in layers],
                         lambda comp: [split.get((layer, comp), 0.0) / div for layer in layers], 0.7)
    right.set_xlabel("layer (index)")
    right.set_ylabel(f"energy per chip run ({unit})")
    right.set_title("by layer, stacked by component")
    right.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(f"Energy per chip run\n{run_label(trace)}")
    return fig


# Lanes of the timeline beyond which tiles are merged into one lane per layer, and the height of one lane (in).
TIMELINE_LANES = 32
_LANE_IN = 0.17


def timeline_figure(trace: Trace, chip: int = 0, layers=None, tiles=None, window_s=None):
    """Gantt chart of one chip: one lane per (layer, tile) with one stripe per component kind in it; tile -1
    is the layer's digital stage.

    Intervals come from ``memsim.trace.timeline.busy_intervals``: since schema 3 the engine's recorded busy
    intervals of chip 0's first vectors (the axis then spans that window, and the title says so); for older
    traces, inferred for the whole run. ``layers``, ``tiles`` and ``window_s`` (start, end in seconds) select
    what is drawn (``memsim.trace.timeline.select``). The figure stays readable for any network: beyond
    ``TIMELINE_LANES`` (layer, tile) lanes, the tiles of each layer share one lane, and the height never exceeds
    ``MAX_HEIGHT_IN`` (tick labels are then thinned). Actions shorter than 0.2 % of the span (instantaneous DAC
    drives, sample-and-holds, register accesses on some cards) are drawn 0.2 % wide so that every action stays
    visible.
    """
    with styled():
        return _timeline(trace, chip, layers, tiles, window_s)


def _timeline(trace, chip, layers, tiles, window_s):
    iv = select(busy_intervals(trace, chip), layers, tiles, window_s)
    sampled = window(trace)
    if window_s is not None:
        t0, t1 = window_s
        t1 = min(t1, float(iv["end_s"].max(initial=t1)))
    elif sampled is not None:
        t0, t1 = 0.0, float(iv["end_s"].max(initial=0.0))  # the recorded window's span
    else:
        t0, t1 = 0.0, float(trace.chips["makespan_s"][list(trace.chips["chip"]).index(chip)])
    span = max(t1 - t0, 0.0)
    div, unit = scale(max(t1, span), "s")
    min_width = 0.002 * span
    digital = 1 << 30
    tile_of = np.where(iv["tile"] >= 0, iv["tile"], digital)
    keys = sorted({(int(a), int(b)) for a, b in zip(iv["layer"], tile_of, strict=True)})
    merged = len(keys) > TIMELINE_LANES
    if merged:
        tiles_per_layer = {la: sum(1 for k in keys if k[0] == la and k[1] != digital) for la, _ in keys}
        has_digital = {la for la, t in keys if t == digital}
        keys = sorted({(la, 0) for la, _ in keys})
    lane_of = {k: i for i, k in enumerate(keys)}
    comps = [c for c in COMPONENTS if c in set(iv["component"])]
    stripe = 0.84 / max(len(comps), 1)
    height = min(MAX_HEIGHT_IN, max(2.2, 1.25 + _LANE_IN * len(keys)))
    fig, (ax,) = new_figure(PAGE_IN, height)
    lane = np.array([lane_of[(int(a), 0 if merged else int(b))] for a, b in zip(iv["layer"], tile_of, strict=True)],
                    dtype=np.intp)
    for j, comp in enumerate(comps):
        sel = iv["component"] == comp
        for i in np.unique(lane[sel]):
            rows = sel & (lane == i)
            spans = [(a / div, (b - a) / div) for a, b in _union(iv["start_s"][rows], iv["end_s"][rows], min_width)]
            ax.broken_barh(spans, (i - 0.42 + j * stripe, stripe), facecolors=component_color(comp),
                           label=comp if i == lane[sel][0] else None)
    if merged:
        labels = [f"L{la} ({tiles_per_layer[la]} tile{'s' if tiles_per_layer[la] != 1 else ''}"
                  f"{' + digital' if la in has_digital else ''})" for la, _ in keys]
    else:
        labels = [f"L{la} {'digital' if t == digital else f'T{t}'}" for la, t in keys]
    step = max(1, math.ceil(len(keys) / ((height - 1.2) / 0.11)))  # at most one label per 0.11 in
    ax.set_yticks(range(0, len(keys), step), labels[::step])
    ax.set_ylim(len(keys) - 0.5, -0.5)
    ax.set_xlim(t0 / div, (t0 + span) / div if span > 0 else None)
    ax.set_xlabel(f"simulated time ({unit})")
    ax.set_ylabel("layer and tile" if not merged else "layer (tiles merged)")
    ax.grid(axis="x")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0),
              ncols=len(comps), handlelength=1.0, columnspacing=1.0)
    what = (f"first {sampled[0]} of {sampled[1]} inferences (recorded window)" if sampled is not None
            else f"whole run, makespan {span / div:.3g} {unit}")
    if window_s is not None:
        what += f", {t0 / div:.4g}–{(t0 + span) / div:.4g} {unit}"
    fig.suptitle(f"Busy intervals of chip {chip}, {what}\n{run_label(trace)}")
    return fig


def _union(start: np.ndarray, end: np.ndarray, min_width: float) -> list[tuple[float, float]]:
    """The intervals ``[start, max(end, start + min_width)]`` merged where they overlap (the tiles of a merged lane
    work in parallel): the same picture with far fewer shapes, so vector files stay small."""
    order = np.argsort(start, kind="stable")
    out: list[list[float]] = []
    for a, b in zip(start[order], np.maximum(end, start + min_width)[order], strict=True):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], float(b))
        else:
            out.append([float(a), float(b)])
    return [(a, b) for a, b in out]


@styled()
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
    fig, (left, right) = new_figure(PAGE_IN, 3.0, ncols=2)
    width = 0.8 / max(len(layers), 1)
    positions = np.where(bits < 0, -1.4, bits).astype(float)  # "exact" set apart from bit 0
    exact, clip_rate = [], []
    for j, layer in enumerate(layers):
        sel = err["layer"] == layer
        counts = np.array([err["count"][sel & (err["bit"] == b)].sum() for b in bits], dtype=float)
        total = counts.sum()
        frac = counts / total if total else counts
        exact.append(frac[bits == -1].sum() if total else float("nan"))
        out_bits = plan.get(layer, {}).get("output_bits")
        label = f"layer {layer} ({out_bits}-bit output)" if out_bits else f"layer {layer} (accumulator)"
        left.bar(positions + (j - (len(layers) - 1) / 2) * width, 100 * frac, width, label=label)
        clip_rate.append(layer_clip_rate(trace, layer))
    step = max(1, math.ceil(len(bits) / 16))
    left.set_xticks(positions[::step], ["exact" if b < 0 else str(b) for b in bits][::step])
    left.set_yscale("log")
    low, high = left.get_ylim()
    left.set_ylim(low, high * 10 ** (0.35 * np.log10(high / low)))  # room for the legend
    left.set_yticks([10.0**k for k in range(math.floor(math.log10(low)), 3)], minor=False)
    left.set_ylim(low, high * 10 ** (0.35 * np.log10(high / low)))
    left.set_xlabel("highest bit that differs from the zero-variation\nreference (0 = output LSB)")
    left.set_ylabel("share of the layer's outputs (%)")
    left.set_title("where output errors land")
    left.legend(loc="upper right")
    x = np.arange(len(layers))
    for offset, values, label, color in ((-0.2, exact, "outputs equal to the reference", PALETTE[2]),
                                         (0.2, clip_rate, "ADC conversions clipped", PALETTE[3])):
        bars = right.bar(x + offset, np.array(values) * 100, 0.4, label=label, color=color)
        right.bar_label(bars, fmt="%.1f", fontsize=6.5, padding=1)
    right.set_xticks(x, [str(layer) for layer in layers])
    right.set_xlabel("layer (index)")
    right.set_ylabel("share (%)")
    right.set_ylim(0, 125)
    right.set_yticks([0, 25, 50, 75, 100])
    right.set_title("bit-exact outputs and clipped partial sums")
    right.legend(loc="upper right")
    fig.suptitle(f"Output errors and ADC clipping (all chips)\n{run_label(trace)}")
    return fig


def layer_clip_rate(trace: Trace, layer: int) -> float:
    """Share of the layer's ADC conversions that clipped (all chips; 0 without conversions)."""
    ev = trace.events
    comp, action = ev.labels("component"), ev.labels("action")
    sel = (ev["layer"] == layer) & (comp == "adc")
    conv = ev["count"][sel & (action == "convert")].sum()
    clipped = ev["count"][sel & (action == "clip")].sum()
    return float(clipped / conv) if conv else 0.0


@styled()
def accuracy_figure(trace: Trace):
    """Left: accuracy of each chip instance, mean ± std, ideal and float references. Right: bit-exact rate."""
    s = summarize(trace)
    chips = np.array([c["chip"] for c in s["per_chip"]])
    acc = np.array([c["accuracy"] for c in s["per_chip"]]) * 100
    fig, (left, right) = new_figure(PAGE_IN, 3.0, ncols=2)
    mean, std = s["accuracy_hw"] * 100, s["accuracy_hw_std"] * 100
    lo, hi = chips.min() - 0.5, chips.max() + 0.5
    band = left.fill_between([lo, hi], mean - std, mean + std, color=PALETTE[0], alpha=0.2, lw=0)
    line = left.axhline(mean, color=PALETTE[0])
    handles = [(band, line)]
    labels = [f"hardware mean ± std: {mean:.2f} ± {std:.2f} %"]
    handles.append(left.plot(chips, acc, "o", color=PALETTE[0], label="chip instance")[0])
    labels.append("chip instance")
    quant, flt = s["accuracy_quantized"], s["accuracy_float"]
    if quant is not None and flt is not None and abs(quant - flt) < 1e-12:
        handles.append(left.axhline(quant * 100, color=PALETTE[2], ls="--"))
        labels.append(f"float = quantized (ideal): {quant * 100:.2f} %")
    else:
        if flt is not None:  # drawn first and wider, so a quantized line on top leaves it visible
            handles.append(left.axhline(flt * 100, color=NEUTRAL, ls="-", lw=2.4, alpha=0.6))
            labels.append(f"float: {flt * 100:.2f} %")
        if quant is not None:
            handles.append(left.axhline(quant * 100, color=PALETTE[2], ls="--"))
            labels.append(f"quantized (ideal): {quant * 100:.2f} %")
    refs = [v * 100 for v in (quant, flt) if v is not None]
    top = max([*acc, mean + std, *refs])
    bottom = min([*acc, mean - std, *refs])
    pad = max(0.5, 0.15 * (top - bottom))
    left.set_ylim(bottom - pad, min(100.0, top + pad) + (1.5 * pad if top + pad > 100 else 0))
    left.set_xlim(lo, hi)
    left.set_xlabel("chip instance (index)")
    left.set_ylabel("test accuracy (%)")
    left.set_title("accuracy across chips")
    left.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=2)
    right.bar(chips, [c["bit_exact_rate"] * 100 for c in s["per_chip"]], color=PALETTE[1], width=0.6)
    right.set_xlabel("chip instance (index)")
    right.set_ylabel("bit-exact outputs (%)")
    right.set_ylim(0, 100)
    right.set_xlim(lo, hi)
    right.set_title("outputs equal to the reference")
    for ax in (left, right):
        if len(chips) <= 20:
            ax.set_xticks(chips)
        else:
            ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle(f"Accuracy per chip instance\n{run_label(trace)}")
    return fig


@styled()
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
    fig, (left, right) = new_figure(PAGE_IN, 3.3, ncols=2)
    image = left.imshow(share * 100, cmap="Blues", vmin=0, vmax=100)
    fig.colorbar(image, ax=left, label="share of the true label's inputs (%)", shrink=0.9)
    if classes <= MATRIX_CLASSES:
        for (label, predicted), count in np.ndenumerate(matrix):
            if count:
                left.text(predicted, label, str(count), ha="center", va="center", fontsize=5.5,
                          color="white" if share[label, predicted] > 0.5 else "black")
        left.set_xticks(range(classes))
        left.set_yticks(range(classes))
    left.set_xlabel("predicted class")
    left.set_ylabel("true class")
    left.set_title(f"confusion matrix (counts over {_chips(trace.n_chips)})")
    labels = np.array([c["label"] for c in s["per_class"]])
    right.bar(labels, [100 * c["accuracy"] for c in s["per_class"]], color=PALETTE[0], label="all chips", width=0.7)
    for c in s["per_class"]:
        right.plot([c["label"]] * len(c["accuracy_per_chip"]), [100 * a for a in c["accuracy_per_chip"]], ".",
                   color=PALETTE[1], label="chip instance" if c is s["per_class"][0] else None)
    right.axhline(100 * s["accuracy_hw"], color=PALETTE[3], ls="--", label=f"overall {100 * s['accuracy_hw']:.2f} %")
    right.set_xlabel("true class")
    right.set_ylabel("accuracy (%)")
    right.set_ylim(0, 120)
    right.set_yticks([0, 20, 40, 60, 80, 100])
    if classes <= MATRIX_CLASSES:
        right.set_xticks(labels)
    right.set_title("accuracy per class")
    right.legend(loc="upper center", ncols=3)
    fig.suptitle(f"Confusion over the test set\n{run_label(trace)}")
    return fig


@styled()
def latency_figure(trace: Trace):
    """Left: each layer's pipeline stage, its latency (one inference through the stage) and its period (the time
    between inferences it allows), the slowest period (the bottleneck, which sets the throughput; every stage
    that ties for it) marked.
    Right: the busy share of each component kind (busy time over run time, per unit)."""
    s = summarize(trace)
    if "stages" not in s:
        raise ValueError(
            f"trace {str(trace.path)!r} has schema_version {trace.schema_version}, which records no pipeline "
            "stages; re-run memsim simulate to write a newer trace"
        )
    stages = s["stages"]
    fig, (left, right) = new_figure(PAGE_IN, 2.9, ncols=2)
    layers = np.arange(len(stages))
    div, unit = scale(max(max(st["latency_s"], st["period_s"]) for st in stages), "s")
    longest = max(st["period_s"] for st in stages)
    slowest = [i for i, st in enumerate(stages) if st["period_s"] >= longest * (1 - 1e-9)]  # ties all marked
    lat = left.bar(layers - 0.2, [st["latency_s"] / div for st in stages], 0.4, color=NEUTRAL)
    bars = left.bar(layers + 0.2, [st["period_s"] / div for st in stages], 0.4, color=PALETTE[0])
    for i in slowest:
        bars[i].set_color(PALETTE[3])
    others = [i for i in range(len(stages)) if i not in slowest]
    handles = [lat, *([bars[others[0]]] if others else []), bars[slowest[0]]]
    left.legend(handles, ["latency", *(["period"] if others else []), "bottleneck period"], loc="upper right",
                ncols=3)
    left.margins(y=0.3)
    left.set_xticks(layers, [str(st["layer"]) for st in stages])
    left.set_xlabel("layer (index)")
    left.set_ylabel(f"time per inference ({unit})")
    left.set_title(f"pipeline stages ({si(s['latency_s'], 's')} latency, "
                   f"{s['throughput_inf_per_s']:.3g} inferences/s)")
    util = s.get("utilization") or {}
    names = [c for c in COMPONENTS if c in util]
    right.barh(np.arange(len(names)), [100 * util[c] for c in names], color=[component_color(c) for c in names],
               height=0.7)
    right.set_yticks(np.arange(len(names)), names)
    right.set_ylim(len(names) - 0.5, -0.5)
    right.set_xlim(0, 100)
    right.set_xlabel("busy time / run time (%)")
    right.set_title("utilization per component kind")
    fig.suptitle(f"Latency, throughput and the bottleneck stage\n{run_label(trace)}")
    return fig


@dataclass(frozen=True)
class PlotKind:
    """One kind of ``memsim trace plot``: ``draw`` builds its figure from a trace (and, when ``per_chip``,
    the chip instance to draw); ``description`` is its one line in the ``--kind`` help."""

    draw: Callable[..., object]
    description: str
    per_chip: bool = False

    def figure(self, trace: Trace, chip: int = 0, **options):
        """The figure of ``trace`` (``chip`` and ``options`` are passed on only to a per-chip picture)."""
        return self.draw(trace, chip, **options) if self.per_chip else self.draw(trace)


# The one registry of plot kinds (the CLI's --kind choices and help come from it), in the order listed.
PLOTS: dict[str, PlotKind] = {
    "energy": PlotKind(energy_figure, "energy per component and per layer"),
    "timeline": PlotKind(timeline_figure, "busy intervals of one chip (--chip)", per_chip=True),
    "errors": PlotKind(errors_figure, "where output errors land, with bit-exact and clipped rates per layer"),
    "accuracy": PlotKind(accuracy_figure, "accuracy and bit-exact outputs of each chip instance"),
    "confusion": PlotKind(confusion_figure, "confusion matrix over the chips and accuracy per class"),
    "latency": PlotKind(latency_figure, "each layer's stage latency and period with the bottleneck, utilization"),
}


def plot_kind(name: str) -> PlotKind:
    """The registered plot kind called ``name``; otherwise one-line ValueError naming the allowed kinds."""
    if not isinstance(name, str) or name not in PLOTS:
        raise ValueError(f"--kind {name!r} is unknown; allowed: {', '.join(PLOTS)}")
    return PLOTS[name]
