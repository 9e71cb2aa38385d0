"""GradedReLU neurons on Brian2 and Lava (Lava through the bridge to .venv-lava).

Oracles: the numpy engine (identical graded spike values, probes and EventCounts), the
per-step dense formula of the model (``v[t] = sum_p W_p @ s_pre[t - d_p]``, ``s = v - vth``
where ``v > vth``) applied to the engine's own recorded inputs, and the dense linear
attention formula.  All values are dyadic, so every float sum is exact in any order.
"""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from spikeattn import LIF, Circuit, simulate
from spikeattn.circuits.attention import linear_attention
from spikeattn.circuits.attention.linear import linear_reference
from spikeattn.engines.base import engine_class
from spikeattn.ir.neurons_extra import GradedReLU

REPO = Path(__file__).resolve().parents[2]
HAS_BRIAN2 = importlib.util.find_spec("brian2") is not None
HAS_LAVA = importlib.util.find_spec("lava") is not None or (REPO / ".venv-lava" / "bin" / "python").exists()
BRIAN2 = pytest.param("brian2", marks=pytest.mark.skipif(not HAS_BRIAN2, reason="brian2 is not installed "
                                                                                "in this interpreter"))
LAVA = pytest.param("lava", marks=pytest.mark.skipif(not HAS_LAVA, reason="lava-nc not importable and no "
                                                                          ".venv-lava to bridge to"))


def dyadic(rng, shape, lo, hi):
    """Integers in [lo, hi) / 8: exactly representable, sums exact in any order."""
    return rng.integers(lo, hi, shape) / 8.0


def graded_circuit(rng, delay0: bool = False) -> Circuit:
    """Update order in, r1, r2, (r3), y.  r1 -> r2 graded, delay 3, forward (Brian2 reads
    the output 3 updates back); r2 -> r1 graded, delay 2, backward; r2 -> r2 graded
    self-loop, delay 2; r1 -> y binary (w per non-zero output), r2 -> y graded.
    ``delay0`` adds r1 -> r3 graded with delay 0 (same step; Brian2 only)."""
    c = Circuit("graded_relu_chain")
    c.add_source("in", 4, encoder="graded")
    c.add_population("r1", 4, GradedReLU(vth=np.array([0.0, 0.5, 1.25, 0.0])))
    c.add_population("r2", 3, GradedReLU(vth=0.25))
    c.add_population("y", 2, LIF(du=0.5, dv=0.25, vth=1.0))
    c.connect("in", "r1", dyadic(rng, (4, 4), -4, 12), name="in->r1", message="graded")
    c.connect("r1", "r2", dyadic(rng, (3, 4), -4, 10), name="r1->r2", delay=3, message="graded")
    c.connect("r2", "r1", dyadic(rng, (4, 3), -4, 4), name="r2->r1", delay=2, message="graded")
    c.connect("r2", "r2", 0.5, name="r2->r2", delay=2, message="graded")
    c.connect("r1", "y", dyadic(rng, (2, 4), 0, 8), name="r1->y", delay=2)
    c.connect("r2", "y", dyadic(rng, (2, 3), -2, 6), name="r2->y", message="graded")
    if delay0:
        c.add_population("r3", 2, GradedReLU(vth=0.5))
        c.connect("r1", "r3", dyadic(rng, (2, 4), -4, 12), name="r1->r3", delay=0, message="graded")
        c.probe("r3", ("v",))
    c.probe("r1", ("v",))
    return c


def graded_inputs(rng, steps=12, batch=2):
    x = dyadic(rng, (steps, batch, 4), -8, 24)
    x[rng.random(x.shape) < 0.3] = 0.0
    return {"in": x}


def dense_relu_oracle(circuit: Circuit, spikes: dict, pop: str):
    """``(v, s)`` of GradedReLU ``pop`` from the recorded pre-synaptic outputs, by the
    dense formula: binary messages carry 1 per non-zero output, graded ones the value."""
    steps, batch = spikes[pop].shape[:2]
    v = np.zeros((steps, batch, circuit.node(pop).size))
    for p in circuit.projections.values():
        if p.post != pop:
            continue
        pre = np.asarray(spikes[p.pre], np.float64)
        if p.message == "binary":
            pre = (pre != 0).astype(np.float64)
        w = p.weights.toarray() if p.sparse else np.asarray(p.weights, np.float64)
        v[p.delay:] += pre[: steps - p.delay] @ w.T
    vth = np.asarray(circuit.node(pop).model.vth, np.float64)
    return v, np.where(v > vth, v - vth, 0.0)


def assert_same_as_numpy(circuit, inputs, steps, engine, **options):
    ref = simulate(circuit, inputs, steps)
    got = simulate(circuit, inputs, steps, engine=engine, **options)
    for name in circuit.populations:
        assert got.spikes[name].dtype == ref.spikes[name].dtype, name
        mism = np.argwhere(got.spikes[name] != ref.spikes[name])
        assert mism.size == 0, f"'{name}' differs first at (step, sample, neuron) {mism[0]}"
    for name, d in ref.probes.items():
        for var, arr in d.items():
            np.testing.assert_array_equal(got.probes[name][var], arr, err_msg=f"{name}.{var}")
    assert got.counts == ref.counts, got.counts.diff(ref.counts)
    return ref, got


@pytest.mark.parametrize("engine", [BRIAN2, LAVA])
def test_graded_relu_circuit_matches_dense_formula_and_numpy(rng, engine):
    c = graded_circuit(rng)
    inputs = graded_inputs(rng)
    _, got = assert_same_as_numpy(c, inputs, 12, engine)
    spikes = {**got.spikes, "in": inputs["in"]}
    for pop in ("r1", "r2"):
        v, s = dense_relu_oracle(c, spikes, pop)
        np.testing.assert_array_equal(got.spikes[pop], s, err_msg=pop)
        assert (s > 0).any() and (v > 0).any() and (s < v).any()
    np.testing.assert_array_equal(got.probes["r1"]["v"], dense_relu_oracle(c, spikes, "r1")[0])
    # the delayed, recurrent graded paths carried values: r2 fired with non-integer values
    assert np.any(got.spikes["r2"] % 1 != 0) and got.spikes["y"].any()


@pytest.mark.skipif(not HAS_BRIAN2, reason="brian2 is not installed in this interpreter")
@pytest.mark.parametrize("device", ["runtime", "cpp_standalone"])
def test_brian2_graded_relu_with_zero_delay_and_standalone(rng, device):
    c = graded_circuit(rng, delay0=True)
    inputs = graded_inputs(rng, steps=10, batch=2)
    _, got = assert_same_as_numpy(c, inputs, 10, "brian2", device=device)
    v, s = dense_relu_oracle(c, {**got.spikes, "in": inputs["in"]}, "r3")
    assert s.any()
    np.testing.assert_array_equal(got.spikes["r3"], s)
    np.testing.assert_array_equal(got.probes["r3"]["v"], v)
    assert got.meta["brian2_delays"]["r1->r3"] == 0 and got.meta["brian2_delays"]["r1->r2"] == 3


@pytest.mark.parametrize("engine", [BRIAN2, LAVA])
def test_linear_attention_on_engine_matches_formula_and_numpy(rng, engine):
    T, B, d = 14, 2, 4
    q, k, v = (rng.random((T, B, d)) < 0.5 for _ in range(3))
    c = linear_attention(d, heads=2, max_tokens=16, scale=0.25)
    ref, got = assert_same_as_numpy(c, {"q": q, "k": k, "v": v}, T, engine)
    expect = linear_reference(q, k, v, heads=2, scale=0.25)
    assert expect.any() and got.spikes["state"].max() > 1
    np.testing.assert_array_equal(got.spikes["y"], expect)


@pytest.mark.parametrize("name", ["brian2", "lava"])
def test_engines_declare_graded_relu_supported(name):
    cls = engine_class(name)
    assert "model:graded_relu" in cls.supported
    assert "model:graded_relu" not in cls.unsupported


@pytest.mark.skipif(not HAS_BRIAN2, reason="brian2 is not installed in this interpreter")
def test_brian2_counts_graded_relu_in_a_fresh_process_without_the_numpy_engine(tmp_path):
    """Counting needs the numpy builder of GradedReLU; a process that never ran the numpy
    engine must still count a Brian2 run (the gate of a 1-pair accumulator: 2 coincidences)."""
    import subprocess
    import sys
    code = (
        "import numpy as np\n"
        "from spikeattn import Circuit, simulate\n"
        "from spikeattn.ir.neurons_extra import GradedReLU\n"
        "c = Circuit('acc'); c.add_source('x', 2); c.add_population('a', 1, GradedReLU(vth=0.5))\n"
        "c.connect('x', 'a', np.ones((1, 2)))\n"
        "x = np.array([[1, 1], [0, 0], [1, 0]], bool)\n"
        "r = simulate(c, {'x': x}, 4, engine='brian2')\n"
        "assert r.spikes['a'][:, 0, 0].tolist() == [0.0, 1.5, 0.0, 0.5], r.spikes['a']\n"
        "assert r.counts.total('neuron_updates_active') == 2\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
