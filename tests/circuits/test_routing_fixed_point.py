"""Fixed-point (Loihi) variants of the routing circuits: the same selections as the dense
references on the numpy engine, and on Lava 0.10's bit-accurate simulator (the oracle for
the fixed-point arithmetic), which must also agree with numpy spike for spike."""
from pathlib import Path

import numpy as np
import pytest

import spikeattn as sa
from spikeattn.circuits.routing import gated_router, hierarchical_selector, kwta, reference, required_steps
from spikeattn.circuits.routing import winners_from_spikes
from spikeattn.engines.lava.engine import lava_importable
from spikeattn.errors import ParameterError

LAVA_PYTHON = Path(__file__).resolve().parents[2] / ".venv-lava" / "bin" / "python"
needs_lava = pytest.mark.skipif(not (lava_importable() or LAVA_PYTHON.is_file()),
                                reason=f"lava-nc is not importable and there is no Lava venv at {LAVA_PYTHON} "
                                       "(create it with `make venv-lava`)")


def poisson(rng, steps, batch, n):
    return rng.random((steps, batch, n)) < rng.uniform(0.05, 0.8, (batch, n))[None]


@pytest.mark.parametrize("k,window", [(1, 12), (2, 12), (2, (4, 12))])
def test_fixed_count_kwta_picks_true_topk(rng, k, window):
    c = kwta(6, k, "count", window=window, fixed_point=True)
    assert c.fixed_point
    steps = required_steps(c.meta)
    x = poisson(rng, steps, 200, 6)
    r = sa.simulate(c, {"in": x}, steps=steps)
    w = (0, window) if np.ndim(window) == 0 else window
    assert np.array_equal(winners_from_spikes(r.spikes["winners"]),
                          reference.topk_with_ties(reference.window_counts(x, *w), k))


def test_fixed_weighted_scores_and_first_spike(rng):
    W = rng.integers(-1, 3, (5, 6))
    c = kwta(5, 2, "count", window=6, scores=W, fixed_point=True)
    steps = required_steps(c.meta, kth_score=-36)
    x = poisson(rng, steps, 200, 6)
    r = sa.simulate(c, {"in": x}, steps=steps)
    assert np.array_equal(winners_from_spikes(r.spikes["winners"]),
                          reference.topk_with_ties(reference.window_counts(x, 0, 6) @ W.T, 2))
    c = kwta(6, 2, "first_spike", fixed_point=True)
    x = poisson(rng, 25, 200, 6)
    r = sa.simulate(c, {"in": x}, steps=25)
    assert np.array_equal(winners_from_spikes(r.spikes["winners"]), reference.earliest_k(x, 2))


def test_fixed_needs_integer_scores():
    with pytest.raises(ParameterError, match="scores"):
        kwta(2, 1, "count", window=4, scores=np.array([[0.5, 1.0], [1.0, 0.0]]), fixed_point=True)


@pytest.mark.parametrize("mode", ["coincidence", "disinhibition"])
def test_fixed_router_matches_reference(rng, mode):
    K, M, steps, B = 3, 4, 25, 10
    c = gated_router(K, M, mode, fixed_point=True)
    x = rng.random((steps, B, K * M)) < 0.3
    sel = np.zeros((steps, B, K), bool)
    sel[6, :, 2] = True
    r = sa.simulate(c, {"in": x, "select": sel}, steps=steps)
    selected = np.zeros((B, K), bool)
    selected[:, 2] = True
    expected = reference.route(x.reshape(steps, B, K, M), selected, np.full(B, 7), latency=2)
    assert np.array_equal(r.spikes["out"], expected)


def test_fixed_hierarchical_matches_reference(rng):
    c = hierarchical_selector(4, 4, 1, 2, coarse_window=8, fixed_point=True)
    m = c.meta["hierarchical"]
    x = rng.random((m["steps"], 60, 16)) < rng.uniform(0.05, 0.6, (60, 16))[None]
    r = sa.simulate(c, {"tokens": x}, steps=m["steps"])
    pooled = reference.window_counts(x, 0, 8).reshape(60, 4, 4).sum(axis=2)
    regions, tokens = reference.two_level_topk(pooled, 1, reference.window_counts(x, *m["token_window"]), 4, 2)
    assert np.array_equal(winners_from_spikes(r.spikes["coarse.winners"]), regions)
    assert np.array_equal(winners_from_spikes(r.spikes["fine.winners"]), tokens)


@needs_lava
def test_fixed_kwta_on_lava(rng):
    c = kwta(4, 2, "count", window=8, fixed_point=True)
    steps = required_steps(c.meta)
    x = poisson(rng, steps, 2, 4)
    lava = sa.simulate(c, {"in": x}, steps=steps, engine="lava")
    assert np.array_equal(winners_from_spikes(lava.spikes["winners"]),
                          reference.topk_with_ties(reference.window_counts(x, 0, 8), 2))
    ref_np = sa.simulate(c, {"in": x}, steps=steps)
    for name in ref_np.spikes:
        assert np.array_equal(lava.spikes[name], ref_np.spikes[name]), name
    assert lava.counts == ref_np.counts


@needs_lava
def test_fixed_router_on_lava(rng):
    K, M, steps = 3, 4, 20
    c = gated_router(K, M, "disinhibition", fixed_point=True)
    x = rng.random((steps, 2, K * M)) < 0.3
    sel = np.zeros((steps, 2, K), bool)
    sel[5, :, 1] = True
    lava = sa.simulate(c, {"in": x, "select": sel}, steps=steps, engine="lava")
    selected = np.zeros((2, K), bool)
    selected[:, 1] = True
    assert np.array_equal(lava.spikes["out"], reference.route(x.reshape(steps, 2, K, M), selected,
                                                              np.full(2, 6), latency=2))
    assert lava.counts == sa.simulate(c, {"in": x, "select": sel}, steps=steps).counts


def test_fixed_moe_routes_and_experts_match_reference(rng):
    from spikeattn.circuits.routing import expert_elements, feedforward_expert, moe_layer

    D, E, B = 6, 3, 30
    G = rng.integers(-1, 3, (E, D))
    c = moe_layer(G, lambda e: feedforward_expert(D, 6, 3, seed=e, fixed_point=True), k=1, window=6,
                  fixed_point=True)
    steps = c.meta["moe"]["steps_min"] + 10
    x = rng.random((steps, B, D)) < rng.uniform(0.1, 0.7, (B, D))[None]
    r = sa.simulate(c, {"token": x}, steps=steps)
    sel = winners_from_spikes(r.spikes["gate.winners"])
    assert np.array_equal(sel, reference.topk_with_ties(reference.window_counts(x, 0, 6) @ G.T, 1))
    t_win = reference.first_spike_times(r.spikes["gate.winners"])
    t = np.arange(steps)[:, None, None]
    for e in range(E):
        meta = feedforward_expert(D, 6, 3, seed=e, fixed_point=True).meta["expert"]
        assert meta["reset"] == "zero"
        disp = np.zeros_like(x)
        disp[1:] = (x & sel[None, :, e, None] & (t >= t_win[None, :, e, None] + 1))[:-1]
        hid, ops1 = reference.if_layer(disp, np.array(meta["w1"]), meta["vth"], reset="zero")
        out, _ = reference.if_layer(hid, np.array(meta["w2"]), meta["vth"], reset="zero")
        assert np.array_equal(r.spikes[f"expert{e}.hidden"], hid)
        assert np.array_equal(r.spikes[f"expert{e}.out"], out)
        assert np.array_equal(r.counts.per_sample("synaptic_acs", elements=[f"expert{e}.w1"]), ops1)
        ops = sum(r.counts.per_sample("synaptic_acs", elements=[n]) for n in expert_elements(c, e))
        assert np.all(ops[~sel[:, e]] == 0)
