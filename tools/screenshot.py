"""Open an HTML file (a ``memsim report``) in headless Chromium and save a screenshot of its first screen.

    python tools/screenshot.py report.html -o docs/report.png [--width 1280 --height 900]

Uses the ``playwright`` Python package (the ``test`` extra) to drive the system's Chromium (Debian's
``chromium`` package, ``/usr/bin/chromium``, or the path in ``MEMSIM_CHROMIUM``); it never downloads a browser.
Prints the page's console errors, if any, and exits 1 when there are some.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path


def chromium_path() -> str | None:
    """The system Chromium: ``MEMSIM_CHROMIUM``, else ``chromium`` or ``chromium-browser`` on the PATH."""
    env = os.environ.get("MEMSIM_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(html: Path, png: Path, width: int = 1280, height: int = 900) -> list[str]:
    """Save the first screen of ``html`` to ``png``; return the console errors and page errors."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=2)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(html.resolve().as_uri())
            page.wait_for_load_state("load")
            page.screenshot(path=str(png))
        finally:
            browser.close()
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True, help="PNG to write")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args(argv)
    if chromium_path() is None:
        print("tools/screenshot.py: no system Chromium found (apt-get install chromium, or set MEMSIM_CHROMIUM)",
              file=sys.stderr)
        return 2
    errors = screenshot(args.html, args.output, args.width, args.height)
    for e in errors:
        print(f"console error: {e}", file=sys.stderr)
    print(f"wrote {args.output}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
