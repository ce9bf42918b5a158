"""The HTML report (``memsim report``): one self-contained page per run, comparison or sweep table.

    from memsim.report import write_report
    write_report(["run.h5"], "report.html")            # one run
    write_report(["a.h5", "b.h5"], "compare.html")     # side by side
    write_report(["results.csv"], "sweep.html")        # a sweep table

Figures are inline SVG drawn in memsim's one style (``memsim.plotstyle``); matplotlib (the ``plot`` extra) is
needed.
"""

from memsim.report.document import build_report, check_report_output, write_report

__all__ = ["build_report", "check_report_output", "write_report"]
