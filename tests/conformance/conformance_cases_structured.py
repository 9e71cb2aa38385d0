"""Structured-projection cases (shared, index, conv, product) of the conformance suite.

The scalar oracle runs each case's expansion (:meth:`spikeattn.Circuit.expand`, whose
matrices ``tests/core/test_structured_ir.py`` checks against closed forms: ``kron``, torch's
``conv2d``, ``einsum``); an engine that runs structured projections natively (``torch``) must
give the same spikes, probes and counts of every element of the structured circuit.  Weights
and inputs are dyadic (multiples of 1/8 and 1/4, few terms), so every float sum is exact and
no summation order can flip a threshold tie.  Importing this module registers the cases.
"""
from __future__ import annotations

import numpy as np

import spikeattn as sa
from conformance_cases import CASES, Case, case, spikes_at

DYADIC = np.arange(-8, 9) / 8.0


@case("structured_shared", literal={"counts": {"x->h": {"synaptic_acs": [2, 4, 0, 2, 0], "messages": [1, 2, 0, 1, 0]}},
                                    "h.spike_steps": [[1], [2, 3], [], [4], [2, 4], []]})
def _structured_shared():
    """Two tokens of two features; W (3, 2) has one zero per column, so every input feature
    reaches 2 outputs: a spike is 2 accumulates (hand-counted literal)."""
    c = sa.Circuit("structured_shared")
    c.add_source("x", (2, 2))
    c.add_population("h", (2, 3), sa.IF(vth=0.5))
    c.add_population("o", (2, 3), sa.LIF(du=0.5, dv=0.25, vth=0.75))
    c.connect_shared("x", "h", np.array([[0.75, 0.0], [0.25, 1.0], [0.0, 0.5]]))
    c.connect_shared("h", "o", np.array([[0.5, -0.25, 0.0], [1.0, 0.0, 0.125], [0.0, 0.75, 0.5]]),
                     scale=np.array([1.0, 0.5]), delay=0)
    c.probe("o", ("u", "v"))
    x = spikes_at(5, 4, {0: [0], 1: [1, 3], 3: [2]})
    return c, {"x": x}, 5


@case("structured_index")
def _structured_index():
    """Head split (a permutation), a selection with -1 holes and a concatenation of two
    populations into one, with weights per entry and count messages."""
    rng = np.random.default_rng(41)
    c = sa.Circuit("structured_index")
    c.add_source("x", (3, 4), encoder="graded")
    c.add_population("m", (3, 4), sa.ir.MultiThresholdIF(vth=0.5, levels=3))
    c.add_population("heads", (2, 3, 2), sa.IF(vth=0.75))
    c.add_population("cat", (5,), sa.ir.TernaryIF(vth=0.5))
    c.connect_index("x", "m", np.arange(12), 1.0, message="graded", delay=0)
    # (tokens 3, heads 2, dh 2) -> (heads, tokens, dh)
    split = np.arange(12).reshape(3, 2, 2).transpose(1, 0, 2).reshape(-1)
    c.connect_index("m", "heads", split, rng.choice(DYADIC[9:], 12), message="count")
    c.connect_index("m", "cat", np.array([0, 5, -1, -1, 11]), np.array([0.5, -0.75, 1.0, 1.0, 0.25]),
                    name="m->cat", message="count")
    c.connect_index("heads", "cat", np.array([-1, -1, 3, 7, -1]), 0.5, name="heads->cat", delay=2)
    c.probe("cat", ("v",))
    x = rng.choice(np.arange(0, 9) / 4.0, (12, 2, 12))
    return c, {"x": x}, 12


@case("structured_conv")
def _structured_conv():
    rng = np.random.default_rng(42)
    c = sa.Circuit("structured_conv")
    c.add_source("x", (1, 4, 4))
    c.add_population("fmap", (2, 5, 5), sa.IF(vth=0.5))
    c.add_population("pool", (2, 2, 2), sa.ir.MultiThresholdIF(vth=0.25, levels=2))
    k = rng.choice(DYADIC, (2, 1, 2, 2))
    k[0, 0, 1, 1] = 0.0                       # a missing synapse: fewer accumulates
    c.connect_conv("x", "fmap", k, input_hw=(4, 4), padding=(1, 1))
    c.connect_conv("fmap", "pool", rng.choice(DYADIC, (2, 2, 3, 3)), input_hw=(5, 5), stride=(2, 2), delay=0)
    x = rng.random((10, 2, 16)) < 0.3
    return c, {"x": x}, 10


@case("structured_product")
def _structured_product():
    """QKᵀ per head with a causal mask, then attention x V, as a converted attention block:
    signed and unsigned multi-threshold levels and binary spikes."""
    rng = np.random.default_rng(43)
    T, H, D = 3, 2, 2
    c = sa.Circuit("structured_product")
    c.add_source("x", (T, H, D), encoder="graded")
    c.add_population("q", (T, H, D), sa.ir.MultiThresholdIF(vth=0.5, levels=2, signed=True))
    c.add_population("k", (T, H, D), sa.ir.MultiThresholdIF(vth=0.25, levels=3))
    c.add_population("v", (T, H, D), sa.IF(vth=0.5))
    c.add_population("att", (H, T, T), sa.ir.MultiThresholdIF(vth=0.5, levels=2))
    c.add_population("out", (T, H, D), sa.LIF(du=1.0, dv=0.5, vth=1.0))
    for name, w in (("q", rng.choice(DYADIC, 12)), ("k", rng.choice(DYADIC[8:], 12)), ("v", rng.choice(DYADIC, 12))):
        c.connect_index("x", name, np.arange(12), w, message="graded", delay=0)
    causal = np.tril(np.ones((T, T), bool))
    c.connect_product("q", "k", "att", "thd,shd->hts", weight=0.125, mask=causal, name="qk", delay=0)
    c.connect_product("att", "v", "out", "hts,shd->thd", weight=0.25, name="av")
    c.probe("out", ("v",))
    x = rng.choice(np.arange(-4, 9) / 4.0, (8, 2, 12))
    return c, {"x": x}, 8


def random_structured_circuit(seed: int):
    """A random mix of every structured kind, a flat sparse projection and long delays."""
    rng = np.random.default_rng(5000 + seed)
    G, n_in, n_h = int(rng.integers(2, 4)), int(rng.integers(2, 4)), int(rng.integers(2, 4))
    c = sa.Circuit(f"random_structured_{seed}")
    c.add_source("x", (G, n_in), encoder="graded")
    c.add_population("a", (G, n_h), sa.ir.MultiThresholdIF(vth=0.5, levels=int(rng.integers(1, 4)),
                                                           signed=bool(rng.random() < 0.5)))
    c.add_population("b", (G, n_h), sa.ir.TernaryIF(vth=0.5))
    c.add_population("p", (G, G), sa.ir.MultiThresholdIF(vth=0.25, levels=2))
    c.add_population("o", (G, n_h), sa.IF(vth=0.75))
    c.connect_shared("x", "a", rng.choice(DYADIC, (n_h, n_in)), message="graded", delay=0)
    c.connect_shared("x", "b", rng.choice(DYADIC, (n_h, n_in)), message="graded", delay=int(rng.integers(1, 3)))
    c.connect_product("a", "b", "p", "ik,jk->ij", weight=float(rng.choice([0.125, -0.25, 0.5])),
                      mask=rng.random((G, G)) < 0.7)
    c.connect_shared("p", "o", rng.choice(DYADIC, (n_h, G)), message="count", delay=0)
    c.connect_index("b", "o", rng.permutation(G * n_h), rng.choice(DYADIC, G * n_h), delay=3)
    w = rng.choice(DYADIC, (G * n_h, G * n_h)) * (rng.random((G * n_h, G * n_h)) < 0.3)
    c.connect("a", "o", sa.ir.projection.sp.csr_matrix(w), name="a->o flat", message="count", delay=2)
    steps = 14
    return c, {"x": rng.choice(np.arange(-4, 9) / 4.0, (steps, 2, G * n_in))}, steps


for _s in range(3):
    CASES[f"random_structured_{_s}"] = Case(f"random_structured_{_s}", (lambda s=_s: random_structured_circuit(s)))
