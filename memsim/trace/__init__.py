"""HDF5 traces: the writer that records a run and the reader that opens one (schema in ``traces/README.md``).

    from memsim.trace import TraceWriter, check_trace_path   # recording (used by ``memsim simulate``)
    import memsim.trace
    tr = memsim.trace.open("memsim-trace.h5")                # reading: a ``Trace`` of numpy tables with units
    tr.events["energy_j"], tr.events.units["energy_j"]       # -> array, "J"
"""

from memsim.trace.reader import Table, Trace
from memsim.trace.reader import open_trace as open  # noqa: A001 - the issue's API: memsim.trace.open(path)
from memsim.trace.writer import SCHEMA_VERSION, TABLE_UNITS, TraceWriter, check_trace_path

__all__ = ["SCHEMA_VERSION", "TABLE_UNITS", "Table", "Trace", "TraceWriter", "check_trace_path", "open"]
