"""memsim's device layer: physics and cost of single components (docs/architecture.md §The component contract).

Modules, one per thing modelled: ``memristor`` (cell), ``variation`` (sigma(G) models), ``dac``, ``crossbar``,
``sense_amp`` (sample-and-hold), ``adc``, ``adc_energy`` and ``adc_area``, ``digital`` (shift-and-add,
registers), ``cost``,
``validate``, and ``card`` (device cards in ``devices/cards``). Imports only numpy, scipy and the standard
library.
"""
