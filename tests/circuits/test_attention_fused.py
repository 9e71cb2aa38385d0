"""The fused fast path gives the same spikes and the same EventCounts as the neuron-level run."""
import numpy as np
import pytest

from spikeattn import LIF, simulate
from spikeattn.circuits.attention import (attention_block, linear_attention, patterns, sdsa_attention,
                                          ssa_attention)
from spikeattn.circuits.attention.fused_ssa import ssa_fused


def inputs(rng, T, B, nq, nk, d, rate):
    return {"q": rng.random((T, B, nq * d)) < rate, "k": rng.random((T, B, nk * d)) < rate,
            "v": rng.random((T, B, nk * d)) < rate}


def assert_identical(a, b):
    assert set(a.spikes) == set(b.spikes)
    for n in a.spikes:
        np.testing.assert_array_equal(a.spikes[n] != 0, b.spikes[n] != 0, err_msg=n)
    assert a.counts == b.counts, a.counts.diff(b.counts)


CASES = [
    ("ssa qk_v", lambda n, nk: ssa_attention(n, 6, 2, n_key=nk)),
    ("ssa q_kv", lambda n, nk: ssa_attention(n, 6, 3, n_key=nk, order="q_kv")),
    ("ssa window", lambda n, nk: ssa_attention(n, 4, 2, mask=patterns.local_window(n, 2))),  # n_key = n
    ("ssa causal", lambda n, nk: ssa_attention(n, 4, 1, mask=patterns.causal(n))),  # n_key = n
    ("ssa relay", lambda n, nk: ssa_attention(n, 4, 2, n_key=nk, delay_mode="relay")),
    ("ssa unary", lambda n, nk: ssa_attention(n, 4, 2, n_key=nk, map_code="unary")),
    ("sdsa", lambda n, nk: sdsa_attention(n, 5, n_key=nk)),
    ("sdsa window", lambda n, nk: sdsa_attention(n, 5, mask=patterns.local_window(n, 1))),  # n_key = n
    ("sdsa relay", lambda n, nk: sdsa_attention(n, 5, n_key=nk, delay_mode="relay")),
]


@pytest.mark.parametrize("name,build", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("nq,nk,rate,B", [(6, 6, 0.5, 2), (5, 7, 0.25, 1), (8, 8, 0.8, 3)])
def test_fused_identical_to_neuron_level(rng, name, build, nq, nk, rate, B):
    c = build(nq, nk)
    d = c.node("q").size // nq
    inp = inputs(rng, 11, B, nq, c.node("k").size // d, d, rate)
    slow = simulate(c, inp, steps=11)
    fast = simulate(c, inp, steps=11, fused=True)
    assert fast.meta.get("fused", "").startswith("attention")
    assert slow.counts.total("spikes", kind="population") > 0
    assert_identical(slow, fast)


def test_closed_form_ssa_used_for_synaptic_delays(rng):
    c = ssa_attention(5, 4, 2)
    r = simulate(c, inputs(rng, 8, 1, 5, 5, 4, 0.5), steps=8, fused=True)
    assert r.meta["fused"] == "attention:ssa-closed-form"


def test_fused_linear_attention_identical(rng):
    c = linear_attention(6, 2, max_tokens=20)
    inp = {p: rng.random((20, 2, 6)) < 0.4 for p in "qkv"}
    assert_identical(simulate(c, inp, steps=20), simulate(c, inp, steps=20, fused=True))


def test_fused_block_with_dyadic_weights(rng):
    w = lambda a, b: rng.integers(-4, 9, (a, b)) / 8  # noqa: E731
    blk = attention_block(5, 3, w(4, 3), w(4, 3), w(4, 3), w(2, 4), heads=2, kind="sdsa")
    blk.meta["fused"] = "attention"
    inp = {"x": rng.random((12, 2, 15)) < 0.5}
    assert_identical(simulate(blk, inp, steps=12), simulate(blk, inp, steps=12, fused=True))


def test_non_dyadic_scale_is_not_run_closed_form(rng):
    """The closed form factors its sums, so a non-dyadic scale runs on the generic fused runner,
    which adds inputs in the engines' one summation order: identical to neuron by neuron."""
    c = ssa_attention(4, 4, 2, scale=0.1)
    inp = inputs(rng, 8, 1, 4, 4, 4, 0.5)
    r = simulate(c, inp, steps=8, fused=True)
    assert r.meta["fused"] == "attention"
    assert_identical(simulate(c, inp, steps=8), r)


def test_fused_block_with_decimal_weights(rng):
    """Weights in steps of 0.1 (sums round, ties depend on the order): still identical."""
    w = lambda a, b: rng.integers(-4, 9, (a, b)) / 10  # noqa: E731
    blk = attention_block(5, 3, w(4, 3), w(4, 3), w(4, 3), w(2, 4), heads=2, kind="sdsa")
    blk.meta["fused"] = "attention"
    inp = {"x": rng.random((12, 2, 15)) < 0.5}
    fused = simulate(blk, inp, steps=12, fused=True)
    assert fused.meta["fused"] == "attention"
    assert_identical(simulate(blk, inp, steps=12), fused)


def test_modified_circuit_is_not_run_closed_form(rng):
    """Adding a population after building breaks the recorded structure: no closed form."""
    c = ssa_attention(4, 4, 2)
    c.add_population("extra", 16, LIF())
    c.connect("y", "extra", 1.0)
    inp = inputs(rng, 9, 1, 4, 4, 4, 0.6)
    r = simulate(c, inp, steps=9, fused=True)
    assert r.meta.get("fused") != "attention:ssa-closed-form"
    assert_identical(simulate(c, inp, steps=9), r)


def test_closed_form_without_circuit_matches(rng):
    """ssa_fused from the spec alone (as the scaling benchmark uses it) gives the same counts."""
    c = ssa_attention(9, 4, 2, mask=patterns.local_window(9, 2))
    inp = inputs(rng, 10, 2, 9, 9, 4, 0.5)
    _, counts = ssa_fused(c.meta["attention"], inp["q"], inp["k"], inp["v"], c.node("y").model,
                          patterns.local_window(9, 2))
    assert counts == simulate(c, inp, steps=10).counts


def test_fused_probes_fall_back(rng):
    c = sdsa_attention(4, 3)
    c.probe("kv", ("v",))
    r = simulate(c, inputs(rng, 6, 1, 4, 4, 3, 0.5), steps=6, fused=True)
    assert "fused" not in r.meta and r.probes["kv"]["v"].shape == (6, 1, 3)
