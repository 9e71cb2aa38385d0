"""Conformance cases of the fixed-point conversion neurons (``LoihiMultiThresholdIF``,
``LoihiGradedReLU``): literal hand-computed trajectories and random converted-style
fixed-point circuits.  Imported by :mod:`conformance_cases`, which holds the registry."""
from __future__ import annotations

import numpy as np

import spikeattn as sa
from conformance_cases import CASES, Case, case


def _graded_input(rows) -> np.ndarray:
    return np.asarray(rows, np.int64)[:, None, :]


@case("loihi_multi_threshold_levels", literal={
    "n.values": [[0, 0], [2, -2], [3, -3], [1, -1], [0, 0], [1, -1], [3, -3]],
    "n.v": [[0, 0], [5, -5], [15, -15], [5, -5], [10, 0], [1, -1], [8388577, -8388577]]},
    diagnostics={"n": ["saturation:v"]})
def _loihi_mtif_levels():
    """LoihiMultiThresholdIF(vth=10, levels=3, signed) by hand, inputs one step later:
    v = +-25 -> n = +-2 ((25-1)//10), v = +-5;  +-45 -> 4 thresholds exceeded, clipped at
    L = 3, residue +-15 carried;  +-15 -> +-1 (v +-5);  10 (exactly vth: strict) and 0 -> 0;
    11 / -11 -> +-1 (v +-1);  1 + 2**23 + 100 and -1 - 2**23 - 5 saturate at +-(2**23 - 1)
    = +-8388607 -> n = +-3, v = +-8388577."""
    c = sa.Circuit("loihi_mtif_levels")
    c.add_source("x", 2, encoder="graded")
    c.add_population("n", 2, sa.ir.LoihiMultiThresholdIF(vth=10, levels=3, signed=True))
    c.connect("x", "n", np.eye(2, dtype=np.int64), message="graded")
    c.probe("n", ("v",))
    x = [[25, -25], [40, -40], [0, 0], [5, 5], [1, -11], [2**23 + 100, -(2**23 + 5)], [0, 0]]
    return c, {"x": _graded_input(x)}, 7


@case("loihi_multi_threshold_bias_exp", literal={
    "n.values": [[1, 0], [1, 0], [1, 0], [1, 0], [1, 0], [2, 0]],
    "n.v": [[2, -2], [4, -4], [6, -6], [8, -8], [10, -10], [2, -12]],
    "counts": {"n": {"neuron_updates_active": [2] * 6}}})
def _loihi_mtif_bias():
    """Unsigned, vth=10, L=3, bias = bias_mant << bias_exp: 3 << 2 = 12 and -3 >> 1 = -2
    (floor).  Neuron 0: v = 12 -> 1 (2); 14 -> 1 (4); 16 -> 1 (6); 18 -> 1 (8);
    20 -> (19 // 10) = 1 (10); 22 -> 2 (2).  Neuron 1 never fires (unsigned), v falls by 2."""
    c = sa.Circuit("loihi_mtif_bias")
    c.add_population("n", 2, sa.ir.LoihiMultiThresholdIF(vth=10, levels=3, bias_mant=[3, -3], bias_exp=[2, -1]))
    c.probe("n", ("v",))
    return c, {}, 6


@case("loihi_graded_relu_thresholds", literal={
    "g.values": [[0, 0], [3, 1], [2, 0], [0, 0], [0, 0]],
    "g.v": [[0, 0], [3, 3], [2, 2], [-5, -5], [0, 1]],
    "counts": {"g": {"neuron_updates_active": [0, 2, 2, 2, 1]}}})
def _loihi_graded_relu():
    """LoihiGradedReLU(vth=[0, 2]), memoryless: v = a_in, s = v - vth where v > vth.
    Active only where an event arrived (inputs 3, 2, -5, [0, 1] one step earlier)."""
    c = sa.Circuit("loihi_graded_relu")
    c.add_source("x", 2, encoder="graded")
    c.add_population("g", 2, sa.ir.LoihiGradedReLU(vth=[0, 2]))
    c.connect("x", "g", np.eye(2, dtype=np.int64), message="graded")
    c.probe("g", ("v",))
    return c, {"x": _graded_input([[3, 3], [2, 2], [-5, -5], [0, 1], [0, 0]])}, 5


@case("loihi_count_messages", literal={
    "g.v": [[0, 0], [0, 0], [12, 12], [18, 18], [6, 6]],
    "counts": {"m->g": {"synaptic_acs": [0, 6, 9, 3, 0], "synaptic_macs": [0] * 5,
                        "messages": [0, 2, 2, 2, 0], "weight_bytes_read": [0, 6, 9, 3, 0]}}})
def _loihi_count():
    """Levels of LoihiMultiThresholdIF(vth=10, L=3, signed) [2,-2], [3,-3], [1,-1] (steps
    1-3) over a count projection W = [[2, -3], [6, 0]] (mixed sign: Lava drops one LSB,
    -3 -> -4; fan-outs 2 and 1): acc = W' @ n one step later, e.g. [2*3 + (-4)(-3), 6*3]
    = [18, 18]; |n| accumulates per synapse: |n| * (2 + 1) = 6, 9, 3."""
    c = sa.Circuit("loihi_count")
    c.add_source("x", 2, encoder="graded")
    c.add_population("m", 2, sa.ir.LoihiMultiThresholdIF(vth=10, levels=3, signed=True))
    c.add_population("g", 2, sa.ir.LoihiGradedReLU(vth=0))
    c.connect("x", "m", np.eye(2, dtype=np.int64), message="graded")
    c.connect("m", "g", np.array([[2, -3], [6, 0]]), message="count")
    c.probe("g", ("v",))
    return c, {"x": _graded_input([[25, -25], [40, -40], [0, 0], [0, 0], [0, 0]])}, 5


@case("loihi_convert_delay0", literal={
    "m.values": [2, 0, 1], "m.v": [5, 5, 2], "g.values": [8, 0, 4],
    "counts": {"m->g": {"synaptic_acs": [2, 0, 1]}}})
def _loihi_delay0():
    """Zero-delay chain (numpy/compiled only; Lava's Dense has delay >= 1): x -> MTIF
    (vth=10, L=3) -> GradedReLU over a count projection of weight 4, all in the same step:
    v = 25 -> 2 (5); 5 -> 0; 12 -> 1 (2); the ReLU gets 4 n."""
    c = sa.Circuit("loihi_delay0")
    c.add_source("x", 1, encoder="graded")
    c.add_population("m", 1, sa.ir.LoihiMultiThresholdIF(vth=10, levels=3))
    c.add_population("g", 1, sa.ir.LoihiGradedReLU())
    c.connect("x", "m", np.ones((1, 1), np.int64), message="graded", delay=0)
    c.connect("m", "g", np.full((1, 1), 4), message="count", delay=0)
    c.probe("m", ("v",))
    return c, {"x": _graded_input([[25], [0], [7]])}, 3


def random_fixed_convert_circuit(seed: int):
    """A converted-style fixed-point network: integer graded source -> LoihiMultiThresholdIF
    layer (count messages out) -> LoihiGradedReLU threshold lines (binary out) and gates
    (graded out) -> LoihiMultiThresholdIF; mixed-sign 8-bit weights, weight_exp -2..3,
    delays 1..3 (Lava-runnable), several projections per population."""
    rng = np.random.default_rng(4000 + seed)
    c = sa.Circuit(f"random_fixed_convert_{seed}")
    sizes = {"x": 4, "m": int(rng.integers(3, 6)), "th": 3, "gate": 3, "out": int(rng.integers(2, 4))}
    c.add_source("x", 4, encoder="graded")

    def mtif(size):
        return sa.ir.LoihiMultiThresholdIF(vth=rng.integers(5, 60, size), levels=int(rng.integers(1, 9)),
                                           signed=bool(rng.random() < 0.5), bias_mant=rng.integers(-8, 9, size),
                                           bias_exp=int(rng.integers(-2, 3)))

    c.add_population("m", sizes["m"], mtif(sizes["m"]))
    c.add_population("th", 3, sa.ir.LoihiGradedReLU(vth=rng.integers(1, 40, 3)))
    c.add_population("gate", 3, sa.ir.LoihiGradedReLU(vth=int(rng.integers(20, 80))))
    c.add_population("out", sizes["out"], mtif(sizes["out"]))

    def connect(pre, post, message, name=None):
        w = rng.integers(-128, 128, (sizes[post], sizes[pre]))
        w[rng.random(w.shape) < 0.25] = 0
        c.connect(pre, post, w, name=name or f"{pre}->{post}", message=message, delay=int(rng.integers(1, 4)),
                  weight_exp=int(rng.integers(-2, 4)))

    connect("x", "m", "graded")
    connect("x", "m", "graded", "x->m#b")
    connect("m", "th", "count")
    connect("m", "gate", "count")
    connect("th", "gate", "binary")
    connect("gate", "out", "graded")
    connect("m", "out", "count")
    connect("th", "out", "binary")
    connect("out", "out", "count", "out->out#rec")
    c.probe("m", ("v",))
    c.probe("out", ("v",))
    steps = 20
    return c, {"x": rng.integers(-20, 60, (steps, 2, 4))}, steps


for _s in range(4):
    CASES[f"random_fixed_convert_{_s}"] = Case(f"random_fixed_convert_{_s}",
                                               (lambda s=_s: random_fixed_convert_circuit(s)))
