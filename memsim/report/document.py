"""``memsim report``: one self-contained HTML page from traces and sweep tables.

One trace gives the full report of that run (``memsim.report.run``); several traces give a side-by-side
comparison (headline figures with ratios to the first, configuration differences, accuracy and energy of every
run in one figure) followed by each run's sections; a sweep table (``.csv``, from ``memsim sweep run``) gives its
points and plots (``memsim.report.sweep``). Everything is checked before anything is written; the page is written
atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from memsim import __version__
from memsim.files import atomic_write, check_writable
from memsim.report.html import Raw, figure, page, section, table
from memsim.report.run import run_sections
from memsim.report.sweep import sweep_sections
from memsim.trace.reader import DEFAULT_MAX_BYTES, open_trace
from memsim.trace.report import compare, compare_rows

SUFFIXES = (".html", ".htm")


def check_report_output(path: str | Path, inputs: list[str | Path]) -> Path:
    """The report path: ``.html`` in an existing, writable directory, not one of the inputs."""
    out = Path(path)
    if out.suffix.lower() not in SUFFIXES:
        raise ValueError(f"-o {str(out)!r}: a report is an HTML file; allowed: a name ending in .html or .htm")
    for p in inputs:
        if Path(p).exists() and out.exists() and out.resolve() == Path(p).resolve():
            raise ValueError(f"-o {str(out)!r} is one of the inputs; allowed: a new file name such as report.html")
    return check_writable(out, "-o", "report.html")


def _label(path: Path, paths: list[Path]) -> str:
    return path.name if sum(p.name == path.name for p in paths) == 1 else str(path)


def _comparison_figure(summaries: list[dict], labels: list[str]):
    from memsim.plotstyle import PAGE_IN, PALETTE, scale, stacked_by_component, styled
    from memsim.trace.plots import new_figure

    with styled():
        fig, (left, right) = new_figure(PAGE_IN, 2.9, ncols=2)
        x = np.arange(len(summaries))
        acc = [100 * s["accuracy_hw"] for s in summaries]
        std = [100 * s["accuracy_hw_std"] for s in summaries]
        quant = [100 * s["accuracy_quantized"] if s["accuracy_quantized"] is not None else np.nan for s in summaries]
        left.plot(x, quant, "_", color=PALETTE[2], markersize=22, markeredgewidth=2, label="quantized (ideal)")
        left.errorbar(x, acc, yerr=std, fmt="o", color=PALETTE[0], markersize=6,
                      label="hardware, mean ± std over chips")
        left.set_xticks(x, labels, rotation=15 if len(labels) > 3 else 0)
        left.set_xlim(-0.6, len(summaries) - 0.4)
        left.margins(y=0.25)
        left.set_xlabel("run")
        left.set_ylabel("test accuracy (%)")
        left.set_title("accuracy")
        left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=2)
        div, unit = scale(max(s["energy_per_inference_j"] for s in summaries), "J")
        stacked_by_component(right, x, lambda comp: [s["energy_by_component_j"].get(comp, 0.0)
                                                      / max(s["inferences"], 1) / div for s in summaries], 0.6)
        right.set_xticks(x, labels, rotation=15 if len(labels) > 3 else 0)
        right.set_xlabel("run")
        right.set_ylabel(f"energy per inference ({unit})")
        right.set_title("energy per inference by component")
        right.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.suptitle(f"{len(summaries)} runs side by side")
    return fig


def _comparison(summaries: list[dict], labels: list[str]) -> str:
    cmp = compare(summaries)
    header, rows = compare_rows(cmp, labels)
    body = table(header, rows, numeric=set(range(1, len(header))))
    if cmp["config_differences"]:
        diff = [[k, *[Raw(f"<code>{v}</code>") if v is not None else "-" for v in values]]
                for k, values in cmp["config_differences"].items()]
        body += "<h3>Configuration differences</h3>" + table(["field", *labels], diff)
    else:
        body += "<p>Configurations identical (apart from the trace path).</p>"
    body += figure(_comparison_figure(summaries, labels), "Accuracy (mean ± std over chips, ideal quantized "
                   "accuracy as a tick) and energy per inference by component of every run.")
    return section("compare", "Comparison", body, "Headline figures side by side, with ratios to the first run.")


def build_report(paths: list[str | Path], max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, str]:
    """The report of ``paths`` (traces and ``.csv`` sweep tables) as (title, HTML)."""
    if not paths:
        raise ValueError("memsim report needs at least one trace (.h5) or sweep table (.csv)")
    paths = [Path(p) for p in paths]
    traces = [(p, open_trace(p, max_bytes=max_bytes)) for p in paths if p.suffix.lower() != ".csv"]
    tables = [p for p in paths if p.suffix.lower() == ".csv"]
    nav: list[tuple[str, str]] = []
    body: list[str] = []
    summaries, labels = [], []
    run_parts = []
    for i, (p, tr) in enumerate(traces):
        key = "run" if len(traces) == 1 else f"run{i + 1}"
        run_nav, html, s = run_sections(tr, key)
        summaries.append(s)
        labels.append(_label(p, [q for q, _ in traces]))
        run_parts.append((key, run_nav, html))
    if len(traces) > 1:
        nav.append(("compare", "Comparison"))
        body.append(_comparison(summaries, labels))
        for (key, run_nav, html), label, s in zip(run_parts, labels, summaries, strict=True):
            nav.append((run_nav[0][0], label))
            body.append(f'<h2 class="run">{label}: {s["network"]} on {s["dataset"]}, card {s["card"]}</h2>{html}')
    elif traces:
        nav += run_parts[0][1]
        body.append(run_parts[0][2])
    for i, p in enumerate(tables):
        sweep_nav, html = sweep_sections(p, "sweep" if len(tables) == 1 else f"sweep{i + 1}")
        nav += sweep_nav
        body.append(html)
    if len(traces) == 1 and not tables:
        s = summaries[0]
        title = f"memsim report: {s['network']} on {s['dataset']}, card {s['card']}"
        subtitle = [f"{labels[0]}: {s['chips']} chip{'s' if s['chips'] != 1 else ''}, {s['inferences']} "
                    f"inferences each, seed {s['seed']}"]
    elif traces and not tables:
        title = f"memsim report: {len(traces)} runs compared"
        subtitle = [", ".join(labels)]
    elif not traces:
        title = "memsim report: " + ", ".join(p.name for p in tables)
        subtitle = ["sweep table" + ("s" if len(tables) > 1 else "") + " from memsim sweep run"]
    else:
        title = "memsim report"
        subtitle = [", ".join(p.name for p in paths)]
    footer = f"Written by memsim {__version__} (memsim report {' '.join(p.name for p in paths)})."
    return title, page(title, subtitle, nav, "".join(body), footer)


def write_report(paths: list[str | Path], out: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
    """Build the report of ``paths`` and write it to ``out`` atomically; every input and the output path are
    checked before anything is written."""
    target = check_report_output(out, paths)
    _, html = build_report(paths, max_bytes)
    with atomic_write(target) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return target
