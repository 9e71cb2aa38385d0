"""Feature cases of the conformance suite (brian2's FeatureTest, one class of circuit each).

A case builds a small circuit with explicit source outputs and states what it must produce:
``literal`` — hand-computed reference trajectories (spike steps, state values), checked on
every engine; and in every case the spikes, probed states and EventCounts of the independent
scalar simulator in :mod:`conformance_reference`.  The features a case exercises are read
from the circuit (:func:`spikeattn.engines.required_features`), so an engine runs every case
whose features it claims.  New neuron models add their cases here (and their equations to the
reference simulator) once; every registered engine then runs them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.sparse as sp

import spikeattn as sa
from spikeattn.ir.neurons_extra import GradedReLU


@dataclass
class Case:
    name: str
    build: Callable[[], tuple]          # -> (circuit, inputs {source: (steps, batch, size)}, steps)
    literal: dict = field(default_factory=dict)   # "pop.spike_steps" / "pop.var" / "counts" -> expected
    diagnostics: dict = field(default_factory=dict)   # pop -> flags that must be reported (numpy, compiled)
    features: tuple = ()                # conformance-only features (spikeattn.engines.features.CONFORMANCE_ONLY)


CASES: dict[str, Case] = {}


def case(name, **kw):
    def deco(fn):
        CASES[name] = Case(name, fn, **kw)
        return fn
    return deco


def spikes_at(steps: int, size: int, times: dict[int, list[int]], batch: int = 1) -> np.ndarray:
    x = np.zeros((steps, batch, size), bool)
    for t, idx in times.items():
        x[t, :, idx] = True
    return x


# ---------------------------------------------------------------- literal single-neuron cases
@case("lif_current_decay", literal={"n.spike_steps": [2], "n.u": [0, 1, .5, .25, .125, .0625],
                                    "n.v": [0, 1, 0, .25, .3125, .296875]})
def _lif_current_decay():
    """LIF du=0.5, dv=0.25, vth=1 (strict >) hit by one spike of weight 1 at step 0 (delay 1):
    u = 1, 1/2, 1/4 ...; v reaches exactly 1.0 (no spike), then 1.25 (spike, v=0)."""
    c = sa.Circuit("lif_current_decay")
    c.add_source("x", 1)
    c.add_population("n", 1, sa.LIF(du=0.5, dv=0.25, vth=1.0))
    c.connect("x", "n", np.ones((1, 1)))
    c.probe("n", ("u", "v"))
    return c, {"x": spikes_at(6, 1, {0: [0]})}, 6


@case("if_subtract_graded_source", literal={
    "n.spike_steps": [3, 6, 9], "n.v": [0, .375, .75, .125, .5, .875, .25, .625, 1.0, .375]})
def _if_subtract():
    """IF (reset by subtraction) fed 0.375 per step through a graded projection: v climbs by
    3/8, touches exactly 1.0 at step 8 without spiking (strict threshold)."""
    c = sa.Circuit("if_subtract")
    c.add_source("x", 1, encoder="graded")
    c.add_population("n", 1, sa.IF(vth=1.0))
    c.connect("x", "n", np.ones((1, 1)), message="graded")
    c.probe("n", ("v",))
    return c, {"x": np.full((10, 1, 1), 0.375)}, 10


@case("lif_refractory", literal={"n.spike_steps": [0, 3, 6, 9]})
def _lif_refractory():
    """Bias 0.75 > vth 0.5 every step; refractory 2 holds v at 0 for two steps after a spike."""
    c = sa.Circuit("lif_refractory")
    c.add_population("n", 1, sa.LIF(du=1.0, dv=0.0, vth=0.5, bias=0.75, refractory=2))
    return c, {}, 10


@case("per_neuron_params", literal={"n.spike_steps": [[2, 5, 8], [4, 9], [3, 7]]})
def _per_neuron():
    """Integrators with per-neuron vth and bias: period = smallest k with k*bias > vth."""
    c = sa.Circuit("per_neuron")
    c.add_population("n", 3, sa.LIF(du=1.0, dv=0.0, vth=np.array([0.5, 1.0, 1.5]),
                                    bias=np.array([0.25, 0.25, 0.5])))
    return c, {}, 10


@case("delay0_chain", literal={"a.spike_steps": [1, 4], "b.spike_steps": [1, 4]})
def _delay0():
    """Zero-delay projections: a spike crosses two populations in the step it is emitted."""
    c = sa.Circuit("delay0")
    c.add_source("x", 1)
    lif = sa.LIF(du=1.0, dv=1.0, vth=0.5)
    c.add_population("a", 1, lif)
    c.add_population("b", 1, lif)
    c.connect("x", "a", np.ones((1, 1)), delay=0)
    c.connect("a", "b", np.ones((1, 1)), delay=0)
    return c, {"x": spikes_at(6, 1, {1: [0], 4: [0]})}, 6


@case("long_delay", literal={"a.spike_steps": [5, 7]})
def _long_delay():
    c = sa.Circuit("long_delay")
    c.add_source("x", 1)
    c.add_population("a", 1, sa.LIF(du=1.0, dv=1.0, vth=0.5))
    c.connect("x", "a", np.ones((1, 1)), delay=5)
    return c, {"x": spikes_at(10, 1, {0: [0], 2: [0]})}, 10


@case("sparse_fan", literal={
    "n.spike_steps": [[1, 4], [2, 4], [3, 4]],
    "counts": {"x->n": {"synaptic_acs": [3, 1, 1, 5, 0, 0], "messages": [2, 1, 1, 4, 0, 0]}}})
def _sparse():
    """A CSR projection: ops = sum of the fan-outs (2, 1, 1, 1) of the pre neurons that spiked."""
    w = sp.csr_matrix(np.array([[0.5, 0.5, 0, 0], [0, 0, 1.0, 0], [0.25, 0, 0, 1.0]]))
    c = sa.Circuit("sparse_fan")
    c.add_source("x", 4)
    c.add_population("n", 3, sa.LIF(du=1.0, dv=1.0, vth=0.75))
    c.connect("x", "n", w)
    return c, {"x": spikes_at(6, 4, {0: [0, 1], 1: [2], 2: [3], 3: [0, 1, 2, 3]})}, 6


@case("graded_relu", literal={"g.values": [0, 0, 1.0, 2.5, 0]})
def _graded_relu():
    """GradedReLU(vth=1): output v - vth where v > vth, memoryless."""
    c = sa.Circuit("graded_relu")
    c.add_source("x", 1, encoder="graded")
    c.add_population("g", 1, GradedReLU(vth=1.0))
    c.connect("x", "g", np.ones((1, 1)), message="graded")
    x = np.zeros((5, 1, 1))
    x[:3, 0, 0] = [0.5, 2.0, 3.5]
    return c, {"x": x}, 5


@case("loihi_lif_trajectory", literal={"n.spike_steps": [4], "n.u": [0, 640, 479, 359, 269, 201],
                                       "n.v": [0, 640, 1039, 1268, 0, 201]})
def _loihi_traj():
    """Lava's fixed-point LIF by hand: u1 = trunc0(u*(4096-(du+1))) + (a<<6),
    v1 = trunc0(v*(4096-dv)) + u; du=1024, dv=512, vth=20 (1280 after <<6), one input of 10."""
    c = sa.Circuit("loihi_traj")
    c.add_source("x", 1)
    c.add_population("n", 1, sa.LoihiLIF(du=1024, dv=512, vth=20))
    c.connect("x", "n", np.full((1, 1), 10))
    c.probe("n", ("u", "v"))
    return c, {"x": spikes_at(6, 1, {0: [0]})}, 6


@case("loihi_overflow", literal={"n.u": [0, -251658240]}, diagnostics={"n": ["overflow:a_in"]})
def _loihi_overflow():
    """64 inputs of weight 255 with weight_exp 16, all spiking: the exact input to u is
    64*255*2**16*2**6 = 68,451,041,280; Lava's int32 wrap and the 24-bit correction of u give
    -251,658,240 (kept, for bit-exactness, and reported as an overflow)."""
    c = sa.Circuit("loihi_overflow")
    c.add_source("x", 64)
    c.add_population("n", 1, sa.LoihiLIF(du=4095, dv=0, vth=100000))
    c.connect("x", "n", np.full((1, 64), 255), weight_exp=16)
    c.probe("n", ("u",))
    return c, {"x": spikes_at(2, 64, {0: list(range(64))})}, 2


# ---------------------------------------------------------------- random circuits
DECIMALS = np.round(np.arange(-5, 11) * 0.1, 1)       # -0.5 .. 1.0 in steps of 0.1


def random_float_circuit(seed: int, lava_friendly: bool = False):
    """LIF/IF populations, decimal parameters and weights (steps of 0.1, so sums hit exact
    thresholds only up to rounding: the summation order decides ties), several projections
    into one population, delays 0-3.  ``lava_friendly``: reset to zero, delays >= 1."""
    rng = np.random.default_rng(seed)
    c = sa.Circuit(f"random_float_{seed}")
    sizes = {"x": 5, "y": 3}
    c.add_source("x", 5)
    c.add_source("y", 3)
    names = []
    for k in range(3):
        n = int(rng.integers(2, 6))
        reset = "zero" if lava_friendly or rng.random() < 0.5 else "subtract"
        model = sa.LIF(du=float(rng.choice([0.1, 0.5, 0.7, 1.0])), dv=float(rng.choice([0.0, 0.1, 0.3])),
                       vth=float(rng.choice([0.3, 0.6, 0.7, 1.0])), reset=reset)
        c.add_population(f"p{k}", n, model)
        names.append(f"p{k}")
        sizes[f"p{k}"] = n
    pres = ["x", "y"]
    for k, post in enumerate(names):
        for pre in pres + ([post] if k else []):
            if rng.random() < 0.35 and pre != post and pre in ("x", "y") and k:
                continue
            same = pre == post
            delay = int(rng.integers(1, 4)) if (lava_friendly or same or pre not in pres + names[:k]) \
                else int(rng.integers(0, 4))
            w = rng.choice(DECIMALS, size=(sizes[post], sizes[pre]))
            w[rng.random(w.shape) < 0.3] = 0.0
            c.connect(pre, post, w, name=f"{pre}->{post}#{delay}", delay=delay)
            if rng.random() < 0.4:      # a second pathway between the same pair
                w2 = rng.choice(DECIMALS, size=(sizes[post], sizes[pre]))
                c.connect(pre, post, w2, name=f"{pre}->{post}#b", delay=max(1, delay) if same else delay)
        pres.append(post)
    steps, batch = 30, 2
    inputs = {s: rng.random((steps, batch, sizes[s])) < 0.4 for s in ("x", "y")}
    return c, inputs, steps


def random_fixed_circuit(seed: int):
    """LoihiLIF populations with random decays, thresholds, biases and 9-bit weights (so the
    8-bit clip, the truncation to num_weight_bits and the sign modes all act), weight_exp
    -2..3, delays 1-3, sparse and dense projections."""
    rng = np.random.default_rng(1000 + seed)
    c = sa.Circuit(f"random_fixed_{seed}")
    c.add_source("x", 6)
    sizes = {"x": 6}
    names = []
    for k in range(2):
        n = int(rng.integers(2, 5))
        c.add_population(f"p{k}", n, sa.LoihiLIF(du=int(rng.integers(0, 4096)), dv=int(rng.integers(0, 4096)),
                                                 vth=int(rng.integers(5, 200)),
                                                 bias_mant=rng.integers(-20, 40, n), bias_exp=int(rng.integers(0, 3))))
        names.append(f"p{k}")
        sizes[f"p{k}"] = n
    for k, post in enumerate(names):
        for pre in ["x"] + names[: k + 1]:
            w = rng.integers(-300, 300, (sizes[post], sizes[pre]))
            if rng.random() < 0.5:
                w = np.abs(w)
            w[rng.random(w.shape) < 0.3] = 0
            weights = sp.csr_matrix(w) if rng.random() < 0.4 else w
            c.connect(pre, post, weights, delay=int(rng.integers(1, 4)), weight_exp=int(rng.integers(-2, 4)),
                      num_weight_bits=int(rng.integers(6, 9)))
    steps, batch = 30, 2
    return c, {"x": rng.random((steps, batch, 6)) < 0.5}, steps


def random_graded_circuit(seed: int):
    """Graded sources and messages into GradedReLU and LIF populations (decimal values)."""
    rng = np.random.default_rng(2000 + seed)
    c = sa.Circuit(f"random_graded_{seed}")
    c.add_source("x", 4, encoder="graded")
    c.add_population("g", 3, GradedReLU(vth=float(rng.choice([0.0, 0.2, 0.5]))))
    c.add_population("n", 2, sa.LIF(du=0.5, dv=0.1, vth=0.7))
    c.connect("x", "g", rng.choice(DECIMALS, (3, 4)), message="graded", delay=1)
    c.connect("g", "n", rng.choice(DECIMALS, (2, 3)), message="graded", delay=int(rng.integers(1, 3)))
    c.connect("x", "n", rng.choice(DECIMALS, (2, 4)), delay=1)
    steps = 20
    x = np.round(rng.choice([0.0, 0.1, 0.3, 0.5, 1.2], (steps, 2, 4)), 1)
    return c, {"x": x}, steps


ORDER = ("float:order_exact",)
for _s in range(8):
    CASES[f"random_float_{_s}"] = Case(f"random_float_{_s}", (lambda s=_s: random_float_circuit(s)), features=ORDER)
for _s in range(4):
    CASES[f"random_float_reset_zero_{_s}"] = Case(
        f"random_float_reset_zero_{_s}", (lambda s=_s: random_float_circuit(100 + s, lava_friendly=True)),
        features=ORDER)
for _s in range(6):
    CASES[f"random_fixed_{_s}"] = Case(f"random_fixed_{_s}", (lambda s=_s: random_fixed_circuit(s)))
for _s in range(4):
    CASES[f"random_graded_{_s}"] = Case(f"random_graded_{_s}", (lambda s=_s: random_graded_circuit(s)),
                                        features=ORDER)


# ---------------------------------------------------------------- conversion neurons
@case("ternary_if_signed_spikes", literal={
    "n.values": [0, 1, 1, -1, -1, -1, 1, 0], "n.v": [0, .25, .25, -.5, -.5, -.75, .25, .25],
    "m.v": [0, 0, .25, .5, .25, 0, -.25, 0],
    "counts": {"n->m": {"synaptic_acs": [0, 1, 1, 1, 1, 1, 1, 0], "synaptic_macs": [0] * 8}}})
def _ternary():
    """TernaryIF(vth=0.5) fed 0.75, 0.5, -1.25, -0.5, -0.75, 1.5 (arriving at steps 1-6):
    v = 0.75 -> +1 (0.25); 0.75 -> +1 (0.25); -1.0 -> -1 (-0.5); -1.0 -> -1 (-0.5);
    -1.25 -> -1 (-0.75); 0.75 -> +1 (0.25).  A binary projection of weight 0.25 adds
    0.25 * sign(s) into an IF that never fires: one accumulate per spike, no MACs."""
    c = sa.Circuit("ternary")
    c.add_source("x", 1, encoder="graded")
    c.add_population("n", 1, sa.ir.TernaryIF(vth=0.5))
    c.add_population("m", 1, sa.IF(vth=10.0))
    c.connect("x", "n", np.ones((1, 1)), message="graded")
    c.connect("n", "m", np.full((1, 1), 0.25))
    c.probe("n", ("v",))
    c.probe("m", ("v",))
    x = np.zeros((8, 1, 1))
    x[:6, 0, 0] = [0.75, 0.5, -1.25, -0.5, -0.75, 1.5]
    return c, {"x": x}, 8


@case("multi_threshold_count_messages", literal={
    "n.values": [0, 2, 0, -3, 0, 0], "n.v": [0, .25, .5, -.5, -.375, -.375],
    "m.v": [0, 0, 1.0, 1.0, -.5, -.5],
    "counts": {"n->m": {"synaptic_acs": [0, 2, 0, 3, 0, 0], "messages": [0, 1, 0, 1, 0, 0],
                        "synaptic_macs": [0] * 6}}})
def _multi_threshold():
    """MultiThresholdIF(vth=0.5, levels=3, signed) fed 1.25, 0.25, -2.5, 0.125: v = 1.25 ->
    n = ceil(2.5) - 1 = 2 (v 0.25); 0.5 -> 0 (strict); -2.0 -> -3 (v -0.5); -0.375 -> 0.
    A count projection (weight 0.5) adds 0.5 * n as |n| accumulates per synapse."""
    c = sa.Circuit("multi_threshold")
    c.add_source("x", 1, encoder="graded")
    c.add_population("n", 1, sa.ir.MultiThresholdIF(vth=0.5, levels=3, signed=True))
    c.add_population("m", 1, sa.IF(vth=10.0))
    c.connect("x", "n", np.ones((1, 1)), message="graded")
    c.connect("n", "m", np.full((1, 1), 0.5), message="count")
    c.probe("n", ("v",))
    c.probe("m", ("v",))
    x = np.zeros((6, 1, 1))
    x[:4, 0, 0] = [1.25, 0.25, -2.5, 0.125]
    return c, {"x": x}, 6


def random_convert_circuit(seed: int):
    """TernaryIF and MultiThresholdIF layers with decimal weights: signed binary messages,
    count messages and graded input, as a converted network uses them."""
    rng = np.random.default_rng(3000 + seed)
    c = sa.Circuit(f"random_convert_{seed}")
    c.add_source("x", 4, encoder="graded")
    c.add_population("t", 3, sa.ir.TernaryIF(vth=float(rng.choice([0.3, 0.5, 1.0]))))
    c.add_population("m", 3, sa.ir.MultiThresholdIF(vth=float(rng.choice([0.2, 0.5])), levels=int(rng.integers(1, 5)),
                                                    signed=bool(rng.random() < 0.5)))
    c.add_population("o", 2, sa.IF(vth=0.7))
    c.connect("x", "t", rng.choice(DECIMALS, (3, 4)), message="graded")
    c.connect("x", "m", rng.choice(DECIMALS, (3, 4)), message="graded")
    c.connect("t", "o", rng.choice(DECIMALS, (2, 3)))
    c.connect("m", "o", rng.choice(DECIMALS, (2, 3)), message="count", delay=int(rng.integers(1, 3)))
    steps = 16
    return c, {"x": np.round(rng.choice([-1.0, -0.3, 0.0, 0.4, 0.9], (steps, 2, 4)), 1)}, steps


for _s in range(3):
    CASES[f"random_convert_{_s}"] = Case(f"random_convert_{_s}", (lambda s=_s: random_convert_circuit(s)),
                                         features=ORDER)


# fixed-point conversion neurons (LoihiMultiThresholdIF, LoihiGradedReLU): their cases live in
# their own module, which registers them into CASES on import
import conformance_cases_loihi_convert  # noqa: E402,F401
# structured projections (shared, index, conv, product): run by the oracle as their expansion
import conformance_cases_structured  # noqa: E402,F401
# a model subclass with a Dynamics of its own (feature model:own_dynamics)
import conformance_cases_own_dynamics  # noqa: E402,F401
