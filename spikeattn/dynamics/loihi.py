"""Loihi fixed-point LIF dynamics (:class:`spikeattn.ir.LoihiLIF`), bit-exact with Lava 0.10."""
from __future__ import annotations

import numpy as np

from ..ir import LoihiLIF
from . import fixed_point as fx
from .registry import Dynamics, register_dynamics


@register_dynamics(LoihiLIF)
class LoihiLIFDynamics(Dynamics):
    """Integer arithmetic of Lava 0.10's ``PyLifModelBitAcc`` (equations in
    :class:`spikeattn.ir.LoihiLIF` and :func:`spikeattn.dynamics.fixed_point.loihi_lif_step`).

    Resting before an update: ``trunc0(u * (4096 - (du + 1))) == 0`` and
    ``trunc0(v * (4096 - dv)) == 0`` and zero bias.  :meth:`check` reports the steps where
    the wrap that Lava and Loihi perform changed a value (``overflow``: an int32 wrap or the
    24-bit wrap of u) and where v saturated (``saturation``: clipped at +-(2**23 - 1)).
    """

    def params(self, pop):
        m, n = pop.model, pop.size
        return {"du": np.full(n, int(m.du), np.int64), "dv": np.full(n, int(m.dv), np.int64),
                "vth": np.full(n, int(m.vth), np.int64),
                "bias": np.broadcast_to(fx.effective_bias(m.bias_mant, m.bias_exp), (n,)).astype(np.int64)}

    def step(self, params, state, a_in):
        s, u, v = fx.loihi_lif_step(np.asarray(a_in, np.int64), state["u"], state["v"], params["du"],
                                    params["dv"], params["vth"], params["bias"])
        return s, {"u": u, "v": v}

    def carries(self, params, state):
        u, v = np.asarray(state["u"], np.int64), np.asarray(state["v"], np.int64)
        return ((fx.trunc0(u * (fx.DECAY_UNITY - (params["du"] + 1))) != 0)
                | (fx.trunc0(v * (fx.DECAY_UNITY - params["dv"])) != 0) | (params["bias"] != 0))

    def check(self, params, state, a_in, new_state):
        return fx.loihi_lif_diagnostics(np.asarray(a_in, np.int64), state["u"], state["v"], params["du"],
                                        params["dv"], params["bias"])
