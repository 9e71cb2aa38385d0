"""Floating-point LIF and IF dynamics (:class:`spikeattn.ir.LIF`, :class:`spikeattn.ir.IF`)."""
from __future__ import annotations

import numpy as np

from ..ir import LIF
from .registry import Dynamics, register_dynamics
from .xp import is_nonzero, namespace


@register_dynamics(LIF)
class LIFDynamics(Dynamics):
    """Float64 LIF; IF is an LIF with ``du = 1, dv = 0`` and inherits it.

    With ``ku = 1 - du`` and ``kv = 1 - dv`` (computed once in float64), per step::

        u' = u * ku + a_in
        v' = (v * kv + u') + bias
        held = ref > 0:  v' = v_reset, ref' = ref - 1     (refractory > 0 only)
        s  = v' > vth
        v' = v' - vth (reset "subtract")  or  v_reset (reset "zero")   where s
        ref' = refractory                                              where s

    One rounding per binary operation, in this order (Brian2 is given the same statements).
    ``step`` and ``carries`` run on numpy arrays or torch tensors (:mod:`.xp`).
    Resting before an update: ``u * ku == 0`` and ``v * kv == 0`` and ``bias == 0``.
    """

    internal_state = ("ref",)

    def params(self, pop) -> dict:
        m, n = pop.model, pop.size

        def per(x):
            return np.broadcast_to(np.asarray(x, np.float64), (n,)).copy()

        return {"ku": per(np.float64(1.0) - np.asarray(m.du, np.float64)),
                "kv": per(np.float64(1.0) - np.asarray(m.dv, np.float64)),
                "vth": per(m.vth), "v_reset": per(m.v_reset), "bias": per(m.bias),
                "subtract": np.full(n, m.reset == "subtract"),
                "refractory": np.full(n, int(m.refractory), np.int64)}

    def init_state(self, pop, batch):
        state = super().init_state(pop, batch)
        if not pop.model.refractory:
            del state["ref"]
        return state

    @staticmethod
    def _decayed(params, state):
        return state["u"] * params["ku"], state["v"] * params["kv"]

    @staticmethod
    def _carries(params, uk, vk):
        return is_nonzero(uk) | is_nonzero(vk) | (params["bias"] != 0)

    def _step(self, params, state, a_in, uk, vk):
        xp = namespace(a_in)
        u = uk + a_in
        v = vk + u + params["bias"]
        new = {"u": u}
        if "ref" in state:
            held = state["ref"] > 0
            v = xp.where(held, params["v_reset"], v)
            ref = xp.maximum(state["ref"] - 1, 0)
        s = v > params["vth"]
        v = xp.where(s, xp.where(params["subtract"], v - params["vth"], params["v_reset"]), v)
        new["v"] = v
        if "ref" in state:
            new["ref"] = xp.where(s, params["refractory"], ref)
        return s, new

    def step(self, params, state, a_in):
        return self._step(params, state, a_in, *self._decayed(params, state))

    def carries(self, params, state):
        return self._carries(params, *self._decayed(params, state))

    def step_carries(self, params, state, a_in):
        """:meth:`step` and :meth:`carries` sharing the decayed ``u * ku`` and ``v * kv``
        (a subclass that overrides either gets the plain pair instead)."""
        cls = type(self)
        if cls.step is not LIFDynamics.step or cls.carries is not LIFDynamics.carries:
            return super().step_carries(params, state, a_in)
        uk, vk = self._decayed(params, state)
        return (*self._step(params, state, a_in, uk, vk), self._carries(params, uk, vk))
