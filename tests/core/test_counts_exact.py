"""EventCounts on tiny circuits, counted by hand (NeuroBench-style exact integers)."""
import numpy as np
import pytest

import spikeattn as sa
from spikeattn.counts import EventCounts
from spikeattn.errors import InputError

# x (3 inputs) -> a (2 neurons); synapses: a0 <- x0 (1), a0 <- x2 (2), a1 <- x2 (3)
W = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]])
X = np.array([[1, 1, 0], [0, 0, 1], [0, 0, 0], [1, 0, 1]], bool)


def tiny(model=None, message="binary"):
    c = sa.Circuit("tiny")
    c.add_source("x", 3)
    c.add_population("a", 2, model or sa.LIF(du=1.0, dv=0.0, vth=2.5))
    c.connect("x", "a", W, name="xa", message=message)
    return c


def test_hand_counted_single_sample():
    r = sa.simulate(tiny(), {"x": X}, steps=4)
    c = r.counts
    # source: 2 + 1 + 0 + 2 spikes
    assert c.per_step("spikes", kind="source").tolist() == [2, 1, 0, 2]
    # synaptic ops at the step the spike is sent: t0 x0 (fan-out 1) + x1 (fan-out 0); t1 x2 (2);
    # t3 x0 (1) + x2 (2)
    assert c.per_step("synaptic_acs").tolist() == [1, 2, 0, 3]
    assert c.total("synaptic_macs") == 0
    # messages: spikes of neurons with at least one synapse (x1 has none)
    assert c.per_step("messages").tolist() == [1, 1, 0, 2]
    assert c.total("weight_bytes_read") == 6 * 4
    # a: t0 nothing; t1 a0 receives 1 event (v0 = 1); t2 both receive (v = 3, 3: both spike);
    # t3 no input; u = [2, 3] holds t2's input but du = 1 carries none of it, v = 0 -> idle
    assert c.per_step("neuron_updates_active", kind="population").tolist() == [0, 1, 2, 0]
    assert c.per_step("neuron_updates_idle", kind="population").tolist() == [2, 1, 0, 2]
    assert r.spikes["a"][:, 0].astype(int).tolist() == [[0, 0], [0, 0], [1, 1], [0, 0]]
    assert c.total("spikes", kind="population") == 2
    assert c.total("state_bytes_read") == 3 * 8 == c.total("state_bytes_written")
    t = c.totals()
    assert t["synaptic_ops"] == 6 and t["input_spikes"] == 5 and t["spikes"] == 2


def test_hand_counted_batch():
    xb = np.stack([X, np.zeros_like(X), np.roll(X, 1, axis=0)], axis=1)  # (steps, batch, n)
    r = sa.simulate(tiny(), {"x": xb}, steps=4)
    c = r.counts
    assert c.batch == 3
    # sample 1 is silent; sample 2 is sample 0 shifted by one step (its last step's spikes first)
    assert c.per_sample("synaptic_acs").tolist() == [6, 0, 6]
    assert c.per_sample("spikes", kind="source").tolist() == [5, 0, 5]
    assert c.per_sample("neuron_updates_active", kind="population").tolist()[1] == 0
    assert c.batch_mean("synaptic_acs") == pytest.approx(4.0)
    assert c.array("synaptic_acs").shape == (4, 3)


def test_graded_messages_count_macs():
    g = np.array([[2, 0, 0], [0, 0, 5], [0, 0, 0], [0, 0, 0]], float)
    c = sa.Circuit("g")
    c.add_source("x", 3, encoder="graded")
    c.add_population("a", 2, sa.LIF(du=1.0, vth=100.0))
    c.connect("x", "a", W, message="graded")
    c.probe("a", "u")
    r = sa.simulate(c, {"x": g[:, None, :]}, steps=4)
    assert r.counts.total("synaptic_macs") == 1 + 2 and r.counts.total("synaptic_acs") == 0
    # graded values are carried: u(t1) = W @ [2, 0, 0] = [2, 0]; u(t2) = W @ [0, 0, 5] = [10, 15]
    assert r.probes["a"]["u"][1:3, 0].tolist() == [[2.0, 0.0], [10.0, 15.0]]


def test_fixed_point_counts_quantised_synapses_and_bytes():
    # mixed weights lose their lowest bit: 1 -> 0 (that synapse disappears), 3 -> 2, -3 -> -4
    c = sa.Circuit("fx")
    c.add_source("x", 3)
    c.add_population("a", 2, sa.LoihiLIF(vth=1000))
    c.connect("x", "a", np.array([[1, 0, 3], [0, 0, -3]]), name="xa")
    r = sa.simulate(c, {"x": np.ones((2, 3), bool)}, steps=2)
    assert r.counts.elements["xa"].meta["synapses"] == 2
    assert r.counts.total("synaptic_acs") == 2 * 2
    assert r.counts.total("weight_bytes_read") == 4 * 1
    assert r.counts.elements["a"].meta["state_bytes"] == 6


def test_merge_is_additive_and_checks_shapes():
    r1 = sa.simulate(tiny(), {"x": X}, steps=4)
    r2 = sa.simulate(tiny(), {"x": np.ones((4, 3), bool)}, steps=4)
    m = r1.counts + r2.counts
    for f in ("synaptic_acs", "messages", "neuron_updates_active"):
        assert m.total(f) == r1.counts.total(f) + r2.counts.total(f)
    assert m.diff(r1.counts) and not m.diff(m)
    other = sa.simulate(tiny(), {"x": X}, steps=3).counts
    with pytest.raises(InputError, match="steps=4.*steps=3"):
        r1.counts + other


def test_active_plus_idle_is_size_every_step(rng):
    c = sa.Circuit("r")
    c.add_source("x", 20, encoder="poisson")
    c.add_population("a", 30, sa.LIF(du=0.5, dv=0.2, vth=1.0))
    c.connect("x", "a", rng.standard_normal((30, 20)) * (rng.random((30, 20)) < 0.2))
    r = sa.simulate(c, {"x": np.full(20, 0.1)}, steps=50, batch=4)
    a = r.counts.elements["a"].fields
    assert np.all(a["neuron_updates_active"] + a["neuron_updates_idle"] == 30)
    # synaptic ops equal spikes x fan-out, computed independently from the recorded spikes
    fan_out = (r.counts.elements["x->a"].meta["synapses"], np.count_nonzero(c.projections["x->a"].weights, axis=0))
    expected = (r.spikes["x"].astype(np.int64) * fan_out[1]).sum(axis=2)
    assert np.array_equal(r.counts.array("synaptic_acs"), expected)


def test_to_dict_is_json_ready():
    import json
    d = sa.simulate(tiny(), {"x": X}, steps=4).counts.to_dict(per_step=True)
    json.dumps(d)
    assert d["elements"]["xa"]["per_step"]["synaptic_acs"] == [1, 2, 0, 3]
    assert d["elements"]["xa"]["meta"]["pre"] == "x"


def test_unknown_field_and_kind():
    c = EventCounts(2, 1)
    with pytest.raises(InputError, match="unknown kind"):
        c.add_element("e", "axon")
    with pytest.raises(InputError, match="no field 'joules'"):
        c.total("joules")


def test_carried_state_decides_active_updates():
    """A neuron with no input is active only while its state carries a value into the step:
    LIF(du=0.5, dv=1) after one input of 1.0 at t1: u = 1, 0.5, 0.25, ... (carried, active);
    LIF(du=1, dv=1): u holds the input for one step but carries nothing -> idle from t2."""
    c = sa.Circuit("carry")
    c.add_source("x", 1)
    c.add_population("leaky", 1, sa.LIF(du=0.5, dv=1.0, vth=10.0))
    c.add_population("memoryless", 1, sa.LIF(du=1.0, dv=1.0, vth=10.0))
    c.connect("x", "leaky", 1.0)
    c.connect("x", "memoryless", 1.0)
    x = np.zeros((5, 1), bool)
    x[0] = True
    r = sa.simulate(c, {"x": x}, steps=5)
    assert r.counts.per_step("neuron_updates_active", elements=["leaky"]).tolist() == [0, 1, 1, 1, 1]
    assert r.counts.per_step("neuron_updates_active", elements=["memoryless"]).tolist() == [0, 1, 0, 0, 0]
