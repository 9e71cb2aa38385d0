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

so ``y`` equals :func:`.reference.ssa_reference` with ``latency=1``.  ``order="q_kv"`` (full
attention only) computes the same integers as ``Q (K^T V)``: a ``(H, c, c)`` map instead of
``(H, N_q, N_k)``, ``N c^2`` work per step instead of ``N^2 c``::

    KV[h, a, e] = sum_j K[t, j, h, a] V[t, j, h, e]            product, delay 0, GradedReLU: KV <= N_k
    y_in[t + 1] = scale * sum_a Q[t, i, h, a] KV[h, a, e]      product, delay 1

SDSA (channel-wise; no mask)::

    kv = kv_model(S),  S[t, d] = sum_j K[t, j, d] V[t, j, d]  product, delay 0
    y[t + 1] = Q[t] ⊙ kv[t]                                   product, delay 1, GradedReLU(vth=0): emits 1 (AND)

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
                   out_model: LIF | None = None, name: str = "ssa", order: str = "qk_v") -> Circuit:
    """Spikformer SSA ``y = LIF(scale * (Q K^T ⊙ M) V)`` as a structured circuit (module
    docstring); ``order="q_kv"`` associates it as ``Q (K^T V)`` (no mask)."""
    c = _heads(dim, heads)
    if order not in ("qk_v", "q_kv"):
        raise ParameterError("ssa_structured()", "order", f"is {order!r}.", "use 'qk_v' or 'q_kv'.")
    if order == "q_kv" and mask is not None:
        raise ParameterError("ssa_structured()", "mask", "Q (K^T V) sums over every key before a query sees it, "
                             "so it cannot apply a token mask.", "use order='qk_v' with a mask.")
    circ = Circuit(name)
    for port, n in (("q", n_q), ("k", n_k), ("v", n_k)):
        circ.add_source(port, (n, heads, c))
    circ.add_population("y", (n_q, heads, c), out_model or LIF(du=1.0, dv=0.5, vth=0.5))
    if order == "qk_v":
        circ.add_population("A", (heads, n_q, n_k), GradedReLU(vth=0.0))
        m = None if mask is None else np.asarray(as_mask(mask, n_q, n_k).toarray(), bool)
        circ.connect_product("q", "k", "A", "iha,jha->hij", 1.0, m, name="qk", delay=0, levels=(1, 1))
        circ.connect_product("A", "v", "y", "hij,jhe->ihe", float(scale), name="av", delay=1, levels=(c, 1))
    else:
        circ.add_population("KV", (heads, c, c), GradedReLU(vth=0.0))
        circ.connect_product("k", "v", "KV", "jha,jhe->hae", 1.0, name="kv", delay=0, levels=(1, 1))
        circ.connect_product("q", "KV", "y", "iha,hae->ihe", float(scale), name="q_kv", delay=1, levels=(1, n_k))
    circ.expose("y", "y")
    circ.meta.update({"kind": "ssa_structured", "order": order, "latency_steps": 1, "heads": heads})
    return circ.validate()


def sdsa_structured(n: int, dim: int, kv_model: LIF | None = None, name: str = "sdsa") -> Circuit:
    """Spike-driven self-attention ``y = Q ⊙ LIF_kv(sum_j K ⊙ V)`` as a structured circuit."""
    circ = Circuit(name)
    for port in ("q", "k", "v"):
        circ.add_source(port, (n, dim))
    circ.add_population("kv", (dim,), kv_model or LIF(du=1.0, dv=0.5, vth=1.0))
    circ.add_population("y", (n, dim), GradedReLU(vth=0.0))     # memoryless AND: emits 1 where Q and kv
    circ.connect_product("k", "v", "kv", "jd,jd->d", 1.0, name="kv_sum", delay=0, levels=(1, 1))
    circ.connect_product("q", "kv", "y", "id,d->id", 1.0, name="q_mask", delay=1, levels=(1, 1))
    circ.expose("y", "y")
    circ.meta.update({"kind": "sdsa_structured", "latency_steps": 1})
    return circ.validate()
