"""memsim: a discrete-event, bit-true simulator of memristor compute-in-memory accelerators."""

__version__ = "0.1.0"
