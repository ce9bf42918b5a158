"""Headline figures of a trace (``memsim trace summary``) and of several side by side (``memsim trace compare``).

``summarize`` reports the keys of ``memsim simulate --json``, computed by the same function
(``memsim.figures.headline_figures``), plus what only a trace has (its path, schema, per-chip figures, energy
per layer, config and cards). Every figure is recomputed from the trace's tables, not copied from its
``summary`` attribute, so a trace that a user filtered or merged still reports consistent numbers: energy
from the event table (the ledger), latency and throughput from the per-chip table (the pipeline's figures
since schema 3; the chips' run times per inference before), utilization from its table, accuracy from the
per-chip table. Only what no table holds comes from the run's metadata: the float and quantized accuracies,
the number of inferences, the card, network and dataset names, the pipeline stages and the chip area (the
``summary`` attribute; no area in traces written before memsim reported it), and the drift age (the ``config``
attribute's ``timing.age_s``). Energies and times are per chip
run, averaged over chip instances, like ``memsim simulate``'s; energies are sums of the tables' float joules,
so they agree with ``memsim simulate``'s exact-integer figures to float rounding. Since schema 4 the summary
adds the confusion matrix and the accuracy per class, from the ``/confusion`` table.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from memsim import metrics
from memsim.figures import RunMeasurements, headline_figures
from memsim.trace.reader import Trace


def _by(trace: Trace, column: str) -> dict:
    """Event energy (J per chip run) grouped by ``column``; enum columns are grouped by name."""
    ev = trace.events
    keys = ev.labels(column) if column in ev.enums else ev[column]
    out: dict = {}
    for key in np.unique(keys):
        out[key.item() if hasattr(key, "item") else key] = float(ev["energy_j"][keys == key].sum()) / trace.n_chips
    return out


def energy_by_component_layer(trace: Trace) -> dict[tuple[int, str], float]:
    """Energy (J per chip run) of each ``(layer, component)`` pair that spent any, from the event table."""
    ev = trace.events
    comp = ev.labels("component")
    out: dict[tuple[int, str], float] = {}
    for layer in np.unique(ev["layer"]):
        for c in np.unique(comp):
            sel = (ev["layer"] == layer) & (comp == c)
            if sel.any():
                out[(int(layer), str(c))] = float(ev["energy_j"][sel].sum()) / trace.n_chips
    return out


def _utilization(trace: Trace) -> tuple[dict[str, float], ...] | None:
    """Each chip's utilization per component kind (the ``/utilization`` table, since schema 3)."""
    u = trace.utilization
    if u is None:
        return None
    names = u.labels("component")
    per_chip = []
    for chip in trace.chips["chip"]:
        sel = u["chip"] == chip
        per_chip.append({str(k): float(v) for k, v in zip(names[sel], u["utilization"][sel], strict=True)})
    return tuple(per_chip)


def confusion_per_chip(trace: Trace) -> np.ndarray | None:
    """The ``/confusion`` table as int64 matrices ``(chips, classes, classes)``: chips in the order of
    ``/chips``, rows true label, columns prediction (None before schema 4, or when no chip recorded one)."""
    cf = trace.confusion
    if cf is None or len(cf) == 0:
        return None
    index = {int(c): i for i, c in enumerate(trace.chips["chip"])}
    classes = int(max(cf["label"].max(initial=-1), cf["prediction"].max(initial=-1))) + 1
    matrices = np.zeros((trace.n_chips, classes, classes), dtype=np.int64)
    known = np.array([int(c) in index for c in cf["chip"]], dtype=bool)
    rows = np.array([index[int(c)] for c in cf["chip"][known]], dtype=np.intp)
    np.add.at(matrices, (rows, cf["label"][known], cf["prediction"][known]), cf["count"][known])
    return matrices


def class_figures(trace: Trace) -> dict:
    """``confusion`` (summed over chips; rows true label, columns prediction) and ``per_class``: per label, its
    inputs per chip run, the accuracy over all chips (correct / inputs × chips) and each chip's accuracy on it
    (NaN for a label without inputs). Empty before schema 4."""
    matrices = confusion_per_chip(trace)
    if matrices is None:
        return {}
    total = matrices.sum(axis=0)
    overall = metrics.class_accuracy(total)
    per_chip = metrics.class_accuracy(matrices)
    inputs = total.sum(axis=1) // max(trace.n_chips, 1)
    return {
        "confusion": total.tolist(),
        "per_class": [
            {"label": k, "inputs": int(inputs[k]), "accuracy": float(overall[k]),
             "accuracy_per_chip": [float(a) for a in per_chip[:, k]]}
            for k in range(len(total))
        ],
    }


def _age_s(config: dict) -> float | None:
    timing = config.get("timing")
    return timing.get("age_s") if isinstance(timing, dict) else None


def measurements(trace: Trace) -> RunMeasurements:
    """The trace's tables reduced to ``memsim.figures.RunMeasurements`` (see the module docstring)."""
    meta = trace.summary
    n_chips = trace.n_chips
    chips = trace.chips
    ev = trace.events
    comp, action = ev.labels("component"), ev.labels("action")
    pipelined = "latency_s" in chips.columns  # schema >= 3
    stages = meta.get("stages")
    return RunMeasurements(
        card=meta.get("card"),
        network=meta.get("network"),
        dataset=meta.get("dataset"),
        seed=trace.seed,
        inferences=trace.inferences,
        macs_per_inference=int(trace.layers["macs_per_inference"].sum()),
        accuracy_float=meta.get("accuracy_float"),
        accuracy_quantized=meta.get("accuracy_quantized"),
        accuracy_per_chip=tuple(float(a) for a in chips["accuracy"]),
        bit_exact_rate_per_chip=tuple(float(b) for b in chips["bit_exact_rate"]),
        energy_j=float(ev["energy_j"].sum()) / n_chips,
        energy_by_component_j={str(k): v for k, v in _by(trace, "component").items()},
        run_time_s=float(np.mean(chips["makespan_s"])),
        adc_conversions_total=int(ev["count"][(comp == "adc") & (action == "convert")].sum()),
        adc_clipped_total=int(ev["count"][(comp == "adc") & (action == "clip")].sum()),
        tiles=int(trace.layers["tiles"].sum()),
        events=int(chips["events"].sum()),
        trace=str(trace.path),
        latency_s_per_chip=tuple(float(v) for v in chips["latency_s"]) if pipelined else None,
        first_latency_s_per_chip=tuple(float(v) for v in chips["first_latency_s"]) if pipelined else None,
        throughput_inf_per_s_per_chip=tuple(float(v) for v in chips["throughput_inf_per_s"]) if pipelined else None,
        utilization_per_chip=_utilization(trace),
        static_energy_j=float(np.mean(chips["static_energy_j"])) if pipelined else None,
        stages_s=None if stages is None else tuple(
            (st["latency_s"], st["period_s"], *((st["vectors"], st["input_buffer_bits"]) if "vectors" in st else ()))
            for st in stages),
        age_s=_age_s(trace.config),
        classes=meta.get("classes"),
        area_m2=meta.get("area_m2"),
        area_by_component_m2=meta.get("area_by_component_m2"),
        area_by_layer=meta.get("area_by_layer"),
    )


def summarize(trace: Trace) -> dict:
    """The figures of ``memsim trace summary --json``: ``memsim.figures.headline_figures`` of the trace's
    ``measurements`` (the keys of ``memsim simulate --json``), plus what only a trace has: its path, schema and
    writer's version, each chip's figures, energy per layer, the confusion matrix and accuracy per class (since
    schema 4, ``class_figures``), the config and the cards."""
    figures = headline_figures(measurements(trace))
    energy_j = figures["energy_j"]
    chips = trace.chips
    layer_energy = {int(k): v for k, v in _by(trace, "layer").items()}
    layers = trace.layers
    by_layer = []
    for i in range(len(layers)):
        e = layer_energy.get(int(layers["layer"][i]), 0.0)
        by_layer.append({
            "layer": int(layers["layer"][i]), "rows": int(layers["rows"][i]), "outputs": int(layers["outputs"][i]),
            "tiles": int(layers["tiles"][i]), "energy_j": e, "share": e / energy_j if energy_j > 0 else float("nan"),
            "adc_clipped": float(layers["adc_clipped"][i]),
        })
    return {
        "trace": figures["trace"],
        "schema_version": trace.schema_version,
        "memsim_version": trace.memsim_version,
        **figures,
        "per_chip": [
            {"chip": int(chips["chip"][i]), "accuracy": float(chips["accuracy"][i]),
             "bit_exact_rate": float(chips["bit_exact_rate"][i]), "energy_j": float(chips["energy_j"][i]),
             "run_time_s": float(chips["makespan_s"][i])}
            for i in range(trace.n_chips)
        ],
        "energy_by_layer": by_layer,
        **class_figures(trace),
        "config": trace.config,
        "cards": trace.cards,
    }


# Figures that ``compare`` puts side by side: key, label, unit, formatter.
HEADLINE = (
    ("accuracy_hw", "accuracy (hardware, mean)", "1", "pct"),
    ("accuracy_hw_std", "accuracy std over chips", "1", "pct"),
    ("accuracy_quantized", "accuracy (quantized, ideal)", "1", "pct"),
    ("bit_exact_rate", "bit-exact outputs", "1", "pct"),
    ("energy_j", "energy per chip run", "J", "si"),
    ("energy_per_inference_j", "energy per inference", "J", "si"),
    ("latency_s", "latency per inference", "s", "si"),
    ("throughput_inf_per_s", "throughput", "inferences/s", "g"),
    ("ops", "operations per chip run", "1", "g"),
    ("cope_gop_per_j", "COPE", "GOP/J", "g"),
    ("tops_per_w", "TOPS/W", "TOPS/W", "g"),
    ("area_m2", "chip area", "mm²", "mm2"),
    ("tops_per_mm2", "TOPS/mm²", "TOPS/mm²", "g"),
    ("adc_clip_rate", "ADC clip rate", "1", "pct"),
)


def si(value: float | None, unit: str) -> str:
    """Engineering notation for display only: 3.21e-9, 'J' -> '3.21 nJ'."""
    if value is None:
        return "-"
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}"
    prefixes = {-18: "a", -15: "f", -12: "p", -9: "n", -6: "µ", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T"}
    exp = max(-18, min(12, int(math.floor(math.log10(abs(value)) / 3) * 3)))
    return f"{value / 10**exp:.3g} {prefixes[exp]}{unit}"


def show(value, unit: str, style: str) -> str:
    if value is None:
        return "-"
    if style == "pct":
        return f"{100 * value:.2f} %"
    if style == "si":
        return si(value, unit)
    if style == "mm2":  # an area in m², shown in mm²
        return f"{value * 1e6:.4g} mm²"
    return f"{value:.4g}" + ("" if unit == "1" else f" {unit}")


def flatten(data: dict, prefix: str = "") -> dict[str, object]:
    """Nested dict -> {"a.b.c": value} (lists kept as values; empty tables dropped), for listings."""
    out: dict[str, object] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):  # an empty table adds no key
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def accuracy_lines(s: dict) -> list[str]:
    """The accuracy block shared by ``memsim simulate`` and ``memsim trace summary``."""
    pct = lambda v: show(v, "1", "pct")  # noqa: E731
    # One chip has no spread over chips to show: no "± 0.00 %" that would read as a certainty.
    hardware = (f"  hardware (one chip)     {pct(s['accuracy_hw'])}  (no spread over chips; --chips N gives mean ± std)"
                if len(s.get("accuracy_hw_per_chip", ())) == 1 else
                f"  hardware (mean ± std)   {pct(s['accuracy_hw'])} ± {pct(s['accuracy_hw_std'])}")
    return [
        "accuracy",
        f"  float (software)        {pct(s['accuracy_float'])}",
        f"  quantized (ideal)       {pct(s['accuracy_quantized'])}",
        hardware,
        f"  bit-exact outputs       {pct(s['bit_exact_rate'])}",
    ]


def energy_lines(s: dict, indent: int) -> list[str]:
    """Energy per component kind, largest first, with its share of ``energy_j`` (a 24-character name column
    that starts after ``indent`` spaces)."""
    total = s["energy_j"] or 1.0
    return [f"{' ' * indent}{comp:<{24 - indent}}  {si(e, 'J'):>10}  {100 * e / total:5.1f} %"
            for comp, e in sorted(s["energy_by_component_j"].items(), key=lambda kv: -kv[1])]


def timing_lines(s: dict) -> list[str]:
    """Latency, throughput and where time goes: each layer's stage latency and period (the slowest sets the
    throughput), the busy share of every component kind, static energy and the drift age. Figures a trace
    older than schema 3 lacks are left out; its latency and throughput come from the run time."""
    if "latency_first_s" in s:
        latency_note = f"  (first inference, empty pipeline: {si(s['latency_first_s'], 's')})"
        throughput_note = " (steady state)"
    else:
        latency_note, throughput_note = "  (run time / inferences)", " (inferences / run time)"
    lines = [f"latency per inference     {si(s['latency_s'], 's')}{latency_note}",
             f"throughput                {s['throughput_inf_per_s']:.4g} inferences/s{throughput_note}"]
    if "stages" in s:
        slowest = max(s["stages"], key=lambda st: st["period_s"], default=None)
        tied = [st for st in s["stages"] if slowest is not None and st["period_s"] == slowest["period_s"]]
        lines.append("where time goes           layer  latency     period  vectors  input buffer  (per inference)")
        for st in s["stages"]:
            # every stage with the longest period sets the throughput: all are marked when they tie
            mark = ("  <- bottleneck" + (f" (tied, {len(tied)} stages)" if len(tied) > 1 else "")) if st in tied \
                else ""
            lat, per = si(st["latency_s"], "s"), si(st["period_s"], "s")
            extra = f"  {st['vectors']:>7}  {st['input_buffer_bits']:>8} bit" if "vectors" in st else ""
            lines.append(f"  {'':<22}  {st['layer']:>5}  {lat:>10}  {per:>10}{extra}{mark}")
        if slowest is not None and s["throughput_inf_per_s"] * slowest["period_s"] < 0.999:
            lines.append(f"  below the slowest stage's {1 / slowest['period_s']:.4g} inferences/s: the inter-layer "
                         "buffers stall the pipeline (try a larger --buffer)")
    if "utilization" in s:
        busy = ", ".join(f"{k} {100 * v:.1f} %" for k, v in sorted(s["utilization"].items(), key=lambda kv: -kv[1]))
        lines.append(f"utilization               {busy}  (busy time / run time, per unit)")
    if "static_energy_j" in s:
        lines.append(f"static energy             {si(s['static_energy_j'], 'J')} per chip run")
    if s.get("age_s"):
        lines.append(f"age after programming     {si(s['age_s'], 's')}")
    return lines


def area_lines(s: dict) -> list[str]:
    """Chip area of the mapped network: the total, per component kind (largest first, with its share) and per
    layer (tiles, ADCs); nothing for a source without area."""
    if "area_m2" not in s:
        return []
    total = s["area_m2"] or 1.0
    mm2 = lambda a: f"{a * 1e6:.4g} mm²"  # noqa: E731
    lines = [f"chip area                 {mm2(s['area_m2'])}  (occupied tiles with their periphery and the layers' "
             "digital stages; no buffers, buses or routers)"]
    lines.append("  by component")
    lines += [f"    {comp:<20}  {mm2(a):>14}  {100 * a / total:5.1f} %"
              for comp, a in sorted(s["area_by_component_m2"].items(), key=lambda kv: -kv[1]) if a > 0]
    layers = s.get("area_by_layer") or ()
    if layers:
        lines.append("  by layer")
    for la in layers:
        tiles = f"{la['tiles']} tile{'s' if la['tiles'] != 1 else ''}, {la['adcs']} ADC{'s' if la['adcs'] != 1 else ''}"
        share = 100 * la["area_m2"] / total
        lines.append(f"    layer {la['layer']:<3} {tiles:<16}  {mm2(la['area_m2']):>14}  {share:5.1f} %")
    return lines


def operation_lines(s: dict) -> list[str]:
    """Operations, COPE, TOPS/W (and per area) and ADC conversions."""
    per_area = []
    if "tops_per_mm2" in s:
        per_area = [f"TOPS/mm²                  {s['tops_per_mm2']:.4g}  (operations × throughput / chip area)",
                    f"COPE per mm²              {s['cope_gop_per_j_per_mm2']:.4g} GOP/J/mm²"]
    return [
        f"operations                {s['ops']:,} ({s['macs_per_inference']:,} MACs per inference × 2)",
        f"COPE                      {s['cope_gop_per_j']:.4g} GOP/J  (accuracy × operations / energy)",
        f"TOPS/W                    {s['tops_per_w']:.4g}  (operations / energy)",
        *per_area,
        f"ADC conversions           {s['adc_conversions']:,} per chip run, {show(s['adc_clip_rate'], '1', 'pct')} "
        "clipped",
    ]


# Classes up to which ``memsim trace summary`` prints the whole confusion matrix (beyond, per-class accuracy only).
MATRIX_CLASSES = 20


def class_lines(s: dict) -> list[str]:
    """The confusion matrix summed over chips (rows: true label, columns: prediction) with each class's accuracy
    over all chips and its inputs per chip run; beyond ``MATRIX_CLASSES`` classes the accuracy per class only.
    Nothing for a trace before schema 4."""
    if "confusion" not in s:
        return []
    matrix = s["confusion"]
    classes = len(matrix)
    chips = f"{s['chips']} chip{'s' if s['chips'] != 1 else ''}"
    show_matrix = classes <= MATRIX_CLASSES
    width = max([4, len(str(classes - 1)) + 2] + [len(str(v)) + 2 for row in matrix for v in row])
    header = "  label" + ("".join(f"{k:>{width}}" for k in range(classes)) if show_matrix else "")
    lines = [f"confusion matrix          rows: true label, columns: prediction; counts summed over {chips}"
             if show_matrix else f"accuracy per class        {classes} classes (the confusion matrix: --json, export)",
             f"{header}   accuracy  inputs"]
    for row, c in zip(matrix, s["per_class"], strict=True):
        counts = "".join(f"{v:>{width}}" for v in row) if show_matrix else ""
        accuracy = show(c["accuracy"], "1", "pct") if math.isfinite(c["accuracy"]) else "-"
        lines.append(f"  {c['label']:>5}{counts}  {accuracy:>9}  {c['inputs']:>6}")
    lines.append(f"  (accuracy: the class's correct predictions / its inputs, over {chips}; inputs: per chip run)")
    return lines


def summary_text(s: dict) -> str:
    """The human-readable form of ``summarize``'s dict."""
    pct = lambda v: show(v, "1", "pct")  # noqa: E731
    lines = [
        f"memsim trace {s['trace']} (schema {s['schema_version']}, written by memsim {s['memsim_version']})",
        f"card {s['card']}, network {s['network']} on {s['dataset']} ({s['inferences']} inferences), "
        f"{s['chips']} chip{'s' if s['chips'] != 1 else ''}, seed {s['seed']}",
        "",
        *accuracy_lines(s),
        "",
        "  chip   accuracy   bit-exact     energy   run time",
    ]
    for c in s["per_chip"]:
        lines.append(f"  {c['chip']:>4}  {pct(c['accuracy']):>9}  {pct(c['bit_exact_rate']):>10}  "
                     f"{si(c['energy_j'], 'J'):>9}  {si(c['run_time_s'], 's'):>9}")
    if "confusion" in s:
        lines += ["", *class_lines(s)]
    lines += ["", f"energy per chip run       {si(s['energy_j'], 'J')}  "
                  f"({si(s['energy_per_inference_j'], 'J')} per inference)", "  by component",
              *energy_lines(s, 4), "  by layer"]
    for r in s["energy_by_layer"]:
        shape = f"layer {r['layer']} ({r['rows']} → {r['outputs']}, {r['tiles']} tile{'s' if r['tiles'] != 1 else ''})"
        lines.append(f"    {shape:<28}  {si(r['energy_j'], 'J'):>10}  {100 * r['share']:5.1f} %")
    lines += ["", *timing_lines(s), *operation_lines(s)]
    if "area_m2" in s:
        lines += ["", *area_lines(s)]
    lines += ["", "config"]
    lines += [f"  {k} = {v}" for k, v in flatten(s["config"]).items()]
    for name, card in s["cards"].items():
        lines += ["", f"card {name}: {card.get('description', '')}"]
        fields = {k: v for k, v in flatten(card).items()
                  if not k.startswith("sources.") and k not in ("name", "description", "schema_version")}
        lines += [f"  {k} = {v}" for k, v in fields.items()]
    return "\n".join(lines)


def compare(summaries: list[dict]) -> dict:
    """Headline figures of several traces side by side, with ratios to the first, and config differences."""
    figures = []
    for key, label, unit, _ in HEADLINE:
        values = [s.get(key) for s in summaries]
        base = values[0]
        ratios = [v / base if base not in (None, 0) and v is not None and math.isfinite(base) else None
                  for v in values]
        figures.append({"figure": key, "label": label, "unit": unit, "values": values, "ratios": ratios})
    configs = [flatten(s["config"]) for s in summaries]
    keys = sorted(set().union(*configs) - {"trace"})
    differences = {k: [c.get(k) for c in configs] for k in keys
                   if any(c.get(k) != configs[0].get(k) for c in configs[1:])}
    return {"traces": [s["trace"] for s in summaries], "figures": figures, "config_differences": differences}


def compare_rows(cmp: dict, names: list[str]) -> tuple[list[str], list[list[str]]]:
    """The comparison as a header and rows of strings: one row per figure; per run (titled by ``names``) its
    value, and for every run after the first its ratio to the first. Shared by the text table and the report."""
    header = ["figure", names[0]]
    for name in names[1:]:
        header += [name, f"÷ {names[0]}"]
    styles = {key: style for key, _, _, style in HEADLINE}
    rows = []
    for f in cmp["figures"]:
        row = [f["label"], show(f["values"][0], f["unit"], styles[f["figure"]])]
        for v, r in zip(f["values"][1:], f["ratios"][1:], strict=True):
            row += [show(v, f["unit"], styles[f["figure"]]), "-" if r is None else f"{r:.3f}"]
        rows.append(row)
    return header, rows


def compare_text(cmp: dict) -> str:
    """Table: one row per figure; per trace its value, and for every trace after the first its ratio."""
    names = [_label(t, cmp["traces"]) for t in cmp["traces"]]
    header, rows = compare_rows(cmp, names)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def fmt(r):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))

    lines = [fmt(header), *(fmt(r) for r in rows)]
    if cmp["config_differences"]:
        lines += ["", "config differences"]
        for key, values in cmp["config_differences"].items():
            lines.append(f"  {key}: " + " | ".join(f"{n} = {v}" for n, v in zip(names, values, strict=True)))
    else:
        lines += ["", "config: identical (apart from the trace path)"]
    return "\n".join(lines)


def _label(path: str, all_paths: list[str]) -> str:
    """A trace's column title: its file name, or the full path when two traces share a name."""
    name = Path(path).name
    return name if sum(Path(p).name == name for p in all_paths) == 1 else path
