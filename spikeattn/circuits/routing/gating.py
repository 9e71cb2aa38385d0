"""Gated routing: a gate decides which of K pathways relays its input spikes.

``gated_router(K, M, mode=...)`` returns a fragment with input ports ``in`` (``K * M``
neurons: pathway ``k`` is ``in[k*M : (k+1)*M]``) and ``select`` (``K`` neurons: one spike
of ``select[k]`` opens pathway ``k`` for the rest of the run), and output ports ``relays``
(``K * M`` relay neurons) and, with ``merge=True``, ``out`` (``M`` neurons, the OR of the
open pathways, one step after the relays).

Modes (all plain LIF neurons):

``"coincidence"`` (gain gating, default)
    A latch ``open[k]`` spikes at every step after ``select[k]``.  Relay ``(k, m)`` is a
    memoryless coincidence neuron (float: ``v[t] = a_in[t]``, ``vth = 1``) receiving
    ``in[k, m]`` and ``open[k]`` (``relay_and = 0.6`` each): it spikes iff both arrive in the same
    step.  ``select`` at step t -> latch spikes from t + 1 -> relayed input steps
    ``>= t + 1``, relays spike one step after their input.
``"disinhibition"``
    A tonic inhibitor ``shut[k]`` (``always_on``) spikes every step and inhibits its relays
    (``relay_block``); relays receive ``in`` at ``relay_pass`` and so spike only while
    ``shut[k]`` is silent.  ``select[k]`` silences ``shut[k]`` for good (``-BIG``): the pathway opens by
    removing inhibition.  ``select`` at t -> ``shut`` silent from t + 1 -> relayed input
    steps ``>= t + 1``.  A closed pathway costs ``M`` inhibitory synaptic events per step
    (the price of disinhibition); the coincidence mode's closed pathway costs only the
    input's own events onto its relays.

In both modes a closed pathway's relays never spike, so every projection leaving them
(``relays -> out`` and anything the caller attaches) performs **zero** synaptic events.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...errors import ParameterError
from ...ir import Circuit
from .timers import blocks, kit, one_to_one

MODES = ("coincidence", "disinhibition")


def gated_router(K: int, M: int, mode: str = "coincidence", merge: bool = True, fixed_point: bool = False,
                 name: str = "router", dt: float = 1e-3) -> Circuit:
    """Build the router described in the module docstring (``fixed_point``: from Loihi
    fixed-point neurons, see :mod:`.timers`); ``meta['router']`` holds ``open_delay``
    (steps from a select spike to the first relayed input step) and ``latency`` (steps
    from an input spike to its ``out`` spike)."""
    for field, v in (("K", K), ("M", M)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ParameterError("gated_router", field, f"is {v!r}; must be an int >= 1.")
    if mode not in MODES:
        raise ParameterError("gated_router", "mode", f"is {mode!r}.", f"use one of {list(MODES)}.")
    kt = kit(fixed_point)
    c = Circuit(name, dt)
    c.add_source("in", K * M)
    c.add_source("select", K)
    kt.relay(c, "relays", K * M)
    if mode == "coincidence":
        kt.latch(c, "open", K, "select")
        c.connect("in", "relays", one_to_one(K * M, kt.relay_and))
        c.connect("open", "relays", blocks(K, M, kt.relay_and))
    else:
        kt.always_on(c, "shut", K)
        kt.inhibit(c, "select", "shut", one_to_one=True)
        c.connect("shut", "relays", blocks(K, M, kt.relay_block))
        c.connect("in", "relays", one_to_one(K * M, kt.relay_pass))
    c.expose("relays", "relays")
    if merge:
        kt.relay(c, "out", M)
        c.connect("relays", "out", sp.csr_matrix(np.tile(np.eye(M, dtype=type(kt.relay_pass)) * kt.relay_pass, (1, K))))
        c.expose("out", "out")
    c.meta["router"] = {"K": int(K), "M": int(M), "mode": mode, "open_delay": 1, "latency": 2 if merge else 1,
                        "fixed_point": bool(fixed_point)}
    return c
