"""Dynamics of the fixed-point conversion neurons (:mod:`spikeattn.ir.neurons_loihi_convert`).

Integer (int64) arithmetic; ``wrap32`` and ``effective_bias`` from :mod:`.fixed_point`.
Equations in :class:`~spikeattn.ir.LoihiMultiThresholdIF` and
:class:`~spikeattn.ir.LoihiGradedReLU`.  Outputs are int64 graded payloads.
"""
from __future__ import annotations

import numpy as np

from ..ir.neurons_loihi_convert import LoihiGradedReLU, LoihiMultiThresholdIF
from . import fixed_point as fx
from .registry import Dynamics, register_dynamics


def _per(x, n):
    return np.broadcast_to(np.asarray(x, np.int64), (n,)).copy()


def multi_threshold_levels(v, vth, levels, signed):
    """Integer level of a saturated ``v``: ``clip((v - 1) // vth, 0, L)`` where ``v > 0``;
    where ``v < 0`` and ``signed``, ``-clip((-v - 1) // vth, 0, L)``; else 0."""
    up = np.clip((v - 1) // vth, 0, levels)
    down = np.where(signed, np.clip((-v - 1) // vth, 0, levels), 0)
    return np.where(v > 0, up, np.where(v < 0, -down, 0)).astype(np.int64)


@register_dynamics(LoihiMultiThresholdIF)
class LoihiMultiThresholdIFDynamics(Dynamics):
    """``v = clip(wrap32(v + a_in + bias), -(2**23-1), 2**23-1)``; ``n`` = thresholds
    strictly exceeded (at most ``L``; mirrored below zero if signed); ``s = n``;
    ``v -= n * vth``.  Resting before an update: ``v == 0`` and zero bias (no leak).

    :meth:`check` flags ``overflow:a_in`` (the input left int32, as Lava's int32 ports wrap
    it), ``overflow:v`` (``v + a_in + bias`` left int32) and ``saturation:v`` (clipped)."""

    def params(self, pop):
        m, n = pop.model, pop.size
        return {"vth": _per(m.vth, n), "levels": np.full(n, int(m.levels), np.int64),
                "signed": np.full(n, bool(m.signed)),
                "bias": np.broadcast_to(fx.effective_bias(m.bias_mant, m.bias_exp), (n,)).astype(np.int64)}

    def step(self, params, state, a_in):
        v = np.clip(fx.wrap32(state["v"] + np.asarray(a_in, np.int64) + params["bias"]), -fx.V_MAX, fx.V_MAX)
        n = multi_threshold_levels(v, params["vth"], params["levels"], params["signed"])
        return n, {"v": v - n * params["vth"]}

    def carries(self, params, state):
        return (np.asarray(state["v"]) != 0) | (params["bias"] != 0)

    def check(self, params, state, a_in, new_state):
        a_in = np.asarray(a_in, np.int64)
        v0 = np.asarray(state["v"], np.int64) + a_in + params["bias"]
        v1 = fx.wrap32(v0)
        return {"overflow:a_in": fx.wrap32(a_in) != a_in, "overflow:v": v1 != v0,
                "saturation:v": np.abs(v1) > fx.V_MAX}


@register_dynamics(LoihiGradedReLU)
class LoihiGradedReLUDynamics(Dynamics):
    """Memoryless: ``v = clip(wrap32(a_in), -(2**23-1), 2**23-1)``; ``s = v - vth`` where
    ``v > vth``, else 0.  It carries nothing into an update (active only with input).

    :meth:`check` flags ``overflow:a_in`` (the input left int32) and ``saturation:v``."""

    def params(self, pop):
        return {"vth": _per(pop.model.vth, pop.size), "bias": np.zeros(pop.size, np.int64)}

    def step(self, params, state, a_in):
        v = np.clip(fx.wrap32(a_in), -fx.V_MAX, fx.V_MAX)
        return np.where(v > params["vth"], v - params["vth"], 0).astype(np.int64), {"v": v}

    def carries(self, params, state):
        return np.zeros(np.shape(state["v"]), bool)

    def check(self, params, state, a_in, new_state):
        a_in = np.asarray(a_in, np.int64)
        a32 = fx.wrap32(a_in)
        return {"overflow:a_in": a32 != a_in, "saturation:v": np.abs(a32) > fx.V_MAX}
