"""Bit-exactness of the numpy engine's fixed-point arithmetic against Lava 0.10, run live.

The oracle is Lava's own CPU simulator (``Loihi2SimCfg(select_tag="fixed_pt")``: its
``PyLifModelBitAcc``, ``PyDenseModelBitAcc``, ``PySparseModelBitAcc`` and the Delay*
models) driven through spikeattn's Lava engine.  Every test asserts identical spikes, u, v
(every step, sample and neuron) and identical EventCounts, on random circuits of >= 200
steps, and asserts that the feature it is about actually happened in the trajectory.
"""
import numpy as np
import pytest
import scipy.sparse as sp

from spikeattn.errors import EngineError
from spikeattn.ir import Circuit, LoihiLIF

STEPS = 240
U_LIMIT = 2**23
V_MAX = 2**23 - 1


def _binary(rng, steps, n, p, batch=1):
    return rng.random((steps, batch, n)) < p


def _assert_lively(res, name, lo=0.01, hi=0.9):
    rate = (res.spikes[name] != 0).mean()
    assert lo < rate < hi, f"population '{name}' spike rate {rate:.3f} outside ({lo}, {hi}): test too weak"


@pytest.mark.parametrize("seed", [11, 12])
def test_mixed_chain_bias_arrays_weight_exp_and_recurrence(compare_with_lava, seed):
    """source -> A (mixed weights, weight_exp +2, per-neuron bias_mant/bias_exp incl. negative
    exponents) -> B (mixed, weight_exp -1, 6-bit weights) with inhibitory recurrence B -> B."""
    rng = np.random.default_rng(seed)
    c = Circuit(f"mixed_chain_{seed}")
    c.add_source("x", 10)
    c.add_population("a", 12, LoihiLIF(du=410, dv=205, vth=8000, bias_mant=rng.integers(-60, 60, 12),
                                       bias_exp=rng.integers(-3, 4, 12)))
    c.add_population("b", 8, LoihiLIF(du=4095, dv=100, vth=90, bias_mant=rng.integers(0, 30, 8), bias_exp=2))
    c.connect("x", "a", rng.integers(-180, 230, (12, 10)), weight_exp=2)
    c.connect("a", "b", rng.integers(-120, 256, (8, 12)), weight_exp=-1, num_weight_bits=6)
    c.connect("b", "b", -rng.integers(0, 90, (8, 8)), name="b_rec")
    c.probe("a", ("u", "v"))
    c.probe("b", ("u", "v"))
    ref, _ = compare_with_lava(c, {"x": _binary(rng, STEPS, 10, 0.3)}, STEPS)
    _assert_lively(ref, "a")
    _assert_lively(ref, "b")
    # the negative bias exponents really shifted right (bias not a multiple of the mantissa)
    assert np.any(np.asarray(c.node("a").model.bias_exp) < 0)


def test_u_wraparound_and_v_saturation(compare_with_lava):
    """Large excitatory input (weight_exp +6) makes u cross 2**23 and wrap; a strongly
    inhibited, non-leaky population saturates v at -(2**23 - 1)."""
    rng = np.random.default_rng(21)
    c = Circuit("wrap_saturate")
    c.add_source("x", 8)
    c.add_population("w", 6, LoihiLIF(du=0, dv=4095, vth=120_000))
    c.add_population("n", 5, LoihiLIF(du=4095, dv=0, vth=500, bias_mant=rng.integers(0, 4000, 5), bias_exp=6))
    c.connect("x", "w", rng.integers(120, 256, (6, 8)), weight_exp=6)
    c.connect("x", "n", -rng.integers(100, 256, (5, 8)), weight_exp=7)
    c.probe("w", ("u", "v"))
    c.probe("n", ("u", "v"))
    ref, _ = compare_with_lava(c, {"x": _binary(rng, STEPS, 8, 0.5)}, STEPS)
    u = ref.probes["w"]["u"][:, 0]
    wraps = np.sum((u[:-1] > U_LIMIT // 2) & (u[1:] < -U_LIMIT // 2))
    assert wraps >= 5, f"u wrapped {wraps} times: the test does not exercise the 24-bit wrap"
    v = ref.probes["n"]["v"][:, 0]
    assert np.sum(v == -V_MAX) >= 10, "v never saturated at -(2**23 - 1)"
    assert ref.spikes["w"].any() and ref.spikes["n"].any()


def test_graded_source_sparse_projections(compare_with_lava):
    """Graded integer spikes over a graded Sparse (CSR) projection (W @ s, weight_exp -2) and
    over a binary Sparse one (W @ [s != 0], excitatory 4-bit weights) into one population."""
    rng = np.random.default_rng(31)
    c = Circuit("graded_sparse")
    c.add_source("g", 16, encoder="graded")
    c.add_population("p", 10, LoihiLIF(du=800, dv=300, vth=400, bias_mant=-5))
    w1 = sp.random(10, 16, density=0.35, random_state=3, format="csr",
                   data_rvs=lambda k: rng.integers(-250, 250, k)).astype(np.int64)
    w2 = sp.random(10, 16, density=0.25, random_state=4, format="csr",
                   data_rvs=lambda k: rng.integers(1, 256, k)).astype(np.int64)
    c.connect("g", "p", w1, name="graded", message="graded", weight_exp=-2)
    c.connect("g", "p", w2, name="binary", num_weight_bits=4)
    c.probe("p", ("u", "v"))
    values = rng.integers(-60, 61, (STEPS, 1, 16)) * (rng.random((STEPS, 1, 16)) < 0.4)
    ref, _ = compare_with_lava(c, {"g": values}, STEPS)
    _assert_lively(ref, "p")
    assert ref.counts.total("synaptic_macs", ["graded"]) > 0
    assert ref.counts.total("synaptic_acs", ["binary"]) > 0
    assert np.abs(values).max() > 1   # really graded


@pytest.mark.parametrize("batch_mode", ["loop", "tile"])
def test_long_delays_dense_and_sparse_and_declared_sign_mode(compare_with_lava, batch_mode):
    """Delays 3 (DelayDense), 5 (DelaySparse), 2 between populations and a delayed inhibitory
    recurrence; one projection declares sign_mode="mixed" on non-negative weights (Lava then
    drops their lowest bit)."""
    rng = np.random.default_rng(41)
    c = Circuit("delays")
    c.add_source("x", 6)
    c.add_population("a", 7, LoihiLIF(du=1000, dv=400, vth=5000))
    c.add_population("b", 5, LoihiLIF(du=2000, dv=50, vth=3000, bias_mant=3, bias_exp=3))
    c.connect("x", "a", rng.integers(0, 200, (7, 6)), name="d3", delay=3, sign_mode="mixed")
    ws = sp.random(7, 6, density=0.5, random_state=5, format="csr",
                   data_rvs=lambda k: rng.integers(-100, 220, k)).astype(np.int64)
    c.connect("x", "a", ws, name="d5_sparse", delay=5, weight_exp=1)
    c.connect("a", "b", rng.integers(-50, 200, (5, 7)), name="d2", delay=2)
    c.connect("b", "b", -rng.integers(0, 150, (5, 5)), name="rec4", delay=4)
    c.probe("a", ("u", "v"))
    c.probe("b", ("u", "v"))
    ref, _ = compare_with_lava(c, {"x": _binary(rng, STEPS, 6, 0.25, batch=2)}, STEPS, batch_mode=batch_mode)
    _assert_lively(ref, "a")
    _assert_lively(ref, "b")
    # the first input spikes reach 'a' no earlier than 3 steps later
    first_in = int(np.argmax(ref.spikes["x"][:, 0].any(axis=1)))
    assert np.all(ref.probes["a"]["u"][:first_in + 3] == 0)


@pytest.mark.parametrize("batch_mode", ["loop", "tile"])
def test_batch_two_sources_initial_state_inhibitory(compare_with_lava, batch_mode):
    """Two sources converging on one population (inputs summed), purely inhibitory and purely
    excitatory matrices, non-zero initial u and v, and a batch of 3: one Lava run per sample
    ("loop") or the batch tiled block-diagonally into one run ("tile")."""
    rng = np.random.default_rng(51)
    c = Circuit("batch_converge")
    c.add_source("e", 9)
    c.add_source("i", 4)
    c.add_population("p", 6, LoihiLIF(du=600, dv=250, vth=100, bias_mant=rng.integers(-20, 40, 6)),
                     initial={"u": rng.integers(-5000, 5000, 6), "v": rng.integers(0, 6000, 6)})
    c.connect("e", "p", rng.integers(0, 256, (6, 9)), weight_exp=1)
    c.connect("i", "p", -rng.integers(0, 256, (6, 4)), weight_exp=2, num_weight_bits=7)
    c.probe("p", ("u", "v"))
    inputs = {"e": _binary(rng, STEPS, 9, 0.3, batch=3), "i": _binary(rng, STEPS, 4, 0.3, batch=3)}
    ref, got = compare_with_lava(c, inputs, STEPS, batch_mode=batch_mode)
    _assert_lively(ref, "p")
    assert not np.array_equal(ref.spikes["p"][:, 0], ref.spikes["p"][:, 1])   # samples differ
    assert got.meta["batch_mode"].startswith(batch_mode)
    assert ref.probes["p"]["u"][0, 0, 0] != 0


def test_event_counts_match_field_by_field(compare_with_lava):
    """EventCounts from the Lava trace equal the numpy engine's, including idle updates of
    resting neurons (zero bias, no input) and ACs/messages of a sparse projection; the
    circuit has two unconnected parts (each is run as its own Lava network)."""
    rng = np.random.default_rng(61)
    c = Circuit("counts")
    c.add_source("x", 12)
    c.add_population("a", 20, LoihiLIF(du=3000, dv=3000, vth=50))
    w = sp.random(20, 12, density=0.2, random_state=6, format="csr",
                  data_rvs=lambda k: rng.integers(30, 256, k)).astype(np.int64)
    c.connect("x", "a", w)
    # a second, unconnected part: Lava runs only what is connected to the process run
    c.add_population("solo", 3, LoihiLIF(du=0, dv=100, vth=100, bias_mant=np.array([0, 50, 200]), bias_exp=1))
    c.probe("solo", ("v",))
    ref, got = compare_with_lava(c, {"x": _binary(rng, 200, 12, 0.05)}, 200)
    assert ref.spikes["solo"][:, 0, 2].sum() > 5 and not ref.spikes["solo"][:, 0, 0].any()
    for field in ("neuron_updates_active", "neuron_updates_idle", "spikes", "state_bytes_read"):
        np.testing.assert_array_equal(got.counts.elements["a"].fields[field], ref.counts.elements["a"].fields[field])
    assert ref.counts.total("neuron_updates_idle") > 0 and ref.counts.total("neuron_updates_active") > 0
    assert got.counts.total("synaptic_acs") == ref.counts.total("synaptic_acs") > 0
    assert got.counts.total("messages") == ref.counts.total("messages") > 0


def test_int32_overflow_regime(compare_with_lava):
    """Inputs so large that Lava's int32 arrays overflow: binary input shifted by weight_exp
    +14 (u grows past 24 bits, since the 24-bit correction is applied once, then wraps at
    32 bits) and graded sums beyond 2**31 on Dense, Sparse and DelaySparse (int32
    accumulation wraps before the weight_exp -8 shift)."""
    rng = np.random.default_rng(81)
    c = Circuit("int32_overflow")
    c.add_source("x", 8)
    c.add_source("g", 16, encoder="graded")
    c.add_population("big", 4, LoihiLIF(du=0, dv=4095, vth=131071))
    c.add_population("gr", 6, LoihiLIF(du=4095, dv=4095, vth=131071))
    c.connect("x", "big", rng.integers(200, 256, (4, 8)), weight_exp=14)
    c.connect("g", "gr", rng.integers(-256, 256, (6, 16)), name="dense", message="graded", weight_exp=-8)
    ws = sp.csr_matrix(rng.integers(-256, 256, (6, 16)) * (rng.random((6, 16)) < 0.6))
    c.connect("g", "gr", ws, name="sparse", message="graded", weight_exp=-8)
    c.connect("g", "gr", ws, name="sparse_d2", message="graded", weight_exp=-8, delay=2)
    c.probe("big", ("u", "v"))
    c.probe("gr", ("u", "v"))
    inputs = {"x": _binary(rng, 200, 8, 0.7), "g": rng.integers(-2**22, 2**22, (200, 1, 16))}
    ref, _ = compare_with_lava(c, inputs, 200)
    u = ref.probes["big"]["u"][:, 0]
    assert np.abs(u).max() > 2**30, "u never left 30 bits: the int32 wrap is not exercised"
    graded_sum = ws.toarray().astype(np.int64) @ inputs["g"][:, 0].T
    assert np.abs(graded_sum).max() > 2**31, "graded sums never left int32"


@pytest.mark.parametrize("opts", [{"hardware": True}, {"run_cfg": "loihi2_hw"}])
def test_loihi2_hardware_config_fails_clearly(opts):
    from spikeattn import simulate
    c = Circuit("hw")
    c.add_source("x", 2)
    c.add_population("a", 2, LoihiLIF())
    c.connect("x", "a", np.ones((2, 2), int))
    with pytest.raises(EngineError, match="lava-loihi"):
        simulate(c, {"x": np.ones((5, 2), bool)}, 5, engine="lava", bridge="never", **opts)


def test_mode_that_does_not_fit_the_arithmetic_is_refused():
    from spikeattn import simulate
    c = Circuit("mode")
    c.add_source("x", 2)
    c.add_population("a", 2, LoihiLIF())
    c.connect("x", "a", np.ones((2, 2), int))
    with pytest.raises(EngineError, match="fixed-point"):
        simulate(c, {"x": np.ones((5, 2), bool)}, 5, engine="lava", bridge="never", mode="floating_pt")
