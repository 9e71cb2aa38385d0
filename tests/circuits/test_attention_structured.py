"""SSA and SDSA as structured circuits against the dense numpy formulas of
:mod:`spikeattn.circuits.attention.reference` (``latency=1``), on every engine that runs them
(numpy through the expansion; torch natively when installed), with the counts a hand count
gives for the products."""
from __future__ import annotations

import numpy as np
import pytest

import spikeattn as sa
from spikeattn.circuits.attention.reference import sdsa_reference, ssa_reference
from spikeattn.circuits.attention.structured import sdsa_structured, ssa_structured
from spikeattn.engines import engine_class

ENGINES = ["numpy"] + [e for e in ("torch",) if e in sa.engines.ENGINES and not engine_class(e).unavailable()]


def _spikes(rng, T, B, N, D, p=0.3):
    return rng.random((T, B, N, D)) < p


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("heads,masked", [(1, False), (2, True)])
def test_ssa_structured_equals_the_formula(engine, heads, masked):
    rng = np.random.default_rng(heads)
    T, B, N, D = 6, 2, 5, 4
    q, k, v = (_spikes(rng, T, B, N, D) for _ in range(3))
    mask = np.tril(np.ones((N, N), bool)) if masked else None
    circ = ssa_structured(N, N, D, heads=heads, scale=0.25, mask=mask)
    r = sa.simulate(circ, {"q": q.reshape(T, B, -1), "k": k.reshape(T, B, -1), "v": v.reshape(T, B, -1)},
                    steps=T, engine=engine)
    want = ssa_reference(q, k, v, heads=heads, mask=mask, scale=0.25, latency=1)
    assert want.any()
    assert np.array_equal(r.spikes["y"].reshape(T, B, N, D), want)
    # QK^T: one accumulate per coincidence (unmasked)
    qh = q.reshape(T, B, N, heads, D // heads)
    kh = k.reshape(T, B, N, heads, D // heads)
    coinc = np.einsum("tbiha,tbjha->tbhij", qh.astype(int), kh.astype(int))
    if mask is not None:
        coinc = coinc * mask
    assert np.array_equal(r.counts.elements["qk"].fields["synaptic_acs"], coinc.sum(axis=(2, 3, 4)))


@pytest.mark.parametrize("engine", ENGINES)
def test_ssa_structured_q_kv_order_equals_the_formula(engine):
    """Q (K^T V): the same output spikes as the formula; K^T V costs one accumulate per
    (key, a, e) coincidence of K and V."""
    rng = np.random.default_rng(9)
    T, B, N, D, H = 6, 2, 7, 4, 2
    q, k, v = (_spikes(rng, T, B, N, D) for _ in range(3))
    circ = ssa_structured(N, N, D, heads=H, scale=0.25, order="q_kv")
    r = sa.simulate(circ, {"q": q.reshape(T, B, -1), "k": k.reshape(T, B, -1), "v": v.reshape(T, B, -1)},
                    steps=T, engine=engine)
    want = ssa_reference(q, k, v, heads=H, scale=0.25, latency=1)
    assert want.any() and np.array_equal(r.spikes["y"].reshape(T, B, N, D), want)
    kh = k.reshape(T, B, N, H, D // H).astype(int)
    vh = v.reshape(T, B, N, H, D // H).astype(int)
    assert np.array_equal(r.counts.elements["kv"].fields["synaptic_acs"],
                          np.einsum("tbjha,tbjhe->tb", kh, vh))
    with pytest.raises(sa.errors.ParameterError, match="field 'mask'"):
        ssa_structured(N, N, D, order="q_kv", mask=np.ones((N, N), bool))


@pytest.mark.parametrize("engine", ENGINES)
def test_sdsa_structured_equals_the_formula(engine):
    rng = np.random.default_rng(3)
    T, B, N, D = 7, 2, 6, 5
    q, k, v = (_spikes(rng, T, B, N, D, 0.5) for _ in range(3))
    circ = sdsa_structured(N, D)
    r = sa.simulate(circ, {"q": q.reshape(T, B, -1), "k": k.reshape(T, B, -1), "v": v.reshape(T, B, -1)},
                    steps=T, engine=engine)
    out, kv = sdsa_reference(q, k, v, latency=1)
    assert out.any() and kv.any()
    assert np.array_equal(r.spikes["kv"], kv)
    assert np.array_equal(r.spikes["y"].reshape(T, B, N, D), out)
    kk, vv = k.astype(int), v.astype(int)
    assert np.array_equal(r.counts.elements["kv_sum"].fields["synaptic_acs"], (kk * vv).sum(axis=(2, 3)))
