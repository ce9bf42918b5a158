"""One crossbar tile: programming its cells and the bit-true read of a batch of inputs (docs/datapath.md).

A tile holds a block of one layer's encoded weights (see ``memsim.mapping``) and, with the crossbar's
``reference = "column"``, a reference column at level 0. Reading one row group at input cycle ``t`` for a
batch gives, per data column ``j``,

    s_j = Σ_i x_t,i · h_ij  +  o_j  +  noise_j,      o_j = offset_j/I_unit
    h_ij = (G_ij − G_ref,i)/Δg     (reference = "column")
    h_ij = G_ij/Δg                 (reference = "digital")

which is ``(I_j − I_ref)/I_unit`` (``I_j/I_unit`` for "digital") with ``I = v_unit · Σ_i x_i G_i``,
``v_unit = v_read/(2**d − 1)`` and ``I_unit = v_unit · Δg``: the reference column's current is subtracted row
by row, so a read is one matrix product. With ``"digital"`` the column signal keeps the ``g_min`` floor,
``b = F·Σ_i x_t,i`` with ``F = to_grid(g_min/Δg)``, and the digital side subtracts ``c = floor(b/m + 1/2)``
(``floor_codes``, exact integers) from every converted code (docs/datapath.md §Reference column). The ADC
turns ``s_j`` into a code; shift-and-add recombines codes over cycles and column kinds with their
significances.

**The modelling grid.** ``h`` (the *read levels*) and the sense-amplifier offsets ``o`` are held on a fixed
grid of ``2**-GRID_BITS`` level steps (``GRID_BITS = 14``: 6·10⁻⁵ of a level step, rounded to once per chip
instance). That is a documented modelling resolution, far below the programming variation and noise memsim
models (a percent of a level step and more), and it is what makes the datapath exact in floating point:
every product ``x·h`` and every partial sum of a column is a multiple of ``2**-GRID_BITS`` (of the ADC step,
once scaled by a power-of-two ``lsb_levels``) bounded by ``B = (2**d − 1)·max_j Σ_i |h_ij| + max_j |b_j|``
(``b``: offset, rounding half step and centring below; with the digital reference ``h`` holds the floor, so
``B`` grows by ``(2**d − 1)·rows·F``). When ``B < 2**(24 − GRID_BITS)`` every such number is
exactly representable in float32, so the product is exact *whatever the summation order* — BLAS picks
kernels by matrix size, yet a chunked and a one-vector run round identically at every ADC bin edge.
Otherwise the read runs in float64, exact while ``B < 2**(53 − GRID_BITS)`` (any realistic tile; larger ones
are refused). Both give the same numbers: the dtype is a performance choice, never a modelling one. With no
variation ``h`` holds the exact integer levels (plus ``F`` with the digital reference) and every code equals
the integer partial sum ``a`` (digitally corrected: ``floor(a + b + 1/2) − floor(b + 1/2) = a`` at step 1).

**The fused read** (``LayerReader``). All tiles of one row block of a layer see the same drives, so each
row group is *one* matrix product over all of them, every kept input cycle and every slice: rows are
``(vector, cycle)``, columns ``(column kind, output)``, and the constant ``b_j = o_j + lsb/2`` rides in the
product as one more input row driven at 1. The product is computed in blocks of vectors small
enough to stay in cache (``BLOCK_BYTES``) and, for wide layers, in panels of ``PANEL_COLUMNS`` columns, so
every block has the same shape and the cost per conversion does not grow with the layer. Per block the ADC
and shift-and-add are fused: with the ADC input ``u = s/lsb + 1/2`` and ``2**bits`` codes, one maximum over
the bits of ``u`` read as unsigned integers proves ``0 <= u < 2**bits``, i.e. that no conversion clips (IEEE
floats of one sign order like their bit patterns, and a negative one has the sign bit set, so it reads as
larger than any positive float). Only otherwise are clipped conversions counted, exactly, per cycle and output,
and the codes clamped. ``floor`` gives the codes; one stacked matrix-vector product with the weights
``keep[t, k] · 2**(d·t) · sig[k]`` (discarded partial sums weigh 0) adds them up, exact in float32 while
``(2**bits − 1) · Σ|w| < 2**24`` (float64 otherwise). A non-power-of-two ``lsb_levels`` divides ``u`` in
float64, where ``floor`` of the correctly rounded quotient of two grid values is exact. With the digital
reference the block then subtracts, per vector, ``Σ_t (Σ_k w[t, k]) · c_t``: the floor correction ``c_t`` of
each kept cycle (the same for every column of the row group, since every column sees the same drives; exact
integers from the drive sums, ``floor_codes``) times the weight of the codes it corrects, in int64.

**Threads.** The blocks of vectors are independent, so worker threads share them, each running its blocks
start to finish with a single-threaded BLAS: the elementwise passes then run on every core, not only the
BLAS product. Numbers never depend on the thread count: each block writes only its own vectors' sums, the
clipping counts are integers, and with read noise each block draws from its own generator.

Read noise (cycle-to-cycle) is sampled per column, not per cell: a column sums independent Gaussians, so
its noise is ``N(0, Σ_i (x_i σ_read/Δg)²)`` in level units — exact in distribution
(docs/devices.md §Read noise). The
reference column's noise is drawn once per read and tile and shared by the columns of that tile (nothing is
drawn for it with the digital reference, which has no reference column). The noisy
signal is rounded once to the read's working precision (float32 keeps 2⁻¹⁴ of a level step or finer on
signals below 512 level steps), far below the noise itself.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np
from threadpoolctl import ThreadpoolController

from memsim.devices.card import DeviceCard
from memsim.devices.ir_drop import transfer_s
from memsim.devices.wires import Wires
from memsim.encoding import EncodedWeights
from memsim.files import signals_deferred
from memsim.ledger import energy_zj
from memsim.mapping import LayerMapping, TileSpec
from memsim.workload.fixedpoint import drive_codes

GRID_BITS = 14  # read levels and offsets are multiples of 2**-GRID_BITS level steps (module docstring)
BLOCK_BYTES = 4 << 20  # the ADC input of one block of vectors: cache-sized, so the fused passes stay hot
PANEL_COLUMNS = 1024  # columns of one block product: wider layers are read in panels of this many columns
_EXACT_BITS = {np.dtype(np.float32): 24, np.dtype(np.float64): 53}  # significand bits: integers below 2**b exact
_UNSIGNED = {np.dtype(np.float32): np.dtype(np.uint32), np.dtype(np.float64): np.dtype(np.uint64)}  # same width


@cache
def _blas_controller() -> ThreadpoolController:
    """The process's BLAS thread pools (``threadpoolctl``), found once on first use."""
    return ThreadpoolController()


def single_threaded_blas():
    """A context in which BLAS runs on its calling thread only (``threadpoolctl``), for work that is split
    over threads of its own. OpenBLAS's threads keep spinning for about 0.1 s after each multithreaded call,
    taking a core from such workers, so a caller wraps the whole threaded run, not only the products."""
    return _blas_controller().limit(limits=1, user_api="blas")


@cache
def _thread_work() -> threading.local:
    """Per-thread work arrays of the fused read (``_work_array``)."""
    return threading.local()


def _work_array(name: str, dtype: np.dtype, size: int) -> np.ndarray:
    """A flat work array of ``size`` elements for the calling thread, reused from read to read and shared by
    every reader (it only grows): each worker thread holds one product block and one block of drives, about
    ``BLOCK_BYTES``, whatever the number of layers."""
    arrays = _thread_work().__dict__
    buf = arrays.get((name, dtype))
    if buf is None or buf.size < size:
        buf = arrays[(name, dtype)] = np.empty(size, dtype=dtype)
    return buf[:size]


@cache
def _read_pool(workers: int) -> ThreadPoolExecutor:
    """The worker threads of the fused read besides the calling thread, started on first use and shared by
    every reader. All of them start here, with SIGINT and SIGTERM deferred (``memsim.files.signals_deferred``):
    started lazily by ``submit``, a Ctrl-C landing between a thread's start and the pool's registration of it
    left a thread that the interpreter's shutdown waited for for ever."""
    pool = ThreadPoolExecutor(workers, thread_name_prefix="memsim-read")
    started = threading.Barrier(workers + 1)
    with signals_deferred():
        # each task holds its thread until all have started, so every submit starts a new thread
        for _ in range(workers):
            pool.submit(started.wait)
        started.wait()
    return pool


def to_grid(levels) -> np.ndarray:
    """Level-unit values rounded to the modelling grid: ``rint(v · 2**GRID_BITS) / 2**GRID_BITS`` (float64)."""
    scale = float(1 << GRID_BITS)
    with np.errstate(over="ignore"):  # absurd values (a variation σ of 1e300) become inf: the reads refuse them
        return np.rint(np.asarray(levels, dtype=np.float64) * scale) / scale


def floor_levels(card: DeviceCard) -> float:
    """The ``g_min`` floor of one cell at one unit of drive, in level steps, on the modelling grid:
    ``F = to_grid(g_min/Δg)`` with ``crossbar.reference = "digital"``, 0 with ``"column"`` (the reference column
    removes the floor in the analog domain). A read's floor is ``b = F·Σ_i x_t,i`` (docs/datapath.md §Reference
    column). Validity: every card; ohmic cells."""
    if card.crossbar.reference != "digital":
        return 0.0
    return float(to_grid(card.cell.g_min_s / card.cell.delta_g_s))


def floor_codes(card: DeviceCard, drive_sums, step: int) -> np.ndarray:
    """The digital floor correction of each conversion, in ADC codes: ``c = floor(F·S/m + 1/2)`` for drive sums
    ``S = Σ_i x_t,i`` (int array: the popcount of a read's drives) and ADC step ``m`` (level steps), exact
    int64 (``F`` is ``F_q/2**GRID_BITS`` with an integer ``F_q``, so ``c = (2·F_q·S + m·2**GRID_BITS) //
    (2·m·2**GRID_BITS)``). All zeros with ``crossbar.reference = "column"``. For an integer partial sum ``a`` and
    ``m = 1``, ``floor(a + b + 1/2) − c = a`` exactly (docs/datapath.md §Reference column)."""
    s = np.asarray(drive_sums, dtype=np.int64)
    f_q = int(round(floor_levels(card) * (1 << GRID_BITS)))
    if f_q == 0:
        return np.zeros(s.shape, dtype=np.int64)
    den = 2 * int(step) << GRID_BITS
    return (2 * f_q * s + (int(step) << GRID_BITS)) // den


@dataclass(frozen=True)
class TileCircuit:
    """The wire network of a tile's reads (docs/devices.md §Wire parasitics; ``memsim.devices.ir_drop``), for a
    card with ``crossbar.wires.model = "resistive"`` (``tile_circuit``).

    Layout of one read of row group ``(r0, r1)``: tile row ``i`` is physical row ``i`` of the
    ``crossbar_rows × crossbar_cols`` array (its drivers at the column-0 end, the sense amplifiers past row
    ``crossbar_rows − 1``); only the group's rows are driven and connected (a row at code 0 is driven at 0 V,
    the other rows' cells are switched off); data column ``j`` is physical column ``j``; the reference column
    (``crossbar.reference = "column"``) is the last physical column, the farthest from the drivers; unused
    columns hold cells left at ``g_min`` (their nominal, no variation drawn: a run draws the same numbers with
    and without parasitics). The network is linear, so its read is one matrix ``T`` (rows × columns, siemens;
    ``memsim.devices.ir_drop.transfer_s``), and the ADC sees ``(I_j − I_ref)/I_unit = Σ_i x_i·(T_ij −
    T_i,ref)/Δg`` (``Σ_i x_i·T_ij/Δg`` with the digital reference, whose digital correction still subtracts
    the ideal floor): the read levels become ``h_ij = (T_ij − T_i,ref)/Δg`` on the modelling grid, and the fused
    read is unchanged. Validity: ohmic cells and wires; the solver's tolerance (``crossbar.wires.tolerance``).
    """

    wires: Wires
    crossbar_rows: int
    crossbar_cols: int
    g_min_s: float
    delta_g_s: float
    v_unit_v: float
    t_read_s: float

    def conductances(self, tile: ProgrammedTile, r0: int, r1: int) -> np.ndarray:
        """The physical array of one read of rows ``r0:r1``: (r1 − r0, crossbar_cols) siemens."""
        g = np.full((r1 - r0, self.crossbar_cols), self.g_min_s)
        g[:, : tile.spec.used_columns] = tile.g_norm[r0:r1] * self.delta_g_s + self.g_min_s
        if tile.ref_norm is not None:
            g[:, -1] = tile.ref_norm[r0:r1] * self.delta_g_s + self.g_min_s
        return g

    def solve(self, tile: ProgrammedTile) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """Per row group ``(r0, r1)`` of the tile, the read's matrices ``(T, Y)`` in siemens
        (``memsim.devices.ir_drop.transfer_s``): sense currents ``I = V·T`` (r1 − r0, crossbar_cols) and driver
        currents ``I_drive = V·Y`` (r1 − r0, r1 − r0)."""
        w = self.wires
        return tuple(transfer_s(self.conductances(tile, r0, r1), w.network(self.crossbar_rows, r1 - 1), w.solver,
                                w.tolerance) for r0, r1 in tile.spec.row_groups)

    def read_levels(self, tile: ProgrammedTile) -> np.ndarray:
        """(rows, used_columns) float64 on the modelling grid: ``(T_ij − T_i,ref)/Δg`` per row group, or
        ``T_ij/Δg`` without a reference column."""
        used = tile.spec.used_columns
        h = np.empty((tile.spec.rows, used))
        for (r0, r1), (t, _) in zip(tile.spec.row_groups, tile.circuit_solution, strict=True):
            h[r0:r1] = t[:, :used] if tile.ref_norm is None else t[:, :used] - t[:, -1:]
        return to_grid(h / self.delta_g_s)

    def pair_energy_zj(self, tile: ProgrammedTile, v_unit_v: float, t_read_s: float) -> np.ndarray:
        """(rows, rows) object array of exact integers (zJ): ``Q_kl = v_unit²·t_read·(Y_kl + Y_lk)/2`` within each
        row group (0 across groups, which are never driven together), so that a read with drive codes ``x``
        dissipates ``x·Q·xᵀ`` in its cells, wires, driver outputs and sense inputs together (the power the drivers
        deliver, ``V·Y·Vᵀ``)."""
        q = np.zeros((tile.spec.rows, tile.spec.rows))
        for (r0, r1), (_, y) in zip(tile.spec.row_groups, tile.circuit_solution, strict=True):
            q[r0:r1, r0:r1] = (y + y.T) / 2.0 * (v_unit_v**2 * t_read_s)
        return np.array([energy_zj(e) for e in q.ravel()], dtype=object).reshape(q.shape)


def tile_circuit(card: DeviceCard) -> TileCircuit | None:
    """The tiles' wire network on ``card``, or None when its wires are ideal (``crossbar.wires.model``) or every
    resistance is zero (then the read is ``I = V·G`` exactly, as the solvers would return)."""
    xbar = card.crossbar
    w = xbar.wires
    if not w.resistive or w.r_wire_ohm_per_m == w.r_driver_ohm == w.r_sense_ohm == 0.0:
        return None  # no resistance anywhere: the ideal read, bit for bit
    return TileCircuit(xbar.wires, xbar.rows, xbar.cols, card.cell.g_min_s, card.cell.delta_g_s, card.v_unit_v,
                       xbar.t_read_s)


@dataclass(frozen=True)
class ProgrammedTile:
    """A tile's cells on one chip instance, in level units (see module docstring).

    ``g_norm``: (rows, used_columns) ``(G − g_min)/Δg``, columns ordered output-major (the K column kinds of
    one output are adjacent); ``ref_norm``: (rows,) the reference column, likewise, or None with the digital
    reference (no reference column); ``offset_lsb``: (used_columns,) sense-amplifier offsets
    ``offset/I_unit``; ``row_energy_zj``: (rows,) cell read energy of one unit drive on each row,
    ``v_unit² · t_read · (Σ_j G_ij + G_ref,i)`` (no ``G_ref`` term without a reference column), or None when
    the card uses a lumped array-read energy; ``floor_levels``: ``F`` (``floor_levels``), the floor each cell
    keeps in its read level with the digital reference (0 with a reference column). ``read_levels`` and
    ``offset_levels`` are what a read uses: ``g_norm − ref_norm`` (or ``g_norm + F``) and the offsets on the
    modelling grid. ``circuit``: the tile's wire network (``TileCircuit``) when the card's wires are resistive,
    else None (the ideal read).
    """

    spec: TileSpec
    g_norm: np.ndarray
    ref_norm: np.ndarray | None
    offset_lsb: np.ndarray
    row_energy_zj: np.ndarray | None
    floor_levels: float = 0.0
    circuit: TileCircuit | None = None

    @cached_property
    def read_levels(self) -> np.ndarray:
        """(rows, used_columns) float64: ``h_ij = to_grid(g_norm_ij − ref_norm_i)`` with a reference column;
        ``h_ij = to_grid(g_norm_ij) + F`` (``G_ij/Δg`` on the grid, the floor rounded once, so that without
        variation ``h`` is exactly the level plus ``F``) with the digital reference. With a resistive wire network
        (``circuit``), the solved read's levels instead (``TileCircuit.read_levels``)."""
        if self.circuit is not None:
            return self.circuit.read_levels(self)
        if self.ref_norm is None:
            return to_grid(self.g_norm) + self.floor_levels
        return to_grid(self.g_norm - self.ref_norm[:, None])

    @cached_property
    def circuit_solution(self) -> tuple[tuple[np.ndarray, np.ndarray], ...] | None:
        """The solved wire network of every row group (``TileCircuit.solve``), once per tile instance; None
        for the ideal read."""
        return None if self.circuit is None else self.circuit.solve(self)

    @cached_property
    def pair_energy_zj(self) -> np.ndarray | None:
        """With a resistive wire network on a ``read_energy_model = "cell"`` card, the read energy as a quadratic
        form of the drive codes (``TileCircuit.pair_energy_zj``, (rows, rows) exact integers in zJ), which
        replaces ``row_energy_zj``'s per-row sum; else None."""
        if self.circuit is None or self.row_energy_zj is None:
            return None
        return self.circuit.pair_energy_zj(self, self.circuit.v_unit_v, self.circuit.t_read_s)

    @cached_property
    def offset_levels(self) -> np.ndarray:
        """``o_j = to_grid(offset_lsb_j)``, (used_columns,) float64."""
        return to_grid(self.offset_lsb)


@dataclass(frozen=True)
class TileActivity:
    """The activity of one tile for a batch, which the engine turns into events: per ``(row group, cycle)``
    arrays of shape (G, T): ``driven_rows`` (rows with a non-zero drive, summed over the batch),
    ``cell_energy_zj`` (data-dependent V²·G·t energy, exact integers; zeros for a lumped card),
    ``conversions`` (columns converted, summed over the batch; 0 for a cycle whose partial sums are all
    discarded, which is then not read at all), ``clipped`` (conversions that saturated)."""

    driven_rows: np.ndarray
    cell_energy_zj: np.ndarray
    conversions: np.ndarray
    clipped: np.ndarray


@dataclass(frozen=True)
class TileRead(TileActivity):
    """One tile's activity and its shift-and-added sums ``partial`` (N, tile outputs) int64 (without encoding
    correction, compensation or bias)."""

    partial: np.ndarray = None


@dataclass(frozen=True)
class LayerRead:
    """A read of all tiles of one layer: ``partial`` (N, outputs) int64, the shift-and-added sums of every
    tile added into its outputs (row blocks summed; without encoding correction, compensation or bias),
    each tile's ``activity`` in the order of ``LayerMapping.tiles``, and ``nonzero`` (T, rows): the vectors of
    the batch that drove each layer row at each kept cycle (0 at cycles with nothing kept)."""

    partial: np.ndarray
    activity: tuple[TileActivity, ...]
    nonzero: np.ndarray


def program_layer(
    card: DeviceCard, mapping: LayerMapping, encoded: EncodedWeights, rng: np.random.Generator
) -> tuple[ProgrammedTile, ...]:
    """Program one layer's tiles on one chip instance.

    Random draws, in this order: the whole layer's cells (``cell.program``), then per tile its reference
    column (only with ``crossbar.reference = "column"``; the digital reference has none and draws nothing for
    it) and its sense-amplifier offsets. The order is fixed so a seed names one chip.
    """
    cell = card.cell
    g_all = cell.program(encoded.levels, rng)
    dg = cell.delta_g_s
    column = card.crossbar.reference == "column"
    floor = floor_levels(card)
    circuit = tile_circuit(card)
    tiles = []
    for spec in mapping.tiles:
        g = spec.columns(g_all)
        g_ref = cell.program(np.zeros(spec.rows, dtype=np.int64), rng) if column else None
        offsets = card.sample_hold.sample_offsets_a(spec.used_columns, rng) / card.i_unit_a
        row_energy = row_read_energy_zj(card, g, g_ref)
        ref_norm = (g_ref - cell.g_min_s) / dg if column else None
        tiles.append(ProgrammedTile(spec, (g - cell.g_min_s) / dg, ref_norm, offsets, row_energy, floor, circuit))
    return tuple(tiles)


def row_read_energy_zj(card: DeviceCard, g_s: np.ndarray, g_ref_s: np.ndarray | None) -> np.ndarray | None:
    """Cell read energy of one drive-code step on each row of a tile, in zJ, or None for a lumped-energy card.

        E_i = v_unit² · t_read · (Σ_j G_ij + G_ref,i)

    Joule heating ``V²·G·t`` of every cell of the row (``devices.memristor.read_energy_j``) at the unit drive
    ``v_unit`` (``DeviceCard.v_unit_v``); a drive code ``x`` scales it by ``x²``. ``g_s``: (rows, used
    columns) data-cell conductances and ``g_ref_s``: (rows,) the reference column's, in siemens, or None with
    the digital reference (no reference column: the ``G_ref`` term is gone). Returns
    exact integers (``memsim.ledger.energy_zj``, object array) for a ``read_energy_model = "cell"`` card.
    Validity: ohmic cells; wire resistance and driver losses are not included.
    """
    if card.crossbar.read_energy_model != "cell":
        return None
    g_row = g_s.sum(axis=1) if g_ref_s is None else g_s.sum(axis=1) + g_ref_s
    per_row_j = card.v_unit_v**2 * card.crossbar.t_read_s * g_row
    return np.array([energy_zj(e) for e in per_row_j], dtype=object)


def column_signal(
    tile: ProgrammedTile, x: np.ndarray, r0: int, r1: int, noise_lsb: float, rng: np.random.Generator
) -> np.ndarray:
    """ADC input of every used column, in level units, for drives ``x`` (vectors × rows ``r0:r1``).

    ``s_j = Σ_i x_i·h[i, j] + o_j + noise_j`` (module docstring; exact in float64 without noise; with the
    digital reference it includes the floor ``F·Σ_i x_i``, which ``floor_codes`` corrects after the ADC). Read
    noise, when ``noise_lsb > 0``: per column ``sqrt(Σ_i x_i²)·noise_lsb·(ε_j − ε_ref)`` with one ``ε_ref`` per
    read (``ε_j`` alone, and no ``ε_ref`` draw, with the digital reference).
    """
    x = np.asarray(x, dtype=np.float64)
    signal = x @ tile.read_levels[r0:r1] + tile.offset_levels
    if noise_lsb > 0:
        rms = np.sqrt(np.einsum("ij,ij->i", x, x))[:, None] * noise_lsb
        eps = rng.standard_normal(signal.shape)
        if tile.ref_norm is not None:
            eps -= rng.standard_normal((signal.shape[0], 1))
        signal += rms * eps
    return signal


class _RowBlock:
    """The tiles of one layer row block, read together. Per row group the product over all their columns is
    cut into panels of outputs (``PANEL_COLUMNS`` columns each), so every block product has the same shape
    whatever the layer's width: the cost per output stays the same as layers grow."""

    def __init__(self, tiles, card: DeviceCard, weights: np.ndarray, keep_kinds: np.ndarray, active: np.ndarray,
                 row_origin: int, out_origin: int, step: int, coarse: np.ndarray | None = None) -> None:
        spec0 = tiles[0].spec
        self.tiles = tiles
        self.rows = (spec0.row_start - row_origin, spec0.row_stop - row_origin)
        self.groups = spec0.row_groups
        self.kinds = k = spec0.kinds
        self.outs = (spec0.out_start - out_origin, tiles[-1].spec.out_stop - out_origin)
        outputs = self.outs[1] - self.outs[0]
        widths = np.array([t.spec.outputs for t in tiles])
        self.tile_starts = np.concatenate([[0], np.cumsum(widths)[:-1]])  # first output of each tile
        self.tile_of_output = np.repeat(np.arange(len(tiles)), widths)
        self.keep = keep_kinds[active]  # (Ta, K)
        per_panel = max(1, PANEL_COLUMNS // k)
        self.panels = [(lo, min(lo + per_panel, outputs)) for lo in range(0, outputs, per_panel)]
        adc = card.adc
        self.top = 1 << adc.bits  # codes 0 .. top − 1
        # Sums converted with fewer bits over the same range (``coarse`` e > 0 at (t, k)): u' = (u − ½)·2**-e + ½,
        # codes 0 .. 2**(bits − e) − 1; exact, as a power-of-two scaling and a dyadic offset of grid values.
        self.coarse = None
        margin = 0  # the offset of coarser codes: the exactness bound below keeps room for it
        if coarse is not None and np.any(coarse[active][self.keep_rows(keep_kinds, active)] > 0):
            if step & (step - 1):
                raise ValueError(f"ADC step {step} level steps: converting partial sums with fewer bits "
                                 "(adc_bits_by_sum) needs a power-of-two step (adc.lsb_levels 1, 2, 4, ...)")
            e = coarse[active].astype(np.int64)  # (Ta, K)
            self.coarse = (np.ldexp(1.0, -e), 0.5 - np.ldexp(0.5, -e), (self.top >> e).astype(np.float64))
            margin = step << int(e.max())
        self.card, self.step = card, step
        self.reference_column = tiles[0].ref_norm is not None
        # The digital floor correction weighs each kept cycle's c_t by the codes it corrects: per resolution
        # offset e (sums converted e bits coarser correct by the coarser step's c), Σ_(k at e) w[t, k] (Ta,).
        self.floor_weights = None
        if not self.reference_column and floor_levels(card) != 0.0:
            e_kinds = np.zeros(weights.shape, dtype=np.int64) if coarse is None else coarse[active]
            self.floor_weights = {int(e): np.where(e_kinds == e, weights, 0).sum(axis=1).astype(np.int64)
                                  for e in np.unique(e_kinds)}
        pow2 = step & (step - 1) == 0
        self.divide = None if pow2 else float(step)
        self.noise_scale = 1.0 / step if pow2 else 1.0  # noise is in level units; a power-of-two step
        # read works in ADC steps
        x_max = card.dac.max_code
        # Kind-major columns (k, output): per tile (rows, outputs·K) output-major -> (rows, K, outputs).
        self.matrices, self.dtypes = [], []
        for r0, r1 in self.groups:
            h = np.concatenate([t.read_levels[r0:r1].reshape(r1 - r0, t.spec.outputs, k) for t in tiles], axis=1)
            o = np.concatenate([t.offset_levels.reshape(t.spec.outputs, k) for t in tiles], axis=0)
            h = h.transpose(0, 2, 1)  # (rows, K, outputs)
            b = o.T + step / 2.0  # (K, outputs): offsets and the rounding half step (level units, on the grid)
            bound = x_max * float(np.abs(h).sum(axis=0).max(initial=0.0)) + float(np.abs(b).max(initial=0.0)) \
                + margin
            if pow2 and bound < 2.0 ** (_EXACT_BITS[np.dtype(np.float32)] - GRID_BITS):
                dtype = np.dtype(np.float32)
            elif bound < 2.0 ** (_EXACT_BITS[np.dtype(np.float64)] - GRID_BITS):
                dtype = np.dtype(np.float64)
            else:
                raise ValueError(f"layer tile read: column sums reach {bound:.3g} level steps; the exact datapath "
                                 f"allows < 2**{53 - GRID_BITS} (fewer rows per read or bits per cell)")
            if pow2:  # work in ADC steps: an exact power-of-two scaling of grid values
                h, b = h / step, b / step
            # The constant b rides in the product as one more input row, driven at 1: y = [x 1] @ [h; b]
            # (cheaper than a separate pass over the product: the product is L2-resident only in pieces).
            inner = r1 - r0 + 1
            mats = []
            for lo, hi in self.panels:
                m = np.zeros((inner, k, hi - lo), dtype=dtype)
                m[: r1 - r0] = h[:, :, lo:hi]
                m[r1 - r0] = b[:, lo:hi]
                mats.append(m.reshape(inner, k * (hi - lo)))
            self.matrices.append(mats)
            self.dtypes.append(dtype)
        # Shift-and-add weights keep[t, k]·2**(d·t)·sig[k] (ADC steps); exact in float32 while
        # (top − 1)·Σ|w| < 2**24.
        self.weights = weights
        worst = (self.top - 1) * float(np.abs(weights).sum())
        self.sum_dtypes = [d if worst < 2.0 ** _EXACT_BITS[d] else np.dtype(np.float64) for d in self.dtypes]
        # ``u < top`` and ``u >= 0`` at once: the bits of ``top`` as an unsigned integer bound those of every u.
        self.top_bits = {d: np.array(self.top, dtype=d).view(_UNSIGNED[d]) for d in set(self.dtypes)}

    @staticmethod
    def keep_rows(keep_kinds: np.ndarray, active: np.ndarray) -> np.ndarray:
        """bool (Ta, K): the kept column kinds at each active cycle."""
        return np.asarray(keep_kinds, dtype=bool)[active]

    def block_vectors(self, g: int) -> int:
        """Vectors per block of row group ``g``: the block's ADC inputs fill ``BLOCK_BYTES`` (at least 1)."""
        width = self.kinds * max(hi - lo for lo, hi in self.panels)
        return max(1, BLOCK_BYTES // (len(self.keep) * width * self.dtypes[g].itemsize))

    def read(self, x_block: np.ndarray, g: int, noise: float, rng, partial: np.ndarray, clipped: np.ndarray) -> None:
        """Convert row group ``g`` for one block of drives ``x_block`` (m, Ta, R) uint8; add the shift-and-added
        sums (ADC steps) into ``partial`` (m, layer outputs) at this row block's outputs and clipped conversions
        into ``clipped`` (Ta, outputs). The work arrays are the calling thread's (``_work_array``)."""
        dtype, sum_dtype = self.dtypes[g], self.sum_dtypes[g]
        m, ta, rows = x_block.shape
        inner = self.matrices[g][0].shape[0]
        k = self.kinds
        width = k * max(hi - lo for lo, hi in self.panels)
        xa = _work_array("x", dtype, m * ta * inner).reshape(m, ta, inner)
        xa[:, :, rows] = 1  # the always-on row that adds b
        buf = _work_array("y", dtype, m * ta * width)
        top, top_bits, unsigned = self.top, self.top_bits[dtype], _UNSIGNED[dtype]
        w = self.weights.reshape(-1).astype(sum_dtype)
        out_lo = self.outs[0]
        np.copyto(xa[:, :, :rows], x_block, casting="unsafe")
        x = xa.reshape(m * ta, inner)
        if noise > 0:
            xr = x[:, :rows]
            rms = np.sqrt(np.einsum("ij,ij->i", xr, xr)) * dtype.type(noise * self.noise_scale)
            if self.reference_column:
                eps_ref = rng.standard_normal((m * ta, len(self.tiles)), dtype=dtype)
        for (lo, hi), h in zip(self.panels, self.matrices[g], strict=True):
            outputs = hi - lo
            y = buf[: m * ta * k * outputs].reshape(m * ta, k * outputs)
            np.matmul(x, h, out=y)
            if noise > 0:
                eps = rng.standard_normal((m * ta, k, outputs), dtype=dtype)
                if self.reference_column:
                    eps -= eps_ref[:, None, self.tile_of_output[lo:hi]]
                y += rms[:, None] * eps.reshape(y.shape)
            if self.divide is not None:
                y /= self.divide
            if self.coarse is not None:  # per-(t, k) resolutions: an affine map, then per-(t, k) tops
                scale, offset, tops = (a.astype(dtype)[None, :, :, None] for a in self.coarse)
                u = y.reshape(m, ta, k, outputs)
                u *= scale
                u += offset
                self._count_clipped(u, clipped[:, lo:hi], tops)
                np.floor(u, out=u)
                np.maximum(u, 0, out=u)
                np.minimum(u, tops - 1, out=u)
            elif np.maximum.reduce(y.reshape(-1).view(unsigned)) >= top_bits:  # something may clip: count
                self._count_clipped(y.reshape(m, ta, k, outputs), clipped[:, lo:hi])
                np.floor(y, out=y)
                np.clip(y, 0, top - 1, out=y)
            else:
                np.floor(y, out=y)
            codes = y if sum_dtype == dtype else y.astype(sum_dtype)
            sums = np.matmul(w, codes.reshape(m, ta * k, outputs))
            partial[:, out_lo + lo : out_lo + hi] += sums.astype(np.int64)
        if self.floor_weights is not None:  # the digital reference: Σ_t Σ_k w[t, k]·c_t per vector, exact int64
            sums = x_block.sum(axis=2, dtype=np.int64)  # (m, Ta)
            for e, fw in self.floor_weights.items():
                c = floor_codes(self.card, sums, self.step << e)  # (m, Ta)
                partial[:, out_lo : self.outs[1]] -= (c @ fw)[:, None]

    def _count_clipped(self, u: np.ndarray, clipped: np.ndarray, tops: np.ndarray | None = None) -> None:
        """``u`` (m, Ta, K, outputs) ADC inputs in ADC steps: count ``floor(u) ∉ [0, top)`` on kept columns into
        ``clipped`` (Ta, outputs); ``tops`` (1, Ta, K, 1): per-(t, k) code counts (default ``2**bits``)."""
        for i in range(u.shape[1]):
            ut = u[:, i][:, self.keep[i]]
            if ut.size:
                top = self.top if tops is None else tops[0, i, self.keep[i], 0][None, :, None]
                clipped[i] += ((ut < 0) | (ut >= top)).sum(axis=(0, 1))


class LayerReader:
    """The bit-true read of one layer's tiles on one chip instance (module docstring, "The fused read").

    ``tiles``: the layer's programmed tiles in mapping order (tiles of a row block adjacent, by output);
    ``significance`` (K,) int64 column-kind significances of the encoding; ``keep_kinds`` bool (T, K), the
    column kinds converted at each cycle (discarded ones are neither converted nor added). ``row_origin`` and
    ``out_origin`` place the drives' rows and the partial sums' outputs (0 for a whole layer); ``step``: the
    ADC step in level steps (the layer's calibrated range, ``LayerDesign.adc_step``; default the card's
    ``adc.lsb_levels``). ``coarse_kinds`` int (T, K), default all 0: a partial sum converted ``e`` bits coarser
    over the same range (a plan's fewer ADC bits for it, ``LayerDesign.coarse_kinds``): its code is
    ``clamp(floor(s/(step·2**e) + ½), 0, 2**(bits − e) − 1)`` and weighs ``2**e`` steps in shift-and-add.
    Preparing the reader (read levels on the grid, one matrix per row group and row block, dtypes) is done
    once; the engine keeps one per layer and chip.
    """

    def __init__(self, tiles, card: DeviceCard, significance: np.ndarray, keep_kinds: np.ndarray,
                 row_origin: int = 0, out_origin: int = 0, step: int | None = None,
                 coarse_kinds: np.ndarray | None = None) -> None:
        self.tiles = tuple(tiles)
        self.card = card
        keep = np.asarray(keep_kinds, dtype=bool)
        self.cycles = keep.shape[0]
        self.active = np.flatnonzero(keep.any(axis=1))
        d = card.dac.bits
        cycle_w = np.int64(1) << (self.active.astype(np.int64) * d)
        weights = keep[self.active] * cycle_w[:, None] * np.asarray(significance, dtype=np.int64)[None, :]
        if coarse_kinds is not None:  # a code of a sum converted e bits coarser weighs 2**e steps
            coarse_kinds = np.asarray(coarse_kinds, dtype=np.int64)
            if coarse_kinds.shape != keep.shape or coarse_kinds.min(initial=0) < 0 \
                    or coarse_kinds.max(initial=0) >= card.adc.bits:
                raise ValueError(f"coarse_kinds: shape {coarse_kinds.shape} and values must be {keep.shape} and "
                                 f"0..{card.adc.bits - 1}")
            weights = weights << coarse_kinds[self.active]
        self.step = int(card.adc.lsb_levels) if step is None else int(step)
        self.noise = card.cell.read_noise_levels
        self.kept_columns = keep.sum(axis=1)  # (T,) kept kinds per cycle
        self.outputs = max((t.spec.out_stop for t in self.tiles), default=out_origin) - out_origin
        self.row_origin = row_origin
        self.blocks = []
        by_rows: dict = {}
        for i, t in enumerate(self.tiles):
            by_rows.setdefault((t.spec.row_start, t.spec.row_stop), []).append(i)
        self.block_tiles = list(by_rows.values())
        if len(self.active):
            for idx in self.block_tiles:
                self.blocks.append(_RowBlock([self.tiles[i] for i in idx], card, weights, keep, self.active,
                                             row_origin, out_origin, self.step, coarse_kinds))

    @cached_property
    def block_vectors(self) -> int:
        """Vectors per block of the fused read: the smallest that every row group's work block allows."""
        return min((b.block_vectors(g) for b in self.blocks for g in range(len(b.groups))), default=1)

    def read(self, drives: np.ndarray, rng: np.random.Generator | None, add_outputs: np.ndarray | None = None,
             add_vectors: np.ndarray | None = None, threads: int = 1, input_bits: int | None = None) -> LayerRead:
        """Read a batch: ``drives`` (N, T, rows) uint8 drive codes (``memsim.workload.fixedpoint.drive_codes``)
        or, with ``input_bits``, the vectors' (N, rows) unsigned input codes of that many bits, which the
        workers slice into drive codes block by block (in parallel, and while the block is in cache).

        ``add_outputs`` (outputs,) and ``add_vectors`` (N, 1), int64, are added to the partial sums as they are
        laid down (the digital stage's bias and input-sum correction, without a pass of their own).

        The batch is read in blocks of ``block_vectors`` vectors, each through every row block, row group and
        panel; ``threads`` worker threads share the blocks (each one a single-threaded BLAS, so that the
        elementwise passes run on every core too). The numbers do not depend on ``threads``: every block
        writes its own vectors' partial sums, clipping counts are integers, and with read noise each block
        draws from its own generator, ``rng.spawn`` in block order (per block: row blocks, row groups, then
        per panel the cells' noise, vector·cycle × kind·output, after the reference columns', vector·cycle ×
        tiles, which the digital reference does not draw). Cycles with nothing kept are skipped: no drive, no
        read, no random draws.
        """
        n, rows = len(drives), drives.shape[-1]
        t_cycles = drives.shape[1] if input_bits is None else -(-input_bits // self.card.dac.bits)
        active = self.active
        energy_model = any(t.row_energy_zj is not None for t in self.tiles)
        base = np.zeros(self.outputs, dtype=np.int64)
        partial = np.empty((n, self.outputs), dtype=np.int64)
        late = self.step != 1  # additions come after the scaling by the ADC step
        if add_outputs is not None and not late:
            base = base + add_outputs
        if add_vectors is not None and not late:
            np.add(add_vectors, base, out=partial)
        else:
            partial[:] = base
        pairs = any(t.pair_energy_zj is not None for t in self.tiles)  # IR drop: a quadratic form of the drives
        clipped, counted, squares, grams = self._convert(drives, rng, partial, threads, energy_model, input_bits,
                                                         pairs)
        nonzero = np.zeros((t_cycles, rows), dtype=np.int64)
        nonzero[active] = counted
        drive_sq = None
        if energy_model:  # Σ_n x² per cycle and row, exact
            drive_sq = np.zeros((t_cycles, rows), dtype=np.int64)
            drive_sq[active] = squares
        activity: list = [None] * len(self.tiles)
        for bi, idx in enumerate(self.block_tiles):
            spec0 = self.tiles[idx[0]].spec
            groups = spec0.row_groups
            r_lo = spec0.row_start - self.row_origin
            shape = (len(groups), t_cycles)
            driven = np.zeros(shape, dtype=np.int64)
            energy = [np.zeros(shape, dtype=object) for _ in idx]
            for g, (r0, r1) in enumerate(groups):
                driven[g] = nonzero[:, r_lo + r0 : r_lo + r1].sum(axis=1)
                if drive_sq is not None:
                    sq = drive_sq[active, r_lo + r0 : r_lo + r1].astype(object)
                    for e, i in zip(energy, idx, strict=True):
                        q = self.tiles[i].pair_energy_zj
                        if q is not None:  # Σ_n x_n·Q·x_nᵀ = Σ_kl Q_kl·(Σ_n x_nk·x_nl), exact integers
                            block = grams[:, r_lo + r0 : r_lo + r1, r_lo + r0 : r_lo + r1].astype(object)
                            e[g, active] = (block * q[r0:r1, r0:r1]).sum(axis=(1, 2))
                        elif self.tiles[i].row_energy_zj is not None:
                            e[g, active] = sq @ self.tiles[i].row_energy_zj[r0:r1]
            per_tile = None
            if clipped:
                per_tile = np.add.reduceat(clipped[bi], self.blocks[bi].tile_starts, axis=2)  # (G, Ta, tiles)
            conversions: dict = {}  # tiles of one width share their (read-only) arrays
            no_clip = np.zeros(shape, dtype=np.int64)
            for j, i in enumerate(idx):
                outputs = self.tiles[i].spec.outputs
                if outputs not in conversions:
                    conversions[outputs] = np.broadcast_to(n * self.kept_columns * outputs, shape)
                clip = no_clip
                if per_tile is not None and per_tile[:, :, j].any():
                    clip = np.zeros(shape, dtype=np.int64)
                    clip[:, active] = per_tile[:, :, j]
                activity[i] = TileActivity(driven, energy[j], conversions[outputs], clip)
        if late:
            partial *= self.step
            for extra in (add_outputs, add_vectors):
                if extra is not None:
                    partial += extra
        return LayerRead(partial, tuple(activity), nonzero)

    def _convert(self, drives: np.ndarray, rng, partial: np.ndarray, threads: int, squares: bool,
                 input_bits: int | None = None, pairs: bool = False):
        """The products, conversions and shift-and-add of every block of vectors (``read``), added into
        ``partial``. Returns per row block the clipped conversions (G, Ta, block outputs) ([] when no cycle is
        kept), and at the kept cycles, per cycle and row, the vectors that drove the row (Ta, rows) and, when
        ``squares``, the sum of the squared drives (Ta, rows), else None, and, when ``pairs``, the drives' Gram
        matrices ``Σ_n x_nk·x_nl`` (Ta, rows, rows) int64, else None; the workers count them per block.
        With ``input_bits``, ``drives`` are input codes (N, rows), sliced per block."""
        n, rows = len(drives), drives.shape[-1]
        d = self.card.dac.bits
        t_cycles = drives.shape[1] if input_bits is None else -(-input_bits // d)
        ta = len(self.active)
        binary = self.card.dac.bits == 1
        if not self.blocks:
            return ([], np.zeros((ta, rows), np.int64), np.zeros((ta, rows), np.int64) if squares else None,
                    np.zeros((ta, rows, rows), np.int64) if pairs else None)
        nb = self.block_vectors
        spans = [(a, min(n, a + nb)) for a in range(0, n, nb)]
        gens = rng.spawn(len(spans)) if self.noise > 0 else [None] * len(spans)
        workers = max(1, min(threads, len(spans)))
        every = ta == t_cycles
        clipped = [[np.zeros((len(b.groups), ta, b.outs[1] - b.outs[0]), dtype=np.int64) for b in self.blocks]
                   for _ in range(workers)]
        counted = np.zeros((workers, ta, rows), dtype=np.int64)
        summed = np.zeros((workers, ta, rows), dtype=np.int64) if squares and not binary else None
        gram = np.zeros((workers, ta, rows, rows), dtype=np.int64) if pairs else None

        def work(w: int) -> None:
            for i in range(w, len(spans), workers):
                a, b = spans[i]
                x_span = drives[a:b] if input_bits is None else drive_codes(drives[a:b], input_bits, d)
                if not every:
                    x_span = x_span[:, self.active]
                # A count of at most b − a vectors: the narrowest exact accumulator is several times faster.
                narrow = np.uint16 if b - a < 1 << 16 else np.int64
                counted[w] += (x_span if binary else x_span != 0).sum(axis=0, dtype=narrow)
                if summed is not None:
                    summed[w] += (x_span.astype(np.int64) ** 2).sum(axis=0)
                if gram is not None:  # float64 products of small integers: exact (sums far below 2**53)
                    xs = x_span.astype(np.float64).transpose(1, 0, 2)  # (Ta, m, rows)
                    gram[w] += np.matmul(xs.transpose(0, 2, 1), xs).astype(np.int64)
                for block, clip in zip(self.blocks, clipped[w], strict=True):
                    r_lo = block.rows[0]
                    for g, (r0, r1) in enumerate(block.groups):
                        block.read(x_span[:, :, r_lo + r0 : r_lo + r1], g, self.noise, gens[i], partial[a:b],
                                   clip[g])

        if workers == 1:
            work(0)
        else:
            with single_threaded_blas():
                others = [_read_pool(workers - 1).submit(work, w) for w in range(1, workers)]
                try:
                    work(0)  # the calling thread is a worker too
                finally:
                    wait(others)  # none is left writing when this returns or raises
                for future in others:
                    future.result()
        count = counted.sum(axis=0)
        square = None if not squares else count if binary else summed.sum(axis=0)
        grams = None if gram is None else gram.sum(axis=0)
        return [sum(c[bi] for c in clipped) for bi in range(len(self.blocks))], count, square, grams


def read_tile(
    tile: ProgrammedTile,
    drives: np.ndarray,
    card: DeviceCard,
    significance: np.ndarray,
    keep_kinds: np.ndarray,
    rng: np.random.Generator,
    step: int | None = None,
) -> TileRead:
    """Bit-true read of one tile for a batch (the fused read of ``LayerReader`` on a single tile, with ADC
    ``step``; default the card's ``adc.lsb_levels``).

    ``drives``: (T, N, tile rows) integer drive codes per input cycle (LSB cycle first). ``significance``:
    (K,) int64 column-kind significances of the encoding; ``keep_kinds``: bool (T, K), the column kinds
    converted at each cycle (discarded ones are neither converted nor added). Returns the shift-and-added
    partial sums ``Σ_g Σ_t Σ_k kept · 2**(d·t) · sig[k] · step · code`` (``code − c`` with the digital
    reference, ``c = floor_codes``) and the activity per
    (row group, cycle). Cycles with nothing kept are skipped: no drive, no read, no random draws.
    """
    spec = tile.spec
    reader = LayerReader((tile,), card, significance, keep_kinds, row_origin=spec.row_start,
                         out_origin=spec.out_start, step=step)
    codes = np.ascontiguousarray(np.asarray(drives).transpose(1, 0, 2)).astype(np.uint8)
    res = reader.read(codes, rng)
    a = res.activity[0]
    return TileRead(a.driven_rows, a.cell_energy_zj, a.conversions, a.clipped, res.partial)
