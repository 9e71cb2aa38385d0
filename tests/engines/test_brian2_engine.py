"""Brian2 engine vs the numpy engine (identical spikes, states and EventCounts), and both
engines vs closed-form trajectories with literal expected values.

Random circuits use weights that are multiples of 1/64 (dyadic), so that synaptic sums are
exact in any order and the two engines must agree bit for bit; thresholds are off that
lattice.  Each case also asserts the circuit is neither silent nor saturated, so that an
agreement is not trivial.
"""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from spikeattn.errors import SpikeattnError
import scipy.sparse as sp

from spikeattn import simulate
from spikeattn.counting import counts_from_spikes
from spikeattn.errors import ParameterError, UnsupportedFeatureError
from spikeattn.ir import IF, LIF, Circuit, LoihiLIF

needs_brian2 = pytest.mark.skipif(importlib.util.find_spec("brian2") is None,
                                  reason="the Brian2 engine needs the optional package brian2 (extra 'brian2')")
ENGINES = ["numpy", pytest.param("brian2", marks=needs_brian2)]


# --------------------------------------------------------------------------- circuits
def dyadic(rng, shape, lo, hi):
    """Integers in [lo, hi) / 64 (exactly representable; sums exact in any order)."""
    return rng.integers(lo, hi, shape) / 64.0


def sparse_dyadic(rng, n_post, n_pre, density, lo, hi):
    w = sp.random(n_post, n_pre, density=density, random_state=int(rng.integers(1 << 30)), format="csr")
    w.data = dyadic(rng, w.nnz, lo, hi)
    w.data[w.data == 0] = 1 / 64
    return w


def random_circuit(seed: int, kind: str) -> tuple[Circuit, dict]:
    """A 3-population circuit with feed-forward, backward and recurrent projections."""
    rng = np.random.default_rng(seed)
    c = Circuit(f"rand_{kind}_{seed}")
    n_in, na, nb, nc = 12, 16, 10, 8
    graded = kind == "graded"
    c.add_source("in", n_in, encoder="graded" if graded else "poisson")
    if kind == "if":
        model_a = IF(vth=1.0 + 0.013, reset="subtract")
        model_b = IF(vth=rng.uniform(0.6, 1.2, nb) + 1e-3, reset="subtract", bias=0.05)
    elif kind == "refractory":
        model_a = LIF(du=0.3, dv=0.1, vth=0.71, refractory=2, v_reset=-0.1)
        model_b = LIF(du=1.0, dv=0.05, vth=0.53, refractory=3)
    else:
        model_a = LIF(du=rng.uniform(0.1, 1.0, na), dv=rng.uniform(0.0, 0.3, na), vth=0.71,
                      reset="subtract" if kind == "subtract" else "zero")
        model_b = LIF(du=0.25, dv=0.1, vth=rng.uniform(0.4, 0.9, nb) + 1e-3, bias=-0.01)
    c.add_population("a", na, model_a, initial={"v": dyadic(rng, na, 0, 32)})
    c.add_population("b", nb, model_b)
    c.add_population("c", nc, LIF(du=0.5, dv=0.2, vth=0.8 + 1e-3))
    sparse = kind in ("if", "sparse", "graded")
    def w(n_post, n_pre, lo, hi, density=0.5):
        return sparse_dyadic(rng, n_post, n_pre, density, lo, hi) if sparse else dyadic(rng, (n_post, n_pre), lo, hi)
    msg = "graded" if graded else "binary"
    c.connect("in", "a", w(na, n_in, -4, 24, 0.7), delay=int(rng.integers(1, 4)), message=msg)
    c.connect("a", "b", w(nb, na, -12, 18), delay=int(rng.integers(1, 4)), message=msg)
    c.connect("b", "a", w(na, nb, -16, 8), delay=int(rng.integers(1, 4)))
    c.connect("a", "a", w(na, na, -8, 12, 0.3), delay=int(rng.integers(1, 4)))
    c.connect("b", "c", w(nc, nb, -4, 24), delay=0 if kind == "delay0" else int(rng.integers(1, 4)))
    c.connect("in", "c", w(nc, n_in, -10, 14), delay=0 if kind == "delay0" else 2, message=msg)
    c.probe("a", ("u", "v"))
    c.probe("c", ("v",))
    if graded:
        data = dyadic(rng, (40, 2, n_in), -16, 64) * (rng.random((40, 2, n_in)) < 0.5)
        return c, {"in": data}
    return c, {"in": rng.uniform(0.1, 0.5, n_in)}


CASES = [(0, "lif"), (1, "lif"), (2, "sparse"), (3, "subtract"), (4, "if"), (5, "if"),
         (6, "graded"), (7, "refractory"), (8, "delay0"), (9, "delay0")]


def assert_same_run(r_ref, r_b2, circuit):
    for name in circuit.populations:
        assert np.array_equal(r_ref.spikes[name], r_b2.spikes[name]), (
            f"population {name}: spikes differ at (step, sample, neuron) "
            f"{np.argwhere(r_ref.spikes[name] != r_b2.spikes[name])[:5].tolist()}")
    for pop, vars_ in r_ref.probes.items():
        for var, arr in vars_.items():
            assert np.array_equal(arr, r_b2.probes[pop][var]), (
                f"{pop}.{var} differs, max |diff| {np.abs(arr - r_b2.probes[pop][var]).max()}")
    assert r_ref.counts == r_b2.counts, r_ref.counts.diff(r_b2.counts)


# --------------------------------------------------------------------------- cross-engine
@needs_brian2
@pytest.mark.parametrize("seed,kind", CASES, ids=[f"{k}-{s}" for s, k in CASES])
def test_brian2_matches_numpy_on_random_circuits(seed, kind):
    circuit, inputs = random_circuit(seed, kind)
    steps, batch = 40, 2
    ref = simulate(circuit, inputs, steps=steps, batch=None if kind == "graded" else batch, seed=seed)
    rates = {n: ref.spikes[n].mean() for n in circuit.populations}
    assert all(0.02 < r < 0.9 for r in rates.values()), f"degenerate activity {rates}"
    got = simulate(circuit, inputs, steps=steps, batch=None if kind == "graded" else batch, seed=seed,
                   engine="brian2")
    import brian2

    assert got.meta["device"] == "runtime" and got.meta["brian2_version"] == brian2.__version__
    assert_same_run(ref, got, circuit)


@needs_brian2
@pytest.mark.slow
def test_brian2_cpp_standalone_matches_numpy_twice_in_one_process():
    """Standalone builds, runs and re-initialises its device: two runs in one process."""
    for seed, kind in ((0, "lif"), (8, "delay0")):
        circuit, inputs = random_circuit(seed, kind)
        ref = simulate(circuit, inputs, steps=30, batch=2, seed=seed)
        got = simulate(circuit, inputs, steps=30, batch=2, seed=seed, engine="brian2", device="cpp_standalone")
        assert got.meta["device"] == "cpp_standalone"
        assert_same_run(ref, got, circuit)


def test_counts_from_spikes_reproduces_numpy_engine_counts():
    """The shared counter (used by Brian2, and meant for Lava) vs the numpy engine's own
    incremental counting, on every field, step and sample."""
    for seed, kind in CASES[:6:2] + [(8, "delay0"), (7, "refractory")]:
        circuit, inputs = random_circuit(seed, kind)
        for pop in circuit.populations:
            circuit.probe(pop, ("u", "v"))
        ref = simulate(circuit, inputs, steps=30, batch=2, seed=seed)
        rebuilt = counts_from_spikes(circuit, ref.spikes, ref.probes)
        assert rebuilt == ref.counts, rebuilt.diff(ref.counts)
        assert ref.counts.total("synaptic_acs") > 0 and ref.counts.total("neuron_updates_idle") >= 0


def test_counts_from_spikes_reproduces_numpy_counts_on_a_fixed_point_circuit():
    """Same for LoihiLIF (quantised weights: a weight that truncates to 0 is no synapse),
    as the Lava engine will need it."""
    rng = np.random.default_rng(3)
    c = Circuit("fixed_counts")
    c.add_source("x", 6, encoder="poisson")
    c.add_population("p", 5, LoihiLIF(du=410, dv=200, vth=80, bias_mant=rng.integers(0, 3, 5), bias_exp=2))
    c.add_population("q", 4, LoihiLIF(du=0, dv=4095, vth=30))
    w = rng.integers(-60, 120, (5, 6))
    w[0, :3] = 1                                   # truncated away with num_weight_bits=6
    c.connect("x", "p", w, num_weight_bits=6)
    c.connect("p", "q", rng.integers(0, 100, (4, 5)), delay=2, weight_exp=1)
    c.connect("q", "p", -rng.integers(0, 100, (5, 4)), delay=1)
    for pop in ("p", "q"):
        c.probe(pop, ("u", "v"))
    ref = simulate(c, {"x": rng.uniform(0.1, 0.6, 6)}, steps=40, batch=3)
    assert ref.spikes["p"].any() and ref.spikes["q"].any()
    rebuilt = counts_from_spikes(c, ref.spikes, ref.probes)
    assert rebuilt == ref.counts, rebuilt.diff(ref.counts)


# --------------------------------------------------------------------------- closed form
def constant_input_circuit(model, x: float, delay: int = 1) -> tuple[Circuit, dict]:
    c = Circuit("constant_input")
    c.add_source("x", 1, encoder="graded")
    c.add_population("n", 1, model)
    c.connect("x", "n", 1.0, delay=delay, message="graded")
    c.probe("n", ("u", "v"))
    return c, {"x": np.array([x])}


@pytest.mark.parametrize("engine", ENGINES)
def test_lif_leaky_voltage_matches_closed_form(engine):
    """du=1, dv=0.1, input 0.3 arriving from step 1 on: v_t = 0.3 (1 - 0.9**t) / 0.1."""
    c, inputs = constant_input_circuit(LIF(du=1.0, dv=0.1, vth=100.0), 0.3)
    r = simulate(c, inputs, steps=10, engine=engine)
    expected = [0.0, 0.3, 0.57, 0.813, 1.0317, 1.22853, 1.405677, 1.5651093, 1.70859837, 1.837738533]
    np.testing.assert_allclose(r.probes["n"]["v"][:, 0, 0], expected, rtol=1e-12, atol=1e-15)
    assert not r.spikes["n"].any()


@pytest.mark.parametrize("engine", ENGINES)
def test_lif_current_memory_matches_closed_form(engine):
    """du=0.5, dv=0, input 0.25 from step 1: u_t = 0.5 (1 - 0.5**t), v_t = sum of u."""
    c, inputs = constant_input_circuit(LIF(du=0.5, dv=0.0, vth=100.0), 0.25)
    r = simulate(c, inputs, steps=6, engine=engine)
    assert r.probes["n"]["u"][:, 0, 0].tolist() == [0.0, 0.25, 0.375, 0.4375, 0.46875, 0.484375]
    assert r.probes["n"]["v"][:, 0, 0].tolist() == [0.0, 0.25, 0.625, 1.0625, 1.53125, 2.015625]


@pytest.mark.parametrize("engine", ENGINES)
def test_if_reset_by_subtraction_spike_times(engine):
    """IF, bias x = 0.375 per step, vth = 1, strict threshold: the k-th spike is at step
    floor(k * vth / x) (at step 7 the cumulative input is exactly 3.0 = 3 vth: no spike)."""
    c = Circuit("if_bias")
    c.add_population("n", 1, IF(vth=1.0, bias=0.375, reset="subtract"))
    c.probe("n", ("v",))
    r = simulate(c, steps=24, engine=engine)
    assert np.flatnonzero(r.spikes["n"][:, 0, 0]).tolist() == [2, 5, 8, 10, 13, 16, 18, 21]
    assert r.probes["n"]["v"][7, 0, 0] == 1.0          # the tie at step 7
    assert r.counts.total("spikes") == 8
    assert r.counts.total("neuron_updates_active") == 24   # non-zero bias: active every step


@pytest.mark.parametrize("engine", ENGINES)
def test_zero_delay_delivers_in_the_same_step(engine):
    """A source spike at step 3 through delay 0 and delay 2 reaches v at steps 3 and 5."""
    c = Circuit("delays")
    c.add_source("x", 1)
    c.add_population("p", 2, IF(vth=10.0))
    c.connect("x", "p", np.array([[0.5], [0.0]]), name="d0", delay=0)
    c.connect("x", "p", np.array([[0.0], [0.25]]), name="d2", delay=2)
    c.probe("p", ("v",))
    spikes = np.zeros((8, 1), bool)
    spikes[3] = True
    v = simulate(c, {"x": spikes}, steps=8, engine=engine).probes["p"]["v"][:, 0]
    assert v[:, 0].tolist() == [0, 0, 0, 0.5, 0.5, 0.5, 0.5, 0.5]
    assert v[:, 1].tolist() == [0, 0, 0, 0, 0, 0.25, 0.25, 0.25]


@needs_brian2
def test_valued_spikes_binary_and_graded_projections_match_numpy():
    """A "spikes" source carrying values: a binary projection adds w per non-zero value, a
    graded one adds w * value of the emission step (also with delay 3, backward in order)."""
    rng = np.random.default_rng(5)
    c = Circuit("valued")
    c.add_source("z_src", 6)                      # named to come after "pop" in update order
    c.add_population("pop", 5, LIF(du=0.5, dv=0.1, vth=0.9 + 1e-3))
    c.connect("z_src", "pop", dyadic(rng, (5, 6), -8, 40), name="bin", delay=1)
    c.connect("z_src", "pop", dyadic(rng, (5, 6), -8, 40), name="grad", delay=3, message="graded")
    c.probe("pop", ("u", "v"))
    data = rng.choice([0.0, 0.0, 0.5, 1.25, -0.75], size=(30, 2, 6))
    ref = simulate(c, {"z_src": data}, steps=30)
    got = simulate(c, {"z_src": data}, steps=30, engine="brian2")
    assert 0.05 < ref.spikes["pop"].mean() < 0.9
    assert got.meta["brian2_delays"] == {"bin": 0, "grad": 2}
    assert_same_run(ref, got, c)


# --------------------------------------------------------------------------- refusals
def test_loihi_lif_is_refused_with_the_population_and_alternatives_named():
    c = Circuit("fixed")
    c.add_source("x", 2)
    c.add_population("loihi_pop", 2, LoihiLIF(du=100, dv=200, vth=10))
    c.connect("x", "loihi_pop", np.array([[10, 0], [0, 10]]))
    with pytest.raises(UnsupportedFeatureError) as info:
        simulate(c, steps=5, engine="brian2")
    msg = str(info.value)
    assert "loihi_pop" in msg and "model:loihi_lif" in msg and "numpy" in msg and "fixed-point" in msg


def test_bad_option_is_refused():
    c = Circuit("one")
    c.add_population("n", 1, LIF())
    with pytest.raises(ParameterError, match="device"):
        simulate(c, steps=2, engine="brian2", device="gpu")
    with pytest.raises(SpikeattnError, match="does not take the option.*'mode'.*it takes .*'device'"):
        simulate(c, steps=2, engine="brian2", mode="fixed_pt")      # simulate() checks options_allowed
