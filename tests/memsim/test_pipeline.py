"""Timing: closed-form checks of one tile and of a two-layer pipeline, event logs, the schedule solver against
a plain per-vector loop, event counts, static energy and utilization.

Card figures (``tests/conftest.py``): DAC 1 ns, read 10 ns, sample-and-hold 1 ns, 8-bit SAR of (8 + 1) × 1 ns,
shift-and-add 1 ns, register 1 ns. The expected times below are written from those figures with the timing
model's equations (``memsim/pipeline.py``), not read back from the code.
"""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from memsim.chip import design_chip, program_chip
from memsim.engine import Engine, EngineOptions, static_energy_zj
from memsim.workload.fixedpoint import FixedFormat
from memsim import pipeline
from memsim.ledger import FS_PER_S, Ledger
from memsim.pipeline import NEG, Pipeline
from memsim.workload.quantize import QuantizedLayer, QuantizedNetwork

NS = 1_000_000  # fs per ns
W4 = FixedFormat(4, 3, True)  # offset encoding: 2 slices of 2-bit cells, K = 2 columns per output


def layer(index, rows, outputs, in_bits, out_bits, seed=0, w=W4):
    rng = np.random.default_rng(seed)
    half = 1 << (w.bits - 1)
    out = FixedFormat(out_bits, 0, False) if out_bits else None
    return QuantizedLayer(index, rng.integers(-half, half, (rows, outputs)), np.zeros(outputs, dtype=np.int64),
                          FixedFormat(in_bits, 0, False), w, out)


def run(card, layers, qx, batch, buffer_vectors=100, timeline_vectors=0):
    design = design_chip(card, QuantizedNetwork("t", tuple(layers)), "offset")
    ledger = Ledger()
    res = Engine(program_chip(design, np.random.default_rng(0)), ledger, 0, np.random.default_rng(1),
                 EngineOptions(buffer_vectors=buffer_vectors, timeline_vectors=timeline_vectors)).run(qx, batch)
    return res, ledger, design


def stage(card, cycles, m):
    """Closed form of one single-tile layer: (period, latency incl. the digital stage), fs.

    cycle = max(t_dac + t_read + t_sh, t_sh + m·t_lane), t_lane = max(t_conv, t_sa), t_conv = (bits + overhead)·
    t_cycle (SAR); latency = (T-1)·cycle + a + m·t_lane + min(t_conv, t_sa) + ρ, ρ = 2·t_sa + 2·t_reg (one row
    block plus the offset correction, register read and write)."""
    f = lambda s: round(s * FS_PER_S)  # noqa: E731
    a = f(card.dac.t_drive_s) + f(card.crossbar.t_read_s) + f(card.sample_hold.t_sample_s)
    t_conv = (card.adc.bits + card.adc.overhead_cycles) * f(card.adc.t_cycle_s)
    t_sa = f(card.shift_add.t_op_s)
    lane = max(t_conv, t_sa)
    cycle = max(a, f(card.sample_hold.t_sample_s) + m * lane)
    rho = 2 * t_sa + 2 * f(card.register.t_access_s)
    return cycles * cycle, (cycles - 1) * cycle + a + m * lane + min(t_conv, t_sa) + rho


@pytest.mark.parametrize("columns_per_adc, outputs, bound", [(8, 4, "adc"), (1, 4, "analog"), (3, 2, "adc")])
def test_one_tile_latency_and_throughput_are_the_closed_form(card_factory, columns_per_adc, outputs, bound):
    card = card_factory(columns_per_adc=columns_per_adc)
    m = min(columns_per_adc, 2 * outputs)  # kept columns on the busiest ADC (2 columns per output)
    res, _, design = run(card, [layer(0, 8, outputs, 6, 0)], np.full((7, 8), 63), batch=3)
    period, latency = stage(card, 6, m)
    assert design.layers[0].mapping.tiles[0].used_columns == 2 * outputs
    assert res.layers[0].tiles[0].cycle_bound == bound
    np.testing.assert_array_equal(res.latency_fs, latency)
    np.testing.assert_array_equal(np.diff(res.exit_fs), period)
    assert res.throughput_inf_per_s == pytest.approx(FS_PER_S / period, rel=1e-12, abs=0)
    assert res.makespan_fs == 6 * period + latency


def two_layers(slow):
    """Layer 0 (8 rows) feeds layer 1; ``slow`` picks which one has the longer period."""
    if slow == 0:  # layer 0: 8 cycles of 8 conversions per ADC; layer 1: 4 cycles of 2
        return [layer(0, 8, 4, 8, 4), layer(1, 4, 1, 4, 0, seed=1)], (8, 8), (4, 2)
    return [layer(0, 8, 1, 4, 8), layer(1, 1, 4, 8, 0, seed=1)], (4, 2), (8, 8)


def test_two_layer_pipeline_runs_at_the_slowest_stage_and_latency_is_the_sum(card_factory):
    card = card_factory(columns_per_adc=8)
    for slow in (0, 1):
        layers, s0, s1 = two_layers(slow)
        (p0, a0), (p1, a1) = stage(card, *s0), stage(card, *s1)
        x = np.full((9, 8), 15 if slow else 255)
        res, _, _ = run(card, layers, x, batch=4, buffer_vectors=100)
        assert res.throughput_inf_per_s == pytest.approx(FS_PER_S / max(p0, p1), rel=1e-12, abs=0)
        assert res.latency_fs[0] == a0 + a1  # one inference through the empty pipeline
        # A fast producer fills the large buffer in front of a slow consumer: vector i waits i·(p1 - p0).
        np.testing.assert_array_equal(res.latency_fs, a0 + a1 + np.arange(9) * max(0, p1 - p0))


def test_a_buffer_too_small_stalls_the_pipeline_by_the_closed_form(card_factory):
    card = card_factory(columns_per_adc=8)
    # Slow consumer, one-vector buffer: the producer starts vector i only when the consumer has taken
    # vector i-1, so each vector after the first waits p1 - a0 in the buffer (p1 >= a0 here).
    layers, s0, s1 = two_layers(1)
    (p0, a0), (p1, a1) = stage(card, *s0), stage(card, *s1)
    assert p1 >= a0
    res, _, _ = run(card, layers, np.full((6, 8), 15), batch=4, buffer_vectors=1)
    np.testing.assert_array_equal(res.latency_fs, [a0 + a1] + [a0 + a1 + (p1 - a0)] * 5)
    assert res.throughput_inf_per_s == pytest.approx(FS_PER_S / p1, rel=1e-12, abs=0)
    # Slow producer whose latency exceeds its period: with one slot it cannot start the next vector until the
    # consumer took the last one, so it runs at 1/a0 instead of 1/p0; two slots restore 1/p0.
    layers, s0, s1 = two_layers(0)
    (p0, a0), (p1, a1) = stage(card, *s0), stage(card, *s1)
    assert a0 > p0 > p1 and 2 * p0 >= a0
    one, _, _ = run(card, layers, np.full((6, 8), 255), batch=4, buffer_vectors=1)
    two, _, _ = run(card, layers, np.full((6, 8), 255), batch=4, buffer_vectors=2)
    np.testing.assert_array_equal(np.diff(one.exit_fs), a0)
    np.testing.assert_array_equal(np.diff(two.exit_fs), p0)
    np.testing.assert_array_equal(one.latency_fs, a0 + a1)


def log_of(ledger):
    out = []
    for r in ledger.rows:
        assert r.t_fs % NS == 0
        out.append((r.t_fs // NS, r.component, r.action))
    return out


def test_event_log_adc_bound_next_read_overlaps_conversions(card_factory):
    """One tile, 3 columns on one ADC, 2 input cycles, one vector. Analog phase a = 1 + 10 + 1 = 12 ns;
    conversions 3 × 9 = 27 ns, so the cycle is 1 + 27 = 28 ns: the second drive and read (28, 29 ns) run
    while the first cycle's conversions (12..39 ns) are still going, and the second sample starts at
    39 ns, exactly when they have freed the holds."""
    card = card_factory(columns_per_adc=8)
    res, ledger, design = run(card, [layer(0, 4, 1, 2, 0, w=FixedFormat(6, 5, True))], np.full((1, 4), 3), batch=1)
    assert design.layers[0].mapping.tiles[0].used_columns == 3
    assert log_of(ledger) == [
        (0, "dac", "drive"), (0, "register", "feed"),
        (1, "crossbar", "read"),
        (11, "sample_hold", "sample"),
        (12, "adc", "convert"),
        (21, "shift_add", "shift_add"), (21, "register", "accumulate"),
        (28, "dac", "drive"), (28, "register", "feed"),
        (29, "crossbar", "read"),
        (39, "sample_hold", "sample"),
        (40, "adc", "convert"),
        (49, "shift_add", "shift_add"), (49, "register", "accumulate"),
        (68, "shift_add", "reduce"), (68, "register", "read"), (68, "register", "write"),
    ]
    assert res.makespan_fs == 72 * NS  # 68 + ρ (2 shift-and-add passes + register read and write)


def test_event_log_analog_bound_next_read_starts_with_the_conversions(card_factory):
    """One column per ADC: conversions take 9 ns < the 12 ns analog phase, so the next drive starts at
    12 ns, together with the first cycle's conversion."""
    card = card_factory(columns_per_adc=1)
    _, ledger, _ = run(card, [layer(0, 4, 1, 2, 0, w=FixedFormat(6, 5, True))], np.full((1, 4), 3), batch=1)
    assert log_of(ledger)[:9] == [
        (0, "dac", "drive"), (0, "register", "feed"),
        (1, "crossbar", "read"),
        (11, "sample_hold", "sample"),
        (12, "adc", "convert"),
        (12, "dac", "drive"), (12, "register", "feed"),
        (13, "crossbar", "read"),
        (21, "shift_add", "shift_add"),
    ]


def reference_schedule(periods, latencies, reduces, buffer, n):
    """The pipeline equations of memsim/pipeline.py, one vector at a time (a plain loop, the oracle)."""
    n_layers = len(periods)
    s = [[NEG] * len(p) for p in periods]
    d = [NEG] * n_layers
    released = [[] for _ in range(n_layers)]
    entry, exit_ = [], []
    for i in range(n):
        x = 0
        for li in range(n_layers):
            slot = released[li + 1][i - buffer] if li + 1 < n_layers and i - buffer >= 0 else NEG
            s[li] = [max(x, slot, s[li][t] + periods[li][t]) for t in range(len(periods[li]))]
            d[li] = max(max(st + lt for st, lt in zip(s[li], latencies[li], strict=True)), d[li] + reduces[li])
            released[li].append(max(s[li]))
            if li == 0:
                entry.append(min(s[0]))
            x = d[li] + reduces[li]
        exit_.append(x)
    return entry, exit_


@pytest.mark.parametrize("sweeps", [1, 4, 1000])  # 1: always the block-wise solve; 1000: always sweeps
@pytest.mark.parametrize("seed", range(6))
def test_vectorised_schedule_equals_the_per_vector_loop_for_any_chunking(seed, sweeps, monkeypatch):
    monkeypatch.setattr(pipeline, "MAX_SWEEPS", sweeps)
    rng = np.random.default_rng(seed)
    n_layers = int(rng.integers(1, 4))
    periods = [list(rng.integers(1, 50, rng.integers(1, 4))) for _ in range(n_layers)]
    latencies = [[p + int(rng.integers(0, 80)) for p in ps] for ps in periods]
    reduces = [int(rng.integers(0, 30)) for _ in range(n_layers)]
    buffer = int(rng.integers(1, 5))
    n = 40
    layers = tuple(
        SimpleNamespace(tiles=[SimpleNamespace(period_fs=int(p), latency_fs=int(lt))
                               for p, lt in zip(ps, ls, strict=True)], reduce_fs=r, vectors=1,
                        source=li - 1 if li else None, deps=np.zeros(1, np.int64))
        for li, (ps, ls, r) in enumerate(zip(periods, latencies, reduces, strict=True))
    )
    entry, exit_ = reference_schedule(periods, latencies, reduces, buffer, n)
    for sizes in ([n], [1] * n, list(rng.integers(1, 9, 40))):
        pipe = Pipeline(layers, buffer)
        got_entry, got_exit, done = [], [], 0
        for size in sizes:
            size = min(int(size), n - done)
            if size <= 0:
                break
            sched = pipe.advance(size)
            got_entry += list(sched.entry)
            got_exit += list(sched.exit)
            done += size
        assert got_entry == entry[:done] and got_exit == exit_[:done]


def test_events_grow_with_tiles_cycles_and_chunks_not_columns_or_vectors(card_factory):
    card = card_factory(columns_per_adc=8)
    counts = {}
    for outputs in (1, 6):  # 2 or 12 columns on one tile
        for n, batch in ((4, 4), (16, 16), (16, 4)):
            res, _, design = run(card, [layer(0, 8, outputs, 6, 0)], np.full((n, 8), 63), batch=batch)
            chunks = -(-n // batch)
            steps = sum(len(t.row_groups) * 6 for t in design.layers[0].mapping.tiles)
            # per chunk: the driver, 5 action events per tile step, one digital-stage event; one final wait
            assert res.events == chunks * (1 + 5 * steps + 1) + 1
            counts[outputs, n, batch] = res.events
    assert counts[1, 4, 4] == counts[1, 16, 16] == counts[6, 16, 16]
    assert counts[6, 16, 4] == 4 * (counts[6, 4, 4] - 1) + 1


def test_static_energy_is_power_times_run_time_and_a_slow_schedule_costs_more(card_factory):
    card = card_factory(columns_per_adc=8)
    card = replace(card, adc=replace(card.adc, p_static_w=2.5e-6), dac=replace(card.dac, p_static_w=1e-7))
    layers, _, _ = two_layers(0)
    x = np.full((6, 8), 255)
    results = {}
    for buffer in (1, 2):
        res, ledger, design = run(card, layers, x, batch=4, buffer_vectors=buffer)
        tiles = sum(len(l.mapping.tiles) for l in design.layers)
        static = {r.component: r for r in ledger.rows if r.action == "static"}
        assert set(static) == {"adc", "dac"}
        run_s = res.makespan_fs / FS_PER_S
        assert static["adc"].count == tiles * card.crossbar.n_adcs
        assert static["dac"].count == tiles * card.crossbar.rows
        assert static["adc"].energy_zj == static_energy_zj(2.5e-6, tiles * card.crossbar.n_adcs, res.makespan_fs)
        assert static["adc"].energy_zj * 1e-21 == pytest.approx(2.5e-6 * static["adc"].count * run_s,
                                                                rel=1e-12, abs=0)
        dynamic = ledger.total_zj() - sum(r.energy_zj for r in static.values())
        results[buffer] = (res.makespan_fs, dynamic, sum(r.energy_zj for r in static.values()))
    assert results[1][0] > results[2][0]  # the one-slot buffer stalls the producer (see above)
    assert results[1][1] == results[2][1]  # same actions, same dynamic energy
    assert results[1][2] > results[2][2]  # but the slower schedule leaks longer


def test_utilization_is_busy_time_over_run_time(card_factory):
    card = card_factory(columns_per_adc=8)
    res, ledger, design = run(card, [layer(0, 8, 4, 6, 0)], np.full((5, 8), 63), batch=2)
    util = res.utilization()
    conv = ledger.counts()[("adc", "convert")]
    t_conv = round(card.adc.convert_cost().latency_s * FS_PER_S)
    assert res.busy_fs["adc"] == conv * t_conv
    assert util["adc"] == pytest.approx(conv * t_conv / (card.crossbar.n_adcs * res.makespan_fs), rel=1e-12, abs=0)
    assert all(0.0 <= u <= 1.0 for u in util.values())
    assert util["adc"] > util["crossbar"]  # the ADC-bound tile: its ADC is the busy part


def test_timeline_records_busy_intervals_of_the_window(card_factory):
    card = card_factory(columns_per_adc=8)
    res, _, design = run(card, two_layers(0)[0], np.full((9, 8), 255), batch=4, timeline_vectors=5)
    tl = res.timeline
    assert tl.vectors == 5 and tl.total_vectors == 9
    assert set(tl.vector) == set(range(5))
    assert np.all(tl.stop_fs >= tl.start_fs)
    # Per vector and tile: five intervals per step; per layer one digital-stage interval.
    steps = sum(len(t.steps) for l in res.layers for t in l.tiles)
    assert len(tl.start_fs) == 5 * (5 * steps + len(res.layers))
    assert tl.stop_fs.max() <= res.makespan_fs


def _two_conv_design(card_factory, size=5):
    """Input (1, size, size) -> conv 3×3 pad 1, 3 channels (ReLU) -> conv 3×3 pad 1, 2 channels (last): one tile
    each, every column on one ADC, so layer 2's vector period is below layer 1's."""
    from memsim.workload.conv import Conv2dLayer
    from memsim.workload.network import Network
    from memsim.workload.quantize import quantize_network

    rng = np.random.default_rng(0)
    network = Network("two-conv", (
        Conv2dLayer(rng.normal(size=(3, 1, 3, 3)), rng.normal(size=3), "relu", padding=1),
        Conv2dLayer(rng.normal(size=(2, 3, 3, 3)), rng.normal(size=2), "none", padding=1),
    ), input_shape=(1, size, size))
    qnet = quantize_network(network, rng.random((8, 1, size, size)), 4, (4, 4), 4)
    card = card_factory(rows=32, cols=40, columns_per_adc=40, cell_bits=2, adc_bits=6)
    return design_chip(card, qnet, "offset"), qnet


@pytest.mark.parametrize("batch", [1, 3, 7])
def test_two_conv_layers_pipeline_by_pixel_in_closed_form(card_factory, batch):
    """Layer 2 starts output pixel (r, c) once layer 1 has written pixel (min(r + 1, H − 1), min(c + 1, W − 1)) of
    its map (its 3×3 window, clipped at the border). With P₂ ≤ P₁ and ρ ≤ P layer 2 keeps pace until its last
    W + 2 pixels, which all wait for layer 1's last pixel and then follow each other every P₂: the first image
    takes (V − 1)·P₁ + L₁ + ρ₁ + (W + 1)·P₂ + L₂ + ρ₂; with a large buffer images follow every V·P₁ (layer 1 is
    the bottleneck); with a one-image buffer layer 1 waits until layer 2 has started the last pixel of the
    previous image: (V − 1)·P₁ + L₁ + ρ₁ + (W + 1)·P₂ between image starts. Chunking changes nothing."""
    design, qnet = _two_conv_design(card_factory)
    (t1, t2) = design.timing
    assert len(t1.tiles) == len(t2.tiles) == 1 and t1.vectors == t2.vectors == 25
    p1, l1, r1 = t1.tiles[0].period_fs, t1.tiles[0].latency_fs, t1.reduce_fs
    p2, l2, r2 = t2.tiles[0].period_fs, t2.tiles[0].latency_fs, t2.reduce_fs
    assert p2 < p1 and r1 <= p1 and r2 <= p2 and l1 >= p1
    v = 25
    qx = qnet.quantize_input(np.random.default_rng(1).random((6, 1, 5, 5)))
    runs = {}
    for buffer in (1, 50):
        chip = program_chip(design, np.random.default_rng(0))
        res = Engine(chip, Ledger(), 0, np.random.default_rng(1), EngineOptions(buffer_vectors=buffer)).run(qx, batch)
        runs[buffer] = res
        assert int(res.latency_fs[0]) == (v - 1) * p1 + l1 + r1 + 6 * p2 + l2 + r2
    np.testing.assert_array_equal(np.diff(runs[50].exit_fs), v * p1)
    np.testing.assert_array_equal(np.diff(runs[1].entry_fs), (v - 1) * p1 + l1 + r1 + 6 * p2)
    assert runs[1].makespan_fs > runs[50].makespan_fs
    assert t2.deps[0] == 1 * 5 + 1 and t2.deps[-1] == t2.deps[-2] == v - 1
    # Layer 2's line buffer: from pixel (r-1, c-1) to (r+1, c+1) of layer 1's map, 3 channels of 4 bits.
    assert t2.buffer_bits == (2 * 5 + 3) * 3 * 4
