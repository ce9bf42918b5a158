"""Chip area of a mapped network: the crossbars it occupies with their periphery, and each layer's digital stage.

A crossbar layer cut into ``T`` tiles (``memsim.mapping``) occupies ``T`` crossbars, each with the instances
``DeviceCard.tile_instances`` lists (a driver per row, a sample-and-hold per column, ``ceil(cols /
columns_per_adc)`` ADCs and as many shift-and-add units, a register set), plus its digital stage
(``DeviceCard.stage_instances``: a reduction unit, a register set and, when it hosts pooling, a pooling unit).
Its area is ``A_l = Σ_parts count × area of one instance`` (``Component.area_parts``) and the chip's is
``Σ_l A_l``: the occupied tiles only, at the card's ADC sharing, so doubling ``columns_per_adc`` halves the
ADCs and their area. These are the instances that draw static power (``memsim.engine.posting.static_units``).

Not counted (memsim models neither their energy nor their area): buffers between layers (ISAAC's eDRAM),
on-chip buses and routers, and off-chip memory. Validity: the card's per-instance areas (0 where its sources
give none: "area where known").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LayerArea:
    """Area of one crossbar layer (m²): its ``tiles`` crossbars with their periphery (``tiles_m2``), its digital
    stage (``stage_m2``), and both per component (``by_component_m2``)."""

    layer: int
    tiles: int
    adcs: int
    tiles_m2: float
    stage_m2: float
    by_component_m2: dict

    @property
    def area_m2(self) -> float:
        return self.tiles_m2 + self.stage_m2

    def as_dict(self) -> dict:
        return {"layer": self.layer, "tiles": self.tiles, "adcs": self.adcs, "area_m2": self.area_m2,
                "tiles_area_m2": self.tiles_m2, "stage_area_m2": self.stage_m2,
                "area_by_component_m2": dict(self.by_component_m2)}


def scaled(instances: dict, factor: int) -> dict:
    """``instances`` (component -> part -> count) with every count multiplied by ``factor``."""
    return {name: {part: factor * n for part, n in parts.items()} for name, parts in instances.items()}


def layer_area(card, layer: int, tiles: int, pools: bool) -> LayerArea:
    """Area of a crossbar layer occupying ``tiles`` crossbars of ``card`` (and hosting pooling if ``pools``)."""
    tile = card.area_by_component_m2(scaled(card.tile_instances(), tiles))
    stage = card.area_by_component_m2(card.stage_instances(pools))
    by_component = {k: tile[k] + stage[k] for k in tile}
    adcs = tiles * card.tile_instances()["adc"]["unit"]
    return LayerArea(layer, tiles, adcs, sum(tile.values()), sum(stage.values()), by_component)


def chip_area(design) -> tuple[LayerArea, ...]:
    """Per crossbar layer of a ``memsim.chip.ChipDesign``, its ``LayerArea`` on the design's card."""
    hosted = design.digital_ops()
    return tuple(layer_area(design.card, layer.qlayer.index, len(layer.mapping.tiles), hosted[i].get("pool", 0) > 0)
                 for i, layer in enumerate(design.layers))


def area_figures(layers: tuple[LayerArea, ...]) -> dict:
    """``area_m2`` (the chip), ``area_by_component_m2`` (summed over layers) and ``area_by_layer`` (one dict per
    layer, ``LayerArea.as_dict``): the keys of ``memsim simulate --json``."""
    by_component: dict[str, float] = {}
    for la in layers:
        for k, v in la.by_component_m2.items():
            by_component[k] = by_component.get(k, 0.0) + v
    return {"area_m2": sum(la.area_m2 for la in layers), "area_by_component_m2": by_component,
            "area_by_layer": [la.as_dict() for la in layers]}
