"""The neuron-level circuit a structured circuit stands for, described by shapes only.

:meth:`spikeattn.ir.Circuit.expand` lowers a structured circuit to flat projections (and a
product to line and gate neurons, :mod:`spikeattn.ir.expand`).  The cost model places that
neuron-level circuit, but a transformer of real size cannot be expanded (ViT-S: ~10^10
synapses).  :class:`VirtualCircuit` stands for the expansion without building it: the same
nodes, in the same order, and one :class:`Conn` per flat projection of the expansion, in the
order ``circuit.expand().projections`` lists them, each able to say from the structured
projection's parameters

* ``synapses(edges)``: synapses onto each contiguous post range ``edges[i]:edges[i+1]``;
* ``stored(edges, sharing)``: synaptic-memory entries of each range: the synapses, or on a
  chip that shares weights (``CoreLimits.weight_sharing``) the distinct weights the range
  uses (for a shared projection the rows of ``W`` it holds, once however many groups; for a
  convolution the kernels of the output channels it holds);
* ``axon_counts(edges)``: distinct pre neurons with a synapse into each range;
* ``targets(lo, hi)``: the (pre, post) pairs of pre neurons ``lo:hi`` (their synapses),
  pre-major with post increasing within each pre neuron.

Formulas, per kind (G groups, W ``(n_out, n_in)``; ranges of post neurons ``k = g n_out + o``):

``shared``   synapses up to k: ``(k // n_out) nnz(W) + nnz(W[:k % n_out])``; axons of a range:
             the columns of W used by its rows, per group it touches; stored with sharing: the
             nnz of the distinct rows it touches.
``index``    one synapse per post neuron with ``index >= 0`` and ``w != 0``; axons: distinct
             indices of the range.
``conv``     in-degree of output ``(c, y, x)``: kernel taps of channel c whose input is in
             bounds (separable in y and x); axons: distinct inputs of the range's taps.
product P    ``a`` in ``[-L_a, L_a]`` (signs_a = 2 if signed), ``b`` likewise, C = signs_a L_a
             signs_b combinations, P terms (unmasked einsum terms, output-major):
             ``P.lines`` (signs_a L_a size(a) neurons, one synapse each from ``a``: a range of
             length n reads min(n, size(a)) distinct a), ``P.gates`` (C P neurons, one synapse
             from their line, one from ``b``: distinct lines and b of a range are the distinct
             projections of a mixed-radix range, :func:`hardware_models.radix.distinct_in_ranges`),
             ``P`` itself (gates -> post, C x terms of the output, all distinct).  So lines
             ``= signs_a L_a size(a)``, gates ``= C P`` and synapses ``lines + 3 gates``.

A masked product's gates are counted from its term list when it is small (``MASKED_TERMS``
terms), else from the upper bound ``min(range, distinct inputs)`` (stated by ``bounds``).
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import networkx as nx
import numpy as np
import scipy.sparse as sp

from spikeattn.ir.expand import levels_of
from spikeattn.ir.structured import (ConvProjection, IndexProjection, ProductProjection, SharedProjection,
                                     StructuredProjection)

from .partition import first_in_run, ranges_of
from .radix import distinct_in_ranges

MASKED_TERMS = 4_000_000     # masked products up to this many grid terms are counted from their term list


def _ranges(edges):
    edges = np.asarray(edges, np.int64)
    return edges[:-1], edges[1:]


class Conn:
    """One flat projection of the expansion (see the module docstring)."""

    kind = "flat"
    product: str | None = None      # the product this projection realises (None: a projection of the circuit)

    def __init__(self, name, pre, post, n_pre, n_post, delay, message):
        self.name, self.pre, self.post = name, pre, post
        self.n_pre, self.n_post, self.delay, self.message = int(n_pre), int(n_post), delay, message
        self.bound = False          # True when axon counts are upper bounds, not exact
        self._pattern = None

    # -- every kind gives these
    def syn_cum(self, k: np.ndarray) -> np.ndarray:       # pragma: no cover - abstract
        raise NotImplementedError

    def axon_counts(self, edges) -> np.ndarray:            # pragma: no cover - abstract
        raise NotImplementedError

    def targets(self, lo: int, hi: int):                   # pragma: no cover - abstract
        raise NotImplementedError

    def synapses(self, edges) -> np.ndarray:
        c = self.syn_cum(np.asarray(edges, np.int64))
        return c[1:] - c[:-1]

    def stored(self, edges, sharing: bool) -> np.ndarray:
        return self.synapses(edges)

    @property
    def total(self) -> int:
        return int(self.syn_cum(np.array([self.n_post]))[0])

    @property
    def weights(self) -> sp.csr_matrix:
        """The (post, pre) pattern as a CSR of ones (built from :meth:`targets`; small circuits)."""
        if self._pattern is None:
            pre, post = self.targets(0, self.n_pre)
            self._pattern = sp.csr_matrix((np.ones(len(pre), np.int8), (post, pre)), shape=(self.n_post, self.n_pre))
            self._pattern.sum_duplicates()
        return self._pattern


class FlatConn(Conn):
    def __init__(self, p, n_pre, n_post):
        super().__init__(p.name, p.pre, p.post, n_pre, n_post, p.delay, p.message)
        self.csr = sp.csr_matrix(p.weights)
        self._pattern = self.csr
        self.csc = None

    def syn_cum(self, k):
        return self.csr.indptr.astype(np.int64)[k]

    def axon_counts(self, edges):
        csc = self._csc()
        col = np.repeat(np.arange(self.n_pre, dtype=np.int64), np.diff(csc.indptr))
        sid = ranges_of(np.asarray(edges, np.int64), self.n_post)[csc.indices]
        return np.bincount(sid[first_in_run(col, sid)], minlength=len(edges) - 1)

    def targets(self, lo, hi):
        csc = self._csc()
        a, b = csc.indptr[lo], csc.indptr[hi]
        pre = lo + np.repeat(np.arange(hi - lo, dtype=np.int64), np.diff(csc.indptr[lo:hi + 1]))
        return pre, csc.indices[a:b].astype(np.int64)

    def _csc(self):
        if self.csc is None:
            self.csc = sp.csc_matrix(self.csr)
            self.csc.sort_indices()
        return self.csc


class SharedConn(Conn):
    kind = "shared"

    def __init__(self, p: SharedProjection):
        super().__init__(p.name, p.pre, p.post, math.prod(p.pre_shape), math.prod(p.post_shape), p.delay, p.message)
        nz = p.weights != 0
        self.n_out, self.n_in, self.G = nz.shape[0], nz.shape[1], p.groups
        self.nz = nz
        self.dense = bool(nz.all())
        self.nnz = int(nz.sum())
        self.rowcum = np.concatenate([[0], np.cumsum(nz.sum(axis=1))]).astype(np.int64)
        self.colpre = None if self.dense else np.vstack([np.zeros((1, self.n_in), np.int32),
                                                          np.cumsum(nz, axis=0, dtype=np.int32)])
        csc = sp.csc_matrix(nz.astype(np.int8))
        csc.sort_indices()
        self.w_csc = csc

    def syn_cum(self, k):
        return (k // self.n_out) * self.nnz + self.rowcum[k % self.n_out]

    def _cols(self, r0, r1):
        """Columns of W with a non-zero in rows r0:r1 (vectorised over arrays)."""
        if self.dense:
            return np.where(r1 > r0, self.n_in, 0).astype(np.int64)
        out = np.zeros(len(r0), np.int64)
        for s in range(0, len(r0), 4096):
            d = self.colpre[r1[s:s + 4096]] - self.colpre[r0[s:s + 4096]]
            out[s:s + 4096] = (d > 0).sum(axis=1)
        return out

    def _split(self, edges):
        a, b = _ranges(edges)
        g0, r0 = a // self.n_out, a % self.n_out
        g1, r1 = (b - 1) // self.n_out, (b - 1) % self.n_out + 1
        return g0, r0, g1, r1

    def axon_counts(self, edges):
        g0, r0, g1, r1 = self._split(edges)
        n = len(g0)
        full = self._cols(np.zeros(1, np.int64), np.full(1, self.n_out))[0]
        same = g0 == g1
        head = self._cols(r0, np.where(same, r1, self.n_out))
        tail = self._cols(np.zeros(n, np.int64), r1)
        return np.where(same, head, head + tail + np.maximum(g1 - g0 - 1, 0) * full)

    def stored(self, edges, sharing):
        if not sharing:
            return self.synapses(edges)
        g0, r0, g1, r1 = self._split(edges)
        rows = lambda x, y: self.rowcum[y] - self.rowcum[x]  # noqa: E731
        two = np.where(r1 >= r0, self.nnz, rows(r0, np.full_like(r0, self.n_out)) + rows(np.zeros_like(r1), r1))
        return np.where(g1 - g0 >= 2, self.nnz, np.where(g1 == g0, rows(r0, r1), two))

    def targets(self, lo, hi):
        p = np.arange(lo, hi, dtype=np.int64)
        g, i = p // self.n_in, p % self.n_in
        cnt = np.diff(self.w_csc.indptr)[i]
        starts = self.w_csc.indptr[i]
        idx = np.repeat(starts - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))
        return np.repeat(p, cnt), np.repeat(g, cnt) * self.n_out + self.w_csc.indices[idx]


class IndexConn(Conn):
    kind = "index"

    def __init__(self, p: IndexProjection):
        super().__init__(p.name, p.pre, p.post, math.prod(p.pre_shape), math.prod(p.post_shape), p.delay, p.message)
        w = np.broadcast_to(np.asarray(p.weights, np.float64), p.index.shape)
        self.exists = (p.index >= 0) & (w != 0)
        self.index = p.index
        self.cum = np.concatenate([[0], np.cumsum(self.exists)]).astype(np.int64)
        self._inv = None

    def syn_cum(self, k):
        return self.cum[k]

    def axon_counts(self, edges):
        sid = ranges_of(np.asarray(edges, np.int64), self.n_post)[self.exists]
        keys = np.unique(sid * max(self.n_pre, 1) + self.index[self.exists])
        return np.bincount(keys // max(self.n_pre, 1), minlength=len(edges) - 1)

    def targets(self, lo, hi):
        if self._inv is None:
            post = np.flatnonzero(self.exists)
            order = np.argsort(self.index[post], kind="stable")
            self._inv = (self.index[post][order], post[order])
        pre, post = self._inv
        a, b = np.searchsorted(pre, [lo, hi])
        return pre[a:b], post[a:b]


class ConvConn(Conn):
    kind = "conv"

    def __init__(self, p: ConvProjection):
        super().__init__(p.name, p.pre, p.post, math.prod(p.pre_shape), math.prod(p.post_shape), p.delay, p.message)
        self.p = p
        nz = p.weights != 0
        co, ci, kh, kw = nz.shape
        (H, W), (sh, sw), (ph, pw) = p.input_hw, p.stride, p.padding
        Ho, Wo = p.output_hw
        vy = ((sh * np.arange(Ho)[:, None] + np.arange(kh)[None, :] - ph >= 0)
              & (sh * np.arange(Ho)[:, None] + np.arange(kh)[None, :] - ph < H)).astype(np.int64)
        vx = ((sw * np.arange(Wo)[:, None] + np.arange(kw)[None, :] - pw >= 0)
              & (sw * np.arange(Wo)[:, None] + np.arange(kw)[None, :] - pw < W)).astype(np.int64)
        indeg = np.einsum("cab,ya,xb->cyx", nz.sum(axis=1).astype(np.int64), vy, vx).reshape(-1)
        self.cum = np.concatenate([[0], np.cumsum(indeg)]).astype(np.int64)
        self.per_chan = Ho * Wo
        self.kcum = np.concatenate([[0], np.cumsum(nz.reshape(co, -1).sum(axis=1))]).astype(np.int64)
        self._pairs = None

    def syn_cum(self, k):
        return self.cum[k]

    def _all_pairs(self):
        if self._pairs is None:
            co, ci, kh, kw = self.p.weights.shape
            (H, W), (sh, sw), (ph, pw) = self.p.input_hw, self.p.stride, self.p.padding
            Ho, Wo = self.p.output_hw
            c, i, ky, kx = np.nonzero(self.p.weights)
            oy, ox = np.meshgrid(np.arange(Ho), np.arange(Wo), indexing="ij")
            oy, ox = oy.reshape(-1, 1), ox.reshape(-1, 1)
            y, x = sh * oy + ky - ph, sw * ox + kx - pw
            ok = (y >= 0) & (y < H) & (x >= 0) & (x < W)
            post = (c * Ho * Wo + oy * Wo + ox)[ok]
            pre = (i * H * W + y * W + x)[ok]
            order = np.lexsort((post, pre))
            self._pairs = (pre[order].astype(np.int64), post[order].astype(np.int64))
        return self._pairs

    def axon_counts(self, edges):
        pre, post = self._all_pairs()
        sid = ranges_of(np.asarray(edges, np.int64), self.n_post)[post]
        keys = np.unique(sid * max(self.n_pre, 1) + pre)
        return np.bincount(keys // max(self.n_pre, 1), minlength=len(edges) - 1)

    def stored(self, edges, sharing):
        if not sharing:
            return self.synapses(edges)
        a, b = _ranges(edges)
        return self.kcum[(b - 1) // self.per_chan + 1] - self.kcum[a // self.per_chan]

    def targets(self, lo, hi):
        pre, post = self._all_pairs()
        a, b = np.searchsorted(pre, [lo, hi])
        return pre[a:b], post[a:b]


# --------------------------------------------------------------------------- products
def product_levels(circuit, p: ProductProjection):
    """``(L_a, signed_a, L_b, signed_b)`` as the expansion takes them."""
    declared = getattr(p, "levels", None) or (None, None)
    out = []
    for node, d in ((circuit.node(p.pre), declared[0]), (circuit.node(p.pre_b), declared[1])):
        out += list(levels_of(node) if d is None else levels_of(node, d))
    return tuple(out)


class Terms:
    """The unmasked terms of a product, in the expansion's order (output-major), by their digits."""

    def __init__(self, circuit, p: ProductProjection):
        self.p = p
        a, b, o = p.subscripts
        self.letters = o + "".join(sorted(set(a + b) - set(o)))
        self.radices = [p.axis_sizes[ch] for ch in self.letters]
        self.a, self.b, self.o = a, b, o
        self.K = math.prod(p.axis_sizes[ch] for ch in self.letters[len(o):])
        n_out = math.prod(p.post_shape)
        self.mask = None if p.mask is None else p.full_mask().reshape(-1)
        kept = np.ones(n_out, bool) if self.mask is None else self.mask
        self.kept_before = np.concatenate([[0], np.cumsum(kept)]).astype(np.int64)   # outputs kept before o
        self.kept_outputs = np.flatnonzero(kept)
        self.P = int(self.kept_before[-1]) * self.K
        self.grid = math.prod(self.radices)
        La, sa, Lb, sb = product_levels(circuit, p)
        self.La, self.Lb = La, Lb
        self.signs_a, self.signs_b = (2 if sa else 1), (2 if sb else 1)
        self.C = self.signs_a * La * self.signs_b
        self.n_a, self.n_b = math.prod(p.pre_shape), math.prod(p.pre_b_shape)
        self.n_out = n_out
        self._arrays = None

    @property
    def exact_counts(self) -> bool:
        return self.mask is None or self.grid <= MASKED_TERMS

    def flat_of(self, sub, shape, digits):
        if not sub:
            return np.zeros(digits.shape[1] if digits.ndim > 1 else 0, np.int64)
        return np.ravel_multi_index([digits[self.letters.index(ch)] for ch in sub], shape).astype(np.int64)

    def decode(self, t: np.ndarray):
        """(a index, b index, output index) of terms ``t`` (kept numbering)."""
        t = np.asarray(t, np.int64)
        o_kept, r = t // self.K, t % self.K
        o = self.kept_outputs[o_kept]
        full = o * self.K + r
        digits = np.array(np.unravel_index(full, self.radices)) if len(t) else np.zeros((len(self.radices), 0), int)
        return (self.flat_of(self.a, self.p.pre_shape, digits), self.flat_of(self.b, self.p.pre_b_shape, digits), o)

    def arrays(self):
        if self._arrays is None:
            self._arrays = self.decode(np.arange(self.P, dtype=np.int64))
        return self._arrays

    def terms_of(self, sub: str, shape, idx: np.ndarray):
        """Kept term numbers whose operand ``sub`` is element ``idx[i]``, for every i at once:
        ``(row, t)`` arrays, row-major, ``t`` increasing within a row."""
        idx = np.asarray(idx, np.int64)
        strides = [1] * len(self.radices)
        for q in range(len(self.radices) - 2, -1, -1):
            strides[q] = strides[q + 1] * self.radices[q + 1]
        base = np.zeros(len(idx), np.int64)
        if sub:
            for ch, d in zip(sub, np.unravel_index(idx, shape)):
                base += d.astype(np.int64) * strides[self.letters.index(ch)]
        free = [q for q, ch in enumerate(self.letters) if ch not in sub]
        off = np.zeros(1, np.int64)
        for q in free:
            off = (off[:, None] + np.arange(self.radices[q], dtype=np.int64)[None, :] * strides[q]).reshape(-1)
        off = np.sort(off)
        full = base[:, None] + off[None, :]
        rows = np.repeat(np.arange(len(idx), dtype=np.int64), len(off))
        full = full.reshape(-1)
        o, r = full // self.K, full % self.K
        if self.mask is not None:
            keep = self.mask[o]
            rows, o, r = rows[keep], o[keep], r[keep]
        return rows, self.kept_before[o] * self.K + r


class LinesConn(Conn):
    """``a -> P.lines``: line (s, m, k) reads a[k]."""

    def __init__(self, tm: Terms, pname):
        super().__init__(f"{pname}.a_lines", tm.p.pre, f"{pname}.lines", tm.n_a, tm.signs_a * tm.La * tm.n_a, 0,
                         "count")
        self.product, self.tm = pname, tm

    def syn_cum(self, k):
        return np.asarray(k, np.int64)

    def axon_counts(self, edges):
        a, b = _ranges(edges)
        return np.minimum(b - a, self.n_pre)

    def targets(self, lo, hi):
        k = np.arange(lo, hi, dtype=np.int64)
        blocks = self.n_post // max(self.n_pre, 1)
        return np.repeat(k, blocks), (k[:, None] + np.arange(blocks, dtype=np.int64)[None, :] * self.n_pre).reshape(-1)


class _GatesIn(Conn):
    """Base of ``P.lines -> P.gates`` and ``b -> P.gates``: gate (c, t) has one synapse from each."""

    def __init__(self, tm: Terms, pname, name, pre, n_pre):
        n_gates = tm.C * tm.P
        super().__init__(name, pre, f"{pname}.gates", n_pre, n_gates if n_gates else 1, 0,
                         "binary" if name.endswith("lines_gates") else "count")
        self.product, self.tm, self.n_gates = pname, tm, n_gates

    def syn_cum(self, k):
        return np.minimum(np.asarray(k, np.int64), self.n_gates)

    def _digits(self):
        tm = self.tm
        return [tm.signs_a, tm.La, tm.signs_b] + list(tm.radices)

    def axon_counts(self, edges):
        a, b = _ranges(edges)
        a, b = np.minimum(a, self.n_gates), np.minimum(b, self.n_gates)
        tm = self.tm
        if tm.mask is None:
            return distinct_in_ranges(self._digits(), self._keep(), a, b)
        if tm.exact_counts:
            ids = self._ids(np.arange(self.n_gates, dtype=np.int64))
            sid = ranges_of(np.concatenate([a, b[-1:]]), self.n_gates)
            keys = np.unique(sid * max(self.n_pre, 1) + ids)
            return np.bincount(keys // max(self.n_pre, 1), minlength=len(a))
        self.bound = True
        return np.minimum(b - a, self.n_pre)

    @property
    def weights(self) -> sp.csr_matrix:
        if self._pattern is None:
            g = np.arange(self.n_gates, dtype=np.int64)
            self._pattern = sp.csr_matrix((np.ones(len(g), np.int8), (g, self._ids(g))),
                                          shape=(self.n_post, self.n_pre))
        return self._pattern

    def targets(self, lo, hi):
        """Pre-major (pre, gate) pairs, gates increasing within each pre neuron."""
        rows, gates = self._gates_of_range(lo, hi)
        return lo + rows, gates


class LinesGatesConn(_GatesIn):
    """``P.lines -> P.gates``: gate (c = (s_a, m, s_b), t) reads line (s_a, m, a(t))."""

    def __init__(self, tm, pname):
        super().__init__(tm, pname, f"{pname}.lines_gates", f"{pname}.lines", tm.signs_a * tm.La * tm.n_a)

    def _keep(self):
        return [True, True, False] + [ch in self.tm.a for ch in self.tm.letters]

    def _ids(self, g):
        tm = self.tm
        c, t = g // tm.P, g % tm.P
        return (c // tm.signs_b) * tm.n_a + tm.arrays()[0][t]

    def _gates_of_range(self, lo, hi):
        tm = self.tm
        line = np.arange(lo, hi, dtype=np.int64)
        block, k = line // tm.n_a, line % tm.n_a
        rows, t = tm.terms_of(tm.a, tm.p.pre_shape, k)
        return _spread(rows, t, block[rows] * tm.signs_b * tm.P, tm.signs_b, tm.P, hi - lo)


class BGatesConn(_GatesIn):
    """``b -> P.gates``: gate (c, t) reads b(t)."""

    def __init__(self, tm, pname):
        super().__init__(tm, pname, f"{pname}.b_gates", tm.p.pre_b, tm.n_b)

    def _keep(self):
        return [False, False, False] + [ch in self.tm.b for ch in self.tm.letters]

    def _ids(self, g):
        return self.tm.arrays()[1][g % self.tm.P]

    def _gates_of_range(self, lo, hi):
        tm = self.tm
        rows, t = tm.terms_of(tm.b, tm.p.pre_b_shape, np.arange(lo, hi, dtype=np.int64))
        return _spread(rows, t, np.zeros(len(t), np.int64), tm.C, tm.P, hi - lo)


def _spread(rows, t, base, n_c, P, n_rows):
    """Gates ``base + c P + t`` for ``c < n_c`` of every (row, t) pair, row-major and increasing
    within each row (``rows`` non-decreasing, ``t`` increasing within a row)."""
    per_row = np.bincount(rows, minlength=n_rows)
    c = np.arange(n_c, dtype=np.int64)
    if n_rows and np.all(per_row == per_row[0]):          # unmasked: the same number of terms per row
        m = int(per_row[0])
        g = (base.reshape(n_rows, 1, m) + c[None, :, None] * P + t.reshape(n_rows, 1, m)).reshape(-1)
        return np.repeat(np.arange(n_rows, dtype=np.int64), n_c * m), g
    g = (base[None, :] + c[:, None] * P + t[None, :]).reshape(-1)           # combination-major blocks
    r = np.tile(rows, n_c)
    order = np.argsort(r, kind="stable")                   # rows in order, each row's blocks c = 0, 1, ...
    return r[order], g[order]


class GatesPostConn(Conn):
    """``P.gates -> post`` (the product's own name and counts): output o reads the gates of its
    terms in every combination."""

    def __init__(self, tm: Terms, p: ProductProjection):
        n_gates = tm.C * tm.P
        super().__init__(p.name, f"{p.name}.gates", p.post, n_gates if n_gates else 1, tm.n_out, p.delay, "count")
        self.product, self.tm = p.name, tm

    def syn_cum(self, k):
        return self.tm.C * self.tm.K * self.tm.kept_before[np.asarray(k, np.int64)]

    def axon_counts(self, edges):
        return self.synapses(edges)

    def targets(self, lo, hi):
        tm = self.tm
        g = np.arange(lo, min(hi, tm.C * tm.P), dtype=np.int64)
        return g, tm.kept_outputs[(g % max(tm.P, 1)) // tm.K] if len(g) else g


# --------------------------------------------------------------------------- the circuit
class VirtualCircuit:
    """Nodes and flat projections of ``circuit.expand()``, in its orders, by their shapes."""

    def __init__(self, circuit):
        self.name, self.dt = circuit.name, circuit.dt
        self.structured_circuit = circuit
        nodes = {}
        for n, obj in circuit.nodes().items():
            pop = n in circuit.populations
            model = obj.model if pop else SimpleNamespace(state_bytes=0, kind="source")
            nodes[n] = SimpleNamespace(name=n, size=obj.size, model=model, population=pop, product=None)
        conns = {}
        order = nx.MultiDiGraph()
        order.add_nodes_from(nodes)
        self.terms: dict[str, Terms] = {}
        for name in sorted(circuit.projections):
            p = circuit.projections[name]
            if isinstance(p, ProductProjection):
                tm = Terms(circuit, p)
                self.terms[name] = tm
                for role, size in (("lines", tm.signs_a * tm.La * tm.n_a), ("gates", tm.C * tm.P or 1)):
                    m = SimpleNamespace(state_bytes=4, kind="graded_relu")
                    nodes[f"{name}.{role}"] = SimpleNamespace(name=f"{name}.{role}", size=size, model=m,
                                                              population=True, product=name)
                    order.add_node(f"{name}.{role}")
                for c in (LinesConn(tm, name), LinesGatesConn(tm, name), BGatesConn(tm, name),
                          GatesPostConn(tm, p)):
                    conns[c.name] = c
                    order.add_edge(c.pre, c.post, key=c.name)
                continue
            if isinstance(p, SharedProjection):
                c = SharedConn(p)
            elif isinstance(p, IndexProjection):
                c = IndexConn(p)
            elif isinstance(p, ConvProjection):
                c = ConvConn(p)
            elif isinstance(p, StructuredProjection):
                raise TypeError(f"unknown structured projection kind {p.kind!r}")
            else:
                c = FlatConn(p, nodes[p.pre].size, nodes[p.post].size)
            conns[name] = c
            order.add_edge(c.pre, c.post, key=name)
        self._nodes = nodes
        self.projections = {k: conns[k] for _, _, k in order.edges(keys=True)}

    def node(self, name):
        return self._nodes[name]

    def nodes(self) -> dict:
        return dict(self._nodes)

    @property
    def populations(self) -> dict:
        return {n: o for n, o in self._nodes.items() if o.population}

    @property
    def sources(self) -> dict:
        return {n: o for n, o in self._nodes.items() if not o.population}

    @property
    def synapses(self) -> int:
        return sum(c.total for c in self.projections.values())

    @property
    def neurons(self) -> int:
        return sum(o.size for o in self.populations.values())

    def realisation(self) -> dict:
        """Per product: its lines and gates (neurons) and their synapses (``lines + 3 gates``)."""
        out = {}
        for name, tm in self.terms.items():
            lines, gates = tm.signs_a * tm.La * tm.n_a, tm.C * tm.P
            out[name] = {"lines": lines, "gates": gates, "combinations": tm.C, "terms": tm.P,
                         "synapses": lines + 3 * gates, "L_a": tm.La, "L_b": tm.Lb,
                         "signed_a": tm.signs_a == 2, "signed_b": tm.signs_b == 2}
        return out
