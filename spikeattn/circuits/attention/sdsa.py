"""Spike-driven self-attention (SDSA, Spike-driven Transformer) as a neuron-level circuit.

Only Hadamard masks (coincidence neurons) and column sums (synaptic accumulation), linear
in tokens and channels.  Inputs (ports): ``q`` ``(N_q, D)``, ``k``, ``v`` ``(N_k, D)``
binary spikes.  Output port ``y`` ``(N_q, D)``, binary::

    P[j,d]  = AND(K[j,d], V[j,d])                         coincidence (K ⊙ V)      t+1
    kv[d]   = LIF_kv(sum_j P[j,d])                        column sum -> LIF         t+2
    y[i,d]  = AND(Q[i,d] (delay 3), kv[d])                Hadamard mask Q ⊙ kv      t+3

With a token ``mask`` (sliding window, block-sparse, ...) each query gets its own channel
vector ``kv[i,d] = LIF_kv(sum_{j: M[i,j]} P[j,d])`` (``N_q x D`` LIF neurons, ``nnz(M) * D``
synapses) and ``y[i,d] = AND(Q[i,d], kv[i,d])``.

Latency: 3 steps (``meta["latency_steps"]``).  Every neuron is an LIF, so the circuit
lowers to any engine with LIF neurons, sparse projections and (for ``delay_mode=
"synaptic"``) a delay of 3 steps; ``delay_mode="relay"`` replaces the delay with relay
neurons.  Dense oracle: :func:`spikeattn.circuits.attention.reference.sdsa_reference`.
"""
from __future__ import annotations

import numpy as np

from ...errors import ParameterError
from ...ir import LIF, Circuit
from .. import motifs
from . import patterns
from .ssa import check_dims

SDSA_LATENCY = 3


def sdsa_attention(n_query: int, dim: int, n_key: int | None = None, mask=None, kv_model: LIF | None = None,
                   delay_mode: str = "synaptic", heads: int = 1, name: str = "sdsa") -> Circuit:
    """Build the SDSA circuit (see the module docstring).  ``kv_model`` is the column-sum LIF
    (default ``LIF(du=1, dv=0.5, vth=1.0)``); ``heads`` is recorded only (SDSA acts channel-wise,
    so splitting channels into heads changes nothing)."""
    n_key = n_query if n_key is None else n_key
    n_q, d, h, n_k = check_dims(f"SDSA '{name}'", n_query, dim, heads, n_key)
    if delay_mode not in ("synaptic", "relay"):
        raise ParameterError(f"SDSA '{name}'", "delay_mode", f"is {delay_mode!r}.", "use 'synaptic' or 'relay'.")
    kv_model = kv_model or LIF(du=1.0, dv=0.5, vth=1.0)
    circ = Circuit(name)
    for port, n in (("q", n_q), ("k", n_k), ("v", n_k)):
        circ.add_source(port, (n, d))
    kk = np.arange(n_k * d)
    motifs.add_and(circ, "coinc", (n_k, d), [("k", kk), ("v", kk)])
    if mask is None:
        circ.add_population("kv", d, kv_model)
        circ.connect("coinc", "kv", motifs.index_weights(d, n_k * d, kk % d, kk), name="coinc->kv")
        kv_idx = np.tile(np.arange(d), n_q)
        pairs = n_q * n_k
    else:
        m = patterns.as_mask(mask, n_q, n_k)
        i_p = np.repeat(np.arange(n_q), np.diff(m.indptr))
        j_p = m.indices.astype(np.int64)
        post = (i_p[:, None] * d + np.arange(d)).ravel()
        pre = (j_p[:, None] * d + np.arange(d)).ravel()
        circ.add_population("kv", (n_q, d), kv_model)
        circ.connect("coinc", "kv", motifs.index_weights(n_q * d, n_k * d, post, pre), name="coinc->kv")
        kv_idx = np.arange(n_q * d)
        pairs = int(m.nnz)
    if delay_mode == "relay":
        q_src, q_delay = motifs.add_delay_line(circ, "q_delay", "q", 3), 1
    else:
        q_src, q_delay = "q", 3
    motifs.add_and(circ, "y", (n_q, d), [(q_src, np.arange(n_q * d)), ("kv", kv_idx)], delays=[q_delay, 1])
    circ.expose("y", "y")
    circ.expose("map", "kv")
    circ.meta.update({"latency_steps": SDSA_LATENCY, "fused": "attention",
                      "attention": {"kind": "sdsa", "n_query": n_q, "n_key": n_k, "dim": d, "heads": h,
                                    "masked": mask is not None, "pairs": pairs, "delay_mode": delay_mode,
                                    "map_shape": [d] if mask is None else [n_q, d]}})
    return circ
