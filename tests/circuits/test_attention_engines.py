"""The attention circuits on Brian2 and Lava: SDSA, the unary SSA (LIF-only) and the graded
SSA (GradedReLU map and gates, both association orders) run with the same output spikes as
the dense formula and the same spikes (graded values included) and EventCounts as the
numpy engine."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from spikeattn import simulate
from spikeattn.circuits.attention import patterns, sdsa_attention, ssa_attention
from spikeattn.circuits.attention import reference as ref

REPO = Path(__file__).resolve().parents[2]


def lava_available() -> bool:
    return (importlib.util.find_spec("lava") is not None
            or (REPO / ".venv-lava" / "bin" / "python").exists())


ENGINES = [
    pytest.param("brian2", marks=pytest.mark.skipif(importlib.util.find_spec("brian2") is None,
                                                   reason="brian2 is not installed in this interpreter")),
    pytest.param("lava", marks=pytest.mark.skipif(not lava_available(),
                                                 reason="lava-nc not importable and no .venv-lava to bridge to")),
]


def data(rng, T=12, B=1, n=4, d=3):
    q, k, v = (rng.random((T, B, n, d)) < 0.5 for _ in range(3))
    return (q, k, v), {"q": q.reshape(T, B, -1), "k": k.reshape(T, B, -1), "v": v.reshape(T, B, -1)}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("delay_mode,windowed", [("synaptic", False), ("relay", True)])
def test_sdsa_on_engine_matches_formula_and_numpy_counts(rng, engine, delay_mode, windowed):
    (q, k, v), inp = data(rng)
    mask = patterns.local_window(4, 1) if windowed else None
    c = sdsa_attention(4, 3, mask=mask, delay_mode=delay_mode)
    r = simulate(c, inp, steps=12, engine=engine)
    out, _ = ref.sdsa_reference(q, k, v, mask=mask)
    assert out.any()
    np.testing.assert_array_equal(r.spikes["y"].reshape(out.shape), out)
    base = simulate(c, inp, steps=12)
    assert r.counts == base.counts, r.counts.diff(base.counts)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("causal", [False, True])
def test_unary_ssa_on_engine_matches_formula_and_numpy_counts(rng, engine, causal):
    """The LIF-only SSA (map_code="unary") lowers to Brian2 and Lava."""
    (q, k, v), inp = data(rng)
    mask = patterns.causal(4) if causal else None
    c = ssa_attention(4, 3, 1, mask=mask, map_code="unary", scale=0.5)
    r = simulate(c, inp, steps=12, engine=engine)
    expect = ref.ssa_reference(q, k, v, 1, mask=None if mask is None else mask.toarray(), scale=0.5)
    assert expect.any()
    np.testing.assert_array_equal(r.spikes["y"].reshape(expect.shape), expect)
    base = simulate(c, inp, steps=12)
    assert r.counts == base.counts, r.counts.diff(base.counts)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("order", ["qk_v", "q_kv"])
def test_graded_ssa_on_engine_matches_formula_and_numpy(rng, engine, order):
    """The graded SSA (GradedReLU accumulators and gates) lowers to Brian2 and Lava: every
    population's spikes (the map's and gates' graded values) equal numpy's, y the formula's."""
    (q, k, v), inp = data(rng, B=2)
    c = ssa_attention(4, 3, 1, order=order, scale=0.5)
    r = simulate(c, inp, steps=12, engine=engine)
    base = simulate(c, inp, steps=12)
    for name in c.populations:
        np.testing.assert_array_equal(r.spikes[name], base.spikes[name], err_msg=name)
    assert r.spikes["gate"].dtype == np.float64 and r.spikes["gate"].max() > 1
    expect = ref.ssa_reference(q, k, v, 1, scale=0.5)
    assert expect.any()
    np.testing.assert_array_equal(r.spikes["y"].reshape(expect.shape), expect)
    assert r.counts == base.counts, r.counts.diff(base.counts)


@pytest.mark.parametrize("engine", ENGINES)
def test_sdsa_block_with_projections_on_engine(rng, engine):
    """A full SDSA block (Q/K/V LIF projections, 2 heads, output projection) is LIF-only."""
    from spikeattn import LIF
    from spikeattn.circuits.attention import attention_block, block_reference

    T, B, n, din, d = 14, 1, 4, 3, 4
    w = [rng.integers(-4, 9, (d, din)) / 8 for _ in range(3)]
    wo = rng.integers(2, 9, (2, d)) / 8
    integ = LIF(du=1.0, dv=0.0, vth=0.5)
    blk = attention_block(n, din, *w, wo, heads=2, kind="sdsa", out_model=integ)
    x = rng.random((T, B, n, din)) < 0.6
    r = simulate(blk, {"x": x.reshape(T, B, -1)}, steps=T, engine=engine)
    out, _, y = block_reference(x, *w, wo, heads=2, kind="sdsa", out_model=integ)
    assert y.any() and out.any()
    np.testing.assert_array_equal(r.spikes["out"].reshape(out.shape), out)
