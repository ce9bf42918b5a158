"""What a run may use: the cores, the worker threads of the datapath and the vectors one chunk may hold."""

from __future__ import annotations

import os

from memsim.tile import BLOCK_BYTES


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform reports one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_threads(budget_bytes: int) -> int:
    """Worker threads when none are configured: one per available core, but no more than half the memory
    budget holds work blocks for (``chunk_vectors`` counts ``2·BLOCK_BYTES`` per worker), so that a machine
    with many cores still simulates in large chunks."""
    return max(1, min(available_cores(), int(budget_bytes) // (4 * BLOCK_BYTES)))


def chunk_vectors(design, budget_bytes: int, threads: int = 1) -> int:
    """Inferences per chunk so that what one chunk holds stays within ``budget_bytes`` (at least 1).

    Estimate per inference: its inputs (float and integer copies, ``32·inputs`` bytes); per layer and per
    input vector the layer takes (``vectors_per_inference``) its drive codes and the kept-cycle copies a read
    takes (``3·T·rows``, uint8), its integer accumulator, outputs, reference and float activations
    (``64·outputs``); per layer the schedule (``32·(tiles + 2)``). Fixed: the fused read's work blocks
    (``memsim.tile.BLOCK_BYTES`` for each of ``threads`` workers, twice with read noise, shared by the layers)
    and the programmed matrices. Nothing else grows with the chunk: events do not, and the inputs outside the
    chunk are the caller's.
    """
    per_vector = 32 * design.qnet.layers[0].in_features + 64
    fixed = 2 * BLOCK_BYTES * max(1, threads)
    for layer in design.layers:
        ql = layer.qlayer
        per_vector += (layer.vectors_per_inference * (3 * layer.cycles * ql.rows + 64 * ql.outputs)
                       + 32 * (len(layer.mapping.tiles) + 2))
        fixed += 8 * ql.rows * layer.encoded.kinds * ql.outputs
    return max(1, (int(budget_bytes) - fixed) // per_vector)
