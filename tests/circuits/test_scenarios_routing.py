"""The routing scenarios run end to end (numpy and Brian2), pass their own reference checks,
and agree with an independent recomputation from their recorded spikes."""
import json
from pathlib import Path

import numpy as np
import pytest

import scenarios
from scenarios.base import SCENARIOS, ScenarioConfig
from spikeattn.engines.lava.engine import lava_importable
from spikeattn.errors import ParameterError

LAVA_PYTHON = Path(__file__).resolve().parents[2] / ".venv-lava" / "bin" / "python"

scenarios.load_all()


def cfg(tmp_path, **kw):
    kw.setdefault("progress", False)
    kw.setdefault("figures", False)
    return ScenarioConfig(out_dir=tmp_path, **kw)


def test_wta_routing_numpy_with_figures(tmp_path):
    out = SCENARIOS["wta-routing"].run(cfg(tmp_path, batch=32, figures=True))
    o = out.outcome
    assert o["passed"], o["checks"]
    assert o["details"]["cues"] == 32 and o["metrics"]["wta_exact_vs_topk"]["value"] == 1.0
    res = out.result
    # independent recomputation: where the windowed cue counts have a unique maximum, the
    # routed output must be exactly the arg-max stream delayed by two steps once open
    counts = (np.asarray(res.spikes["cue"])[:16] != 0).sum(axis=0)
    winners = np.asarray(res.spikes["wta.winners"]).any(axis=0)
    top = np.sort(counts, axis=1)
    unique = top[:, -1] > top[:, -2]
    assert unique.sum() >= 28
    assert np.array_equal(winners[unique].argmax(axis=1), counts[unique].argmax(axis=1))
    assert np.array_equal(winners[unique].sum(axis=1), np.ones(unique.sum()))
    streams = np.asarray(res.spikes["streams"]).reshape(res.steps, res.batch, 4, 8)
    out_spikes = np.asarray(res.spikes["route.out"])
    t_dec = np.asarray(res.spikes["wta.winners"]).any(axis=2).argmax(axis=0)
    for b in np.nonzero(unique)[0][:8]:
        k, t0 = counts[b].argmax(), t_dec[b] + 1
        assert np.array_equal(out_spikes[t0 + 2:, b], streams[t0:-2, b, k])
        assert not out_spikes[:t0 + 2, b].any()
    assert len(out.figures) == 3 and all(p.stat().st_size > 10_000 for p in out.figures)
    assert all(p.with_suffix(".svg").read_text().lstrip().startswith("<?xml") for p in out.figures)
    acc = [p["selection_accuracy"] for p in o["details"]["contrast_sweep"]["points"]]
    assert acc[-1] > acc[0] + 0.5                     # a stronger cue is selected more reliably
    json.dumps(o)                                     # JSON-ready


def test_wta_routing_on_brian2(tmp_path):
    pytest.importorskip("brian2", reason="the brian2 extra is not installed")
    out = SCENARIOS["wta-routing"].run(cfg(tmp_path, engine="brian2", batch=8,
                                           params={"contrast_sweep": False}))
    assert out.outcome["passed"], out.outcome["checks"]
    assert out.result.engine == "brian2"


@pytest.mark.skipif(not (lava_importable() or LAVA_PYTHON.is_file()),
                    reason=f"lava-nc is not importable and there is no Lava venv at {LAVA_PYTHON}")
def test_wta_routing_on_lava_fixed_point(tmp_path):
    out = SCENARIOS["wta-routing"].run(cfg(tmp_path, engine="lava", batch=3, params={"contrast_sweep": False}))
    assert out.outcome["passed"], out.outcome["checks"]
    assert out.outcome["details"]["arithmetic"] == "loihi fixed point" and out.circuit.fixed_point
    assert out.result.engine == "lava"
    # the engine's differences are declared, never silent
    assert set(out.reduced) == {"arithmetic"} and "fixed-point" in out.reduced["arithmetic"]["what"]
    assert set(out.outcome["checks_not_run"]) == {"contrast_sweep_matches_topk", "contrast_sweep_matches_closed_form"}


def test_wta_routing_refuses_too_few_steps(tmp_path):
    with pytest.raises(ParameterError, match="steps"):
        SCENARIOS["wta-routing"].run(cfg(tmp_path, steps=10))


def test_moe_routing(tmp_path):
    out = SCENARIOS["moe-routing"].run(cfg(tmp_path, batch=16))
    o = out.outcome
    assert o["passed"], o["checks"]
    m = {k: v["value"] for k, v in o["metrics"].items()}
    assert m["experts_per_token"] >= 2 and 0 < m["expert_ops_saving"] < 1
    # independent: the gate's experts are the two classes with the largest window counts
    x = np.asarray(out.result.spikes["token"])[:8] != 0
    class_counts = x.sum(axis=0).reshape(16, 4, 4).sum(axis=2)
    chosen = np.asarray(out.result.spikes["gate.winners"]).any(axis=0)
    srt = np.sort(class_counts, axis=1)
    clear = srt[:, -2] > srt[:, -3]
    assert clear.sum() >= 8
    assert np.array_equal(chosen[clear], class_counts[clear] >= srt[clear, -2:-1])


def test_hierarchical_attention(tmp_path):
    out = SCENARIOS["hierarchical-attention"].run(cfg(tmp_path, batch=16))
    o = out.outcome
    assert o["passed"], o["checks"]
    m = {k: v["value"] for k, v in o["metrics"].items()}
    assert m["fine_stage_ops_per_sample"] < m["flat_stage_ops_per_sample"]
    assert len(o["checks"]) == 7 and not o["checks_not_run"]
    # independent: the selected region is the one with the most spikes in the coarse window
    x = np.asarray(out.result.spikes["tokens"])[:8] != 0
    pooled = x.sum(axis=0).reshape(16, 8, 4).sum(axis=2)
    region = np.asarray(out.result.spikes["coarse.winners"]).any(axis=0)
    srt = np.sort(pooled, axis=1)
    clear = srt[:, -1] > srt[:, -2]
    assert np.array_equal(region[clear].argmax(axis=1), pooled[clear].argmax(axis=1))
