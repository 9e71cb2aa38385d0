"""Structured affine values: what the structured converter carries between two quantisers.

The flat converter (:mod:`.affine`) keeps every tensor as ``sum_node M_node @ out_node +
bias`` with one ``(numel, node.size)`` CSR per node: a per-token linear layer becomes a
block-diagonal copy of its weights for every token, and composing two of them multiplies
those copies.  Here the same value is kept *factored*:

``SValue``
    ``shape``: the tensor's shape for one sample (batch 1 kept); ``bias``: an array of that
    shape; a *base grid* ``(G, F)`` (``G * F`` elements, C order) and ``index``: for every
    element of the tensor (C order) its position in the base grid, ``-1`` for "no circuit
    input, only the bias" (``None``: the identity, ``numel == G * F``).  The base grid is the
    sum of ``terms``:

``Kron(node, n_in, W, A, coef)``
    ``coef * (A kron W) @ out_node``: the node's output viewed as ``(G_node, n_in)``, the
    same ``W`` (``(F, n_in)``, dense or CSR) applied to every group, and ``A`` (``(G,
    G_node)`` CSR; ``None`` = identity) mixing groups (tokens): a token selection, a shift
    for a concatenated CLS token, mean pooling.  ``W`` objects are shared between terms and
    compositions are memoised per ``W`` object, so the two halves of a relay pair (below)
    carry one matrix.
``Flat(node, M)``
    ``M @ out_node`` with ``M`` a ``(G * F, node.size)`` CSR: the flat representation, used
    only for small irregular pieces (e.g. a gather that is not separable into tokens and
    features) and for the ops that have no factored converter (they run the flat
    converter on a flat copy, whose size is checked first).
``Prod(a, b, sa, sb, out, sizes, weight)``
    ``weight * einsum(sa, sb -> out)`` of two quantiser populations' outputs (integer
    levels), over the population axes (``sa``/``sb``: one letter per population axis;
    ``out``: the *natural* output letters, whose C-order grid is the base).  A value with a
    ``Prod`` term has no other term: anything other than a quantiser, a scalar, a constant
    or a shape op first turns it into a relay population (:meth:`StructuredProgram.relay_product`).

Shape ops (view, permute, transpose, select, slice, expand, cat with constants, ...) only
move ``index`` and ``bias``.  Linear maps act on the *canonical* form (``index`` the
identity and ``(G, F) = (numel / shape[-1], shape[-1])``: tokens by features), reached by
:func:`canonical`: a view whose grid position splits into a row part that depends only on
the leading axes and a column part that depends only on the last axis becomes
``A' = Sel(rows) A`` and ``W' = W[cols]`` -- no copy per token.  A quantiser may instead
choose its population's layout (:func:`factor`): a head split ``(t, h*d) -> (h, t, d)`` is
absorbed by giving the population the un-permuted layout ``(t, h, d)`` and reading it
through a view, so that products become einsums over population axes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .affine import Affine

#: a flat fallback (Kron or gather that must become a CSR) with more non-zeros than this is
#: refused with a ConversionError naming the op: it is the blow-up this module exists to avoid
MAX_FLAT_NNZ = 20_000_000


class FlatTooLarge(Exception):
    """A term would need a flat CSR with more than :data:`MAX_FLAT_NNZ` non-zeros."""


# --------------------------------------------------------------------------- terms
@dataclass
class Kron:
    node: str
    n_in: int
    W: object                   # (F, n_in) ndarray or csr
    A: sp.csr_matrix | None = None   # (G, G_node) or None (identity)
    coef: float = 1.0


@dataclass
class Flat:
    node: str
    M: sp.csr_matrix            # (G * F, node.size)


@dataclass
class Prod:
    a: str
    b: str
    sa: str
    sb: str
    out: str
    sizes: dict
    weight: float = 1.0

    @property
    def grid(self) -> tuple:
        return tuple(self.sizes[ch] for ch in self.out)


def mm(x, y):
    """``x @ y`` for dense/CSR operands: CSR only if both are CSR, dense otherwise."""
    if sp.issparse(y) and _is_identity(y):
        return x
    if sp.issparse(x) and _is_identity(x):
        return y
    if sp.issparse(x) and sp.issparse(y):
        return sp.csr_matrix(x @ y)
    if sp.issparse(x):
        return np.asarray(x @ y)
    if sp.issparse(y):
        return np.asarray((y.T @ x.T).T)
    return x @ y


def _is_identity(M) -> bool:
    n = M.shape[0]
    if M.shape != (n, n) or M.nnz != n:
        return False
    M = sp.csr_matrix(M)
    return bool(np.array_equal(M.indices, np.arange(n)) and np.array_equal(M.indptr, np.arange(n + 1))
                and np.all(M.data == 1))


def rows_of(W, rows: np.ndarray):
    """``W[rows]`` for dense or CSR ``W``."""
    return W[rows] if not sp.issparse(W) else sp.csr_matrix(W[rows])


def nnz(W) -> int:
    return int(W.nnz) if sp.issparse(W) else int(np.count_nonzero(W))


def one_per_row(W):
    """If every row of ``W`` has at most one non-zero: ``(cols, vals)`` with ``cols = -1`` for
    empty rows; else None."""
    if sp.issparse(W):
        W = sp.csr_matrix(W)
        W.eliminate_zeros()
        counts = np.diff(W.indptr)
        if np.any(counts > 1):
            return None
        cols = np.full(W.shape[0], -1, np.int64)
        vals = np.zeros(W.shape[0])
        has = counts == 1
        cols[has] = W.indices
        vals[has] = W.data
        return cols, vals
    nzr = W != 0
    if np.any(nzr.sum(axis=1) > 1):
        return None
    cols = np.where(nzr.any(axis=1), nzr.argmax(axis=1), -1)
    vals = np.where(cols >= 0, W[np.arange(W.shape[0]), np.maximum(cols, 0)], 0.0)
    return cols.astype(np.int64), vals


def selection(rows: np.ndarray, n_cols: int) -> sp.csr_matrix:
    """``(len(rows), n_cols)`` 0/1 CSR with a one at ``(r, rows[r])`` where ``rows[r] >= 0``."""
    rows = np.asarray(rows, np.int64)
    keep = rows >= 0
    return sp.csr_matrix((np.ones(int(keep.sum())), (np.flatnonzero(keep), rows[keep])), shape=(len(rows), n_cols))


def identity_rows(rows: np.ndarray, n: int) -> bool:
    return len(rows) == n and np.array_equal(rows, np.arange(n))


def kron_flat(t: Kron, G: int) -> sp.csr_matrix:
    """The ``(G * F, node.size)`` CSR of a Kron term (size checked first)."""
    A = t.A if t.A is not None else sp.identity(G, format="csr")
    need = int(A.nnz) * nnz(t.W)
    if need > MAX_FLAT_NNZ:
        raise FlatTooLarge(f"a flat copy of a {A.shape[0]}-group x ({t.W.shape[0]}, {t.n_in}) map would hold {need:,} "
                           f"non-zeros (limit {MAX_FLAT_NNZ:,})")
    W = sp.csr_matrix(t.W) if not sp.issparse(t.W) else t.W
    return sp.csr_matrix(sp.kron(A, W, format="csr") * t.coef)


# --------------------------------------------------------------------------- the value
@dataclass
class SValue:
    shape: tuple
    G: int
    F: int
    terms: list = field(default_factory=list)
    index: np.ndarray | None = None
    bias: np.ndarray | None = None

    def __post_init__(self):
        self.shape = tuple(int(s) for s in self.shape)
        if self.bias is None:
            self.bias = np.zeros(self.shape)
        self.bias = np.asarray(self.bias, np.float64).reshape(self.shape)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def is_constant(self) -> bool:
        return not self.terms

    @property
    def product(self) -> Prod | None:
        return self.terms[0] if len(self.terms) == 1 and isinstance(self.terms[0], Prod) else None

    def nodes(self) -> list[str]:
        out = []
        for t in self.terms:
            for n in ((t.a, t.b) if isinstance(t, Prod) else (t.node,)):
                if n not in out:
                    out.append(n)
        return out

    def idx(self) -> np.ndarray:
        """The index as a flat int64 array (materialised identity if ``None``)."""
        return np.arange(self.numel, dtype=np.int64) if self.index is None else self.index

    def is_canonical(self) -> bool:
        C = self.shape[-1] if self.shape else 1
        return self.index is None and self.F == C and self.G * self.F == self.numel

    def assign(self, other: "SValue") -> "SValue":
        """Replace this value's representation by ``other``'s (the same tensor, re-expressed;
        used to normalise a value in place so that every later reader sees the new form)."""
        self.shape, self.G, self.F = other.shape, other.G, other.F
        self.terms, self.index, self.bias = other.terms, other.index, other.bias
        return self

    # ----------------------------------------------------------------- constructors
    @classmethod
    def constant(cls, array) -> "SValue":
        a = np.asarray(array, np.float64)
        C = a.shape[-1] if a.ndim else 1
        return cls(a.shape, max(a.size // max(C, 1), 1) if a.size else 0, C, [], None, a.copy())

    @classmethod
    def node(cls, name: str, shape, n_in: int, scale: float = 1.0, W=None) -> "SValue":
        """``scale * out_node`` (the node's flat layout) viewed as ``shape``, grouped ``(G, n_in)``."""
        n = math.prod(shape)
        G = n // n_in
        W = sp.identity(n_in, format="csr") if W is None else W
        return cls(tuple(shape), G, n_in, [Kron(name, n_in, W, None, float(scale))], None, np.zeros(shape))


# --------------------------------------------------------------------------- views
def separable(index: np.ndarray, R: int, C: int, F: int):
    """``index`` (``(R*C,)`` into a ``(G, F)`` grid) as ``rows[r] * F + cols[c]``: returns
    ``(rows, cols)`` (``rows[r] = -1`` for all-hole rows) or None."""
    idx = index.reshape(R, C)
    holes = idx < 0
    hole_row = holes.all(axis=1)
    if np.any(holes[~hole_row]):
        return None
    g, f = idx // F, idx % F
    live = ~hole_row
    if not live.any():
        return np.full(R, -1, np.int64), np.zeros(C, np.int64)
    gl, fl = g[live], f[live]
    if np.any(gl != gl[:, :1]) or np.any(fl != fl[:1]):
        return None
    rows = np.full(R, -1, np.int64)
    rows[live] = gl[:, 0]
    return rows, fl[0].astype(np.int64)


def rebase_kron(t: Kron, rows: np.ndarray, cols: np.ndarray, G: int) -> Kron:
    """The term on the new grid ``(len(rows), len(cols))``: ``A' = Sel(rows) A``, ``W' = W[cols]``."""
    if t.A is None and identity_rows(rows, G):
        A = None
    else:
        S = selection(rows, G)
        A = S if t.A is None else sp.csr_matrix(S @ t.A)
    W = t.W if (len(cols) == t.W.shape[0] and np.array_equal(cols, np.arange(len(cols)))) else rows_of(t.W, cols)
    return Kron(t.node, t.n_in, W, A, t.coef)


def gather_flat(M: sp.csr_matrix, index: np.ndarray) -> sp.csr_matrix:
    """Rows ``index`` of ``M`` (``-1``: an empty row)."""
    keep = index >= 0
    S = selection(np.where(keep, index, -1), M.shape[0])
    return sp.csr_matrix(S @ M)


def regrid(v: SValue, index: np.ndarray, rows, cols, R: int, C: int, node_sizes: dict) -> list:
    """``v``'s terms re-expressed on the grid ``(R, C)`` whose element ``k`` is base element
    ``index[k]``; Kron terms stay factored when ``(rows, cols)`` (:func:`separable`) is given,
    else they become Flat (size checked)."""
    out = []
    for t in v.terms:
        if isinstance(t, Kron):
            if rows is not None:
                out.append(rebase_kron(t, rows, cols, v.G))
                continue
            M = kron_flat(t, v.G)
            out.append(Flat(t.node, gather_flat(M, index)))
        elif isinstance(t, Flat):
            out.append(Flat(t.node, gather_flat(t.M, index)))
        else:  # pragma: no cover - products are relayed before
            raise TypeError("a product term cannot be re-gridded; relay it first")
    return out


def term_positions(t: Kron, G: int, F: int):
    """If the Kron term is a gather, ``c * out_node[pos[b]]`` for every base element ``b`` of
    the ``(G, F)`` grid: ``(pos, c)`` (``pos = -1``: zero); else None."""
    sel = one_per_row(t.W)
    if sel is None:
        return None
    cols, wv = sel
    if t.A is not None:
        asel = one_per_row(t.A)
        if asel is None:
            return None
        arow, av = asel
    else:
        arow, av = np.arange(G, dtype=np.int64), np.ones(G)
    scale = (av[:, None] * wv[None, :] * t.coef).reshape(-1)
    pos = (arow[:, None] * t.n_in + cols[None, :]).reshape(-1)
    bad = (np.repeat(arow < 0, F)) | np.tile(cols < 0, G) | (scale == 0)
    live = scale[~bad]
    if live.size and np.any(live != live[0]):
        return None
    return np.where(bad, -1, pos).astype(np.int64), float(live[0]) if live.size else 1.0


def canonical_form(v: SValue, node_sizes: dict, relayout=None) -> SValue:
    """``v`` on its canonical grid ``(numel / shape[-1], shape[-1])`` (a new SValue; products
    must have been relayed).  ``relayout(node, positions) -> node or None``: for a gather of a
    source that is not separable, a source laid out as the value (a free view) instead of a
    flat copy."""
    if v.is_canonical():
        return v
    C = v.shape[-1] if v.shape else 1
    C = max(C, 1)
    R = v.numel // C
    index = v.idx()
    if not v.terms:
        return SValue(v.shape, R, C, [], None, v.bias)
    sep = separable(index, R, C, v.F)
    if sep is not None:
        return SValue(v.shape, R, C, regrid(v, index, sep[0], sep[1], R, C, node_sizes), None, v.bias)
    terms = []
    for t in v.terms:
        if relayout is not None and isinstance(t, Kron):
            tp = term_positions(t, v.G, v.F)
            if tp is not None:
                pos, c = tp
                new = relayout(t.node, np.where(index >= 0, pos[np.maximum(index, 0)], -1))
                if new is not None:
                    terms.append(Kron(new, C, sp.identity(C, format="csr"), None, c))
                    continue
        terms.extend(regrid(SValue(v.shape, v.G, v.F, [t], v.index, v.bias), index, None, None, R, C, node_sizes))
    return SValue(v.shape, R, C, terms, None, v.bias)


def factor(v: SValue):
    """A population layout for a quantiser of ``v``: ``(perm, rows, cols, pop_shape)`` where
    ``perm`` orders the (non-unit) axes of ``v`` as row axes (grid row varies) then column
    axes (grid column varies), or None.  The population is ``v`` transposed by ``perm``,
    grouped ``(len(rows), len(cols))``; its Kron terms are ``Sel(rows) A`` and ``W[cols]``."""
    shape = v.shape
    axes = [k for k, s in enumerate(shape) if s > 1]
    idx = v.idx().reshape(shape)
    if np.any(idx < 0):
        return None
    sq = idx.reshape([shape[k] for k in axes]) if axes else idx.reshape(())
    g, f = sq // v.F, sq % v.F
    row_ax, col_ax = [], []
    for i in range(len(axes)):
        vg = np.any(np.diff(g, axis=i) != 0)
        vf = np.any(np.diff(f, axis=i) != 0)
        if vg and vf:
            return None
        (col_ax if vf else row_ax).append(i)
    perm = row_ax + col_ax
    gt = np.transpose(g, perm) if perm else g
    ft = np.transpose(f, perm) if perm else f
    sizes = [sq.shape[i] for i in perm]
    R = math.prod(sizes[:len(row_ax)])
    C = math.prod(sizes[len(row_ax):])
    gt, ft = gt.reshape(R, C), ft.reshape(R, C)
    if np.any(gt != gt[:, :1]) or np.any(ft != ft[:1]):
        return None
    return [axes[i] for i in perm], gt[:, 0].astype(np.int64), ft[0].astype(np.int64), tuple(sizes), len(row_ax)


def view_positions(shape: tuple, perm: list) -> np.ndarray:
    """For a tensor of ``shape`` stored transposed by ``perm`` (non-unit axes in that order,
    C order), the storage position of every tensor element (C order)."""
    sizes = [shape[k] for k in perm]
    pos = np.arange(math.prod(sizes), dtype=np.int64).reshape(sizes) if sizes else np.zeros((), np.int64)
    inv = np.argsort(perm) if perm else []
    order = sorted(perm)
    arr = np.transpose(pos, inv) if len(perm) else pos
    full = [shape[k] if k in order else 1 for k in range(len(shape))]
    return np.ascontiguousarray(arr).reshape(full).reshape(-1)


def product_layout(index: np.ndarray | None, shape: tuple, p: Prod):
    """The population layout for a product value viewed through ``index`` (value element ->
    natural-grid element): the natural letters ordered as the value's own C order, so that
    the population's flat layout *is* the value's.  Returns the letters or None (the view is
    not a bijective axis permutation of the natural grid)."""
    grid = p.grid
    N = math.prod(grid)
    idx = np.arange(N, dtype=np.int64) if index is None else np.asarray(index, np.int64)
    if idx.size != N or np.any(idx < 0):
        return None
    inv = np.empty(N, np.int64)
    inv[idx] = np.arange(N)
    if not np.array_equal(np.sort(idx), np.arange(N)):
        return None
    nat_strides = [math.prod(grid[k + 1:]) for k in range(len(grid))]
    vstr = [int(inv[s] - inv[0]) if grid[k] > 1 else 0 for k, s in enumerate(nat_strides)]
    if inv[0] != 0:
        return None
    coords = np.indices(grid).reshape(len(grid), -1) if grid else np.zeros((0, 1), np.int64)
    if not np.array_equal(inv, (np.asarray(vstr)[:, None] * coords).sum(axis=0) if grid else inv):
        return None
    order = sorted(range(len(grid)), key=lambda k: -vstr[k])
    sizes = [grid[k] for k in order]
    cstr = [math.prod(sizes[i + 1:]) for i in range(len(sizes))]
    if [vstr[k] for k in order] != cstr:
        return None
    return "".join(p.out[k] for k in order)


def strided_axes(pos: np.ndarray, shape: tuple, pop_shape: tuple):
    """Map the axes of a tensor (``shape``; element -> population position ``pos``) to the
    population's axes: ``{tensor axis: population axis}`` for the non-unit axes, or None if
    the tensor is not a plain axis permutation (plus unit axes) of the population."""
    pos = np.asarray(pos, np.int64).reshape(shape)
    pstr = [math.prod(pop_shape[k + 1:]) for k in range(len(pop_shape))]
    if pos.reshape(-1)[0] != 0:
        return None
    mapping, used = {}, set()
    for k, s in enumerate(shape):
        if s == 1:
            continue
        e = [0] * len(shape)
        e[k] = 1
        stride = int(pos[tuple(e)] - pos.reshape(-1)[0])
        cand = [j for j in range(len(pop_shape)) if pstr[j] == stride and pop_shape[j] == s and j not in used]
        if len(cand) != 1:
            return None
        mapping[k] = cand[0]
        used.add(cand[0])
    if used != {j for j in range(len(pop_shape)) if pop_shape[j] > 1}:
        return None
    coords = np.indices(shape).reshape(len(shape), -1)
    want = sum(coords[k] * pstr[j] for k, j in mapping.items()) if mapping else np.zeros(pos.size, np.int64)
    if not np.array_equal(pos.reshape(-1), want):
        return None
    return mapping


# --------------------------------------------------------------------------- evaluation
def evaluate(v: SValue, outputs: dict, node_sizes: dict) -> np.ndarray:
    """``v`` for recorded node outputs ``{node: (n, size)}`` -> ``(n, numel)`` (products must
    have been relayed)."""
    n = next(iter(outputs.values())).shape[0] if outputs else 1
    base = np.zeros((n, v.G * v.F))
    for t in v.terms:
        o = np.asarray(outputs[t.node], np.float64)
        if isinstance(t, Flat):
            base += (t.M @ o.T).T
            continue
        G_node = node_sizes[t.node] // t.n_in
        x = o.reshape(n, G_node, t.n_in)
        y = (t.W @ x.reshape(-1, t.n_in).T).T if sp.issparse(t.W) else x.reshape(-1, t.n_in) @ t.W.T
        y = np.asarray(y).reshape(n, G_node, -1)
        if t.A is not None:
            y = np.asarray(t.A @ y.transpose(1, 0, 2).reshape(G_node, -1)).reshape(-1, n, y.shape[2]).transpose(1, 0, 2)
        base += t.coef * y.reshape(n, -1)
    idx = v.idx()
    out = np.where(idx >= 0, base[:, np.maximum(idx, 0)], 0.0) if v.index is not None else base
    return out + v.bias.reshape(1, -1)


def to_affine(v: SValue) -> Affine:
    """The flat :class:`~spikeattn.convert.affine.Affine` of ``v`` (size checked; products
    must have been relayed)."""
    index = v.idx()
    terms: dict = {}
    for t in v.terms:
        M = kron_flat(t, v.G) if isinstance(t, Kron) else t.M
        if v.index is not None:
            M = gather_flat(M, index)
        terms[t.node] = (terms[t.node] + M).tocsr() if t.node in terms else M
    return Affine(v.shape, terms, v.bias.reshape(-1).copy())


def from_affine(a: Affine) -> SValue:
    C = a.shape[-1] if a.shape else 1
    C = max(C, 1)
    return SValue(a.shape, a.numel // C, C, [Flat(k, sp.csr_matrix(m)) for k, m in a.terms.items()], None,
                  a.bias.reshape(a.shape))
