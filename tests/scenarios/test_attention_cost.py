"""The attention-scaling scenario and its building blocks, checked independently."""
from pathlib import Path

import numpy as np
import pytest

from spikeattn import simulate
from spikeattn.circuits.attention import patterns, sdsa_attention, ssa_attention
from spikeattn.circuits.attention.reference import dense_attention_flops
from scenarios.attention_cost import random_qkv, fit_exponent, measure


def test_fit_exponent_of_exact_power_laws():
    n = np.array([16, 32, 64, 128])
    assert fit_exponent(n, 3 * n ** 2) == pytest.approx(2.0)
    assert fit_exponent(n, 5 * n) == pytest.approx(1.0)


@pytest.mark.parametrize("variant", ["ssa_qk_v", "ssa_q_kv", "ssa_window", "sdsa", "sdsa_window"])
def test_measure_equals_neuron_level_circuit(variant):
    n, d, h, steps = 12, 4, 2, 5
    row = measure(variant, n, d, h, steps, rate=0.3, radius=2)
    inp = random_qkv(n, d, steps, 0.3, 0)
    mask = patterns.local_window(n, 2) if variant.endswith("window") else None
    if variant.startswith("ssa"):
        c = ssa_attention(n, d, h, order="q_kv" if variant == "ssa_q_kv" else "qk_v", mask=mask)
    else:
        c = sdsa_attention(n, d, mask=mask)
    totals = simulate(c, inp, steps=steps).counts.totals()
    assert row["synaptic_ops"] == totals["synaptic_ops"]
    assert row["neuron_updates_active"] == totals["neuron_updates_active"]
    assert row["neurons"] == sum(p.size for p in c.populations.values())
    assert row["dense_flops"] == dense_attention_flops(n, n, d, h, pairs=None if mask is None else mask.nnz)


def test_scenario_passes_and_reports_exponents(tmp_path):
    from scenarios import ScenarioConfig, load_all

    out = load_all()["attention-scaling"].run(ScenarioConfig(out_dir=Path(tmp_path), progress=False, figures=True))
    o = out.outcome
    assert o["passed"], o["checks"]
    assert abs(o["details"]["exponents_synaptic_ops"]["ssa_qk_v"] - 2) < 0.2
    assert abs(o["metrics"]["exponent_sdsa"]["value"] - 1) < 0.25
    assert all(Path(f).stat().st_size > 1000 for f in out.figures) and len(out.figures) == 3
