"""Coarse-to-fine selection: regions = top-k of pooled counts, tokens = top-k within them
(dense two-level numpy reference); the fine stage receives events only from selected
regions, with exact per-sample counts; fewer fine-stage events than a flat selector."""
import numpy as np
import pytest

import spikeattn as sa
from spikeattn.circuits.routing import flat_selector, hierarchical_selector, reference, winners_from_spikes
from spikeattn.errors import ParameterError

R, G = 4, 4
N = R * G


def run(rng, k_regions, k_tokens, batch, engine="numpy"):
    c = hierarchical_selector(R, G, k_regions, k_tokens, coarse_window=8)
    m = c.meta["hierarchical"]
    x = rng.random((m["steps"], batch, N)) < rng.uniform(0.05, 0.6, (batch, N))[None]
    r = sa.simulate(c, {"tokens": x}, steps=m["steps"], engine=engine)
    return c, m, x, r


def expected(m, x, k_regions, k_tokens):
    b = x.shape[1]
    pooled = reference.window_counts(x, 0, m["coarse_window"]).reshape(b, R, G).sum(axis=2)
    return reference.two_level_topk(pooled, k_regions, reference.window_counts(x, *m["token_window"]), G, k_tokens)


@pytest.mark.parametrize("k_regions,k_tokens", [(1, 1), (1, 2), (2, 3)])
def test_matches_two_level_reference(rng, k_regions, k_tokens):
    c, m, x, r = run(rng, k_regions, k_tokens, 150)
    regions, tokens = expected(m, x, k_regions, k_tokens)
    assert np.array_equal(winners_from_spikes(r.spikes["coarse.winners"]), regions)
    assert np.array_equal(winners_from_spikes(r.spikes["fine.winners"]), tokens)


def test_fine_stage_only_receives_selected_regions(rng):
    c, m, x, r = run(rng, 1, 2, 60)
    regions = winners_from_spikes(r.spikes["coarse.winners"])
    t_sel = reference.first_spike_times(r.spikes["coarse.winners"])             # (batch, R)
    inside = np.repeat(regions, G, axis=1)
    open_from = np.repeat(t_sel, G, axis=1) + 1                                   # open_delay 1
    t = np.arange(m["steps"])[:, None, None]
    relayed = x & inside[None] & (t >= open_from[None])
    relays = np.asarray(r.spikes["regions.relays"])
    assert not relays[:, ~inside].any()                      # nothing outside the selected regions
    assert np.array_equal(relays[1:], relayed[:-1])
    # events into the fine stage = relayed spikes (one synapse each), exact per sample
    assert np.array_equal(r.counts.per_sample("synaptic_acs", elements=["fine.in->gate"]),
                          relayed[:-1].sum(axis=(0, 2)))
    # tokens outside the selected regions never even race
    assert not np.asarray(r.spikes["fine.acc"])[:, ~inside].any()


def test_fewer_fine_events_than_flat(rng):
    c, m, x, r = run(rng, 1, 2, 60)
    flat = flat_selector(N, 2, m["fine_window"])
    rf = sa.simulate(flat, {"tokens": x}, steps=flat.meta["flat"]["steps"])
    fine_h = r.counts.total("synaptic_acs", elements=[n for n in c.projections if n.startswith("fine.")])
    fine_f = rf.counts.total("synaptic_acs", elements=[n for n in flat.projections if n.startswith("fine.")])
    assert fine_h < fine_f
    # the flat selector is the plain top-k over all tokens on the same spikes
    assert np.array_equal(winners_from_spikes(rf.spikes["fine.winners"]),
                          reference.topk_with_ties(reference.window_counts(x, *m["token_window"]), 2))


def test_k_tokens_must_fit_in_selected_regions():
    with pytest.raises(ParameterError, match="k_tokens"):
        hierarchical_selector(R, G, 1, G + 1)


def test_hierarchical_on_brian2_matches_reference(rng):
    pytest.importorskip("brian2", reason="the brian2 extra is not installed")
    c, m, x, r = run(rng, 1, 2, 6, engine="brian2")
    regions, tokens = expected(m, x, 1, 2)
    assert np.array_equal(winners_from_spikes(r.spikes["coarse.winners"]), regions)
    assert np.array_equal(winners_from_spikes(r.spikes["fine.winners"]), tokens)


def test_coarse_to_fine_attention_matches_ssa_reference(rng):
    from spikeattn.circuits.attention.reference import ssa_reference
    from spikeattn.circuits.routing.hierarchical import coarse_to_fine_attention

    Rr, Gg, D, B = 4, 2, 4, 10
    c = coarse_to_fine_attention(Rr, Gg, D, 1, coarse_window=4)
    steps = c.meta["coarse_to_fine"]["decision_steps_max"] + 10
    n = Rr * Gg
    x = rng.random((steps, B, n * D)) < rng.uniform(0.05, 0.4, (B, Rr))[:, :, None].repeat(Gg * D, 2).reshape(B, -1)
    r = sa.simulate(c, {"x": x}, steps=steps)
    pooled = reference.window_counts(x, 0, 4).reshape(B, Rr, Gg * D).sum(axis=2)
    regions = winners_from_spikes(r.spikes["coarse.winners"])
    assert np.array_equal(regions, reference.topk_with_ties(pooled, 1))
    open_from = np.repeat(reference.first_spike_times(r.spikes["coarse.winners"]), Gg * D, axis=1) + 1
    t = np.arange(steps)[:, None, None]
    relayed = np.zeros_like(x)
    relayed[1:] = (x & np.repeat(regions, Gg * D, axis=1)[None] & (t >= open_from[None]))[:-1]
    q = relayed.reshape(steps, B, n, D)
    y = np.asarray(r.spikes["attn.y"]).reshape(steps, B, n, D)
    assert np.array_equal(y, ssa_reference(q, q, q))
    assert y.sum() > 0
