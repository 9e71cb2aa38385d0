"""Gated routing: exactly the selected pathways relay, closed pathways perform zero
synaptic events (exact integers against counts computed from the inputs), on numpy and
Brian2."""
import numpy as np
import pytest

import spikeattn as sa
from spikeattn.circuits.routing import gated_router, reference

K, M, STEPS = 3, 5, 30


def run(mode, select_at, rng, batch=20, engine="numpy"):
    """``select_at``: {pathway: step} of the single select spike (same for every sample)."""
    c = gated_router(K, M, mode)
    x = rng.random((STEPS, batch, K * M)) < 0.3
    sel = np.zeros((STEPS, batch, K), bool)
    for k, t in select_at.items():
        sel[t, :, k] = True
    r = sa.simulate(c, {"in": x, "select": sel}, steps=STEPS, engine=engine)
    return c, x, r


def expected(x, select_at, batch):
    selected = np.zeros((batch, K), bool)
    open_step = np.full(batch, STEPS)
    for k, t in select_at.items():
        selected[:, k] = True
        open_step[:] = t + 1            # open_delay = 1 (same step for every selected pathway here)
    streams = x.reshape(STEPS, batch, K, M)
    out = reference.route(streams, selected, open_step, latency=2)
    relayed = streams & selected[None, :, :, None] & (np.arange(STEPS)[:, None, None, None] >= open_step[0])
    return out, relayed


@pytest.mark.parametrize("mode", ["coincidence", "disinhibition"])
def test_opens_exactly_the_selected_path(rng, mode):
    select_at = {1: 7}
    c, x, r = run(mode, select_at, rng)
    out, relayed = expected(x, select_at, 20)
    assert np.array_equal(r.spikes["out"], out)
    relays = np.asarray(r.spikes["relays"]).reshape(STEPS, 20, K, M)
    assert not relays[:, :, [0, 2]].any()                          # closed pathways never spike
    assert np.array_equal(relays[1:], relayed[:-1])                # open one relays each spike 1 step later
    # synaptic events leaving the relays: exactly one per relayed spike (fan-out 1), per sample
    n_relayed = relayed[:-1].sum(axis=(0, 2, 3))
    assert np.array_equal(r.counts.per_sample("synaptic_acs", elements=["relays->out"]), n_relayed)


@pytest.mark.parametrize("mode", ["coincidence", "disinhibition"])
def test_nothing_selected_means_zero_routed_events(rng, mode):
    c, x, r = run(mode, {}, rng)
    assert not np.asarray(r.spikes["out"]).any()
    assert r.counts.total("synaptic_acs", elements=["relays->out"]) == 0
    assert r.counts.total("spikes", elements=["relays"]) == 0


def test_two_open_paths_are_ored(rng):
    select_at = {0: 4, 2: 4}
    c, x, r = run("coincidence", select_at, rng)
    out, relayed = expected(x, select_at, 20)
    assert np.array_equal(r.spikes["out"], out)
    assert r.counts.total("synaptic_acs", elements=["relays->out"]) == int(relayed[:-1].sum())


def test_gating_costs_closed_form(rng):
    """Coincidence: the latch costs M events per open pathway per step after opening;
    disinhibition: the tonic inhibitor costs M events per closed pathway per step."""
    select_at = {1: 7}
    _, _, rc = run("coincidence", select_at, rng, batch=4)
    _, _, rd = run("disinhibition", select_at, rng, batch=4)
    open_steps = STEPS - (7 + 1)                                   # latch spikes at steps 8 .. 29
    assert rc.counts.per_sample("synaptic_acs", elements=["open->relays"]).tolist() == [M * open_steps] * 4
    shut_spikes = 2 * STEPS + (7 + 1)                              # two shut all run, one until step 7
    assert rd.counts.per_sample("synaptic_acs", elements=["shut->relays"]).tolist() == [M * shut_spikes] * 4


@pytest.mark.parametrize("mode", ["coincidence", "disinhibition"])
def test_router_on_brian2_matches_reference(rng, mode):
    pytest.importorskip("brian2", reason="the brian2 extra is not installed")
    select_at = {2: 5}
    c, x, r = run(mode, select_at, rng, batch=6, engine="brian2")
    out, relayed = expected(x, select_at, 6)
    assert np.array_equal(r.spikes["out"], out)
    assert r.counts.total("synaptic_acs", elements=["relays->out"]) == int(relayed[:-1].sum())
