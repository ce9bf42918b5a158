"""The building blocks of memsim's HTML report: escaped text, tables, headline tiles, inline SVG figures, sections
and the page itself.

The page is one self-contained file: its style sheet and its few lines of script are inline, every figure is an
inline SVG drawn by matplotlib in memsim's style (``memsim.plotstyle``), and nothing refers to the network, so
the file can be mailed or archived and opened anywhere. Numbers are shown with their units (``si``) and
accuracies as mean ± std over chips.
"""

from __future__ import annotations

import html
import io
import itertools
import math

from memsim.plotstyle import PALETTE, styled
from memsim.trace.report import si

_CSS = """
:root { --ink: #1d1d1f; --muted: #5f6368; --rule: #d9d9de; --bg: #ffffff; --band: #f5f6f8; --accent: ACCENT;
        --warn: WARN; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); background: var(--bg); }
header.top { background: var(--band); border-bottom: 1px solid var(--rule); padding: 1.2rem 2rem 0.8rem; }
header.top h1 { margin: 0 0 0.2rem; font-size: 1.55rem; }
header.top p { margin: 0.1rem 0; color: var(--muted); }
nav { position: sticky; top: 0; z-index: 2; background: rgba(255,255,255,0.96); border-bottom: 1px solid var(--rule);
      padding: 0.35rem 2rem; font-size: 0.88rem; }
nav a { color: var(--accent); text-decoration: none; margin-right: 1rem; white-space: nowrap; }
main { max-width: 1180px; margin: 0 auto; padding: 0.5rem 2rem 3rem; }
section { margin-top: 2rem; }
h2 { font-size: 1.25rem; border-bottom: 2px solid var(--accent); padding-bottom: 0.2rem; }
h3 { font-size: 1.05rem; margin-bottom: 0.3rem; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 0.7rem; margin: 1rem 0; }
.tile { border: 1px solid var(--rule); border-radius: 8px; padding: 0.6rem 0.8rem; background: #fff; }
.tile .label { color: var(--muted); font-size: 0.8rem; }
.tile .value { font-size: 1.3rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.tile .note { color: var(--muted); font-size: 0.78rem; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.88rem; font-variant-numeric: tabular-nums; }
th, td { padding: 0.25rem 0.7rem; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
th { background: var(--band); font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.mark td { background: #fff4e0; font-weight: 600; }
td.src { color: var(--muted); font-size: 0.82rem; max-width: 560px; }
td.nosrc { color: var(--warn); font-size: 0.82rem; }
.scroll { overflow-x: auto; }
figure { margin: 1rem 0; }
figure svg { display: block; width: 100%; max-width: 980px; height: auto; }
figcaption { color: var(--muted); font-size: 0.85rem; margin-top: 0.3rem; }
.zoom { overflow: auto; border: 1px solid var(--rule); border-radius: 6px; max-height: 80vh; }
.zoom svg { max-width: none; width: 100%; }
.controls { font-size: 0.85rem; color: var(--muted); margin: 0.4rem 0; }
.warning { border-left: 4px solid var(--warn); background: #fff3ef; padding: 0.5rem 0.8rem; margin: 0.6rem 0; }
.side { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 1rem; }
p.lead { color: var(--muted); margin-top: 0.2rem; }
code { background: var(--band); padding: 0 0.25rem; border-radius: 3px; }
footer { color: var(--muted); font-size: 0.8rem; margin-top: 3rem; border-top: 1px solid var(--rule);
         padding-top: 0.6rem; }
""".replace("ACCENT", PALETTE[0]).replace("WARN", PALETTE[3])

# Zoom of the timeline: a range input scales the figure's width inside its scrolling box.
_SCRIPT = """
document.querySelectorAll('input[data-zoom]').forEach(function (input) {
  var box = document.getElementById(input.dataset.zoom);
  var out = document.getElementById(input.dataset.zoom + '-level');
  input.addEventListener('input', function () {
    box.querySelector('svg').style.width = input.value + '%';
    if (out) { out.textContent = (input.value / 100).toFixed(1) + '\\u00d7'; }
  });
});
"""

_ids = itertools.count()
_PX_PER_IN = 137  # on-screen scale of the figures: a 7.16 in (page-wide) figure is 980 px wide


def esc(value) -> str:
    """``value`` as HTML text."""
    return html.escape(str(value), quote=True)


def pct(value, digits: int = 2) -> str:
    """A fraction as per cent text ('-' for None or NaN)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{100 * value:.{digits}f} %"


def mean_std(mean, std, chips: int) -> str:
    """'97.14 ± 0.35 % (3 chips)': an accuracy with its spread over chips; one chip has no spread to show:
    '97.14 % (1 chip: no spread over chips)'."""
    if chips == 1:
        return f"{pct(mean)} (1 chip: no spread over chips)"
    return f"{pct(mean)} ± {pct(std)[:-2]} % ({chips} chips)"


def area(value_m2) -> str:
    """An area in mm² (µm² below 0.001 mm²)."""
    if value_m2 is None:
        return "-"
    mm2 = float(value_m2) * 1e6
    if mm2 != 0 and abs(mm2) < 1e-3:
        return f"{mm2 * 1e6:.4g} µm²"
    return f"{mm2:.4g} mm²"


def table(header: list[str], rows: list[list], numeric: set[int] | None = None, marked: set[int] | None = None,
          cls: dict[int, str] | None = None, caption: str | None = None) -> str:
    """An HTML table; cells are escaped unless wrapped in ``Raw``; ``numeric`` columns are right-aligned and
    ``marked`` rows highlighted; ``cls`` gives a column a CSS class."""
    numeric, marked, cls = numeric or set(), marked or set(), cls or {}

    def cell(tag: str, i: int, value) -> str:
        classes = " ".join(c for c in ("num" if i in numeric else "", cls.get(i, "") if tag == "td" else "") if c)
        attr = f' class="{classes}"' if classes else ""
        text = value.html if isinstance(value, Raw) else esc(value)
        return f"<{tag}{attr}>{text}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    mark = ' class="mark"'
    body = "".join(
        f"<tr{mark if j in marked else ''}>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>"
        for j, r in enumerate(rows))
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


class Raw:
    """HTML that ``table`` inserts as is (already escaped)."""

    def __init__(self, text: str) -> None:
        self.html = text


def tiles(items: list[tuple[str, str, str]]) -> str:
    """Headline tiles: (label, value, note)."""
    return '<div class="tiles">' + "".join(
        f'<div class="tile"><div class="label">{esc(label)}</div><div class="value">{esc(value)}</div>'
        f'<div class="note">{esc(note)}</div></div>' for label, value, note in items) + "</div>"


def svg(fig) -> str:
    """``fig`` as an inline ``<svg>`` element (text as paths, so it looks the same in every browser; element ids
    salted per figure so that several figures on one page never share one)."""
    buf = io.StringIO()
    with styled(svg__hashsalt=f"memsim-figure-{next(_ids)}"):
        fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.index("<svg"):]


def figure(fig, caption: str, zoom_id: str | None = None) -> str:
    """A ``<figure>`` holding ``fig`` as inline SVG and its caption; with ``zoom_id``, in a scrolling box with a
    zoom slider (the timeline)."""
    body = svg(fig)
    if not zoom_id:  # every figure at the same scale: a page-wide figure fills the column, a narrower one less
        width_px = round(fig.get_size_inches()[0] * _PX_PER_IN)
        body = body.replace("<svg ", f'<svg style="max-width: {width_px}px" ', 1)
    if zoom_id:
        controls = (f'<div class="controls"><label>zoom <input type="range" min="100" max="1200" step="25" '
                    f'value="100" data-zoom="{zoom_id}"></label> <span id="{zoom_id}-level">1.0×</span> '
                    "(scroll sideways when zoomed)</div>")
        body = f'{controls}<div class="zoom" id="{zoom_id}">{body}</div>'
    return f'<figure class="memsim-figure">{body}<figcaption>{esc(caption)}</figcaption></figure>'


def section(anchor: str, title: str, body: str, lead: str = "") -> str:
    """A titled ``<section>`` that the navigation bar links to."""
    intro = f'<p class="lead">{esc(lead)}</p>' if lead else ""
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{intro}{body}</section>'


def page(title: str, subtitle: list[str], nav: list[tuple[str, str]], body: str, footer: str) -> str:
    """The whole HTML document."""
    links = "".join(f'<a href="#{esc(a)}">{esc(t)}</a>' for a, t in nav)
    lines = "".join(f"<p>{esc(s)}</p>" for s in subtitle)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
        f'<header class="top"><h1>{esc(title)}</h1>{lines}</header><nav>{links}</nav>'
        f"<main>{body}<footer>{esc(footer)}</footer></main><script>{_SCRIPT}</script></body></html>\n"
    )


__all__ = ["Raw", "area", "esc", "figure", "mean_std", "page", "pct", "section", "si", "svg", "table", "tiles"]
