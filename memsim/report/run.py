"""The sections of one run's report: headline figures, accuracy, energy, area, latency, timeline, errors, plan,
config and device cards.

Every number comes from ``memsim.trace.report.summarize`` (the same function as ``memsim trace summary``), except
the area, which only the trace's ``summary`` attribute holds: the area section appears exactly when that attribute
has ``area_by_component_m2``. The figures are those of ``memsim trace plot`` (``memsim.trace.plots``), inline as
SVG.
"""

from __future__ import annotations

import numpy as np

from memsim.report.html import Raw, area, esc, figure, mean_std, pct, section, si, table, tiles
from memsim.trace import plots
from memsim.trace.reader import Trace
from memsim.trace.report import flatten, summarize


def headline(s: dict, summary_attr: dict) -> list[tuple[str, str, str]]:
    """The headline tiles of a run: (label, value, note)."""
    items = [
        ("hardware accuracy", f"{pct(s['accuracy_hw'])}",
         f"± {pct(s['accuracy_hw_std'])} std over {s['chips']} chips" if s["chips"] != 1
         else "one chip: no spread over chips (--chips N)"),
        ("quantized (ideal) accuracy", pct(s["accuracy_quantized"]), f"float {pct(s['accuracy_float'])}"),
        ("energy per inference", si(s["energy_per_inference_j"], "J"), f"{si(s['energy_j'], 'J')} per chip run"),
        ("latency per inference", si(s["latency_s"], "s"), f"throughput {s['throughput_inf_per_s']:.4g} inferences/s"),
        ("COPE", f"{s['cope_gop_per_j']:.4g} GOP/J", "accuracy × operations / energy"),
        ("bit-exact outputs", pct(s["bit_exact_rate"]), "equal to the zero-variation reference"),
        ("ADC clip rate", pct(s["adc_clip_rate"], 3), f"of {s['adc_conversions']:,} conversions per chip run"),
    ]
    if has_area(summary_attr):
        total = summary_attr.get("area_m2") or sum(summary_attr["area_by_component_m2"].values())
        items.append(("chip area", area(total), f"{s['tiles']} tiles"))
        if isinstance(summary_attr.get("tops_per_w"), (int, float)):
            items.append(("energy efficiency", f"{summary_attr['tops_per_w']:.4g} TOPS/W", "operations per joule"))
        if isinstance(summary_attr.get("tops_per_mm2"), (int, float)):
            items.append(("area efficiency", f"{summary_attr['tops_per_mm2']:.4g} TOPS/mm²", "operations per second "
                                                                                           "per chip area"))
        if isinstance(summary_attr.get("cope_gop_per_j_per_mm2"), (int, float)):
            items.append(("COPE per area", f"{summary_attr['cope_gop_per_j_per_mm2']:.4g} GOP/J/mm²", "COPE / chip "
                                                                                                    "area"))
    return items


def _warnings(s: dict) -> str:
    return "".join(f'<div class="warning">warning: {esc(w)}</div>' for w in s.get("warnings", []))


def accuracy_section(trace: Trace, s: dict, anchor: str) -> str:
    rows = [["float (software)", pct(s["accuracy_float"])],
            ["quantized (ideal datapath)", pct(s["accuracy_quantized"])],
            ["hardware, mean ± std over chips", mean_std(s["accuracy_hw"], s["accuracy_hw_std"], s["chips"])],
            ["bit-exact outputs (mean over chips)", pct(s["bit_exact_rate"])]]
    chips = [[c["chip"], pct(c["accuracy"]), pct(c["bit_exact_rate"]), si(c["energy_j"], "J"), si(c["run_time_s"], "s")]
             for c in s["per_chip"]]
    body = ('<div class="side">' + table(["accuracy", "value"], rows, numeric={1})
            + table(["chip", "accuracy", "bit-exact", "energy", "run time"], chips, numeric={0, 1, 2, 3, 4}) + "</div>")
    body += figure(plots.accuracy_figure(trace), "Accuracy of each chip instance with the mean ± std band and the "
                   "ideal references (left); outputs equal to the zero-variation reference (right).")
    if "confusion" in s:
        body += figure(plots.confusion_figure(trace), "Confusion matrix summed over the chips (colour: share of "
                       "the true class's inputs) and the accuracy of each class, every chip as a dot.")
    return section(anchor, "Accuracy", body, f"{s['network']} on {s['dataset']}: {s['inferences']} inferences per "
                   "chip instance; each chip instance samples its own device variation.")


def energy_section(trace: Trace, s: dict, anchor: str) -> str:
    total = s["energy_j"] or 1.0
    n = s["inferences"] or 1
    comps = [[c, si(e, "J"), si(e / n, "J"), pct(e / total, 1)]
             for c, e in sorted(s["energy_by_component_j"].items(), key=lambda kv: -kv[1])]
    comps.append(["total", si(s["energy_j"], "J"), si(s["energy_per_inference_j"], "J"), "100.0 %"])
    layers = [[r["layer"], f"{r['rows']} → {r['outputs']}", r["tiles"], si(r["energy_j"], "J"),
               si(r["energy_j"] / n, "J"), pct(r["share"], 1), f"{r['adc_clipped']:,.0f}"]
              for r in s["energy_by_layer"]]
    body = ('<div class="side">'
            + table(["component", "per chip run", "per inference", "share"], comps, numeric={1, 2, 3},
                    marked={len(comps) - 1})
            + table(["layer", "rows → outputs", "tiles", "per chip run", "per inference", "share",
                     "ADC clipped"], layers, numeric={0, 2, 3, 4, 5, 6}) + "</div>")
    static = s.get("static_energy_j")
    note = f" Static energy: {si(static, 'J')} per chip run." if static is not None else ""
    body += figure(plots.energy_figure(trace), "Energy per chip run by component kind with its share (left) and "
                   "per layer, stacked by component (right)." + note)
    return section(anchor, "Energy", body, "Energies are per chip run (all inferences), averaged over the chip "
                   "instances, summed from the trace's event table.")


def has_area(summary_attr: dict) -> bool:
    """Whether the run's summary holds an area breakdown (the area section is drawn iff it does)."""
    return isinstance(summary_attr.get("area_by_component_m2"), dict)


def _area_figure(by_component: dict, label: str):
    from memsim.plotstyle import PAGE_IN, component_color, styled
    from memsim.trace.plots import new_figure

    with styled():
        rows = sorted(by_component.items(), key=lambda kv: kv[1])
        fig, (ax,) = new_figure(PAGE_IN / 2, max(1.8, 0.9 + 0.22 * len(rows)))
        total = sum(v for _, v in rows) or 1.0
        ax.barh(np.arange(len(rows)), [v * 1e6 for _, v in rows], color=[component_color(c) for c, _ in rows],
                height=0.7)
        for i, (_, v) in enumerate(rows):
            ax.annotate(f"{100 * v / total:.1f} %", (v * 1e6, i), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=7)
        ax.set_yticks(np.arange(len(rows)), [c for c, _ in rows])
        ax.margins(x=0.22)
        ax.set_xlabel("area (mm²)")
        ax.set_title(f"Chip area by component\n{label}")
    return fig


def _area_rows(value) -> tuple[list[str], list[list]] | None:
    """A per-layer area entry of the summary as a table: a list of objects (nested objects become one column per
    key, ``area_by_component_m2.adc``) or a mapping of layer to m². Areas (keys ending in ``_m2``, or inside an
    object whose key does) are shown in mm²."""
    if isinstance(value, dict):
        return ["layer", "area"], [[k, area(v)] for k, v in value.items() if isinstance(v, (int, float))]
    if not (isinstance(value, list) and value and all(isinstance(r, dict) for r in value)):
        return None

    def flat(row: dict, prefix: str = "", is_area: bool = False) -> dict:
        out = {}
        for k, v in row.items():
            name, in_area = f"{prefix}{k}", is_area or k.endswith("_m2")
            if isinstance(v, dict):
                out.update(flat(v, name + ".", in_area))
            else:
                out[name] = area(v) if in_area and isinstance(v, (int, float)) else v
        return out

    rows = [flat(r) for r in value]
    keys = list(dict.fromkeys(k for r in rows for k in r))
    header = [k.replace("area_by_component_m2.", "").replace("_m2", "").replace("_", " ") for k in keys]
    return header, [["" if r.get(k) is None else r.get(k) for k in keys] for r in rows]


def area_section(trace: Trace, summary_attr: dict, anchor: str) -> str:
    by = summary_attr["area_by_component_m2"]
    total = summary_attr.get("area_m2") or sum(v for v in by.values() if isinstance(v, (int, float)))
    rows = [[c, area(v), pct(v / total if total else float("nan"), 1)]
            for c, v in sorted(by.items(), key=lambda kv: -kv[1])]
    rows.append(["total", area(total), "100.0 %"])
    body = table(["component", "area", "share"], rows, numeric={1, 2}, marked={len(rows) - 1})
    for key, value in summary_attr.items():
        if key.startswith("area") and key not in ("area_m2", "area_by_component_m2"):
            shaped = _area_rows(value)
            if shaped:
                title = "per layer" if key in ("area_by_layer", "area_by_layer_m2") else key
                body += f"<h3>{esc(title)}</h3>" + table(shaped[0], shaped[1], numeric=set(range(len(shaped[0]))))
    body += figure(_area_figure(by, plots.run_label(trace)), "Chip area by component kind with its share.")
    return section(anchor, "Area", body, "From the run's summary (the trace's summary attribute).")


def latency_section(trace: Trace, s: dict, anchor: str) -> str:
    lines = [["latency per inference", si(s["latency_s"], "s")],
             ["throughput", f"{s['throughput_inf_per_s']:.4g} inferences/s"],
             ["run time per chip run", si(s["run_time_s"], "s")]]
    if "latency_first_s" in s:
        lines.insert(1, ["first inference (empty pipeline)", si(s["latency_first_s"], "s")])
    body = table(["figure", "value"], lines, numeric={1})
    if "stages" not in s:
        return section(anchor, "Latency", body, "This trace predates schema 3: latency and throughput come from "
                       "the run time; it records no pipeline stages.")
    stages = s["stages"]
    longest = max(st["period_s"] for st in stages)
    slowest = {i for i, st in enumerate(stages) if st["period_s"] >= longest * (1 - 1e-9)}
    mark = "bottleneck" if len(slowest) == 1 else f"bottleneck (tied, {len(slowest)} stages)"
    rows = [[st["layer"], si(st["latency_s"], "s"), si(st["period_s"], "s"), f"{1 / st['period_s']:.4g}",
             st.get("vectors", "-"), f"{st['input_buffer_bits']:,} bit" if "input_buffer_bits" in st else "-",
             mark if i in slowest else ""] for i, st in enumerate(stages)]
    body += table(["layer", "stage latency", "period", "max inferences/s", "vectors", "input buffer", ""], rows,
                  numeric={0, 1, 2, 3, 4, 5}, marked=slowest)
    if "utilization" in s:
        body += table(["component", "utilization"], [[k, pct(v, 1)] for k, v in
                                                    sorted(s["utilization"].items(), key=lambda kv: -kv[1])],
                      numeric={1})
    body += figure(plots.latency_figure(trace), "Each layer's pipeline stage: latency of one inference through it "
                   "and its period (the time between inferences it allows); the slowest period is the bottleneck "
                   "that sets the throughput. Right: busy time over run time per component kind.")
    return section(anchor, "Latency and bottleneck", body)


def timeline_section(trace: Trace, anchor: str, key: str) -> str:
    fig = plots.timeline_figure(trace, 0)
    note = ("Busy intervals of chip 0 as the engine recorded them (a sampled window of the first inferences; "
            "the schedule is periodic once the pipeline is full). Use the slider to zoom; "
            "`memsim trace timeline --layers --tiles --window` draws any part of it as an image.")
    return section(anchor, "Timeline", figure(fig, note, zoom_id=f"timeline-{key}"))


def errors_section(trace: Trace, s: dict, anchor: str) -> str:
    if trace.errors is None:
        return section(anchor, "Errors and ADC clipping", "<p>This trace predates schema 2 and records no error "
                       "positions.</p>")
    rows = []
    err = trace.errors
    for layer in (int(v) for v in trace.layers["layer"]):
        sel = err["layer"] == layer
        total = err["count"][sel].sum()
        exact = err["count"][sel & (err["bit"] == -1)].sum()
        wrong = err["bit"][sel & (err["bit"] >= 0) & (err["count"] > 0)]
        rows.append([layer, pct(exact / total if total else float("nan")), int(wrong.max()) if wrong.size else "-",
                     pct(plots.layer_clip_rate(trace, layer), 3)])
    body = table(["layer", "outputs equal to the reference", "highest wrong bit", "ADC conversions clipped"],
                 rows, numeric={0, 1, 2, 3})
    body += figure(plots.errors_figure(trace), "Left: each layer's outputs by the highest bit in which they differ "
                   "from the zero-variation reference (log scale). Right: bit-exact outputs and the share of ADC "
                   "conversions that clipped, per layer.")
    return section(anchor, "Errors and ADC clipping", body)


_PLAN_COLUMNS = (("input_bits", "input bits"), ("weight_bits", "weight bits"), ("output_bits", "output bits"),
                 ("adc_bits", "ADC bits"), ("adc_step", "ADC step"), ("columns_per_weight", "columns per weight"),
                 ("truncated_bits", "truncated bits"))


def plan_section(trace: Trace, anchor: str) -> str:
    plan = trace.plan
    rows = []
    for p in plan.get("layers", []):
        discard = p.get("discard") or []
        comp = p.get("compensation") or []
        rows.append([p["layer"], *[("accumulator" if p.get(k, "-") is None else p.get(k, "-"))
                                   for k, _ in _PLAN_COLUMNS],
                     len(discard), "yes" if any(comp) else "no"])
    body = table(["layer", *[label for _, label in _PLAN_COLUMNS], "discarded partial sums", "compensation"],
                 rows, numeric=set(range(0, len(_PLAN_COLUMNS) + 2)))
    return section(anchor, "Quantization plan", body, f"Encoding: {plan.get('encoding', '-')}. One row per layer "
                   "(the trace's plan attribute).")


def config_section(trace: Trace, anchor: str) -> str:
    rows = [[k, "" if v is None else v] for k, v in flatten(trace.config).items()]
    return section(anchor, "Configuration", table(["field", "value"], rows),
                   f"The run's full configuration (seed {trace.seed}); trace schema {trace.schema_version}, written "
                   f"by memsim {trace.memsim_version}.")


_UNITS = (("_m2", "m²"), ("_j", "J"), ("_w", "W"), ("_v", "V"), ("_a", "A"), ("_hz", "Hz"), ("_s", "s"))


def card_value(key: str, value) -> str:
    """A card field with its unit, from the field name's SI suffix (``g_*_s`` is a conductance in siemens)."""
    leaf = key.rsplit(".", 1)[-1]
    unit = next((u for suffix, u in _UNITS if leaf.endswith(suffix)), None)
    if unit == "s" and leaf.startswith("g_"):
        unit = "S"
    if unit == "m²":
        return area(value) if isinstance(value, (int, float)) else str(value)

    def one(v):
        if unit and isinstance(v, (int, float)) and not isinstance(v, bool):
            return si(float(v), unit)
        return str(v)

    if isinstance(value, list):
        return "[" + ", ".join(one(v) for v in value) + "]"
    return one(value)


def card_section(trace: Trace, anchor: str) -> str:
    body = ""
    for name, card in trace.cards.items():
        sources = flatten(card.get("sources", {})) if isinstance(card.get("sources"), dict) else {}
        fields = {k: v for k, v in flatten(card).items()
                  if not k.startswith("sources.") and k not in ("name", "description", "schema_version")}
        rows, missing = [], 0
        for key, value in fields.items():
            source = sources.get(key)
            if source is None:  # a source given for the enclosing table (e.g. adc.energy) covers its fields
                parts = key.split(".")
                source = next((sources[".".join(parts[:i])] for i in range(len(parts) - 1, 0, -1)
                               if ".".join(parts[:i]) in sources), None)
            missing += source is None
            rows.append([key, card_value(key, value),
                         source if source is not None else Raw("no source recorded")])
        cls = {2: "src"}
        body += (f"<h3>{esc(name)}</h3><p>{esc(card.get('description', ''))}</p>"
                 + table(["field", "value", "source"], rows, numeric={1}, cls=cls))
        if missing:
            body += f"<p class=\"lead\">{missing} field(s) without a recorded source.</p>"
    return section(anchor, "Device card", body, "Every number of the card the run used, with its source as the card "
                   "file states it.")


def run_sections(trace: Trace, key: str = "run") -> tuple[list[tuple[str, str]], str, dict]:
    """The navigation entries, the HTML of every section of ``trace`` and its summary; ``key`` makes the anchors
    unique when several runs share one page."""
    s = summarize(trace)
    attr = trace.summary
    parts = [("summary", "Summary", tiles(headline(s, attr)) + _warnings(s)),
             ("accuracy", "Accuracy", None), ("energy", "Energy", None)]
    if has_area(attr):
        parts.append(("area", "Area", None))
    parts += [("latency", "Latency", None), ("timeline", "Timeline", None), ("errors", "Errors", None),
              ("plan", "Plan", None), ("config", "Config", None), ("card", "Card", None)]
    builders = {
        "accuracy": lambda a: accuracy_section(trace, s, a), "energy": lambda a: energy_section(trace, s, a),
        "area": lambda a: area_section(trace, attr, a), "latency": lambda a: latency_section(trace, s, a),
        "timeline": lambda a: timeline_section(trace, a, key), "errors": lambda a: errors_section(trace, s, a),
        "plan": lambda a: plan_section(trace, a), "config": lambda a: config_section(trace, a),
        "card": lambda a: card_section(trace, a),
    }
    nav, html = [], []
    for name, title, body in parts:
        anchor = f"{key}-{name}"
        nav.append((anchor, title))
        if body is not None:
            html.append(section(anchor, "Headline figures", body))
        else:
            html.append(builders[name](anchor))
    return nav, "".join(html), s
