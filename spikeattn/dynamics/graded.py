"""Graded ReLU dynamics (:class:`spikeattn.ir.neurons_extra.GradedReLU`)."""
from __future__ import annotations

import numpy as np

from ..ir.neurons_extra import GradedReLU
from .registry import Dynamics, register_dynamics
from .xp import as_float, namespace


@register_dynamics(GradedReLU)
class GradedReLUDynamics(Dynamics):
    """Memoryless: ``v = a_in``; output ``v - vth`` where ``v > vth``, else 0 (float64).

    It carries nothing from one step to the next, so it is resting before every update:
    an update is active only when input arrives.  ``step`` and ``carries`` run on numpy
    arrays or torch tensors (:mod:`.xp`)."""

    def params(self, pop):
        return {"vth": np.broadcast_to(np.asarray(pop.model.vth, np.float64), (pop.size,)).copy(),
                "bias": np.zeros(pop.size)}

    def step(self, params, state, a_in):
        v = as_float(a_in)
        return namespace(v).where(v > params["vth"], v - params["vth"], 0.0), {"v": v}

    def carries(self, params, state):
        return namespace(state["v"]).zeros_like(state["v"], dtype=bool)
