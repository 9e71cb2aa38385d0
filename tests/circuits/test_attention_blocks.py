"""Multi-head, causal, cross-attention blocks and causal linear attention against dense numpy."""
import numpy as np
import pytest

from spikeattn import LIF, simulate
from spikeattn.circuits.attention import (attention_block, block_reference, cross_attention_block,
                                          linear_attention, linear_reference, patterns)
from spikeattn.errors import ParameterError, ShapeMismatchError


def weights(rng, a, b):
    return rng.integers(-4, 9, (a, b)) / 8  # dyadic: sums are exact in any order


@pytest.mark.parametrize("kind,order", [("ssa", "qk_v"), ("ssa", "q_kv"), ("sdsa", "qk_v")])
@pytest.mark.parametrize("heads", [1, 2])
def test_block_matches_reference(rng, kind, order, heads):
    T, B, n, din, d, dout = 16, 2, 5, 4, 4, 3
    wq, wk, wv = weights(rng, d, din), weights(rng, d, din), weights(rng, d, din)
    wo = rng.integers(2, 9, (dout, d)) / 8  # excitatory, so the output layer is active
    x = rng.random((T, B, n, din)) < 0.5
    integ = LIF(du=1.0, dv=0.0, vth=0.5)  # non-leaky output layer: integrates the sparse y spikes
    blk = attention_block(n, din, wq, wk, wv, wo, heads=heads, kind=kind, order=order, out_model=integ)
    r = simulate(blk, {"x": x.reshape(T, B, -1)}, steps=T)
    out, (q, k, v), y = block_reference(x, wq, wk, wv, wo, heads=heads, kind=kind, out_model=integ)
    np.testing.assert_array_equal(r.spikes["Q"].reshape(q.shape), q)
    np.testing.assert_array_equal(r.spikes["attn.y"].reshape(y.shape), y)
    np.testing.assert_array_equal(r.spikes["out"].reshape(out.shape), out)
    assert y.any() and out.any()
    assert blk.meta["latency_steps"] == blk.meta["core_latency_steps"] + 2


@pytest.mark.parametrize("kind", ["ssa", "sdsa"])
def test_causal_block_ignores_future_tokens(rng, kind):
    T, B, n, din, d = 14, 1, 6, 3, 4
    w = [weights(rng, d, din) for _ in range(3)]
    x = rng.random((T, B, n, din)) < 0.6
    blk = attention_block(n, din, *w, heads=2, kind=kind, causal=True)
    r = simulate(blk, {"x": x.reshape(T, B, -1)}, steps=T)
    out, _, _ = block_reference(x, *w, heads=2, kind=kind, mask=patterns.causal(n))
    port = blk.outputs["out"]  # no w_out: the port is the core's output
    np.testing.assert_array_equal(r.spikes[port].reshape(out.shape), out)
    assert out[:, :, :-1].any()
    # changing the last token's input leaves the earlier tokens' attention outputs unchanged
    x2 = x.copy()
    x2[:, :, -1] = ~x2[:, :, -1]
    r2 = simulate(blk, {"x": x2.reshape(T, B, -1)}, steps=T)
    first = lambda res: res.spikes[port].reshape(T, B, n, d)[:, :, :-1]  # noqa: E731
    np.testing.assert_array_equal(first(r), first(r2))
    assert not np.array_equal(r.spikes["K"], r2.spikes["K"])


@pytest.mark.parametrize("kind", ["ssa", "sdsa"])
def test_cross_attention_block(rng, kind):
    T, B, nq, nk, din, d = 14, 2, 4, 7, 3, 4
    w = [weights(rng, d, din) for _ in range(3)]
    x, ctx = rng.random((T, B, nq, din)) < 0.5, rng.random((T, B, nk, din)) < 0.5
    blk = cross_attention_block(nq, nk, din, *w, heads=2, kind=kind)
    r = simulate(blk, {"x": x.reshape(T, B, -1), "context": ctx.reshape(T, B, -1)}, steps=T)
    out, (q, k, v), _ = block_reference(x, *w, heads=2, kind=kind, context=ctx)
    assert k.shape[2] == nk and q.shape[2] == nq and out.any()
    np.testing.assert_array_equal(r.spikes[blk.outputs["out"]].reshape(out.shape), out)


def test_block_bad_weights():
    with pytest.raises(ShapeMismatchError, match="w_k"):
        attention_block(3, 4, np.ones((2, 4)), np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ParameterError, match="kind"):
        attention_block(3, 4, np.ones((2, 4)), np.ones((2, 4)), np.ones((2, 4)), kind="softmax")


@pytest.mark.parametrize("heads", [1, 3])
def test_linear_attention_is_causal_running_sum(rng, heads):
    T, B, d = 30, 2, 6
    q, k, v = (rng.random((T, B, d)) < 0.4 for _ in range(3))
    c = linear_attention(d, heads, max_tokens=T)
    c.probe("y", ("u",))
    r = simulate(c, {"q": q, "k": k, "v": v}, steps=T)
    np.testing.assert_array_equal(r.spikes["y"], linear_reference(q, k, v, heads))
    # the output input at t + 4 is scale * q_t (sum_{tau <= t} k_tau^T v_tau): check one step by hand
    t, b, c_ = 12, 1, d // heads
    for h in range(heads):
        sl = slice(h * c_, (h + 1) * c_)
        state = sum(np.outer(k[s, b, sl], v[s, b, sl]).astype(int) for s in range(t + 1))
        np.testing.assert_array_equal(r.probes["y"]["u"][t + 4, b, sl], 0.125 * (q[t, b, sl].astype(int) @ state))


def test_linear_attention_size_independent_of_length():
    assert sum(p.size for p in linear_attention(8, 2).populations.values()) == 3 * 2 * 16 + 8
