"""Monte Carlo per constant (hardware_models.uncertainty): seeded, each constant over its own
range, checked against closed forms of the triangular distribution."""
import numpy as np
import pytest

import hardware_models as hm
from hardware_models.constants import ranged
from hardware_models.uncertainty import draw, monte_carlo, summary
from spikeattn import EventCounts


def counts():
    c = EventCounts(1, 1)
    c.add_element("p", "projection", {"synapses": 10, "weight_bytes": 1})
    c.elements["p"].fields["synaptic_acs"][0, 0] = 1000
    return c


def test_triangular_draws_match_the_closed_form_median():
    # triangular(0, 0, 1): median = 1 - sqrt(1/2); triangular(a, c, b) with c = b: median = b - (b-a)/sqrt(2)
    x = draw(ranged(0.0, 0.0, 1.0, "1", "test", "D"), 200_000, np.random.default_rng(1))
    assert summary(x)["median"] == pytest.approx(1 - np.sqrt(0.5), abs=3e-3)
    assert summary(x)["p95"] == pytest.approx(1 - np.sqrt(0.05), abs=3e-3)
    fixed = draw(ranged(2.0, 2.0, 2.0, "1", "test", "D"), 10, np.random.default_rng(1))
    assert (fixed == 2.0).all()


def test_literature_formula_is_fixed_and_asic_is_one_constant_wide():
    mc = monte_carlo(counts(), "literature", n=500)
    assert mc["total_j"]["p5"] == mc["total_j"]["p95"] == pytest.approx(1000 * 0.9e-12)
    # ASIC: one term, e_ac triangular(0.03, 0.1, 0.9) pJ x 1000 (+ fixed SRAM energy of 10 weights)
    mc = monte_carlo(counts(), "asic45nm", n=100_000, seed=3)
    rng = np.random.default_rng(7)
    ref = rng.triangular(0.03e-12, 0.1e-12, 0.9e-12, 100_000) * 1000
    mem = hm.cost(counts(), "asic45nm").breakdown["memory_weights_sram_8kb"]
    assert mc["total_j"]["median"] == pytest.approx(np.median(ref) + mem, rel=0.01)
    assert mc["total_j"]["p95"] == pytest.approx(np.percentile(ref, 95) + mem, rel=0.01)


def test_interval_is_narrower_than_the_corners_and_seeded():
    c = counts()
    a, b = monte_carlo(c, "loihi", n=2000, seed=5), monte_carlo(c, "loihi", n=2000, seed=5)
    assert a == b
    rep = hm.cost(c, "loihi")
    iv = a["total_j"]
    assert rep.low_j <= iv["p5"] <= iv["median"] <= iv["p95"] <= rep.high_j
    assert iv["p95"] / iv["p5"] < rep.high_j / rep.low_j
    assert a["dynamic_j"]["median"] < a["total_j"]["median"]
