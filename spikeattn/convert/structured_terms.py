"""The value algebra of the structured converter (:mod:`.structured_ops`): terms of a value
(scaled, merged, mapped), views and gathers of a value, broadcasting, and the flat fallback
that runs a flat op converter (:mod:`.ops`) on a flat copy of its arguments
(:func:`~.structured_affine.to_affine`, size checked against
:data:`~.structured_affine.MAX_FLAT_NNZ`)."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import require
from .structured_affine import Flat, FlatTooLarge, Kron, Prod, SValue, from_affine, one_per_row, to_affine
from .values import IntInput

def _torch():
    return require("torch", "torch", "spikeattn.convert")


def is_structured_var(v) -> bool:
    return isinstance(v, (SValue, IntInput))


def any_structured_var(x) -> bool:
    if isinstance(x, (list, tuple)):
        return any(any_structured_var(e) for e in x)
    return is_structured_var(x)


def value_shape(v):
    return v.shape if isinstance(v, (SValue, IntInput)) else np.shape(v)


# --------------------------------------------------------------------------- term algebra
def scaled(t, c: float):
    if isinstance(t, Kron):
        return Kron(t.node, t.n_in, t.W, t.A, t.coef * c)
    if isinstance(t, Flat):
        return Flat(t.node, sp.csr_matrix(t.M * c))
    return Prod(t.a, t.b, t.sa, t.sb, t.out, t.sizes, t.weight * c)


def _add_mats(x, y):
    if sp.issparse(x) and sp.issparse(y):
        return sp.csr_matrix(x + y)
    x = x.toarray() if sp.issparse(x) else x
    y = y.toarray() if sp.issparse(y) else y
    return x + y


def merge_terms(terms: list) -> list:
    """Sum the terms of one node that have the same grouping and no token map (one matrix
    each); the ratio of their coefficients keys a memo so that relay pairs keep sharing."""
    out, memo, where_ = [], {}, {}
    for t in terms:
        if isinstance(t, Kron):
            key = (t.node, t.n_in, None if t.A is None else (t.A.shape, t.A.nnz))
            k = where_.get(key)
            if k is not None and t.A is not None and (out[k].A != t.A).nnz:
                k = None
            if k is not None:
                u = out[k]
                r = t.coef / u.coef
                mk = (id(u.W), id(t.W), r)
                if mk not in memo:
                    memo[mk] = (_add_mats(u.W, t.W * r if not sp.issparse(t.W) else sp.csr_matrix(t.W * r)), u.W, t.W)
                out[k] = Kron(u.node, u.n_in, memo[mk][0], u.A, u.coef)
                continue
            where_.setdefault(key, len(out))
        elif isinstance(t, Flat):
            key = ("flat", t.node)
            if key in where_:
                k = where_[key]
                out[k] = Flat(t.node, sp.csr_matrix(out[k].M + t.M))
                continue
            where_[key] = len(out)
        out.append(t)
    return out


def map_W(terms: list, fn_W, fn_M) -> list:
    """Apply ``fn_W`` to every Kron ``W`` (memoised per object) and ``fn_M`` to every Flat ``M``."""
    memo, out = {}, []
    for t in terms:
        if isinstance(t, Kron):
            if id(t.W) not in memo:
                memo[id(t.W)] = (fn_W(t.W), t.W)
            out.append(Kron(t.node, t.n_in, memo[id(t.W)][0], t.A, t.coef))
        else:
            out.append(Flat(t.node, fn_M(t.M)))
    return out


def with_terms(v: SValue, terms, shape=None, G=None, F=None, index="keep", bias=None) -> SValue:
    return SValue(v.shape if shape is None else shape, v.G if G is None else G, v.F if F is None else F,
                  list(terms), v.index if isinstance(index, str) else index, v.bias if bias is None else bias)


# --------------------------------------------------------------------------- views
def apply_view(v: SValue, fn) -> SValue:
    """A shape op: ``fn`` applied to the index tensor and to the bias."""
    torch = _torch()
    idx = fn(torch.from_numpy(v.idx().reshape(v.shape)))
    bias = fn(torch.from_numpy(np.ascontiguousarray(v.bias)))
    new = idx.contiguous().numpy().reshape(-1).astype(np.int64)
    shape = tuple(idx.shape)
    if new.size == v.G * v.F and np.array_equal(new, np.arange(new.size)):
        new = None
    return SValue(shape, v.G, v.F, list(v.terms), new, bias.contiguous().numpy().copy())


def broadcast(v, shape):
    """``v`` (SValue or constant) broadcast to ``shape``."""
    shape = tuple(shape)
    if isinstance(v, SValue):
        if v.shape == shape:
            return v
        torch = _torch()
        return apply_view(v, lambda t: t.reshape((1,) * (len(shape) - t.dim()) + tuple(t.shape)).expand(shape))
    return np.broadcast_to(np.asarray(v, np.float64), shape)


def gather_view(v: SValue):
    """If ``v`` is ``c * out_node[pos]`` (one node, no bias): ``(node, pos, c)`` with ``pos``
    the node element of every tensor element (``-1``: zero); else None."""
    if len(v.terms) != 1 or not isinstance(v.terms[0], Kron) or np.any(v.bias != 0):
        return None
    t = v.terms[0]
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
        arow, av = np.arange(v.G, dtype=np.int64), np.ones(v.G)
    idx = v.idx()
    g, f = idx // v.F, idx % v.F
    hole = (idx < 0)
    g, f = np.where(hole, 0, g), np.where(hole, 0, f)
    node_g, node_f = arow[g], cols[f]
    scale = av[g] * wv[f] * t.coef
    bad = hole | (node_g < 0) | (node_f < 0) | (scale == 0)
    live = scale[~bad]
    if live.size == 0 or np.any(live != live[0]):
        return None
    pos = np.where(bad, -1, node_g * t.n_in + node_f)
    return t.node, pos.astype(np.int64), float(live[0])


# --------------------------------------------------------------------------- flat fallback
def _flat_args(ctx, a):
    if isinstance(a, SValue):
        ctx.program.canonical(a) if a.product is not None else None
        return to_affine(a)
    if isinstance(a, (list, tuple)):
        return type(a)(_flat_args(ctx, e) for e in a)
    return a


def _from_flat(r):
    from .affine import Affine
    if isinstance(r, Affine):
        return from_affine(r)
    if isinstance(r, (list, tuple)):
        return type(r)(_from_flat(e) for e in r)
    return r


def flat_fallback(ctx, node, fn, args, kwargs):
    try:
        fargs = _flat_args(ctx, list(args))
        fkw = {k: _flat_args(ctx, v) for k, v in kwargs.items()}
        return _from_flat(fn(ctx, node, *fargs, **fkw))
    except FlatTooLarge as exc:
        ctx.fail(f"this op has no factored (structured) converter for these arguments, and {exc}.",
                 "rewrite that part of the model with per-token linear maps, or register a structured converter "
                 "with spikeattn.convert.structured_ops.register_structured.")
