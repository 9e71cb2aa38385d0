"""The compiled engine (numba whole-loop, ``engine="compiled"``).

Oracles: closed forms and literal trajectories computed here in plain Python (exact
fractions / Python ints) for hand cases; the circuits' dense references for the circuit
library; Lava 0.10 itself for fixed point; and, for every circuit, the numpy engine
(identical spikes, probes, EventCounts and diagnostics).  The first run of a session may
JIT-compile the loop (seconds); later runs load it from numba's on-disk cache.
"""
from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import spikeattn as sa
from spikeattn.errors import FixedPointOverflowError, InputError, UnsupportedFeatureError
from spikeattn.ir import IF, LIF, Circuit, LoihiLIF, MultiThresholdIF, TernaryIF
from spikeattn.ir.neurons_extra import GradedReLU

pytestmark = pytest.mark.skipif(importlib.util.find_spec("numba") is None,
                                reason="numba (extra 'fast') is not installed; the fallback is tested in "
                                       "test_fallback_without_numba_warns_and_runs_numpy")

REPO = Path(__file__).resolve().parents[2]


def same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


def assert_identical(r, base):
    """Spikes, probes, EventCounts and diagnostics of ``r`` equal those of ``base``."""
    assert set(r.spikes) == set(base.spikes)
    for n in base.spikes:
        assert same(r.spikes[n], base.spikes[n]), f"spikes of {n}"
    assert set(r.probes) == set(base.probes)
    for n, d in base.probes.items():
        assert set(r.probes[n]) == set(d)
        for var, arr in d.items():
            assert same(r.probes[n][var], arr), f"probe {n}.{var}"
    assert r.counts == base.counts, r.counts.diff(base.counts)
    assert set(r.diagnostics) == set(base.diagnostics)
    for n, flags in base.diagnostics.items():
        assert set(r.diagnostics[n]) == set(flags), n
        for f, arr in flags.items():
            assert np.array_equal(r.diagnostics[n][f], arr), f"{n} {f}"


def run_both(c, inputs, steps, batch=None, parallel=(False, True), **opts):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.errors.SpikeattnWarning)
        base = sa.simulate(c, inputs, steps=steps, batch=batch, engine="numpy", **opts)
        results = [sa.simulate(c, inputs, steps=steps, batch=batch, engine="compiled", parallel=p, **opts)
                   for p in parallel]
    for r in results:
        assert r.engine == "compiled" and "fallback" not in r.meta
        assert_identical(r, base)
    return results[0], base


# ----------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize("a,vth", [(0.375, 1.0), (0.25, 1.0), (0.3, 2.0)])
@pytest.mark.parametrize("via", ["bias", "input"])
def test_if_constant_drive_spikes_every_ceil_vth_over_a(a, vth, via):
    """IF, reset to zero, constant drive a per step: spike at the first k with k*a > vth,
    then again every k steps (k = floor(vth/a) + 1, computed with exact fractions)."""
    steps = 40
    c = Circuit("if")
    if via == "bias":
        c.add_population("n", 1, IF(vth=vth, bias=a, reset="zero"))
        inputs = {}
    else:
        c.add_source("x", 1, encoder="graded")
        c.add_population("n", 1, IF(vth=vth, reset="zero"))
        c.connect("x", "n", np.array([[1.0]]), delay=0, message="graded")
        inputs = {"x": np.array([a])}
    r, _ = run_both(c, inputs, steps)
    k = math.floor(Fraction(vth) / Fraction(a)) + 1     # first k with k * a > vth (strict threshold)
    expect = np.zeros(steps, bool)
    expect[k - 1::k] = True
    assert np.array_equal(r.spikes["n"][:, 0, 0], expect)


def test_lif_literal_trajectory_after_one_input_spike():
    """u_t = 0.5**(t-1), v_t = 0.75 v_(t-1) + u_t after one input spike of weight 1 at t = 0
    (delay 1), computed with exact fractions (all values dyadic, so float64 is exact)."""
    c = Circuit("lif")
    c.add_source("x", 1)
    c.add_population("n", 1, LIF(du=0.5, dv=0.25, vth=100.0))
    c.connect("x", "n", np.array([[1.0]]), delay=1)
    c.probe("n", ("u", "v"))
    x = np.zeros((16, 1), bool)
    x[0] = True
    r, _ = run_both(c, {"x": x}, 16)
    u, v, us, vs = Fraction(0), Fraction(0), [], []
    for t in range(16):
        u = u * Fraction(1, 2) + (1 if t == 1 else 0)
        v = v * Fraction(3, 4) + u
        us.append(float(u))
        vs.append(float(v))
    assert np.array_equal(r.probes["n"]["u"][:, 0, 0], us)
    assert np.array_equal(r.probes["n"]["v"][:, 0, 0], vs)
    assert r.counts.total("neuron_updates_active") == 15      # idle only at t = 0 (nothing carried)


def test_refractory_period_closed_form():
    """bias 2 > vth 1, reset zero, refractory r: a spike every r + 1 steps from t = 0."""
    for r_steps in (1, 3):
        c = Circuit("ref")
        c.add_population("n", 2, LIF(du=1.0, dv=0.0, vth=1.0, bias=2.0, refractory=r_steps))
        r, _ = run_both(c, {}, 20)
        expect = (np.arange(20) % (r_steps + 1)) == 0
        assert np.array_equal(r.spikes["n"][:, 0, 0], expect)


def loihi_reference(a_seq, du, dv, vth, bias):
    """The LoihiLIF equations of the IR docstring, in Python ints (one neuron)."""
    def trunc0(x):
        return x >> 12 if x >= 0 else -((-x) >> 12)

    def wrap32(x):
        return ((x + 2**31) & 0xFFFFFFFF) - 2**31
    u = v = 0
    out = []
    for a in a_seq:
        u1 = wrap32(trunc0(u * (4096 - (du + 1))) + wrap32(wrap32(a) << 6))
        u = u1 - 2**24 if u1 > 2**23 else (u1 + 2**24 if u1 <= -2**23 else u1)
        v = max(-(2**23 - 1), min(2**23 - 1, wrap32(trunc0(v * (4096 - dv)) + u + bias)))
        s = v > (vth << 6)
        if s:
            v = 0
        out.append((u, v, s))
    return out


@pytest.mark.parametrize("w,exp,bits", [(37, 0, 8), (-37, 2, 8), (101, 6, 5), (255, 16, 8)])
def test_loihi_lif_matches_python_int_equations(w, exp, bits):
    """One LoihiLIF neuron behind one synapse (delay 1): u, v, spikes equal the docstring's
    integer equations evaluated in Python ints, including int32 wraps at weight_exp 16."""
    rng = np.random.default_rng(abs(w) + exp)
    x = rng.random((60, 1)) < 0.4
    c = Circuit("loihi")
    c.add_source("x", 1)
    c.add_population("n", 1, LoihiLIF(du=300, dv=50, vth=80, bias_mant=3, bias_exp=2))
    c.connect("x", "n", np.array([[w]]), delay=1, weight_exp=exp, num_weight_bits=bits)
    c.probe("n", ("u", "v"))
    r, _ = run_both(c, {"x": x}, 60, on_overflow="wrap")
    tb = 8 - bits
    wq = (min(w, 255) >> tb) << tb if w >= 0 else -((min(-w, 255) >> tb) << tb)   # excitatory/inhibitory
    a = [0] + [(wq if s else 0) << exp for s in x[:-1, 0]]
    ref = loihi_reference(a, 300, 50, 80, 3 << 2)
    assert r.probes["n"]["u"][:, 0, 0].tolist() == [u for u, _, _ in ref]
    assert r.probes["n"]["v"][:, 0, 0].tolist() == [v for _, v, _ in ref]
    assert r.spikes["n"][:, 0, 0].tolist() == [s for _, _, s in ref]


def test_overflow_diagnostics_and_raise():
    """Huge fixed-point inputs wrap: diagnostics equal numpy's; on_overflow='raise' raises."""
    c = Circuit("wrap")
    c.add_source("x", 4)
    c.add_population("n", 3, LoihiLIF(du=0, dv=0, vth=2**16))
    c.connect("x", "n", np.full((3, 4), 255), delay=1, weight_exp=16)
    x = np.ones((12, 2, 4), bool)
    r, _ = run_both(c, {"x": x}, 12, on_overflow="wrap")
    assert r.diagnostics["n"]["overflow:a_in"].sum() > 0
    with pytest.raises(FixedPointOverflowError):
        sa.simulate(c, {"x": x}, steps=12, engine="compiled", on_overflow="raise")
    with pytest.warns(sa.errors.SpikeattnWarning, match="wrapped"):
        sa.simulate(c, {"x": x}, steps=12, engine="compiled")


def test_float_nonfinite_diagnostics_match_numpy():
    c = Circuit("inf")
    c.add_source("x", 2)
    c.add_population("n", 2, LIF(du=0.5, dv=0.5, vth=1e308))
    c.connect("x", "n", np.full((2, 2), 1e308), delay=1)
    c.probe("n", ("u", "v"))
    r, _ = run_both(c, {"x": np.ones((6, 2), bool)}, 6, on_overflow="wrap")
    assert r.diagnostics["n"]["nonfinite:u"].sum() > 0


# ----------------------------------------------------------------------------- random circuits
def random_circuit(rng, fixed: bool, decimal: bool) -> tuple[Circuit, dict]:
    """Sources (binary / graded), 2-4 populations (LIF, IF, GradedReLU, TernaryIF,
    MultiThresholdIF or LoihiLIF with random, sometimes per-neuron, parameters and initial
    state), dense / sparse, binary (signed from signed-output models) / graded / count
    projections with delays 0 (forward only), 1 and > 1, probes.  ``decimal``: weights in
    steps of 0.1 (threshold ties depend on the summation order), else multiples of 1/16."""
    c = Circuit("rand")
    nodes, inputs = [], {}
    steps = 25
    for i in range(int(rng.integers(1, 3))):
        n = int(rng.integers(2, 7))
        graded = rng.random() < 0.5
        name = f"s{i}"
        if graded:
            c.add_source(name, n, encoder="graded")
            vals = rng.integers(0, 4, (steps, 3, n)) * (rng.random((steps, 3, n)) < 0.5)
            inputs[name] = vals if fixed else vals * (0.1 if decimal else 0.5)
        else:
            c.add_source(name, n)
            inputs[name] = rng.random((steps, 3, n)) < 0.4
        nodes.append(name)
    step = 0.1 if decimal else 1 / 16
    for i in range(int(rng.integers(2, 5))):
        n = int(rng.integers(2, 9))
        name = f"p{i}"
        kind = rng.choice(["lif", "if", "relu", "ternary", "multi"] if not fixed else ["loihi"])
        init = {}
        if kind == "loihi":
            model = LoihiLIF(du=int(rng.integers(0, 4096)), dv=int(rng.integers(0, 4096)),
                             vth=int(rng.integers(1, 200)), bias_mant=int(rng.integers(-20, 20)) * (rng.random() < 0.5),
                             bias_exp=int(rng.integers(-2, 4)))
            if rng.random() < 0.3:
                init = {"u": rng.integers(-2000, 2000, n), "v": rng.integers(-2000, 2000, n)}
        elif kind == "relu":
            model = GradedReLU(vth=float(rng.integers(0, 4)) * step)
        elif kind == "ternary":
            model = TernaryIF(vth=float(rng.integers(2, 8)) * step, bias=int(rng.integers(-1, 2)) * step)
        elif kind == "multi":
            model = MultiThresholdIF(vth=float(rng.integers(2, 8)) * step, levels=int(rng.integers(1, 4)),
                                     signed=bool(rng.random() < 0.5), bias=int(rng.integers(-1, 2)) * step)
        else:
            per = rng.random() < 0.4
            vth = (rng.integers(3, 12, n) if per else int(rng.integers(3, 12))) * step
            bias = int(rng.integers(-1, 2)) * step * (rng.random() < 0.4)
            refractory = int(rng.integers(0, 3)) if rng.random() < 0.3 else 0
            reset = "zero" if refractory or rng.random() < 0.5 else "subtract"
            if kind == "if":
                model = IF(vth=vth, bias=bias, reset=reset, refractory=refractory)
            else:
                du = (rng.integers(0, 9, n) if per else int(rng.integers(0, 9))) / 8
                model = LIF(du=du, dv=int(rng.integers(0, 5)) / 8, vth=vth, bias=bias, reset=reset,
                            v_reset=-step * (rng.random() < 0.3), refractory=refractory)
            if rng.random() < 0.3:
                init = {"u": rng.integers(-3, 4, n) * step, "v": rng.integers(-3, 4, n) * step}
        c.add_population(name, n, model, init)
        for pre in nodes:
            if rng.random() < 0.6:
                delay = int(rng.choice([0, 1, 1, 2, 4]))
                npre = c.node(pre).size
                if fixed:
                    w = rng.integers(-300, 300, (n, npre)) * (rng.random((n, npre)) < 0.7)
                else:
                    w = rng.integers(-6, 9, (n, npre)) * step * (rng.random((n, npre)) < 0.7)
                if rng.random() < 0.4:
                    w = sp.csr_matrix(w)
                kw = dict(delay=delay, message=str(rng.choice(["binary", "binary", "graded", "count"])))
                if fixed:
                    kw.update(weight_exp=int(rng.integers(-3, 4)), num_weight_bits=int(rng.integers(4, 9)))
                c.connect(pre, name, w, name=f"{pre}->{name}.{len(c.projections)}", **kw)
        if rng.random() < 0.5:   # a recurrent projection (delay >= 1)
            w = (rng.integers(-200, 200, (n, n)) if fixed else rng.integers(-4, 5, (n, n)) * step)
            c.connect(name, name, w, name=f"rec{i}", delay=int(rng.integers(1, 4)))
        if rng.random() < 0.6:
            c.probe(name, model.state[: int(rng.integers(1, len(model.state) + 1))])
        nodes.append(name)
    return c, inputs


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("fixed,decimal", [(False, False), (False, True), (True, False)])
def test_random_circuits_identical_to_numpy(seed, fixed, decimal):
    rng = np.random.default_rng([seed, fixed, decimal])
    c, inputs = random_circuit(rng, fixed, decimal)
    r, base = run_both(c, inputs, 25, on_overflow="wrap")
    assert sum(int(np.count_nonzero(base.spikes[n])) for n in c.populations) >= 0


def test_decimal_weights_threshold_ties_follow_projection_name_order():
    """Inputs 0.1, 0.7, 0.2 on projections 'c', 'a', 'b' (inserted out of order): a_in is
    ((0.0 + 0.7) + 0.2) + 0.1 (name order a, b, c), which differs from other orders in float64."""
    c = Circuit("ties")
    c.add_source("x", 3)
    c.add_population("n", 1, LIF(du=1.0, dv=1.0, vth=100.0))
    c.connect("x", "n", np.array([[0.1, 0.0, 0.0]]), name="c", delay=0)
    c.connect("x", "n", np.array([[0.0, 0.7, 0.0]]), name="a", delay=0)
    c.connect("x", "n", np.array([[0.0, 0.0, 0.2]]), name="b", delay=0)
    c.probe("n", ("u",))
    r, _ = run_both(c, {"x": np.ones((2, 3), bool)}, 2)
    expect = ((0.0 + 0.7) + 0.2) + 0.1
    assert expect != (0.1 + 0.7) + 0.2
    assert r.probes["n"]["u"][0, 0, 0] == expect


@pytest.mark.parametrize("sizes", [(5, 11, 16), (8, 16), (3, 1000), (13,)])
def test_binary_sources_any_size_and_offset(sizes):
    """Binary inputs are scanned 8 bytes at a time where a source's row is 8-byte aligned
    (total width a multiple of 8, offset a multiple of 8), byte by byte elsewhere: every
    layout delivers the same spikes and counts as numpy, and the input spike count equals
    the number of True inputs (closed form)."""
    rng = np.random.default_rng(len(sizes) * 100 + sizes[0])
    c = Circuit("src")
    inputs = {}
    c.add_population("h", 9, LIF(du=0.5, dv=0.25, vth=0.75))
    for i, n in enumerate(sizes):
        c.add_source(f"x{i}", n)
        inputs[f"x{i}"] = rng.random((20, 3, n)) < 0.2
        c.connect(f"x{i}", "h", rng.integers(-2, 5, (9, n)) / 4, delay=int(i % 2))
    r, _ = run_both(c, inputs, 20)
    for i, n in enumerate(sizes):
        assert np.array_equal(r.counts.elements[f"x{i}"].fields["spikes"], inputs[f"x{i}"].sum(axis=2))


# ----------------------------------------------------------------------------- circuit library
def qkv(rng, T, B, n, d):
    q, k, v = (rng.random((T, B, n, d)) < 0.5 for _ in range(3))
    return (q, k, v), {"q": q.reshape(T, B, -1), "k": k.reshape(T, B, -1), "v": v.reshape(T, B, -1)}


@pytest.mark.parametrize("delay_mode", ["synaptic", "relay"])
def test_sdsa_matches_formula(delay_mode):
    from spikeattn.circuits.attention import patterns, sdsa_attention
    from spikeattn.circuits.attention import reference as ref

    rng = np.random.default_rng(3)
    (q, k, v), inp = qkv(rng, 12, 2, 4, 3)
    mask = patterns.local_window(4, 1) if delay_mode == "relay" else None
    c = sdsa_attention(4, 3, mask=mask, delay_mode=delay_mode)
    r, _ = run_both(c, inp, 12)
    out, _ = ref.sdsa_reference(q, k, v, mask=mask)
    assert out.any()
    assert np.array_equal(r.spikes["y"].reshape(out.shape), out)


@pytest.mark.parametrize("order,map_code", [("qk_v", "graded"), ("q_kv", "graded"), ("qk_v", "unary")])
def test_ssa_matches_formula(order, map_code):
    from spikeattn.circuits.attention import ssa_attention
    from spikeattn.circuits.attention import reference as ref

    rng = np.random.default_rng(4)
    (q, k, v), inp = qkv(rng, 12, 2, 4, 3)
    kw = {"map_code": "unary"} if map_code == "unary" else {"order": order}
    c = ssa_attention(4, 3, 1, scale=0.5, **kw)
    r, _ = run_both(c, inp, 12)
    expect = ref.ssa_reference(q, k, v, 1, scale=0.5)
    assert expect.any()
    assert np.array_equal(r.spikes["y"].reshape(expect.shape), expect)


@pytest.mark.parametrize("fixed", [False, True])
def test_kwta_picks_true_topk(fixed):
    from spikeattn.circuits.routing import kwta, reference, required_steps, winners_from_spikes

    rng = np.random.default_rng(5)
    c = kwta(6, 2, "count", window=10, fixed_point=fixed)
    steps = required_steps(c.meta)
    x = rng.random((steps, 20, 6)) < rng.uniform(0.05, 0.8, (20, 6))[None]
    r, _ = run_both(c, {"in": x}, steps)
    assert np.array_equal(winners_from_spikes(r.spikes["winners"]),
                          reference.topk_with_ties(reference.window_counts(x, 0, 10), 2))


@pytest.mark.parametrize("fixed", [False, True])
def test_moe_routes_to_true_topk(fixed):
    from spikeattn.circuits.routing import feedforward_expert, moe_layer, reference, winners_from_spikes

    rng = np.random.default_rng(6)
    D, E, B = 6, 3, 12
    G = rng.integers(-1, 3, (E, D))
    c = moe_layer(G, lambda e: feedforward_expert(D, 6, 3, seed=e, fixed_point=fixed), k=1, window=6,
                  fixed_point=fixed)
    steps = c.meta["moe"]["steps_min"] + 6
    x = rng.random((steps, B, D)) < rng.uniform(0.1, 0.7, (B, D))[None]
    r, _ = run_both(c, {"token": x}, steps)
    sel = winners_from_spikes(r.spikes["gate.winners"])
    assert np.array_equal(sel, reference.topk_with_ties(reference.window_counts(x, 0, 6) @ G.T, 1))


@pytest.mark.parametrize("mode", ["coincidence", "disinhibition"])
def test_fixed_point_router_matches_reference(mode):
    from spikeattn.circuits.routing import gated_router, reference

    rng = np.random.default_rng(7)
    K, M, steps, B = 3, 4, 25, 4
    c = gated_router(K, M, mode, fixed_point=True)
    x = rng.random((steps, B, K * M)) < 0.3
    sel = np.zeros((steps, B, K), bool)
    sel[6, :, 2] = True
    r, _ = run_both(c, {"in": x, "select": sel}, steps)
    selected = np.zeros((B, K), bool)
    selected[:, 2] = True
    assert np.array_equal(r.spikes["out"], reference.route(x.reshape(steps, B, K, M), selected,
                                                           np.full(B, 7), latency=2))


LAVA = importlib.util.find_spec("lava") is not None or (REPO / ".venv-lava" / "bin" / "python").exists()


@pytest.mark.skipif(not LAVA, reason="lava-nc not importable and no .venv-lava to bridge to")
def test_fixed_point_bit_exact_with_lava():
    """A recurrent LoihiLIF circuit with mixed-sign weights, weight_exp and bias: u, v and
    spikes equal Lava 0.10's Loihi2SimCfg fixed_pt run."""
    rng = np.random.default_rng(8)
    c = Circuit("lava_fx")
    c.add_source("x", 5)
    c.add_population("a", 6, LoihiLIF(du=200, dv=100, vth=60, bias_mant=5, bias_exp=1))
    c.add_population("b", 4, LoihiLIF(du=4095, dv=20, vth=40))
    c.connect("x", "a", rng.integers(-60, 120, (6, 5)), weight_exp=1)
    c.connect("a", "b", rng.integers(-100, 200, (4, 6)), num_weight_bits=6)
    c.connect("b", "a", rng.integers(-80, 80, (6, 4)))
    c.probe("a", ("u", "v"))
    c.probe("b", ("u", "v"))
    x = rng.random((30, 5)) < 0.5
    r = sa.simulate(c, {"x": x}, steps=30, engine="compiled")
    lava = sa.simulate(c, {"x": x}, steps=30, engine="lava", mode="fixed_pt")
    assert r.spikes["a"].any() and r.spikes["b"].any()
    for n in ("a", "b"):
        assert np.array_equal(r.spikes[n], lava.spikes[n])
        for var in ("u", "v"):
            assert np.array_equal(r.probes[n][var], lava.probes[n][var])


# ----------------------------------------------------------------------------- engine behaviour
def test_parallel_batch_equals_serial_and_single_samples():
    """Samples are independent: a parallel batch equals the serial batch and each sample
    run alone."""
    rng = np.random.default_rng(9)
    c = Circuit("batch")
    c.add_source("x", 30)
    c.add_population("h", 40, LIF(du=0.2, dv=0.1, vth=1.0))
    c.connect("x", "h", rng.normal(0, 0.5, (40, 30)))
    c.connect("h", "h", sp.random(40, 40, 0.2, random_state=1) * 0.3, delay=2)
    c.probe("h", ("v",))
    x = rng.random((50, 7, 30)) < 0.2
    r, _ = run_both(c, {"x": x}, 50)
    for b in (0, 6):
        one = sa.simulate(c, {"x": x[:, b:b + 1]}, steps=50, engine="compiled")
        assert np.array_equal(one.spikes["h"][:, 0], r.spikes["h"][:, b])
        assert np.array_equal(one.probes["h"]["v"][:, 0], r.probes["h"]["v"][:, b])


def test_progress_chunks_equal_one_chunk():
    rng = np.random.default_rng(10)
    c = Circuit("chunks")
    c.add_source("x", 10)
    c.add_population("h", 10, LIF(du=0.25, dv=0.125, vth=0.5))
    c.connect("x", "h", rng.integers(-2, 5, (10, 10)) / 8, delay=3)
    x = rng.random((40, 2, 10)) < 0.3
    one = sa.simulate(c, {"x": x}, steps=40, engine="compiled")
    chunked = sa.simulate(c, {"x": x}, steps=40, engine="compiled", progress=True, progress_every=7)
    assert_identical(chunked, one)


def test_options_are_checked():
    c = Circuit("opts")
    c.add_population("h", 2, LIF())
    with pytest.raises(InputError, match="fused"):
        sa.simulate(c, {}, steps=3, engine="compiled", fused=True)
    with pytest.raises(InputError, match="parallel"):
        sa.simulate(c, {}, steps=3, engine="compiled", parallel="yes")
    with pytest.raises(InputError, match="progress_every"):
        sa.simulate(c, {}, steps=3, engine="compiled", progress=True, progress_every=0)


def test_model_with_other_dynamics_is_refused_up_front():
    """A LIF subclass that registers its own Dynamics has no compiled kernel: refused before
    running (never run with the parent's LIF kernel), naming the model and numpy."""
    from dataclasses import dataclass

    from spikeattn.dynamics import DYNAMICS, LIFDynamics, register_dynamics

    @dataclass(frozen=True, eq=False)
    class DoubleLIF(LIF):
        pass

    @register_dynamics(DoubleLIF)
    class DoubleLIFDynamics(LIFDynamics):
        def step(self, params, state, a_in):
            return super().step(params, state, 2 * a_in)

    try:
        c = Circuit("odd")
        c.add_source("x", 2)
        c.add_population("h", 2, DoubleLIF(vth=0.5))
        c.connect("x", "h", np.eye(2) * 0.3)
        x = np.ones((5, 2), bool)
        with pytest.raises(UnsupportedFeatureError, match=r"DoubleLIF.*numpy"):
            sa.simulate(c, {"x": x}, steps=5, engine="compiled")
        from spikeattn.engines.base import engine_supports
        assert not engine_supports("compiled", c) and engine_supports("numpy", c)
        # a plain LIF subclass without its own Dynamics behaves as LIF and runs
        @dataclass(frozen=True, eq=False)
        class PlainSub(LIF):
            pass
        c2 = Circuit("sub")
        c2.add_source("x", 2)
        c2.add_population("h", 2, PlainSub(vth=0.5))
        c2.connect("x", "h", np.eye(2) * 0.75)
        run_both(c2, {"x": x}, 5)
    finally:
        DYNAMICS.pop(DoubleLIF, None)


def test_cache_dir_moves_under_user_cache_when_package_dir_read_only(monkeypatch, tmp_path):
    from spikeattn.engines.compiled import engine

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(engine.os, "access", lambda path, mode: False)
    engine._numba_cache_dir()
    assert engine.os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "spikeattn" / "numba")


def test_jit_is_cached_on_disk():
    """The loop is compiled with cache=True: its dispatchers hold an on-disk cache."""
    from spikeattn.engines.compiled import loop

    for fn in loop.DRIVERS.values():
        assert fn._cache.__class__.__name__ == "FunctionCache"
        assert Path(fn._cache._cache_path).is_dir()


START_METHOD = r"""
import multiprocessing, numpy as np, spikeattn as sa
from spikeattn.ir import LIF, Circuit
c = Circuit("mp")
c.add_source("x", 3)
c.add_population("h", 3, LIF(du=0.5, vth=0.5))
c.connect("x", "h", np.eye(3))
for batch in (1, 3):
    sa.simulate(c, {"x": np.ones((4, batch, 3), bool)}, steps=4, engine="compiled")
print(multiprocessing.get_start_method(allow_none=True))
"""


def test_runs_leave_the_multiprocessing_start_method_unset():
    """numba's threading layer fixes multiprocessing's start method when it starts; Lava 0.10
    then fails in the same process on set_start_method('fork').  A fresh process that ran
    the compiled engine (serial and parallel) still has no start method chosen."""
    out = subprocess.run([sys.executable, "-c", START_METHOD], capture_output=True, text=True, cwd=REPO,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "None"


FALLBACK = r"""
import sys, json, warnings
sys.modules["numba"] = None          # numba hidden: importing it raises ImportError
import numpy as np
import spikeattn as sa
from spikeattn.ir import LIF, Circuit
c = Circuit("fb")
c.add_source("x", 3)
c.add_population("h", 3, LIF(du=0.5, dv=0.25, vth=0.5))
c.connect("x", "h", np.eye(3) * 0.375)
x = np.random.default_rng(0).random((20, 2, 3)) < 0.5
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    r = sa.simulate(c, {"x": x}, steps=20, engine="compiled")
base = sa.simulate(c, {"x": x}, steps=20, engine="numpy")
from spikeattn.engines.base import engine_class
print(json.dumps({"warnings": [f"{type(m.message).__name__}: {m.message}" for m in w],
                  "fallback": r.meta.get("fallback"), "engine": r.engine,
                  "same": bool(np.array_equal(r.spikes["h"], base.spikes["h"]) and r.counts == base.counts),
                  "unavailable": engine_class("compiled").unavailable()}))
"""


def test_fallback_without_numba_warns_and_runs_numpy():
    out = subprocess.run([sys.executable, "-c", FALLBACK], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["fallback"] == "numpy" and res["engine"] == "numpy" and res["same"]
    assert any(m.startswith("CompiledFallbackWarning") and "spikeattn[fast]" in m for m in res["warnings"])
    assert "numba" in res["unavailable"]


def test_per_neuron_parameters():
    """Per-neuron du, dv, vth, bias and v_reset are packed per neuron."""
    c = Circuit("per")
    c.add_source("x", 3)
    c.add_population("h", 3, LIF(du=np.array([0.5, 0.25, 1.0]), dv=np.array([0.0, 0.5, 0.25]),
                                 vth=np.array([0.5, 1.0, 0.25]), bias=np.array([0.0, 0.125, -0.125]),
                                 v_reset=np.array([0.0, -0.5, 0.25])))
    c.connect("x", "h", np.full((3, 3), 0.25))
    c.probe("h", ("u", "v"))
    r, _ = run_both(c, {"x": np.random.default_rng(1).random((30, 3)) < 0.5}, 30)
    assert r.spikes["h"].any(axis=(0, 1)).all()
