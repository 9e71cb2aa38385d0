"""Multi-head spiking attention blocks: Q/K/V projections, an attention core, output projection.

Ports: input ``x`` ``(N, D_in)`` spikes (and ``context`` ``(N_k, D_in)`` for cross-attention,
see :mod:`.cross`); output ``out`` ``(N, D_out)`` (LIF), plus the core's ``attn.y`` and
``attn.map``.  Per token (weights shared across tokens, so the flattened projections are
``kron(I_N, W)``)::

    Q = LIF_qkv(x W_q^T),  K = LIF_qkv(c W_k^T),  V = LIF_qkv(c W_v^T)     (c = x or context)   t+1
    y = core(Q, K, V)        SSA ("qk_v" / "q_kv") or SDSA, H heads = channel groups       t+1+L
    out = LIF_out(y W_o^T)   concatenated heads -> output projection                        t+2+L

``L`` is the core latency (4 for SSA, 3 for SDSA); ``meta["latency_steps"]`` = ``L + 2``
(``L + 1`` without ``w_out``).  Causal masking: ``causal=True`` (a :func:`.patterns.causal`
mask; SSA "qk_v" or SDSA).  Dense oracle: :func:`block_reference`.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...errors import ParameterError, ShapeMismatchError
from ...ir import LIF, Circuit
from . import patterns
from .reference import lif_params, lif_run, sdsa_reference, shift, ssa_reference
from .sdsa import sdsa_attention
from .ssa import ssa_attention

KINDS = ("ssa", "sdsa")


def token_projection(weights, n_tokens: int) -> sp.csr_matrix:
    """``kron(I_N, W)``: the same ``(D_out, D_in)`` weights applied to every token of a
    flattened ``(N, D_in)`` population."""
    w = sp.csr_matrix(np.asarray(weights, np.float64))
    return sp.csr_matrix(sp.kron(sp.identity(n_tokens, format="csr"), w, format="csr"))


def _check_w(name, w, rows, cols):
    w = np.asarray(w, np.float64)
    if w.shape != (rows, cols):
        raise ShapeMismatchError(f"attention block weights '{name}'", name, f"has shape {w.shape}; expected "
                                 f"({rows}, {cols}) = (out channels, in channels).")
    return w


def attention_block(n_tokens: int, in_dim: int, w_q, w_k, w_v, w_out=None, heads: int = 1, kind: str = "ssa",
                    order: str = "qk_v", mask=None, causal: bool = False, n_context: int | None = None,
                    qkv_model: LIF | None = None, out_model: LIF | None = None, core_options: dict | None = None,
                    name: str = "block") -> Circuit:
    """Build a multi-head attention block (module docstring).  ``w_q/w_k/w_v``: ``(D, D_in)``;
    ``w_out``: ``(D_out, D)`` or None; ``n_context``: number of key/value tokens of a
    separate ``context`` input (cross-attention); ``core_options`` go to the core builder
    (e.g. ``scale``, ``out_model``, ``kv_model``)."""
    if kind not in KINDS:
        raise ParameterError(f"attention block '{name}'", "kind", f"is {kind!r}.", f"use one of {list(KINDS)}.")
    d = np.asarray(w_q).shape[0]
    w_q, w_k, w_v = (_check_w(n, w, d, in_dim) for n, w in (("w_q", w_q), ("w_k", w_k), ("w_v", w_v)))
    n_k = n_tokens if n_context is None else n_context
    if causal:
        if n_k != n_tokens:
            raise ParameterError(f"attention block '{name}'", "causal", "needs queries and keys from one stream.")
        mask = patterns.causal(n_tokens) if mask is None else patterns.intersect(mask, patterns.causal(n_tokens))
    qkv_model = qkv_model or LIF(du=1.0, dv=0.5, vth=1.0)
    opts = dict(core_options or {})
    if kind == "ssa":
        core = ssa_attention(n_tokens, d, heads, n_k, order=order, mask=mask, **opts)
    else:
        core = sdsa_attention(n_tokens, d, n_k, mask=mask, heads=heads, **opts)
    blk = Circuit(name)
    blk.add_source("x", (n_tokens, in_dim))
    ctx = "x"
    if n_context is not None:
        blk.add_source("context", (n_k, in_dim))
        ctx = "context"
    for pop, src, w, n in (("Q", "x", w_q, n_tokens), ("K", ctx, w_k, n_k), ("V", ctx, w_v, n_k)):
        blk.add_population(pop, (n, d), qkv_model)
        blk.connect(src, pop, token_projection(w, n), name=f"{src}->{pop}")
    blk.include(core, "attn", bind={"q": "Q", "k": "K", "v": "V"})
    latency = core.meta["latency_steps"] + 1
    if w_out is not None:
        w_out = np.asarray(w_out, np.float64)
        if w_out.ndim != 2 or w_out.shape[1] != d:
            raise ShapeMismatchError(f"attention block '{name}'", "w_out", f"has shape {w_out.shape}; "
                                     f"expected (D_out, {d}).")
        blk.add_population("out", (n_tokens, w_out.shape[0]), out_model or LIF(du=1.0, dv=0.5, vth=1.0))
        blk.connect("attn.y", "out", token_projection(w_out, n_tokens), name="attn.y->out")
        blk.expose("out", "out")
        latency += 1
    else:
        blk.expose("out", "attn.y")
    blk.meta.update({"latency_steps": latency, "core_latency_steps": core.meta["latency_steps"],
                     "attention": dict(core.meta["attention"], block=True, causal=bool(causal),
                                       cross=n_context is not None),
                     "motifs": core.meta.get("motifs", [])})
    return blk


def block_reference(x, w_q, w_k, w_v, w_out=None, heads=1, kind="ssa", mask=None, context=None,
                    qkv_model=None, out_model=None, scale=0.125, core_out_model=None, kv_model=None):
    """Dense-numpy expected spikes of :func:`attention_block` for input spikes ``x``
    ``(T, B, N, D_in)`` (and ``context``): returns ``(out, (Q, K, V), y)``."""
    qkv_model = qkv_model or LIF(du=1.0, dv=0.5, vth=1.0)
    c = x if context is None else context
    proj = [lif_run(shift(np.einsum("tbni,di->tbnd", a.astype(float), np.asarray(w, float)), 1),
                    **lif_params(qkv_model)) for a, w in ((x, w_q), (c, w_k), (c, w_v))]
    q, k, v = proj
    if kind == "ssa":
        y = ssa_reference(q, k, v, heads, mask, scale, core_out_model)
    else:
        y = sdsa_reference(q, k, v, kv_model, mask)[0]
    if w_out is None:
        return y, proj, y
    out = lif_run(shift(np.einsum("tbnd,od->tbno", y.astype(float), np.asarray(w_out, float)), 1),
                  **lif_params(out_model or LIF(du=1.0, dv=0.5, vth=1.0)))
    return out, proj, y
