"""k-WTA selection against the mathematics: exact top-k of windowed counts / earliest first
spikes (dense numpy reference), closed-form decision times, documented tie rule, and the
same circuit on Brian2."""
import numpy as np
import pytest

import spikeattn as sa
from spikeattn.circuits.routing import kwta, reference, required_steps, winners_from_spikes
from spikeattn.errors import ParameterError


def poisson(rng, steps, batch, n, lo=0.05, hi=0.8):
    p = rng.uniform(lo, hi, (batch, n))
    return rng.random((steps, batch, n)) < p[None]


def spikes_with_counts(counts, window, steps):
    """One sample whose input j spikes at the first counts[j] steps of the window."""
    x = np.zeros((steps, 1, len(counts)), bool)
    for j, c in enumerate(counts):
        x[:c, 0, j] = True
    return x


@pytest.mark.parametrize("k", [1, 2, 3])
def test_count_mode_picks_true_topk(rng, k):
    n, T, B = 7, 12, 300
    c = kwta(n, k, "count", window=T)
    steps = required_steps(c.meta)
    x = poisson(rng, steps, B, n)
    r = sa.simulate(c, {"in": x}, steps=steps)
    sel = winners_from_spikes(r.spikes["winners"])
    counts = reference.window_counts(x, 0, T)
    assert np.array_equal(sel, reference.topk_with_ties(counts, k))
    unique = reference.unique_topk(counts, k)
    assert unique.sum() > B // 2                  # most samples have a unique top-k ...
    assert np.all(sel[unique].sum(axis=1) == k)   # ... and there exactly k winners
    assert (np.asarray(r.spikes["winners"]).sum(axis=0) <= 1).all()   # one-shot
    assert np.array_equal(r.spike_counts("decide")[:, 0], np.ones(B))  # every sample decided once


def test_count_mode_closed_form_timing():
    # counts 3, 7, 5, 1 in a window of 10 steps; S = 10, ramp starts at R = 11
    counts, T = [3, 7, 5, 1], 10
    c = kwta(4, 2, "count", window=T)
    m = c.meta["kwta"]
    assert (m["score_max"], m["ramp_start"]) == (10.0, 11)
    steps = required_steps(c.meta)
    r = sa.simulate(c, {"in": spikes_with_counts(counts, T, steps)}, steps=steps)
    first = r.first_spike("acc")[0]
    # accumulator i fires at R + S - s_i + 1 = 22 - s_i (losers stopped by the decision)
    assert first[1] == 22 - 7 and first[2] == 22 - 5
    assert first[0] == -1 and first[3] == -1
    assert list(r.first_spike("winners")[0]) == [-1, 16, 18, -1]
    assert r.first_spike("decide")[0, 0] == 18


def test_ties_at_kth_place_are_all_kept():
    c = kwta(3, 1, "count", window=8)
    steps = required_steps(c.meta)
    r = sa.simulate(c, {"in": spikes_with_counts([5, 5, 2], 8, steps)}, steps=steps)
    assert list(winners_from_spikes(r.spikes["winners"])[0]) == [True, True, False]


def test_window_ignores_spikes_outside(rng):
    # token 0 spikes every step outside [4, 10) and never inside; token 1 spikes 3 times inside
    c = kwta(2, 1, "count", window=(4, 10))
    steps = required_steps(c.meta)
    x = np.zeros((steps, 1, 2), bool)
    x[:4, 0, 0] = True
    x[10:, 0, 0] = True
    x[[5, 6, 8], 0, 1] = True
    r = sa.simulate(c, {"in": x}, steps=steps)
    assert list(winners_from_spikes(r.spikes["winners"])[0]) == [False, True]
    xb = poisson(rng, steps, 200, 2)
    rb = sa.simulate(c, {"in": xb}, steps=steps)
    assert np.array_equal(winners_from_spikes(rb.spikes["winners"]),
                          reference.topk_with_ties(reference.window_counts(xb, 4, 10), 1))


def test_weighted_scores_integer_weights(rng):
    n, d, T, k = 5, 6, 6, 2
    W = rng.integers(-1, 3, (n, d))
    c = kwta(n, k, "count", window=T, scores=W)
    steps = required_steps(c.meta, kth_score=-T * d)
    x = poisson(rng, steps, 200, d)
    r = sa.simulate(c, {"in": x}, steps=steps)
    scores = reference.window_counts(x, 0, T) @ W.T
    assert np.array_equal(winners_from_spikes(r.spikes["winners"]), reference.topk_with_ties(scores, k))


@pytest.mark.parametrize("k", [1, 3])
def test_first_spike_mode_keeps_earliest(rng, k):
    n, B, steps = 8, 200, 30
    times = rng.integers(0, 20, (B, n))
    never = rng.random((B, n)) < 0.2
    x = np.zeros((steps, B, n), bool)
    b, i = np.nonzero(~never)
    x[times[b, i], b, i] = True
    x[np.minimum(times[b, i] + 3, steps - 1), b, i] = True   # later spikes must not matter
    c = kwta(n, k, "first_spike")
    r = sa.simulate(c, {"in": x}, steps=steps)
    assert np.array_equal(winners_from_spikes(r.spikes["winners"]), reference.earliest_k(x, k))


def test_bad_parameters_name_the_field():
    with pytest.raises(ParameterError, match="'k'"):
        kwta(3, 4, "count", window=5)
    with pytest.raises(ParameterError, match="'window'"):
        kwta(3, 1, "count")
    with pytest.raises(ParameterError, match="'mode'"):
        kwta(3, 1, "softmax", window=5)
    with pytest.raises(ParameterError, match="'scores'"):
        kwta(3, 1, "count", window=5, scores=np.ones((2, 3)))
    with pytest.raises(ParameterError, match="'window'"):
        kwta(3, 1, "count", window=(5, 5))


def test_kwta_on_brian2_matches_reference(rng):
    pytest.importorskip("brian2", reason="the brian2 extra is not installed")
    c = kwta(5, 2, "count", window=10)
    steps = required_steps(c.meta)
    x = poisson(rng, steps, 12, 5)
    r = sa.simulate(c, {"in": x}, steps=steps, engine="brian2")
    assert np.array_equal(winners_from_spikes(r.spikes["winners"]),
                          reference.topk_with_ties(reference.window_counts(x, 0, 10), 2))
