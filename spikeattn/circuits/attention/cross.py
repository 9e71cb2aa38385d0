"""Cross-attention: queries from one token stream ``x`` (N_q tokens), keys and values from
another, ``context`` (N_k tokens).

Same circuits as self-attention with separate ports: :func:`cross_attention_block` is
:func:`.multihead.attention_block` with ``n_context`` set, so ``Q = LIF(x W_q^T)``,
``K = LIF(context W_k^T)``, ``V = LIF(context W_v^T)`` and the core attends each query to
the ``N_k`` context tokens (SSA map ``N_q x N_k``, or SDSA column sums over the context).
Latency as in :mod:`.multihead`.  Dense oracle: ``block_reference(..., context=...)``.
"""
from __future__ import annotations

from .multihead import attention_block


def cross_attention_block(n_query: int, n_context: int, in_dim: int, w_q, w_k, w_v, w_out=None, heads: int = 1,
                          kind: str = "ssa", order: str = "qk_v", mask=None, name: str = "cross", **options):
    """Cross-attention block; ``mask`` is ``(n_query, n_context)``.  Ports ``x``, ``context``
    -> ``out``."""
    return attention_block(n_query, in_dim, w_q, w_k, w_v, w_out, heads=heads, kind=kind, order=order, mask=mask,
                           n_context=n_context, name=name, **options)
