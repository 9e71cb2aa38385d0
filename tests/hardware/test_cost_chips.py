"""Hand-computed energies on a tiny workload, for every chip; bounds; literature figure.

Tiny workload (2 steps, 1 sample), written out so every number below can be checked by hand:
  source x: 3 spikes
  population a (4 neurons, 6 B state): 5 active + 3 idle updates, 2 spikes, 30 B state
      read + 30 B written
  projection x->a (8 synapses, 1 B weights): 10 ACs, 4 MACs, 3 messages, 14 B weights read
No circuit is given, so neuromorphic routing counts every message as within one core.
"""
import numpy as np
import pytest

import hardware_models as hm
from spikeattn import EventCounts

PJ, NJ = 1e-12, 1e-9


def tiny_counts() -> EventCounts:
    c = EventCounts(2, 1)
    x = c.add_element("x", "source", {"size": 3})
    a = c.add_element("a", "population", {"size": 4, "state_bytes": 6, "model": "lif"})
    p = c.add_element("x->a", "projection", {"pre": "x", "post": "a", "synapses": 8, "weight_bytes": 1})
    x.fields["spikes"][:, 0] = [2, 1]
    a.fields["neuron_updates_active"][:, 0] = [3, 2]
    a.fields["neuron_updates_idle"][:, 0] = [1, 2]
    a.fields["spikes"][:, 0] = [0, 2]
    a.fields["state_bytes_read"][:, 0] = [18, 12]
    a.fields["state_bytes_written"][:, 0] = [18, 12]
    p.fields["synaptic_acs"][:, 0] = [6, 4]
    p.fields["synaptic_macs"][:, 0] = [4, 0]
    p.fields["messages"][:, 0] = [2, 1]
    p.fields["weight_bytes_read"][:, 0] = [10, 4]
    return c


def close(a, b):
    return a == pytest.approx(b, rel=1e-9)


def test_loihi_by_hand():
    """Issue 9 changed the intended figures: SANA-FE's calibrated values are central, Davies'
    the bounds; latency charges spike-out per spike, message-out per message sent and receive
    per message received, and the 0.6 us (1 tile) barrier."""
    r = hm.cost(tiny_counts(), "loihi")
    b = r.breakdown
    assert close(b["synaptic_compute"], 35.5 * PJ * (10 + 4))          # 497 pJ (MACs as ACs on Loihi 1)
    assert close(b["neuron_updates"], (72.8 * 5 + 51.2 * 3) * PJ)      # 517.6 pJ
    assert close(b["spike_generation"], 69.3 * 2 * PJ)                 # 138.6 pJ
    assert close(b["routing_intra_core"], (111 + 0.0) * 3 * PJ)        # 333 pJ
    assert b["routing_inter_core"] == 0
    # one core, pipelined as SANA-FE's: front end = 14 ops x 3.8 + 3 msgs in x 16 = 101.2 ns,
    # back end = 5 x 9.7 + 3 x 6.0 + 2 spikes x 30 + 3 msgs out x 5.1 = 141.8 ns; the step takes
    # the larger: 141.8 ns over 2 steps, + barrier 600 ns per step -> (70.9 + 600) x 2
    assert close(r.latency_s, 1341.8e-9)
    assert close(b["static"], 0.104 * 1341.8e-9)                       # 139547.2 pJ
    assert close(r.total_j, (497 + 517.6 + 138.6 + 333 + 139547.2) * PJ)
    assert close(r.dynamic_j, (497 + 517.6 + 138.6 + 333) * PJ) and close(r.static_j, 139547.2 * PJ)
    # low: 23.6 x 14; 517.6; no spike-out; no message energy; latency max(14 x 3.1 + 48, 141.8) / 2
    # + 113 = 183.9 ns per step; static: 29 mW (Blouw's idle), only the 1 of 128 cores used
    assert close(r.latency_low_s, 367.8e-9)
    assert close(r.low_j, (330.4 + 517.6 + 0.029 * 367.8e3 / 128) * PJ)
    # high: 497; 81 x 5 + 52 x 3; 138.6; (111 + 1.7) x 3; latency fully serial (14 x 4.7 + 48
    # + 141.8) / 2 + 600 = 727.8 ns per step; static 104 + 65 mW (x86 cores)
    assert close(r.latency_high_s, 1455.6e-9)
    assert close(r.high_j, (497 + 561 + 138.6 + 338.1 + 0.169 * 1455.6e3) * PJ)
    assert close(r.edp_js, r.total_j * r.latency_s)


def test_loihi2_scaled_from_loihi_by_hand():
    r = hm.cost(tiny_counts(), "loihi2")
    # value: every Loihi energy x 0.5, every time x 0.5, graded factor 1; one whole chip's static power
    assert close(r.latency_s, (141.8 * 0.5 / 2 + 600 * 0.5) * 2 * 1e-9)  # 670.9 ns
    assert close(r.total_j, (0.5 * (497 + 517.6 + 138.6 + 333) + 0.052 * 670.9e3) * PJ)
    # high: scale 1.0, graded ops x 2: 35.5 x 10 + 71 x 4 = 639 pJ; MAC time 9.4 ns; serial:
    # (10 x 4.7 + 4 x 9.4 + 48 + 141.8) / 2 + 600 = 737.2 ns per step
    assert close(r.latency_high_s, 1474.4e-9)
    assert close(r.high_j, (639 + 561 + 138.6 + 338.1 + 0.169 * 1474.4e3) * PJ)
    assert r.low_j < r.total_j < r.high_j
    assert any("0.25-1.0" in n for n in r.notes)


def test_truenorth_split_accounting_by_hand():
    """Issue 9: TrueNorth pays static power like every chip: (1 - f) x 26 pJ per synaptic event
    plus f x 72 mW over 2 ticks of 1 ms (f = 0.5; range 0 - 63/72)."""
    r = hm.cost(tiny_counts(), "truenorth")
    assert r.breakdown == {"synaptic_compute": pytest.approx(13 * PJ * 14), "static": pytest.approx(0.036 * 2e-3)}
    assert close(r.latency_s, 2 * 1e-3)                                 # 2 ticks of 1 ms
    assert close(r.low_j, 26 * PJ * (1 - 63 / 72) * 14)                 # no static at the low end
    assert close(r.high_j, 26 * PJ * 14 + 0.063 * 2e-3)
    assert any("included in the per-event figure" in n for n in r.notes)


def test_truenorth_ignores_memory_and_places():
    from spikeattn import Circuit, IF
    c = Circuit("t")
    c.add_source("x", 3)
    c.add_population("a", 4, IF(vth=1.0))
    c.connect("x", "a", np.ones((4, 3)))
    r = hm.cost(tiny_counts(), "truenorth", circuit=c)
    assert close(r.total_j, 13 * 14 * PJ + 0.036 * 2e-3)
    assert r.placement["cores_used"] == 1


@pytest.mark.parametrize("name,dynamic,static,static_low,static_high", [
    # 186.2 + 208 = 394.2 nJ (clock-driven: 8 updates); 0.5 W (0.25-1 W) x 2 ms; low: 1 of 16 cores
    ("spinnaker1", 13.3 * NJ * 14 + 26 * NJ * 8, 0.5 * 2e-3, 0.25 * 2e-3 / 16, 1.0 * 2e-3),
    # 6.3 + 17.52 = 23.82 nJ; 0.5 W (0.1-2 W) x 2 ms; low: 1 of 152 PEs
    ("spinnaker2", 0.45 * NJ * 14 + 2.19 * NJ * 8, 0.5 * 2e-3, 0.1 * 2e-3 / 152, 2.0 * 2e-3),
    ("cpu", 8.6 * NJ * 14 + 8.6 * NJ * 8, 0.0, 0.0, 0.0),            # 189.2 nJ
    ("literature", 4.6 * PJ * 4 + 0.9 * PJ * 10, 0.0, 0.0, 0.0),     # 27.4 pJ
])
def test_per_op_models_by_hand(name, dynamic, static, static_low, static_high):
    r = hm.cost(tiny_counts(), name)
    assert close(r.dynamic_j, dynamic) and close(r.total_j, dynamic + static)
    assert close(r.low_j, dynamic + static_low) and close(r.high_j, dynamic + static_high)


def test_spinnaker_latency_real_time():
    assert close(hm.cost(tiny_counts(), "spinnaker1").latency_s, 2e-3)


def test_asic45nm_by_hand():
    r = hm.cost(tiny_counts(), "asic45nm")
    b = r.breakdown
    # weights 8 x 1 B and state 4 x 6 B both fit the 8 KB SRAM: 10 pJ per 64 bit = 1.25 pJ/B
    assert close(b["synaptic_compute"], (0.1 * 10 + 0.3 * 4) * PJ)    # 2.2 pJ
    assert close(b["neuron_updates"], 3.3 * 5 * PJ)                    # 16.5 pJ (idle skipped)
    assert close(b["memory_weights_sram_8kb"], 14 * 1.25 * PJ)         # 17.5 pJ
    assert close(b["memory_state_sram_8kb"], 60 * 1.25 * PJ)           # 75 pJ
    assert close(r.total_j, (2.2 + 16.5 + 17.5 + 75) * PJ)
    assert close(r.low_j, (0.03 * 10 + 0.23 * 4 + 0.23 * 5 + 92.5) * PJ)
    assert close(r.high_j, (0.9 * 10 + 4.6 * 4 + 5.5 * 5 + 92.5) * PJ)
    assert r.latency_s is None and r.edp_js is None


def test_asic45nm_dram_level_for_big_weights():
    d = tiny_counts().to_dict()
    d["elements"]["x->a"]["meta"]["synapses"] = 2_000_000      # 2 MB of weights: beyond 1 MB SRAM
    r = hm.cost(d, "asic45nm")
    assert close(r.breakdown["memory_weights_dram"], 14 * 1300 / 8 * PJ)
    assert close(r.breakdown_high["memory_weights_dram"], 14 * 2600 / 8 * PJ)


def test_dict_and_eventcounts_give_the_same_report():
    c = tiny_counts()
    for name in ("loihi", "truenorth", "asic45nm"):
        a, b = hm.cost(c, name), hm.cost({"counts": c.to_dict()}, name)
        assert a.to_dict() == b.to_dict()


@pytest.mark.parametrize("name", ["loihi", "loihi2", "truenorth", "spinnaker1", "spinnaker2", "asic45nm", "cpu",
                                  "literature"])
def test_every_model_orders_its_bounds(name):
    r = hm.cost(tiny_counts(), name)
    assert r.low_j <= r.total_j <= r.high_j
    for k in r.breakdown:
        assert r.breakdown_low[k] <= r.breakdown[k] <= r.breakdown_high[k]


def test_gpu_models_refuse_event_counts():
    with pytest.raises(hm.HardwareKindError, match="hardware_models.estimate"):   # issue 18: the one path
        hm.cost(tiny_counts(), "h100")


def test_unknown_hardware_and_bad_counts():
    with pytest.raises(hm.UnknownHardwareError, match="known: loihi"):
        hm.cost(tiny_counts(), "loihi3")
    with pytest.raises(hm.CountsFormatError, match="no 'elements'"):
        hm.cost({"steps": 1, "batch": 1}, "loihi")
