"""Conformance case of feature ``model:own_dynamics``: a model subclass with a Dynamics class
of its own.  Engines that step through ``dynamics_for`` must run its equations (not its
kind's); engines that lower each kind to their own equations refuse it and skip the case.

``DoubleInputLIF`` is an LIF whose synaptic input is doubled.  The scalar oracle reads
``INPUT_GAIN`` and doubles the input of its own LIF update."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import spikeattn as sa
from spikeattn.dynamics import LIFDynamics, register_dynamics

from conformance_cases import case, spikes_at


@dataclass(frozen=True, eq=False)
class DoubleInputLIF(sa.LIF):
    """LIF receiving twice its summed synaptic input (``a = 2 sum_j w_ij s_j``)."""

    INPUT_GAIN = 2          # not a field: read by conformance_reference's scalar neuron


@register_dynamics(DoubleInputLIF)
class DoubleInputLIFDynamics(LIFDynamics):
    def step(self, params, state, a_in):
        return super().step(params, state, 2 * a_in)


@case("own_dynamics_double_input", literal={"n.spike_steps": [2], "n.u": [0, 1, .5, .25, .125, .0625],
                                            "n.v": [0, 1, 0, .25, .3125, .296875]})
def _own_dynamics():
    """``lif_current_decay``'s trajectory from half its weight: one spike of weight 0.5, doubled
    to 1.0 by the model's own Dynamics; a parent-LIF run would give u = 0.5 and no spike."""
    c = sa.Circuit("own_dynamics")
    c.add_source("x", 1)
    c.add_population("n", 1, DoubleInputLIF(du=0.5, dv=0.25, vth=1.0))
    c.connect("x", "n", np.full((1, 1), 0.5))
    c.probe("n", ("u", "v"))
    return c, {"x": spikes_at(6, 1, {0: [0]})}, 6
