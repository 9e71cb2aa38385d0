"""Floating-point circuits: the numpy engine against Lava 0.10's ``floating_pt`` models, live.

Lava's float LIF, Dense, Sparse and DelayDense sum in a different order than our engine,
so u and v agree to rounding (``allclose``) while spikes and EventCounts must be identical.
Unsupported float features (refractory period, reset by subtraction, per-neuron
du/dv/vth, non-zero v_reset) are refused up front with the reason.
"""
import numpy as np
import pytest
import scipy.sparse as sp

from spikeattn import simulate
from spikeattn.errors import UnsupportedFeatureError
from spikeattn.ir import IF, LIF, Circuit

STEPS = 220


@pytest.mark.parametrize("batch_mode", ["loop", "tile"])
def test_float_lif_chain_with_delay_and_sparse(compare_with_lava, batch_mode):
    rng = np.random.default_rng(71)
    c = Circuit("float_chain")
    c.add_source("x", 10, encoder="poisson", seed=3)
    c.add_population("a", 12, LIF(du=0.3, dv=0.1, vth=4.0, bias=rng.uniform(-0.05, 0.08, 12)))
    c.add_population("b", 6, LIF(du=0.5, dv=0.05, vth=0.8))
    c.connect("x", "a", rng.normal(0.25, 0.3, (12, 10)))
    c.connect("a", "b", sp.random(6, 12, density=0.5, random_state=2, format="csr",
                                  data_rvs=lambda k: rng.normal(0.3, 0.2, k)), delay=3)
    c.connect("b", "b", -0.2 * np.ones((6, 6)), name="b_rec")
    c.probe("a", ("u", "v"))
    c.probe("b", ("u", "v"))
    ref, got = compare_with_lava(c, {"x": np.full((2, 10), 0.25)}, STEPS, exact=False, batch_mode=batch_mode)
    assert got.meta["mode"] == "floating_pt"
    for n in ("a", "b"):
        rate = ref.spikes[n].mean()
        assert 0.02 < rate < 0.9, f"{n}: rate {rate}"


def test_float_if_reset_zero_graded_source(compare_with_lava):
    rng = np.random.default_rng(72)
    c = Circuit("float_if_graded")
    c.add_source("g", 5, encoder="graded")
    c.add_population("i", 8, IF(vth=2.0, reset="zero", bias=0.01))
    c.connect("g", "i", rng.normal(0.1, 0.4, (8, 5)), message="graded")
    c.probe("i", ("u", "v"))
    values = rng.uniform(-1, 2, (STEPS, 1, 5)) * (rng.random((STEPS, 1, 5)) < 0.5)
    ref, _ = compare_with_lava(c, {"g": values}, STEPS, exact=False)
    assert 0.02 < ref.spikes["i"].mean() < 0.9
    assert ref.counts.total("synaptic_macs") > 0


@pytest.mark.parametrize("model, feature", [
    (LIF(refractory=2), "lif:refractory"),
    (IF(), "lif:reset_subtract"),
    (LIF(du=np.full(3, 0.5)), "lif:per_neuron_params"),
    (LIF(v_reset=-0.5), "lif:v_reset"),
])
def test_unsupported_float_features_are_refused_with_reason(model, feature):
    c = Circuit("unsupported")
    c.add_source("x", 3)
    c.add_population("p", 3, model)
    c.connect("x", "p", np.eye(3))
    with pytest.raises(UnsupportedFeatureError, match=feature) as info:
        simulate(c, {"x": np.ones((4, 3), bool)}, 4, engine="lava", bridge="never")
    assert "population 'p'" in str(info.value)
