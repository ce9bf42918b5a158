"""The ``memsim`` command line: ``main`` (the entry point, ``simulate`` and ``devices``), ``options`` (the options
shared by the commands that build a run configuration), ``plan`` and ``trace``. Nothing else in memsim imports
this package."""
