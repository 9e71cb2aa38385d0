"""Sparse attention patterns as boolean connectivity masks ``(n_query, n_key)``.

``mask[i, j]`` True means query ``i`` may attend to key ``j``.  Masks are scipy CSR
boolean matrices (built from index arithmetic, never an ``n x n`` dense array, so a window
over 4096 tokens stays linear in memory).  They are used by the ``(QK^T)V`` SSA circuit (only
the allowed (i, j) pairs get coincidence neurons) and by windowed SDSA (each query sums
``K ⊙ V`` over its allowed keys).  Combine masks with :func:`union` / :func:`intersect`.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...errors import ParameterError


def _check_n(name: str, n) -> int:
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"pattern '{name}'", "n", f"is {n!r}; must be an int >= 1 (tokens).")
    return int(n)


def _from_pairs(n_q: int, n_k: int, i, j) -> sp.csr_matrix:
    i, j = np.asarray(i, np.int64), np.asarray(j, np.int64)
    keep = (j >= 0) & (j < n_k) & (i >= 0) & (i < n_q)
    m = sp.csr_matrix((np.ones(int(keep.sum()), bool), (i[keep], j[keep])), shape=(n_q, n_k), dtype=bool)
    m.sum_duplicates()
    m.data[:] = True
    return m


def full(n_q: int, n_k: int | None = None) -> sp.csr_matrix:
    """Every query attends to every key (dense attention)."""
    n_q = _check_n("full", n_q)
    n_k = n_q if n_k is None else _check_n("full", n_k)
    i, j = np.divmod(np.arange(n_q * n_k), n_k)
    return _from_pairs(n_q, n_k, i, j)


def causal(n: int) -> sp.csr_matrix:
    """``j <= i`` (autoregressive masking)."""
    n = _check_n("causal", n)
    i, j = np.tril_indices(n)
    return _from_pairs(n, n, i, j)


def local_window(n: int, radius: int, causal_only: bool = False) -> sp.csr_matrix:
    """Sliding window ``|i - j| <= radius`` (``i - radius <= j <= i`` if ``causal_only``)."""
    n = _check_n("local_window", n)
    if not isinstance(radius, (int, np.integer)) or radius < 0:
        raise ParameterError("pattern 'local_window'", "radius", f"is {radius!r}; must be an int >= 0.")
    offsets = np.arange(-radius, 1 if causal_only else radius + 1)
    i = np.repeat(np.arange(n), offsets.size)
    return _from_pairs(n, n, i, i + np.tile(offsets, n))


def block_sparse(n: int, block: int) -> sp.csr_matrix:
    """Block-diagonal: tokens attend within their block of ``block`` consecutive tokens."""
    n = _check_n("block_sparse", n)
    if not isinstance(block, (int, np.integer)) or block < 1:
        raise ParameterError("pattern 'block_sparse'", "block", f"is {block!r}; must be an int >= 1.")
    i = np.repeat(np.arange(n), block)
    start = (i // block) * block
    return _from_pairs(n, n, i, start + np.tile(np.arange(block), n))


def strided(n: int, stride: int, radius: int = 0) -> sp.csr_matrix:
    """Dilated pattern: ``j = i + m * stride`` for every integer m (plus a local window of
    ``radius``), as in the Sparse Transformer's strided heads."""
    n = _check_n("strided", n)
    if not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ParameterError("pattern 'strided'", "stride", f"is {stride!r}; must be an int >= 1.")
    m = np.arange(-((n - 1) // stride), (n - 1) // stride + 1)
    i = np.repeat(np.arange(n), m.size)
    dil = _from_pairs(n, n, i, i + np.tile(m * stride, n))
    return union(dil, local_window(n, radius)) if radius else dil


def global_tokens(n: int, tokens, radius: int = 0) -> sp.csr_matrix:
    """Longformer-style: the listed global tokens attend to all and are attended by all,
    every other token attends within a window of ``radius``."""
    n = _check_n("global_tokens", n)
    g = np.unique(np.asarray(tokens, np.int64).ravel())
    if g.size and (g.min() < 0 or g.max() >= n):
        raise ParameterError("pattern 'global_tokens'", "tokens", f"must lie in [0, {n}); got {g.tolist()}.")
    rows = _from_pairs(n, n, np.repeat(g, n), np.tile(np.arange(n), g.size))
    cols = _from_pairs(n, n, np.tile(np.arange(n), g.size), np.repeat(g, n))
    return union(rows, cols, local_window(n, radius))


def union(*masks) -> sp.csr_matrix:
    """Pairs allowed by any mask."""
    out = sp.csr_matrix(masks[0], dtype=bool)
    for m in masks[1:]:
        out = out + sp.csr_matrix(m, dtype=bool)
    out = sp.csr_matrix(out, dtype=bool)
    out.eliminate_zeros()
    return out


def intersect(*masks) -> sp.csr_matrix:
    """Pairs allowed by every mask."""
    out = sp.csr_matrix(masks[0], dtype=bool)
    for m in masks[1:]:
        out = out.multiply(sp.csr_matrix(m, dtype=bool))
    out = sp.csr_matrix(out, dtype=bool)
    out.eliminate_zeros()
    return out


def as_mask(mask, n_q: int, n_k: int) -> sp.csr_matrix:
    """Normalise ``None`` (full), a dense bool array or a sparse matrix to a CSR bool mask."""
    if mask is None:
        return full(n_q, n_k)
    m = sp.csr_matrix(mask if sp.issparse(mask) else np.asarray(mask, bool), dtype=bool)
    if m.shape != (n_q, n_k):
        raise ParameterError("attention mask", "mask", f"has shape {m.shape}; expected ({n_q}, {n_k}) "
                             "(queries, keys).")
    m.eliminate_zeros()
    m.sort_indices()
    return m


PATTERNS = {"full": full, "causal": causal, "local_window": local_window, "block_sparse": block_sparse,
            "strided": strided, "global_tokens": global_tokens}
