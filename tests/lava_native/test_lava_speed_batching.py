"""The fast Lava paths (issue 10 item 1) are bit-exact: merged processes (populations of one
model in one Lava process, projections in one Dense/Sparse) and streamed batches (one run,
samples following each other in time with the state restored at each boundary) give the
same spikes, u, v and EventCounts as the numpy engine, which the Lava-native tests already
check against Lava's own unmerged, one-sample-per-network runs (``batch_mode="loop",
merge=False``, also run here as the oracle of the other modes)."""
import numpy as np
import pytest
import scipy.sparse as sp

from spikeattn import simulate
from spikeattn.engines.lava.batching import block_size
from spikeattn.engines.lava.merging import merge_circuit
from spikeattn.ir import LIF, Circuit, LoihiLIF
from spikeattn.ir.neurons_extra import GradedReLU

STEPS = 60


def _fixed_circuit(rng):
    """Three LoihiLIF populations with different du/dv/vth (one process when merged),
    delays 1, 3 and 6 (a spike in flight crosses every sample boundary), dense and sparse,
    excitatory, inhibitory and mixed weights, weight_exp -1/0/+1 and a non-zero initial state."""
    c = Circuit("speed_fixed")
    c.add_source("x", 6)
    c.add_source("y", 3)
    c.add_population("a", 7, LoihiLIF(du=300, dv=200, vth=300, bias_mant=rng.integers(-5, 20, 7)),
                     initial={"v": rng.integers(0, 15000, 7), "u": rng.integers(-2000, 2000, 7)})
    c.add_population("b", 5, LoihiLIF(du=4095, dv=90, vth=200, bias_mant=3, bias_exp=1))
    c.add_population("c", 4, LoihiLIF(du=1000, dv=1000, vth=1500))
    c.connect("x", "a", rng.integers(-100, 250, (7, 6)), weight_exp=1, name="x->a")
    c.connect("y", "b", rng.integers(0, 200, (5, 3)), delay=3, name="y->b")
    c.connect("a", "b", sp.csr_matrix(np.round(sp.random(5, 7, density=0.6, random_state=1).toarray() * 200)), delay=6, name="a->b")
    c.connect("b", "c", rng.integers(0, 255, (4, 5)), weight_exp=-1, name="b->c")
    c.connect("c", "a", -rng.integers(0, 120, (7, 4)), name="c-|a")
    c.connect("b", "b", rng.integers(-60, 60, (5, 5)), num_weight_bits=6, name="b->b")
    c.probe("a", ("u", "v"))
    c.probe("c", ("u", "v"))
    return c


def _inputs(rng, batch):
    return {"x": rng.random((STEPS, batch, 6)) < 0.3, "y": rng.random((STEPS, batch, 3)) < 0.2}


def _same(ref, got, circuit):
    for n in circuit.populations:
        mism = np.argwhere(got.spikes[n] != ref.spikes[n])
        assert mism.size == 0, f"spikes of '{n}' differ first at (step, sample, neuron) {mism[0]}"
    for n, d in ref.probes.items():
        for var, arr in d.items():
            np.testing.assert_array_equal(got.probes[n][var], arr, err_msg=f"{n}.{var}")
    assert got.counts == ref.counts, got.counts.diff(ref.counts)


def test_merge_reduces_processes_and_keeps_rows_apart():
    c = _fixed_circuit(np.random.default_rng(0))
    merged, layout, src_layout, params = merge_circuit(c)
    assert len(merged.populations) == 1 and len(merged.sources) == 1
    assert [n for n, _, _ in layout["merged_pop0"]] == ["a", "b", "c"]
    np.testing.assert_array_equal(params["merged_pop0"]["vth"], [300] * 7 + [200] * 5 + [1500] * 4)
    # 5 nodes -> 2 nodes; projections stay apart (each differs in delay or quantisation)
    assert len(merged.projections) == len(c.projections) == 6
    assert sorted(int(np.count_nonzero(p.weights.toarray() if p.sparse else p.weights))
                  for p in merged.projections.values()) == sorted(
        int(np.count_nonzero(p.weights.toarray() if p.sparse else p.weights)) for p in c.projections.values())


@pytest.mark.parametrize("options", [
    {},                                                  # stream, merged, one block of 5
    {"tile_neurons": 32},                                # stream of 3 blocks of 2 (last padded)
    {"tile_neurons": 16},                                # stream of 5 single samples
    {"batch_mode": "tile", "tile_neurons": 32},
    {"batch_mode": "loop"},
])
def test_fixed_point_fast_paths_equal_numpy(options):
    rng = np.random.default_rng(3)
    c = _fixed_circuit(rng)
    inputs = _inputs(rng, 5)
    ref = simulate(c, inputs, STEPS, batch=5, engine="numpy")
    assert 0.02 < ref.spikes["b"].mean() < 0.9 and 0.02 < ref.spikes["c"].mean() < 0.9
    got = simulate(c, inputs, STEPS, batch=5, engine="lava", bridge="never", **options)
    _same(ref, got, c)
    assert got.meta["merged"] is True
    if "tile_neurons" in options and options.get("batch_mode", "stream") == "stream":
        assert got.meta["lava_runs"] == 1
        assert got.meta["samples_per_block"] == block_size(c, 5, options["tile_neurons"]) < 5


def test_unmerged_loop_equals_merged_stream():
    """Lava against Lava: the old path (one network per sample, one process per element)
    and the fast path agree bit for bit, and the fast path uses far fewer processes."""
    rng = np.random.default_rng(8)
    c = _fixed_circuit(rng)
    inputs = _inputs(rng, 3)
    old = simulate(c, inputs, STEPS, batch=3, engine="lava", bridge="never", batch_mode="loop", merge=False)
    new = simulate(c, inputs, STEPS, batch=3, engine="lava", bridge="never", tile_neurons=16)
    _same(old, new, c)
    assert old.meta["lava_runs"] == 3 and new.meta["lava_runs"] == 1
    assert new.meta["lava_processes"] < old.meta["lava_processes"]


def test_float_lif_and_graded_relu_streamed():
    """Float LIF populations with different du/dv/vth merged (one with a bias: it drifts
    during a gap, so a state not restored would show), a GradedReLU, delay 4."""
    rng = np.random.default_rng(5)
    c = Circuit("speed_float")
    c.add_source("x", 5, encoder="graded")
    c.add_population("g", 4, GradedReLU(vth=0.0))
    c.add_population("a", 6, LIF(du=0.5, dv=0.25, vth=1.0, bias=0.125))
    c.add_population("b", 3, LIF(du=1.0, dv=0.5, vth=0.75))
    c.connect("x", "g", rng.choice([-0.5, 0.25, 0.5], (4, 5)), message="graded", name="x->g")
    c.connect("g", "a", rng.choice([0.0, 0.5, 0.75], (6, 4)), message="graded", delay=4, name="g->a")
    c.connect("a", "b", rng.choice([0.25, 0.5], (3, 6)), name="a->b")
    c.probe("a", ("u", "v"))
    x = np.round(rng.random((STEPS, 4, 5)) * 4) / 4
    ref = simulate(c, {"x": x}, STEPS, batch=4, engine="numpy")
    assert 0.02 < ref.spikes["a"].mean() < 0.9 and 0.02 < ref.spikes["b"].mean() < 0.9
    got = simulate(c, {"x": x}, STEPS, batch=4, engine="lava", bridge="never", tile_neurons=30)
    assert got.meta["lava_runs"] == 1 and got.meta["samples_per_block"] == 2
    for n in c.populations:
        np.testing.assert_array_equal(got.spikes[n], ref.spikes[n], err_msg=n)
    np.testing.assert_allclose(got.probes["a"]["v"], ref.probes["a"]["v"], rtol=1e-12, atol=1e-12)
    assert got.counts == ref.counts, got.counts.diff(ref.counts)
