"""Spikformer SSA circuits against the dense formula (Q K^T ⊙ M) V, computed with einsum."""
import numpy as np
import pytest

from spikeattn import LIF, simulate
from spikeattn.circuits.attention import patterns, spike_map, ssa_attention
from spikeattn.circuits.attention import reference as ref
from spikeattn.errors import ParameterError, UnsupportedFeatureError


def qkv(rng, T, B, nq, nk, d, rate=0.5):
    return (rng.random((T, B, nq, d)) < rate, rng.random((T, B, nk, d)) < rate, rng.random((T, B, nk, d)) < rate)


def flat(a):
    return a.reshape(a.shape[0], a.shape[1], -1)


def run(circ, q, k, v, **kw):
    return simulate(circ, {"q": flat(q), "k": flat(k), "v": flat(v)}, steps=q.shape[0], **kw)


@pytest.mark.parametrize("order", ["qk_v", "q_kv"])
@pytest.mark.parametrize("n,d,heads", [(5, 4, 1), (6, 6, 3), (4, 8, 2)])
def test_ssa_matches_dense_formula_exactly(rng, order, n, d, heads):
    T, B = 14, 2
    q, k, v = qkv(rng, T, B, n, n, d)
    r = run(ssa_attention(n, d, heads, order=order, scale=0.25), q, k, v)
    expect = ref.ssa_reference(q, k, v, heads, scale=0.25)
    assert expect.any()
    np.testing.assert_array_equal(r.spikes["y"].reshape(expect.shape), expect)


def test_output_lif_input_is_scaled_product(rng):
    """Probe u of the output LIF (du = 1: u = a_in): exactly scale * (Q K^T) V delayed by 4."""
    T, B, n, d, h = 10, 1, 4, 4, 2
    q, k, v = qkv(rng, T, B, n, n, d)
    for order in ("qk_v", "q_kv"):
        c = ssa_attention(n, d, h, order=order, scale=0.125)
        c.probe("y", ("u",))
        r = run(c, q, k, v)
        x = np.einsum("tbhij,tbhje->tbhie", ref.qk_map(q, k, h), ref.split_heads(v.astype(int), h))
        expect = 0.125 * ref.merge_heads(x)
        np.testing.assert_array_equal(r.probes["y"]["u"].reshape(T, B, n, d)[4:], expect[:-4])
        assert c.meta["latency_steps"] == 4


def test_both_orders_same_output_different_costs(rng):
    T, B, n, d, h = 8, 1, 12, 4, 1
    q, k, v = qkv(rng, T, B, n, n, d, 0.4)
    a, b = ssa_attention(n, d, h, order="qk_v"), ssa_attention(n, d, h, order="q_kv")
    ra, rb = run(a, q, k, v), run(b, q, k, v)
    np.testing.assert_array_equal(ra.spikes["y"], rb.spikes["y"])
    # neuron counts: H*N^2*c coincidences (qk_v) vs H*N*c^2 (q_kv)
    assert a.node("coinc").size == h * n * n * (d // h)
    assert b.node("coinc").size == h * n * (d // h) ** 2
    # coincidence spikes = sum of the integer products, read from the dense formula
    assert ra.counts.total("spikes", elements=["coinc"]) == ref.qk_map(q, k, h)[:-1].sum()
    kv = np.einsum("tbja,tbje->tbae", k.astype(int), v.astype(int))
    assert rb.counts.total("spikes", elements=["coinc"]) == kv[:-1].sum()
    assert ra.counts.totals()["synaptic_ops"] != rb.counts.totals()["synaptic_ops"]


@pytest.mark.parametrize("mask_fn", [lambda n: patterns.causal(n), lambda n: patterns.local_window(n, 1),
                                     lambda n: patterns.block_sparse(n, 3), lambda n: patterns.global_tokens(n, [0], 1),
                                     lambda n: patterns.strided(n, 2)])
def test_masked_ssa_matches_masked_formula(rng, mask_fn):
    T, B, n, d, h = 12, 2, 7, 4, 2
    q, k, v = qkv(rng, T, B, n, n, d)
    mask = mask_fn(n)
    c = ssa_attention(n, d, h, mask=mask, scale=0.25)
    r = run(c, q, k, v)
    expect = ref.ssa_reference(q, k, v, h, mask=mask.toarray(), scale=0.25)
    np.testing.assert_array_equal(r.spikes["y"].reshape(expect.shape), expect)
    assert c.node("map").size == h * mask.nnz


def test_spike_map_is_qk_product(rng):
    T, B, n, d, h = 9, 2, 5, 6, 3
    q, k, v = qkv(rng, T, B, n, n, d)
    c = ssa_attention(n, d, h, mask=patterns.causal(n))
    m = spike_map(run(c, q, k, v), c)
    np.testing.assert_array_equal(m[1:], ref.qk_map(q, k, h, patterns.causal(n).toarray())[:-1])


def test_cross_shapes(rng):
    T, B, nq, nk, d = 10, 1, 3, 6, 4
    q, k, v = qkv(rng, T, B, nq, nk, d)
    r = run(ssa_attention(nq, d, 2, n_key=nk), q, k, v)
    np.testing.assert_array_equal(r.spikes["y"].reshape(T, B, nq, d), ref.ssa_reference(q, k, v, 2))


def test_bad_parameters_raise_clear_errors():
    with pytest.raises(ParameterError, match="heads"):
        ssa_attention(4, 6, heads=4)
    with pytest.raises(ParameterError, match="mask"):
        ssa_attention(4, 4, order="q_kv", mask=patterns.causal(4))
    with pytest.raises(ParameterError, match="order"):
        ssa_attention(4, 4, order="kq")
    with pytest.raises(ParameterError, match="shape"):
        ssa_attention(4, 4, mask=np.ones((3, 4), bool))


def test_ssa_needs_graded_neurons_sdsa_does_not():
    from spikeattn.circuits.attention import sdsa_attention
    from spikeattn.engines.features import required_features

    assert ("population 'map'", "model:graded_relu") in required_features(ssa_attention(3, 2))
    assert not any(f == "model:graded_relu" for _, f in required_features(sdsa_attention(3, 2)))


def test_engine_without_graded_relu_refuses_ssa():
    from spikeattn.engines.base import Engine

    class NoGraded(Engine):
        name = "nograded"
        supported = frozenset({"model:lif", "projection:sparse", "projection:graded", "projection:long_delay"})

    with pytest.raises(UnsupportedFeatureError, match="graded_relu"):
        NoGraded().check(ssa_attention(3, 2))


def test_custom_out_model(rng):
    T, B, n, d = 12, 1, 4, 4
    q, k, v = qkv(rng, T, B, n, n, d)
    m = LIF(du=0.5, dv=0.25, vth=0.75, reset="subtract")
    r = run(ssa_attention(n, d, 2, out_model=m, scale=0.5), q, k, v)
    np.testing.assert_array_equal(r.spikes["y"].reshape(T, B, n, d),
                                  ref.ssa_reference(q, k, v, 2, scale=0.5, out_model=m))


def test_saved_ssa_circuit_round_trips_and_runs_the_same(rng, tmp_path):
    from spikeattn import load, save

    c = ssa_attention(4, 4, 2, mask=patterns.local_window(4, 1))
    save(c, tmp_path / "ssa.zip")
    c2 = load(tmp_path / "ssa.zip")
    assert c2 == c and c2.meta["latency_steps"] == 4
    q, k, v = qkv(rng, 9, 1, 4, 4, 4)
    a, b = run(c, q, k, v), run(c2, q, k, v, fused=True)
    np.testing.assert_array_equal(a.spikes["y"], b.spikes["y"])
    assert a.counts == b.counts


@pytest.mark.parametrize("mask_fn", [None, lambda n: patterns.causal(n)])
def test_unary_lif_only_ssa_matches_formula(rng, mask_fn):
    from spikeattn.engines.features import required_features

    T, B, n, d, h = 12, 2, 5, 6, 2
    q, k, v = qkv(rng, T, B, n, n, d)
    mask = mask_fn(n) if mask_fn else None
    c = ssa_attention(n, d, h, mask=mask, map_code="unary", scale=0.25)
    assert {f for _, f in required_features(c)} <= {"model:lif", "projection:sparse", "projection:long_delay"}
    r = run(c, q, k, v)
    expect = ref.ssa_reference(q, k, v, h, mask=None if mask is None else mask.toarray(), scale=0.25)
    np.testing.assert_array_equal(r.spikes["y"].reshape(expect.shape), expect)
    # map{m} spikes count the pairs with at least m coincidences
    a = ref.qk_map(q, k, h, None if mask is None else mask.toarray())
    for m in (1, 2):
        assert r.counts.total("spikes", elements=[f"map{m}"]) == (a[:-2] >= m).sum()
    # every synaptic op is an accumulate
    assert r.counts.totals()["synaptic_macs"] == 0
    with pytest.raises(ParameterError, match="map_code"):
        ssa_attention(n, d, h, order="q_kv", map_code="unary")
