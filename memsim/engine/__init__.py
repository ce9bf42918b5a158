"""The SimPy engine that runs one chip instance: ``run`` (the ``Engine`` that brings the pieces together),
``datapath`` (the bit-true numbers of a chunk), ``scheduler`` (SimPy ordering of the action events),
``posting`` (pricing actions into ledger rows), ``timeline`` (busy intervals of a window) and ``resources``
(cores, threads and chunk sizes). See ``memsim.engine.run`` for how they meet."""

from memsim.engine.posting import static_energy_zj
from memsim.engine.resources import available_cores, chunk_vectors, default_threads
from memsim.engine.run import Engine, EngineOptions, EngineResult
from memsim.engine.timeline import Timeline

__all__ = ["Engine", "EngineOptions", "EngineResult", "Timeline", "available_cores", "chunk_vectors",
           "default_threads", "static_energy_zj"]
