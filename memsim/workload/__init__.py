"""What runs on the chip: ``network`` (the float networks memsim maps), ``datasets`` (labelled inputs),
``fixedpoint`` (power-of-two formats and the integer arithmetic of the datapath) and ``quantize`` (a float
network in those formats, with its exact integer reference)."""
