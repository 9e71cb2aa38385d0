"""Op converters of the structured path (see :mod:`.structured_program`; the graph walk that
calls them: :mod:`.structured_walk`; the value algebra they share: :mod:`.structured_terms`).

Registered beside the flat converters (:mod:`.registry`), keyed by the same op names, in
``STRUCTURED_OPS``.  An op with a flat converter but no structured one runs the flat
converter on a flat copy of its arguments (:func:`~.structured_affine.to_affine`, size
checked against :data:`~.structured_affine.MAX_FLAT_NNZ`), so every op the flat path
converts also converts here; the factored converters cover what a transformer is made of
(linear, LayerNorm folded to ``(x - mean) * g + b``, residual adds, head split/merge,
products, patch and token embeddings, CLS tokens, pooling).
"""
from __future__ import annotations

import math
import numbers
import operator

import numpy as np
import scipy.sparse as sp

from ..errors import require
from . import registry
from .ops.pooling import reduce_dims
from .ops.shape import CASTS, SHAPE_OPS, SPLIT_OPS
from .structured_affine import Flat, FlatTooLarge, Kron, Prod, SValue, from_affine, mm, strided_axes, to_affine
from .structured_terms import (apply_view, broadcast, flat_fallback, gather_view, map_W, merge_terms, scaled,
                               value_shape, with_terms)
from .values import IntInput

STRUCTURED_OPS: dict[str, object] = {}


def register_structured(*targets):
    def deco(fn):
        for t in targets:
            STRUCTURED_OPS[registry.op_key(t)] = fn
        return fn
    return deco


# --------------------------------------------------------------------------- shape ops
def _torchify(a):
    torch = require("torch", "torch", "spikeattn.convert")
    if isinstance(a, np.ndarray):
        return torch.from_numpy(a)
    if isinstance(a, (SValue, IntInput)):
        return torch.zeros(a.shape, dtype=torch.float64)
    if isinstance(a, (list, tuple)):
        return type(a)(_torchify(e) for e in a)
    return a


@register_structured(*SHAPE_OPS)
def shape_op(ctx, node, x, *args, **kwargs):
    if not isinstance(x, SValue):
        ctx.fail(f"expected a tensor first argument, got {type(x).__name__}.")
    if str(node.target) in CASTS:
        return x
    args = [_torchify(a) for a in args]
    kwargs = {k: v for k, v in kwargs.items() if k not in ("dtype", "memory_format", "layout", "device",
                                                            "pin_memory", "non_blocking", "copy")}
    return apply_view(x, lambda t: node.target(t, *args, **kwargs))


@register_structured(*SPLIT_OPS)
def split_op(ctx, node, x, *args, **kwargs):
    torch = require("torch", "torch", "spikeattn.convert")
    n = len(node.target(torch.zeros(x.shape), *args, **kwargs))
    return [apply_view(x, lambda t, i=i: node.target(t, *args, **kwargs)[i]) for i in range(n)]


@register_structured(operator.getitem)
def getitem_op(ctx, node, seq, i):
    """An element of a converted ``split`` / ``chunk`` / ``unbind`` (or ``max(dim)``)."""
    if not isinstance(seq, (list, tuple)):
        ctx.fail(f"indexing a {type(seq).__name__}; only the results of split, chunk and unbind are indexed here.",
                 "index tensors with slicing (x[:, 0]) instead.")
    return seq[i]


def pool(ctx, values):
    """Values (SValue or constants) on one base grid: ``(pooled value, [index tensor of each])``.

    Needs one column width ``F`` (canonical forms; true for a concatenation along any but the
    last axis); returns None otherwise."""
    torch = require("torch", "torch", "spikeattn.convert")
    vals = []
    for v in values:
        if isinstance(v, SValue):
            if v.product is not None:
                ctx.program.relay_product(v)
            vals.append(v)
        else:
            vals.append(np.asarray(v, np.float64))
    var = [v for v in vals if isinstance(v, SValue) and v.terms]
    Fs = {v.F for v in var}
    if len(Fs) > 1:
        for v in var:
            ctx.program.canonical(v)
        Fs = {v.F for v in var}
        if len(Fs) > 1:
            return None
    F = Fs.pop() if Fs else 1
    G = sum(v.G for v in var)
    terms, idxs, biases, off = [], [], [], 0
    for v in vals:
        if isinstance(v, SValue) and v.terms:
            sel_rows = np.arange(v.G) + off
            S = sp.csr_matrix((np.ones(v.G), (sel_rows, np.arange(v.G))), shape=(G, v.G))
            for t in v.terms:
                if isinstance(t, Kron):
                    A = S if t.A is None else sp.csr_matrix(S @ t.A)
                    if A.shape[0] == A.shape[1] and G == v.G:
                        A = None if t.A is None else t.A
                    terms.append(Kron(t.node, t.n_in, t.W, A, t.coef))
                else:
                    R = sp.kron(S, sp.identity(F, format="csr"), format="csr")
                    terms.append(Flat(t.node, sp.csr_matrix(R @ t.M)))
            i = v.idx()
            idxs.append(torch.from_numpy(np.where(i >= 0, i + off * F, -1).reshape(v.shape)))
            biases.append(torch.from_numpy(np.ascontiguousarray(v.bias)))
            off += v.G
        else:
            b = v.bias if isinstance(v, SValue) else v
            idxs.append(torch.full(b.shape, -1, dtype=torch.int64))
            biases.append(torch.from_numpy(np.ascontiguousarray(b, dtype=np.float64)))
    return SValue((G * F,), G, F, terms, None, np.zeros(G * F)), idxs, biases


def _pooled(ctx, node, values, fn):
    r = pool(ctx, values)
    if r is None:
        return None
    base, idxs, biases = r
    idx, bias = fn(idxs), fn(biases)
    new = idx.contiguous().numpy().reshape(-1).astype(np.int64)
    if new.size == base.G * base.F and np.array_equal(new, np.arange(new.size)):
        new = None
    return SValue(tuple(idx.shape), base.G, base.F, base.terms, new, bias.contiguous().numpy().copy())


@register_structured("aten.cat.default", "aten.concat.default", "aten.stack.default")
def cat_op(ctx, node, tensors, dim=0):
    out = _pooled(ctx, node, tensors, lambda ts: node.target(list(ts), dim))
    if out is None:
        return flat_fallback(ctx, node, registry.lookup(node.target), (tensors, dim), {})
    return out


@register_structured("aten.where.self")
def where_op(ctx, node, cond, a, b):
    if not isinstance(cond, np.ndarray):
        ctx.fail("only a constant condition converts.")
    torch = require("torch", "torch", "spikeattn.convert")
    c = torch.from_numpy(cond)
    out = _pooled(ctx, node, [a, b], lambda ts: torch.where(c, *torch.broadcast_tensors(*ts)))
    if out is None:
        return flat_fallback(ctx, node, registry.lookup(node.target), (cond, a, b), {})
    return out


# --------------------------------------------------------------------------- elementwise
def combine(ctx, a, b, cb: float):
    """``a + cb * b`` (SValues or constants)."""
    shape = tuple(np.broadcast_shapes(value_shape(a), value_shape(b)))
    a, b = broadcast(a, shape), broadcast(b, shape)
    if not isinstance(b, SValue):
        return with_terms(a, a.terms, bias=a.bias + cb * b)
    if not isinstance(a, SValue):
        return with_terms(b, [scaled(t, cb) for t in b.terms], bias=cb * b.bias + a)
    if b.is_constant:
        return with_terms(a, a.terms, bias=a.bias + cb * b.bias)
    if a.is_constant:
        return with_terms(b, [scaled(t, cb) for t in b.terms], bias=cb * b.bias + a.bias)
    p = ctx.program
    p.canonical(a)
    p.canonical(b)
    terms = merge_terms(list(a.terms) + [scaled(t, cb) for t in b.terms])
    return SValue(shape, a.G, a.F, terms, None, a.bias + cb * b.bias)


@register_structured("aten.add.Tensor", "aten.add.Scalar", "aten.sub.Tensor", "aten.sub.Scalar",
                     "aten.rsub.Scalar", "aten.rsub.Tensor")
def add_op(ctx, node, a, b, alpha=1):
    name = str(node.target)
    if "rsub" in name:
        return combine(ctx, b, a, -float(alpha))
    return combine(ctx, a, b, (-1.0 if "sub" in name else 1.0) * float(alpha))


@register_structured("aten.neg.default")
def neg_op(ctx, node, a):
    return with_terms(a, [scaled(t, -1.0) for t in a.terms], bias=-a.bias)


def scale_value(ctx, v: SValue, c: np.ndarray) -> SValue:
    """``v * c`` for a constant ``c`` broadcast to ``v.shape``."""
    c = np.asarray(c, np.float64)
    flat = c.reshape(-1)
    if flat.size and np.all(flat == flat[0]):
        s = float(flat[0])
        return with_terms(v, [scaled(t, s) for t in v.terms], bias=v.bias * c)
    p = ctx.program
    p.compose_ready(v)
    C = v.F
    R = v.numel // C
    cm = c.reshape(R, C)
    bias = v.bias * c
    if np.all(cm == cm[:1]):              # per feature: W' = diag(c) W
        col = cm[0]
        D = sp.diags(col)
        terms = map_W(v.terms, lambda W: (col[:, None] * W) if not sp.issparse(W) else sp.csr_matrix(D @ W),
                      lambda M: sp.csr_matrix(sp.diags(np.tile(col, R)) @ M))
        return with_terms(v, terms, bias=bias)
    if np.all(cm == cm[:, :1]):           # per token: A' = diag(c) A
        row = cm[:, 0]
        terms = []
        for t in v.terms:
            if isinstance(t, Kron):
                A = sp.diags(row, format="csr") if t.A is None else sp.csr_matrix(sp.diags(row) @ t.A)
                terms.append(Kron(t.node, t.n_in, t.W, A, t.coef))
            else:
                terms.append(Flat(t.node, sp.csr_matrix(sp.diags(np.repeat(row, C)) @ t.M)))
        return with_terms(v, terms, bias=bias)
    a = to_affine(v).scale_rows(c.reshape(-1))
    return from_affine(a)


@register_structured("aten.mul.Tensor", "aten.mul.Scalar", "aten.div.Tensor", "aten.div.Scalar")
def mul_op(ctx, node, a, b):
    div = "div" in str(node.target)
    shape = tuple(np.broadcast_shapes(value_shape(a), value_shape(b)))
    if isinstance(a, SValue) and isinstance(b, SValue):
        if div:
            ctx.fail("division by a variable tensor has no spiking form.",
                     "divide by constants only (mode='accumulate' removes softmax and LayerNorm).")
        return product(ctx, node, broadcast(a, shape), broadcast(b, shape), "elementwise")
    if not isinstance(a, SValue):
        a, b = b, a
    c = np.broadcast_to(np.asarray(b, np.float64), shape)
    c = 1.0 / c if div else c
    try:
        return scale_value(ctx, broadcast(a, shape), c)
    except FlatTooLarge as exc:
        ctx.fail(f"an elementwise scale that is neither per feature nor per token, and {exc}.")


def _reduce(ctx, node, x: SValue, dims, keepdim, mean):
    nd = len(x.shape)
    dims = sorted({d % nd for d in ([dims] if isinstance(dims, numbers.Integral) else (dims or range(nd)))})
    live = [d for d in dims if x.shape[d] > 1]
    keep_shape = tuple(1 if d in dims else x.shape[d] for d in range(nd))
    out_shape = keep_shape if keepdim else tuple(x.shape[d] for d in range(nd) if d not in dims)
    if not live:
        return apply_view(x, lambda t: t.reshape(out_shape))
    p = ctx.program
    if live == [nd - 1]:                         # over features: W' = (1/F) 1ᵀ W
        p.compose_ready(x)
        F = x.F
        w = np.full((1, F), 1.0 / F if mean else 1.0)
        terms = map_W(x.terms, lambda W: mm(w, W), lambda M: sp.csr_matrix(sp.kron(sp.identity(x.G), sp.csr_matrix(w)) @ M))
        bias = x.bias.reshape(x.G, F) @ w.T
        return SValue(out_shape, x.G, 1, terms, None, bias.reshape(out_shape))
    if nd - 1 not in live and all(x.shape[d] == 1 or d in dims for d in range(nd - 1)):   # over all tokens
        p.canonical(x)
        R, F = x.G, x.F
        r = sp.csr_matrix(np.full((1, R), 1.0 / R if mean else 1.0))
        terms = []
        for t in x.terms:
            if isinstance(t, Kron):
                terms.append(Kron(t.node, t.n_in, t.W, r if t.A is None else sp.csr_matrix(r @ t.A), t.coef))
            else:
                terms.append(Flat(t.node, sp.csr_matrix(sp.kron(r, sp.identity(F)) @ t.M)))
        bias = np.asarray(r @ x.bias.reshape(R, F)).reshape(out_shape)
        return SValue(out_shape, 1, F, terms, None, bias)
    return flat_fallback(ctx, node, registry.lookup(node.target), (x, dims, keepdim), {})


@register_structured("aten.mean.dim", "aten.mean.default")
def mean_op(ctx, node, x, dims=None, keepdim=False, dtype=None):
    return _reduce(ctx, node, x, dims, keepdim, True)


@register_structured("aten.sum.dim_IntList", "aten.sum.default")
def sum_op(ctx, node, x, dims=None, keepdim=False, dtype=None):
    return _reduce(ctx, node, x, dims, keepdim, False)


@register_structured("aten.dropout.default", "aten.feature_dropout.default", "aten.alpha_dropout.default")
def dropout_op(ctx, node, x, *args):
    return x


# --------------------------------------------------------------------------- linear maps
def linear_map(ctx, x: SValue, W_lin: np.ndarray, b=None) -> SValue:
    """``x @ W_linᵀ + b`` over the last axis."""
    p = ctx.program
    p.compose_ready(x)
    G, F = x.G, x.F
    out = W_lin.shape[0]

    def fM(M):
        K = sp.kron(sp.identity(G, format="csr"), sp.csr_matrix(W_lin), format="csr")
        return sp.csr_matrix(K @ M)
    for t in x.terms:
        if isinstance(t, Flat) and G * out * max(t.M.nnz // max(G * F, 1), 1) > 20_000_000:
            ctx.fail("a linear map on a value held as a flat matrix would need a flat copy per token.")
    terms = map_W(x.terms, lambda W: mm(W_lin, W), fM)
    bias = x.bias.reshape(G, F) @ W_lin.T
    if b is not None:
        bias = bias + np.asarray(b, np.float64)
    shape = x.shape[:-1] + (out,)
    return SValue(shape, G, out, terms, None, bias.reshape(shape))


@register_structured("aten.linear.default")
def linear_op(ctx, node, x, w, b=None):
    if not isinstance(x, SValue) or isinstance(w, SValue):
        ctx.fail("linear with variable weights.", "use a constant weight (a parameter).")
    return linear_map(ctx, x, np.asarray(w, np.float64), b)


@register_structured("aten.matmul.default", "aten.bmm.default", "aten.mm.default")
def matmul_op(ctx, node, a, b):
    if isinstance(a, SValue) and isinstance(b, SValue):
        return product(ctx, node, a, b, "matmul")
    if isinstance(a, SValue):
        c = np.asarray(b, np.float64)
        if c.ndim == 2 and len(a.shape) >= 1:
            return linear_map(ctx, a, c.T)
    else:
        c = np.asarray(a, np.float64)
        x = b
        if c.ndim == 2 and len(x.shape) >= 2 and all(s == 1 for s in x.shape[:-2]):
            ctx.program.canonical(x)
            n, d = x.shape[-2], x.shape[-1]
            Cm = sp.csr_matrix(c)
            terms = []
            for t in x.terms:
                if isinstance(t, Kron):
                    terms.append(Kron(t.node, t.n_in, t.W, Cm if t.A is None else sp.csr_matrix(Cm @ t.A), t.coef))
                else:
                    terms.append(Flat(t.node, sp.csr_matrix(sp.kron(Cm, sp.identity(d)) @ t.M)))
            shape = x.shape[:-2] + (c.shape[0], d)
            bias = (c @ x.bias.reshape(n, d)).reshape(shape)
            return SValue(shape, c.shape[0], d, terms, None, bias)
    return flat_fallback(ctx, node, registry.lookup(node.target), (a, b), {})


# --------------------------------------------------------------------------- products
def _operand(ctx, v: SValue, what: str):
    """``(node, pos, scale)`` of a product operand: a view of one quantiser population."""
    if v.product is not None:
        ctx.fail(f"the {what} operand of a product is itself an unquantised product.", "quantise it first.")
    g = gather_view(v)
    if g is None or g[0] not in ctx.program.levels or np.any(g[1] < 0):
        ctx.fail(f"the {what} operand of a product is not a quantised tensor.",
                 "convert() quantises matmul operands; register a converter for the op producing them.")
    return g


def product(ctx, node, a: SValue, b: SValue, kind: str) -> SValue:
    """A lazy product value (a :class:`Prod` term): ``matmul`` (numpy broadcasting) or an
    elementwise product of two quantised tensors, as an einsum over population axes."""
    p = ctx.program
    na, pa, ca = _operand(ctx, a, "first")
    nb, pb, cb = _operand(ctx, b, "second")
    sa_pop, sb_pop = p.circuit.node(na).shape, p.circuit.node(nb).shape
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    if kind == "matmul":
        A_shape, B_shape = a.shape, b.shape
        if len(A_shape) < 2 or len(B_shape) < 2:
            ctx.fail("matmul of a vector operand has no structured converter.", "use 2-D or batched operands.")
        batch = np.broadcast_shapes(A_shape[:-2], B_shape[:-2])
        nb_ax = len(batch)
        bl = [next(letters) for _ in batch]
        i, k, j = next(letters), next(letters), next(letters)
        a_axes = bl[nb_ax - (len(A_shape) - 2):] + [i, k]
        b_axes = bl[nb_ax - (len(B_shape) - 2):] + [k, j]
        out_shape = tuple(batch) + (A_shape[-2], B_shape[-1])
        out_axes = bl + [i, j]
    else:
        out_shape = a.shape
        a_axes = b_axes = out_axes = [next(letters) for _ in out_shape]
    sizes = {}
    for ax, shp in ((a_axes, a.shape), (b_axes, b.shape), (out_axes, out_shape)):
        for ch, s in zip(ax, shp):
            if s > 1:
                if sizes.setdefault(ch, s) != s:
                    ctx.fail(f"operand shapes {a.shape} and {b.shape} do not broadcast.")
    subs = []
    for (nname, pos, pshape, axes, shp) in ((na, pa, sa_pop, a_axes, a.shape), (nb, pb, sb_pop, b_axes, b.shape)):
        m = strided_axes(pos, shp, pshape)
        if m is None:
            ctx.fail(f"a {kind} operand is a view of population '{nname}' {pshape} that is not an axis permutation "
                     "of it (e.g. heads split after the quantiser).", "quantise the operand after the head split "
                     "(convert() does this for matmul operands).")
        inv = {j: k for k, j in m.items()}
        subs.append("".join(axes[inv[jx]] for jx in range(len(pshape)) if pshape[jx] > 1))
        if any(s == 1 for s in pshape) and len(pshape) > 1:
            ctx.fail(f"population '{nname}' has unit axes {pshape}.")
    out = "".join(ch for ch, s in zip(out_axes, out_shape) if s > 1)
    term = Prod(na, nb, subs[0], subs[1], out, {ch: sizes[ch] for ch in out}, ca * cb)
    # contraction letters keep their sizes too (for bounds)
    term.sizes.update({ch: s for ch, s in sizes.items()})
    grid = tuple(sizes[ch] for ch in out)
    N = math.prod(grid)
    Fn = grid[-1] if grid else 1
    return SValue(out_shape, N // Fn, Fn, [term], None, np.zeros(out_shape))


# --------------------------------------------------------------------------- embeddings
@register_structured("aten.conv2d.default", "aten.convolution.default")
def conv2d_op(ctx, node, x, w, b=None, stride=1, padding=0, dilation=1, groups=1, *rest):
    torch = require("torch", "torch", "spikeattn.convert")
    if "convolution" in str(node.target) and (stride is True or (rest and rest[0])):
        ctx.fail("transposed convolution has no converter.")
    if groups != 1:
        ctx.fail(f"groups={groups}; only groups=1 converts.")
    if isinstance(padding, str):
        ctx.fail("string padding; give integers.")
    if len(x.shape) != 4:
        ctx.fail(f"input of shape {x.shape}; expected (1, C, H, W).")
    wv = np.asarray(w, np.float64)
    O, C, kh, kw = wv.shape
    p = ctx.program
    src_view = None
    if len(x.terms) == 1 and isinstance(x.terms[0], Kron):
        xb = SValue(x.shape, x.G, x.F, x.terms, x.index, np.zeros(x.shape))
        g = gather_view(xb)
        if g is not None and g[0] in p.inputs and not p.inputs[g[0]]["vocab"]:
            src_view = g
    if src_view is None:
        return flat_fallback(ctx, node, registry.lookup(node.target), (x, w, b, stride, padding, dilation, groups), {})
    src, pos, c = src_view
    pos_t = torch.from_numpy((pos + 1).astype(np.float64).reshape(x.shape))
    cols = torch.nn.functional.unfold(pos_t, (kh, kw), dilation=dilation, padding=padding, stride=stride)[0]
    cols = cols.numpy().astype(np.int64) - 1               # (C*kh*kw, L), -1 = padding or a hole
    K, L = cols.shape
    new = p.relayout(src, np.ascontiguousarray(cols.T).reshape(-1), hint="patches")
    bias = torch.nn.functional.conv2d(torch.from_numpy(np.ascontiguousarray(x.bias)), torch.from_numpy(wv),
                                      None if b is None else torch.from_numpy(np.asarray(b, np.float64)),
                                      stride, padding, dilation).numpy()
    Ho, Wo = bias.shape[2], bias.shape[3]
    index = (np.arange(L, dtype=np.int64)[None, :] * O + np.arange(O, dtype=np.int64)[:, None]).reshape(-1)
    term = Kron(new, K, wv.reshape(O, K), None, c)
    return SValue((1, O, Ho, Wo), L, O, [term], index, bias.copy())


@register_structured("aten.embedding.default")
def embedding_op(ctx, node, w, ids, *rest):
    if not isinstance(ids, IntInput):
        ctx.fail("embedding of a computed index.", "look up the model input directly.")
    w = np.asarray(w, np.float64)
    vocab, dim = w.shape
    pos = int(np.prod(ids.shape))
    src = ctx.program.add_input(ids.shape, kind="count", vocab=vocab, hint="tokens")
    return SValue(ids.shape + (dim,), pos, dim, [Kron(src, vocab, w.T, None, 1.0)], None,
                  np.zeros(ids.shape + (dim,)))


@register_structured("aten.max.dim", "aten.amax.default")
def max_op(ctx, node, x, dims=(), keepdim=False):
    """Max pooling as in :mod:`.ops.pooling`: ``m <- m + relu(x_j - m)``, each ``relu`` a
    ``MultiThresholdIF(vth, 2L)`` quantiser, exact on one quantiser's outputs."""
    sel = gather_view(x) if isinstance(x, SValue) else None
    if sel is None or sel[0] not in ctx.program.levels:
        ctx.fail("max pooling over values that are not one quantiser's outputs.",
                 "let convert(mode='accumulate') prepare the model (it quantises the input of max).")
    for u in node.users:
        if len(u.args) > 1 and u.args[1] == 1 and u.users:
            ctx.fail("the indices of max (argmax) have no spiking form.", "use only max(...).values.")
    nd, vth = len(x.shape), sel[2]
    dims = reduce_dims(x, dims)
    keep = [d for d in range(nd) if d not in dims]
    red = math.prod(x.shape[d] for d in dims)
    out_shape = tuple(1 if d in dims else x.shape[d] for d in range(nd)) if keepdim else \
        tuple(x.shape[d] for d in keep)
    rows = apply_view(x, lambda t: t.permute(keep + dims).reshape(tuple(x.shape[d] for d in keep) + (red,)))
    m = apply_view(rows, lambda t: t[..., 0])
    for j in range(1, red):
        d = combine(ctx, apply_view(rows, lambda t, j=j: t[..., j]), m, -1.0)
        m = combine(ctx, m, ctx.program.quantiser(f"max_{node.name}_{j}", d, vth, 2 * ctx.program.levels[sel[0]][0],
                                                  False, 0.5 * vth), 1.0)
    m = apply_view(m, lambda t: t.reshape(out_shape))
    return (m, None) if registry.op_key(node.target) == "aten.max.dim" else m


# --------------------------------------------------------------------------- quantisers and host ops
@register_structured("spikeattn.quant.default")
def quant_op(ctx, node, x, vth, levels, signed, v0):
    vth = float(np.asarray(vth))
    if not isinstance(x, SValue):
        ctx.fail("a quantiser of a constant.")
    out = ctx.program.quantiser(f"q_{node.name}", x, vth, int(levels), bool(signed), float(v0) * vth,
                                graph_name=node.name)
    stack = node.meta.get("nn_module_stack") or {}
    paths = [v[0] for v in stack.values()]
    if any(pth in getattr(ctx, "attention_modules", set()) for pth in paths):
        ctx.program.attention.append((out.terms[0].node, x.shape, vth))
    return out


@register_structured("aten.softmax.int", "aten._softmax.default", "aten.layer_norm.default",
                     "aten.relu.default", "aten.gelu.default", "aten.scaled_dot_product_attention.default")
def host_op(ctx, node, *args, **kwargs):
    ctx.fail("a floating-point host stage (softmax / LayerNorm) or an unprepared op in a structured conversion.",
             "use convert(mode='accumulate', structured=True) (it folds LayerNorm and replaces softmax), or "
             "structured=False for the exact and rate modes.")
