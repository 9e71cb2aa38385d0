"""numpy implementations of the extra neuron models (:mod:`spikeattn.ir.neurons_extra`)."""
from __future__ import annotations

import numpy as np

from ...ir.neurons_extra import GradedReLU
from .neurons import NeuronImpl, builds


@builds(GradedReLU)
class GradedReLUImpl(NeuronImpl):
    """``v = a_in``; graded output ``v - vth`` where ``v > vth`` (float64).  The neuron has no
    memory, so it is resting (idle unless it receives input) at every step."""

    def __init__(self, pop, batch):
        super().__init__(pop, batch)
        self.vth = np.asarray(pop.model.vth, np.float64)
        self.bias = np.zeros(self.n)

    def resting_states(self, states) -> np.ndarray:
        return np.ones(np.shape(states["v"]), bool)   # memoryless: v is overwritten by the input

    def step(self, a_in):
        v = np.array(a_in, np.float64)
        self.state["v"] = v
        return np.where(v > self.vth, v - self.vth, 0.0)
