"""The benchmark code at tiny sizes: every peer simulates the same thing.

Speed is never asserted here (targets live in ``make bench``).  What is checked is what
makes the benchmark's ratios meaningful: independent implementations (Brian2, snnTorch,
Lava, a torch formula) produce the same spikes as spikeattn on the benchmark's own inputs,
and the event count the benchmark divides by equals the engine's EventCounts.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import attention_peers  # noqa: E402
import common  # noqa: E402
import lif_network as net  # noqa: E402
import lif_peers  # noqa: E402

pytest.importorskip("torch", reason="the snnTorch and torch peers need the torch extra")


def _lif(peer, batch=2, steps=400):
    return lif_peers.main({"peer": peer, "batch": batch, "steps": steps, "repeats": 1})


def test_network_is_the_stated_one():
    w = net.recurrent_weights(1000)
    assert 95_000 < w.nnz < 105_000                 # p = 0.1 of 1000 x 999
    assert w.diagonal().sum() == 0
    assert set(np.unique(w.data)) == {net.W_E, net.W_I}
    assert np.all(w[:, 800:].data < 0) and np.all(w[:, :800].data > 0)
    x = net.poisson_input(1000, 2000, 2)
    assert abs(x.mean() - net.P_IN) < 5 * np.sqrt(net.P_IN / x.size)
    assert np.array_equal(net.poisson_input(1000, 50, 3)[:, :2], net.poisson_input(1000, 50, 2))


def test_lif_peers_produce_identical_spikes():
    pytest.importorskip("brian2", reason="the Brian2 peer needs the brian2 extra")
    pytest.importorskip("snntorch", reason="the snnTorch peer needs the snntorch extra")
    ref = _lif("numpy")
    assert ref["spikes"] > 100
    assert ref["synaptic_events"] == ref["events_from_spikes"]
    for peer in ("brian2_numpy", "snntorch"):
        out = _lif(peer)
        assert out["digest"] == ref["digest"], peer
        assert out["synaptic_events"] == ref["synaptic_events"], peer


def test_compiled_peer_matches_numpy_when_present():
    from spikeattn.engines.base import ENGINES

    if "compiled" not in ENGINES:
        pytest.skip("engine 'compiled' is not registered yet (issue 7, item 2)")
    ref, out = _lif("numpy"), _lif("compiled")
    assert out["digest"] == ref["digest"]
    assert out["synaptic_events"] == ref["synaptic_events"]


def test_lava_peer_ends_in_spikeattns_fixed_point_state():
    import bench_events_per_second as bench

    if not bench.LAVA_PY.exists():
        pytest.skip(f"no Lava venv at {bench.LAVA_PY} (make venv-lava)")
    row = bench.measure_lava(100, warm=10, timed=400)
    assert "error" not in row, row.get("error")
    assert row["agrees"] == "final u,v equal"
    assert row["spikes"] > 0 and row["synaptic_events"] >= row["spikes"]


@pytest.mark.parametrize("variant", attention_peers.VARIANTS)
def test_torch_formula_gives_spikeattns_output(variant):
    spec = {"variant": variant, "n": 16, "batch": 2, "d": 8, "t": 5, "rate": 0.3, "repeats": 1}
    sa = attention_peers.main({**spec, "peer": "fused"})
    th = attention_peers.main({**spec, "peer": "torch"})
    assert sa["digest"] == th["digest"]
    assert sa["y_counts"] == th["y_counts"]
    assert 0 < np.sum(sa["y_counts"]) < 2 * 5 * 16 * 8   # neither silent nor saturated
    if variant != "sdsa":
        assert sa["circuit_fused_equal_counts"]


def test_disagreement_is_reported_not_hidden():
    import bench_attention_engines as bench

    base = {"variant": "sdsa", "n": 16, "batch": 1, "wall_s": 1.0, "times_s": [1.0]}
    rows = [{**base, "peer": "torch", "y_counts": [[3]], "digest": "a"},
            {**base, "peer": "fused", "y_counts": [[4]], "digest": "a", "wall_s": 0.5}]
    bench.check(rows)
    assert rows[1]["agrees"].startswith("DIFFERENT")
    assert rows[1]["torch_ratio"] == 2.0
    assert bench.best_spikeattn(rows, "sdsa", 1) == {}     # a disagreeing row never counts for a target


def test_target_verdicts():
    assert common.target_line("x", 1.6, 1.5)["verdict"] == "PASS"
    assert common.target_line("x", 1.4, 1.5)["verdict"] == "MISS"
    assert common.target_line("x", 1.2, 1.1, higher_is_better=False)["verdict"] == "MISS"
    assert common.target_line("x", None, 1.5)["verdict"] == "n/a"
