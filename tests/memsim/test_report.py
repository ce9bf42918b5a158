"""`memsim report` (the self-contained HTML page) and the publication style of every figure (issue 16).

The browser check of the page is in ``test_report_browser.py``; here: the page's content and self-containment,
the area section appearing exactly when the run's summary has an area breakdown, comparisons and sweep tables,
and for every figure: 300 dpi, nothing drawn outside the canvas, titles that say what is shown, and a timeline
that stays within 2000 px for a 4-layer network.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
from html.parser import HTMLParser
from pathlib import Path

import h5py
import numpy as np
import pytest

import memsim.trace
from memsim.plotstyle import DPI, PALETTE, text_inside
from memsim.report.run import has_area
from memsim.trace import plots

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def default_trace(tmp_path_factory):
    """The trace `memsim simulate` writes with no arguments (memsim-trace.h5 in the working directory)."""
    from memsim.cli.main import main

    directory = tmp_path_factory.mktemp("default")
    import os

    cwd = os.getcwd()
    os.chdir(directory)
    try:
        try:
            main(["simulate"])
        except SystemExit as exc:
            assert exc.code in (0, None)
    finally:
        os.chdir(cwd)
    path = directory / "memsim-trace.h5"
    assert path.is_file()
    return path


@pytest.fixture(scope="module")
def four_layer_trace(tmp_path_factory):
    """A 64-256-256-128-10 network (38 tiles) on 8 random inputs."""
    from memsim.cli.main import main

    directory = tmp_path_factory.mktemp("net4")
    rng = np.random.default_rng(0)
    sizes = [64, 256, 256, 128, 10]
    net = {}
    for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        net[f"W{i}"] = rng.normal(size=(a, b)) / np.sqrt(a)
        net[f"b{i}"] = np.zeros(b)
    np.savez(directory / "net4.npz", **net)
    np.savez(directory / "d8.npz", x=rng.random((8, 64)), y=rng.integers(0, 10, 8))
    out = directory / "net4.h5"
    try:
        main(["simulate", "--network", str(directory / "net4.npz"), "--data", str(directory / "d8.npz"),
              "-o", str(out), "--json"])
    except SystemExit as exc:
        assert exc.code in (0, None)
    return out


class _Page(HTMLParser):
    """Collects the tags, their attributes and the text of an HTML page."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def report(run_cli, tmp_path, *inputs) -> str:
    out = tmp_path / "report.html"
    code, stdout, err = run_cli(["report", *map(str, inputs), "-o", str(out)])
    assert code == 0, err
    assert stdout.strip() == f"wrote {out}"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".") or "tmp" in p.name] == []
    return out.read_text(encoding="utf-8")


def test_report_of_the_default_run_has_every_section_and_figure(default_trace, tmp_path, run_cli):
    html = report(run_cli, tmp_path, default_trace)
    page = parse(html)
    tr = memsim.trace.open(default_trace)
    area = has_area(tr.summary)  # the run's summary holds an area breakdown (memsim with chip areas)
    sections = [a["id"] for t, a in page.tags if t == "section"]
    assert sections == ["run-summary", "run-accuracy", "run-energy", *(["run-area"] if area else []), "run-latency",
                        "run-timeline", "run-errors", "run-plan", "run-config", "run-card"]
    # accuracy, confusion, energy, (area,) latency, timeline, errors
    assert [t for t, _ in page.tags].count("svg") == 6 + area
    figures = [a for t, a in page.tags if t == "figure"]
    assert len(figures) == 6 + area
    text = " ".join(page.text)
    s = memsim.trace.report.summarize(tr)
    # Accuracy with its spread, energy and latency with units, the bottleneck marked.
    assert f"{100 * s['accuracy_hw']:.2f} % (1 chip: no spread over chips)" in text  # no ± 0.00 % for one chip
    assert memsim.trace.report.si(s["energy_per_inference_j"], "J") in text
    assert "bottleneck (tied, 3 stages)" in text  # the default run's three stages share the 800 ns period
    assert 'data-zoom="timeline-run"' in html
    # Every card number with its source.
    card = tr.cards["isaac-2016"]
    for key, source in card["sources"].items():
        if isinstance(source, str):
            assert source in text, key
    assert "adc.bits" in text and "10 µS" in text  # g_max_s shown as a conductance


def test_report_is_self_contained(default_trace, tmp_path, run_cli):
    html = report(run_cli, tmp_path, default_trace)
    page = parse(html)
    for tag, attrs in page.tags:
        assert tag not in ("link", "img", "iframe", "object", "embed"), tag
        for name in ("src", "href", "xlink:href"):
            value = attrs.get(name) or ""
            assert not re.match(r"^\w+://", value), (tag, name, value)  # no network, no files: only #anchors
    assert "@import" not in html and "url(http" not in html
    assert html.count("<style>") == 1 and html.count("<script>") == 1


def _with_area(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as h5:
        summary = json.loads(h5.attrs["summary"])
        summary["area_m2"] = 2.5e-6
        summary["area_by_component_m2"] = {"adc": 1.5e-6, "crossbar": 0.7e-6, "dac": 0.3e-6}
        summary["area_by_layer"] = [  # the layout of issue 15's summary
            {"layer": 0, "tiles": 3, "area_m2": 1.6e-6, "area_by_component_m2": {"adc": 1.0e-6, "crossbar": 0.6e-6}},
            {"layer": 1, "tiles": 2, "area_m2": 0.9e-6, "area_by_component_m2": {"adc": 0.5e-6, "crossbar": 0.4e-6}}]
        summary["tops_per_mm2"] = 1.25
        h5.attrs["summary"] = json.dumps(summary)
    return dst


def _without_area(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as h5:
        summary = json.loads(h5.attrs["summary"])
        for key in [k for k in summary if k.startswith("area") or k.endswith("mm2")]:
            del summary[key]
        h5.attrs["summary"] = json.dumps(summary)
    return dst


def test_area_section_appears_exactly_when_the_summary_has_an_area_breakdown(default_trace, tmp_path, run_cli):
    without = report(run_cli, tmp_path, _without_area(default_trace, tmp_path / "no-area.h5"))
    assert 'id="run-area"' not in without and "chip area" not in without
    area_trace = _with_area(default_trace, tmp_path / "area.h5")
    (tmp_path / "report.html").unlink()
    html = report(run_cli, tmp_path, area_trace)
    page = parse(html)
    sections = [a["id"] for t, a in page.tags if t == "section"]
    assert sections.index("run-area") == sections.index("run-energy") + 1
    text = " ".join(page.text)
    assert "2.5 mm²" in text and "1.5 mm²" in text and "60.0 %" in text  # adc: 1.5 of 2.5 mm²
    assert "per layer" in text and "1.6 mm²" in text and "crossbar" in text
    assert "0.4 mm²" in text and "1.25 TOPS/mm²" in text


def test_report_compares_runs_side_by_side(default_trace, tmp_path, run_cli):
    noisy = tmp_path / "noisy.h5"
    code, _, err = run_cli(["simulate", "--sigma", "0.15", "--chips", "2", "-o", str(noisy), "--json"])
    assert code == 0, err
    html = report(run_cli, tmp_path, default_trace, noisy)
    page = parse(html)
    sections = [a["id"] for t, a in page.tags if t == "section"]
    assert sections[0] == "compare"
    assert "run1-accuracy" in sections and "run2-accuracy" in sections
    text = " ".join(page.text)
    assert "memsim-trace.h5" in text and "noisy.h5" in text
    assert "÷ memsim-trace.h5" in text
    assert "devices.overrides.cell.variation.sigma_rel" in text  # the configuration difference


def _sweep_table(path: Path) -> Path:
    rows = ["point,chip,adc_bits,sigma,accuracy_hw,bit_exact_rate,energy_per_inference_j,latency_s,cope_gop_per_j,"
            "adc_clip_rate,point_id"]
    for point, (bits, sigma) in enumerate([(4, 0.0), (4, 0.1), (8, 0.0), (8, 0.1)]):
        for chip in range(3):
            acc = 0.5 + 0.05 * bits - sigma + 0.01 * chip
            rows.append(f"{point},{chip},{bits},{sigma},{acc},0.5,{1e-9 * bits},{2.5e-6},{1000 * acc},0.001,p{point}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_report_of_a_sweep_table_draws_its_plots(tmp_path, run_cli):
    table = _sweep_table(tmp_path / "results.csv")
    html = report(run_cli, tmp_path, table)
    page = parse(html)
    assert [a["id"] for t, a in page.tags if t == "section"] == ["sweep-points", "sweep-plots"]
    assert [t for t, _ in page.tags].count("svg") == 5
    text = " ".join(page.text)
    assert "Sweep results.csv: 4 points" in text
    assert "71.00 ± 1.00 %" in text  # point 1: adc_bits 4, σ 0.1, three chips 0.7, 0.71, 0.72


@pytest.mark.parametrize("kind", list(plots.PLOTS))
def test_every_plot_kind_is_300_dpi_with_nothing_outside_the_canvas(kind, default_trace, tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    tr = memsim.trace.open(default_trace)
    fig = plots.PLOTS[kind].figure(tr)
    FigureCanvasAgg(fig).draw()
    assert text_inside(fig)
    title = fig._suptitle.get_text()
    assert default_trace.name not in title and "digits-mlp on digits-test" in title
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        # Every axis says what it shows: a label, or (categories) named ticks.
        assert ax.get_xlabel(), kind
        assert ax.get_ylabel() or all(t.get_text() for t in ax.get_yticklabels()), kind
    out = plots.save(fig, tmp_path / f"{kind}.png")
    width, height = struct.unpack(">II", out.read_bytes()[16:24])
    w_in, h_in = fig.get_size_inches()
    assert (width, height) == (round(w_in * DPI), round(h_in * DPI))


def test_text_inside_catches_a_clipped_label():
    """The check can fail: a label pushed past the canvas edge is caught."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2))
    ax = fig.subplots()
    ax.annotate("3.5×", (1.0, 1.0), xytext=(0, 40), textcoords="offset points", annotation_clip=False)
    FigureCanvasAgg(fig).draw()
    assert not text_inside(fig)


def test_the_float_line_is_visible_and_labelled_when_it_differs(default_trace):
    """The float accuracy is drawn wider underneath the quantized one, so neither hides the other; when they are
    equal, one line says so."""
    fig = plots.accuracy_figure(memsim.trace.open(default_trace))
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(label.startswith("float = quantized (ideal)") for label in labels)  # 98.09 % both in this run


def test_timeline_of_a_four_layer_network_stays_readable(four_layer_trace, tmp_path, run_cli):
    """38 tiles: the whole window merges each layer's tiles into one lane; --window keeps the figure under 2000 px;
    --layers and --tiles select lanes."""
    tr = memsim.trace.open(four_layer_trace)
    whole = plots.timeline_figure(tr)
    assert [t.get_text() for t in whole.axes[0].get_yticklabels()][0].startswith("L0 (9 tiles")
    out = tmp_path / "window.png"
    code, _, err = run_cli(["trace", "timeline", str(four_layer_trace), "--window", "0:1.5us", "-o", str(out)])
    assert code == 0, err
    width, height = struct.unpack(">II", out.read_bytes()[16:24])
    assert height <= 2000 and width >= 2000
    fig = plots.timeline_figure(tr, window_s=(0.0, 1.5e-6))
    assert fig.axes[0].get_xlim() == pytest.approx((0.0, 1.5))  # µs
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    assert text_inside(fig)
    picked = plots.timeline_figure(tr, layers=(1,), tiles=(0, 1, 2))
    assert [t.get_text() for t in picked.axes[0].get_yticklabels()] == ["L1 T0", "L1 T1", "L1 T2"]


def test_sweep_plot_labels_its_axes_with_units(tmp_path):
    from memsim.sweep.plot import sweep_figure

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = sweep_figure(_sweep_table(tmp_path / "r.csv"), "sigma", "energy_per_inference_j", "adc_bits")
    FigureCanvasAgg(fig).draw()
    assert text_inside(fig)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "programming variation σ/G"
    assert ax.get_ylabel() == "energy per inference (nJ)"
    assert "r.csv" not in ax.get_title() and "mean ± std over 3 chips" in ax.get_title()
    assert ax.get_legend().get_title().get_text() == "ADC resolution (bit)"


def test_planner_figures_fixes(tmp_path):
    """The σ-sweep figure keeps its ratio labels inside the canvas; the error-position histogram's legend matches
    the shading of the truncated bits."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from memsim.planning.plots import sweep_figure

    rows = [{"sigma": s, "target_accuracy": 0.95, "cope_ratio": r,
             "conventional": {"accuracy_hw": 0.96 - s, "accuracy_hw_std": 0.01, "cope_gop_per_j": 1000.0},
             "planned": {"accuracy_hw": 0.955 - s, "accuracy_hw_std": 0.01, "cope_gop_per_j": 1000.0 * r}}
            for s, r in ((0.0, 3.5), (0.05, 3.1), (0.1, 2.2))]
    fig = sweep_figure(rows)
    FigureCanvasAgg(fig).draw()
    assert text_inside(fig)
    ax = fig.axes[1]
    renderer = fig.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    for text in ax.texts:
        extent = text.get_window_extent(renderer)
        assert box.y0 <= extent.y0 and extent.y1 <= box.y1, text.get_text()  # inside the axes, not clipped


def test_palette_is_the_colour_blind_safe_one_everywhere(default_trace):
    fig = plots.energy_figure(memsim.trace.open(default_trace))
    from matplotlib.colors import to_hex

    used = {to_hex(p.get_facecolor()).upper() for ax in fig.axes for p in ax.patches}
    assert used <= {c.upper() for c in PALETTE}


def test_error_map_ticks_are_whole_indices_and_the_legend_matches_the_bars():
    """The heat map's slice axis is ticked at slice indices (not −0.5…1.5); the histogram's legend names the colours
    its bars have (the truncated bits' bars, over the shaded region, in a colour of their own)."""
    from types import SimpleNamespace

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_hex

    from memsim.planning.plots import error_model_figure

    rng = np.random.default_rng(0)
    models = [SimpleNamespace(layer=i, p_code_error=rng.random((2, 8)) * 0.2,
                              error_bit=np.arange(16).reshape(2, 8), truncation_bits=6) for i in range(2)]
    fig = error_model_figure(models, [{-1: 150, 0: 250, 1: 220, 3: 20}] * 2)
    FigureCanvasAgg(fig).draw()
    assert text_inside(fig)
    heat = fig.axes[0]
    assert list(heat.get_yticks()) == [0, 1]
    (legend,) = fig.legends
    shown = {t.get_text(): to_hex(h.get_facecolor()) for t, h in zip(legend.get_texts(), legend.legend_handles,
                                                                      strict=True)}
    hist = next(ax for ax in fig.axes if ax.get_title() == "layer 0: error positions")
    bars = {round(p.get_x() + p.get_width() / 2): to_hex(p.get_facecolor()) for p in hist.patches
            if p.get_height() > 0 and p.get_width() < 1}
    assert bars[-1] == shown["in truncated bits (shaded)"] != shown["in kept bits"] == bars[0]


def test_report_only_figures_keep_their_text_inside(default_trace):
    """The figures only the report draws: the comparison of runs and the area breakdown."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from memsim.report.document import _comparison_figure
    from memsim.report.run import _area_figure
    from memsim.trace.report import summarize

    s = summarize(memsim.trace.open(default_trace))
    for fig in (_comparison_figure([s, s, s], ["a.h5", "b.h5", "a-much-longer-name.h5"]),
                _area_figure({"adc": 1.5e-6, "crossbar": 0.7e-6, "sample_hold": 1e-9}, "digits-mlp on digits-test")):
        FigureCanvasAgg(fig).draw()
        assert text_inside(fig)


def test_readme_shows_the_report_screenshot():
    root = Path(__file__).resolve().parents[2]
    readme = root.joinpath("README.md").read_text(encoding="utf-8")
    assert "![The report of the default run in headless Chromium](docs/report.png)" in readme
    data = root.joinpath("docs", "report.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 1280 and height >= 800
    for option in ("--layers", "--tiles", "--window", "memsim report"):
        assert option in readme
