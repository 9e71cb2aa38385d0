"""Fixed-point (Loihi) Spikformer SSA and coarse-to-fine attention.

Oracles: the dense integer products ``X = (Q K^T) V`` (einsum) fed, as ``w * X`` delayed by
the 4-step latency, to an independent scalar transcription of Lava 0.10's bit-accurate LIF
equations written in this file (``loihi_lif_scalar``), cross-checked against literal
hand-computed values; and Lava 0.10 itself (``fixed_pt``), which must give the numpy
engine's spikes bit for bit."""
from pathlib import Path

import numpy as np
import pytest

import spikeattn as sa
from spikeattn.circuits.attention import ssa_attention
from spikeattn.circuits.attention.reference import loihi_lif_run, ssa_products, ssa_reference
from spikeattn.circuits.attention.ssa import fixed_point_output
from spikeattn.circuits.routing import reference, winners_from_spikes
from spikeattn.circuits.routing.hierarchical import coarse_to_fine_attention
from spikeattn.engines.lava.engine import lava_importable
from spikeattn.errors import ParameterError
from spikeattn.ir import LoihiLIF

LAVA_PYTHON = Path(__file__).resolve().parents[2] / ".venv-lava" / "bin" / "python"
needs_lava = pytest.mark.skipif(not (lava_importable() or LAVA_PYTHON.is_file()),
                                reason=f"lava-nc is not importable and there is no Lava venv at {LAVA_PYTHON} "
                                       "(create it with `make venv-lava`)")


def loihi_lif_scalar(a, du, dv, vth):
    """One neuron, pure Python ints, Lava's PyLifModelBitAcc (bias 0, no wraps reached)."""
    def trunc0(x):
        return -((-x) >> 12) if x < 0 else x >> 12
    u = v = 0
    out = []
    for x in a:
        u = trunc0(u * (4096 - (du + 1))) + (int(x) << 6)
        v = trunc0(v * (4096 - dv)) + u
        out.append(v > (vth << 6))
        v = 0 if out[-1] else v
    return out


def flat(x):
    return x.reshape(x.shape[0], x.shape[1], -1)


def test_fixed_point_output_literal():
    w, m = fixed_point_output(0.125)                     # Spikformer: scale 1/8, threshold 1/2
    assert (w, m.du, m.dv, m.vth) == (1, 4095, 2048, 4)
    w, m = fixed_point_output(0.75)                      # Q = 4: 3/4 -> 3, 1/2 -> 2
    assert (w, m.vth) == (3, 2)
    with pytest.raises(ParameterError, match="scale"):
        fixed_point_output(0.1)                          # not dyadic


def test_loihi_lif_run_hand_values():
    # du=4095 (no current memory), dv=2048 (v halves, truncated toward 0), vth=4 -> 256.
    # inputs 3, 3, 0, 5: v = 192, 96+192=288>256 spike -> 0, 0, 320 > 256 spike
    a = np.array([3, 3, 0, 5])
    assert loihi_lif_run(a, 4095, 2048, 4).tolist() == [False, True, False, True]
    assert loihi_lif_scalar(a, 4095, 2048, 4) == [False, True, False, True]
    rng = np.random.default_rng(3)
    a = rng.integers(0, 9, (60, 5))
    for du, dv, vth in ((4095, 2048, 4), (0, 100, 30), (2000, 4095, 7)):
        got = loihi_lif_run(a, du, dv, vth)
        for j in range(5):
            assert got[:, j].tolist() == loihi_lif_scalar(a[:, j], du, dv, vth)


@pytest.mark.parametrize("n,d,heads,order,scale", [(5, 4, 1, "qk_v", 0.125), (6, 8, 2, "qk_v", 0.125),
                                                    (4, 6, 3, "qk_v", 0.75), (6, 8, 2, "q_kv", 0.125),
                                                    (3, 4, 1, "q_kv", 0.25)])
def test_fixed_ssa_equals_oracle(n, d, heads, order, scale):
    rng = np.random.default_rng(n * 100 + d)
    T, B = 24, 3
    q, k, v = (rng.random((T, B, n, d)) < rng.uniform(0.2, 0.7) for _ in range(3))
    c = ssa_attention(n, d, heads, order=order, scale=scale, fixed_point=True)
    assert c.fixed_point and "fused" not in c.meta
    r = sa.simulate(c, {"q": flat(q), "k": flat(k), "v": flat(v)}, steps=T)
    y = np.asarray(r.spikes["y"]).reshape(T, B, n, d)
    ref = ssa_reference(q, k, v, heads=heads, scale=scale, fixed_point=True)
    assert np.array_equal(y, ref)
    w, m = fixed_point_output(scale)
    x = ssa_products(q, k, v, heads)                       # per-neuron scalar oracle on one sample
    a = np.zeros((T, n, d), np.int64)
    a[4:] = w * x[:-4, 0]
    for i in range(n):
        for e in range(d):
            assert y[:, 0, i, e].tolist() == loihi_lif_scalar(a[:, i, e], m.du, m.dv, m.vth)
    assert 0 < y.sum() < y.size
    # the graded map A of qk_v carries the integer Q K^T of each step (delayed by 2)
    if order == "qk_v":
        counts = np.asarray(r.spikes["map"]).reshape(T, B, heads, n * n)
        qk = np.einsum("tbihc,tbjhc->tbhij", q.reshape(T, B, n, heads, -1).astype(int),
                       k.reshape(T, B, n, heads, -1).astype(int)).reshape(T, B, heads, -1)
        assert np.array_equal(counts[2:], qk[:-2])


def test_fixed_ssa_mask_and_relay_delays():
    rng = np.random.default_rng(7)
    n, d, T, B = 6, 4, 20, 2
    mask = np.tril(np.ones((n, n), bool))
    q, k, v = (rng.random((T, B, n, d)) < 0.5 for _ in range(3))
    for mode in ("synaptic", "relay"):
        c = ssa_attention(n, d, 2, mask=mask, fixed_point=True, delay_mode=mode)
        r = sa.simulate(c, {"q": flat(q), "k": flat(k), "v": flat(v)}, steps=T)
        y = np.asarray(r.spikes["y"]).reshape(T, B, n, d)
        assert np.array_equal(y, ssa_reference(q, k, v, heads=2, mask=mask, fixed_point=True))


def test_fixed_ssa_refusals():
    with pytest.raises(ParameterError, match="map_code"):
        ssa_attention(4, 4, map_code="unary", fixed_point=True)
    with pytest.raises(ParameterError, match="dim/heads"):
        ssa_attention(2, 256, 1, fixed_point=True)          # gate bound c = 256 > 255
    with pytest.raises(ParameterError, match="out_model"):
        ssa_attention(4, 4, out_model=sa.LIF(), fixed_point=True)
    c = ssa_attention(3, 4, out_model=LoihiLIF(du=4095, dv=4095, vth=2), fixed_point=True)
    assert c.populations["y"].model.vth == 2


@needs_lava
@pytest.mark.parametrize("order", ["qk_v", "q_kv"])
def test_fixed_ssa_lava_bit_exact(order):
    rng = np.random.default_rng(11)
    n, d, h, T, B = 4, 4, 2, 14, 2
    c = ssa_attention(n, d, h, order=order, fixed_point=True)
    inputs = {p: rng.random((T, B, n * d)) < 0.5 for p in "qkv"}
    rn = sa.simulate(c, inputs, steps=T, engine="numpy")
    rl = sa.simulate(c, inputs, steps=T, engine="lava")
    for name in rn.spikes:
        assert np.array_equal(np.asarray(rn.spikes[name]), np.asarray(rl.spikes[name])), name
    assert rn.counts.totals() == rl.counts.totals()
    y = np.asarray(rl.spikes["y"]).reshape(T, B, n, d)
    assert y.any()
    assert np.array_equal(y, ssa_reference(*(inputs[p].reshape(T, B, n, d) for p in "qkv"), heads=h,
                                           fixed_point=True))


def _c2f_inputs(rng, R, G, D, steps, B):
    p = rng.uniform(0.05, 0.4, (B, R))[:, :, None].repeat(G * D, 2).reshape(B, -1)
    return rng.random((steps, B, R * G * D)) < p[None]


def test_fixed_coarse_to_fine_only_selected_regions(rng):
    R, G, D, B = 4, 2, 4, 10
    c = coarse_to_fine_attention(R, G, D, 1, coarse_window=4, fixed_point=True)
    assert c.fixed_point
    steps = c.meta["coarse_to_fine"]["decision_steps_max"] + 12
    n = R * G
    x = _c2f_inputs(rng, R, G, D, steps, B)
    r = sa.simulate(c, {"x": x}, steps=steps)
    regions = winners_from_spikes(r.spikes["coarse.winners"])
    pooled = reference.window_counts(x, 0, 4).reshape(B, R, G * D).sum(axis=2)
    assert np.array_equal(regions, reference.topk_with_ties(pooled, 1))
    open_from = np.repeat(reference.first_spike_times(r.spikes["coarse.winners"]), G * D, axis=1) + 1
    t = np.arange(steps)[:, None, None]
    relayed = np.zeros_like(x)
    relayed[1:] = (x & np.repeat(regions, G * D, axis=1)[None] & (t >= open_from[None]))[:-1]
    assert np.array_equal(np.asarray(r.spikes["regions.relays"]), relayed)
    q = relayed.reshape(steps, B, n, D)
    y = np.asarray(r.spikes["attn.y"]).reshape(steps, B, n, D)
    assert np.array_equal(y, ssa_reference(q, q, q, fixed_point=True))
    outside = ~np.repeat(regions, G, axis=1)                       # (B, n) tokens of closed regions
    assert y.sum() > 0 and not y.transpose(1, 2, 0, 3)[outside].any()
    # no coincidence involving a closed region's token ever fires
    coinc = np.asarray(r.spikes["attn.coinc"]).reshape(steps, B, n, n, D)
    assert not coinc.transpose(1, 2, 0, 3, 4)[outside].any()


@needs_lava
def test_fixed_coarse_to_fine_lava_bit_exact(rng):
    R, G, D, B = 2, 2, 2, 2
    c = coarse_to_fine_attention(R, G, D, 1, coarse_window=3, fixed_point=True)
    steps = c.meta["coarse_to_fine"]["decision_steps_max"] + 6
    x = _c2f_inputs(rng, R, G, D, steps, B)
    rn = sa.simulate(c, {"x": x}, steps=steps, engine="numpy")
    rl = sa.simulate(c, {"x": x}, steps=steps, engine="lava")
    for name in rn.spikes:
        assert np.array_equal(np.asarray(rn.spikes[name]), np.asarray(rl.spikes[name])), name
    assert rn.counts.totals() == rl.counts.totals()
