"""IR drop in a crossbar read: the resistive network of word lines, bit lines, cells, drivers and sense inputs.

The network (docs/devices.md §Wire parasitics). ``R`` driven rows, ``C`` columns, cell ``(i, j)`` of conductance
``G_ij`` between word-line node ``u_ij`` and bit-line node ``w_ij``:

- word line ``i``: its driver (an ideal source ``V_i``) → ``r_head`` → ``u_i0`` → ``r_row`` → ``u_i1`` → … →
  ``u_i,C−1`` (the driver sits at the column-0 end);
- bit line ``j``: ``w_0j`` → ``r_col`` → ``w_1j`` → … → ``w_R−1,j`` → ``r_tail`` → the sense amplifier's
  virtual ground (0 V); the sense current is ``I_j = w_R−1,j / r_tail`` (the row ``R − 1`` end is nearest the
  sense amplifier).

Kirchhoff's current law at the ``2·R·C`` nodes gives ``A·v = S·V``: ``A`` is the weighted Laplacian of the
network with the sources and the virtual ground as fixed terminals, symmetric positive definite whenever every
line reaches a terminal (``r_head``, ``r_tail`` finite). Two solvers (``SOLVERS``):

- ``"nodal"``: the exact reference. ``A`` is assembled as a ``scipy.sparse`` matrix, factorized once by
  ``scipy.sparse.linalg.splu`` and solved for every drive vector of the batch (multiple right-hand sides).
- ``"iterative"``: block Gauss–Seidel on the word-line / bit-line partition of ``A``, vectorized over the
  batch. Each sweep solves every word line exactly for the current bit-line voltages (one symmetric positive
  definite tridiagonal system per line, factorized once by LAPACK ``?pttrf`` and solved by ``?pttrs`` for the
  whole batch), then every bit line for the new word-line voltages. Block Gauss–Seidel converges for any
  symmetric positive definite ``A`` (Golub & Van Loan, *Matrix Computations*, 4th ed., §11.2), geometrically at
  a rate ``ρ < 1`` that approaches 1 as ``r·G·N²`` grows. It stops when the a-posteriori bound of the remaining
  error of the sense currents, ``Δ_k·ρ/(1 − ρ)`` (``Δ_k``: the largest change of a sense current in sweep
  ``k``, ``ρ`` estimated as ``Δ_k/Δ_k−1``), is at most ``tolerance·I_fs``, ``I_fs = max|V|·max_j Σ_i G_ij``
  the ideal full-scale column current. CrossSim (Sandia's crossbar simulator,
  ``simulator/circuits/array_simulator.py``) also iterates on the line voltages, by successive under-relaxation
  until the voltage error falls below a threshold; exact line solves need no relaxation factor (docs/devices.md
  §Wire parasitics).

A zero resistance joins nodes instead of connecting them: ``r_row = 0`` makes word line ``i`` one node (held at
``V_i`` when also ``r_head = 0``), ``r_col = 0`` makes bit line ``j`` one node (at 0 V when also ``r_tail = 0``).
With all four zero both solvers return the ideal read ``I = V·G`` exactly (the same product). Validity: ohmic
cells and wires (the network is linear, so the read is a linear map of the drives: ``transfer_s`` gives its
matrix); every row of the network is driven (a row at code 0 is held at 0 V by its driver); ``r_head >= r_row``
and ``r_tail >= r_col`` (the first and last segments belong to the line).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack
from scipy.sparse.linalg import splu

from .validate import check_choice, check_nonnegative

SOLVERS = ("nodal", "iterative")
MAX_SWEEPS = 100_000  # the iterative solver gives up (one-line error naming the solver) after this many sweeps


@dataclass(frozen=True)
class LineResistances:
    """The series resistances of one crossbar read's network (module docstring), in ohms.

    ``r_head_ohm``: driver output plus the word line's first segment; ``r_row_ohm``: one word-line segment
    between adjacent cells; ``r_col_ohm``: one bit-line segment; ``r_tail_ohm``: the bit-line segments from the
    last driven row to the sense amplifier plus its input resistance. Validity: all ``>= 0``, ``r_head_ohm >=
    r_row_ohm``, ``r_tail_ohm >= r_col_ohm``.
    """

    r_head_ohm: float
    r_row_ohm: float
    r_col_ohm: float
    r_tail_ohm: float

    def __post_init__(self) -> None:
        for name in ("r_head_ohm", "r_row_ohm", "r_col_ohm", "r_tail_ohm"):
            object.__setattr__(self, name, check_nonnegative(f"wires.{name}", getattr(self, name)))
        if self.r_head_ohm < self.r_row_ohm or self.r_tail_ohm < self.r_col_ohm:
            raise ValueError(f"wires: r_head_ohm = {self.r_head_ohm:g} and r_tail_ohm = {self.r_tail_ohm:g} must be "
                             f">= r_row_ohm = {self.r_row_ohm:g} and r_col_ohm = {self.r_col_ohm:g}; allowed "
                             "head >= row segment, tail >= column segment")

    @property
    def ideal(self) -> bool:
        """True when every resistance is zero: the read is ``I = V·G``."""
        return self.r_head_ohm == self.r_row_ohm == self.r_col_ohm == self.r_tail_ohm == 0.0


def _check_inputs(g_s, v) -> tuple[np.ndarray, np.ndarray]:
    g = np.asarray(g_s, dtype=np.float64)
    v = np.atleast_2d(np.asarray(v, dtype=np.float64))
    if g.ndim != 2 or v.shape[1] != g.shape[0]:
        raise ValueError(f"wires: drives of shape {v.shape} do not fit a {g.shape} array; allowed (batch, rows)")
    if not np.all(np.isfinite(g)) or g.min(initial=0.0) < 0:
        raise ValueError("wires: cell conductances must be finite and >= 0")
    return g, v


def _line_nodes(n_lines: int, length: int, r_seg: float, r_end: float) -> tuple[np.ndarray | None, int]:
    """Unknown index of every node of ``n_lines`` lines of ``length`` nodes (line-major), and their count:
    one unknown per node with segments, one per line without (joined), None when the line is held at its
    terminal (no segment and no end resistance)."""
    if r_seg > 0:
        return np.arange(n_lines * length).reshape(n_lines, length), n_lines * length
    if r_end > 0:
        return np.repeat(np.arange(n_lines), length).reshape(n_lines, length), n_lines
    return None, 0


def _driver_currents(g: np.ndarray, v: np.ndarray, u: np.ndarray, w: np.ndarray,
                     wires: LineResistances) -> np.ndarray:
    """Current each driver sends into its word line (batch, R): ``(V_i − u_i0)/r_head``, or, for a word line
    held at ``V_i`` (``r_head = 0``), the sum of its cells' currents ``Σ_j G_ij·(V_i − w_ij)``. ``u``, ``w``:
    (batch, R, C) node voltages."""
    if wires.r_head_ohm > 0:
        return (v - u[:, :, 0]) / wires.r_head_ohm
    return np.einsum("ij,bij->bi", g, v[:, :, None] - w)


def _sense_currents(g: np.ndarray, u: np.ndarray, w: np.ndarray, wires: LineResistances) -> np.ndarray:
    """Sense current of every column (batch, C): ``w_R−1,j / r_tail``, or, for a bit line held at 0 V
    (``r_tail = 0``), the sum of its cells' currents ``Σ_i G_ij·u_ij``."""
    if wires.r_tail_ohm > 0:
        return w[:, -1, :] / wires.r_tail_ohm
    return np.einsum("ij,bij->bj", g, u)


def node_voltages(g_s, wires: LineResistances, v) -> tuple[np.ndarray, np.ndarray]:
    """Word-line and bit-line node voltages ``(u, w)``, each (batch, R, C) in volts, by the exact nodal solve
    (module docstring): ``A`` is assembled from the conductance stamps of every resistor (``scipy.sparse``),
    factorized once (``splu``) and solved for all drive vectors at once. A held line takes its terminal's
    voltage. The voltage each cell sees is ``u − w``."""
    g, v = _check_inputs(g_s, v)
    r, c = g.shape
    batch = len(v)
    wl, n_w = _line_nodes(r, c, wires.r_row_ohm, wires.r_head_ohm)
    blt, n_b = _line_nodes(c, r, wires.r_col_ohm, wires.r_tail_ohm)  # (C, R): bit lines are lines too
    bl = None if blt is None else blt.T + n_w
    n = n_w + n_b
    if n == 0:
        return np.broadcast_to(v[:, :, None], (batch, r, c)).copy(), np.zeros((batch, r, c))
    rows_a, cols_a, vals_a = [], [], []  # A (n × n)
    rows_s, cols_s, vals_s = [], [], []  # S (n × R): the sources' stamps

    def stamp(a, b, cond) -> None:  # a resistor between unknowns a and b
        a, b, cond = (np.ravel(x) for x in np.broadcast_arrays(a, b, cond))
        keep = (a != b) & (cond > 0)
        a, b, cond = a[keep], b[keep], cond[keep]
        rows_a.extend([a, b, a, b])
        cols_a.extend([a, b, b, a])
        vals_a.extend([cond, cond, -cond, -cond])

    def ground(a, cond) -> None:  # a resistor from unknown a to a terminal (its voltage, if any, goes to S)
        a, cond = (np.ravel(x) for x in np.broadcast_arrays(a, cond))
        rows_a.append(a)
        cols_a.append(a)
        vals_a.append(cond)

    ii = np.repeat(np.arange(r), c).reshape(r, c)
    if wl is not None:  # drivers: the head resistor to the source (r_head > 0 whenever the word line is not held)
        g_head = 1.0 / wires.r_head_ohm
        ground(wl[:, 0], g_head)
        rows_s.append(wl[:, 0])
        cols_s.append(np.arange(r))
        vals_s.append(np.full(r, g_head))
    if wires.r_row_ohm > 0:
        stamp(wl[:, :-1], wl[:, 1:], 1.0 / wires.r_row_ohm)
    if wires.r_col_ohm > 0:
        stamp(bl[:-1], bl[1:], 1.0 / wires.r_col_ohm)
    if bl is not None:  # the tail to the virtual ground (r_tail > 0 whenever the bit line is not held)
        ground(bl[-1], 1.0 / wires.r_tail_ohm)
    # Cells: between an unknown word-line node or a held one (source i), and an unknown bit-line node or 0 V.
    if wl is not None and bl is not None:
        stamp(wl, bl, g)
    elif wl is not None:
        ground(wl, g)
    else:
        ground(bl, g)
        rows_s.append(bl.ravel())
        cols_s.append(ii.ravel())
        vals_s.append(g.ravel())
    a_mat = sp.csc_matrix((np.concatenate(vals_a), (np.concatenate(rows_a), np.concatenate(cols_a))), shape=(n, n))
    s_mat = sp.csr_matrix((np.concatenate(vals_s), (np.concatenate(rows_s), np.concatenate(cols_s))), shape=(n, r))
    x = splu(a_mat).solve(np.asarray(s_mat @ v.T, dtype=np.float64, order="F"))  # (n, batch)
    u = np.broadcast_to(v[:, :, None], (batch, r, c)).copy() if wl is None else x[wl].transpose(2, 0, 1)
    w = np.zeros((batch, r, c)) if bl is None else x[bl].transpose(2, 0, 1)
    return u, w


def solve_nodal(g_s, wires: LineResistances, v, sources: bool = False):
    """Sense currents ``I`` (batch, C) in amperes for drives ``v`` (batch, R) in volts: the exact nodal solve
    (``node_voltages``); with ``sources``, also the drivers' currents (batch, R) (``(I, I_drive)``). Exact to
    the factorization's rounding (about ``1e-15`` relative to the currents for well-conditioned arrays)."""
    g, v = _check_inputs(g_s, v)
    if wires.ideal:
        return (v @ g, v * g.sum(axis=1)) if sources else v @ g
    u, w = node_voltages(g, wires, v)
    current = _sense_currents(g, u, w, wires)
    return (current, _driver_currents(g, v, u, w, wires)) if sources else current


class _Lines:
    """``n_lines`` lines of ``length`` nodes (docs in ``solve_iterative``): node ``k`` of line ``l`` couples to
    the other side through ``g[l, k]``, to its neighbours through ``1/r_seg``, and node ``end`` (0 or
    ``length − 1``) to its terminal through ``1/r_end``. Solves the lines for given far-side voltages."""

    def __init__(self, g: np.ndarray, r_seg: float, r_end: float, end: int) -> None:
        self.g, self.end = g, end
        self.n_lines, self.length = g.shape
        self.g_end = 0.0 if r_end == 0 else 1.0 / r_end
        self.mode = "line" if r_seg > 0 else "node" if r_end > 0 else "held"
        if self.mode == "line":
            g_seg = 1.0 / r_seg
            d = g.copy()
            d[:, 1:] += g_seg
            d[:, :-1] += g_seg
            d[:, end] += self.g_end
            e = np.full((self.n_lines, self.length), -g_seg)
            e[:, -1] = 0.0  # no coupling between the last node of a line and the first of the next
            self.d, self.e, info = lapack.dpttrf(d.ravel(), e.ravel()[:-1])
            if info != 0:
                raise ValueError(f"wires: a line's system is not positive definite (LAPACK dpttrf info {info})")
        elif self.mode == "node":
            self.total = g.sum(axis=1) + self.g_end  # (lines,)

    def solve(self, far: np.ndarray, source: np.ndarray | None) -> np.ndarray:
        """Line voltages (batch, lines, length) for far-side voltages ``far`` (batch, lines, length) and the
        terminal voltages ``source`` (batch, lines) (None: 0 V)."""
        if self.mode == "held":
            return np.zeros(far.shape) if source is None else np.broadcast_to(source[:, :, None], far.shape).copy()
        rhs = self.g * far
        if self.mode == "node":
            total = rhs.sum(axis=2)
            if source is not None:
                total += self.g_end * source
            return np.broadcast_to((total / self.total)[:, :, None], far.shape).copy()
        if source is not None:
            rhs[:, :, self.end] += self.g_end * source
        batch = far.shape[0]
        # F-ordered (nodes, batch): no copy; solved in place
        x, info = lapack.dpttrs(self.d, self.e, rhs.reshape(batch, -1).T, overwrite_b=True)
        if info != 0:
            raise ValueError(f"wires: LAPACK dpttrs failed (info {info})")
        return x.T.reshape(far.shape)


def solve_iterative(g_s, wires: LineResistances, v, tolerance: float, sources: bool = False):
    """Sense currents ``I`` (batch, C) in amperes for drives ``v`` (batch, R) in volts: block Gauss–Seidel over
    word lines and bit lines (module docstring), to ``|I − I_exact| <= tolerance·I_fs`` by the a-posteriori
    bound; with ``sources``, also the drivers' currents (batch, R) (``(I, I_drive)``). Raises ``ValueError``
    when it has not converged after ``MAX_SWEEPS`` sweeps."""
    g, v = _check_inputs(g_s, v)
    tol = check_nonnegative("circuit.tolerance", tolerance)
    if wires.ideal:
        return (v @ g, v * g.sum(axis=1)) if sources else v @ g
    r, c = g.shape
    batch = v.shape[0]
    rows = _Lines(g, wires.r_row_ohm, wires.r_head_ohm, 0)
    cols = _Lines(np.ascontiguousarray(g.T), wires.r_col_ohm, wires.r_tail_ohm, r - 1)
    i_fs = float(np.abs(v).max(initial=0.0) * g.sum(axis=0).max(initial=0.0))
    w = np.zeros((batch, c, r))  # bit-line voltages, column-major (batch, C, R); start at the virtual ground

    def currents(u: np.ndarray, w: np.ndarray) -> np.ndarray:
        return _sense_currents(g, u, w.transpose(0, 2, 1), wires)

    def done(current: np.ndarray, u: np.ndarray, w: np.ndarray):
        return (current, _driver_currents(g, v, u, w.transpose(0, 2, 1), wires)) if sources else current

    previous, last_change = None, None
    for _ in range(MAX_SWEEPS):
        u = rows.solve(w.transpose(0, 2, 1), v)  # (batch, R, C)
        w = cols.solve(u.transpose(0, 2, 1), None)  # (batch, C, R)
        current = currents(u, w)
        if rows.mode == "held" or cols.mode == "held" or i_fs == 0.0:
            return done(current, u, w)  # one side is fixed: a single sweep is exact
        if previous is not None:
            change = float(np.abs(current - previous).max())
            if change == 0.0:
                return done(current, u, w)
            if last_change is not None:
                rate = change / last_change
                if rate < 1.0 and change * rate / (1.0 - rate) <= tol * i_fs:
                    return done(current, u, w)
            last_change = change
        previous = current
    raise ValueError(f"circuit.solver = 'iterative' did not converge to tolerance {tol:g} in {MAX_SWEEPS} sweeps; "
                     "allowed: a larger tolerance, or solver 'nodal'")


def solve(g_s, wires: LineResistances, v, solver: str, tolerance: float, sources: bool = False):
    """Sense currents (batch, C) by the named solver (``SOLVERS``); with ``sources`` also the drivers'."""
    check_choice("circuit.solver", solver, SOLVERS)
    if solver == "nodal":
        return solve_nodal(g_s, wires, v, sources)
    return solve_iterative(g_s, wires, v, tolerance, sources)


def transfer_s(g_s, wires: LineResistances, solver: str, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """The read's matrices in siemens: ``T`` (R, C) with ``I_j = Σ_i V_i·T_ij`` and ``Y`` (R, R) with the
    drivers' currents ``I_drive,k = Σ_i V_i·Y_ik``, for any drives ``V``.

    The network is linear, so one solve per unit drive (the identity as the batch) gives the whole read
    (superposition); a batch read is then one matrix product, whatever its size. The power a read draws from
    its drivers, ``P = V·Y·Vᵀ``, is what the cells and the wires (with the driver and sense resistances)
    dissipate. With every resistance zero, ``T = G`` and ``Y = diag(Σ_j G_ij)`` exactly.
    """
    g = np.asarray(g_s, dtype=np.float64)
    if wires.ideal:
        return g.copy(), np.diag(g.sum(axis=1))
    return solve(g, wires, np.eye(g.shape[0]), solver, tolerance, sources=True)


def dissipation_w(g_s, wires: LineResistances, v) -> tuple[np.ndarray, np.ndarray]:
    """Power (batch,) in watts dissipated in the cells and in the series resistances (wires, driver outputs,
    sense inputs) for drives ``v`` (batch, R), by the exact nodal solve: ``Σ G·(u − w)²`` and ``Σ_i V_i·I_drive,i
    − Σ G·(u − w)²`` (all the drivers' power is dissipated in the network; the sense amplifiers sit at 0 V)."""
    g, v = _check_inputs(g_s, v)
    u, w = node_voltages(g, wires, v)
    cells = np.einsum("ij,bij->b", g, (u - w) ** 2)
    total = np.einsum("bi,bi->b", v, _driver_currents(g, v, u, w, wires))
    return cells, total - cells
