"""Spike-driven self-attention (SDSA) against its dense formula: out = Q ⊙ LIF(sum_j K ⊙ V)."""
import numpy as np
import pytest

from spikeattn import LIF, simulate
from spikeattn.circuits.attention import patterns, sdsa_attention
from spikeattn.circuits.attention import reference as ref


def qkv(rng, T, B, nq, nk, d, rate=0.5):
    return (rng.random((T, B, nq, d)) < rate, rng.random((T, B, nk, d)) < rate, rng.random((T, B, nk, d)) < rate)


def run(circ, q, k, v, **kw):
    f = lambda a: a.reshape(a.shape[0], a.shape[1], -1)  # noqa: E731
    return simulate(circ, {"q": f(q), "k": f(k), "v": f(v)}, steps=q.shape[0], **kw)


@pytest.mark.parametrize("delay_mode", ["synaptic", "relay"])
@pytest.mark.parametrize("mask_fn", [None, lambda n: patterns.local_window(n, 1), lambda n: patterns.causal(n)])
def test_sdsa_matches_dense_formula(rng, delay_mode, mask_fn):
    T, B, n, d = 15, 2, 6, 5
    q, k, v = qkv(rng, T, B, n, n, d)
    mask = mask_fn(n) if mask_fn else None
    c = sdsa_attention(n, d, mask=mask, delay_mode=delay_mode)
    r = run(c, q, k, v)
    out, kv = ref.sdsa_reference(q, k, v, mask=mask)
    assert out.any() and c.meta["latency_steps"] == 3
    np.testing.assert_array_equal(r.spikes["y"].reshape(out.shape), out)
    np.testing.assert_array_equal(r.spikes["kv"].reshape(kv.shape), kv)


def test_sdsa_kv_is_lif_of_column_sums(rng):
    """kv neurons: LIF driven by the column sums sum_j K ⊙ V two steps later (probe u = a_in)."""
    T, B, n, d = 10, 1, 8, 3
    q, k, v = qkv(rng, T, B, n, n, d)
    c = sdsa_attention(n, d, kv_model=LIF(du=1.0, dv=0.0, vth=3.0, reset="subtract"))
    c.probe("kv", ("u",))
    r = run(c, q, k, v)
    sums = (k & v).sum(axis=2)
    np.testing.assert_array_equal(r.probes["kv"]["u"][2:], sums[:-2])


def test_sdsa_synaptic_ops_closed_form_and_linear(rng):
    """ops = |K| + |V| (into the coincidences) + |K ⊙ V| (column sums) + |Q| + N |kv| (masks),
    counted from the dense formula; per token and channel they stay below 5 whatever N."""
    d, T = 4, 6
    for n in (8, 16, 32):
        q, k, v = qkv(rng, T, 1, n, n, d, 0.5)
        r = run(sdsa_attention(n, d), q, k, v)
        _, kv = ref.sdsa_reference(q, k, v)
        expect = k.sum() + v.sum() + (k & v)[:-1].sum() + q.sum() + n * kv.sum()
        assert r.counts.totals()["synaptic_ops"] == expect
        assert expect <= 5 * n * d * T
        c = sdsa_attention(n, d)
        assert sum(p.size for p in c.populations.values()) == 2 * n * d + d


def test_sdsa_cross_attention(rng):
    T, B, nq, nk, d = 12, 2, 3, 7, 4
    q, k, v = qkv(rng, T, B, nq, nk, d)
    r = run(sdsa_attention(nq, d, n_key=nk), q, k, v)
    np.testing.assert_array_equal(r.spikes["y"].reshape(T, B, nq, d), ref.sdsa_reference(q, k, v)[0])
