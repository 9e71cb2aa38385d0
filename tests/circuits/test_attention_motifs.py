"""Motifs and the GradedReLU neuron: literal per-step trajectories (Norse style)."""
import numpy as np
import pytest

from spikeattn import Circuit, simulate
from spikeattn.circuits import motifs
from spikeattn.errors import ParameterError
from spikeattn.ir.neurons_extra import GradedReLU


def test_graded_relu_literal_trajectory():
    c = Circuit("g")
    c.add_source("x", 1, encoder="graded")
    c.add_population("n", 1, GradedReLU(vth=1.5))
    c.connect("x", "n", 1.0, message="graded")
    c.probe("n", ("v",))
    x = np.array([0.0, 1.0, 2.0, 4.5, 0.0, 1.5]).reshape(6, 1, 1)
    r = simulate(c, {"x": x}, steps=7)
    # input arrives one step later; v = a_in (no memory), graded output v - 1.5 if v > 1.5
    np.testing.assert_array_equal(r.probes["n"]["v"][:, 0, 0], [0, 0, 1, 2, 4.5, 0, 1.5])
    np.testing.assert_array_equal(r.spikes["n"][:, 0, 0], [0, 0, 0, 0.5, 3.0, 0, 0])   # values v - 1.5
    assert r.counts.total("neuron_updates_active", elements=["n"]) == 4   # steps with input
    assert r.counts.total("spikes", elements=["n"]) == 2                   # graded spikes count once


def test_graded_values_are_carried_downstream():
    """A gate passes the graded value; the MAC projection delivers value * weight."""
    c = Circuit("g")
    c.add_source("x", 1, encoder="graded")
    c.add_source("g", 1)
    motifs.add_gate(c, "gate", 1, ("x", [0]), ("g", [0]), bound=8.0)
    c.add_population("out", 1, GradedReLU())
    c.connect("gate", "out", 0.5, message="graded")
    c.probe("out", ("v",))
    x = np.array([3.0, 5.0, 7.0, 0.0]).reshape(4, 1, 1)
    g = np.array([1, 0, 1, 1], bool).reshape(4, 1, 1)
    r = simulate(c, {"x": x, "g": g}, steps=6)
    # gate at t+1 = x_t if g_t; out at t+2 = 0.5 * gate
    np.testing.assert_array_equal(r.probes["out"]["v"][:, 0, 0], [0, 0, 1.5, 0, 3.5, 0])


def test_and_motif_is_coincidence():
    c = Circuit("and")
    c.add_source("a", 4)
    c.add_source("b", 4)
    motifs.add_and(c, "y", 4, [("a", np.arange(4)), ("b", np.arange(4))])
    a = np.array([[1, 1, 0, 0], [1, 0, 1, 0]], bool)[:, None]
    b = np.array([[1, 0, 1, 0], [1, 1, 1, 1]], bool)[:, None]
    r = simulate(c, {"a": a, "b": b}, steps=3)
    np.testing.assert_array_equal(r.spikes["y"][1:, 0], a[:, 0] & b[:, 0])


def test_delay_line_delays_by_steps():
    c = Circuit("d")
    c.add_source("a", 2)
    last = motifs.add_delay_line(c, "dl", "a", 3)
    c.add_population("y", 2, motifs.relay_model())
    c.connect(last, "y", 1.0)
    a = np.zeros((8, 1, 2), bool)
    a[1, 0, 0] = a[2, 0, 1] = True
    r = simulate(c, {"a": a}, steps=8)
    # spikes at steps 1 and 2 arrive at y 3 steps later (two relays + the last synapse)
    np.testing.assert_array_equal(np.argwhere(r.spikes["y"][:, 0]), [[4, 0], [5, 1]])


def test_motif_parameter_errors():
    with pytest.raises(ParameterError, match="bound"):
        motifs.gate_model(0)
    with pytest.raises(ParameterError, match="vth"):
        GradedReLU(vth=-1.0).check("population 'x'", 1)
    c = Circuit("e")
    c.add_source("a", 3)
    with pytest.raises(ParameterError, match="pre_idx"):
        motifs.add_and(c, "y", 2, [("a", [0, 1, 2]), ("a", [0, 1])])
