"""Dynamics of the conversion neurons (:mod:`spikeattn.ir.neurons_convert`).

``step`` and ``carries`` run on numpy arrays or torch tensors (:mod:`.xp`)."""
from __future__ import annotations

import numpy as np

from ..ir.neurons_convert import MultiThresholdIF, TernaryIF
from .registry import Dynamics, register_dynamics
from .xp import is_nonzero, namespace


def _per(x, n):
    return np.broadcast_to(np.asarray(x, np.float64), (n,)).copy()


@register_dynamics(TernaryIF)
class TernaryIFDynamics(Dynamics):
    """``v = (v + a_in) + bias``; ``s = +1 / -1`` beyond ``+-vth``, ``v -= s * vth``.
    Resting: ``v == 0`` and zero bias (no leak: any v is carried)."""

    def params(self, pop):
        return {"vth": _per(pop.model.vth, pop.size), "bias": _per(pop.model.bias, pop.size)}

    def step(self, params, state, a_in):
        v = state["v"] + a_in + params["bias"]
        xp = namespace(v)
        s = xp.where(v > params["vth"], 1.0, xp.where(v < -params["vth"], -1.0, xp.zeros_like(v)))
        return s, {"v": v - s * params["vth"]}

    def carries(self, params, state):
        return is_nonzero(state["v"]) | (params["bias"] != 0)


@register_dynamics(MultiThresholdIF)
class MultiThresholdIFDynamics(Dynamics):
    """``v = (v + a_in) + bias``; ``n = clip(ceil(v / vth) - 1, 0, L)`` (signed: the mirror
    image below zero); ``s = n``; ``v -= n * vth``.  Resting: ``v == 0`` and zero bias."""

    def params(self, pop):
        m = pop.model
        return {"vth": _per(m.vth, pop.size), "bias": _per(m.bias, pop.size),
                "levels": np.full(pop.size, int(m.levels), np.int64), "signed": np.full(pop.size, bool(m.signed))}

    def step(self, params, state, a_in):
        v = state["v"] + a_in + params["bias"]
        vth, levels = params["vth"], params["levels"]
        xp = namespace(v)
        up = xp.clip(xp.ceil(v / vth) - 1, 0, levels)
        down = xp.where(params["signed"], xp.clip(xp.ceil(-v / vth) - 1, 0, levels), 0)
        n = xp.where(v >= 0, up, -down)
        return n, {"v": v - n * vth}

    def carries(self, params, state):
        return is_nonzero(state["v"]) | (params["bias"] != 0)
