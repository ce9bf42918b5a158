"""The one look of every memsim figure: sizes for a paper's column, fonts, a colour-blind-safe palette, 300 dpi.

Every figure function (``memsim.trace.plots``, ``memsim.planning.plots``, ``memsim.sweep.plot``, the HTML report)
builds its figure inside ``styled()``, a ``matplotlib.rc_context`` with ``RC``, so the settings apply to that
figure only and never to the user's own matplotlib state; ``memsim.trace.plots.save`` writes rasters at ``DPI``.

- Sizes: ``COLUMN_IN`` (one column of a two-column paper, 3.5 in) and ``PAGE_IN`` (the full text width, 7.16 in);
  at these widths the 8-point text is printed at 8 points.
- Palette: Okabe & Ito's eight colours ("Color Universal Design", 2008), distinguishable under the common forms of
  colour blindness and in greyscale by lightness; ``PALETTE`` is also matplotlib's colour cycle (``C0``... inside
  ``styled()``). Each component kind keeps one colour in every figure (``component_color``).
- Every axis carries a unit in its label; ``scale`` picks the SI prefix of an axis from its largest value.

matplotlib is imported only inside the functions (it is the optional ``plot`` extra).
"""

from __future__ import annotations

import contextlib
import math

from memsim.ledger import COMPONENTS

COLUMN_IN = 3.5  # one column of a two-column paper (IEEE, ACM), inches
PAGE_IN = 7.16  # the text width of a two-column paper, inches
DPI = 300  # raster output (PNG); SVG and PDF are vector
MAX_HEIGHT_IN = 6.5  # the tallest figure (a timeline): 1950 px at DPI

# Okabe & Ito (2008): blue, orange, bluish green, vermillion, sky blue, reddish purple, yellow, black.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000")
NEUTRAL = "#7F7F7F"  # references and baselines (mid grey)

RC = {
    "font.family": "sans-serif",
    "font.size": 8.0,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8.0,
    "xtick.labelsize": 7.0,
    "ytick.labelsize": 7.0,
    "legend.fontsize": 7.0,
    "legend.frameon": False,
    "figure.titlesize": 9.0,
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "grid.linewidth": 0.4,
    "grid.alpha": 0.5,
    "lines.linewidth": 1.2,
    "lines.markersize": 4.0,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "patch.linewidth": 0.0,
    "errorbar.capsize": 2.0,
    "image.cmap": "viridis",
    "savefig.dpi": DPI,
    "figure.dpi": 100,
    "figure.constrained_layout.use": True,
    "pdf.fonttype": 42,  # TrueType in PDF: editable text, accepted by publishers
    "svg.fonttype": "path",
}


def component_color(component: str) -> str:
    """The colour of a component kind, the same in every figure (the order of ``COMPONENTS``)."""
    if component in COMPONENTS:
        return PALETTE[COMPONENTS.index(component) % len(PALETTE)]
    return NEUTRAL


def stacked_by_component(ax, x, value_of, width: float) -> None:
    """Bars at ``x`` stacked by component kind, in the order and colours of ``COMPONENTS``: ``value_of(kind)``
    gives that kind's heights (one per bar); a kind of zero height everywhere is left out, legend included."""
    import numpy as np

    bottom = np.zeros(len(x))
    for comp in COMPONENTS:
        values = np.asarray(value_of(comp), dtype=np.float64)
        if values.any():
            ax.bar(x, values, width, bottom=bottom, color=component_color(comp), label=comp)
            bottom += values


class MissingMatplotlib(ImportError):
    """matplotlib (the ``plot`` extra) is not installed."""


MISSING_MATPLOTLIB = "plotting needs matplotlib, which is not installed; install it with: pip install 'memsim[plot]'"


@contextlib.contextmanager
def styled(**overrides):
    """Build (and save) a figure with memsim's style; ``overrides`` are further rcParams (dots as ``__``).
    ``MissingMatplotlib`` without matplotlib."""
    try:
        import matplotlib
        from cycler import cycler
    except ImportError:
        raise MissingMatplotlib(MISSING_MATPLOTLIB) from None

    rc = {**RC, "axes.prop_cycle": cycler(color=PALETTE)}
    rc.update({k.replace("__", "."): v for k, v in overrides.items()})
    with matplotlib.rc_context(rc):
        yield


_PREFIX = {-18: "a", -15: "f", -12: "p", -9: "n", -6: "µ", -3: "m", 0: "", 3: "k", 6: "M", 9: "G"}


def scale(max_value: float, unit: str, top: int = 0) -> tuple[float, str]:
    """Divisor and unit label for an axis in ``unit`` whose largest value is ``max_value`` (e.g. 1e-6, 'µJ'):
    the engineering prefix at or below ``max_value``, at most ``top`` (an exponent, 0: no k/M/G)."""
    if max_value <= 0 or not math.isfinite(max_value):
        return 1.0, unit
    exp = max(-18, min(top, int(math.floor(math.log10(max_value) / 3) * 3)))
    return 10.0**exp, f"{_PREFIX[exp]}{unit}"


def text_inside(fig) -> bool:
    """Whether everything drawn on ``fig`` (its tight bounding box, text included) lies within the canvas."""
    renderer = fig.canvas.get_renderer()
    tight = fig.get_tightbbox(renderer)  # inches
    width, height = fig.get_size_inches()
    eps = 1e-3
    return tight.x0 >= -eps and tight.y0 >= -eps and tight.x1 <= width + eps and tight.y1 <= height + eps
