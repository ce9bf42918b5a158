"""The HTML report in a real browser (issue 16): headless Chromium opens the report of the default run; the page
must render without console errors, hold every section, and every figure must have a non-empty size on screen.
A screenshot of the first screen is saved (``report-first-screen.png`` in the test's temporary directory, its path
printed; ``MEMSIM_SCREENSHOT`` names another place to copy it to).

The browser is the system's Chromium (Debian's ``chromium`` package; ``MEMSIM_CHROMIUM`` overrides the path),
driven by the ``playwright`` Python package of the test extra; no browser is ever downloaded. Without either, the
test is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")


def _chromium() -> str | None:
    env = os.environ.get("MEMSIM_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package (test extra) is missing")
    path = _chromium()
    if path is None:
        pytest.skip("no system Chromium (apt-get install chromium, or set MEMSIM_CHROMIUM); browser check skipped")
    with sync_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        except Exception as exc:  # noqa: BLE001 - any launch failure means: no usable browser here
            pytest.skip(f"Chromium at {path} does not start: {str(exc).splitlines()[0]}")
        yield b
        b.close()


@pytest.fixture(scope="module")
def default_report(tmp_path_factory):
    """`memsim simulate` with no arguments, then `memsim report memsim-trace.h5 -o report.html`."""
    from memsim.cli.main import main

    directory = tmp_path_factory.mktemp("browser")
    cwd = os.getcwd()
    os.chdir(directory)
    try:
        for argv in (["simulate"], ["report", "memsim-trace.h5", "-o", "report.html"]):
            try:
                main(argv)
            except SystemExit as exc:
                assert exc.code in (0, None), argv
    finally:
        os.chdir(cwd)
    return directory / "report.html"


SECTIONS = ["run-summary", "run-accuracy", "run-energy", "run-latency", "run-timeline", "run-errors", "run-plan",
            "run-config", "run-card"]


def test_default_report_renders_in_headless_chromium(browser, default_report, tmp_path, capsys):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(default_report.resolve().as_uri())
    page.wait_for_load_state("load")
    assert errors == []
    assert page.title().startswith("memsim report: digits-mlp on digits-test")
    import memsim.trace
    from memsim.report.run import has_area

    area = has_area(memsim.trace.open(default_report.parent / "memsim-trace.h5").summary)
    sections = SECTIONS[:3] + (["run-area"] if area else []) + SECTIONS[3:]
    assert page.eval_on_selector_all("section", "els => els.map(e => e.id)") == sections
    for anchor in sections:
        box = page.query_selector(f"#{anchor}").bounding_box()
        assert box["width"] > 0 and box["height"] > 0, anchor
    figures = page.query_selector_all("figure.memsim-figure svg")
    assert len(figures) == 6 + area  # accuracy, confusion, energy, (area,) latency, timeline, errors
    for svg in figures:
        box = svg.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100, box
        # drawn: the figure holds paths (bars, lines, text as glyphs), not an empty frame
        assert svg.evaluate("e => e.querySelectorAll('path, use').length") > 50
    # The timeline zooms: the slider widens the figure inside its scrolling box.
    timeline = page.query_selector("#timeline-run svg")
    before = timeline.bounding_box()["width"]
    page.fill("input[data-zoom='timeline-run']", "300")
    page.dispatch_event("input[data-zoom='timeline-run']", "input")
    assert timeline.bounding_box()["width"] == pytest.approx(3 * before, rel=0.02)
    assert page.inner_text("#timeline-run-level") == "3.0×"
    page.evaluate("window.scrollTo(0, 0)")
    page.fill("input[data-zoom='timeline-run']", "100")
    page.dispatch_event("input[data-zoom='timeline-run']", "input")
    shot = tmp_path / "report-first-screen.png"
    page.screenshot(path=str(shot))
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1280, 900)
    if os.environ.get("MEMSIM_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["MEMSIM_SCREENSHOT"])
    with capsys.disabled():
        print(f"\nscreenshot of the report's first screen: {shot}")
    assert errors == []
    page.close()


def test_the_browser_check_sees_console_errors(browser, tmp_path):
    """The check can fail: a page with a broken script reports an error."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><script>undefined_function();</script></body></html>")
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(bad.resolve().as_uri())
    page.wait_for_load_state("load")
    assert errors and "undefined_function" in errors[0]
    page.close()
