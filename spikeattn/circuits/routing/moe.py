"""Mixture-of-experts routing: a spiking gate picks k of E experts for each token.

``moe_layer(gate_weights, experts, k, window)`` returns a fragment with input port
``token`` (``D`` neurons; one token per batch sample, its spikes repeated over the run)
and output port ``out`` (the OR of the experts' ``out`` ports, one step later).

Per token (time in steps)::

    gate score      g_e = sum_j G[e, j] * c_j      c_j = spikes of token input j in the window
    gate            top-k of g (k-WTA "gate", count mode, ties at the k-th place kept)
    dispatch        dispatch_e[t + 1] = token[t] AND open_e[t]       (coincidence relays)
    expert e        any sub-circuit with input "in" (D) and output port "out"

``open_e`` is a latch set by the gate's winner spike for expert ``e``: from the step after
the decision every token spike is copied to the selected experts only.  An unselected
expert's dispatch relays never spike, so **every projection inside it performs zero
synaptic events** for that token — conditional computation that shows in EventCounts
(elements ``expert{e}.*``).  The broadcast of the token onto all ``E x D`` dispatch relays
is the routing overhead and is counted on the ``token->dispatch{e}`` projections.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from ...errors import ParameterError
from ...ir import IF, Circuit, LoihiLIF
from .timers import kit, one_to_one
from .wta import kwta, required_steps


def feedforward_expert(d_in: int, hidden: int, d_out: int, seed: int = 0, vth: float | None = None,
                       fixed_point: bool = False, name: str = "expert", dt: float = 1e-3) -> Circuit:
    """A two-layer integrate-and-fire expert::

        h: v_h[t] = v_h[t-1] + W1 @ in[t-1];   out: v_o[t] = v_o[t-1] + W2 @ h[t-1]
        spike if v > vth, then v -= vth (float IF)  or  v = 0 (fixed point: Loihi's reset)

    Float: ``W1`` ``(hidden, d_in)`` and ``W2`` ``(d_out, hidden)`` drawn from
    ``{-0.5, 0, 0.5, 1}`` with ``numpy.random.default_rng(seed)``, ``vth = 1``.  Fixed point
    (``LoihiLIF``, ``du = 4095``, ``dv = 0``): the same draw times 4 (even integers, which
    Loihi's mixed-sign weight quantisation keeps exactly), ``vth = 3`` (in ``<< 6`` units).
    ``meta['expert']`` holds the weights, ``vth`` and ``reset`` for
    :func:`reference.if_layer`, the same layer in dense numpy."""
    rng = np.random.default_rng(seed)
    w1 = rng.choice([-0.5, 0.0, 0.5, 1.0], size=(hidden, d_in))
    w2 = rng.choice([-0.5, 0.0, 0.5, 1.0], size=(d_out, hidden))
    c = Circuit(name, dt)
    c.add_source("in", d_in)
    if fixed_point:
        w1, w2 = (np.rint(w * 4).astype(np.int64) for w in (w1, w2))
        vth = 3 if vth is None else int(vth)
        model, reset = LoihiLIF(du=4095, dv=0, vth=vth), "zero"
    else:
        vth = 1.0 if vth is None else float(vth)
        model, reset = IF(vth=vth), "subtract"
    c.add_population("hidden", hidden, model)
    c.add_population("out", d_out, model)
    c.connect("in", "hidden", w1, name="w1")
    c.connect("hidden", "out", w2, name="w2")
    c.expose("out", "out")
    c.meta["expert"] = {"w1": w1.tolist(), "w2": w2.tolist(), "vth": vth, "reset": reset}
    return c


def moe_layer(gate_weights, experts: Sequence[Circuit] | Callable[[int], Circuit], k: int = 1, window: int = 10,
              score_max: float | None = None, fixed_point: bool = False, name: str = "moe",
              dt: float = 1e-3) -> Circuit:
    """Build the MoE layer described in the module docstring.

    ``gate_weights`` ``(E, D)`` (integers give exact routing, see :mod:`.wta`);
    ``experts``: a list of ``E`` circuits or a function ``e -> Circuit``, each with an input
    source ``in`` of ``D`` neurons and an output port ``out`` (all the same size).
    ``fixed_point``: gate and dispatch in Loihi fixed point (the experts must match)."""
    G = np.asarray(gate_weights, float)
    if G.ndim != 2:
        raise ParameterError("moe_layer", "gate_weights", f"has shape {G.shape}; expected (E, D).")
    E, D = G.shape
    exps = [experts(e) for e in range(E)] if callable(experts) else list(experts)
    if len(exps) != E:
        raise ParameterError("moe_layer", "experts", f"has {len(exps)} circuits but gate_weights has E={E} rows.")
    outs = set()
    for e, x in enumerate(exps):
        if "in" not in x.sources or x.node("in").size != D or "out" not in x.outputs:
            raise ParameterError("moe_layer", f"experts[{e}]", "needs an input source 'in' of "
                                 f"{D} neurons and an output port 'out'.", "see feedforward_expert().")
        outs.add(x.node(x.outputs["out"]).size)
    if len(outs) != 1:
        raise ParameterError("moe_layer", "experts", f"output sizes differ: {sorted(outs)}.")
    d_out = outs.pop()
    c = Circuit(name, dt)
    c.add_source("token", D)
    gate = kwta(E, k, "count", window=window, scores=G, score_max=score_max, fixed_point=fixed_point,
                name="gate")
    c.include(gate, "gate", bind={"in": "token"})
    kt = kit(fixed_point)
    kt.latch(c, "open", E, "gate.winners")
    kt.relay(c, "out", d_out)
    for e, x in enumerate(exps):
        disp = f"dispatch{e}"
        kt.relay(c, disp, D)
        c.connect("token", disp, one_to_one(D, kt.relay_and), name=f"token->{disp}")
        col = sp.csr_matrix((np.full(D, kt.relay_and), (np.arange(D), np.full(D, e))), shape=(D, E))
        c.connect("open", disp, col, name=f"open->{disp}")
        mapping = c.include(x, f"expert{e}", bind={"in": disp})
        c.connect(mapping[x.outputs["out"]], "out", one_to_one(d_out, kt.relay_pass), name=f"expert{e}->out")
    c.expose("out", "out")
    c.expose("gate", "gate.winners")
    c.meta["moe"] = {"E": int(E), "D": int(D), "k": int(k), "window": int(window),
                     "gate": gate.meta["kwta"], "steps_min": required_steps(gate.meta)}
    return c


def expert_elements(circuit: Circuit, e: int) -> list[str]:
    """Projection names inside expert ``e`` (the work that routing can skip)."""
    return [n for n in circuit.projections if n.startswith(f"expert{e}.")]
