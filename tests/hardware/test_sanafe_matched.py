"""SANA-FE on spikeattn's own placement (issue 9): large sources are split across cores, the
comparison uses the placement it is given, and spikeattn's Loihi synapse term is within 15 %
of SANA-FE's on every circuit (oracle: SANA-FE 2.2.9 run live)."""
import numpy as np
import pytest

pytest.importorskip("sanafe", reason="SANA-FE (the 'sanafe' extra) is not installed")

import spikeattn as sa  # noqa: E402
from hardware_models.placement import place  # noqa: E402
from hardware_models.sanafe_engine import compare_with_model, fit_inputs, run_sanafe  # noqa: E402
from spikeattn.circuits.attention import sdsa_attention  # noqa: E402


def dyadic(x, bits=6):
    return np.round(np.asarray(x) * 2 ** bits) / 2 ** bits


def circuits(rng):
    ff = sa.Circuit("ff")
    ff.add_source("x", 24)
    ff.add_population("h", 16, sa.LIF(du=1.0, dv=0.0, vth=1.0, reset="subtract"))
    ff.add_population("o", 6, sa.LIF(du=0.5, dv=0.125, vth=1.0, bias=dyadic(0.05)))
    ff.connect("x", "h", dyadic(rng.normal(0.25, 0.3, (16, 24))))
    ff.connect("h", "o", dyadic(rng.normal(0.3, 0.4, (6, 16))))
    wide = sa.Circuit("wide")                        # a 600-input source: more than 256 input units per core
    wide.add_source("x", 600)
    wide.add_population("h", 64, sa.LIF(du=1.0, dv=0.0, vth=4.0))
    wide.connect("x", "h", (rng.random((64, 600)) < 0.05) * 1.0)
    return [(ff, 24), (wide, 600), (sdsa_attention(32, 16, delay_mode="relay"), None)]


@pytest.mark.parametrize("index", [0, 1, 2])
def test_matched_placement_runs_and_agrees(index):
    rng = np.random.default_rng(11)
    c, _ = circuits(rng)[index]
    inputs = {s: rng.random((16, 2, c.node(s).size)) < 0.2 for s in c.sources}
    res = sa.simulate(c, inputs, steps=16)
    pl = place(c, "loihi", res)
    run = run_sanafe(c, result=res, placement=pl)
    assert run.spikes_match, run.mismatches
    cmp = compare_with_model(run, c, res, "loihi")
    assert cmp["placement_matched"]
    assert abs(cmp["term_ratio"]["synapse"] - 1) <= 0.15
    assert abs(cmp["ratio_dynamic"] - 1) <= 0.15, cmp["explanation"]
    # latency: the pipelined core, receive time per message and SANA-FE's barrier table bring the
    # model within 25 % of SANA-FE (the accuracy SANA-FE itself claims against Loihi silicon)
    assert 0.75 <= cmp["latency_ratio"] <= 1.25, cmp["latency_ratio"]
    # the same cores on both sides: SANA-FE's packets equal the placement's message count
    t = pl.traffic(res.counts)
    assert run.packets == pytest.approx(t.intra_core_messages + t.inter_core_messages)


def test_fit_inputs_splits_a_large_source():
    c = sa.Circuit("big")
    c.add_source("x", 600)
    c.add_population("h", 4, sa.LIF())
    c.connect("x", "h", np.ones((4, 600)))
    cores = fit_inputs(c, {"x": np.zeros(600, np.int64), "h": np.zeros(4, np.int64)}, "loihi")
    counts = np.bincount(cores["x"])
    assert counts.max() <= 256 and counts.sum() == 600 and (cores["h"] == 0).all()
