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


def test_draws_match_the_closed_form_quantiles():
    # two-piece uniform: half on [low, value], half on [value, high]; for (1, 2, 5):
    # median 2, p5 = 2 - 1 x 0.9 = 1.1, p95 = 2 + 3 x 0.9 = 4.7
    x = draw(ranged(2.0, 1.0, 5.0, "1", "test", "D"), 200_000, np.random.default_rng(1))
    s = summary(x)
    assert (s["p5"], s["median"], s["p95"]) == pytest.approx((1.1, 2.0, 4.7), abs=0.01)
    # value at the low end: half the draws keep it, p95 = 0 + 1 x 0.9
    y = draw(ranged(0.0, 0.0, 1.0, "1", "test", "D"), 200_000, np.random.default_rng(2))
    assert (y == 0).mean() == pytest.approx(0.5, abs=0.01) and summary(y)["p95"] == pytest.approx(0.9, abs=0.01)
    fixed = draw(ranged(2.0, 2.0, 2.0, "1", "test", "D"), 10, np.random.default_rng(1))
    assert (fixed == 2.0).all()


def test_literature_formula_is_fixed_and_asic_is_one_constant_wide():
    mc = monte_carlo(counts(), "literature", n=500)
    assert mc["total_j"]["p5"] == mc["total_j"]["p95"] == pytest.approx(1000 * 0.9e-12)
    # ASIC: one ranged term, e_ac (0.03, 0.1, 0.9) pJ x 1000 acs, plus the fixed SRAM energy of the
    # weights: median 1000 x 0.1 pJ, p95 1000 x (0.1 + 0.8 x 0.9) pJ, p5 1000 x (0.1 - 0.07 x 0.9) pJ
    mc = monte_carlo(counts(), "asic45nm", n=100_000, seed=3)
    mem = hm.cost(counts(), "asic45nm").breakdown["memory_weights_sram_8kb"]
    assert mc["total_j"]["median"] == pytest.approx(1000 * 0.1e-12 + mem, rel=0.01)
    assert mc["total_j"]["p95"] == pytest.approx(1000 * 0.82e-12 + mem, rel=0.01)
    assert mc["total_j"]["p5"] == pytest.approx(1000 * 0.037e-12 + mem, rel=0.01)


def test_interval_is_narrower_than_the_corners_and_seeded():
    c = counts()
    a, b = monte_carlo(c, "loihi", n=2000, seed=5), monte_carlo(c, "loihi", n=2000, seed=5)
    assert a == b
    rep = hm.cost(c, "loihi")
    iv = a["total_j"]
    assert rep.low_j <= iv["p5"] <= iv["median"] <= iv["p95"] <= rep.high_j
    assert iv["p95"] / iv["p5"] < rep.high_j / rep.low_j
    assert a["dynamic_j"]["median"] < a["total_j"]["median"]
    # each constant's median is its central figure: the model's median sits near the central estimate
    assert iv["median"] == pytest.approx(rep.total_j, rel=0.1)
