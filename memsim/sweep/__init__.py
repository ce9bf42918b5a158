"""``memsim sweep``: a study over a grid of configurations, run as (point, chip range) work units on local
worker processes or a Dask cluster, gathered into one tidy CSV table (issue 14).

- ``memsim.sweep.spec``: the sweep TOML (base config, axes, chips) parsed and validated;
- ``memsim.sweep.units``: the points of the grid and their work units, with stable ids;
- ``memsim.sweep.run``: one unit's rows, the executors, resumable parts and the table;
- ``memsim.sweep.plot``: a result column against an axis, grouped by another.
"""

from memsim.sweep.spec import SweepSpec, load_sweep
from memsim.sweep.units import Point, Unit

__all__ = ["Point", "SweepSpec", "Unit", "load_sweep"]
