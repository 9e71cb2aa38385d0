"""Graded ReLU dynamics (:class:`spikeattn.ir.neurons_extra.GradedReLU`)."""
from __future__ import annotations

import numpy as np

from ..ir.neurons_extra import GradedReLU
from .registry import Dynamics, register_dynamics


@register_dynamics(GradedReLU)
class GradedReLUDynamics(Dynamics):
    """Memoryless: ``v = a_in``; output ``v - vth`` where ``v > vth``, else 0 (float64).

    It carries nothing from one step to the next, so it is resting before every update:
    an update is active only when input arrives."""

    def params(self, pop):
        return {"vth": np.broadcast_to(np.asarray(pop.model.vth, np.float64), (pop.size,)).copy(),
                "bias": np.zeros(pop.size)}

    def step(self, params, state, a_in):
        v = np.array(a_in, np.float64)
        return np.where(v > params["vth"], v - params["vth"], 0.0), {"v": v}

    def carries(self, params, state):
        return np.zeros(np.shape(state["v"]), bool)
