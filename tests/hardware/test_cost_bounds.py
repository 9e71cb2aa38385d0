"""Range propagation (interval arithmetic) and the published literature figure."""
import pytest

import hardware_models as hm
from hardware_models.constants import Constant, exact, ranged
from hardware_models.model import HardwareModel
from spikeattn import EventCounts
from spikeattn.errors import ParameterError


def acs_only(n: int) -> EventCounts:
    c = EventCounts(1, 1)
    c.add_element("p", "projection", {"synapses": n})
    c.elements["p"].fields["synaptic_acs"][0, 0] = n
    return c


def test_interval_bounds_follow_the_constant_range():
    m = HardwareModel("toy", "toy", "asic", {"e_ac": ranged(2e-12, 1e-12, 3e-12, "J/op", "test", "D"),
                                              "e_neuron_active": exact(0.0, "J", "test", "D")})
    r = hm.cost(acs_only(10), m)
    assert (r.low_j, r.total_j, r.high_j) == pytest.approx((10e-12, 20e-12, 30e-12))


def test_products_of_ranges_multiply_end_to_end():
    a = ranged(2.0, 1.0, 4.0, "J", "a", "S")
    b = a.scaled(ranged(0.5, 0.25, 1.0, "1", "f", "D"))
    assert (b.low, b.value, b.high) == (0.25, 1.0, 4.0)


def test_constant_validation():
    with pytest.raises(ParameterError, match="tag"):
        Constant(1, 1, 1, "J", "src", "X")
    with pytest.raises(ParameterError, match="low <= value <= high"):
        Constant(1, 2, 3, "J", "src", "S")
    with pytest.raises(ParameterError, match="source"):
        Constant(1, 1, 1, "J", "", "S")


def test_literature_formula_reproduces_the_published_figure():
    # Spike-driven Transformer-style figure: 0.347 G MAC + 6.518 G AC at 4.6 / 0.9 pJ -> 7.46 mJ
    e = hm.literature_energy(0.347e9, 6.518e9)
    assert e == pytest.approx(0.347e9 * 4.6e-12 + 6.518e9 * 0.9e-12)
    assert round(e * 1e3, 2) == 7.46


def test_literature_model_on_counts_matches_the_helper():
    c = EventCounts(1, 1)
    p = c.add_element("p", "projection", {})
    p.fields["synaptic_macs"][0, 0] = 347
    p.fields["synaptic_acs"][0, 0] = 6518
    assert hm.cost(c, "literature").total_j == pytest.approx(hm.literature_energy(347, 6518))


def test_report_round_trips_through_json():
    import json
    r = hm.cost(acs_only(7), "loihi")
    back = hm.EnergyReport.from_dict(json.loads(r.to_json()))
    assert back.to_dict() == r.to_dict()
    assert back.edp_js == pytest.approx(r.total_j * r.latency_s)


def test_malformed_models_are_refused():
    with pytest.raises(ParameterError, match="kind"):
        HardwareModel("x", "x", "quantum", {})
    with pytest.raises(ParameterError, match="e_ac"):
        HardwareModel("x", "x", "neuromorphic", {})
    with pytest.raises(ParameterError, match="e_all_in"):
        HardwareModel("x", "x", "neuromorphic", {}, all_in=True)
