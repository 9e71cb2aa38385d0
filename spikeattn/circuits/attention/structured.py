"""Spikformer SSA and spike-driven SDSA as structured circuits (product projections).

The neuron-level circuits of :mod:`.ssa` and :mod:`.sdsa` spell every coincidence, count and
gate as a neuron (``H * N_q * N_k * c`` coincidence neurons for SSA), which is what a chip
that only adds must hold.  Here the same arithmetic is two
:class:`~spikeattn.ir.structured.ProductProjection` s over shaped populations, so the torch
engine runs it as two einsums per step, and :meth:`~spikeattn.Circuit.expand` still gives a
neuron-level equivalent (products as accumulate-only gates) for the other engines.

Ports (encoder ``"spikes"``, binary): ``q`` ``(N_q, D)``, ``k`` and ``v`` ``(N_k, D)``, stored
as ``(N, H, c)`` with ``c = D / H`` (the same C-order layout).  Output port ``y``.

SSA (per head, ``M`` the ``(N_q, N_k)`` mask)::

    A[h, i, j] = sum_a Q[t, i, h, a] K[t, j, h, a] M[i, j]    product, delay 0, GradedReLU(vth=0): A <= c
    y_in[t + 1] = scale * sum_j A[h, i, j] V[t, j, h, e]       product, delay 1, declared bound A <= c
    y = out_model(y_in)                                         latency 1 step

so ``y`` equals :func:`.reference.ssa_reference` with ``latency=1``.

SDSA (channel-wise; no mask)::

    kv = kv_model(S),  S[t, d] = sum_j K[t, j, d] V[t, j, d]  product, delay 0
    y[t + 1] = Q[t] ⊙ kv[t]                                   product, delay 1, memoryless AND

so ``(y, kv)`` equal :func:`.reference.sdsa_reference` with ``latency=1``.
"""
from __future__ import annotations

import numpy as np

from ...errors import ParameterError
from ...ir import LIF, Circuit
from ...ir.neurons_extra import GradedReLU
from .patterns import as_mask


def _heads(dim: int, heads: int) -> int:
    if heads < 1 or dim % heads:
        raise ParameterError("structured attention", "heads", f"{heads} heads do not divide {dim} channels.",
                             "use a divisor of dim.")
    return dim // heads


def ssa_structured(n_q: int, n_k: int, dim: int, heads: int = 1, scale: float = 0.125, mask=None,
                   out_model: LIF | None = None, name: str = "ssa") -> Circuit:
    """Spikformer SSA ``y = LIF(scale * (Q K^T ⊙ M) V)`` as a structured circuit (module docstring)."""
    c = _heads(dim, heads)
    circ = Circuit(name)
    for port, n in (("q", n_q), ("k", n_k), ("v", n_k)):
        circ.add_source(port, (n, heads, c))
    circ.add_population("A", (heads, n_q, n_k), GradedReLU(vth=0.0))
    circ.add_population("y", (n_q, heads, c), out_model or LIF(du=1.0, dv=0.5, vth=0.5))
    m = None if mask is None else np.asarray(as_mask(mask, n_q, n_k).toarray(), bool)
    circ.connect_product("q", "k", "A", "iha,jha->hij", 1.0, m, name="qk", delay=0, levels=(1, 1))
    circ.connect_product("A", "v", "y", "hij,jhe->ihe", float(scale), name="av", delay=1, levels=(c, 1))
    circ.expose("y", "y")
    circ.meta.update({"kind": "ssa_structured", "latency_steps": 1, "heads": heads})
    return circ.validate()


def sdsa_structured(n: int, dim: int, kv_model: LIF | None = None, name: str = "sdsa") -> Circuit:
    """Spike-driven self-attention ``y = Q ⊙ LIF_kv(sum_j K ⊙ V)`` as a structured circuit."""
    circ = Circuit(name)
    for port in ("q", "k", "v"):
        circ.add_source(port, (n, dim))
    circ.add_population("kv", (dim,), kv_model or LIF(du=1.0, dv=0.5, vth=1.0))
    circ.add_population("y", (n, dim), LIF(du=1.0, dv=1.0, vth=0.5))
    circ.connect_product("k", "v", "kv", "jd,jd->d", 1.0, name="kv_sum", delay=0, levels=(1, 1))
    circ.connect_product("q", "kv", "y", "id,d->id", 1.0, name="q_mask", delay=1, levels=(1, 1))
    circ.expose("y", "y")
    circ.meta.update({"kind": "sdsa_structured", "latency_steps": 1})
    return circ.validate()
