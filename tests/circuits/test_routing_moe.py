"""Mixture-of-experts routing: the gate picks the true top-k experts of integer gate scores,
unselected experts do exactly zero synaptic work per token, and selected experts compute
what a dense numpy integrate-and-fire reference computes on the dispatched spikes."""
import numpy as np
import pytest

import spikeattn as sa
from spikeattn.circuits.routing import expert_elements, feedforward_expert, moe_layer, reference
from spikeattn.circuits.routing import winners_from_spikes
from spikeattn.errors import ParameterError

D, E, H, O, T = 6, 4, 8, 3, 8


def build(rng, k):
    G = rng.integers(-1, 3, (E, D))
    c = moe_layer(G, lambda e: feedforward_expert(D, H, O, seed=10 + e), k=k, window=T)
    return G, c


def run(rng, k, batch, engine="numpy", extra=12):
    G, c = build(rng, k)
    steps = c.meta["moe"]["steps_min"] + extra
    x = rng.random((steps, batch, D)) < rng.uniform(0.1, 0.7, (batch, D))[None]
    r = sa.simulate(c, {"token": x}, steps=steps, engine=engine)
    return G, c, x, r


@pytest.mark.parametrize("k", [1, 2])
def test_gate_routes_to_true_topk_and_skips_the_rest(rng, k):
    B = 80
    G, c, x, r = run(rng, k, B)
    sel = winners_from_spikes(r.spikes["gate.winners"])
    scores = reference.window_counts(x, 0, T) @ G.T
    assert np.array_equal(sel, reference.topk_with_ties(scores, k))
    for e in range(E):
        names = expert_elements(c, e)
        assert names                                   # expert e has projections ...
        ops = sum(r.counts.per_sample("synaptic_acs", elements=[n]) for n in names)
        assert np.all(ops[~sel[:, e]] == 0)            # ... that do nothing for tokens not routed to it
        assert np.all(r.spike_counts(f"dispatch{e}")[~sel[:, e]] == 0)
        assert np.all(ops[sel[:, e]] > 0)              # and work for the tokens routed to it
    assert sel.any(axis=0).sum() >= 2                  # the gate really routes to different experts


def test_selected_experts_match_dense_reference(rng):
    B = 40
    G, c, x, r = run(rng, 2, B)
    steps = r.steps
    sel = winners_from_spikes(r.spikes["gate.winners"])
    t_win = reference.first_spike_times(r.spikes["gate.winners"])   # (batch, E): step expert e was picked
    for e in range(E):
        meta = feedforward_expert(D, H, O, seed=10 + e).meta["expert"]
        w1, w2 = np.array(meta["w1"]), np.array(meta["w2"])
        # dispatch relays: token spike at t >= t_win + 1 is relayed at t + 1 (latch + coincidence)
        t = np.arange(steps)[:, None, None]
        gated = x & sel[None, :, e, None] & (t >= t_win[None, :, e, None] + 1)
        disp = np.zeros_like(x)
        disp[1:] = gated[:-1]
        assert np.array_equal(r.spikes[f"dispatch{e}"], disp)
        hid, ops1 = reference.if_layer(disp, w1, meta["vth"])
        out, ops2 = reference.if_layer(hid, w2, meta["vth"])
        assert np.array_equal(r.spikes[f"expert{e}.hidden"], hid)
        assert np.array_equal(r.spikes[f"expert{e}.out"], out)
        assert np.array_equal(r.counts.per_sample("synaptic_acs", elements=[f"expert{e}.w1"]), ops1)
        assert np.array_equal(r.counts.per_sample("synaptic_acs", elements=[f"expert{e}.w2"]), ops2)


def test_bad_experts_are_refused(rng):
    G = rng.integers(0, 2, (2, D))
    with pytest.raises(ParameterError, match="experts"):
        moe_layer(G, [feedforward_expert(D, H, O)], k=1)
    with pytest.raises(ParameterError, match=r"experts\[1\]"):
        moe_layer(G, [feedforward_expert(D, H, O), feedforward_expert(D + 1, H, O)], k=1)


def test_moe_on_brian2_matches_reference(rng):
    pytest.importorskip("brian2", reason="the brian2 extra is not installed")
    G, c, x, r = run(rng, 2, 6, engine="brian2", extra=4)
    sel = winners_from_spikes(r.spikes["gate.winners"])
    assert np.array_equal(sel, reference.topk_with_ties(reference.window_counts(x, 0, T) @ G.T, 2))
    for e in range(E):
        ops = sum(r.counts.per_sample("synaptic_acs", elements=[n]) for n in expert_elements(c, e))
        assert np.all(ops[~sel[:, e]] == 0)
