"""Sensitivity: the (rate, T) linear model against direct cost evaluations, and a hand case."""
import numpy as np
import pytest

import hardware_models as hm
from hardware_models.sensitivity import gpu_dense_floor_j, sensitivity
from spikeattn import IF, Circuit, EventCounts, simulate


def small_run():
    rng = np.random.default_rng(5)
    c = Circuit("s")
    c.add_source("x", 16, encoder="poisson", seed=1)
    c.add_population("h", 24, IF(vth=1.5))
    c.connect("x", "h", (rng.random((24, 16)) < 0.5) * 1.0)
    return c, simulate(c, {"x": np.full(16, 0.3)}, steps=20)


@pytest.mark.parametrize("name", ["loihi", "loihi2", "truenorth", "spinnaker2", "asic45nm"])
def test_linear_model_equals_direct_cost_on_scaled_counts(name):
    c, res = small_run()
    s = sensitivity(res.counts, name, gpu_j=1e-6, circuit=c)
    view = hm.as_view(res.counts)
    pl = None
    if name in ("loihi", "loihi2"):
        from hardware_models.placement import place
        pl = place(c, name, view)
    for sf, kf in ((0.5, 2), (3.0, 1), (0.0, 3)):
        direct = hm.cost(view.scaled(spike_factor=sf, step_factor=kf), name, placement=pl)
        assert s.energy(s.rate0 * sf, s.steps0 * kf) == pytest.approx(direct.total_j, rel=1e-9)
        assert s.energy(s.rate0 * sf, s.steps0 * kf, "high") == pytest.approx(direct.high_j, rel=1e-9)


def test_crossover_by_hand_on_the_literature_model():
    # one population of 10 neurons, 20 spikes over 4 steps (rate0 = 0.5), 100 ACs: E = 0.9 pJ x 100 = 90 pJ,
    # all spike-driven (A = 0).  Against E_gpu = 45 pJ the crossover at T0 is r0 x 45 / 90 = 0.25,
    # and at T = 8 it halves to 0.125.
    c = EventCounts(4, 1)
    c.add_element("a", "population", {"size": 10}).fields["spikes"][0, 0] = 20
    c.add_element("p", "projection", {"synapses": 50}).fields["synaptic_acs"][0, 0] = 100
    s = sensitivity(c, "literature", gpu_j=45e-12)
    assert s.rate0 == 0.5 and s.a_j == 0 and s.b_j == pytest.approx(90e-12)
    assert s.crossover_rate(4) == pytest.approx(0.25)
    assert s.crossover_rate(8) == pytest.approx(0.125)
    assert s.ratio(0.25, 4) == pytest.approx(1.0)
    # spikes per synapse per inference at the crossover (T = 4): 100 x 0.5 / 50 = 1.0
    assert s.spikes_per_synapse(0.25, 4) == pytest.approx(1.0)
    # at T = 5 the crossover is 0.25 x 4 / 5 = 0.2; 1.0 lies inside Dampfhoffer's 0.15-1.38
    cmp = s.literature_comparison()
    assert "crossover rate 0.2 " in cmp[0] and "about 0.057" in cmp[0]
    assert "1 synaptic events per synapse" in cmp[1] and "inside" in cmp[1]


def test_no_crossover_when_step_costs_alone_exceed_the_gpu():
    c, res = small_run()
    s = sensitivity(res.counts, "spinnaker1", gpu_j=1e-12)
    assert s.crossover_rate(20) is None
    assert any("Dampfhoffer" in n for n in s.notes) and any("Yan" in n for n in s.notes)


def test_gpu_floor_by_hand():
    c = EventCounts(1, 2)
    c.add_element("p", "projection", {"synapses": 1000, "weight_bytes": 1})
    # 2 FLOP x 1000 synapses x 2 samples x ((700 - 70) W / 989 TFLOP/s) + 1000 B x 31.2 pJ/B
    # (issue 9: energy per FLOP is defined once, as the dynamic (TDP - idle) / peak)
    assert gpu_dense_floor_j(c, "h100") == pytest.approx(4000 * 630 / 989e12 + 1000 * 31.2e-12)


def test_sensitivity_needs_spikes():
    c = EventCounts(1, 1)
    c.add_element("a", "population", {"size": 3})
    with pytest.raises(hm.CountsFormatError, match="spike"):
        sensitivity(c, "loihi", gpu_j=1.0)


def test_gpu_floor_report_matches_the_floor_and_says_so():
    from hardware_models.baseline import gpu_floor_report
    c = EventCounts(1, 2)
    c.add_element("p", "projection", {"synapses": 1000, "weight_bytes": 1})
    r = gpu_floor_report(c, "h100")
    assert r.total_j == pytest.approx(gpu_dense_floor_j(c, "h100"))
    # roofline: max(4000 FLOP / 989 TFLOP/s, 1000 B / 3.35 TB/s)
    assert r.latency_s == pytest.approx(max(4000 / 989e12, 1000 / 3.35e12))
    assert any("Modelled only" in n for n in r.notes)
