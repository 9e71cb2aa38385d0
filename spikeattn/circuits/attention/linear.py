"""Causal linear attention over a token stream, with a recurrent graded state.

Tokens arrive one per step (``q_t``, ``k_t``, ``v_t`` are ``(D,)`` binary spike vectors at
step t), as in RWKV / SpikeGPT-style linear attention.  Per head (``c = D / H``)::

    P[h,a,e] = AND(k_t[h,a], v_t[h,e])                  coincidence                 t+1
    S[h,a,e] = S + P   (graded self-loop, delay 1)      running K^T V state        t+2
    G[h,a,e] = S[h,a,e] if q_t[h,a] (delay 3) else 0    gate, bound = max_tokens    t+3
    y[h,e]   = LIF(scale * sum_a G[h,a,e])              output                      t+4

so ``y`` at step ``t + 4`` is driven by ``scale * q_t (sum_{tau <= t} k_tau^T v_tau)``: causal
linear attention, ``O(H c^2)`` neurons and work per token whatever the sequence length.
The state ``S`` is a :class:`GradedReLU` whose graded output feeds back to itself (delay 1),
so it re-emits its count every step once non-zero (the cost of holding state in graded
spikes).  Latency 4.  Dense oracle: :func:`linear_reference`.
"""
from __future__ import annotations

import numpy as np

from ...errors import ParameterError
from ...ir import LIF, Circuit
from .. import motifs
from .reference import lif_params, lif_run, shift, split_heads

LINEAR_LATENCY = 4


def linear_attention(dim: int, heads: int = 1, max_tokens: int = 1024, scale: float = 0.125,
                     out_model: LIF | None = None, name: str = "linear") -> Circuit:
    """Build the causal linear-attention circuit (module docstring).  ``max_tokens`` bounds
    the state (the gate must pass counts up to it).  Ports ``q``, ``k``, ``v`` ``(D,)`` -> ``y``."""
    for n, val in (("dim", dim), ("heads", heads), ("max_tokens", max_tokens)):
        if not isinstance(val, (int, np.integer)) or val < 1:
            raise ParameterError(f"linear attention '{name}'", n, f"is {val!r}; must be an int >= 1.")
    if dim % heads:
        raise ParameterError(f"linear attention '{name}'", "heads", f"{heads} heads do not divide dim={dim}.")
    c = dim // heads
    circ = Circuit(name)
    for port in ("q", "k", "v"):
        circ.add_source(port, dim)
    shape = (heads, c, c)
    hh, aa, ee = (x.ravel() for x in np.meshgrid(*(np.arange(s) for s in shape), indexing="ij"))
    n = hh.size
    motifs.add_and(circ, "coinc", shape, [("k", hh * c + aa), ("v", hh * c + ee)])
    motifs.add_accumulator(circ, "state", shape, "coinc", np.arange(n), np.arange(n))
    circ.connect("state", "state", 1.0, name="state->state", message="graded")
    motifs.add_gate(circ, "gate", shape, ("state", np.arange(n)), ("q", hh * c + aa), bound=float(max_tokens),
                    gate_delay=3)
    circ.add_population("y", dim, out_model or LIF(du=1.0, dv=0.5, vth=0.5))
    circ.connect("gate", "y", motifs.index_weights(dim, n, hh * c + ee, np.arange(n), float(scale)),
                 name="gate->y", message="graded")
    circ.expose("y", "y")
    circ.expose("map", "state")
    circ.meta.update({"latency_steps": LINEAR_LATENCY, "fused": "attention",
                      "attention": {"kind": "linear", "dim": dim, "heads": heads, "scale": float(scale),
                                    "max_tokens": int(max_tokens)}})
    return circ


def linear_reference(q, k, v, heads: int = 1, scale: float = 0.125, out_model: LIF | None = None):
    """Expected ``y`` spikes ``(T, B, D)`` for token streams ``q, k, v`` ``(T, B, D)``:
    ``y_in[t + 4] = scale * q_t (sum_{tau <= t} k_tau^T v_tau)`` per head, then the LIF."""
    qh = split_heads(q[..., None, :].astype(np.int64), heads)[..., 0, :]     # (T, B, H, c)
    kh = split_heads(k[..., None, :].astype(np.int64), heads)[..., 0, :]
    vh = split_heads(v[..., None, :].astype(np.int64), heads)[..., 0, :]
    state = np.cumsum(np.einsum("tbha,tbhe->tbhae", kh, vh), axis=0)
    x = np.einsum("tbha,tbhae->tbhe", qh, state).reshape(q.shape).astype(np.float64)
    return lif_run(shift(scale * x, LINEAR_LATENCY), **lif_params(out_model or LIF(du=1.0, dv=0.5, vth=0.5)))
