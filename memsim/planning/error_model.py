"""The error model of every partial sum ``(s, t)``: how often its conversion is wrong, by how much, where that
error lands relative to the truncation point, and how much information the partial sum carries
(docs/planning.md §Error model per partial sum).

Analytic model (per layer, on calibration inputs ``x``). For a column of kind ``k`` (slice ``s``), output ``j``,
row group ``g`` and input cycle ``t``, programming variation makes the ADC input

    s = P + e,   P = Σ_i x_t,i · L_ikj   (the exact partial sum),
    e = Σ_i x_t,i · (ε_ikj − ε_ref,i) + read noise + offset
    Var e = Σ_i x_t,i² · (σ(G(L_ikj))² + σ(g_min)² + 2·σ_read²)/Δg² + σ_offset²/I_unit²

(level units: each cell adds ``x·σ(G)/Δg``, the reference column at level 0 adds its own, read noise enters
column and reference, the sense-amplifier offset once; docs/datapath.md §Reference column). The reference
term is *coherent*: the reference cell of row ``i`` (and the reference column's read noise) is shared by every
column of the tile, so two columns ``j ≠ j'`` of one tile read in the same conversion have correlated errors,
``Cov(e_j, e_j') = Σ_i x_t,i² · (σ(g_min)² + σ_read²)/Δg²``, and columns of different tiles are independent.
The figures below are per conversion (marginal), so the variance is all they need; the correlation makes the
errors of one output's column kinds, and of outputs sharing a tile, move together (the accumulator error power
of an output is then not the sum of its conversions' powers; the model sums them, neglecting this).
With ``crossbar.reference = "digital"`` there is no reference column: ``Var e = Σ_i x_t,i² · (σ(G(L_ikj))² +
σ_read²)/Δg² + σ_offset²/I_unit²`` (the floor is subtracted digitally, without error) and the ADC converts
``P + b``, ``b = F·Σ_i x_t,i`` (``memsim.tile.floor_levels``), so the bins below are placed around ``P + b``.
With ``e`` Gaussian, ADC step ``m`` and code
``round(s/m)``, the code is off by ``q`` when ``P + e`` falls ``q`` bins away from the bin of ``round(P/m)``; the
Gaussian mass of each bin gives the code-error probability and the expected squared code error. Lognormal
variation is taken with the same σ; stuck-at
faults and ADC clipping are left to the Monte Carlo measurement (``measure_code_errors``).

With resistive wires (``crossbar.wires.model = "resistive"``) the ADC input's mean moves as well: the read of
the zero-variation cells through the wire network (``memsim.tile.TileCircuit``) gives the nominal read levels
``H``, and the ADC sees ``P + δ + e`` with the systematic, input-dependent IR-drop error
``δ = Σ_i x_t,i · (H_ikj − L_ikj)`` (minus the floor ``b`` with the digital reference, whose correction assumes
the ideal floor). The bins are then placed around ``P + δ`` while the exact code stays ``round(P/m)``, so
``p_code_error`` and ``error_power`` hold the parasitic error (without variation, ``q = round((P + δ)/m) −
round(P/m)`` exactly); ``rounding_power`` remains the ideal ADC's own.

A ranged ADC (step ``m > 1``, ``memsim.simulate.adc_steps``) or one with fewer bits (a plan's ``adc_bits``) also
errs without any variation: the code ``min(round(P/m), 2**B − 1)`` stands for ``P`` with the deterministic
error ``r = m·min(round(P/m), 2**B − 1) − P`` (rounding, and clipping above the calibrated range).
``rounding_power`` is its mean square in accumulator LSB²; it is zero for a step of one level with a range
that covers the partial sums. A sum converted ``e`` bits coarser (a plan's ``adc_bits_by_sum``) has the step
``m·2**e`` and ``2**(B − e)`` codes.

A code error ``Δ`` in ``(s, t)`` adds ``Δ·m·sig[k]·2**(d·t)`` to the accumulator, i.e. lands at accumulator bit
``c·s + d·t`` (+ log2 m); truncation discards the ``k`` low bits. ``information`` is the variance of the exact
contribution of ``(s, t)`` over the calibration inputs, and ``flip_rate`` the fraction of truncated outputs
that change when that contribution is replaced by its mean — what discarding it costs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from memsim.devices.card import DeviceCard
from memsim.chip import LayerDesign
from memsim.encoding import input_slices
from memsim.workload.fixedpoint import bit_length
from memsim.tile import ProgrammedTile, column_signal, floor_levels, program_layer, read_tile, tile_circuit


@dataclass(frozen=True)
class LayerErrorModel:
    """Per-partial-sum figures of one layer; every array is (S, T): weight slice × input cycle.

    - ``p_code_error``: analytic probability that one conversion is wrong;
    - ``code_error_sq``: expected squared code error per conversion;
    - ``error_power``: expected squared accumulator error per output from variation, in accumulator LSB²;
    - ``rounding_power``: mean squared accumulator error per output of the ADC's step and range alone (no
      variation: rounding to the step, clipping at the top code), in accumulator LSB²;
    - ``information``: variance of the exact contribution per output, in accumulator LSB²;
    - ``flip_rate``: fraction of truncated outputs changed by replacing the contribution with its mean;
    - ``error_bit``: accumulator bit where a code error of 1 lands (``c·s + d·t + log2 m``);
    - ``conversions``: conversions per inference.
    ``truncation_bits`` is ``k``; ``output_power`` the mean square of the ideal accumulator around its mean.
    """

    layer: int
    p_code_error: np.ndarray
    code_error_sq: np.ndarray
    error_power: np.ndarray
    rounding_power: np.ndarray
    information: np.ndarray
    flip_rate: np.ndarray
    error_bit: np.ndarray
    conversions: np.ndarray
    truncation_bits: int
    output_power: float

    @property
    def total_error_power(self) -> np.ndarray:
        """``error_power + rounding_power``: everything the conversions of ``(s, t)`` get wrong, (S, T)."""
        return self.error_power + self.rounding_power

    def to_dict(self) -> dict:
        out = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()}
        out["axes"] = ["slice s", "cycle t"]
        return out


def _code_error_stats(p: np.ndarray, sigma: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Probability of a wrong code and expected squared code error for ``round((P + e)/step)``, e ~ N(0, σ²).

    The exact code is ``c0 = round(P/step)``; its bin is ``[(c0 - 0.5)·step, (c0 + 0.5)·step)`` and the error
    is ``q`` when ``P + e`` falls in bin ``c0 + q``. With ``step = 1`` (P is an integer, the bin is ±0.5 around
    it) both figures depend on σ alone and are read from a fine table over σ; a non-integer ``P`` (the digital
    reference's floor) takes the general path.
    """
    if step == 1 and not np.any(p % 1):
        grid = np.geomspace(1e-3, 16.0, 2048)
        lo, hi = np.full(grid.shape, -0.5), np.full(grid.shape, 0.5)
        p_grid, sq_grid = _bin_stats(lo, hi, grid, 1)
        safe = np.maximum(sigma, grid[0])
        sq = np.where(safe > grid[-1], safe**2 + 1 / 12, np.interp(safe, grid, sq_grid))
        prob = 2.0 * ndtr(-0.5 / np.where(sigma > 0, sigma, 1.0))
        return np.where(sigma > 0, prob, 0.0), np.where(sigma > 0, sq, 0.0)
    c0 = np.floor(p / step + 0.5)
    return _bin_stats((c0 - 0.5) * step - p, (c0 + 0.5) * step - p, sigma, step)


def _shifted_code_error_stats(p: np.ndarray, shift: np.ndarray, sigma: np.ndarray,
                              step: int) -> tuple[np.ndarray, np.ndarray]:
    """As ``_code_error_stats`` with the ADC input ``P + δ + e`` (``δ = shift``, the IR-drop error) against the
    exact code ``round(P/step)``: the bins are placed around ``P + δ``; where ``σ = 0`` the error is
    ``q = round((P + δ)/step) − round(P/step)`` exactly."""
    c0 = np.floor(p / step + 0.5)
    mean = p + shift
    lo, hi = (c0 - 0.5) * step - mean, (c0 + 0.5) * step - mean
    far = int(np.ceil(float(np.abs(shift).max(initial=0.0)) / step))
    prob, sq = _bin_stats(lo, hi, sigma, step, far)
    q = np.floor(mean / step + 0.5) - c0
    return np.where(sigma > 0, prob, q != 0), np.where(sigma > 0, sq, q * q)


def _bin_stats(lo: np.ndarray, hi: np.ndarray, sigma: np.ndarray, step: int,
               far: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian mass outside ``[lo, hi)`` and ``Σ_q q²·P(bin q)`` for bins of width ``step`` beyond it (``far``
    more bins when the mean lies that far from the exact bin)."""
    safe = np.where(sigma > 0, sigma, 1.0)
    p_ok = np.where(sigma > 0, ndtr(hi / safe) - ndtr(lo / safe), 1.0)
    q_max = int(np.ceil(6.0 * float(sigma.max(initial=0.0)) / step)) + 1 + far
    sq = np.zeros(np.broadcast(lo, sigma).shape, dtype=np.float64)
    for q in range(1, q_max + 1):
        above = ndtr((hi + q * step) / safe) - ndtr((hi + (q - 1) * step) / safe)
        below = ndtr((lo - (q - 1) * step) / safe) - ndtr((lo - q * step) / safe)
        sq += q * q * np.where(sigma > 0, above + below, 0.0)
    return 1.0 - p_ok, sq


def parasitic_levels(layer: LayerDesign, card: DeviceCard) -> np.ndarray | None:
    """The IR-drop error of every cell's read level, ``H − L`` (layer rows, K, outputs) in level steps: the
    zero-variation cells of the layer's tiles read through the card's wire network (``memsim.tile.TileCircuit``;
    with the digital reference, less the ideal floor ``F``); None when the card's wires are ideal."""
    circuit = tile_circuit(card)
    if circuit is None:
        return None
    enc = layer.encoded
    column = card.crossbar.reference == "column"
    floor = floor_levels(card)
    out = np.zeros(enc.levels.shape)
    for spec in layer.mapping.tiles:
        nominal = ProgrammedTile(spec, spec.columns(enc.levels).astype(np.float64),
                                 np.zeros(spec.rows) if column else None, np.zeros(spec.used_columns), None, floor,
                                 circuit)
        h = nominal.read_levels - nominal.g_norm - floor
        out[spec.row_start:spec.row_stop, :, spec.out_start:spec.out_stop] = \
            h.reshape(spec.rows, spec.outputs, enc.kinds).transpose(0, 2, 1)
    return out


def analyze_layer(layer: LayerDesign, card: DeviceCard, qx: np.ndarray) -> LayerErrorModel:
    """The analytic error model of one layer on integer layer inputs ``qx`` (see the module docstring).

    ``card`` is the card the layer's tiles run on (``ChipDesign.layer_cards``: its ADC resolution is the
    layer's)."""
    cell = card.cell
    top = card.adc.max_code
    d = card.dac.bits
    step = layer.adc_step  # the layer's calibrated ADC step (memsim.simulate.adc_steps)
    enc = layer.encoded
    ql = layer.qlayer
    dg = cell.delta_g_s
    i_unit = card.i_unit_a
    levels = enc.levels
    var_cell = (cell.variation.sigma_s(levels, cell.target_conductance_s(levels)) / dg) ** 2
    zero = np.zeros(ql.rows, dtype=np.int64)
    var_ref = (cell.variation.sigma_s(zero, cell.target_conductance_s(zero)) / dg) ** 2
    if card.crossbar.reference == "column":  # the reference cell and its read noise, per row (module docstring)
        var_rows = var_cell + (var_ref + 2 * cell.read_noise_levels ** 2)[:, None, None]
    else:  # the digital reference: no reference column, the floor subtracted exactly
        var_rows = var_cell + cell.read_noise_levels ** 2
    floor = floor_levels(card)
    var_offset = (card.sample_hold.offset_sigma_a / i_unit) ** 2
    drives = input_slices(qx, ql.in_format.bits, d)  # (T, N, R)
    t_cycles, n = drives.shape[0], drives.shape[1]
    s_count = enc.slices
    kinds_in = [np.flatnonzero(enc.slice_index == s) for s in range(s_count)]
    cycle_sig = np.int64(1) << (np.arange(t_cycles, dtype=np.int64) * d)
    coarse = layer.coarse_kinds if layer.coarse_kinds is not None else np.zeros((t_cycles, enc.kinds), np.int64)
    ir_levels = parasitic_levels(layer, card)

    p_err = np.zeros((s_count, t_cycles))
    err_sq = np.zeros((s_count, t_cycles))
    err_power = np.zeros((s_count, t_cycles))
    round_power = np.zeros((s_count, t_cycles))
    for r0, r1 in layer.row_groups:
        x = drives[:, :, r0:r1]
        shape = (t_cycles, n) + levels.shape[1:]
        xf = x.reshape(t_cycles * n, r1 - r0).astype(np.float64)
        p = (xf @ levels[r0:r1].reshape(r1 - r0, -1).astype(np.float64)).reshape(shape)
        var = ((xf * xf) @ var_rows[r0:r1].reshape(r1 - r0, -1)).reshape(shape) + var_offset
        b = np.zeros((t_cycles, n) + (1,) * (len(shape) - 2))
        if floor:  # the ADC converts the partial sum with its floor b = F·Σ_i x_t,i
            b = (floor * xf.sum(axis=1)).reshape(t_cycles, n, *([1] * (len(shape) - 2)))
            p = p + b
        sigma = np.sqrt(var)
        shift = None
        if ir_levels is not None:  # the systematic IR-drop error of the ADC input
            shift = (xf @ ir_levels[r0:r1].reshape(r1 - r0, -1)).reshape(shape)
        prob, sq, r_sq = np.empty_like(p), np.empty_like(p), np.empty_like(p)
        for e in np.unique(coarse):  # each resolution its own step and top code
            at = coarse == e  # (T, K)
            for t in np.flatnonzero(at.any(axis=1)):
                kk = np.flatnonzero(at[t])
                m = step << int(e)
                pt = p[t][:, kk]
                if shift is None:
                    prob[t][:, kk], sq[t][:, kk] = _code_error_stats(pt, sigma[t][:, kk], m)
                else:
                    prob[t][:, kk], sq[t][:, kk] = _shifted_code_error_stats(pt, shift[t][:, kk], sigma[t][:, kk], m)
                # The ADC's own error without variation (rounding to the step, clipping at the top code), in
                # steps of m.
                # (The digital reference subtracts round(b/m) codes: the floor itself adds no error.)
                bt = b[t]
                r_sq[t][:, kk] = ((np.minimum(np.floor(pt / m + 0.5), top >> int(e)) - np.floor(bt / m + 0.5))
                                  - (pt - bt) / m) ** 2
        scale = (step * enc.significance.astype(np.float64))[None, :] ** 2 * 4.0 ** coarse  # (T, K)
        for s, kinds in enumerate(kinds_in):
            w = scale[:, kinds][:, None, :, None]
            p_err[s] += prob[:, :, kinds, :].mean(axis=(1, 2, 3))
            err_sq[s] += sq[:, :, kinds, :].mean(axis=(1, 2, 3))
            err_power[s] += (sq[:, :, kinds, :] * w).sum(axis=2).mean(axis=(1, 2)) * cycle_sig.astype(np.float64) ** 2
            round_power[s] += (r_sq[:, :, kinds, :] * w).sum(axis=2).mean(axis=(1, 2)) \
                * cycle_sig.astype(np.float64) ** 2
    n_groups = len(layer.row_groups)
    p_err /= n_groups
    err_sq /= n_groups

    # Information: exact contributions over all rows (row groups add up digitally).
    exact = layer.partial_sums(qx, d)  # (T, N, K, J)
    acc = layer.ideal_accumulator(qx, d)
    information = np.zeros((s_count, t_cycles))
    flip = np.zeros((s_count, t_cycles))
    y = ql.finish(acc)
    for s, kinds in enumerate(kinds_in):
        contrib = np.einsum("tnkj,k->tnj", exact[:, :, kinds, :], enc.significance[kinds]) * cycle_sig[:, None, None]
        information[s] = contrib.var(axis=1).mean(axis=1) if n else 0.0
        for t in range(t_cycles):
            mean = np.floor(contrib[t].mean(axis=0) + 0.5).astype(np.int64) if n else 0
            flip[s, t] = np.mean(ql.finish(acc - contrib[t] + mean) != y) if n else 0.0

    error_bit = (np.arange(s_count)[:, None] * card.cell.bits_per_cell + np.arange(t_cycles)[None, :] * d
                 + int(np.log2(step)))
    if layer.adc_coarse is not None:  # a code of a coarser sum is 2**e steps
        error_bit = error_bit + layer.adc_coarse.T
    conversions = np.zeros((s_count, t_cycles), dtype=np.int64)
    per_cycle = sum(len(tile.row_groups) * tile.outputs for tile in layer.mapping.tiles)
    for s, kinds in enumerate(kinds_in):
        conversions[s, :] = per_cycle * len(kinds)
    return LayerErrorModel(
        layer=ql.index,
        p_code_error=p_err,
        code_error_sq=err_sq,
        error_power=err_power,
        rounding_power=round_power,
        information=information,
        flip_rate=flip,
        error_bit=error_bit,
        conversions=conversions,
        truncation_bits=ql.shift,
        output_power=float(acc.var()) if n else 0.0,
    )


def coarse_rounding_power(layer: LayerDesign, card: DeviceCard, qx: np.ndarray, extra: int) -> np.ndarray:
    """``rounding_power`` (S, T) of every partial sum of ``layer`` if it were converted ``extra`` more bits
    coarser than it is (``e + extra``: step ``m·2**(e + extra)``, ``2**(B − e − extra)`` codes over the same
    range), on integer layer inputs ``qx``; what the planner's per-sum ADC resolution trades for energy. The
    variation error is taken as unchanged (a coarser step makes code errors rarer but larger), and a layer of
    several row groups is approximated by its whole partial sums, once per group (and, with the digital
    reference, the floor's share of the rounding is left out)."""
    d = card.dac.bits
    enc = layer.encoded
    step, top = layer.adc_step, card.adc.max_code
    exact = layer.partial_sums(qx, d).astype(np.float64)  # (T, N, K, J), summed over row groups
    t_cycles = exact.shape[0]
    coarse = (layer.coarse_kinds if layer.coarse_kinds is not None
              else np.zeros((t_cycles, enc.kinds), np.int64)) + extra
    cycle_sig = (np.int64(1) << (np.arange(t_cycles, dtype=np.int64) * d)).astype(np.float64)
    out = np.zeros((enc.slices, t_cycles))
    for t in range(t_cycles):
        for k in range(enc.kinds):
            e = int(coarse[t, k])
            if e >= card.adc.bits:
                out[enc.slice_index[k], t] = np.inf
                continue
            m = step << e
            p = exact[t, :, k, :]
            r = (np.minimum(np.floor(p / m + 0.5), top >> e) * m - p) * float(enc.significance[k]) * cycle_sig[t]
            out[enc.slice_index[k], t] += float(np.mean(r * r)) * len(layer.row_groups)
    return out


@dataclass(frozen=True)
class MeasuredCodeErrors:
    """Monte Carlo code errors of one layer, (S, T) arrays: wrong conversions and conversions, summed over
    chips; ``rate_per_chip`` is (chips, S, T)."""

    errors: np.ndarray
    conversions: np.ndarray
    rate_per_chip: np.ndarray

    @property
    def rate(self) -> np.ndarray:
        return self.errors / np.maximum(self.conversions, 1)


def measure_code_errors(
    layer: LayerDesign, card: DeviceCard, qx: np.ndarray, chips: int, rng: np.random.Generator
) -> MeasuredCodeErrors:
    """Program ``chips`` instances of one layer and count wrong ADC codes per ``(s, t)`` on inputs ``qx``.

    Uses the same programming and column-signal code as the simulator (``memsim.tile``); the exact code is
    ``clip(round(P/m), 0, max_code)``, so ideal clipping is not counted as an error. Every sum is converted at
    the layer's step and resolution (a plan's coarser sums, ``adc_bits_by_sum``, are not applied here).
    """
    d = card.dac.bits
    adc = card.adc
    step = layer.adc_step
    enc = layer.encoded
    drives = input_slices(qx, layer.qlayer.in_format.bits, d)
    t_cycles, n = drives.shape[0], drives.shape[1]
    noise_lsb = card.cell.read_noise_levels
    floor = floor_levels(card)
    per_chip = np.zeros((chips, enc.slices, t_cycles))
    errors = np.zeros((enc.slices, t_cycles), dtype=np.int64)
    conversions = np.zeros((enc.slices, t_cycles), dtype=np.int64)
    for c in range(chips):
        tiles = program_layer(card, layer.mapping, enc, rng)
        chip_err = np.zeros((enc.slices, t_cycles), dtype=np.int64)
        chip_conv = np.zeros((enc.slices, t_cycles), dtype=np.int64)
        for tile in tiles:
            spec = tile.spec
            kind_slice = spec.per_column(enc.slice_index)
            lv = spec.columns(enc.levels)
            for r0, r1 in spec.row_groups:
                x = drives[:, :, spec.row_start + r0:spec.row_start + r1].reshape(t_cycles * n, r1 - r0)
                signal = column_signal(tile, x, r0, r1, noise_lsb, rng)
                codes = np.clip(np.floor(signal / step + 0.5), 0, adc.max_code)  # the ADC at the layer's step
                # The zero-variation ADC input; with the digital reference it holds the floor F·Σx (the
                # correction floor_codes is the same for both codes, so it cancels in the comparison).
                ideal = np.clip(np.floor((x @ lv[r0:r1] + floor * x.sum(axis=1)[:, None]) / step + 0.5), 0,
                                adc.max_code)
                wrong = (codes != ideal).reshape(t_cycles, n, spec.used_columns)
                for s in range(enc.slices):
                    cols = kind_slice == s
                    chip_err[s] += wrong[:, :, cols].sum(axis=(1, 2))
                    chip_conv[s] += n * int(cols.sum())
        per_chip[c] = chip_err / np.maximum(chip_conv, 1)
        errors += chip_err
        conversions += chip_conv
    return MeasuredCodeErrors(errors, conversions, per_chip)


def error_bit_positions(hw_acc: np.ndarray, ideal_acc: np.ndarray, truncation_bits: int) -> dict[int, int]:
    """Histogram of where accumulator errors land: ``bit_length(|error|) - 1 - k`` per output with an error.

    Negative positions are errors confined to the ``k`` bits that truncation discards; 0 and up reach the
    layer's output bits.
    """
    err = np.abs(np.asarray(hw_acc, dtype=np.int64) - np.asarray(ideal_acc, dtype=np.int64)).ravel()
    positions, counts = np.unique(bit_length(err[err > 0]) - 1 - truncation_bits, return_counts=True)
    return {int(p): int(c) for p, c in zip(positions, counts, strict=True)}


def measure_error_positions(
    layer: LayerDesign, card: DeviceCard, qx: np.ndarray, chips: int, rng: np.random.Generator
) -> dict[int, int]:
    """Monte Carlo over ``chips`` instances of one layer: histogram of the output-bit positions of its
    accumulator errors against the zero-variation accumulator (see ``error_bit_positions``)."""
    d = card.dac.bits
    drives = input_slices(qx, layer.qlayer.in_format.bits, d)
    ideal = layer.ideal_accumulator(qx, d)
    total: dict[int, int] = {}
    for _ in range(chips):
        tiles = program_layer(card, layer.mapping, layer.encoded, rng)
        partials = [
            (tile.spec, read_tile(tile, drives[:, :, tile.spec.row_start:tile.spec.row_stop], card,
                                  layer.encoded.significance, layer.keep_kinds, rng, layer.adc_step).partial)
            for tile in tiles
        ]
        for pos, count in error_bit_positions(layer.digital_stage(partials, qx), ideal,
                                              layer.qlayer.shift).items():
            total[pos] = total.get(pos, 0) + count
    return dict(sorted(total.items()))
